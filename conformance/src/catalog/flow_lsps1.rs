//! LSPS1 (bLIP-51) cases at the flow tier: the runner's wallet orders a channel, the runner's
//! payer pays the order's BOLT11 invoice, the runner mines while it waits, and the case judges
//! what the LSP did: `HOLD` while the channel is opened, the channel to the wallet with the
//! ordered size, then `COMPLETED` with the `channel` object and the payment `PAID`.

use std::time::{Duration, Instant};

use lightning::bolt11_invoice::Bolt11Invoice;
use lsps_core::lsps1::{CreateOrderRequest, OrderParams, OrderResult, OrderState, PaymentState};
use lsps_core::types::Sat;
use lsps_node::payments::PaymentOutcome as Payment;

use crate::case::{Case, Phase};
use crate::ctx::{Abort, CaseCtx};
use crate::flow::{FlowEnv, client_abort};
use crate::procedure;
use crate::verdict::Level;

/// The LSP balance the runner orders when the options allow it.
const PREFERRED_LSP_BALANCE_SAT: u64 = 200_000;
/// How often the order is read while the runner waits.
const POLL: Duration = Duration::from_millis(250);

/// The smallest order the options allow around [`PREFERRED_LSP_BALANCE_SAT`], client balance
/// at its minimum.
fn order_for(options: &lsps_core::lsps1::GetInfoResult, token: Option<String>) -> OrderParams {
    let client = options.min_initial_client_balance_sat.get();
    let lsp = PREFERRED_LSP_BALANCE_SAT
        .max(options.min_initial_lsp_balance_sat.get())
        .max(options.min_channel_balance_sat.get().saturating_sub(client))
        .min(options.max_initial_lsp_balance_sat.get())
        .min(options.max_channel_balance_sat.get().saturating_sub(client));
    OrderParams {
        lsp_balance_sat: Sat(lsp),
        client_balance_sat: Sat(client),
        required_channel_confirmations: options.min_required_channel_confirmations,
        funding_confirms_within_blocks: options.min_funding_confirms_within_blocks,
        channel_expiry_blocks: options.max_channel_expiry_blocks.clamp(1, 144),
        token,
        announce_channel: false,
    }
}

/// What the runner saw of the order while it paid and mined.
#[derive(Default)]
struct Watched {
    hold_at: Option<Instant>,
    channel_object_at: Option<Instant>,
    completed_at: Option<Instant>,
    last: Option<OrderResult>,
    blocks_mined: u32,
}

fn bolt11_state(order: &OrderResult) -> Option<PaymentState> {
    order.payment.bolt11.as_ref().map(|b| b.state)
}

async fn bolt11_delivered(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    // Confirm what earlier cases left in the mempool (JIT fundings, the LSP's change): an LSP
    // may fund opens from confirmed coins only, and nothing else mines on a regtest chain.
    env.mine(1).await?;
    // The JIT purchases of earlier cases are settled: their expectation would make the policy
    // judge the ordered channel as a JIT one (which must have option_scid_alias).
    env.wallet.policy().forget(&env.lsp);
    let started = Instant::now();
    let token = env.token.clone();
    let mut ordered = None;
    let order = env
        .wallet
        .create_order(|options| {
            let params = order_for(options, token);
            ordered = Some(params.clone());
            CreateOrderRequest {
                order: params,
                refund_onchain_address: None,
            }
        })
        .await
        .map_err(|e| match e {
            lsps_client::receive::WalletError::Client(e) => client_abort("lsps1.create_order", e),
            other => Abort::Error(format!("lsps1.create_order: {other}")),
        })?;
    ctx.step("lsps1.create_order", started);
    let ordered = ordered.ok_or_else(|| Abort::Error("no order was built".into()))?;
    ctx.note(format!(
        "order {}: lsp_balance_sat {}, client_balance_sat {}, required_channel_confirmations {}",
        order.order_id,
        ordered.lsp_balance_sat,
        ordered.client_balance_sat,
        ordered.required_channel_confirmations
    ));
    let Some(bolt11) = &order.payment.bolt11 else {
        env.note_order(format!("{}: unpaid (no bolt11 option)", order.order_id));
        return Err(Abort::Precondition(
            "the order offers no bolt11 payment option".into(),
        ));
    };
    let invoice: Bolt11Invoice = bolt11.invoice.parse().map_err(|e| {
        Abort::Precondition(format!(
            "the order's bolt11 invoice does not decode ({e:?}); the message tier judges it"
        ))
    })?;
    let before: Vec<_> = env
        .wallet
        .node()
        .channel_manager
        .list_channels()
        .iter()
        .map(|c| c.channel_id)
        .collect();
    let order_id = order.order_id.clone();
    let sent_at = Instant::now();
    let deadline = sent_at + env.wait;
    let paying = env.payer.pay(&invoice, None, env.wait);
    let watching = async {
        let mut watched = Watched::default();
        while Instant::now() < deadline {
            match env.wallet.client().lsps1_get_order(order_id.clone()).await {
                Ok(order) => {
                    let now = Instant::now();
                    if bolt11_state(&order) == Some(PaymentState::Hold) {
                        watched.hold_at.get_or_insert(now);
                    }
                    if order.channel.is_some() {
                        watched.channel_object_at.get_or_insert(now);
                    }
                    let done = matches!(
                        order.order_state,
                        OrderState::Completed | OrderState::Failed
                    ) && bolt11_state(&order) != Some(PaymentState::Hold);
                    if order.order_state == OrderState::Completed {
                        watched.completed_at.get_or_insert(now);
                    }
                    watched.last = Some(order);
                    if done {
                        break;
                    }
                }
                Err(e) => ctx.note(format!("lsps1.get_order: {e}")),
            }
            // A funding transaction from the LSP to the wallet is out: mine it towards the
            // ordered confirmations.
            let funding_out = env
                .wallet
                .node()
                .channel_manager
                .list_channels()
                .iter()
                .any(|c| {
                    c.counterparty.node_id == env.lsp
                        && !before.contains(&c.channel_id)
                        && c.funding_txo.is_some()
                        && !c.is_channel_ready
                });
            if funding_out && env.mine(1).await.is_ok() {
                watched.blocks_mined += 1;
            }
            tokio::time::sleep(POLL).await;
        }
        watched
    };
    let (paid, watched) = tokio::join!(paying, watching);
    let settled_at = Instant::now();
    for (step, at) in [
        ("payment sent -> HOLD seen", watched.hold_at),
        ("payment sent -> channel object", watched.channel_object_at),
        ("payment sent -> COMPLETED", watched.completed_at),
    ] {
        if let Some(at) = at {
            ctx.step_between(step, sent_at, at);
        }
    }
    ctx.step_between("payment sent -> payer saw the outcome", sent_at, settled_at);
    ctx.note(format!(
        "payer: {paid:?}; blocks mined: {}",
        watched.blocks_mined
    ));
    let Some(last) = watched.last else {
        env.note_order(format!("{order_id}: never read back"));
        return Err(Abort::Timeout("lsps1.get_order never answered".into()));
    };
    env.note_order(format!(
        "{order_id}: {:?}, bolt11 {:?} ({})",
        last.order_state,
        bolt11_state(&last),
        ctx.case_id
    ));
    judge(
        &ctx,
        &env,
        &ordered,
        &last,
        &paid,
        watched.hold_at.is_some(),
    )
}

fn judge(
    ctx: &CaseCtx,
    env: &FlowEnv,
    ordered: &OrderParams,
    last: &OrderResult,
    paid: &Result<Payment, lsps_node::NodeError>,
    hold_seen: bool,
) -> Result<String, Abort> {
    match last.order_state {
        OrderState::Failed => {
            return Err(Abort::Advisory(format!(
                "the order FAILED (bolt11 {:?}); payer: {paid:?} — bLIP-51 lets an open fail if the payment is refunded",
                bolt11_state(last)
            )));
        }
        OrderState::Created => {
            return Err(Abort::Timeout(format!(
                "the order is still CREATED after {} s (bolt11 {:?}, channel {})",
                env.wait.as_secs(),
                bolt11_state(last),
                if last.channel.is_some() {
                    "set"
                } else {
                    "null"
                }
            )));
        }
        OrderState::Completed => {}
    }
    let Some(channel) = &last.channel else {
        return Err(Abort::Violation(
            "the order is COMPLETED but its channel object is null: bLIP-51 MUST update the channel object when the open succeeds".into(),
        ));
    };
    let wallet_channel = env
        .wallet
        .node()
        .channel_manager
        .list_channels()
        .into_iter()
        .find(|c| {
            c.counterparty.node_id == env.lsp
                && c.funding_txo.is_some_and(|o| {
                    o.txid == channel.funding_outpoint.txid.0
                        && o.index == channel.funding_outpoint.vout
                })
        });
    let Some(wallet_channel) = wallet_channel else {
        return Err(Abort::Violation(format!(
            "the order names funding outpoint {}, but the wallet has no channel from the LSP funded by it: the LSP did not open the ordered channel to the client",
            channel.funding_outpoint
        )));
    };
    env.note_channel(wallet_channel.channel_id.to_string(), ctx.case_id);
    let size = ordered.lsp_balance_sat.get() + ordered.client_balance_sat.get();
    if wallet_channel.channel_value_satoshis < size {
        return Err(Abort::Violation(format!(
            "the channel has {} sat, less than lsp_balance_sat + client_balance_sat = {size}",
            wallet_channel.channel_value_satoshis
        )));
    }
    // What the wallet can send is its balance less its reserve: at least the pushed
    // client_balance_sat less the reserve LDK holds back.
    let pushed_msat = wallet_channel
        .outbound_capacity_msat
        .saturating_add(wallet_channel.unspendable_punishment_reserve.unwrap_or(0) * 1000);
    if pushed_msat + 1000 < ordered.client_balance_sat.get() * 1000 {
        return Err(Abort::Violation(format!(
            "the wallet holds {pushed_msat} msat of the channel, less than the client_balance_sat {} the LSP MUST push",
            ordered.client_balance_sat
        )));
    }
    match paid {
        Ok(Payment::Paid { .. }) => {}
        other => {
            return Err(Abort::Violation(format!(
                "the order is COMPLETED but the payer's payment did not complete ({other:?}): after a successful open the LSP MUST release the preimage"
            )));
        }
    }
    if bolt11_state(last) != Some(PaymentState::Paid) {
        return Err(Abort::Violation(format!(
            "the payment was claimed but bolt11.state is {:?}: bLIP-51 MUST set PAID",
            bolt11_state(last)
        )));
    }
    Ok(format!(
        "COMPLETED with channel {} ({} sat, {} confirmation(s) at the wallet, {} required); bolt11 PAID{}",
        channel.funding_outpoint,
        wallet_channel.channel_value_satoshis,
        wallet_channel.confirmations.unwrap_or(0),
        ordered.required_channel_confirmations,
        if hold_seen {
            ", HOLD seen while the channel was opened"
        } else {
            " (HOLD not seen between two reads)"
        }
    ))
}

/// LSPS1 flow cases.
pub(super) static CASES: &[Case] = &[Case {
    id: "lsps1.flow.bolt11.channel-delivered",
    requirements: &[
        "LSPS1-R39",
        "LSPS1-R40",
        "LSPS1-R58",
        "LSPS1-R59",
        "LSPS1-R61",
        "LSPS1-R64",
    ],
    level: Level::Must,
    applies_to: 1,
    summary: "an order paid over BOLT11 is held, its channel opened to the wallet with the ordered size, then COMPLETED with the channel object and the payment PAID",
    sends: "lsps1.get_info, lsps1.create_order (the smallest order the options allow, 0 conf if allowed), the payer pays the bolt11 invoice; the runner mines while it polls lsps1.get_order",
    passes_when: "COMPLETED; channel.funding_outpoint funds a channel from the LSP to the wallet of at least lsp_balance_sat + client_balance_sat with client_balance_sat pushed; the payer's payment succeeded; bolt11.state PAID",
    phase: Phase::Flow,
    procedure: procedure!(bolt11_delivered),
}];

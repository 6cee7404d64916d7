//! LSPS1 (bLIP-51) cases at the flow tier: the runner's wallet orders a channel, the runner's
//! payer pays the order (its BOLT11 invoice, or its on-chain address from the payer's wallet:
//! [`super::flow_lsps1_onchain`]), the runner mines while it waits, and the case judges what
//! the LSP did: `HOLD` while the channel is opened, the channel to the wallet with the ordered
//! size, then `COMPLETED` with the `channel` object and the payment `PAID` — or, when the
//! wallet refuses the channel, the payment failed back or refunded and the order `FAILED`.
//!
//! Every case follows its order with [`follow`]: `lsps1.get_order` every 250 ms, a block mined
//! whenever the LSP's funding transaction to the wallet is out and the channel not yet ready
//! (regtest mines nothing by itself), and the time of each state change kept for the report.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::ln::types::ChannelId;
use lsps_core::lsps1::{
    CreateOrderRequest, OrderId, OrderParams, OrderResult, OrderState, PaymentState,
};
use lsps_core::types::{OnchainAddress, Sat};
use lsps_node::payments::PaymentOutcome as Payment;

use super::flow_lsps2::wallet_channels;
use crate::case::{Case, Phase};
use crate::ctx::{Abort, CaseCtx};
use crate::flow::{FlowEnv, RefusingChannels, client_abort};
use crate::procedure;
use crate::verdict::Level;

/// The LSP balance the runner orders when the options allow it.
const PREFERRED_LSP_BALANCE_SAT: u64 = 200_000;
/// How often the order is read while the runner waits.
const POLL: Duration = Duration::from_millis(250);
/// After the payment completed with no channel from the LSP in sight, one block is mined this
/// often (bLIP-51 counts the funding's deadline in blocks after the payment).
const BLOCK_GAP: Duration = Duration::from_secs(2);
/// How long after the payer saw its payment fail the order may take to show `FAILED` and the
/// payment `REFUNDED`.
const STATE_GRACE: Duration = Duration::from_secs(10);

/// The smallest order the options allow around [`PREFERRED_LSP_BALANCE_SAT`], client balance
/// `client_balance_sat` if the options allow it, else at its minimum.
pub(super) fn order_for(
    options: &lsps_core::lsps1::GetInfoResult,
    token: Option<String>,
    client_balance_sat: u64,
) -> OrderParams {
    let client = client_balance_sat
        .min(options.max_initial_client_balance_sat.get())
        .max(options.min_initial_client_balance_sat.get());
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

/// An order the runner placed, with what it asked for and the wallet's channels before it.
pub(super) struct Placed {
    pub order: OrderResult,
    pub ordered: OrderParams,
    pub before: Vec<ChannelId>,
}

/// `lsps1.create_order` over the wallet's session (after confirming what earlier cases left in
/// the mempool: an LSP may fund opens from confirmed coins only). `client_balance_sat`: what
/// the order asks the LSP to push, within the options; `refund`: `refund_onchain_address`.
pub(super) async fn place_order(
    ctx: &CaseCtx,
    env: &FlowEnv,
    client_balance_sat: u64,
    refund: Option<OnchainAddress>,
) -> Result<Placed, Abort> {
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
            let params = order_for(options, token, client_balance_sat);
            ordered = Some(params.clone());
            CreateOrderRequest {
                order: params,
                refund_onchain_address: refund,
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
        "order {}: lsp_balance_sat {}, client_balance_sat {}, required_channel_confirmations {}, funding_confirms_within_blocks {}",
        order.order_id,
        ordered.lsp_balance_sat,
        ordered.client_balance_sat,
        ordered.required_channel_confirmations,
        ordered.funding_confirms_within_blocks
    ));
    Ok(Placed {
        before: wallet_channels(env),
        order,
        ordered,
    })
}

/// Whether the wallet has a channel from the LSP not in `before` whose funding is known, and
/// whether one of those is ready.
fn new_funded_channel(env: &FlowEnv, before: &[ChannelId]) -> (bool, bool) {
    let channels = env.wallet.node().channel_manager.list_channels();
    let mut new = channels.iter().filter(|c| {
        c.counterparty.node_id == env.lsp
            && !before.contains(&c.channel_id)
            && c.funding_txo.is_some()
    });
    let funded = new.clone().next().is_some();
    (funded, new.any(|c| c.is_channel_ready))
}

pub(super) fn bolt11_state(order: &OrderResult) -> Option<PaymentState> {
    order.payment.bolt11.as_ref().map(|b| b.state)
}

pub(super) fn onchain_state(order: &OrderResult) -> Option<PaymentState> {
    order.payment.onchain.as_ref().map(|o| o.state)
}

/// When the payer learnt its payment's outcome and whether it was paid (set by the paying
/// task, read by [`follow`]).
#[derive(Default)]
pub(super) struct PayerSaw(Mutex<Option<(Instant, bool)>>);

impl PayerSaw {
    pub fn set(&self, paid: bool) {
        if let Ok(mut saw) = self.0.lock() {
            *saw = Some((Instant::now(), paid));
        }
    }

    pub fn get(&self) -> Option<(Instant, bool)> {
        self.0.lock().ok().and_then(|s| *s)
    }
}

/// What the runner saw of the order while it paid and mined.
#[derive(Default)]
pub(super) struct Watched {
    pub hold_at: Option<Instant>,
    pub onchain_paid_at: Option<Instant>,
    /// Confirmations of the on-chain payment when `PAID` was first seen.
    pub onchain_paid_confirmations: Option<u32>,
    pub channel_object_at: Option<Instant>,
    pub completed_at: Option<Instant>,
    pub failed_at: Option<Instant>,
    pub refunded_at: Option<Instant>,
    pub last: Option<OrderResult>,
    pub blocks_mined: u32,
    /// Blocks mined after the payment completed (preimage released, or on-chain `PAID`) while
    /// the wallet saw no funded channel from the LSP.
    pub blocks_without_channel: u32,
    /// Blocks mined since the on-chain payment was broadcast (its confirmations).
    pub payment_confirmations: u32,
    /// The refund the wallet's refund address received: when, and how much.
    pub refund_received: Option<(Instant, u64)>,
}

/// How [`follow`] mines for an on-chain payment and watches its refund.
pub(super) struct OnchainWatch {
    /// Mine until the payment has this many confirmations before waiting for `PAID` (then one
    /// more at a time every [`BLOCK_GAP`], up to 6).
    pub first_confirmations: u32,
    /// The refund address's script (a payer address), watched once the order failed.
    pub refund_script: Option<bitcoin::ScriptBuf>,
}

/// bLIP-51: "MUST always set the transaction as confirmed after 6 block confirmations."
pub(super) const ALWAYS_CONFIRMED_AFTER: u32 = 6;
/// After the payment reached [`ALWAYS_CONFIRMED_AFTER`] confirmations, how long the order may
/// take to show it `PAID`.
pub(super) const PAID_GRACE: Duration = Duration::from_secs(20);
/// At most this many blocks are mined for a refund to appear.
const REFUND_BLOCKS: u32 = 10;

/// Reads the order every [`POLL`] until `done` says so or `deadline`, mining: the LSP's funding
/// to the wallet while it is out and not ready; the on-chain payment's confirmations
/// (`onchain`); one block per [`BLOCK_GAP`] after the payment completed with no channel from
/// the LSP in sight (until `funding_confirms_within_blocks` have passed: bLIP-51's deadline for
/// the funding to confirm); the refund transaction once the order failed.
pub(super) async fn follow(
    ctx: &CaseCtx,
    env: &FlowEnv,
    placed: &Placed,
    deadline: Instant,
    payer: &PayerSaw,
    onchain: Option<&OnchainWatch>,
    done: impl Fn(&OrderResult, &Watched) -> bool,
) -> Watched {
    let mut watched = Watched::default();
    let order_id: OrderId = placed.order.order_id.clone();
    let within = u32::from(placed.ordered.funding_confirms_within_blocks);
    let mut last_gap_block = Instant::now();
    let mut paid_since: Option<Instant> = None;
    let mut refund_blocks = 0;
    while Instant::now() < deadline {
        match env.wallet.client().lsps1_get_order(order_id.clone()).await {
            Ok(order) => {
                let now = Instant::now();
                if bolt11_state(&order) == Some(PaymentState::Hold) {
                    watched.hold_at.get_or_insert(now);
                }
                if onchain_state(&order) == Some(PaymentState::Paid)
                    && watched.onchain_paid_at.is_none()
                {
                    watched.onchain_paid_at = Some(now);
                    watched.onchain_paid_confirmations = Some(watched.payment_confirmations);
                }
                if order.channel.is_some() {
                    watched.channel_object_at.get_or_insert(now);
                }
                match order.order_state {
                    OrderState::Completed => {
                        watched.completed_at.get_or_insert(now);
                    }
                    OrderState::Failed => {
                        watched.failed_at.get_or_insert(now);
                    }
                    OrderState::Created => {}
                }
                if [bolt11_state(&order), onchain_state(&order)]
                    .contains(&Some(PaymentState::Refunded))
                {
                    watched.refunded_at.get_or_insert(now);
                }
                watched.last = Some(order);
            }
            Err(e) => ctx.note(format!("lsps1.get_order: {e}")),
        }
        if let Some(last) = &watched.last
            && done(last, &watched)
        {
            break;
        }
        let now = Instant::now();
        let (funded, ready) = new_funded_channel(env, &placed.before);
        let created = watched
            .last
            .as_ref()
            .is_some_and(|o| o.order_state == OrderState::Created);
        let lightning_paid = payer.get().is_some_and(|(_, paid)| paid);
        if (lightning_paid || watched.onchain_paid_at.is_some()) && paid_since.is_none() {
            paid_since = Some(now);
        }
        let mut mine = false;
        if funded && !ready {
            // The funding transaction is out: mine it towards the ordered confirmations.
            mine = true;
        } else if let Some(w) = onchain
            && watched.onchain_paid_at.is_none()
            && created
        {
            // The on-chain payment: its first confirmations at once, then one more per gap
            // (an LSP that counts confirmations sees each block), up to the 6 after which
            // bLIP-51 has it always confirmed.
            if watched.payment_confirmations < w.first_confirmations
                || (watched.payment_confirmations < ALWAYS_CONFIRMED_AFTER
                    && now.duration_since(last_gap_block) >= BLOCK_GAP)
            {
                mine = true;
                last_gap_block = now;
            } else if watched.payment_confirmations >= ALWAYS_CONFIRMED_AFTER
                && now.duration_since(last_gap_block) >= PAID_GRACE
            {
                break;
            }
        } else if paid_since.is_some() && created && !funded && within > 0 {
            if watched.blocks_without_channel > within {
                break;
            }
            if now.duration_since(last_gap_block) >= BLOCK_GAP {
                watched.blocks_without_channel += 1;
                mine = true;
                last_gap_block = now;
            }
        } else if let Some(script) = onchain.and_then(|w| w.refund_script.as_ref())
            && watched.failed_at.is_some()
            && watched.refund_received.is_none()
        {
            match env.payer.node().wallet.received_at(script) {
                Ok(outputs) if !outputs.is_empty() => {
                    let amount = outputs.iter().map(|o| o.amount.to_sat()).sum();
                    watched.refund_received = Some((now, amount));
                }
                _ if refund_blocks < REFUND_BLOCKS
                    && now.duration_since(last_gap_block) >= BLOCK_GAP =>
                {
                    // The payer's wallet learns transactions from blocks only.
                    refund_blocks += 1;
                    mine = true;
                    last_gap_block = now;
                }
                _ => {}
            }
        }
        if mine && env.mine(1).await.is_ok() {
            watched.blocks_mined += 1;
            if onchain.is_some() {
                watched.payment_confirmations += 1;
            }
        }
        tokio::time::sleep(POLL).await;
    }
    watched
}

/// The step times every LSPS1 case reports, from the payment on.
pub(super) fn record_steps(ctx: &CaseCtx, sent_at: Instant, watched: &Watched) {
    for (step, at) in [
        ("payment sent -> HOLD seen", watched.hold_at),
        (
            "payment sent -> on-chain PAID seen",
            watched.onchain_paid_at,
        ),
        ("payment sent -> channel object", watched.channel_object_at),
        ("payment sent -> COMPLETED", watched.completed_at),
        ("payment sent -> FAILED", watched.failed_at),
        ("payment sent -> REFUNDED seen", watched.refunded_at),
        (
            "payment sent -> refund received",
            watched.refund_received.map(|(at, _)| at),
        ),
    ] {
        if let Some(at) = at {
            ctx.step_between(step, sent_at, at);
        }
    }
}

/// How the order was paid, for [`judge_delivered`].
pub(super) enum PaidWith<'a> {
    /// The BOLT11 invoice, with the payer's outcome.
    Bolt11(&'a Result<Payment, lsps_node::NodeError>),
    /// The on-chain address (the payment's confirmations are in [`Watched`]).
    Onchain,
}

/// bLIP-51 §4.1's deadline for the funding, quoted.
const FUNDING_DEADLINE: &str = "bLIP-51: \"The LSP MUST still ensure that the funding transaction gets confirmed within `funding_confirms_within_blocks` blocks after the client payment completed.\"";

/// Judges an order that should end `COMPLETED` with the ordered channel at the wallet.
pub(super) fn judge_delivered(
    ctx: &CaseCtx,
    env: &FlowEnv,
    ordered: &OrderParams,
    watched: &Watched,
    paid: PaidWith<'_>,
) -> Result<String, Abort> {
    let Some(last) = &watched.last else {
        return Err(Abort::Timeout("lsps1.get_order never answered".into()));
    };
    let lightning_paid = matches!(paid, PaidWith::Bolt11(Ok(Payment::Paid { .. })));
    match last.order_state {
        OrderState::Failed if lightning_paid => {
            return Err(Abort::Violation(format!(
                "the order FAILED (bolt11 {:?}) but the payer's payment completed: bLIP-51: \"If the channel failed to open or the order expired or shortly before the payment times out: MUST reject the payment.\"",
                bolt11_state(last)
            )));
        }
        OrderState::Failed => {
            return Err(Abort::Advisory(format!(
                "the order FAILED (bolt11 {:?}, onchain {:?}) — bLIP-51 lets an open fail if the payment is refunded",
                bolt11_state(last),
                onchain_state(last)
            )));
        }
        OrderState::Created => {
            let within = u32::from(ordered.funding_confirms_within_blocks);
            let paid_onchain = onchain_state(last) == Some(PaymentState::Paid);
            if (lightning_paid || paid_onchain)
                && within > 0
                && watched.blocks_without_channel > within
            {
                return Err(Abort::Violation(format!(
                    "the payment completed ({}), then {} blocks were mined and the LSP published no funding transaction to the wallet: {FUNDING_DEADLINE}",
                    if lightning_paid {
                        "the payer's payment succeeded: the LSP released the preimage"
                    } else {
                        "on-chain PAID"
                    },
                    watched.blocks_without_channel
                )));
            }
            if let PaidWith::Onchain = paid
                && !paid_onchain
                && watched.payment_confirmations >= ALWAYS_CONFIRMED_AFTER
            {
                return Err(Abort::Violation(format!(
                    "the on-chain payment of order_total_sat has {} confirmations and the option is still {:?} {} s later: bLIP-51: \"MUST always set the transaction as confirmed after 6 block confirmations.\" and \"MUST change the `payment.state` to `PAID` when the payment for the order is confirmed.\"",
                    watched.payment_confirmations,
                    onchain_state(last),
                    PAID_GRACE.as_secs()
                )));
            }
            return Err(Abort::Timeout(format!(
                "the order is still CREATED after {} s (bolt11 {:?}, onchain {:?}, channel {})",
                env.wait.as_secs(),
                bolt11_state(last),
                onchain_state(last),
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
            "the order is COMPLETED but its channel object is null: bLIP-51: \"In case the channel open succeeds MUST set `order_state` to `COMPLETED`. MUST update the channel object.\"".into(),
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
            "the order names funding outpoint {}, but the wallet has no channel from the LSP funded by it: the LSP did not open the ordered channel to the client (bLIP-51: \"MUST attempt a channel open.\")",
            channel.funding_outpoint
        )));
    };
    env.note_channel(wallet_channel.channel_id.to_string(), ctx.case_id);
    let size = ordered.lsp_balance_sat.get() + ordered.client_balance_sat.get();
    if wallet_channel.channel_value_satoshis < size {
        return Err(Abort::Violation(format!(
            "the channel has {} sat, less than lsp_balance_sat + client_balance_sat = {size}: bLIP-51: \"MUST open the channel with at least a capacity of `lsp_balance_sat` + `client_balance_sat`.\"",
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
            "the wallet holds {pushed_msat} msat of the channel, less than client_balance_sat {}: bLIP-51: \"MUST push `client_balance_sat` to the client.\"",
            ordered.client_balance_sat
        )));
    }
    let payment = match paid {
        PaidWith::Bolt11(outcome) => {
            if !lightning_paid {
                return Err(Abort::Violation(format!(
                    "the order is COMPLETED but the payer's payment did not complete ({outcome:?}): bLIP-51: \"If the channel has been opened successfully MUST release the preimage and therefore complete the payment.\""
                )));
            }
            if bolt11_state(last) != Some(PaymentState::Paid) {
                return Err(Abort::Violation(format!(
                    "the payment was claimed but bolt11.state is {:?}: bLIP-51: \"MUST set the `payment.state` to `PAID`.\"",
                    bolt11_state(last)
                )));
            }
            format!(
                "bolt11 PAID{}",
                if watched.hold_at.is_some() {
                    ", HOLD seen while the channel was opened"
                } else {
                    " (HOLD not seen between two reads)"
                }
            )
        }
        PaidWith::Onchain => {
            if onchain_state(last) != Some(PaymentState::Paid) {
                return Err(Abort::Violation(format!(
                    "the order is COMPLETED on its on-chain payment but onchain.state is {:?}: bLIP-51: \"MUST change the `payment.state` to `PAID` when the payment for the order is confirmed.\"",
                    onchain_state(last)
                )));
            }
            format!(
                "onchain PAID seen at {} confirmation(s) of the payment",
                watched
                    .onchain_paid_confirmations
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "?".into())
            )
        }
    };
    Ok(format!(
        "COMPLETED with channel {} ({} sat, {} confirmation(s) at the wallet, {} required); {payment}",
        channel.funding_outpoint,
        wallet_channel.channel_value_satoshis,
        wallet_channel.confirmations.unwrap_or(0),
        ordered.required_channel_confirmations,
    ))
}

/// The order's BOLT11 invoice (`None`: the order offers no bolt11 option).
fn bolt11_invoice(env: &FlowEnv, placed: &Placed) -> Result<Bolt11Invoice, Abort> {
    let Some(bolt11) = &placed.order.payment.bolt11 else {
        env.note_order(format!(
            "{}: unpaid (no bolt11 option)",
            placed.order.order_id
        ));
        return Err(Abort::NotApplicable(
            "the order offers no bolt11 payment option".into(),
        ));
    };
    bolt11.invoice.parse().map_err(|e| {
        Abort::Precondition(format!(
            "the order's bolt11 invoice does not decode ({e:?}); the message tier judges it"
        ))
    })
}

/// Pays the order's invoice while following the order until `done`; returns the payer's
/// outcome and what was seen, with the step times recorded.
async fn pay_bolt11_and_follow(
    ctx: &CaseCtx,
    env: &FlowEnv,
    placed: &Placed,
    invoice: &Bolt11Invoice,
    done: impl Fn(&OrderResult, &Watched, Option<(Instant, bool)>) -> bool,
) -> (Result<Payment, lsps_node::NodeError>, Watched) {
    let sent_at = Instant::now();
    let deadline = sent_at + env.wait;
    let payer = PayerSaw::default();
    let paying = async {
        let outcome = env.payer.pay(invoice, None, env.wait).await;
        payer.set(matches!(outcome, Ok(Payment::Paid { .. })));
        outcome
    };
    let watching = follow(
        ctx,
        env,
        placed,
        deadline,
        &payer,
        None,
        |order, watched| done(order, watched, payer.get()),
    );
    let (paid, watched) = tokio::join!(paying, watching);
    record_steps(ctx, sent_at, &watched);
    if let Some((at, _)) = payer.get() {
        ctx.step_between("payment sent -> payer saw the outcome", sent_at, at);
    }
    ctx.note(format!(
        "payer: {paid:?}; blocks mined: {}",
        watched.blocks_mined
    ));
    note_order_left(ctx, env, placed, watched.last.as_ref());
    (paid, watched)
}

/// Records what the order was left as, for the report: its state and its payment options'.
pub(super) fn note_order_left(
    ctx: &CaseCtx,
    env: &FlowEnv,
    placed: &Placed,
    last: Option<&OrderResult>,
) {
    let order_id = &placed.order.order_id;
    env.note_order(match last {
        Some(last) => format!(
            "{order_id}: {:?}, bolt11 {:?}, onchain {:?} ({})",
            last.order_state,
            bolt11_state(last),
            onchain_state(last),
            ctx.case_id
        ),
        None => format!("{order_id}: never read back ({})", ctx.case_id),
    });
}

async fn bolt11_delivered(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let placed = place_order(&ctx, &env, 0, None).await?;
    let invoice = bolt11_invoice(&env, &placed)?;
    let (paid, watched) = pay_bolt11_and_follow(&ctx, &env, &placed, &invoice, |order, _, _| {
        matches!(
            order.order_state,
            OrderState::Completed | OrderState::Failed
        ) && bolt11_state(order) != Some(PaymentState::Hold)
    })
    .await;
    judge_delivered(
        &ctx,
        &env,
        &placed.ordered,
        &watched,
        PaidWith::Bolt11(&paid),
    )
}

/// bLIP-51 §3.1 and §4.1: what an LSP must do when its channel open fails, quoted.
const REJECT_ON_FAILURE: &str = "bLIP-51: \"If the channel failed to open or the order expired or shortly before the payment times out: MUST reject the payment. MUST set the `payment.state` to `CANCELLED`.\" (\"The LSP MUST use `REFUNDED` for a cancelled or refunded invoice.\")";
const FAILED_ON_FAILURE: &str = "bLIP-51: \"In case the channel open failed MUST set `order_state` to `FAILED`. MUST issue a refund.\"";

async fn bolt11_open_rejected(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let placed = place_order(&ctx, &env, 0, None).await?;
    let invoice = bolt11_invoice(&env, &placed)?;
    let _refusing = RefusingChannels::start(&env);
    let (paid, watched) =
        pay_bolt11_and_follow(&ctx, &env, &placed, &invoice, |order, _, payer| {
            let settled = order.order_state == OrderState::Failed
                && bolt11_state(order) == Some(PaymentState::Refunded);
            settled
                || match payer {
                    Some((_, true)) => true,
                    Some((at, false)) => at.elapsed() >= STATE_GRACE,
                    None => false,
                }
        })
        .await;
    let Some(last) = &watched.last else {
        return Err(Abort::Timeout("lsps1.get_order never answered".into()));
    };
    let (funded, _) = new_funded_channel(&env, &placed.before);
    if funded {
        return Err(Abort::Error(
            "the wallet was to refuse every channel but one from the LSP was funded".into(),
        ));
    }
    match &paid {
        Ok(Payment::Paid { .. }) => Err(Abort::Violation(format!(
            "the wallet refused the LSP's channel open (open_channel answered with error) and no channel was opened, yet the payer's payment completed (order {:?}, bolt11 {:?}): {REJECT_ON_FAILURE}",
            last.order_state,
            bolt11_state(last)
        ))),
        Err(lsps_node::NodeError::PaymentTimeout(after)) => Err(Abort::Precondition(format!(
            "the LSP still held the payment {} s after the wallet refused its open (order {:?}, bolt11 {:?}): bLIP-51 lets it retry the open until shortly before the payment times out, which the runner does not wait for",
            after.as_secs(),
            last.order_state,
            bolt11_state(last)
        ))),
        Err(e) => Err(Abort::Error(format!("paying the order's invoice: {e}"))),
        Ok(_) => {
            if bolt11_state(last) != Some(PaymentState::Refunded) {
                return Err(Abort::Violation(format!(
                    "the payment was failed back, but bolt11.state is {:?} {} s later: {REJECT_ON_FAILURE}",
                    bolt11_state(last),
                    STATE_GRACE.as_secs()
                )));
            }
            if last.order_state != OrderState::Failed {
                return Err(Abort::Violation(format!(
                    "the wallet refused the open and the payment was failed back, but order_state is {:?} {} s later: {FAILED_ON_FAILURE}",
                    last.order_state,
                    STATE_GRACE.as_secs()
                )));
            }
            Ok(format!(
                "the wallet refused the open; the payment was failed back to the payer, bolt11 REFUNDED, the order FAILED{}",
                if last.channel.is_none() {
                    ""
                } else {
                    " (its channel object is set although no channel was funded)"
                }
            ))
        }
    }
}

/// LSPS1 flow cases (the on-chain ones are in [`super::flow_lsps1_onchain`]).
pub(super) static CASES: &[Case] = &[
    Case {
        id: "lsps1.flow.bolt11.channel-delivered",
        requirements: &[
            "LSPS1-R39",
            "LSPS1-R40",
            "LSPS1-R41",
            "LSPS1-R58",
            "LSPS1-R59",
            "LSPS1-R61",
            "LSPS1-R64",
            "LSPS1-R66",
        ],
        level: Level::Must,
        applies_to: 1,
        summary: "an order paid over BOLT11 is held, its channel opened to the wallet with the ordered size, then COMPLETED with the channel object and the payment PAID",
        sends: "lsps1.get_info, lsps1.create_order (the smallest order the options allow, client_balance_sat at its minimum), the payer pays the bolt11 invoice; the runner mines while it polls lsps1.get_order",
        passes_when: "COMPLETED; channel.funding_outpoint funds a channel from the LSP to the wallet of at least lsp_balance_sat + client_balance_sat with client_balance_sat pushed; the payer's payment succeeded; bolt11.state PAID. FAIL also when the payment was taken and the order FAILED, or no funding came within funding_confirms_within_blocks blocks after it",
        phase: Phase::Flow,
        procedure: procedure!(bolt11_delivered),
    },
    Case {
        id: "lsps1.flow.bolt11.open-rejected.payment-failed-back",
        requirements: &["LSPS1-R41", "LSPS1-R65"],
        level: Level::Must,
        applies_to: 1,
        summary: "the wallet refuses the ordered channel: the LSP rejects the held payment, sets bolt11 REFUNDED and the order FAILED",
        sends: "lsps1.create_order, the payer pays the bolt11 invoice; the wallet answers every open_channel with error",
        passes_when: "the payer's payment fails, bolt11.state REFUNDED (or CANCELLED) and order_state FAILED within 10 s of it; still held when the wait ends is SKIP (the LSP may retry the open until shortly before the payment times out)",
        phase: Phase::Flow,
        procedure: procedure!(bolt11_open_rejected),
    },
];

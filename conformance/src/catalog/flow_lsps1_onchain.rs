//! LSPS1 (bLIP-51) cases paid on-chain: the runner orders with a `refund_onchain_address` of
//! its payer's wallet, pays `order_total_sat` to the order's address from the payer's wallet
//! (broadcast over the chain's Bitcoin Core RPC), mines the confirmations the option asks for
//! (then one more every 2 s, up to the 6 after which bLIP-51 has a payment always confirmed),
//! and follows the order: `PAID`, the channel, `COMPLETED` — or, when the wallet refuses the
//! channel, `FAILED` with the payment refunded to the refund address. N/A when the LSP offers
//! no on-chain option for an order with a refund address.

use std::time::Instant;

use bitcoin::Amount;
use lsps_core::lsps1::{OrderResult, OrderState, PaymentState};
use lsps_core::types::OnchainAddress;

use super::flow_lsps1::{
    OnchainWatch, PaidWith, PayerSaw, Placed, Watched, follow, judge_delivered, note_order_left,
    onchain_state, place_order, record_steps,
};
use crate::case::{Case, Phase};
use crate::ctx::{Abort, CaseCtx};
use crate::flow::{FlowEnv, RefusingChannels};
use crate::procedure;
use crate::verdict::Level;

/// The client balance the on-chain orders ask for (within the options), so the refund and the
/// push are worth checking.
const CLIENT_BALANCE_SAT: u64 = 50_000;
/// The payment's fee rate when the option needs no particular one (4 sat/vB, in sat/kWU).
const PAYMENT_FEE_RATE_SAT_PER_KW: u64 = 1_000;
/// Highest fee rate the runner pays for a zero-confirmation payment (sat/kWU).
const MAX_PAYMENT_FEE_RATE_SAT_PER_KW: u64 = 50_000;
/// A refund short of `order_total_sat` by more than this is called unreasonable (WARN: 50
/// sat/vB on a 200 vB transaction; bLIP-51 asks only for "a reasonable fee rate").
const REASONABLE_REFUND_FEE_SAT: u64 = 10_000;

/// A new address of the payer's wallet, as the order's `refund_onchain_address`.
fn refund_address(env: &FlowEnv) -> Result<(OnchainAddress, bitcoin::ScriptBuf), Abort> {
    let address = env
        .payer
        .node()
        .wallet
        .new_address()
        .map_err(|e| Abort::Error(format!("payer address: {e}")))?;
    let parsed = OnchainAddress::parse_for_network(&address.to_string(), bitcoin::Network::Regtest)
        .map_err(|e| Abort::Error(format!("the payer's address {address}: {e}")))?;
    Ok((parsed, address.script_pubkey()))
}

/// Orders with a refund address; N/A when the order has no on-chain option.
async fn place_onchain_order(
    ctx: &CaseCtx,
    env: &FlowEnv,
) -> Result<(Placed, bitcoin::ScriptBuf), Abort> {
    let (refund, refund_script) = refund_address(env)?;
    let placed = place_order(ctx, env, CLIENT_BALANCE_SAT, Some(refund)).await?;
    if placed.order.payment.onchain.is_none() {
        env.note_order(format!(
            "{}: unpaid (no on-chain option) ({})",
            placed.order.order_id, ctx.case_id
        ));
        return Err(Abort::NotApplicable(
            "the LSP offers no on-chain payment option for an order with a refund_onchain_address"
                .into(),
        ));
    }
    Ok((placed, refund_script))
}

/// Pays `order_total_sat` to the order's address from the payer's wallet and broadcasts it
/// over the chain's RPC; returns the confirmations to mine before waiting for `PAID`.
async fn pay_onchain(ctx: &CaseCtx, env: &FlowEnv, order: &OrderResult) -> Result<u32, Abort> {
    let Some(option) = &order.payment.onchain else {
        return Err(Abort::Error("no on-chain option".into()));
    };
    let address = option
        .address
        .require_network(bitcoin::Network::Regtest)
        .map_err(|e| {
            Abort::Precondition(format!(
                "the order's address {} is not a regtest address ({e}); the message tier judges it",
                option.address.as_str()
            ))
        })?;
    let zero_conf = option.min_onchain_payment_confirmations == 0;
    let fee_rate = match option.min_fee_for_0conf {
        Some(min) if zero_conf => {
            (min.get() + 1).clamp(PAYMENT_FEE_RATE_SAT_PER_KW, MAX_PAYMENT_FEE_RATE_SAT_PER_KW)
        }
        _ => PAYMENT_FEE_RATE_SAT_PER_KW,
    };
    let amount = option.order_total_sat.get();
    let tx = env
        .payer
        .node()
        .wallet
        .pay_to_script(
            address.script_pubkey(),
            Amount::from_sat(amount),
            u32::try_from(fee_rate).unwrap_or(u32::MAX),
        )
        .map_err(|e| {
            Abort::Precondition(format!(
                "the payer's wallet cannot pay {amount} sat: {e} (a --payer-data-dir wallet may need coins)"
            ))
        })?;
    let txid = tx.compute_txid();
    env.rpc
        .call(
            "sendrawtransaction",
            serde_json::json!([bitcoin::consensus::encode::serialize_hex(&tx)]),
        )
        .await
        .map_err(|e| Abort::Error(format!("broadcasting the payment {txid}: {e}")))?;
    ctx.note(format!(
        "paid order_total_sat {amount} sat to {} in {txid} at {fee_rate} sat/kWU; min_onchain_payment_confirmations {}, min_fee_for_0conf {:?}",
        option.address.as_str(),
        option.min_onchain_payment_confirmations,
        option.min_fee_for_0conf.map(|f| f.get())
    ));
    Ok(u32::from(option.min_onchain_payment_confirmations))
}

/// Pays the order on-chain and follows it until `done`, mining the payment's confirmations
/// and, with `refund_script`, the refund; the steps and what the order was left as recorded.
async fn pay_onchain_and_follow(
    ctx: &CaseCtx,
    env: &FlowEnv,
    placed: &Placed,
    refund_script: Option<bitcoin::ScriptBuf>,
    done: impl Fn(&OrderResult, &Watched) -> bool,
) -> Result<Watched, Abort> {
    let sent_at = Instant::now();
    let first = pay_onchain(ctx, env, &placed.order).await?;
    let watch = OnchainWatch {
        first_confirmations: first,
        refund_script,
    };
    let watched = follow(
        ctx,
        env,
        placed,
        sent_at + env.wait,
        &PayerSaw::default(),
        Some(&watch),
        done,
    )
    .await;
    record_steps(ctx, sent_at, &watched);
    note_order_left(ctx, env, placed, watched.last.as_ref());
    ctx.note(format!(
        "blocks mined: {}; the payment's confirmations: {}",
        watched.blocks_mined, watched.payment_confirmations
    ));
    Ok(watched)
}

async fn onchain_delivered(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (placed, _) = place_onchain_order(&ctx, &env).await?;
    let watched = pay_onchain_and_follow(&ctx, &env, &placed, None, |order, _| {
        order.order_state != OrderState::Created
    })
    .await?;
    judge_delivered(&ctx, &env, &placed.ordered, &watched, PaidWith::Onchain)
}

/// bLIP-51 §3.3 on a failed open of an order paid on-chain, quoted.
const REFUND_RULE: &str = "bLIP-51: \"If the order expired and the channel has NOT been opened, OR the channel open failed. MUST refund the client to `refund_onchain_address`. [...] MUST set the payment `payment.state` to `REFUNDED`.\"";

async fn onchain_open_rejected(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (placed, refund_script) = place_onchain_order(&ctx, &env).await?;
    let _refusing = RefusingChannels::start(&env);
    let watched = pay_onchain_and_follow(
        &ctx,
        &env,
        &placed,
        Some(refund_script),
        |order, watched| {
            order.order_state != OrderState::Created
                && onchain_state(order) == Some(PaymentState::Refunded)
                && watched.refund_received.is_some()
        },
    )
    .await?;
    let Some(last) = &watched.last else {
        return Err(Abort::Timeout("lsps1.get_order never answered".into()));
    };
    let total = placed
        .order
        .payment
        .onchain
        .as_ref()
        .map(|o| o.order_total_sat.get())
        .unwrap_or(0);
    match last.order_state {
        OrderState::Completed => {
            return Err(Abort::Error(
                "the wallet was to refuse every channel but the order COMPLETED".into(),
            ));
        }
        OrderState::Created if watched.onchain_paid_at.is_none() => {
            // Not PAID after 6 confirmations is judged by lsps1.flow.onchain.channel-delivered.
            return Err(Abort::Precondition(format!(
                "the on-chain payment was not PAID ({:?} after {} confirmations), so no open was attempted",
                onchain_state(last),
                watched.payment_confirmations
            )));
        }
        OrderState::Created => {
            return Err(Abort::Precondition(format!(
                "the order is still CREATED {} s after the payment (onchain {:?}): the LSP may retry the open until the order expires, which the runner does not wait for",
                env.wait.as_secs(),
                onchain_state(last)
            )));
        }
        OrderState::Failed => {}
    }
    let Some((_, refunded)) = watched.refund_received else {
        return Err(Abort::Violation(format!(
            "the order FAILED (onchain {:?}) and nothing reached refund_onchain_address within {} s and {} blocks: {REFUND_RULE}",
            onchain_state(last),
            env.wait.as_secs(),
            watched.blocks_mined
        )));
    };
    if onchain_state(last) != Some(PaymentState::Refunded) {
        return Err(Abort::Violation(format!(
            "the refund of {refunded} sat arrived but onchain.state is {:?}: {REFUND_RULE}",
            onchain_state(last)
        )));
    }
    let fee = total.saturating_sub(refunded);
    if fee > REASONABLE_REFUND_FEE_SAT {
        return Err(Abort::Advisory(format!(
            "the refund of {refunded} sat is {fee} sat short of order_total_sat {total}: more than {REASONABLE_REFUND_FEE_SAT} sat for one transaction's fee (bLIP-51: \"The LSP MUST choose a reasonable fee rate.\"; what is reasonable is not defined)"
        )));
    }
    Ok(format!(
        "the wallet refused the open; the order FAILED, onchain REFUNDED, {refunded} sat of order_total_sat {total} refunded to refund_onchain_address ({fee} sat fee)"
    ))
}

/// LSPS1 flow cases paid on-chain.
pub(super) static CASES: &[Case] = &[
    Case {
        id: "lsps1.flow.onchain.channel-delivered",
        requirements: &[
            "LSPS1-R51",
            "LSPS1-R54",
            "LSPS1-R55",
            "LSPS1-R58",
            "LSPS1-R59",
            "LSPS1-R61",
            "LSPS1-R64",
            "LSPS1-R66",
        ],
        level: Level::Must,
        applies_to: 1,
        summary: "an order paid on-chain is PAID once confirmed (at the latest after 6 confirmations), its channel opened to the wallet with the ordered size and pushed balance, then COMPLETED with the channel object",
        sends: "lsps1.create_order with a refund_onchain_address of the payer; the payer's wallet pays order_total_sat to the order's address (sendrawtransaction); the runner mines min_onchain_payment_confirmations blocks, then one more every 2 s up to 6, and the funding while it polls lsps1.get_order",
        passes_when: "onchain PAID; COMPLETED; channel.funding_outpoint funds a channel from the LSP to the wallet of at least lsp_balance_sat + client_balance_sat with client_balance_sat pushed. FAIL when still not PAID 20 s after 6 confirmations, or no funding within funding_confirms_within_blocks blocks after PAID; N/A without an on-chain option",
        phase: Phase::Flow,
        procedure: procedure!(onchain_delivered),
    },
    Case {
        id: "lsps1.flow.onchain.open-rejected.refunded",
        requirements: &["LSPS1-R56", "LSPS1-R65"],
        level: Level::Must,
        applies_to: 1,
        summary: "the wallet refuses the channel of an order paid on-chain: the order FAILED, the payment refunded to refund_onchain_address and the option REFUNDED",
        sends: "lsps1.create_order with a refund_onchain_address of the payer, the payer pays on-chain, the runner mines until PAID; the wallet answers every open_channel with error; the runner mines (at most 10 blocks) until the refund reaches the payer's wallet",
        passes_when: "order FAILED, onchain.state REFUNDED and an output to refund_onchain_address (WARN when more than 10 000 sat short of order_total_sat); still CREATED when the wait ends is SKIP (the LSP may retry until the order expires); N/A without an on-chain option",
        phase: Phase::Flow,
        procedure: procedure!(onchain_open_rejected),
    },
];

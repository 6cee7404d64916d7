//! LSPS2 (bLIP-52 §5) cases about the JIT channel's open itself: the client gone before
//! `funding_signed`, and when the LSP broadcasts the funding under each trust model.
//!
//! - The wallet leaves before `funding_signed`: its policy disconnects from the LSP as soon as
//!   the LSP's `open_channel` arrives, before answering it ([`DisconnectingOnOpen`]), and its
//!   link redials at once. The LSP must then fail the parts with `temporary_channel_failure`
//!   (one case) and go back to waiting for payment (another case: the same invoice, paid again
//!   once the wallet is back, must open the channel and be delivered).
//! - The funding broadcast: from the moment the wallet knows the funding outpoint (it got
//!   `funding_created`), the runner asks the chain (`gettxout` with the mempool) every 100 ms
//!   whether the funding is out. The wallet claims a payment the moment it arrives, so the
//!   runner cannot order the broadcast against the preimage within milliseconds; it judges a
//!   broadcast that has not happened 10 s after `funding_signed` (client_trusts_lsp false:
//!   "MUST immediately broadcast") and, with client_trusts_lsp true, only notes when it came.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::ln::types::ChannelId;
use lsps_client::receive::{JitPurchase, PaymentOutcome as Receive};
use lsps_node::payments::PaymentOutcome as Payment;

use super::flow_lsps2::{
    INVOICE_EXPIRY, cheapest_entry, hash_of, new_ready_channel, wallet_channels,
};
use crate::case::Case;
use crate::ctx::{Abort, CaseCtx};
use crate::flow::payment::{FailureSeen, judge_code, pay_parts};
use crate::flow::{DisconnectingOnOpen, FlowEnv};

/// How long the payer waits for the LSP to fail the parts after the client left (an LSP reacts
/// to the disconnection; the reference takes milliseconds).
const FAIL_BACK_WAIT: Duration = Duration::from_secs(15);
/// How long the wallet may take to be connected again.
const RECONNECT_WAIT: Duration = Duration::from_secs(10);
/// How long after `funding_signed` (client_trusts_lsp false) or after the payer saw the
/// payment complete (true) the funding may take to reach the chain's mempool.
const BROADCAST_WAIT: Duration = Duration::from_secs(10);
/// How often the chain is asked for the funding output.
const BROADCAST_POLL: Duration = Duration::from_millis(100);

/// bLIP-52 §5 on the client leaving before `funding_signed`, quoted.
const R51_RULE: &str = "bLIP-52: \"If the client disconnects before the LSP can receive `funding_signed` from the client, the LSP MUST fail the incoming payment parts with `temporary_channel_failure`, then return to the previous step (waiting for payment).\"";

/// A no-MPP purchase paid once while the wallet disconnected at every `open_channel`.
struct LeftBeforeFunding {
    purchase: JitPurchase,
    invoice: Bolt11Invoice,
    amount: u64,
    outcome: Payment,
    disconnections: u32,
}

/// `held`: what to answer when the part is still held after [`FAIL_BACK_WAIT`] (given the
/// payer's timeout message).
async fn pay_while_leaving(
    ctx: &CaseCtx,
    env: &Arc<FlowEnv>,
    held: fn(String) -> Abort,
) -> Result<LeftBeforeFunding, Abort> {
    let (index, amount) = cheapest_entry(env).await?;
    let started = Instant::now();
    let purchase = env.buy(index, None).await?;
    ctx.step("lsps2.buy", started);
    let invoice = env
        .wallet
        .invoice(&purchase, "lsps-conformance flow tier", INVOICE_EXPIRY)
        .map_err(|e| Abort::Error(format!("making the JIT invoice: {e}")))?;
    let scid = purchase.buy.jit_channel_scid;
    let leaving = DisconnectingOnOpen::start(env);
    let sent_at = Instant::now();
    let paid = pay_parts(
        env,
        &invoice,
        purchase.buy.lsp_cltv_expiry_delta,
        scid.0,
        &[amount],
        FAIL_BACK_WAIT,
    )
    .await;
    let disconnections = leaving.disconnections();
    drop(leaving);
    ctx.step("payment sent -> payer saw the outcome", sent_at);
    // The wallet redials at once; the next steps (and cases) need its session.
    let back_from = Instant::now();
    if !wallet_back(env).await {
        return Err(Abort::Error(format!(
            "the wallet did not reconnect to the LSP within {} s",
            RECONNECT_WAIT.as_secs()
        )));
    }
    ctx.step("payer saw the outcome -> wallet connected again", back_from);
    ctx.note(format!(
        "paid {amount} msat to jit_channel_scid {scid}; the wallet disconnected at {disconnections} open_channel(s); payer: {paid:?}"
    ));
    let outcome = match paid {
        Err(Abort::Timeout(m)) if disconnections > 0 => {
            env.note_buy(format!("{scid} ({}): part held", ctx.case_id));
            return Err(held(m));
        }
        Err(other) => return Err(other),
        Ok(outcome) => outcome,
    };
    if disconnections == 0 {
        env.note_buy(format!("{scid} ({}): no open", ctx.case_id));
        return Err(Abort::Precondition(format!(
            "the LSP sent no open_channel for the payment (payer: {outcome:?}); the delivery cases judge that"
        )));
    }
    if let Payment::Paid { .. } = outcome {
        env.note_buy(format!("{scid} ({}): paid", ctx.case_id));
        return Err(Abort::Error(
            "the payment completed although the wallet left before every open".into(),
        ));
    }
    Ok(LeftBeforeFunding {
        purchase,
        invoice,
        amount,
        outcome,
        disconnections,
    })
}

async fn left_before_funding_code(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let left = pay_while_leaving(&ctx, &env, |m| {
        Abort::Violation(format!(
            "{m}: the part was still held {} s after the wallet disconnected before funding_signed: {R51_RULE}",
            FAIL_BACK_WAIT.as_secs()
        ))
    })
    .await?;
    env.note_buy(format!(
        "{} ({}): failed back after the client left",
        left.purchase.buy.jit_channel_scid, ctx.case_id
    ));
    judge_code(
        &left.outcome,
        left.purchase.buy.jit_channel_scid.0,
        FailureSeen::TemporaryAtJitScid,
        &format!(
            "the wallet left at the open ({} time(s)); the part was failed",
            left.disconnections
        ),
        R51_RULE,
    )
}

/// Waits until the wallet has a session with the LSP again. The wallet's link redials by
/// itself, but a session that drops again while a redial waits for it (the LSP re-sends
/// `open_channel` on reconnection, and the wallet leaves again) leaves that redial waiting for
/// its full timeout; after a second without a session the runner dials too.
async fn wallet_back(env: &FlowEnv) -> bool {
    let connected = || {
        env.wallet
            .node()
            .peer_manager
            .peer_by_node_id(&env.lsp)
            .is_some()
    };
    let deadline = Instant::now() + RECONNECT_WAIT;
    let mut dial_at = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if connected() {
            return true;
        }
        if Instant::now() >= dial_at {
            let _ = env
                .wallet
                .node()
                .connect(env.lsp, env.lsp_addr, Duration::from_secs(2))
                .await;
            dial_at = Instant::now() + Duration::from_secs(1);
            continue;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    connected()
}

async fn left_before_funding_waits_again(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let left = pay_while_leaving(&ctx, &env, |m| {
        Abort::Precondition(format!(
            "{m}: the part was not failed back after the wallet left, so the LSP never went back to waiting (judged by lsps2.flow.client-left-before-funding.fails-temporary-channel-failure)"
        ))
    })
    .await?;
    let valid_until = left.purchase.params.valid_until;
    let before = wallet_channels(&env);
    let scid = left.purchase.buy.jit_channel_scid;
    let sent_at = Instant::now();
    let paid = pay_parts(
        &env,
        &left.invoice,
        left.purchase.buy.lsp_cltv_expiry_delta,
        scid.0,
        &[left.amount],
        env.wait,
    )
    .await;
    ctx.step("payment sent again -> payer saw the outcome", sent_at);
    let received = match &paid {
        Ok(Payment::Paid { .. }) => {
            env.wallet
                .wait_for_payment(hash_of(&left.invoice), env.wait)
                .await
        }
        _ => {
            env.wallet
                .wait_for_payment(hash_of(&left.invoice), Duration::from_secs(2))
                .await
        }
    };
    let channel: Option<ChannelId> = new_ready_channel(&env, &before);
    if let Some(id) = channel {
        env.note_channel(id.to_string(), ctx.case_id);
    }
    ctx.note(format!(
        "second payment: payer {paid:?}; wallet {received:?}"
    ));
    env.note_buy(format!(
        "{scid} ({}): failed back after the client left, paid again after it came back: {}",
        ctx.case_id,
        if matches!(received, Receive::Received(_)) {
            "delivered"
        } else {
            "not delivered"
        }
    ));
    match (&received, channel) {
        (Receive::Received(r), Some(id)) => Ok(format!(
            "after the wallet left at the open and came back, the same invoice paid again (valid_until {valid_until}) opened channel {id} and delivered {} msat",
            r.received_msat
        )),
        // The LSP opened and forwarded: it was waiting for payment again. What it forwarded
        // is the delivery cases' to judge.
        (Receive::FailedBack(why), _) => Ok(format!(
            "after the wallet left at the open and came back, the same invoice paid again (valid_until {valid_until}) was forwarded to the wallet, which failed it back ({why}: judged by the delivery cases)"
        )),
        (Receive::Received(r), None) => Err(Abort::Advisory(format!(
            "the payment paid again arrived ({} msat over channel {}) but no new channel was opened for it",
            r.received_msat, r.channel_id
        ))),
        (Receive::TimedOut, _) => Err(Abort::Violation(format!(
            "after the wallet left before funding_signed and came back, the same invoice paid again before valid_until {valid_until} was not delivered (payer: {paid:?}): the LSP did not return to waiting for payment: {R51_RULE}"
        ))),
    }
}

/// Whether the chain has output `outpoint` (in the mempool or a block).
async fn funding_out(env: &FlowEnv, outpoint: lightning::chain::transaction::OutPoint) -> bool {
    env.rpc
        .call(
            "gettxout",
            serde_json::json!([outpoint.txid.to_string(), outpoint.index, true]),
        )
        .await
        .is_ok_and(|v| !v.is_null())
}

/// When the wallet saw the new channel's funding outpoint, when the chain had it, when the
/// channel was ready.
#[derive(Default, Clone, Copy)]
struct FundingSeen {
    signed_at: Option<Instant>,
    outpoint: Option<lightning::chain::transaction::OutPoint>,
    out_at: Option<Instant>,
    ready_at: Option<Instant>,
}

/// Watches the wallet's new channel from the LSP and the chain until `until`.
async fn watch_funding(env: &FlowEnv, before: &[ChannelId], seen: &std::sync::Mutex<FundingSeen>) {
    loop {
        let now = Instant::now();
        let channel = env
            .wallet
            .node()
            .channel_manager
            .list_channels()
            .into_iter()
            .find(|c| c.counterparty.node_id == env.lsp && !before.contains(&c.channel_id));
        let mut current = seen.lock().map(|s| *s).unwrap_or_default();
        if let Some(c) = &channel {
            if let Some(txo) = c.funding_txo
                && current.outpoint.is_none()
            {
                current.outpoint = Some(txo);
                current.signed_at = Some(now);
            }
            if c.is_channel_ready {
                current.ready_at.get_or_insert(now);
            }
        }
        if let Some(txo) = current.outpoint
            && current.out_at.is_none()
            && funding_out(env, txo).await
        {
            current.out_at = Some(Instant::now());
        }
        if let Ok(mut s) = seen.lock() {
            *s = current;
        }
        if current.out_at.is_some() && current.ready_at.is_some() {
            return;
        }
        tokio::time::sleep(BROADCAST_POLL).await;
    }
}

async fn funding_broadcast(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (index, amount) = cheapest_entry(&env).await?;
    let started = Instant::now();
    let purchase = env.buy(index, None).await?;
    ctx.step("lsps2.buy", started);
    let trusts = purchase.buy.client_trusts_lsp;
    let invoice = env
        .wallet
        .invoice(&purchase, "lsps-conformance flow tier", INVOICE_EXPIRY)
        .map_err(|e| Abort::Error(format!("making the JIT invoice: {e}")))?;
    let scid = purchase.buy.jit_channel_scid;
    let before = wallet_channels(&env);
    let seen = std::sync::Mutex::new(FundingSeen::default());
    let sent_at = Instant::now();
    let parts = [amount];
    let paying = pay_parts(
        &env,
        &invoice,
        purchase.buy.lsp_cltv_expiry_delta,
        scid.0,
        &parts,
        env.wait,
    );
    let paying = async {
        let paid = paying.await;
        (paid, Instant::now())
    };
    let watching = tokio::time::timeout(env.wait, watch_funding(&env, &before, &seen));
    let ((paid, settled_at), _) = tokio::join!(paying, watching);
    // After the payment settled, the funding has BROADCAST_WAIT to appear (from funding_signed
    // without trust, from the claim with it).
    let _ = tokio::time::timeout(BROADCAST_WAIT, watch_funding(&env, &before, &seen)).await;
    let seen = seen.lock().map(|s| *s).unwrap_or_default();
    for (step, at) in [
        (
            "payment sent -> funding signed (outpoint known)",
            seen.signed_at,
        ),
        ("payment sent -> channel ready", seen.ready_at),
        (
            "payment sent -> funding in the chain's mempool",
            seen.out_at,
        ),
    ] {
        if let Some(at) = at {
            ctx.step_between(step, sent_at, at);
        }
    }
    ctx.step_between("payment sent -> payer saw the outcome", sent_at, settled_at);
    ctx.note(format!(
        "client_trusts_lsp {trusts}; funding {:?}; payer: {paid:?}",
        seen.outpoint
    ));
    let delivered = matches!(paid, Ok(Payment::Paid { .. }));
    env.note_buy(format!(
        "{scid} ({}): {}",
        ctx.case_id,
        if delivered { "paid" } else { "not paid" }
    ));
    let Some(signed_at) = seen.signed_at else {
        return Err(Abort::Precondition(format!(
            "no channel from the LSP reached funding_signed (payer: {paid:?}); the delivery cases judge the open"
        )));
    };
    if let Some(ready) = new_ready_channel(&env, &before) {
        env.note_channel(ready.to_string(), ctx.case_id);
    }
    let after = |at: Option<Instant>, from: Instant| {
        at.map(|a| format!("{} ms", a.saturating_duration_since(from).as_millis()))
            .unwrap_or_else(|| "never".into())
    };
    if seen.ready_at.is_none() {
        return Err(Abort::Violation(format!(
            "the JIT channel never became ready (funding signed, client_trusts_lsp {trusts}; payer: {paid:?}): bLIP-52: {}",
            if trusts {
                "\"The client and LSP MUST immediately send `channel_ready`.\""
            } else {
                "\"The LSP MUST immediately broadcast the channel funding transaction and send `channel_ready`.\""
            }
        )));
    }
    if trusts {
        return match seen.out_at {
            Some(out) => Ok(format!(
                "client_trusts_lsp true: channel ready {} after funding_signed; the funding reached the mempool {} after funding_signed, {} the payer saw the payment complete (the LSP MAY wait for the preimage)",
                after(seen.ready_at, signed_at),
                after(Some(out), signed_at),
                if out <= settled_at { "before" } else { "after" }
            )),
            None => Err(Abort::Advisory(format!(
                "client_trusts_lsp true: the funding was not broadcast {} s after the preimage was released (payer: {paid:?}): the channel cannot confirm; bLIP-52 lets the LSP wait for the preimage and names no deadline after it",
                BROADCAST_WAIT.as_secs()
            ))),
        };
    }
    match seen.out_at {
        Some(out) if out.saturating_duration_since(signed_at) <= BROADCAST_WAIT => Ok(format!(
            "client_trusts_lsp false: the funding reached the mempool {} after funding_signed, the channel ready {} after it",
            after(Some(out), signed_at),
            after(seen.ready_at, signed_at)
        )),
        _ => Err(Abort::Violation(format!(
            "client_trusts_lsp false: the funding was not in the chain's mempool {} s after funding_signed (seen: {}; payer: {paid:?}): bLIP-52: \"The LSP MUST immediately broadcast the channel funding transaction and send `channel_ready`.\"",
            BROADCAST_WAIT.as_secs(),
            after(seen.out_at, signed_at)
        ))),
    }
}

/// LSPS2 flow cases about the open.
pub(super) static CASES: &[Case] = &[
    flow_case!(
        "lsps2.flow.client-left-before-funding.fails-temporary-channel-failure",
        ["LSPS2-R51"],
        Must,
        "the wallet disconnects when the JIT channel's open_channel arrives (before funding_signed): the LSP fails the part with temporary_channel_failure",
        "lsps2.buy without payment_size_msat, the payer pays one part; the wallet disconnects instead of answering open_channel (and redials)",
        "the payer sees a temporary failure at jit_channel_scid within 15 s; a PERM code or a part still held is FAIL; no open_channel at all is SKIP",
        left_before_funding_code
    ),
    flow_case!(
        "lsps2.flow.client-left-before-funding.waits-for-payment-again",
        ["LSPS2-R51"],
        Must,
        "after the wallet left before funding_signed and came back, the same invoice paid again opens the JIT channel and is delivered",
        "as the case above, then, once the wallet is connected again, the payer pays the same invoice again (same jit_channel_scid, before valid_until)",
        "the second payment is forwarded to the wallet over a new channel from the LSP; the first part still held is SKIP (the case above judges it)",
        left_before_funding_waits_again
    ),
    flow_case!(
        "lsps2.flow.funding-broadcast.follows-trust-model",
        ["LSPS2-R55", "LSPS2-R56"],
        Must,
        "the JIT channel is ready at once and its funding is broadcast as client_trusts_lsp says: at once without trust, at the latest after the preimage with it",
        "lsps2.buy without payment_size_msat, the payer pays one part; the runner asks the chain (gettxout, mempool included) for the funding outpoint every 100 ms from funding_signed on",
        "the channel becomes ready; client_trusts_lsp false: the funding is in the mempool within 10 s of funding_signed; true: noted when it came (WARN if not within 10 s of the claim)",
        funding_broadcast
    ),
];

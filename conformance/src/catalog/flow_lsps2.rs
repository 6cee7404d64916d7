//! LSPS2 (bLIP-52) cases at the flow tier: the runner's wallet buys a JIT channel, the
//! runner's payer pays the bLIP-52 invoice, and the case judges what the LSP did with the
//! payment — the channel, the fee it took, what it forwarded, the failure code the payer saw.
//!
//! What the runner can see: the wallet's LDK node reports each claimable payment with the
//! amount that arrived and the fee the LSP skimmed (the sum of the `extra_fee` TLVs, which LDK
//! requires to account for every msat an HTLC is short of its onion amount: a deducted part
//! without `extra_fee` is failed by the wallet's LDK before the wallet sees it), the channels
//! it has with the LSP, and the payer's view of a failure (PERM or temporary, and where).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::hashes::Hash as _;
use lightning::ln::types::ChannelId;
use lightning::types::payment::PaymentHash;
use lsps_client::receive::{JitPurchase, PaymentOutcome as Receive};
use lsps_core::types::Msat;
use lsps_node::payments::PaymentOutcome as Payment;

use crate::case::Case;
use crate::ctx::{Abort, CaseCtx};
use crate::flow::payment::{FailureSeen, failure_seen, judge_code, pay_parts};
use crate::flow::{FlowEnv, RefusingChannels};

/// Invoice expiry asked for (capped by `valid_until` by the wallet).
pub(super) const INVOICE_EXPIRY: Duration = Duration::from_secs(3600);
/// Without `--long`, how long a case waits for the LSP to fail a part it holds.
const SHORT_HOLD_WAIT: Duration = Duration::from_secs(30);
/// How long after `valid_until` a part may still be held before the case calls it kept.
const EXPIRY_GRACE: Duration = Duration::from_secs(10);
/// Without `--long`, the furthest `valid_until` the expiry case waits for.
const SHORT_EXPIRY_WAIT: Duration = Duration::from_secs(60);
/// Clock tolerance when telling a failure before `valid_until` from one at it.
const CLOCK_TOLERANCE_MS: u64 = 1_000;

/// bLIP-52 §4 sentences the failure cases quote.
const R46_RULE: &str = "bLIP-52: \"In \"no-MPP+var-invoice\" mode, the LSP, if it receives a forward where the next hop is `jit_channel_scid`, before `opening_fee_params.valid_until`: [...] MUST check that `opening_fee + htlc_minimum_msat <= htlc_value_msat`, and if that fails, MUST fail with `unknown_next_peer`.\"";
const R50_RULE: &str = "bLIP-52: \"LSPs MUST fail the payment with `unknown_next_peer` in case the client rejects the channel open via an `error`.\"";
const R39_RULE: &str = "bLIP-52: \"MUST fail with `temporary_channel_failure` if it implements the above timeout, and the timeout is reached.\"";
const R41_RULE: &str = "bLIP-52: \"MUST also have, for all pending payment parts, a separate timeout at `opening_fee_params.valid_until`, described below.\"";
const R43_RULE: &str = "bLIP-52: \"MUST fail with `unknown_next_peer` if all parts have **NOT** summed up to at least `payment_size_msat` **AND** `opening_fee_params.valid_until` has passed.\"";
const R61_RULE: &str = "bLIP-52: \"The LSP MUST ensure that all parts forwarded sum up to at least `payment_size_msat - opening_fee`.\"";

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

pub(super) fn hash_of(invoice: &lightning::bolt11_invoice::Bolt11Invoice) -> PaymentHash {
    PaymentHash(invoice.payment_hash().to_byte_array())
}

/// When the wallet first saw a new channel from the LSP, and when it became ready.
#[derive(Default, Clone)]
struct ChannelTimes {
    pending: Option<Instant>,
    ready: Option<Instant>,
    channel_id: Option<ChannelId>,
}

/// Records, until dropped, when a channel the wallet did not have in `before` appears and
/// becomes ready.
async fn watch_new_channel(
    env: &FlowEnv,
    before: &[ChannelId],
    times: &Mutex<ChannelTimes>,
) -> std::convert::Infallible {
    let lsp = env.lsp;
    let node = env.wallet.node();
    let new = |c: &lightning::ln::channel_state::ChannelDetails| {
        c.counterparty.node_id == lsp && !before.contains(&c.channel_id)
    };
    node.wait_for_channels(|cs| cs.iter().any(new)).await;
    if let Ok(mut t) = times.lock() {
        t.pending = Some(Instant::now());
    }
    node.wait_for_channels(|cs| cs.iter().any(|c| new(c) && c.is_channel_ready))
        .await;
    let id = node
        .channel_manager
        .list_channels()
        .iter()
        .find(|c| new(c) && c.is_channel_ready)
        .map(|c| c.channel_id);
    if let Ok(mut t) = times.lock() {
        t.ready = Some(Instant::now());
        t.channel_id = id;
    }
    std::future::pending().await
}

/// A ready channel from the LSP that is not in `before`.
pub(super) fn new_ready_channel(env: &FlowEnv, before: &[ChannelId]) -> Option<ChannelId> {
    env.wallet
        .node()
        .channel_manager
        .list_channels()
        .iter()
        .find(|c| {
            c.counterparty.node_id == env.lsp
                && !before.contains(&c.channel_id)
                && c.is_channel_ready
        })
        .map(|c| c.channel_id)
}

/// The wallet's channels with the LSP (ids).
pub(super) fn wallet_channels(env: &FlowEnv) -> Vec<ChannelId> {
    env.wallet
        .node()
        .channel_manager
        .list_channels()
        .iter()
        .filter(|c| c.counterparty.node_id == env.lsp)
        .map(|c| c.channel_id)
        .collect()
}

/// A payment through a fresh purchase and what every side saw.
struct Observed {
    purchase: JitPurchase,
    received: Receive,
    paid: Result<Payment, Abort>,
    channel: ChannelTimes,
    sent_at: Instant,
    /// When the payer learnt the outcome.
    settled_at: Instant,
}

/// Buys entry `index` (`size`: MPP+fixed-invoice mode), pays `parts` (one part through LDK's
/// router in no-MPP mode, explicit routes otherwise) and waits for the wallet's and the
/// payer's outcomes, timing each step.
async fn buy_and_pay(
    ctx: &CaseCtx,
    env: &FlowEnv,
    index: usize,
    size: Option<u64>,
    parts: &[u64],
    router: bool,
) -> Result<Observed, Abort> {
    let started = Instant::now();
    let purchase = env.buy(index, size).await?;
    ctx.step("lsps2.buy", started);
    ctx.note(format!(
        "bought menu entry {index} (min_fee_msat {}, proportional {}, valid_until {}){}: jit_channel_scid {}, lsp_cltv_expiry_delta {}, client_trusts_lsp {}",
        purchase.params.min_fee_msat,
        purchase.params.proportional,
        purchase.params.valid_until,
        size.map(|s| format!(" for payment_size_msat {s}"))
            .unwrap_or_default(),
        purchase.buy.jit_channel_scid,
        purchase.buy.lsp_cltv_expiry_delta,
        purchase.buy.client_trusts_lsp
    ));
    let invoice = env
        .wallet
        .invoice(&purchase, "lsps-conformance flow tier", INVOICE_EXPIRY)
        .map_err(|e| Abort::Error(format!("making the JIT invoice: {e}")))?;
    ctx.note(format!("invoice {invoice}"));
    let before = wallet_channels(env);
    let times = Mutex::new(ChannelTimes::default());
    let hash = hash_of(&invoice);
    let sent_at = Instant::now();
    let scid = purchase.buy.jit_channel_scid.0;
    let paying = async {
        match parts {
            [amount] if router => env
                .payer
                .pay(&invoice, Some(*amount), env.wait)
                .await
                .map_err(|e| Abort::Error(format!("paying: {e}"))),
            _ => {
                pay_parts(
                    env,
                    &invoice,
                    purchase.buy.lsp_cltv_expiry_delta,
                    scid,
                    parts,
                    env.wait,
                )
                .await
            }
        }
    };
    let paid = tokio::select! {
        paid = paying => paid,
        never = watch_new_channel(env, &before, &times) => match never {},
    };
    let settled_at = Instant::now();
    // The wallet settles (claims, or fails back after its skim check) before the payer learns
    // the outcome; after a failure it has at most a moment left to report.
    let wallet_wait = match &paid {
        Ok(Payment::Paid { .. }) => env.wait,
        _ => Duration::from_secs(2),
    };
    let received = env.wallet.wait_for_payment(hash, wallet_wait).await;
    let mut channel = times.lock().map(|t| t.clone()).unwrap_or_default();
    // Read the channels again: the watcher may not have run since the last change.
    let now = Instant::now();
    if let Some(id) = new_ready_channel(env, &before) {
        channel.pending.get_or_insert(now);
        channel.ready.get_or_insert(now);
        channel.channel_id.get_or_insert(id);
    }
    Ok(Observed {
        purchase,
        received,
        paid,
        channel,
        sent_at,
        settled_at,
    })
}

/// Steps and notes common to every paid flow.
fn record(ctx: &CaseCtx, env: &FlowEnv, seen: &Observed, outcome: &str) {
    if let Some(at) = seen.channel.pending {
        ctx.step_between("payment sent -> channel open received", seen.sent_at, at);
    }
    if let Some(at) = seen.channel.ready {
        ctx.step_between("payment sent -> channel ready", seen.sent_at, at);
    }
    if let Some(id) = seen.channel.channel_id {
        env.note_channel(id.to_string(), ctx.case_id);
    }
    env.note_buy(format!(
        "{} ({}): {outcome}",
        seen.purchase.buy.jit_channel_scid, ctx.case_id
    ));
    ctx.note(format!("wallet: {:?}", seen.received));
    ctx.note(format!("payer: {:?}", seen.paid));
}

/// Judges a payment that should have been delivered through a new JIT channel, worth
/// `payment_msat` (the fee computed on it), whose parts reached the LSP before `valid_until`.
fn judge_delivery(
    ctx: &CaseCtx,
    env: &FlowEnv,
    seen: Observed,
    payment_msat: u64,
    mpp: bool,
) -> Result<String, Abort> {
    let fee = seen
        .purchase
        .params
        .opening_fee(Msat(payment_msat))
        .map_err(|e| Abort::Precondition(format!("opening fee: {e}")))?
        .get();
    match &seen.received {
        Receive::Received(r) => {
            record(ctx, env, &seen, "paid, channel opened");
            ctx.step_between(
                "payment sent -> payer saw it paid",
                seen.sent_at,
                seen.settled_at,
            );
            // LDK forwards over any channel with the peer (non-strict forwarding), so the
            // payment may arrive over an older channel; what matters is that the sold one
            // was opened.
            let Some(new_channel) = seen.channel.channel_id else {
                let what = format!(
                    "the payment arrived over channel {}, and no channel was opened for this purchase: the LSP did not open the JIT channel it sold",
                    r.channel_id
                );
                return Err(if mpp {
                    Abort::Violation(what)
                } else {
                    Abort::Advisory(format!(
                        "{what} (bLIP-52 names no MUST for opening in no-MPP mode: the MPP case judges the open)"
                    ))
                });
            };
            ctx.note(format!(
                "new JIT channel {new_channel}; the payment arrived over {}",
                r.channel_id
            ));
            let skimmed = r.skimmed_fee_msat.get();
            let received = r.received_msat.get();
            if skimmed > fee {
                return Err(Abort::Violation(format!(
                    "the LSP skimmed {skimmed} msat, more than the opening fee of {fee} msat promised for {payment_msat} msat: {R61_RULE}"
                )));
            }
            if received < payment_msat - fee {
                return Err(Abort::Violation(format!(
                    "the wallet received {received} msat, less than payment_size_msat {payment_msat} - opening_fee {fee}: {R61_RULE}"
                )));
            }
            let smaller = if skimmed < fee {
                format!(" (less than the {fee} msat promised: allowed)")
            } else {
                String::new()
            };
            Ok(format!(
                "{}: {payment_msat} msat paid, a JIT channel opened to the wallet, {received} msat received, {skimmed} msat skimmed{smaller}; client_trusts_lsp {}",
                if mpp {
                    "two parts gathered"
                } else {
                    "one part"
                },
                seen.purchase.buy.client_trusts_lsp
            ))
        }
        Receive::FailedBack(why) => {
            record(ctx, env, &seen, "failed back by the wallet's skim check");
            Err(Abort::Violation(format!(
                "the wallet failed the payment back: {why}"
            )))
        }
        Receive::TimedOut => {
            record(ctx, env, &seen, "not delivered");
            let failure = seen
                .paid
                .as_ref()
                .ok()
                .and_then(|p| failure_seen(p, seen.purchase.buy.jit_channel_scid.0));
            match (seen.channel.ready.is_some(), failure) {
                (true, Some(FailureSeen::ByWallet)) => Err(Abort::Violation(
                    "a JIT channel opened, but the wallet's LDK node failed the forwarded payment: its amount plus extra_fee fell short of the onion amount (a deducted part without extra_fee, or less forwarded than the onion says)".into(),
                )),
                (false, Some(seen_failure)) if mpp => Err(Abort::Violation(format!(
                    "no channel was opened although the parts reached payment_size_msat before valid_until while the wallet was connected; the payer saw {}",
                    seen_failure.describe()
                ))),
                (false, Some(seen_failure)) => Err(Abort::Advisory(format!(
                    "no channel was opened for the no-MPP payment; the payer saw {} (bLIP-52 names no MUST for opening in no-MPP mode: the MPP case judges the open)",
                    seen_failure.describe()
                ))),
                _ => Err(Abort::Timeout(format!(
                    "the wallet received nothing within {} s (channel open received: {}, ready: {}; payer: {:?})",
                    env.wait.as_secs(),
                    seen.channel.pending.is_some(),
                    seen.channel.ready.is_some(),
                    seen.paid
                ))),
            }
        }
    }
}

/// The cheapest entry and a payment it accepts.
pub(super) async fn cheapest_entry(env: &FlowEnv) -> Result<(usize, u64), Abort> {
    let menu = env.lsps2_menu().await?;
    menu.offers
        .iter()
        .enumerate()
        .find_map(|(i, o)| FlowEnv::payment_size(&o.params).map(|size| (i, size)))
        .ok_or_else(|| {
            Abort::Precondition(
                "no menu entry accepts a payment the runner can make with a fee below it".into(),
            )
        })
}

async fn no_mpp_delivered(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (index, amount) = cheapest_entry(&env).await?;
    let seen = buy_and_pay(&ctx, &env, index, None, &[amount], true).await?;
    judge_delivery(&ctx, &env, seen, amount, false)
}

async fn mpp_delivered(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (index, size) = cheapest_entry(&env).await?;
    let first = size * 2 / 5;
    let seen = buy_and_pay(&ctx, &env, index, Some(size), &[first, size - first], false).await?;
    judge_delivery(&ctx, &env, seen, size, true)
}

/// Judges a payment the LSP must fail with `unknown_next_peer` (a PERM code at the SCID).
fn judge_unknown_next_peer(
    ctx: &CaseCtx,
    env: &FlowEnv,
    seen: Observed,
    rule: &str,
) -> Result<String, Abort> {
    let scid = seen.purchase.buy.jit_channel_scid.0;
    let outcome = match &seen.paid {
        Ok(Payment::Paid { .. }) => {
            record(ctx, env, &seen, "paid");
            return Err(Abort::Violation(format!(
                "the payment went through; {rule}"
            )));
        }
        Ok(p) => p.clone(),
        Err(Abort::Timeout(m)) => {
            record(ctx, env, &seen, "held");
            return Err(Abort::Timeout(format!("{m}; {rule}")));
        }
        Err(other) => return Err(other.clone()),
    };
    ctx.step_between("payment sent -> failed back", seen.sent_at, seen.settled_at);
    record(ctx, env, &seen, "failed back");
    judge_code(
        &outcome,
        scid,
        FailureSeen::PermanentAtJitScid,
        "failed back",
        rule,
    )
    .map(|judged| format!("{judged}; no channel delivered the payment"))
}

async fn fee_not_payable(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let menu = env.lsps2_menu().await?;
    let index = 0;
    let min_fee = menu
        .offers
        .first()
        .map(|o| o.params.min_fee_msat.get())
        .unwrap_or(0);
    // Below the minimum fee: fee + htlc_minimum_msat > the HTLC, whatever the proportion.
    let amount = min_fee / 2;
    if amount < 1_000 {
        return Err(Abort::Precondition(format!(
            "min_fee_msat {min_fee} leaves no HTLC of at least 1000 msat below it"
        )));
    }
    let seen = buy_and_pay(&ctx, &env, index, None, &[amount], false).await?;
    judge_unknown_next_peer(&ctx, &env, seen, R46_RULE)
}

async fn client_rejects(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let (index, amount) = cheapest_entry(&env).await?;
    let _refusing = RefusingChannels::start(&env);
    let seen = buy_and_pay(&ctx, &env, index, None, &[amount], false).await?;
    if seen.channel.ready.is_some() {
        return Err(Abort::Error(
            "the wallet was to refuse the channel but one became ready".into(),
        ));
    }
    judge_unknown_next_peer(&ctx, &env, seen, R50_RULE)
}

/// Pays one part of two in MPP+fixed-invoice mode and waits for the LSP to fail it: at most
/// `max_wait`, and never past `valid_until` + [`EXPIRY_GRACE`].
async fn one_part_of_two(
    ctx: &CaseCtx,
    env: &FlowEnv,
    index: usize,
    size: u64,
    max_wait: Duration,
) -> Result<(Observed, u64, u64), Abort> {
    let started = Instant::now();
    let purchase = env.buy(index, Some(size)).await?;
    ctx.step("lsps2.buy", started);
    let valid_until = purchase.params.valid_until.unix_millis();
    let invoice = env
        .wallet
        .invoice(&purchase, "lsps-conformance flow tier", INVOICE_EXPIRY)
        .map_err(|e| Abort::Error(format!("making the JIT invoice: {e}")))?;
    let until_expiry = Duration::from_millis(valid_until.saturating_sub(now_millis()));
    let wait = max_wait.min(until_expiry + EXPIRY_GRACE);
    let before = wallet_channels(env);
    let times = Mutex::new(ChannelTimes::default());
    let sent_at = Instant::now();
    let half = size / 2;
    ctx.note(format!(
        "paying part 1 of 2 ({half} of {size} msat) to jit_channel_scid {}; waiting up to {} s",
        purchase.buy.jit_channel_scid,
        wait.as_secs()
    ));
    let parts = [half];
    let paying = pay_parts(
        env,
        &invoice,
        purchase.buy.lsp_cltv_expiry_delta,
        purchase.buy.jit_channel_scid.0,
        &parts,
        wait,
    );
    let paid = tokio::select! {
        paid = paying => paid,
        never = watch_new_channel(env, &before, &times) => match never {},
    };
    let settled_at = Instant::now();
    let failed_at = now_millis();
    let channel = times.lock().map(|t| t.clone()).unwrap_or_default();
    let received = env
        .wallet
        .wait_for_payment(hash_of(&invoice), Duration::ZERO)
        .await;
    Ok((
        Observed {
            purchase,
            received,
            paid,
            channel,
            sent_at,
            settled_at,
        },
        valid_until,
        failed_at,
    ))
}

/// The payer's outcome for the lone part of two that `one_part_of_two` sent, once it failed
/// back (its time and the run's record noted). Still held when the wait ended: recorded as
/// `held` and answered with `when_held`. Delivered: the LSP did not wait for the parts to sum
/// up (a SHOULD, advisory).
fn lone_part_failed(
    ctx: &CaseCtx,
    env: &FlowEnv,
    seen: &Observed,
    held: &str,
    when_held: impl FnOnce() -> Abort,
) -> Result<Payment, Abort> {
    let outcome = match &seen.paid {
        Err(Abort::Timeout(_)) => {
            record(ctx, env, seen, held);
            return Err(when_held());
        }
        Err(other) => return Err(other.clone()),
        Ok(Payment::Paid { .. }) => {
            record(ctx, env, seen, "paid");
            return Err(Abort::Advisory(
                "half the payment_size_msat was delivered: the LSP did not wait for the parts to sum up to payment_size_msat (a SHOULD)".into(),
            ));
        }
        Ok(p) => p.clone(),
    };
    ctx.step_between(
        "part 1 of 2 sent -> failed back",
        seen.sent_at,
        seen.settled_at,
    );
    record(ctx, env, seen, "part failed back");
    Ok(outcome)
}

async fn hold_timeout(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let menu = env.lsps2_menu().await?;
    // The entry valid longest, so the hold timeout (if any) fires before valid_until.
    let Some((index, size)) = menu
        .offers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| FlowEnv::payment_size(&o.params).map(|s| (i, s, o)))
        .max_by_key(|(_, _, o)| o.params.valid_until.unix_millis())
        .map(|(i, s, _)| (i, s))
    else {
        return Err(Abort::Precondition(
            "no menu entry accepts a payment the runner can make".into(),
        ));
    };
    let max_wait = if env.long {
        Duration::from_secs(24 * 3600)
    } else {
        SHORT_HOLD_WAIT
    };
    let (seen, valid_until, failed_at) = one_part_of_two(&ctx, &env, index, size, max_wait).await?;
    let scid = seen.purchase.buy.jit_channel_scid.0;
    let outcome = lone_part_failed(&ctx, &env, &seen, "part held", || {
        Abort::Precondition(format!(
            "the LSP held part 1 of 2 for {} s without failing it (bLIP-52: \"SHOULD hold all payment parts active for at least 90 seconds, starting from the arrival of the first payment part\"; run with --long to wait until valid_until)",
            max_wait.as_secs()
        ))
    })?;
    let failure = failure_seen(&outcome, scid);
    if failed_at + CLOCK_TOLERANCE_MS >= valid_until {
        // valid_until came first: that timeout's code is unknown_next_peer.
        return match failure {
            Some(FailureSeen::TemporaryAtJitScid) => Err(Abort::Violation(format!(
                "failed at valid_until with {}: {R43_RULE}",
                FailureSeen::TemporaryAtJitScid.describe()
            ))),
            Some(f) => Ok(format!(
                "no hold timeout before valid_until; failed at valid_until with {}",
                f.describe()
            )),
            None => Err(Abort::Error(format!(
                "failed without a path failure: {outcome:?}"
            ))),
        };
    }
    let held_for = seen.settled_at.saturating_duration_since(seen.sent_at);
    judge_code(
        &outcome,
        scid,
        FailureSeen::TemporaryAtJitScid,
        &format!(
            "held part 1 of 2 for {} ms, then failed it before valid_until",
            held_for.as_millis()
        ),
        R39_RULE,
    )
}

async fn valid_until_passes(ctx: CaseCtx) -> Result<String, Abort> {
    let env = ctx.flow()?;
    let menu = env.lsps2_menu().await?;
    // The entry that expires soonest.
    let Some((index, size, valid_until)) = menu
        .offers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            FlowEnv::payment_size(&o.params).map(|s| (i, s, o.params.valid_until.unix_millis()))
        })
        .min_by_key(|(_, _, v)| *v)
    else {
        return Err(Abort::Precondition(
            "no menu entry accepts a payment the runner can make".into(),
        ));
    };
    let away = Duration::from_millis(valid_until.saturating_sub(now_millis()));
    if !env.long && away > SHORT_EXPIRY_WAIT {
        return Err(Abort::Precondition(format!(
            "the soonest valid_until is {} s away (run with --long to wait for it)",
            away.as_secs()
        )));
    }
    let max_wait = away + Duration::from_secs(60);
    let (seen, valid_until, failed_at) = one_part_of_two(&ctx, &env, index, size, max_wait).await?;
    let scid = seen.purchase.buy.jit_channel_scid.0;
    let outcome = lone_part_failed(&ctx, &env, &seen, "part held past valid_until", || {
        Abort::Violation(format!(
            "part 1 of 2 was still held {} s after valid_until: {R41_RULE} {R43_RULE}",
            EXPIRY_GRACE.as_secs()
        ))
    })?;
    if failed_at + CLOCK_TOLERANCE_MS < valid_until {
        return Err(Abort::Precondition(format!(
            "the LSP failed the part {} ms before valid_until (its hold timeout, judged by lsps2.flow.mpp.hold-timeout.fails-temporary-channel-failure)",
            valid_until - failed_at
        )));
    }
    judge_code(
        &outcome,
        scid,
        FailureSeen::PermanentAtJitScid,
        "part 1 of 2 failed at valid_until",
        R43_RULE,
    )
}

macro_rules! flow_case {
    ($($case:tt)*) => {
        catalog_case!(Flow, 2, $($case)*)
    };
}

/// LSPS2 flow cases.
pub(super) static CASES: &[Case] = &[
    flow_case!(
        "lsps2.flow.no-mpp.delivered-within-fee",
        ["LSPS2-R61", "LSPS2-R62"],
        Must,
        "no-MPP+var-invoice: the paid JIT invoice opens a channel to the wallet and delivers the payment minus at most the opening fee",
        "lsps2.buy without payment_size_msat, then the payer pays the wallet's bLIP-52 invoice (variable amount) in one part",
        "a new channel from the LSP carries the payment; skimmed fee <= opening_fee computed on the HTLC; received >= payment - fee (a smaller fee passes)",
        no_mpp_delivered
    ),
    flow_case!(
        "lsps2.flow.mpp.parts-gathered-and-delivered",
        ["LSPS2-R45", "LSPS2-R61", "LSPS2-R62"],
        Must,
        "MPP+fixed-invoice: two parts summing to payment_size_msat are gathered, a channel is opened and the payment delivered minus at most the opening fee",
        "lsps2.buy with payment_size_msat, then the payer sends two parts (40 % and 60 %) along explicit routes through jit_channel_scid",
        "a new channel from the LSP carries both parts; skimmed fee <= opening_fee; received >= payment_size_msat - opening_fee (a smaller fee passes)",
        mpp_delivered
    ),
    flow_case!(
        "lsps2.flow.no-mpp.fee-not-payable.fails-unknown-next-peer",
        ["LSPS2-R46"],
        Must,
        "no-MPP+var-invoice: an HTLC that cannot pay opening_fee + htlc_minimum_msat is failed with unknown_next_peer",
        "lsps2.buy without payment_size_msat, then one HTLC of min_fee_msat / 2",
        "the payer sees a PERM failure at jit_channel_scid (unknown_next_peer) and nothing is delivered",
        fee_not_payable
    ),
    flow_case!(
        "lsps2.flow.client-rejects-channel.fails-unknown-next-peer",
        ["LSPS2-R50"],
        Must,
        "the wallet rejects the JIT channel with error: the LSP fails the payment with unknown_next_peer",
        "lsps2.buy, the payer pays; the wallet answers open_channel with error",
        "the payer sees a PERM failure at jit_channel_scid (unknown_next_peer)",
        client_rejects
    ),
    flow_case!(
        "lsps2.flow.mpp.hold-timeout.fails-temporary-channel-failure",
        ["LSPS2-R39"],
        Must,
        "MPP+fixed-invoice: part 1 of 2 alone is held, and failed with temporary_channel_failure if the LSP's hold timeout fires",
        "lsps2.buy with payment_size_msat, then one part of half of it; the runner waits (30 s, or until valid_until with --long)",
        "a temporary failure at jit_channel_scid before valid_until, or unknown_next_peer at valid_until; still held when the wait ends is SKIP",
        hold_timeout
    ),
    flow_case!(
        "lsps2.flow.mpp.valid-until.fails-unknown-next-peer",
        ["LSPS2-R41", "LSPS2-R43"],
        Must,
        "MPP+fixed-invoice: parts short of payment_size_msat at valid_until are failed with unknown_next_peer",
        "lsps2.buy of the entry expiring soonest, then one part of half of payment_size_msat; the runner waits past valid_until (entries more than 60 s away need --long)",
        "a PERM failure at jit_channel_scid (unknown_next_peer) at valid_until; a failure before it is the hold timeout (SKIP here)",
        valid_until_passes
    ),
];

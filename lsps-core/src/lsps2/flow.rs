//! The LSP's JIT channel flow for one `jit_channel_scid`, as a sans-IO state machine
//! (quinn-proto's shape): the server feeds it what its node saw, [`JitFlow::handle`]`(event,
//! now)` returns what to do, and the whole [`JitFlow`] value is what the store keeps. No I/O,
//! no clock, no LDK type: intercept ids, payment hashes and channel ids are plain bytes
//! ([`crate::ids`]), times are [`Datetime`]s passed in.
//!
//! # Driving it
//!
//! 1. After `lsps2.buy`, [`JitFlow::new`] with the sold [`JitTerms`] and the LSP's
//!    [`JitConfig`]; store it.
//! 2. Turn each node event for this SCID into a [`JitEvent`] and call [`JitFlow::handle`]. Call
//!    it with [`JitEvent::Timer`] at [`JitFlow::next_timeout`] (and whenever convenient: a
//!    timer that is early or late changes nothing but when things happen).
//! 3. Perform the returned [`JitAction`]s in order. The first is [`JitAction::Persist`]
//!    whenever the flow changed: store the flow value *before* performing the rest, so that a
//!    crash replays to the same decision (the actions are a function of the stored flow and
//!    the events after it).
//!
//! Events arrive at least once: a repeated event (same part, same channel, same attempt) is
//! answered with no action. An event that cannot belong to this flow (a channel it never
//! opened, a part it never saw) is an [`UnexpectedEvent`] error and changes nothing.
//!
//! ```
//! use lsps_core::ids::{ChannelId, InterceptId, PaymentHash};
//! use lsps_core::lsps2::flow::{
//!     Forward, HtlcPart, JitAction, JitConfig, JitEvent, JitFlow, JitTerms,
//! };
//! use lsps_core::lsps2::{JitState, OpeningFeeParams};
//! use lsps_core::types::{Datetime, Msat, Ppm, Scid};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = Datetime::from_unix_millis(1_700_000_000_000)?;
//! let params = OpeningFeeParams {
//!     min_fee_msat: Msat(10_000),
//!     proportional: Ppm(10_000), // 1 %
//!     valid_until: now.checked_add_millis(600_000).ok_or("date")?,
//!     min_lifetime: 144,
//!     max_client_to_self_delay: 2016,
//!     min_payment_size_msat: Msat(1_000_000),
//!     max_payment_size_msat: Msat(100_000_000),
//!     promise: "…".into(),
//! };
//! let terms = JitTerms {
//!     jit_channel_scid: Scid(42),
//!     client: "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619".parse()?,
//!     opening_fee_params: params,
//!     payment_size_msat: None, // no-MPP+var-invoice
//!     client_trusts_lsp: false,
//! };
//! let mut flow = JitFlow::new(terms, JitConfig::default());
//!
//! // The payer's HTLC reaches the JIT SCID: store the flow, then open the channel.
//! let part = HtlcPart {
//!     id: InterceptId([1; 32]),
//!     payment_hash: PaymentHash([2; 32]),
//!     inbound_msat: Msat(5_000_000),
//!     expected_outbound_msat: Msat(5_000_000),
//!     cltv_expiry: None,
//! };
//! let actions = flow.handle(JitEvent::HtlcArrived(part), now)?;
//! assert!(matches!(
//!     &actions[..],
//!     [JitAction::Persist, JitAction::OpenChannel(open)] if open.attempt == 1
//! ));
//!
//! // funding_signed, then channel_ready: forward minus the 1 % fee, with the extra_fee TLV.
//! let channel_id = ChannelId([3; 32]);
//! flow.handle(JitEvent::FundingSigned { attempt: 1, channel_id }, now)?;
//! let actions = flow.handle(JitEvent::ChannelReady { channel_id }, now)?;
//! let forward = Forward {
//!     id: InterceptId([1; 32]),
//!     amount_msat: Msat(4_950_000),
//!     extra_fee_msat: Msat(50_000),
//! };
//! let parts = vec![forward];
//! assert_eq!(actions, [JitAction::Persist, JitAction::ForwardParts { channel_id, parts }]);
//!
//! // The client claims: the flow is done and the fee taken.
//! flow.handle(JitEvent::ClientClaimed { channel_id }, now)?;
//! assert_eq!(flow.state(), JitState::Done);
//! assert_eq!(flow.fee_taken_msat(), Msat(50_000));
//! # Ok(())
//! # }
//! ```
//!
//! # From LDK 0.2.7 events and calls (the server's adapter)
//!
//! | node | flow event |
//! |---|---|
//! | `Event::HTLCIntercepted` for the SCID | [`JitEvent::HtlcArrived`] |
//! | peer connected / disconnected | [`JitEvent::ClientConnected`] / [`JitEvent::ClientDisconnected`] |
//! | `Event::ChannelClosed` before `ChannelPending`, reason `DisconnectedPeer` | [`JitEvent::DisconnectedBeforeFunding`] |
//! | `Event::ChannelClosed` before `ChannelPending`, the client's error | [`JitEvent::ClientRejectedChannel`] |
//! | `create_channel` or funding failed on the LSP's side | [`JitEvent::OpenFailed`] |
//! | `Event::ChannelPending` | [`JitEvent::FundingSigned`] |
//! | `Event::FundingTxBroadcastSafe` (manual broadcast) | [`JitEvent::FundingBroadcastSafe`] |
//! | `Event::ChannelReady` | [`JitEvent::ChannelReady`] |
//! | `forward_intercepted_htlc` refused; the id unknown to the node | [`JitEvent::ForwardRefused`]; [`JitEvent::PartFailed`] |
//! | `Event::HTLCHandlingFailed` for a forward over the channel | [`JitEvent::ForwardsFailed`] |
//! | `Event::PaymentForwarded` with the channel as next hop | [`JitEvent::ClientClaimed`] |
//!
//! `user_channel_id` can carry the SCID and [`OpenChannel::attempt`] so that channel events
//! find their flow.
//!
//! # States ([`JitState`]) and what moves them
//!
//! | state | left by |
//! |---|---|
//! | `BOUGHT` | a part arrives (`COLLECTING`, or straight on to `OPENING`/`FORWARDING`); `valid_until` (`EXPIRED`) |
//! | `COLLECTING` | the parts reach the threshold with the client connected (`OPENING`, or `FORWARDING` if a channel is already ready); hold timeout (parts failed, `BOUGHT`); `valid_until` (`EXPIRED`) |
//! | `OPENING` | `funding_signed` then `channel_ready` (`FORWARDING`); client rejects the open or the open fails (`FAILED`); client disconnects before `funding_signed` ([`JitEvent::DisconnectedBeforeFunding`]: parts failed, `BOUGHT`/`COLLECTING`) |
//! | `FORWARDING` | the client claims (`DONE`); every forwarded part fails downstream (`BOUGHT`/`COLLECTING`, channel kept) |
//! | `DONE` | — (later HTLCs are forwarded without a fee until `valid_until`, then refused) |
//! | `EXPIRED`, `FAILED` | — (HTLCs refused with `unknown_next_peer`) |
//!
//! # The rules, and the bLIP-52 sentence each follows
//!
//! Thresholds and modes ("MPP+fixed-invoice" when `payment_size_msat` was bought,
//! "no-MPP+var-invoice" otherwise):
//! - MPP: parts are grouped per payment hash ("SHOULD group parts by payment hash"); a group
//!   opens the channel when its `expected_outbound_msat` sum is ≥ `payment_size_msat`, now <
//!   `valid_until` and the client is connected ("MUST proceed to open the channel when all of
//!   these hold").
//! - MPP: a group that has not opened [`JitConfig::hold_timeout_ms`] after its first part
//!   (90 s by default: "SHOULD hold parts for ≥ 90 s") is failed with
//!   `temporary_channel_failure` ("MUST fail with temporary_channel_failure when it fires") and
//!   forgotten ("SHOULD then forget those parts, and treat later parts as a new set").
//! - no-MPP: the fee is computed from the first HTLC ("MUST compute the opening fee from the
//!   first HTLC's amount"); an overflow, `fee + htlc_minimum_msat > amount`, or an amount
//!   outside `[min_payment_size_msat, max_payment_size_msat]` ("SHOULD check … that the
//!   variable amount is within [min, max]") fails it with `unknown_next_peer`. *Decision*
//!   (bLIP silent, spec/README D33): while one no-MPP payment is in progress, other HTLCs get
//!   `temporary_channel_failure`; a no-MPP HTLC held because the client is offline is bound
//!   by the same hold timeout.
//! - `valid_until`: every held part is failed with `unknown_next_peer` ("MUST also time out all
//!   pending parts at valid_until"; "MUST fail with unknown_next_peer if the parts do not reach
//!   payment_size_msat by valid_until"). An open already started is finished (it was decided
//!   while now < `valid_until`).
//! - A part whose `expected_outbound_msat` exceeds what arrived is failed with
//!   `unknown_next_peer` (issue #13: the LSP never funds the difference), and so is one below
//!   `htlc_minimum_msat` (it could never be forwarded: "MUST forward ≥ htlc_minimum_msat per
//!   part").
//! - More than [`JitConfig::max_parts`] parts: `unknown_next_peer` ("MAY fail with
//!   unknown_next_peer if it receives too many parts"); it also bounds the flow's memory.
//! - A group that cannot pay the fee (each part keeps `htlc_minimum_msat`) is failed with
//!   `unknown_next_peer` before any channel is opened for it.
//!
//! Opening:
//! - [`OpenChannel`] asks for an unannounced channel with the SCID-alias feature, 0-conf, a
//!   client `to_self_delay` ≤ `max_client_to_self_delay` ("Both sides MUST negotiate
//!   option_scid_alias, announce_channel = false, a client to_self_delay ≤
//!   max_client_to_self_delay"), and a capacity that carries the payment minus the fee plus the
//!   reserve the client will demand ("MUST be large enough for payment_size_msat − opening_fee
//!   plus the LSP-side reserve").
//! - The client rejects the open: every held part gets `unknown_next_peer`, final ("The LSP
//!   MUST then fail the payment with unknown_next_peer"). A failed open on the LSP's side ends
//!   the same way.
//! - The client disconnects before `funding_signed`: the group gets `temporary_channel_failure`
//!   and the flow waits again ("MUST fail the parts with temporary_channel_failure and go back
//!   to waiting for payment"). A later open is a new attempt ([`OpenChannel::attempt`]);
//!   there is never a second open while one is in flight, and none once any attempt reached
//!   `funding_signed`.
//!
//! Forwarding (after `channel_ready`, with the client connected):
//! - The fee is spread with bLIP-52's suggested greedy deduction ("take the fee greedily from
//!   each part down to htlc_minimum_msat", [`spread_fee`]): every forward carries
//!   `expected_outbound_msat − extra_fee`, each ≥ `htlc_minimum_msat`, and the deductions sum
//!   to exactly the promised `opening_fee` ("MUST forward a total ≥ payment_size_msat −
//!   opening_fee"; the client checks "sum of extra_fee ≤ opening_fee"). Parts with no
//!   deduction report `extra_fee_msat` 0, and the server attaches no TLV to them ("MUST NOT
//!   attach it to undeducted parts").
//! - Deductions on parts that later fail downstream are not counted as taken: a new payment
//!   over the same channel is charged what is still due, never more.
//! - `client_trusts_lsp = true`: the funding is broadcast only once the client has claimed and
//!   the node said broadcasting is safe ("the LSP MAY delay broadcast until it receives
//!   update_fulfill_htlc"). With `false` the node broadcasts at `funding_signed` by itself.
//! - After the client claims, the SCID stays an alias of the channel until `valid_until`
//!   ("MUST treat jit_channel_scid as an alias for the client until valid_until"): later parts
//!   are forwarded whole; at `valid_until` [`JitAction::ReleaseScid`] says it may be forgotten.

use serde::{Deserialize, Serialize};

use super::{FeeOverflow, JitState};
use crate::ids::{ChannelId, InterceptId, PaymentHash};
use crate::types::{Datetime, Msat, Sat};

mod events;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
mod transitions;

pub use events::{
    DEFAULT_HOLD_TIMEOUT_MS, Forward, HtlcFailure, HtlcPart, JitAction, JitConfig, JitEvent,
    JitTerms, MIN_CLIENT_RESERVE_SAT, OpenChannel, PartRecord, PartStatus,
};

/// The group the current open or forward is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Paying {
    payment_hash: PaymentHash,
    /// The promised fee for this payment.
    opening_fee_msat: Msat,
}

/// The channel being opened or opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ChannelProgress {
    attempt: u32,
    channel_id: Option<ChannelId>,
    ready: bool,
    broadcast_safe: bool,
    broadcast_requested: bool,
}

/// An event that cannot belong to this flow; the flow is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected JIT flow event in state {state}: {reason}")]
pub struct UnexpectedEvent {
    /// The state the flow was in.
    pub state: &'static str,
    /// Why the event does not fit.
    pub reason: &'static str,
}

/// One JIT flow: what was bought, every part seen, the channel, and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitFlow {
    terms: JitTerms,
    config: JitConfig,
    state: JitState,
    client_connected: bool,
    parts: Vec<PartRecord>,
    paying: Option<Paying>,
    channel: Option<ChannelProgress>,
    open_attempts: u32,
    /// Set once any attempt reached `funding_signed`: there is never a second channel.
    funded: bool,
    /// Forwards wait for a reconnect or `channel_ready` after the node refused one.
    forwarding_paused: bool,
    client_claimed: bool,
    scid_released: bool,
    /// A call at or after `valid_until` was handled, so [`JitFlow::next_timeout`] no longer
    /// names it.
    valid_until_seen: bool,
}

impl JitFlow {
    /// A flow for a fresh buy; the client is connected (it just bought).
    pub fn new(terms: JitTerms, config: JitConfig) -> Self {
        Self {
            terms,
            config,
            state: JitState::Bought,
            client_connected: true,
            parts: Vec::new(),
            paying: None,
            channel: None,
            open_attempts: 0,
            funded: false,
            forwarding_paused: false,
            client_claimed: false,
            scid_released: false,
            valid_until_seen: false,
        }
    }

    /// Where the flow stands.
    pub fn state(&self) -> JitState {
        self.state
    }

    /// What was bought.
    pub fn terms(&self) -> &JitTerms {
        &self.terms
    }

    /// Every part seen, in arrival order.
    pub fn parts(&self) -> &[PartRecord] {
        &self.parts
    }

    /// The channel, once `funding_signed` named it.
    pub fn channel_id(&self) -> Option<ChannelId> {
        self.channel.as_ref().and_then(|c| c.channel_id)
    }

    /// The number of the open attempt in flight or done, if any (what
    /// [`OpenChannel::attempt`] said; recovery matches it against the node's channels).
    pub fn channel_attempt(&self) -> Option<u32> {
        self.channel.as_ref().map(|c| c.attempt)
    }

    /// True once the channel is ready (forwards may go over it).
    pub fn channel_ready(&self) -> bool {
        self.channel_ready_id().is_some()
    }

    /// The fee taken so far: deductions on forwarded parts not failed downstream.
    pub fn fee_taken_msat(&self) -> Msat {
        Msat(self.deducted_outstanding())
    }

    /// When [`JitEvent::Timer`] should next be delivered, if anything waits on time.
    pub fn next_timeout(&self) -> Option<Datetime> {
        let valid_until = self.terms.opening_fee_params.valid_until;
        let mut next: Option<Datetime> = None;
        let mut consider = |t: Datetime| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        if !self.valid_until_seen {
            consider(valid_until);
        }
        for hash in self.held_hashes() {
            if self.is_paying(&hash) {
                continue;
            }
            if let Some(deadline) = self.hold_deadline(&hash) {
                consider(deadline);
            }
        }
        next
    }

    /// Applies `event` at `now` and returns what to do. On error the flow is unchanged.
    pub fn handle(
        &mut self,
        event: JitEvent,
        now: Datetime,
    ) -> Result<Vec<JitAction>, UnexpectedEvent> {
        let mut next = self.clone();
        let mut actions = Vec::new();
        if now >= next.valid_until() {
            next.valid_until_seen = true;
        }
        next.apply(event, now, &mut actions)?;
        next.decide(now, &mut actions);
        next.state = next.derive_state();
        if next != *self {
            actions.insert(0, JitAction::Persist);
        }
        *self = next;
        Ok(actions)
    }

    fn unexpected(&self, reason: &'static str) -> UnexpectedEvent {
        UnexpectedEvent {
            state: self.state.name(),
            reason,
        }
    }

    fn mpp(&self) -> bool {
        self.terms.payment_size_msat.is_some()
    }

    fn valid_until(&self) -> Datetime {
        self.terms.opening_fee_params.valid_until
    }

    fn is_final(&self) -> bool {
        self.state.is_final()
    }

    fn is_paying(&self, hash: &PaymentHash) -> bool {
        self.paying
            .as_ref()
            .is_some_and(|p| p.payment_hash == *hash)
    }

    fn find(&self, id: &InterceptId) -> Option<usize> {
        self.parts.iter().position(|r| r.part.id == *id)
    }

    /// Distinct hashes with held parts, in order of first arrival.
    fn held_hashes(&self) -> Vec<PaymentHash> {
        let mut hashes: Vec<PaymentHash> = Vec::new();
        for r in &self.parts {
            if r.status == PartStatus::Held && !hashes.contains(&r.part.payment_hash) {
                hashes.push(r.part.payment_hash);
            }
        }
        hashes
    }

    fn held_of(&self, hash: &PaymentHash) -> impl Iterator<Item = &PartRecord> {
        self.parts
            .iter()
            .filter(move |r| r.status == PartStatus::Held && r.part.payment_hash == *hash)
    }

    fn hold_deadline(&self, hash: &PaymentHash) -> Option<Datetime> {
        let first = self.held_of(hash).map(|r| r.arrived_at).min()?;
        Some(
            first
                .checked_add_millis(self.config.hold_timeout_ms)
                .unwrap_or(Datetime::MAX),
        )
    }

    fn deducted_outstanding(&self) -> u64 {
        self.parts
            .iter()
            .map(|r| match r.status {
                PartStatus::Forwarded { extra_fee_msat, .. } => extra_fee_msat.get(),
                _ => 0,
            })
            .fold(0u64, u64::saturating_add)
    }

    fn outstanding_forwards(&self) -> usize {
        self.parts
            .iter()
            .filter(|r| matches!(r.status, PartStatus::Forwarded { .. }))
            .count()
    }

    fn channel_ready_id(&self) -> Option<ChannelId> {
        self.channel
            .as_ref()
            .filter(|c| c.ready)
            .and_then(|c| c.channel_id)
    }

    /// Records the failure of `ids` (held parts) and adds the action.
    fn fail(&mut self, ids: Vec<InterceptId>, failure: HtlcFailure, actions: &mut Vec<JitAction>) {
        if ids.is_empty() {
            return;
        }
        for r in &mut self.parts {
            if ids.contains(&r.part.id) {
                r.status = PartStatus::Failed { failure };
            }
        }
        actions.push(JitAction::FailParts {
            parts: ids,
            failure,
        });
    }
}

/// The capacity for a channel that must carry `forward_msat` to the client: the payment,
/// the reserve the client demands of the LSP (1 %, at least [`MIN_CLIENT_RESERVE_SAT`]),
/// and the configured headroom; at least [`JitConfig::min_channel_sat`]. `None` on overflow.
/// The server asks it at `lsps2.buy` too, so it never sells a channel its wallet cannot fund.
pub fn capacity_for(forward_msat: u64, config: &JitConfig) -> Option<u64> {
    let forward_sat = forward_msat.div_ceil(1000);
    let reserve = forward_sat.div_ceil(99).max(MIN_CLIENT_RESERVE_SAT);
    let needed = forward_sat
        .checked_add(reserve)?
        .checked_add(config.channel_headroom_sat.get())?;
    Some(needed.max(config.min_channel_sat.get()))
}

/// bLIP-52's suggested deduction: take `fee` greedily from each part, in order, leaving each
/// at least `htlc_minimum_msat`. Returns the forwards (every part, deducted or not), or `None`
/// if the parts cannot carry the whole fee.
pub fn spread_fee(
    parts: &[(InterceptId, Msat)],
    fee: Msat,
    htlc_minimum_msat: Msat,
) -> Option<Vec<Forward>> {
    let mut due = fee.get();
    let mut forwards = Vec::with_capacity(parts.len());
    for &(id, amount) in parts {
        let room = amount.get().checked_sub(htlc_minimum_msat.get())?;
        let take = room.min(due);
        due -= take;
        forwards.push(Forward {
            id,
            amount_msat: Msat(amount.get() - take),
            extra_fee_msat: Msat(take),
        });
    }
    (due == 0).then_some(forwards)
}

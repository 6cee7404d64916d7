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

    fn apply(
        &mut self,
        event: JitEvent,
        now: Datetime,
        actions: &mut Vec<JitAction>,
    ) -> Result<(), UnexpectedEvent> {
        match event {
            JitEvent::HtlcArrived(part) => self.on_part(part, now, actions),
            JitEvent::Timer => {}
            JitEvent::ClientConnected => {
                self.client_connected = true;
                self.forwarding_paused = false;
            }
            JitEvent::ClientDisconnected => self.client_connected = false,
            JitEvent::DisconnectedBeforeFunding { attempt } => match &self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    self.client_connected = false;
                    self.abandon_open(HtlcFailure::TemporaryChannelFailure, actions);
                }
                _ if attempt > 0 && attempt <= self.open_attempts => {}
                _ => return Err(self.unexpected("no such open attempt in flight")),
            },
            JitEvent::ClientRejectedChannel { attempt } | JitEvent::OpenFailed { attempt } => {
                match &self.channel {
                    Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                        self.channel = None;
                        self.paying = None;
                        self.end_failed(actions);
                    }
                    // An attempt already over (a repeat, or a rejection racing a disconnect).
                    _ if attempt <= self.open_attempts && attempt > 0 => {}
                    _ => return Err(self.unexpected("no such open attempt in flight")),
                }
            }
            JitEvent::FundingSigned {
                attempt,
                channel_id,
            } => match &mut self.channel {
                Some(c) if c.attempt == attempt && c.channel_id.is_none() => {
                    c.channel_id = Some(channel_id);
                    self.funded = true;
                }
                Some(c) if c.attempt == attempt && c.channel_id == Some(channel_id) => {}
                _ => return Err(self.unexpected("funding_signed for no open in flight")),
            },
            JitEvent::FundingBroadcastSafe { channel_id } => {
                self.own_channel(channel_id)?;
                if let Some(c) = &mut self.channel {
                    c.broadcast_safe = true;
                }
            }
            JitEvent::ChannelReady { channel_id } => {
                self.own_channel(channel_id)?;
                if let Some(c) = &mut self.channel {
                    c.ready = true;
                }
                self.forwarding_paused = false;
            }
            JitEvent::ForwardRefused { id } => {
                let Some(i) = self.find(&id) else {
                    return Err(self.unexpected("unknown part"));
                };
                if let PartStatus::Forwarded { .. } = self.parts[i].status {
                    self.parts[i].status = PartStatus::Held;
                    self.forwarding_paused = true;
                }
            }
            JitEvent::PartFailed { id } => {
                let Some(i) = self.find(&id) else {
                    return Err(self.unexpected("unknown part"));
                };
                match self.parts[i].status {
                    PartStatus::Held => self.parts[i].status = PartStatus::DroppedByNode,
                    PartStatus::Forwarded { .. } => self.forward_failed(i),
                    // Repeats, and the node echoing a failure this flow asked for.
                    _ => {}
                }
            }
            JitEvent::ForwardsFailed { channel_id } => {
                self.own_channel(channel_id)?;
                for i in 0..self.parts.len() {
                    if let PartStatus::Forwarded { .. } = self.parts[i].status {
                        self.forward_failed(i);
                    }
                }
            }
            JitEvent::ClientClaimed { channel_id } => {
                self.own_channel(channel_id)?;
                if self.outstanding_forwards() == 0 && !self.client_claimed {
                    return Err(self.unexpected("claim with nothing forwarded"));
                }
                self.client_claimed = true;
                self.paying = None;
            }
        }
        Ok(())
    }

    /// Part `i`, forwarded, failed at the client.
    fn forward_failed(&mut self, i: usize) {
        if let PartStatus::Forwarded {
            amount_msat,
            extra_fee_msat,
        } = self.parts[i].status
        {
            self.parts[i].status = PartStatus::ForwardFailed {
                amount_msat,
                extra_fee_msat,
            };
        }
        if !self.client_claimed && self.outstanding_forwards() == 0 {
            // The payment failed at the client: wait for a new one over the same channel,
            // charged what is still due.
            self.paying = None;
        }
    }

    fn own_channel(&self, channel_id: ChannelId) -> Result<(), UnexpectedEvent> {
        if self.channel_id() == Some(channel_id) {
            Ok(())
        } else {
            Err(self.unexpected("not this flow's channel"))
        }
    }

    fn on_part(&mut self, part: HtlcPart, now: Datetime, actions: &mut Vec<JitAction>) {
        if self.find(&part.id).is_some() {
            return; // at-least-once delivery
        }
        if self.parts.len() >= usize::from(self.config.max_parts) {
            // Not recorded: the table is full. A repeat of this event is failed again, which
            // the node refuses as an unknown intercept id.
            actions.push(JitAction::FailParts {
                parts: vec![part.id],
                failure: HtlcFailure::UnknownNextPeer,
            });
            return;
        }
        let id = part.id;
        let refuse = part.expected_outbound_msat > part.inbound_msat
            || part.expected_outbound_msat < self.config.htlc_minimum_msat
            || matches!(self.state, JitState::Expired | JitState::Failed)
            || now >= self.valid_until();
        self.parts.push(PartRecord {
            part,
            arrived_at: now,
            status: PartStatus::Held,
        });
        if refuse {
            self.fail(vec![id], HtlcFailure::UnknownNextPeer, actions);
            return;
        }
        // no-MPP: one HTLC at a time; others may retry later.
        let busy = !self.mpp()
            && !self.client_claimed
            && (self.paying.is_some()
                || self
                    .parts
                    .iter()
                    .any(|r| r.status == PartStatus::Held && r.part.id != id));
        if busy {
            self.fail(vec![id], HtlcFailure::TemporaryChannelFailure, actions);
        }
    }

    /// Ends an open attempt before `funding_signed`: the group is failed with `failure`.
    fn abandon_open(&mut self, failure: HtlcFailure, actions: &mut Vec<JitAction>) {
        self.channel = None;
        if let Some(p) = self.paying.take() {
            let ids = self.held_of(&p.payment_hash).map(|r| r.part.id).collect();
            self.fail(ids, failure, actions);
        }
    }

    /// Final failure: every held part gets `unknown_next_peer`.
    fn end_failed(&mut self, actions: &mut Vec<JitAction>) {
        let ids = self
            .parts
            .iter()
            .filter(|r| r.status == PartStatus::Held)
            .map(|r| r.part.id)
            .collect();
        self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
        self.state = JitState::Failed;
    }

    /// Everything that follows from the data and the time: timeouts, the open, forwards.
    fn decide(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        let past_valid_until = now >= self.valid_until();
        let final_state = self.is_final() || self.client_claimed;
        let open_in_flight = self.channel.as_ref().is_some_and(|c| !c.ready);

        // valid_until: every held part not committed to an open or a forward is refused.
        if past_valid_until {
            let committed = if open_in_flight || self.channel_ready_id().is_some() {
                self.paying.as_ref().map(|p| p.payment_hash)
            } else {
                None
            };
            let ids: Vec<InterceptId> = self
                .parts
                .iter()
                .filter(|r| r.status == PartStatus::Held && Some(r.part.payment_hash) != committed)
                .map(|r| r.part.id)
                .collect();
            self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
            if committed.is_none() {
                self.paying = None;
            }
            if !final_state
                && self.paying.is_none()
                && !open_in_flight
                && self.outstanding_forwards() == 0
            {
                self.state = JitState::Expired;
            }
        }

        // Hold timeout, per group, except the group an open or forward is for.
        for hash in self.held_hashes() {
            if self.is_paying(&hash) {
                continue;
            }
            if let Some(deadline) = self.hold_deadline(&hash)
                && now >= deadline
            {
                let ids = self.held_of(&hash).map(|r| r.part.id).collect();
                self.fail(ids, HtlcFailure::TemporaryChannelFailure, actions);
            }
        }

        if self.is_final() && self.state != JitState::Done && !self.client_claimed {
            self.release_scid_if_due(now, actions);
            return;
        }

        if self.client_claimed {
            self.forward_as_alias(now, actions);
            self.broadcast_if_due(actions);
            self.release_scid_if_due(now, actions);
            return;
        }

        if self.paying.is_none() && self.client_connected && !past_valid_until {
            self.choose_payment(actions);
        }
        if self.paying.is_some() {
            if self.channel.is_none() {
                self.open(actions);
            } else {
                self.forward_payment(actions);
            }
        }
    }

    /// Picks the first group that can pay (MPP: sum ≥ `payment_size_msat`; no-MPP: the held
    /// HTLC), failing with `unknown_next_peer` the groups that cannot pay the fee.
    fn choose_payment(&mut self, actions: &mut Vec<JitAction>) {
        let params = self.terms.opening_fee_params.clone();
        let htlc_min = self.config.htlc_minimum_msat;
        for hash in self.held_hashes() {
            let group: Vec<(InterceptId, Msat)> = self
                .held_of(&hash)
                .map(|r| (r.part.id, r.part.expected_outbound_msat))
                .collect();
            let total = group
                .iter()
                .fold(0u64, |s, (_, a)| s.saturating_add(a.get()));
            let fee: Result<Msat, FeeOverflow> = match self.terms.payment_size_msat {
                Some(size) => {
                    if total < size.get() {
                        continue; // still collecting
                    }
                    params.opening_fee(size)
                }
                None => {
                    let amount = Msat(total);
                    if !params.accepts_payment_size(amount) {
                        let ids = group.iter().map(|(id, _)| *id).collect();
                        self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                        continue;
                    }
                    params.opening_fee(amount)
                }
            };
            let Ok(fee) = fee else {
                let ids = group.iter().map(|(id, _)| *id).collect();
                self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                continue;
            };
            let due = Msat(fee.get().saturating_sub(self.deducted_outstanding()));
            if spread_fee(&group, due, htlc_min).is_none() {
                let ids = group.iter().map(|(id, _)| *id).collect();
                self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
                continue;
            }
            self.paying = Some(Paying {
                payment_hash: hash,
                opening_fee_msat: fee,
            });
            return;
        }
    }

    fn open(&mut self, actions: &mut Vec<JitAction>) {
        let Some(p) = self.paying.clone() else {
            return;
        };
        if self.funded {
            return; // never a second channel
        }
        let total = self.held_of(&p.payment_hash).fold(0u64, |s, r| {
            s.saturating_add(r.part.expected_outbound_msat.get())
        });
        let size = self
            .terms
            .payment_size_msat
            .map_or(total, |s| s.get().max(total));
        let forward_msat = size.saturating_sub(p.opening_fee_msat.get());
        let Some(capacity_sat) = capacity_for(forward_msat, &self.config) else {
            let ids = self.held_of(&p.payment_hash).map(|r| r.part.id).collect();
            self.paying = None;
            self.fail(ids, HtlcFailure::UnknownNextPeer, actions);
            return;
        };
        self.open_attempts = self.open_attempts.saturating_add(1);
        self.channel = Some(ChannelProgress {
            attempt: self.open_attempts,
            channel_id: None,
            ready: false,
            broadcast_safe: false,
            broadcast_requested: false,
        });
        let params = &self.terms.opening_fee_params;
        actions.push(JitAction::OpenChannel(OpenChannel {
            client: self.terms.client,
            attempt: self.open_attempts,
            capacity_sat: Sat(capacity_sat),
            forward_msat: Msat(forward_msat),
            zero_conf: true,
            announce: false,
            scid_alias: true,
            min_lifetime: params.min_lifetime,
            max_client_to_self_delay: params.max_client_to_self_delay,
            client_trusts_lsp: self.terms.client_trusts_lsp,
        }));
    }

    /// Forwards the paying group's held parts with what is still due of the fee deducted.
    fn forward_payment(&mut self, actions: &mut Vec<JitAction>) {
        let (Some(p), Some(channel_id)) = (self.paying.clone(), self.channel_ready_id()) else {
            return;
        };
        if !self.client_connected || self.forwarding_paused {
            return;
        }
        let group: Vec<(InterceptId, Msat)> = self
            .held_of(&p.payment_hash)
            .map(|r| (r.part.id, r.part.expected_outbound_msat))
            .collect();
        if group.is_empty() {
            return;
        }
        // Still enough for the payment? Parts may have been lost while the channel opened.
        let forwarded: u64 = self
            .parts
            .iter()
            .filter(|r| r.part.payment_hash == p.payment_hash)
            .map(|r| match r.status {
                PartStatus::Forwarded {
                    amount_msat,
                    extra_fee_msat,
                } => amount_msat.get().saturating_add(extra_fee_msat.get()),
                _ => 0,
            })
            .fold(0, u64::saturating_add);
        let held: u64 = group.iter().fold(0, |s, (_, a)| s.saturating_add(a.get()));
        let enough = match self.terms.payment_size_msat {
            Some(size) => forwarded.saturating_add(held) >= size.get(),
            None => true,
        };
        let due = Msat(
            p.opening_fee_msat
                .get()
                .saturating_sub(self.deducted_outstanding()),
        );
        let spread = if enough {
            spread_fee(&group, due, self.config.htlc_minimum_msat)
        } else {
            None
        };
        let Some(forwards) = spread else {
            if self.outstanding_forwards() == 0 {
                // Wait for a new payment over this channel; the hold timeout applies again.
                self.paying = None;
            }
            return;
        };
        self.record_forwards(channel_id, forwards, actions);
    }

    fn record_forwards(
        &mut self,
        channel_id: ChannelId,
        forwards: Vec<Forward>,
        actions: &mut Vec<JitAction>,
    ) {
        if forwards.is_empty() {
            return;
        }
        for f in &forwards {
            if let Some(i) = self.find(&f.id) {
                self.parts[i].status = PartStatus::Forwarded {
                    amount_msat: f.amount_msat,
                    extra_fee_msat: f.extra_fee_msat,
                };
            }
        }
        actions.push(JitAction::ForwardParts {
            channel_id,
            parts: forwards,
        });
    }

    /// After the claim: held parts go through whole while the SCID is an alias.
    fn forward_as_alias(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        let Some(channel_id) = self.channel_ready_id() else {
            return;
        };
        if !self.client_connected || self.forwarding_paused || now >= self.valid_until() {
            return;
        }
        let forwards: Vec<Forward> = self
            .parts
            .iter()
            .filter(|r| r.status == PartStatus::Held)
            .map(|r| Forward {
                id: r.part.id,
                amount_msat: r.part.expected_outbound_msat,
                extra_fee_msat: Msat(0),
            })
            .collect();
        self.record_forwards(channel_id, forwards, actions);
    }

    fn broadcast_if_due(&mut self, actions: &mut Vec<JitAction>) {
        if !self.terms.client_trusts_lsp || !self.client_claimed {
            return;
        }
        if let Some(c) = &mut self.channel
            && c.broadcast_safe
            && !c.broadcast_requested
            && let Some(channel_id) = c.channel_id
        {
            c.broadcast_requested = true;
            actions.push(JitAction::BroadcastFunding { channel_id });
        }
    }

    fn release_scid_if_due(&mut self, now: Datetime, actions: &mut Vec<JitAction>) {
        if !self.scid_released && now >= self.valid_until() {
            self.scid_released = true;
            actions.push(JitAction::ReleaseScid);
        }
    }

    fn derive_state(&self) -> JitState {
        if self.client_claimed {
            return JitState::Done;
        }
        if matches!(self.state, JitState::Expired | JitState::Failed) {
            return self.state;
        }
        let held = self.parts.iter().any(|r| r.status == PartStatus::Held);
        match &self.channel {
            Some(c) if !c.ready => JitState::Opening,
            Some(_) if self.outstanding_forwards() > 0 || self.paying.is_some() => {
                JitState::Forwarding
            }
            _ if held => JitState::Collecting,
            _ => JitState::Bought,
        }
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

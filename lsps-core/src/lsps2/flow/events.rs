//! What a JIT flow is told and what it answers: the LSP's settings, the sold terms, the
//! node's events, the actions, and the record kept of each part.

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, InterceptId, PaymentHash};
use crate::lsps2::OpeningFeeParams;
use crate::types::{Datetime, Msat, NodeId, Sat, Scid};

/// bLIP-52's "SHOULD hold parts for ≥ 90 s from the first part" (BOLT4's 60 s plus 30 s).
pub const DEFAULT_HOLD_TIMEOUT_MS: u64 = 90_000;

/// The reserve the client's node is expected to demand of the LSP: 1 % of the capacity, at
/// least this many sat (LDK's and BOLT2's usual floor).
pub const MIN_CLIENT_RESERVE_SAT: u64 = 1_000;

/// The LSP's settings for JIT flows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitConfig {
    /// How long an MPP group (or a no-MPP HTLC waiting for the client) is held before it is
    /// failed with `temporary_channel_failure`. Default [`DEFAULT_HOLD_TIMEOUT_MS`].
    pub hold_timeout_ms: u64,
    /// The smallest HTLC the client's side of the new channel accepts; every forwarded part
    /// keeps at least this much.
    pub htlc_minimum_msat: Msat,
    /// The most parts one flow takes in (all payment hashes, the whole flow); more are failed
    /// with `unknown_next_peer`.
    pub max_parts: u16,
    /// The smallest channel the LSP opens.
    pub min_channel_sat: Sat,
    /// Capacity added on top of payment + reserve, for the commitment fee and anchors the
    /// funder pays.
    pub channel_headroom_sat: Sat,
}

impl Default for JitConfig {
    fn default() -> Self {
        Self {
            hold_timeout_ms: DEFAULT_HOLD_TIMEOUT_MS,
            htlc_minimum_msat: Msat(1),
            max_parts: 64,
            min_channel_sat: Sat(20_000),
            channel_headroom_sat: Sat(10_000),
        }
    }
}

/// What the client bought: the `lsps2.buy` request and result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JitTerms {
    /// The SCID this flow serves.
    pub jit_channel_scid: Scid,
    /// The client (the channel's counterparty).
    pub client: NodeId,
    /// The menu entry the client bought with.
    pub opening_fee_params: OpeningFeeParams,
    /// Present: MPP+fixed-invoice mode. Absent: no-MPP+var-invoice mode.
    pub payment_size_msat: Option<Msat>,
    /// The trust model announced in the `buy` result.
    pub client_trusts_lsp: bool,
}

/// One HTLC the node intercepted on the JIT SCID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HtlcPart {
    /// The node's handle on the held HTLC.
    pub id: InterceptId,
    /// Groups the parts of one payment.
    pub payment_hash: PaymentHash,
    /// What arrived from the payer's side.
    pub inbound_msat: Msat,
    /// What the onion asks the LSP to deliver to the client (`amt_to_forward`).
    pub expected_outbound_msat: Msat,
    /// The incoming HTLC's CLTV expiry (block height), when the node reports it (LDK 0.2.7's
    /// `HTLCIntercepted` does not); kept for the operator view.
    pub cltv_expiry: Option<u32>,
}

/// Something the node saw that concerns this flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum JitEvent {
    /// An HTLC to `jit_channel_scid` was intercepted and is held.
    HtlcArrived(HtlcPart),
    /// Time passed: check the hold timeout and `valid_until`.
    Timer,
    /// The client (re)connected.
    ClientConnected,
    /// The client disconnected. An open in flight is ended by
    /// [`JitEvent::DisconnectedBeforeFunding`], not by this.
    ClientDisconnected,
    /// The node dropped the unfunded channel of `attempt` because the client disconnected
    /// before `funding_signed` (LDK: the channel closes for a disconnected peer before any
    /// "channel pending"). Deliver it in the node's event order, so that it can never
    /// overtake a `funding_signed` of the same attempt.
    DisconnectedBeforeFunding {
        /// The attempt.
        attempt: u32,
    },
    /// The client answered the open with a BOLT `error` (before `funding_signed`).
    ClientRejectedChannel {
        /// The attempt it rejected.
        attempt: u32,
    },
    /// The LSP could not make the open (for example the wallet could not fund it).
    OpenFailed {
        /// The attempt that failed.
        attempt: u32,
    },
    /// `funding_signed` arrived: the channel exists with this id.
    FundingSigned {
        /// The attempt it belongs to.
        attempt: u32,
        /// The channel's id.
        channel_id: ChannelId,
    },
    /// Manual-broadcast model: the node says the funding transaction may now be broadcast.
    FundingBroadcastSafe {
        /// The channel.
        channel_id: ChannelId,
    },
    /// `channel_ready` was exchanged.
    ChannelReady {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The node refused to forward a part this flow asked it to forward; the HTLC is still
    /// held. It is offered again once the client reconnects or the channel is ready again.
    ForwardRefused {
        /// The part.
        id: InterceptId,
    },
    /// The node failed a part back by itself: a held part nearing its expiry, or a forwarded
    /// part the client failed.
    PartFailed {
        /// The part.
        id: InterceptId,
    },
    /// A forward over this flow's channel failed at the client, and the node does not say
    /// which part (LDK's `HTLCHandlingFailed` names no HTLC): every outstanding forward is
    /// taken as failed. Clients fail a payment's parts together, so this is what a payment
    /// failed at the client looks like; repeats change nothing.
    ForwardsFailed {
        /// The channel.
        channel_id: ChannelId,
    },
    /// The client claimed a forwarded part (the node's "payment forwarded" on this channel).
    ClientClaimed {
        /// The channel it was claimed on.
        channel_id: ChannelId,
    },
}

/// Which BOLT4 failure a part is failed back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HtlcFailure {
    /// `PERM|10` (0x400a): the flow is over or the payment cannot be taken.
    UnknownNextPeer,
    /// `UPDATE|7` (0x1007): try again later (hold timeout, client gone before
    /// `funding_signed`).
    TemporaryChannelFailure,
}

impl HtlcFailure {
    /// The BOLT4 failure code.
    pub const fn code(self) -> u16 {
        match self {
            HtlcFailure::UnknownNextPeer => 0x400a,
            HtlcFailure::TemporaryChannelFailure => 0x1007,
        }
    }
}

/// The channel to open.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenChannel {
    /// The counterparty.
    pub client: NodeId,
    /// 1 for the first open of this flow, counting up; events name it back.
    pub attempt: u32,
    /// Channel capacity.
    pub capacity_sat: Sat,
    /// What the channel must be able to carry to the client: the group minus the fee.
    pub forward_msat: Msat,
    /// Always true: bLIP-52's JIT channel is used before it confirms.
    pub zero_conf: bool,
    /// Always false (`announce_channel = false`).
    pub announce: bool,
    /// Always true (`option_scid_alias`).
    pub scid_alias: bool,
    /// Blocks after confirmation before the LSP may close it.
    pub min_lifetime: u32,
    /// Refuse a client `to_self_delay` above this.
    pub max_client_to_self_delay: u32,
    /// True: hold the funding broadcast for [`JitAction::BroadcastFunding`].
    pub client_trusts_lsp: bool,
}

/// One part to forward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forward {
    /// The part.
    pub id: InterceptId,
    /// What to send to the client: `expected_outbound_msat − extra_fee_msat`.
    pub amount_msat: Msat,
    /// The deduction (the `extra_fee` TLV; 0 = no TLV).
    pub extra_fee_msat: Msat,
}

/// What the server does next, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum JitAction {
    /// Store the flow value now, before performing the actions after this one.
    Persist,
    /// Open the channel to the client.
    OpenChannel(OpenChannel),
    /// Forward these parts over the channel.
    ForwardParts {
        /// The JIT channel.
        channel_id: ChannelId,
        /// The parts, in arrival order.
        parts: Vec<Forward>,
    },
    /// Fail these parts back.
    FailParts {
        /// The parts, in arrival order.
        parts: Vec<InterceptId>,
        /// With this failure.
        failure: HtlcFailure,
    },
    /// Broadcast the funding transaction (`client_trusts_lsp = true` only).
    BroadcastFunding {
        /// The channel.
        channel_id: ChannelId,
    },
    /// `valid_until` has passed and the flow is over: the SCID need no longer be intercepted.
    ReleaseScid,
}

/// What became of a part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum PartStatus {
    /// Held by the node, undecided.
    Held,
    /// Forwarded; outstanding or claimed.
    Forwarded {
        /// Sent to the client.
        amount_msat: Msat,
        /// Deducted.
        extra_fee_msat: Msat,
    },
    /// Forwarded, then failed by the client (the deduction was not taken).
    ForwardFailed {
        /// What had been sent.
        amount_msat: Msat,
        /// What had been deducted.
        extra_fee_msat: Msat,
    },
    /// Failed back by this flow.
    Failed {
        /// With this failure.
        failure: HtlcFailure,
    },
    /// Failed back by the node while held (near its expiry).
    DroppedByNode,
}

/// A part and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// The part as it arrived.
    pub part: HtlcPart,
    /// When it arrived.
    pub arrived_at: Datetime,
    /// What became of it.
    pub status: PartStatus,
}

//! The coarse state of one JIT flow, per `jit_channel_scid` (bLIP-52), as an operator and the
//! store see it. The flow itself, with its parts, channel and fee, is [`super::JitFlow`]; this
//! is its [`super::JitFlow::state`] projection.

use serde::{Deserialize, Serialize};

/// Where a JIT flow stands after a successful `lsps2.buy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JitState {
    /// Bought: no HTLC to `jit_channel_scid` is held.
    Bought,
    /// HTLC parts are held, waiting for `payment_size_msat` (MPP), for the client to connect,
    /// or (after an earlier attempt's parts failed downstream) for a new payment.
    Collecting,
    /// The channel open is in flight: requested, or `funding_signed` received but not yet
    /// `channel_ready`.
    Opening,
    /// The channel is ready and the parts were forwarded minus the fee; waiting for the
    /// client to claim.
    Forwarding,
    /// The client claimed at least one part: the fee is taken. Until `valid_until` the SCID
    /// stays an alias of the channel (later HTLCs are forwarded without a fee).
    Done,
    /// `valid_until` passed without a channel paid for; HTLCs to the SCID get
    /// `unknown_next_peer` (final).
    Expired,
    /// The open was refused (by the client, or it could not be made); the payment was failed
    /// with `unknown_next_peer` and later HTLCs are too (final).
    Failed,
}

impl JitState {
    /// The stored and logged name.
    pub const fn name(self) -> &'static str {
        match self {
            JitState::Bought => "BOUGHT",
            JitState::Collecting => "COLLECTING",
            JitState::Opening => "OPENING",
            JitState::Forwarding => "FORWARDING",
            JitState::Done => "DONE",
            JitState::Expired => "EXPIRED",
            JitState::Failed => "FAILED",
        }
    }

    /// True for `Done`, `Expired` and `Failed`: the flow will not open or charge again.
    pub const fn is_final(self) -> bool {
        matches!(self, JitState::Done | JitState::Expired | JitState::Failed)
    }

    /// True if one [`super::JitFlow::handle`] call may move the flow from `self` to `next`
    /// (or leave it where it is). The flow's tests hold every observed move to this table.
    pub const fn may_become(self, next: JitState) -> bool {
        use JitState as S;
        if self as u8 == next as u8 {
            return true;
        }
        match self {
            // A part may arrive, reach the threshold and start the open in one call; with a
            // channel already ready (after an earlier attempt failed downstream) it may be
            // forwarded at once.
            S::Bought | S::Collecting => matches!(
                next,
                S::Bought | S::Collecting | S::Opening | S::Forwarding | S::Expired
            ),
            // Disconnect before `funding_signed` (back to waiting, or expired if `valid_until`
            // has passed meanwhile), rejection (final), `channel_ready` (forward, or wait for
            // parts if some were lost meanwhile).
            S::Opening => matches!(
                next,
                S::Bought | S::Collecting | S::Forwarding | S::Expired | S::Failed
            ),
            // The client claims, or every forwarded part fails downstream (wait again, or
            // expire if `valid_until` has passed).
            S::Forwarding => matches!(next, S::Bought | S::Collecting | S::Done | S::Expired),
            S::Done | S::Expired | S::Failed => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [JitState; 7] = [
        JitState::Bought,
        JitState::Collecting,
        JitState::Opening,
        JitState::Forwarding,
        JitState::Done,
        JitState::Expired,
        JitState::Failed,
    ];

    #[test]
    fn finals_stay_and_nothing_skips_the_open() {
        for s in ALL {
            assert!(s.may_become(s));
            if s.is_final() {
                assert!(ALL.iter().all(|&n| n == s || !s.may_become(n)), "{s:?}");
            }
        }
        // No flow is done without having forwarded, nor forwards without a channel decision.
        assert!(!JitState::Bought.may_become(JitState::Done));
        assert!(!JitState::Opening.may_become(JitState::Done));
        assert!(!JitState::Forwarding.may_become(JitState::Opening));
        assert!(!JitState::Bought.may_become(JitState::Failed));
        assert_eq!(
            serde_json::to_string(&JitState::Collecting).ok().as_deref(),
            Some("\"COLLECTING\"")
        );
    }
}

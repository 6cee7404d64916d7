//! The LSP's view of one JIT channel flow, per `jit_channel_scid` (bLIP-52; spec-catalog §4.9).

pub use crate::lsps1::IllegalTransition;

/// State of a JIT flow after a successful `lsps2.buy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JitState {
    /// Bought: waiting for HTLCs to `jit_channel_scid`.
    Bought,
    /// HTLC parts are arriving and held (MPP mode) until they reach `payment_size_msat`.
    Collecting,
    /// Opening the channel to the client.
    Opening,
    /// `funding_signed` received and `channel_ready` sent: forwarding the parts minus the fee.
    Forwarding,
    /// The client claimed at least one part: the flow is complete (final).
    Done,
    /// `valid_until` passed before the channel was opened; HTLCs to the SCID get
    /// `unknown_next_peer` (final).
    Expired,
    /// The client rejected the channel open; the payment was failed with
    /// `unknown_next_peer` (final).
    Failed,
}

/// Something that happens during a JIT flow. Preconditions named in the event (such as
/// "now < valid_until") are the caller's to check; the machine only orders events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitEvent {
    /// An HTLC to `jit_channel_scid` arrived (and is held).
    HtlcArrived,
    /// Held parts reached `payment_size_msat` (MPP) or the single HTLC covers the fee
    /// (no-MPP), before `valid_until`, with the client connected: start the open.
    ReadyToOpen,
    /// The held parts were failed back (MPP hold timeout with `temporary_channel_failure`, or
    /// a no-MPP HTLC that cannot pay the fee, with `unknown_next_peer`): wait again.
    PartsFailedBack,
    /// `valid_until` passed before opening (pending parts get `unknown_next_peer`).
    ValidUntilPassed,
    /// The client rejected the open with a BOLT `error` (parts get `unknown_next_peer`).
    ClientRejectedOpen,
    /// The client disconnected before `funding_signed` (parts get
    /// `temporary_channel_failure`): wait for payment again.
    ClientDisconnected,
    /// The LSP errored the channel before broadcast (for example to rebuild a batch); it
    /// MUST re-initiate the open.
    LspReopened,
    /// `funding_signed` received; `channel_ready` sent (broadcast per `client_trusts_lsp`).
    FundingSigned,
    /// The client claimed at least one forwarded part.
    ClientClaimed,
}

impl JitState {
    /// A short name for error messages.
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

    /// True for `Done`, `Expired` and `Failed`.
    pub const fn is_final(self) -> bool {
        matches!(self, JitState::Done | JitState::Expired | JitState::Failed)
    }

    /// Applies `event`, or says why it cannot happen in this state.
    pub fn transition(self, event: JitEvent) -> Result<JitState, IllegalTransition> {
        use JitEvent as E;
        use JitState as S;
        let next = match (self, event) {
            (S::Bought | S::Collecting, E::HtlcArrived) => S::Collecting,
            (S::Collecting, E::ReadyToOpen) => S::Opening,
            (S::Collecting, E::PartsFailedBack) => S::Bought,
            (S::Bought | S::Collecting, E::ValidUntilPassed) => S::Expired,
            (S::Opening, E::ClientRejectedOpen) => S::Failed,
            (S::Opening, E::ClientDisconnected) => S::Bought,
            (S::Opening, E::LspReopened) => S::Opening,
            (S::Opening, E::FundingSigned) => S::Forwarding,
            (S::Forwarding, E::ClientClaimed) => S::Done,
            _ => {
                return Err(IllegalTransition {
                    from: self.name(),
                    event: event.name(),
                });
            }
        };
        Ok(next)
    }
}

impl JitEvent {
    /// A short name for error messages.
    pub const fn name(self) -> &'static str {
        match self {
            JitEvent::HtlcArrived => "HTLC arrived",
            JitEvent::ReadyToOpen => "ready to open",
            JitEvent::PartsFailedBack => "parts failed back",
            JitEvent::ValidUntilPassed => "valid_until passed",
            JitEvent::ClientRejectedOpen => "client rejected open",
            JitEvent::ClientDisconnected => "client disconnected",
            JitEvent::LspReopened => "LSP re-initiated open",
            JitEvent::FundingSigned => "funding_signed",
            JitEvent::ClientClaimed => "client claimed",
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn happy_path() {
        let mut s = JitState::Bought;
        for e in [
            JitEvent::HtlcArrived,
            JitEvent::HtlcArrived,
            JitEvent::ReadyToOpen,
            JitEvent::LspReopened,
            JitEvent::FundingSigned,
            JitEvent::ClientClaimed,
        ] {
            s = s.transition(e).unwrap();
        }
        assert_eq!(s, JitState::Done);
        assert!(s.is_final());
    }

    #[test]
    fn retries_and_terminals() {
        let s = JitState::Opening
            .transition(JitEvent::ClientDisconnected)
            .unwrap();
        assert_eq!(s, JitState::Bought);
        assert_eq!(
            JitState::Collecting.transition(JitEvent::PartsFailedBack),
            Ok(JitState::Bought)
        );
        assert_eq!(
            JitState::Collecting.transition(JitEvent::ValidUntilPassed),
            Ok(JitState::Expired)
        );
        assert_eq!(
            JitState::Opening.transition(JitEvent::ClientRejectedOpen),
            Ok(JitState::Failed)
        );
    }

    #[test]
    fn illegal_moves() {
        assert!(JitState::Bought.transition(JitEvent::ReadyToOpen).is_err());
        assert!(
            JitState::Bought
                .transition(JitEvent::FundingSigned)
                .is_err()
        );
        assert!(
            JitState::Opening
                .transition(JitEvent::ValidUntilPassed)
                .is_err()
        );
        assert!(
            JitState::Forwarding
                .transition(JitEvent::HtlcArrived)
                .is_err()
        );
        for s in [JitState::Done, JitState::Expired, JitState::Failed] {
            for e in [
                JitEvent::HtlcArrived,
                JitEvent::ClientClaimed,
                JitEvent::ValidUntilPassed,
            ] {
                assert!(s.transition(e).is_err(), "{s:?} {e:?}");
            }
        }
    }
}

//! LSPS1 order and payment state machines (bLIP-51; spec/README.md).

use super::{OrderState, PaymentState};

/// A move a state machine does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition: {event} in state {from}")]
pub struct IllegalTransition {
    /// The state the machine was in.
    pub from: &'static str,
    /// The event that cannot happen there.
    pub event: &'static str,
}

/// What happens to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The channel is open: funding published and `channel_ready` sent after
    /// `required_channel_confirmations` (`channel` becomes non-null).
    ChannelOpened,
    /// The order failed: the open failed, the client stayed away, the held HTLCs neared their
    /// deadline, or every option expired unpaid (the LSP fails back or refunds any payment).
    OrderFailed,
}

impl OrderState {
    /// The wire name (`CREATED`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            OrderState::Created => "CREATED",
            OrderState::Completed => "COMPLETED",
            OrderState::Failed => "FAILED",
        }
    }

    /// `CREATED → COMPLETED` when the channel is open, `CREATED → FAILED` when the order fails.
    /// `COMPLETED` and `FAILED` are final.
    pub fn transition(self, event: OrderEvent) -> Result<OrderState, IllegalTransition> {
        match (self, event) {
            (OrderState::Created, OrderEvent::ChannelOpened) => Ok(OrderState::Completed),
            (OrderState::Created, OrderEvent::OrderFailed) => Ok(OrderState::Failed),
            _ => Err(IllegalTransition {
                from: self.name(),
                event: event.name(),
            }),
        }
    }
}

impl OrderEvent {
    /// A short name for error messages.
    pub const fn name(self) -> &'static str {
        match self {
            OrderEvent::ChannelOpened => "channel opened",
            OrderEvent::OrderFailed => "order failed",
        }
    }
}

/// Which payment option a state belongs to: the Lightning options have `HOLD`, on-chain
/// does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentKind {
    /// `payment.bolt11`.
    Bolt11,
    /// `payment.bolt12`.
    Bolt12,
    /// `payment.onchain`.
    Onchain,
}

impl PaymentKind {
    /// True for bolt11 and bolt12.
    pub const fn is_lightning(self) -> bool {
        matches!(self, PaymentKind::Bolt11 | PaymentKind::Bolt12)
    }
}

/// What happens to one payment option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentEvent {
    /// Lightning: the HTLC(s) arrived and are held.
    HtlcHeld,
    /// Lightning: the channel opened and the preimage was released.
    PreimageReleased,
    /// Lightning: the held HTLC was failed back (open failed, option expired, HTLC near timeout).
    HtlcFailedBack,
    /// On-chain: the payment is confirmed per the confirmation rules.
    OnchainConfirmed,
    /// On-chain: the refund transaction was sent (order expired or open failed).
    RefundSent,
}

impl PaymentEvent {
    /// A short name for error messages.
    pub const fn name(self) -> &'static str {
        match self {
            PaymentEvent::HtlcHeld => "HTLC held",
            PaymentEvent::PreimageReleased => "preimage released",
            PaymentEvent::HtlcFailedBack => "HTLC failed back",
            PaymentEvent::OnchainConfirmed => "on-chain payment confirmed",
            PaymentEvent::RefundSent => "refund sent",
        }
    }
}

impl PaymentState {
    /// The wire name (`EXPECT_PAYMENT`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            PaymentState::ExpectPayment => "EXPECT_PAYMENT",
            PaymentState::Hold => "HOLD",
            PaymentState::Paid => "PAID",
            PaymentState::Refunded => "REFUNDED",
        }
    }

    /// True if this state may appear in an option of `kind` (on-chain has no `HOLD`).
    pub const fn allowed_for(self, kind: PaymentKind) -> bool {
        !matches!((self, kind), (PaymentState::Hold, PaymentKind::Onchain))
    }

    /// Moves one payment option. Lightning: `EXPECT_PAYMENT → HOLD → PAID`, `HOLD → REFUNDED`.
    /// On-chain: `EXPECT_PAYMENT → PAID → REFUNDED`. `REFUNDED` is final, and so is a
    /// Lightning `PAID`. An unpaid option that expires keeps `EXPECT_PAYMENT` (the spec
    /// defines no state for it; its `expires_at` tells).
    pub fn transition(
        self,
        kind: PaymentKind,
        event: PaymentEvent,
    ) -> Result<PaymentState, IllegalTransition> {
        use PaymentEvent as E;
        use PaymentState as S;
        let next = match (kind.is_lightning(), self, event) {
            (true, S::ExpectPayment, E::HtlcHeld) => Some(S::Hold),
            (true, S::Hold, E::PreimageReleased) => Some(S::Paid),
            (true, S::Hold, E::HtlcFailedBack) => Some(S::Refunded),
            (false, S::ExpectPayment, E::OnchainConfirmed) => Some(S::Paid),
            (false, S::Paid, E::RefundSent) => Some(S::Refunded),
            _ => None,
        };
        next.ok_or(IllegalTransition {
            from: self.name(),
            event: event.name(),
        })
    }
}

const ORDER_EVENTS: [OrderEvent; 2] = [OrderEvent::ChannelOpened, OrderEvent::OrderFailed];
const PAYMENT_EVENTS: [PaymentEvent; 5] = [
    PaymentEvent::HtlcHeld,
    PaymentEvent::PreimageReleased,
    PaymentEvent::HtlcFailedBack,
    PaymentEvent::OnchainConfirmed,
    PaymentEvent::RefundSent,
];

impl OrderState {
    /// True if a poller that saw `self` may later see `next`: the same state, or one reachable
    /// by legal transitions (polls can miss intermediate states).
    pub fn can_become(self, next: OrderState) -> bool {
        self == next || ORDER_EVENTS.iter().any(|&e| self.transition(e) == Ok(next))
    }
}

impl PaymentState {
    /// True if a poller that saw `self` on an option of `kind` may later see `next`: the same
    /// state, or one reachable by legal transitions (for example `EXPECT_PAYMENT` then `PAID`
    /// when `HOLD` was missed).
    pub fn can_become(self, kind: PaymentKind, next: PaymentState) -> bool {
        let mut frontier = vec![self];
        let mut seen = vec![self];
        while let Some(s) = frontier.pop() {
            if s == next {
                return true;
            }
            for e in PAYMENT_EVENTS {
                if let Ok(n) = s.transition(kind, e)
                    && !seen.contains(&n)
                {
                    seen.push(n);
                    frontier.push(n);
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn observed_sequences() {
        use PaymentState as S;
        let ln = PaymentKind::Bolt11;
        assert!(S::ExpectPayment.can_become(ln, S::Paid));
        assert!(S::ExpectPayment.can_become(ln, S::Refunded));
        assert!(S::Hold.can_become(ln, S::Hold));
        assert!(!S::Paid.can_become(ln, S::Refunded));
        assert!(!S::Hold.can_become(ln, S::ExpectPayment));
        let oc = PaymentKind::Onchain;
        assert!(S::ExpectPayment.can_become(oc, S::Refunded));
        assert!(!S::ExpectPayment.can_become(oc, S::Hold));
        assert!(!S::Refunded.can_become(oc, S::Paid));
        assert!(OrderState::Created.can_become(OrderState::Completed));
        assert!(!OrderState::Completed.can_become(OrderState::Failed));
        assert!(!OrderState::Failed.can_become(OrderState::Created));
    }

    #[test]
    fn order_transitions() {
        assert_eq!(
            OrderState::Created.transition(OrderEvent::ChannelOpened),
            Ok(OrderState::Completed)
        );
        assert_eq!(
            OrderState::Created.transition(OrderEvent::OrderFailed),
            Ok(OrderState::Failed)
        );
        assert!(
            OrderState::Completed
                .transition(OrderEvent::OrderFailed)
                .is_err()
        );
        assert!(
            OrderState::Failed
                .transition(OrderEvent::ChannelOpened)
                .is_err()
        );
    }

    #[test]
    fn lightning_payment_transitions() {
        for kind in [PaymentKind::Bolt11, PaymentKind::Bolt12] {
            let s = PaymentState::ExpectPayment
                .transition(kind, PaymentEvent::HtlcHeld)
                .unwrap();
            assert_eq!(s, PaymentState::Hold);
            assert_eq!(
                s.transition(kind, PaymentEvent::PreimageReleased),
                Ok(PaymentState::Paid)
            );
            assert_eq!(
                s.transition(kind, PaymentEvent::HtlcFailedBack),
                Ok(PaymentState::Refunded)
            );
            assert!(
                PaymentState::ExpectPayment
                    .transition(kind, PaymentEvent::PreimageReleased)
                    .is_err()
            );
            assert!(
                PaymentState::Paid
                    .transition(kind, PaymentEvent::HtlcFailedBack)
                    .is_err()
            );
            assert!(
                PaymentState::ExpectPayment
                    .transition(kind, PaymentEvent::OnchainConfirmed)
                    .is_err()
            );
        }
    }

    #[test]
    fn onchain_payment_transitions() {
        let k = PaymentKind::Onchain;
        let paid = PaymentState::ExpectPayment.transition(k, PaymentEvent::OnchainConfirmed);
        assert_eq!(paid, Ok(PaymentState::Paid));
        assert_eq!(
            PaymentState::Paid.transition(k, PaymentEvent::RefundSent),
            Ok(PaymentState::Refunded)
        );
        let err = PaymentState::ExpectPayment
            .transition(k, PaymentEvent::HtlcHeld)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "illegal transition: HTLC held in state EXPECT_PAYMENT"
        );
        assert!(!PaymentState::Hold.allowed_for(k));
        assert!(
            PaymentState::Refunded
                .transition(k, PaymentEvent::RefundSent)
                .is_err()
        );
    }
}

//! Outbound payments of a node, as the payer sees them: what LDK's `PaymentSent`,
//! `PaymentPathFailed` and `PaymentFailed` events said about each payment id, kept until the
//! caller that started the payment collects it.
//!
//! LDK 0.2.7 does not show a payer the BOLT4 failure code (the `error_code` field of
//! `PaymentPathFailed` exists only in LDK's own test builds). What it does show is the
//! network update it derived from the code: a permanent channel failure at the failing hop's
//! SCID for `unknown_next_peer` (PERM|10), a temporary one for `temporary_channel_failure`
//! (UPDATE|7). [`PathFailureSeen`] keeps exactly that, so a test or the conformance runner can
//! tell the two apart.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use lightning::events::{Event, PathFailure, PaymentFailureReason};
use lightning::routing::gossip::NetworkUpdate;
use lightning::types::payment::{PaymentHash, PaymentPreimage};

pub use lightning::ln::channelmanager::PaymentId;

/// At most this many finished payments wait to be collected; the oldest is dropped first (a
/// caller that gave up waiting never collects its outcome).
const MAX_UNCOLLECTED: usize = 1024;
/// At most this many path failures are remembered per payment.
const MAX_PATH_FAILURES: usize = 32;

/// How a payment ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// The payee released the preimage.
    Paid {
        /// The payment hash.
        payment_hash: PaymentHash,
        /// The preimage the payee released.
        preimage: PaymentPreimage,
        /// What the payee received plus fees, as LDK reports it.
        amount_msat: Option<u64>,
        /// Routing fees paid.
        fee_paid_msat: Option<u64>,
        /// Paths that failed before the payment succeeded (retries).
        path_failures: Vec<PathFailureSeen>,
    },
    /// LDK gave up on the payment.
    Failed {
        /// The payment hash, when LDK knew it.
        payment_hash: Option<PaymentHash>,
        /// LDK's reason.
        reason: Option<PaymentFailureReason>,
        /// What each failed path reported.
        path_failures: Vec<PathFailureSeen>,
    },
}

impl PaymentOutcome {
    /// The path failures seen, whatever the outcome.
    pub fn path_failures(&self) -> &[PathFailureSeen] {
        match self {
            Self::Paid { path_failures, .. } | Self::Failed { path_failures, .. } => path_failures,
        }
    }
}

/// One failed path, as the payer saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFailureSeen {
    /// The SCID LDK blamed (the hop after the failing node), if any.
    pub short_channel_id: Option<u64>,
    /// LDK's judgement that retrying cannot succeed (the payee or the last hop refused for
    /// good).
    pub payment_failed_permanently: bool,
    /// What the failure said about the network.
    pub update: Option<FailureUpdate>,
    /// The failure happened when sending, before the HTLC left this node.
    pub initial_send: bool,
}

/// The network update LDK derived from a failure's code (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureUpdate {
    /// A channel failed: `permanent` for PERM codes (`unknown_next_peer`), temporary for
    /// UPDATE/temporary codes (`temporary_channel_failure`).
    Channel {
        /// The failing channel.
        short_channel_id: u64,
        /// A PERM failure code.
        permanent: bool,
    },
    /// A node failed.
    Node {
        /// A PERM failure code.
        permanent: bool,
    },
}

#[derive(Default)]
struct Tracked {
    failures: HashMap<PaymentId, Vec<PathFailureSeen>>,
    finished: HashMap<PaymentId, PaymentOutcome>,
    order: VecDeque<PaymentId>,
}

/// The outcomes of a node's outbound payments (see the module docs).
#[derive(Default)]
pub struct PaymentTracker {
    tracked: Mutex<Tracked>,
}

impl PaymentTracker {
    /// Record what `event` says about an outbound payment; returns true if it was one.
    pub fn observe(&self, event: &Event) -> bool {
        let Ok(mut tracked) = self.tracked.lock() else {
            return false;
        };
        match event {
            Event::PaymentPathFailed {
                payment_id: Some(payment_id),
                payment_failed_permanently,
                failure,
                short_channel_id,
                ..
            } => {
                let seen = PathFailureSeen {
                    short_channel_id: *short_channel_id,
                    payment_failed_permanently: *payment_failed_permanently,
                    update: match failure {
                        PathFailure::OnPath {
                            network_update: Some(update),
                        } => Some(match update {
                            NetworkUpdate::ChannelFailure {
                                short_channel_id,
                                is_permanent,
                            } => FailureUpdate::Channel {
                                short_channel_id: *short_channel_id,
                                permanent: *is_permanent,
                            },
                            NetworkUpdate::NodeFailure { is_permanent, .. } => {
                                FailureUpdate::Node {
                                    permanent: *is_permanent,
                                }
                            }
                        }),
                        _ => None,
                    },
                    initial_send: matches!(failure, PathFailure::InitialSend { .. }),
                };
                let list = tracked.failures.entry(*payment_id).or_default();
                if list.len() < MAX_PATH_FAILURES {
                    list.push(seen);
                }
                true
            }
            Event::PaymentSent {
                payment_id: Some(payment_id),
                payment_preimage,
                payment_hash,
                amount_msat,
                fee_paid_msat,
                ..
            } => {
                let path_failures = tracked.failures.remove(payment_id).unwrap_or_default();
                let outcome = PaymentOutcome::Paid {
                    payment_hash: *payment_hash,
                    preimage: *payment_preimage,
                    amount_msat: *amount_msat,
                    fee_paid_msat: *fee_paid_msat,
                    path_failures,
                };
                tracked.finish(*payment_id, outcome);
                true
            }
            Event::PaymentFailed {
                payment_id,
                payment_hash,
                reason,
            } => {
                let path_failures = tracked.failures.remove(payment_id).unwrap_or_default();
                let outcome = PaymentOutcome::Failed {
                    payment_hash: *payment_hash,
                    reason: *reason,
                    path_failures,
                };
                tracked.finish(*payment_id, outcome);
                true
            }
            _ => false,
        }
    }

    /// The outcome of `payment_id`, removed, once it is known.
    pub fn take(&self, payment_id: &PaymentId) -> Option<PaymentOutcome> {
        let mut tracked = self.tracked.lock().ok()?;
        let outcome = tracked.finished.remove(payment_id)?;
        tracked.order.retain(|id| id != payment_id);
        Some(outcome)
    }
}

impl Tracked {
    fn finish(&mut self, payment_id: PaymentId, outcome: PaymentOutcome) {
        if self.finished.insert(payment_id, outcome).is_none() {
            self.order.push_back(payment_id);
        }
        while self.order.len() > MAX_UNCOLLECTED {
            if let Some(oldest) = self.order.pop_front() {
                self.finished.remove(&oldest);
            }
        }
        // Failures of payments that never finish (abandoned before any event) stay bounded too.
        if self.failures.len() > MAX_UNCOLLECTED {
            self.failures.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sent(id: u8) -> Event {
        Event::PaymentSent {
            payment_id: Some(PaymentId([id; 32])),
            payment_preimage: PaymentPreimage([id; 32]),
            payment_hash: PaymentHash([id; 32]),
            amount_msat: Some(1000),
            fee_paid_msat: Some(0),
            bolt12_invoice: None,
        }
    }

    #[test]
    fn an_outcome_is_collected_once() {
        let tracker = PaymentTracker::default();
        assert!(tracker.observe(&sent(1)));
        assert!(matches!(
            tracker.take(&PaymentId([1; 32])),
            Some(PaymentOutcome::Paid { .. })
        ));
        assert_eq!(tracker.take(&PaymentId([1; 32])), None);
    }

    #[test]
    fn uncollected_outcomes_are_bounded() {
        let tracker = PaymentTracker::default();
        for i in 0..=MAX_UNCOLLECTED {
            let mut event = sent(0);
            if let Event::PaymentSent { payment_id, .. } = &mut event {
                let mut id = [0u8; 32];
                id[..8].copy_from_slice(&(i as u64).to_be_bytes());
                *payment_id = Some(PaymentId(id));
            }
            tracker.observe(&event);
        }
        // The first one was dropped, the last one kept.
        assert_eq!(tracker.take(&PaymentId([0; 32])), None);
        let mut last = [0u8; 32];
        last[..8].copy_from_slice(&(MAX_UNCOLLECTED as u64).to_be_bytes());
        assert!(tracker.take(&PaymentId(last)).is_some());
    }
}

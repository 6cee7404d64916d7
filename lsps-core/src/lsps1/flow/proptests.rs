#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Random event sequences against the order flow's invariants. The harness keeps its own
//! record of what the node did (from events and actions), so the checks do not trust the
//! flow's bookkeeping.

use proptest::collection::vec;
use proptest::prelude::*;

use super::tests::{CH, DEADLINE, EXPIRES_MS, at, outpoint, terms};
use super::*;

#[derive(Clone, Debug)]
enum Step {
    Held {
        bolt12: bool,
        short: bool,
    },
    NodeFailed {
        bolt12: bool,
    },
    Output {
        n: u8,
        amount: u8,
        confirmations: u8,
    },
    Block(u8),
    Advance(u8),
    Connect,
    Disconnect,
    Dropped,
    Reject,
    OpenFail,
    Published,
    Ready,
    Closed,
    RefundSent(u8),
    RefundConfirmed,
}

fn step() -> impl Strategy<Value = Step> {
    // Weighted toward the steps that move an order forward; the disruptive ones still come
    // up in most runs of 40 steps.
    prop_oneof![
        3 => (any::<bool>(), proptest::bool::weighted(0.1))
            .prop_map(|(bolt12, short)| Step::Held { bolt12, short }),
        1 => any::<bool>().prop_map(|bolt12| Step::NodeFailed { bolt12 }),
        3 => (0u8..3, 0u8..3, 0u8..8)
            .prop_map(|(n, amount, confirmations)| Step::Output { n, amount, confirmations }),
        1 => (0u8..4).prop_map(Step::Block),
        1 => (0u8..5).prop_map(Step::Advance),
        2 => Just(Step::Connect),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Dropped),
        1 => Just(Step::Reject),
        1 => Just(Step::OpenFail),
        5 => Just(Step::Published),
        5 => Just(Step::Ready),
        1 => Just(Step::Closed),
        2 => (0u8..3).prop_map(Step::RefundSent),
        1 => Just(Step::RefundConfirmed),
    ]
}

const OUTPUT_SAT: [u64; 3] = [50_000, 60_000, 110_000];
const ADVANCE_MS: [u64; 5] = [0, 1_000, 600_000, 3_600_000, REFUND_BUMP_AFTER_MS];
const HEIGHTS: [u32; 4] = [DEADLINE - 100, DEADLINE - 10, DEADLINE - 6, DEADLINE];

fn option(bolt12: bool) -> LightningOption {
    if bolt12 {
        LightningOption::Bolt12
    } else {
        LightningOption::Bolt11
    }
}

fn txid(b: u8) -> Txid {
    hex::encode([b + 1; 32]).parse().unwrap()
}

#[derive(Default)]
struct Harness {
    now: u64,
    /// Per option (bolt11, bolt12): HTLCs held by the node and not yet resolved.
    held: [bool; 2],
    claims: u32,
    last_attempt: u32,
    open_in_flight: bool,
    funding_published: bool,
    ready: bool,
    connected: bool,
    refunds: u32,
    refund_sent: Option<Txid>,
}

fn slot(o: LightningOption) -> usize {
    match o {
        LightningOption::Bolt11 => 0,
        LightningOption::Bolt12 => 1,
    }
}

impl Harness {
    fn concrete(&self, step: &Step) -> (OrderFlowEvent, u64) {
        let now = match step {
            Step::Advance(i) => self.now + ADVANCE_MS[usize::from(*i)],
            _ => self.now,
        };
        let event = match step {
            Step::Held { bolt12, short } => OrderFlowEvent::HtlcsHeld {
                option: option(*bolt12),
                amount_msat: 110_000_000 - u64::from(*short),
                claim_deadline: Some(DEADLINE),
            },
            Step::NodeFailed { bolt12 } => OrderFlowEvent::HtlcsFailedByNode {
                option: option(*bolt12),
            },
            Step::Output {
                n,
                amount,
                confirmations,
            } => OrderFlowEvent::OnchainOutput {
                outpoint: outpoint(u16::from(*n)),
                amount_sat: Sat(OUTPUT_SAT[usize::from(*amount)]),
                confirmations: u32::from(*confirmations),
                fee_rate: None,
            },
            Step::Block(i) => OrderFlowEvent::BestBlock {
                height: HEIGHTS[usize::from(*i)],
            },
            Step::Advance(_) => OrderFlowEvent::Timer,
            Step::Connect => OrderFlowEvent::ClientConnected,
            Step::Disconnect => OrderFlowEvent::ClientDisconnected,
            Step::Dropped => OrderFlowEvent::DisconnectedBeforeFunding {
                attempt: self.last_attempt,
            },
            Step::Reject => OrderFlowEvent::ClientRejectedChannel {
                attempt: self.last_attempt,
            },
            Step::OpenFail => OrderFlowEvent::OpenFailed {
                attempt: self.last_attempt,
            },
            Step::Published => OrderFlowEvent::FundingPublished {
                attempt: self.last_attempt,
                channel_id: CH,
                funding_outpoint: outpoint(99),
            },
            Step::Ready => OrderFlowEvent::ChannelReady { channel_id: CH },
            Step::Closed => OrderFlowEvent::ChannelClosed { channel_id: CH },
            Step::RefundSent(b) => OrderFlowEvent::RefundSent { txid: txid(*b) },
            Step::RefundConfirmed => OrderFlowEvent::RefundConfirmed {
                txid: self.refund_sent.unwrap_or(txid(0)),
            },
        };
        (event, now)
    }

    fn check(
        &mut self,
        before: &OrderFlow,
        after: &OrderFlow,
        event: &OrderFlowEvent,
        result: &Result<Vec<OrderFlowAction>, UnexpectedEvent>,
    ) -> Result<(), TestCaseError> {
        let actions = match result {
            Err(_) => {
                prop_assert_eq!(before, after, "an error must change nothing");
                return Ok(());
            }
            Ok(a) => a,
        };
        prop_assert!(before.order_state().can_become(after.order_state()));
        for kind in [
            PaymentKind::Bolt11,
            PaymentKind::Bolt12,
            PaymentKind::Onchain,
        ] {
            let (b, a) = (before.payment_state(kind), after.payment_state(kind));
            prop_assert!(
                b.zip(a).is_none_or(|(b, a)| b.can_become(kind, a)),
                "{:?}: {:?} -> {:?} on {:?}",
                kind,
                b,
                a,
                event
            );
        }
        let effects: Vec<&OrderFlowAction> = actions
            .iter()
            .filter(|a| **a != OrderFlowAction::Persist)
            .collect();
        if !effects.is_empty() && after != before {
            prop_assert_eq!(&actions[0], &OrderFlowAction::Persist);
        }

        match event {
            OrderFlowEvent::HtlcsHeld { option, .. } => self.held[slot(*option)] = true,
            OrderFlowEvent::HtlcsFailedByNode { option } => self.held[slot(*option)] = false,
            OrderFlowEvent::ClientConnected => self.connected = true,
            OrderFlowEvent::ClientDisconnected => self.connected = false,
            OrderFlowEvent::DisconnectedBeforeFunding { attempt }
                if *attempt == self.last_attempt
                    && self.open_in_flight
                    && !self.funding_published =>
            {
                self.connected = false;
                self.open_in_flight = false;
            }
            OrderFlowEvent::ClientRejectedChannel { attempt }
            | OrderFlowEvent::OpenFailed { attempt }
                if *attempt == self.last_attempt && !self.funding_published =>
            {
                self.open_in_flight = false;
            }
            OrderFlowEvent::FundingPublished { .. } => self.funding_published = true,
            OrderFlowEvent::ChannelReady { .. } => self.ready = true,
            OrderFlowEvent::RefundSent { txid } => self.refund_sent = Some(*txid),
            _ => {}
        }

        for action in effects {
            match action {
                OrderFlowAction::Persist => {}
                OrderFlowAction::OpenChannel(o) => {
                    prop_assert!(!self.open_in_flight, "a second open in flight");
                    prop_assert!(!self.funding_published, "an open after funding");
                    prop_assert!(self.connected, "an open to an absent client");
                    prop_assert_eq!(o.attempt, self.last_attempt + 1);
                    prop_assert_eq!(o.capacity_sat, Sat(1_100_000));
                    prop_assert_eq!(o.push_sat, Sat(100_000));
                    self.last_attempt = o.attempt;
                    self.open_in_flight = true;
                }
                OrderFlowAction::ClaimPayment { option } => {
                    prop_assert!(self.ready, "claim without channel_ready");
                    prop_assert!(self.held[slot(*option)], "claim of nothing held");
                    self.held[slot(*option)] = false;
                    self.claims += 1;
                    prop_assert!(self.claims <= 1);
                }
                OrderFlowAction::FailPaymentBack { option } => {
                    prop_assert!(self.held[slot(*option)], "fail back of nothing held");
                    self.held[slot(*option)] = false;
                }
                OrderFlowAction::RefundOnchain {
                    address,
                    amount_sat,
                } => {
                    self.refunds += 1;
                    prop_assert!(self.refunds <= 1, "a second refund");
                    prop_assert_eq!(address, &super::tests::refund_address());
                    prop_assert!(amount_sat.get() > 0);
                }
                OrderFlowAction::BumpRefund { txid } => {
                    prop_assert_eq!(Some(*txid), self.refund_sent);
                }
            }
        }

        // The order object's invariants.
        let order = after.order_state();
        prop_assert_eq!(order == OrderState::Completed, after.channel().is_some());
        for kind in [PaymentKind::Bolt11, PaymentKind::Bolt12] {
            if after.payment_state(kind) == Some(PaymentState::Paid) {
                prop_assert_eq!(order, OrderState::Completed);
            }
            if order == OrderState::Failed {
                prop_assert_ne!(after.payment_state(kind), Some(PaymentState::Hold));
            }
        }
        if order == OrderState::Completed {
            prop_assert!(self.ready);
        }
        if order == OrderState::Failed
            && after.payment_state(PaymentKind::Onchain) == Some(PaymentState::Paid)
        {
            prop_assert_eq!(self.refunds, 1, "failed with on-chain money and no refund");
        }
        Ok(())
    }
}

type Outcome = Result<Vec<OrderFlowAction>, UnexpectedEvent>;

struct Run {
    events: Vec<(OrderFlowEvent, u64)>,
    results: Vec<Outcome>,
    snapshots: Vec<String>,
    end: OrderFlow,
    harness: Harness,
}

fn run_checked(required: u16, steps: &[Step]) -> Result<Run, TestCaseError> {
    let mut f = OrderFlow::new(terms(required, 1), OrderFlowConfig::default());
    let mut h = Harness {
        connected: true,
        ..Harness::default()
    };
    let (mut events, mut results, mut snapshots) = (Vec::new(), Vec::new(), Vec::new());
    for s in steps {
        let (event, now) = h.concrete(s);
        snapshots.push(serde_json::to_string(&f).unwrap());
        let before = f.clone();
        h.now = now;
        let result = f.handle(event.clone(), at(now));
        h.check(&before, &f, &event, &result)?;
        events.push((event, now));
        results.push(result);
    }
    Ok(Run {
        events,
        results,
        snapshots,
        end: f,
        harness: h,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn order_flow_invariants(required in 0u16..3, steps in vec(step(), 0..40)) {
        let Run { end: mut f, harness: mut h, .. } = run_checked(required, &steps)?;
        // Past every limit and deadline: no HTLC stays held unless the order completed.
        for event in [OrderFlowEvent::BestBlock { height: DEADLINE }, OrderFlowEvent::Timer] {
            let before = f.clone();
            h.now = h.now.max(EXPIRES_MS) + 2 * REFUND_BUMP_AFTER_MS;
            let result = f.handle(event.clone(), at(h.now));
            h.check(&before, &f, &event, &result)?;
        }
        prop_assert!(h.held.iter().all(|held| !held), "HTLCs left held: {:?}", f);
        // Still CREATED only with an open the node has not finished (it reports a close or a
        // failure for those: LDK drops unfunded channels).
        if f.order_state() == OrderState::Created {
            prop_assert!(h.open_in_flight, "an order stuck in CREATED: {:?}", f);
        }
    }

    #[test]
    fn order_flow_replays_from_any_stored_prefix(
        required in 0u16..3,
        steps in vec(step(), 0..30),
    ) {
        let Run { events, results, snapshots, end, .. } = run_checked(required, &steps)?;
        for (k, snapshot) in snapshots.iter().enumerate() {
            let mut restored: OrderFlow = serde_json::from_str(snapshot).unwrap();
            for (i, (event, now)) in events.iter().enumerate().skip(k) {
                let again = restored.handle(event.clone(), at(*now));
                prop_assert_eq!(&again, &results[i], "step {} after restoring at {}", i, k);
            }
            prop_assert_eq!(&restored, &end);
        }
    }
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Random event sequences against the JIT flow's invariants. The harness keeps its own
//! record of what the node was told (from the actions alone), so the checks do not trust the
//! flow's bookkeeping.

use std::collections::BTreeMap;

use proptest::collection::vec;
use proptest::prelude::*;

use super::tests::{VALID_MS, at, flow, part};
use super::*;

/// An abstract step; the harness makes it concrete from what the flow has done so far.
#[derive(Clone, Debug)]
enum Step {
    Part {
        id: u8,
        hash: u8,
        amount: u8,
        short: bool,
    },
    Advance(u8),
    Connect,
    Disconnect,
    Dropped,
    Reject,
    OpenFail,
    Signed,
    BroadcastSafe,
    Ready,
    Refuse(u8),
    Failed(u8),
    AllFailed,
    Claim,
    StrangeChannel,
}

fn step() -> impl Strategy<Value = Step> {
    // Weighted toward the steps that move a flow forward, so that most sequences get past the
    // open; the disruptive ones still come up in most runs of 40 steps.
    prop_oneof![
        8 => (0u8..8, 0u8..2, 0u8..6, proptest::bool::weighted(0.1))
            .prop_map(|(id, hash, amount, short)| Step::Part { id, hash, amount, short }),
        2 => (0u8..5).prop_map(Step::Advance),
        2 => Just(Step::Connect),
        1 => Just(Step::Disconnect),
        1 => Just(Step::Dropped),
        1 => Just(Step::Reject),
        1 => Just(Step::OpenFail),
        5 => Just(Step::Signed),
        2 => Just(Step::BroadcastSafe),
        5 => Just(Step::Ready),
        1 => (0u8..8).prop_map(Step::Refuse),
        2 => (0u8..8).prop_map(Step::Failed),
        1 => Just(Step::AllFailed),
        4 => Just(Step::Claim),
        1 => Just(Step::StrangeChannel),
    ]
}

const AMOUNTS: [u64; 6] = [500, 10_000, 999_999, 1_000_000, 2_000_000, 5_000_000];
const ADVANCE_MS: [u64; 5] = [0, 1_000, 45_000, 91_000, 300_000];
const PAYMENT_SIZE: u64 = 3_000_000;
const HTLC_MIN: u64 = 1_000;

fn channel_of(attempt: u32) -> ChannelId {
    ChannelId([u8::try_from(attempt % 200).unwrap() + 1; 32])
}

fn config() -> JitConfig {
    JitConfig {
        htlc_minimum_msat: Msat(HTLC_MIN),
        ..JitConfig::default()
    }
}

fn new_flow(mpp: bool, trusts: bool) -> JitFlow {
    JitFlow::new(
        flow(mpp.then_some(PAYMENT_SIZE), trusts).terms().clone(),
        config(),
    )
}

#[derive(Clone, Debug, PartialEq)]
enum Resolution {
    Forwarded { amount: u64, extra: u64 },
    ForwardFailedDownstream,
    Failed,
    Dropped,
}

/// What the node has seen, built from the events sent and the actions received.
#[derive(Default)]
struct Harness {
    now: u64,
    sent: BTreeMap<InterceptId, HtlcPart>,
    resolved: BTreeMap<InterceptId, Resolution>,
    last_attempt: u32,
    open_in_flight: bool,
    funding_signed: bool,
    signed_channel: Option<ChannelId>,
    ready_channel: Option<ChannelId>,
    connected: bool,
    claimed: bool,
    broadcast_safe: bool,
    broadcasts: u32,
}

impl Harness {
    fn concrete(&self, step: &Step) -> (JitEvent, u64) {
        let current = channel_of(self.last_attempt.max(1));
        let now = match step {
            Step::Advance(i) => self.now + ADVANCE_MS[usize::from(*i)],
            _ => self.now,
        };
        let event = match step {
            Step::Part {
                id,
                hash,
                amount,
                short,
            } => {
                let mut p = part(*id, *hash, AMOUNTS[usize::from(*amount)]);
                if *short {
                    p.inbound_msat = Msat(p.expected_outbound_msat.get() - 1);
                }
                JitEvent::HtlcArrived(p)
            }
            Step::Advance(_) => JitEvent::Timer,
            Step::Connect => JitEvent::ClientConnected,
            Step::Disconnect => JitEvent::ClientDisconnected,
            Step::Dropped => JitEvent::DisconnectedBeforeFunding {
                attempt: self.last_attempt,
            },
            Step::Reject => JitEvent::ClientRejectedChannel {
                attempt: self.last_attempt,
            },
            Step::OpenFail => JitEvent::OpenFailed {
                attempt: self.last_attempt,
            },
            Step::Signed => JitEvent::FundingSigned {
                attempt: self.last_attempt,
                channel_id: current,
            },
            Step::BroadcastSafe => JitEvent::FundingBroadcastSafe {
                channel_id: current,
            },
            Step::Ready => JitEvent::ChannelReady {
                channel_id: current,
            },
            Step::Refuse(id) => JitEvent::ForwardRefused {
                id: InterceptId([*id; 32]),
            },
            Step::Failed(id) => JitEvent::PartFailed {
                id: InterceptId([*id; 32]),
            },
            Step::AllFailed => JitEvent::ForwardsFailed {
                channel_id: current,
            },
            Step::Claim => JitEvent::ClientClaimed {
                channel_id: current,
            },
            Step::StrangeChannel => JitEvent::ChannelReady {
                channel_id: ChannelId([0xee; 32]),
            },
        };
        (event, now)
    }

    /// Checks one handled step against the invariants, then updates the record.
    fn check(
        &mut self,
        mpp: bool,
        trusts: bool,
        before: &JitFlow,
        after: &JitFlow,
        event: &JitEvent,
        result: &Result<Vec<JitAction>, UnexpectedEvent>,
    ) -> Result<(), TestCaseError> {
        let actions = match result {
            Err(_) => {
                prop_assert_eq!(before, after, "an error must change nothing");
                return Ok(());
            }
            Ok(a) => a,
        };
        prop_assert!(
            before.state().may_become(after.state()),
            "{:?} -> {:?} on {:?}",
            before.state(),
            after.state(),
            event
        );
        let effects: Vec<&JitAction> = actions
            .iter()
            .filter(|a| **a != JitAction::Persist)
            .collect();
        if !effects.is_empty() {
            prop_assert_eq!(&actions[0], &JitAction::Persist, "persist before effects");
        }
        prop_assert!(actions.iter().skip(1).all(|a| *a != JitAction::Persist));

        // The event's facts, as the node knows them.
        match event {
            JitEvent::HtlcArrived(p) => {
                self.sent.entry(p.id).or_insert_with(|| p.clone());
            }
            JitEvent::ClientConnected => self.connected = true,
            JitEvent::ClientDisconnected => self.connected = false,
            JitEvent::DisconnectedBeforeFunding { attempt }
                if *attempt == self.last_attempt && self.open_in_flight && !self.funding_signed =>
            {
                self.connected = false;
                self.open_in_flight = false;
            }
            JitEvent::ClientRejectedChannel { attempt } | JitEvent::OpenFailed { attempt }
                if *attempt == self.last_attempt && !self.funding_signed =>
            {
                self.open_in_flight = false;
            }
            JitEvent::FundingSigned { channel_id, .. } => {
                self.funding_signed = true;
                self.signed_channel = Some(*channel_id);
            }
            JitEvent::FundingBroadcastSafe { .. } => self.broadcast_safe = true,
            JitEvent::ChannelReady { channel_id } => self.ready_channel = Some(*channel_id),
            JitEvent::ForwardRefused { id } => {
                if let Some(Resolution::Forwarded { .. }) = self.resolved.get(id) {
                    self.resolved.remove(id);
                }
            }
            JitEvent::PartFailed { id } => match self.resolved.get(id) {
                None => {
                    self.resolved.insert(*id, Resolution::Dropped);
                }
                Some(Resolution::Forwarded { .. }) => {
                    self.resolved
                        .insert(*id, Resolution::ForwardFailedDownstream);
                }
                Some(_) => {}
            },
            JitEvent::ForwardsFailed { .. } => {
                for r in self.resolved.values_mut() {
                    if let Resolution::Forwarded { .. } = r {
                        *r = Resolution::ForwardFailedDownstream;
                    }
                }
            }
            JitEvent::ClientClaimed { .. } => self.claimed = true,
            _ => {}
        }

        let opens = effects
            .iter()
            .filter(|a| matches!(a, JitAction::OpenChannel(_)))
            .count();
        prop_assert!(opens <= 1);
        for action in effects {
            match action {
                JitAction::Persist => {}
                JitAction::OpenChannel(o) => {
                    prop_assert!(!self.open_in_flight, "a second open while one is in flight");
                    prop_assert!(!self.funding_signed, "an open after funding_signed");
                    prop_assert!(self.connected, "an open to a disconnected client");
                    prop_assert!(self.now < VALID_MS, "an open at or after valid_until");
                    prop_assert_eq!(o.attempt, self.last_attempt + 1);
                    self.last_attempt = o.attempt;
                    self.open_in_flight = true;
                }
                JitAction::ForwardParts { channel_id, parts } => {
                    prop_assert_eq!(
                        Some(*channel_id),
                        self.ready_channel,
                        "forward before ready"
                    );
                    prop_assert!(self.connected, "forward to a disconnected client");
                    for f in parts {
                        let sent = self.sent.get(&f.id);
                        prop_assert!(sent.is_some(), "forward of an unknown part");
                        let sent = sent.unwrap();
                        prop_assert!(
                            !self.resolved.contains_key(&f.id),
                            "part resolved twice: {:?}",
                            f.id
                        );
                        prop_assert_eq!(
                            f.amount_msat.get() + f.extra_fee_msat.get(),
                            sent.expected_outbound_msat.get()
                        );
                        prop_assert!(f.amount_msat.get() >= HTLC_MIN);
                        prop_assert!(
                            sent.expected_outbound_msat <= sent.inbound_msat,
                            "funded the difference"
                        );
                        if self.claimed {
                            prop_assert_eq!(f.extra_fee_msat, Msat(0));
                        }
                        self.resolved.insert(
                            f.id,
                            Resolution::Forwarded {
                                amount: f.amount_msat.get(),
                                extra: f.extra_fee_msat.get(),
                            },
                        );
                    }
                    if mpp && !self.claimed {
                        let hash = self.sent[&parts[0].id].payment_hash;
                        prop_assert!(parts.iter().all(|f| self.sent[&f.id].payment_hash == hash));
                        let outstanding: u64 = self
                            .outstanding()
                            .filter(|(id, _, _)| self.sent[id].payment_hash == hash)
                            .map(|(id, _, _)| self.sent[&id].expected_outbound_msat.get())
                            .sum();
                        prop_assert!(
                            outstanding >= PAYMENT_SIZE,
                            "fee-bearing forward below payment_size"
                        );
                    }
                }
                JitAction::FailParts { parts, .. } => {
                    for id in parts {
                        prop_assert!(self.sent.contains_key(id));
                        prop_assert!(
                            !self.resolved.contains_key(id),
                            "part resolved twice: {:?}",
                            id
                        );
                        self.resolved.insert(*id, Resolution::Failed);
                    }
                }
                JitAction::BroadcastFunding { channel_id } => {
                    prop_assert!(trusts && self.claimed && self.broadcast_safe);
                    prop_assert_eq!(Some(*channel_id), self.signed_channel);
                    self.broadcasts += 1;
                    prop_assert!(self.broadcasts <= 1);
                }
                JitAction::ReleaseScid => {
                    prop_assert!(self.now >= VALID_MS);
                    prop_assert!(after.state().is_final());
                }
            }
        }

        // The deduction never exceeds the promised fee.
        let deducted: u64 = self.outstanding().map(|(_, _, extra)| extra).sum();
        let promised = if mpp {
            opening_fee_of(PAYMENT_SIZE)
        } else {
            self.outstanding()
                .filter(|(_, _, extra)| *extra > 0)
                .map(|(id, _, _)| opening_fee_of(self.sent[&id].expected_outbound_msat.get()))
                .max()
                .unwrap_or(0)
        };
        prop_assert!(
            deducted <= promised,
            "deducted {} > promised {}",
            deducted,
            promised
        );
        // And so what the client gets is at least what the onions ask for, less that fee.
        let forwarded: u64 = self.outstanding().map(|(_, amount, _)| amount).sum();
        let asked: u64 = self
            .outstanding()
            .map(|(id, _, _)| self.sent[&id].expected_outbound_msat.get())
            .sum();
        prop_assert!(forwarded >= asked.saturating_sub(promised));
        let held = after
            .parts()
            .iter()
            .filter(|r| r.status == PartStatus::Held)
            .count();
        let unresolved = self
            .sent
            .keys()
            .filter(|id| !self.resolved.contains_key(*id))
            .count();
        prop_assert_eq!(
            held,
            unresolved,
            "the flow and the node disagree on held parts"
        );
        Ok(())
    }

    fn outstanding(&self) -> impl Iterator<Item = (InterceptId, u64, u64)> + '_ {
        self.resolved.iter().filter_map(|(id, r)| match r {
            Resolution::Forwarded { amount, extra } => Some((*id, *amount, *extra)),
            _ => None,
        })
    }
}

fn opening_fee_of(size: u64) -> u64 {
    super::tests::params()
        .opening_fee(Msat(size))
        .map_or(0, |m| m.get())
}

type Outcome = Result<Vec<JitAction>, UnexpectedEvent>;

/// A checked run: the concrete events with their times, each result, the serialized flow
/// before each event, the final flow and the harness.
struct Run {
    events: Vec<(JitEvent, u64)>,
    results: Vec<Outcome>,
    snapshots: Vec<String>,
    end: JitFlow,
    harness: Harness,
}

/// Runs `steps`, checking every invariant; returns the concrete events, each result and the
/// serialized flow before each event.
fn run_checked(mpp: bool, trusts: bool, steps: &[Step]) -> Result<Run, TestCaseError> {
    let mut f = new_flow(mpp, trusts);
    let mut h = Harness {
        connected: true,
        ..Harness::default()
    };
    let mut events = Vec::new();
    let mut results = Vec::new();
    let mut snapshots = Vec::new();
    for s in steps {
        let (event, now) = h.concrete(s);
        snapshots.push(serde_json::to_string(&f).unwrap());
        let before = f.clone();
        h.now = now;
        let result = f.handle(event.clone(), at(now));
        h.check(mpp, trusts, &before, &f, &event, &result)?;
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
    fn jit_flow_invariants(mpp: bool, trusts: bool, steps in vec(step(), 0..40)) {
        let Run { end: mut f, harness: mut h, .. } = run_checked(mpp, trusts, &steps)?;
        // Long after everything: each part is resolved, unless an open or forward committed
        // to it is still in flight (the node's CLTV bounds those).
        let end = h.now.max(VALID_MS) + 2 * DEFAULT_HOLD_TIMEOUT_MS;
        let before = f.clone();
        h.now = end;
        let result = f.handle(JitEvent::Timer, at(end));
        h.check(mpp, trusts, &before, &f, &JitEvent::Timer, &result)?;
        prop_assert_eq!(f.next_timeout(), None);
        for r in f.parts() {
            if r.status == PartStatus::Held {
                prop_assert!(
                    matches!(f.state(), JitState::Opening | JitState::Forwarding | JitState::Done),
                    "part left held in {:?}",
                    f.state()
                );
                prop_assert!(f.is_paying(&r.part.payment_hash) || f.state() == JitState::Done);
            }
        }
    }

    #[test]
    fn jit_flow_replays_from_any_stored_prefix(
        mpp: bool,
        trusts: bool,
        steps in vec(step(), 0..30),
    ) {
        let Run { events, results, snapshots, end, .. } = run_checked(mpp, trusts, &steps)?;
        for (k, snapshot) in snapshots.iter().enumerate() {
            let mut restored: JitFlow = serde_json::from_str(snapshot).unwrap();
            for (i, (event, now)) in events.iter().enumerate().skip(k) {
                let again = restored.handle(event.clone(), at(*now));
                prop_assert_eq!(&again, &results[i], "step {} after restoring at {}", i, k);
            }
            prop_assert_eq!(&restored, &end);
        }
    }
}

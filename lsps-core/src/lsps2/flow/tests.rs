#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One test per path and per fail-back of the JIT flow.

use super::*;
use crate::lsps2::OpeningFeeParams;
use crate::types::{NodeId, Ppm, Scid};

pub(super) const T0: u64 = 1_700_000_000_000;
pub(super) const VALID_MS: u64 = 600_000;

pub(super) fn client() -> NodeId {
    "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619"
        .parse()
        .unwrap()
}

pub(super) fn at(ms: u64) -> Datetime {
    Datetime::from_unix_millis(T0 + ms).unwrap()
}

/// min fee 10_000 msat, 1 % proportional, sizes 1_000_000 ..= 10_000_000_000 msat.
pub(super) fn params() -> OpeningFeeParams {
    OpeningFeeParams {
        min_fee_msat: Msat(10_000),
        proportional: Ppm(10_000),
        valid_until: at(VALID_MS),
        min_lifetime: 144,
        max_client_to_self_delay: 2016,
        min_payment_size_msat: Msat(1_000_000),
        max_payment_size_msat: Msat(10_000_000_000),
        promise: "p".into(),
    }
}

pub(super) fn flow(payment_size_msat: Option<u64>, client_trusts_lsp: bool) -> JitFlow {
    JitFlow::new(
        JitTerms {
            jit_channel_scid: Scid(42),
            client: client(),
            opening_fee_params: params(),
            payment_size_msat: payment_size_msat.map(Msat),
            client_trusts_lsp,
        },
        JitConfig::default(),
    )
}

pub(super) fn part(id: u8, hash: u8, amount: u64) -> HtlcPart {
    HtlcPart {
        id: InterceptId([id; 32]),
        payment_hash: PaymentHash([hash; 32]),
        inbound_msat: Msat(amount),
        expected_outbound_msat: Msat(amount),
        cltv_expiry: Some(800_000),
    }
}

fn iid(id: u8) -> InterceptId {
    InterceptId([id; 32])
}

const CH: ChannelId = ChannelId([7; 32]);

fn run(f: &mut JitFlow, event: JitEvent, ms: u64) -> Vec<JitAction> {
    f.handle(event, at(ms)).unwrap()
}

/// The actions without `Persist`.
fn effects(actions: &[JitAction]) -> Vec<JitAction> {
    actions
        .iter()
        .filter(|a| **a != JitAction::Persist)
        .cloned()
        .collect()
}

fn opened(actions: &[JitAction]) -> OpenChannel {
    actions
        .iter()
        .find_map(|a| match a {
            JitAction::OpenChannel(o) => Some(o.clone()),
            _ => None,
        })
        .expect("an OpenChannel action")
}

fn failed(ids: &[u8], failure: HtlcFailure) -> JitAction {
    JitAction::FailParts {
        parts: ids.iter().map(|&i| iid(i)).collect(),
        failure,
    }
}

/// Drives an MPP flow (payment 3_000_000) to the open with two parts.
fn mpp_opening(trusts: bool) -> JitFlow {
    let mut f = flow(Some(3_000_000), trusts);
    let a = run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000_000)), 0);
    assert_eq!(a, vec![JitAction::Persist]);
    assert_eq!(f.state(), JitState::Collecting);
    let a = run(&mut f, JitEvent::HtlcArrived(part(2, 9, 2_000_000)), 1_000);
    assert_eq!(a[0], JitAction::Persist);
    let open = opened(&a);
    assert_eq!(open.attempt, 1);
    assert_eq!(open.forward_msat, Msat(3_000_000 - 30_000));
    assert!(open.zero_conf && !open.announce && open.scid_alias);
    assert_eq!(
        (open.min_lifetime, open.max_client_to_self_delay),
        (144, 2016)
    );
    assert_eq!(open.client, client());
    assert_eq!(open.client_trusts_lsp, trusts);
    // 2_970 sat + 1_000 reserve + 10_000 headroom, below the 20_000 minimum.
    assert_eq!(open.capacity_sat, Sat(20_000));
    assert_eq!(f.state(), JitState::Opening);
    f
}

#[test]
fn mpp_happy_path_deducts_exactly_the_promised_fee() {
    let mut f = mpp_opening(false);
    let signed = JitEvent::FundingSigned {
        attempt: 1,
        channel_id: CH,
    };
    assert_eq!(run(&mut f, signed.clone(), 2_000), vec![JitAction::Persist]);
    assert_eq!(run(&mut f, signed, 2_000), vec![], "repeat is a no-op");
    assert_eq!(f.state(), JitState::Opening);
    let a = run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    // 1 % of 3_000_000 = 30_000 > min fee; greedy from the first part.
    assert_eq!(
        effects(&a),
        vec![JitAction::ForwardParts {
            channel_id: CH,
            parts: vec![
                Forward {
                    id: iid(1),
                    amount_msat: Msat(970_000),
                    extra_fee_msat: Msat(30_000)
                },
                Forward {
                    id: iid(2),
                    amount_msat: Msat(2_000_000),
                    extra_fee_msat: Msat(0)
                },
            ],
        }]
    );
    assert_eq!(f.state(), JitState::Forwarding);
    assert_eq!(f.fee_taken_msat(), Msat(30_000));
    let a = run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_000);
    assert_eq!(a, vec![JitAction::Persist]);
    assert_eq!(f.state(), JitState::Done);
    assert_eq!(
        run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_000),
        vec![]
    );
}

#[test]
fn greedy_spread_over_small_parts_keeps_htlc_minimum() {
    let parts = [(iid(1), Msat(5)), (iid(2), Msat(7)), (iid(3), Msat(100))];
    let f = spread_fee(&parts, Msat(12), Msat(2)).unwrap();
    let extra: Vec<u64> = f.iter().map(|x| x.extra_fee_msat.get()).collect();
    assert_eq!(extra, vec![3, 5, 4]);
    assert!(f.iter().all(|x| x.amount_msat >= Msat(2)));
    assert_eq!(spread_fee(&parts, Msat(110), Msat(2)), None);
    assert_eq!(spread_fee(&[(iid(1), Msat(1))], Msat(0), Msat(2)), None);
}

#[test]
fn no_mpp_happy_path_takes_fee_from_the_single_htlc() {
    let mut f = flow(None, false);
    let a = run(&mut f, JitEvent::HtlcArrived(part(1, 9, 5_000_000)), 0);
    let open = opened(&a);
    assert_eq!(open.forward_msat, Msat(5_000_000 - 50_000));
    // A second HTLC while the first is in progress: try later.
    let a = run(&mut f, JitEvent::HtlcArrived(part(2, 8, 5_000_000)), 10);
    assert_eq!(
        effects(&a),
        vec![failed(&[2], HtlcFailure::TemporaryChannelFailure)]
    );
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        20,
    );
    let a = run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 30);
    assert_eq!(
        effects(&a),
        vec![JitAction::ForwardParts {
            channel_id: CH,
            parts: vec![Forward {
                id: iid(1),
                amount_msat: Msat(4_950_000),
                extra_fee_msat: Msat(50_000)
            }],
        }]
    );
    run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 40);
    assert_eq!(f.state(), JitState::Done);
}

#[test]
fn no_mpp_htlc_that_cannot_pay_is_refused() {
    // Below min_payment_size_msat.
    let mut f = flow(None, false);
    let a = run(&mut f, JitEvent::HtlcArrived(part(1, 9, 999_999)), 0);
    assert_eq!(
        effects(&a),
        vec![failed(&[1], HtlcFailure::UnknownNextPeer)]
    );
    assert_eq!(f.state(), JitState::Bought);
    // Fee + htlc_minimum above the amount: min fee 10_000 with a params whose minimum size is 0.
    let mut terms = f.terms().clone();
    terms.opening_fee_params.min_payment_size_msat = Msat(0);
    let mut f = JitFlow::new(terms, JitConfig::default());
    let a = run(&mut f, JitEvent::HtlcArrived(part(2, 9, 10_000)), 0);
    assert_eq!(
        effects(&a),
        vec![failed(&[2], HtlcFailure::UnknownNextPeer)]
    );
    // Overflow of the fee computation.
    let mut terms = f.terms().clone();
    terms.opening_fee_params.proportional = Ppm(1_000_000);
    terms.opening_fee_params.max_payment_size_msat = Msat(u64::MAX);
    let mut f = JitFlow::new(terms, JitConfig::default());
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 9, u64::MAX)), 0);
    assert_eq!(
        effects(&a),
        vec![failed(&[3], HtlcFailure::UnknownNextPeer)]
    );
}

#[test]
fn amt_to_forward_above_what_arrived_is_never_funded() {
    let mut f = flow(Some(3_000_000), false);
    let mut p = part(1, 9, 3_000_000);
    p.inbound_msat = Msat(2_999_999);
    let a = run(&mut f, JitEvent::HtlcArrived(p), 0);
    assert_eq!(
        effects(&a),
        vec![failed(&[1], HtlcFailure::UnknownNextPeer)]
    );
    assert_eq!(f.state(), JitState::Bought);
}

#[test]
fn mpp_parts_that_cannot_pay_the_fee_are_refused_before_any_open() {
    let mut terms = flow(Some(3_000_000), false).terms().clone();
    terms.opening_fee_params.min_fee_msat = Msat(2_999_000);
    terms.opening_fee_params.min_payment_size_msat = Msat(0);
    let config = JitConfig {
        htlc_minimum_msat: Msat(1_000),
        ..JitConfig::default()
    };
    let mut f = JitFlow::new(terms, config);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000_000)), 0);
    let a = run(&mut f, JitEvent::HtlcArrived(part(2, 9, 1_000_000)), 0);
    assert!(effects(&a).is_empty());
    // 3 parts keep 3_000 msat; only 2_997_000 can be deducted of 2_999_000.
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 9, 1_000_000)), 0);
    assert_eq!(
        effects(&a),
        vec![failed(&[1, 2, 3], HtlcFailure::UnknownNextPeer)]
    );
    assert_eq!(f.state(), JitState::Bought);
}

#[test]
fn mpp_hold_timeout_fails_temporarily_and_forgets() {
    let mut f = flow(Some(3_000_000), false);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000_000)), 0);
    run(&mut f, JitEvent::HtlcArrived(part(2, 9, 1_000_000)), 50_000);
    assert_eq!(f.next_timeout(), Some(at(DEFAULT_HOLD_TIMEOUT_MS)));
    assert!(effects(&run(&mut f, JitEvent::Timer, 89_999)).is_empty());
    let a = run(&mut f, JitEvent::Timer, 90_000);
    assert_eq!(
        effects(&a),
        vec![failed(&[1, 2], HtlcFailure::TemporaryChannelFailure)]
    );
    assert_eq!(f.state(), JitState::Bought);
    assert_eq!(f.next_timeout(), Some(at(VALID_MS)));
    // A later part starts a new set, and a full set opens.
    run(
        &mut f,
        JitEvent::HtlcArrived(part(3, 9, 1_000_000)),
        100_000,
    );
    let a = run(
        &mut f,
        JitEvent::HtlcArrived(part(4, 9, 2_000_000)),
        100_001,
    );
    assert_eq!(opened(&a).attempt, 1);
}

#[test]
fn mpp_groups_per_payment_hash() {
    let mut f = flow(Some(3_000_000), false);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 2_000_000)), 0);
    let a = run(&mut f, JitEvent::HtlcArrived(part(2, 8, 2_000_000)), 10);
    assert!(effects(&a).is_empty(), "two hashes never add up");
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 8, 1_000_000)), 20);
    opened(&a);
    // Hash 9 keeps its own hold timer.
    let a = run(&mut f, JitEvent::Timer, DEFAULT_HOLD_TIMEOUT_MS);
    assert_eq!(
        effects(&a),
        vec![failed(&[1], HtlcFailure::TemporaryChannelFailure)]
    );
    assert_eq!(f.state(), JitState::Opening);
}

#[test]
fn valid_until_with_no_payment_expires() {
    let mut f = flow(Some(3_000_000), false);
    assert_eq!(f.next_timeout(), Some(at(VALID_MS)));
    let a = run(&mut f, JitEvent::Timer, VALID_MS);
    assert_eq!(effects(&a), vec![JitAction::ReleaseScid]);
    assert_eq!(f.state(), JitState::Expired);
    assert_eq!(f.next_timeout(), None);
    let a = run(
        &mut f,
        JitEvent::HtlcArrived(part(1, 9, 3_000_000)),
        VALID_MS + 1,
    );
    assert_eq!(
        effects(&a),
        vec![failed(&[1], HtlcFailure::UnknownNextPeer)]
    );
}

#[test]
fn valid_until_with_partial_parts_fails_unknown_next_peer() {
    let config = JitConfig {
        hold_timeout_ms: 10 * VALID_MS,
        ..JitConfig::default()
    };
    let mut f = JitFlow::new(flow(Some(3_000_000), false).terms().clone(), config);
    run(
        &mut f,
        JitEvent::HtlcArrived(part(1, 9, 1_000_000)),
        VALID_MS - 10,
    );
    let a = run(&mut f, JitEvent::Timer, VALID_MS);
    assert_eq!(
        effects(&a),
        vec![
            failed(&[1], HtlcFailure::UnknownNextPeer),
            JitAction::ReleaseScid
        ]
    );
    assert_eq!(f.state(), JitState::Expired);
}

#[test]
fn client_offline_holds_until_it_connects() {
    let mut f = flow(Some(3_000_000), false);
    run(&mut f, JitEvent::ClientDisconnected, 0);
    let a = run(&mut f, JitEvent::HtlcArrived(part(1, 9, 3_000_000)), 1);
    assert!(effects(&a).is_empty(), "no open while the client is away");
    let a = run(&mut f, JitEvent::ClientConnected, 2);
    opened(&a);
}

#[test]
fn client_away_past_the_hold_timeout_fails_temporarily() {
    let mut f = flow(Some(3_000_000), false);
    run(&mut f, JitEvent::ClientDisconnected, 0);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 3_000_000)), 1);
    let a = run(&mut f, JitEvent::Timer, 1 + DEFAULT_HOLD_TIMEOUT_MS);
    assert_eq!(
        effects(&a),
        vec![failed(&[1], HtlcFailure::TemporaryChannelFailure)]
    );
    assert_eq!(f.state(), JitState::Bought);
    // no-MPP the same way.
    let mut f = flow(None, false);
    run(&mut f, JitEvent::ClientDisconnected, 0);
    run(&mut f, JitEvent::HtlcArrived(part(2, 9, 3_000_000)), 1);
    let a = run(&mut f, JitEvent::Timer, 1 + DEFAULT_HOLD_TIMEOUT_MS);
    assert_eq!(
        effects(&a),
        vec![failed(&[2], HtlcFailure::TemporaryChannelFailure)]
    );
}

#[test]
fn client_rejecting_the_channel_is_final() {
    let mut f = mpp_opening(false);
    let a = run(
        &mut f,
        JitEvent::ClientRejectedChannel { attempt: 1 },
        2_000,
    );
    assert_eq!(
        effects(&a),
        vec![failed(&[1, 2], HtlcFailure::UnknownNextPeer)]
    );
    assert_eq!(f.state(), JitState::Failed);
    // A repeat is a no-op; later HTLCs are refused; the SCID is released at valid_until.
    assert_eq!(
        run(
            &mut f,
            JitEvent::ClientRejectedChannel { attempt: 1 },
            2_001
        ),
        vec![]
    );
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 9, 3_000_000)), 3_000);
    assert_eq!(
        effects(&a),
        vec![failed(&[3], HtlcFailure::UnknownNextPeer)]
    );
    let a = run(&mut f, JitEvent::Timer, VALID_MS);
    assert_eq!(effects(&a), vec![JitAction::ReleaseScid]);
}

#[test]
fn open_failing_on_the_lsp_side_is_final() {
    let mut f = mpp_opening(false);
    let a = run(&mut f, JitEvent::OpenFailed { attempt: 1 }, 2_000);
    assert_eq!(
        effects(&a),
        vec![failed(&[1, 2], HtlcFailure::UnknownNextPeer)]
    );
    assert_eq!(f.state(), JitState::Failed);
}

#[test]
fn disconnect_before_funding_signed_fails_temporarily_and_waits_again() {
    let mut f = mpp_opening(false);
    let a = run(&mut f, JitEvent::ClientDisconnected, 1_500);
    assert_eq!(
        a,
        vec![JitAction::Persist],
        "the connection alone does not end the open"
    );
    let a = run(
        &mut f,
        JitEvent::DisconnectedBeforeFunding { attempt: 1 },
        2_000,
    );
    assert_eq!(
        effects(&a),
        vec![failed(&[1, 2], HtlcFailure::TemporaryChannelFailure)]
    );
    assert_eq!(f.state(), JitState::Bought);
    // A late rejection of the abandoned attempt changes nothing.
    assert_eq!(
        run(
            &mut f,
            JitEvent::ClientRejectedChannel { attempt: 1 },
            2_001
        ),
        vec![]
    );
    run(&mut f, JitEvent::ClientConnected, 3_000);
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 9, 3_000_000)), 4_000);
    assert_eq!(opened(&a).attempt, 2);
}

#[test]
fn disconnect_after_funding_signed_keeps_the_channel() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    let a = run(&mut f, JitEvent::ClientDisconnected, 2_500);
    assert_eq!(a, vec![JitAction::Persist]);
    let a = run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    assert!(effects(&a).is_empty(), "no forward to an absent client");
    let a = run(&mut f, JitEvent::ClientConnected, 4_000);
    assert!(matches!(effects(&a)[..], [JitAction::ForwardParts { .. }]));
}

#[test]
fn trust_model_broadcasts_after_the_claim_only() {
    let mut f = mpp_opening(true);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    let a = run(
        &mut f,
        JitEvent::FundingBroadcastSafe { channel_id: CH },
        2_100,
    );
    assert_eq!(a, vec![JitAction::Persist]);
    run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    let a = run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_000);
    assert_eq!(
        effects(&a),
        vec![JitAction::BroadcastFunding { channel_id: CH }]
    );
    let a = run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_001);
    assert!(effects(&a).is_empty(), "broadcast once");
}

#[test]
fn lsp_trusts_client_never_asks_for_a_broadcast() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    run(
        &mut f,
        JitEvent::FundingBroadcastSafe { channel_id: CH },
        2_000,
    );
    run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    let a = run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_000);
    assert!(effects(&a).is_empty());
}

#[test]
fn parts_failed_downstream_wait_for_a_new_payment_on_the_same_channel() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    run(&mut f, JitEvent::PartFailed { id: iid(1) }, 3_500);
    assert_eq!(f.state(), JitState::Forwarding);
    assert_eq!(f.fee_taken_msat(), Msat(0));
    run(&mut f, JitEvent::PartFailed { id: iid(2) }, 3_600);
    assert_eq!(f.state(), JitState::Bought);
    // The payer retries: no second open, forwarded at once with the fee.
    let a = run(&mut f, JitEvent::HtlcArrived(part(5, 9, 3_000_000)), 4_000);
    assert_eq!(
        effects(&a),
        vec![JitAction::ForwardParts {
            channel_id: CH,
            parts: vec![Forward {
                id: iid(5),
                amount_msat: Msat(2_970_000),
                extra_fee_msat: Msat(30_000)
            }],
        }]
    );
}

#[test]
fn forwards_failed_without_a_part_id_fail_every_outstanding_forward() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    let a = run(&mut f, JitEvent::ForwardsFailed { channel_id: CH }, 3_500);
    assert_eq!(a, vec![JitAction::Persist]);
    assert_eq!(f.state(), JitState::Bought);
    assert_eq!(f.fee_taken_msat(), Msat(0));
    assert_eq!(
        run(&mut f, JitEvent::ForwardsFailed { channel_id: CH }, 3_600),
        vec![],
        "repeat"
    );
    assert!(
        f.handle(
            JitEvent::ForwardsFailed {
                channel_id: ChannelId([9; 32])
            },
            at(3_700)
        )
        .is_err()
    );
}

#[test]
fn forward_refused_is_offered_again_after_reconnect() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    let first = run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    let a = run(&mut f, JitEvent::ForwardRefused { id: iid(2) }, 3_100);
    assert_eq!(a, vec![JitAction::Persist]);
    let a = run(&mut f, JitEvent::ClientConnected, 3_200);
    assert_eq!(
        effects(&a),
        vec![JitAction::ForwardParts {
            channel_id: CH,
            parts: vec![Forward {
                id: iid(2),
                amount_msat: Msat(2_000_000),
                extra_fee_msat: Msat(0)
            }],
        }]
    );
    assert!(matches!(
        effects(&first)[..],
        [JitAction::ForwardParts { .. }]
    ));
}

#[test]
fn scid_stays_an_alias_until_valid_until() {
    let mut f = mpp_opening(false);
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        2_000,
    );
    run(&mut f, JitEvent::ChannelReady { channel_id: CH }, 3_000);
    run(&mut f, JitEvent::ClientClaimed { channel_id: CH }, 4_000);
    let a = run(&mut f, JitEvent::HtlcArrived(part(6, 5, 500)), 5_000);
    assert_eq!(
        effects(&a),
        vec![JitAction::ForwardParts {
            channel_id: CH,
            parts: vec![Forward {
                id: iid(6),
                amount_msat: Msat(500),
                extra_fee_msat: Msat(0)
            }],
        }]
    );
    assert_eq!(f.next_timeout(), Some(at(VALID_MS)));
    let a = run(&mut f, JitEvent::Timer, VALID_MS);
    assert_eq!(effects(&a), vec![JitAction::ReleaseScid]);
    assert_eq!(f.state(), JitState::Done);
    let a = run(&mut f, JitEvent::HtlcArrived(part(7, 5, 500)), VALID_MS + 1);
    assert_eq!(
        effects(&a),
        vec![failed(&[7], HtlcFailure::UnknownNextPeer)]
    );
}

#[test]
fn an_open_decided_before_valid_until_is_finished() {
    let mut f = flow(Some(3_000_000), false);
    run(
        &mut f,
        JitEvent::HtlcArrived(part(1, 9, 3_000_000)),
        VALID_MS - 1,
    );
    run(&mut f, JitEvent::Timer, VALID_MS);
    assert_eq!(f.state(), JitState::Opening);
    assert_eq!(f.next_timeout(), None, "nothing waits on time");
    run(
        &mut f,
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: CH,
        },
        VALID_MS + 1,
    );
    let a = run(
        &mut f,
        JitEvent::ChannelReady { channel_id: CH },
        VALID_MS + 2,
    );
    assert!(matches!(effects(&a)[..], [JitAction::ForwardParts { .. }]));
}

#[test]
fn too_many_parts_are_refused() {
    let config = JitConfig {
        max_parts: 2,
        ..JitConfig::default()
    };
    let mut f = JitFlow::new(flow(Some(3_000_000), false).terms().clone(), config);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000)), 0);
    run(&mut f, JitEvent::HtlcArrived(part(2, 9, 1_000)), 0);
    let a = run(&mut f, JitEvent::HtlcArrived(part(3, 9, 1_000)), 0);
    assert_eq!(a, vec![failed(&[3], HtlcFailure::UnknownNextPeer)]);
}

#[test]
fn events_that_do_not_belong_change_nothing() {
    let mut f = flow(Some(3_000_000), false);
    let before = f.clone();
    let other = ChannelId([1; 32]);
    for e in [
        JitEvent::ChannelReady { channel_id: other },
        JitEvent::ClientClaimed { channel_id: other },
        JitEvent::FundingSigned {
            attempt: 1,
            channel_id: other,
        },
        JitEvent::ClientRejectedChannel { attempt: 3 },
        JitEvent::PartFailed { id: iid(1) },
        JitEvent::ForwardRefused { id: iid(1) },
    ] {
        assert!(f.handle(e.clone(), at(VALID_MS + 5)).is_err(), "{e:?}");
        assert_eq!(f, before, "{e:?}");
    }
}

#[test]
fn duplicate_part_is_a_no_op_and_flow_round_trips_as_json() {
    let mut f = flow(Some(3_000_000), false);
    run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000_000)), 0);
    assert_eq!(
        run(&mut f, JitEvent::HtlcArrived(part(1, 9, 1_000_000)), 1),
        vec![]
    );
    let text = serde_json::to_string(&f).unwrap();
    assert!(text.contains("\"state\":\"COLLECTING\""), "{text}");
    let back: JitFlow = serde_json::from_str(&text).unwrap();
    assert_eq!(back, f);
    let event = serde_json::to_string(&JitEvent::ChannelReady { channel_id: CH }).unwrap();
    assert_eq!(
        serde_json::from_str::<JitEvent>(&event).unwrap(),
        JitEvent::ChannelReady { channel_id: CH }
    );
    assert_eq!(HtlcFailure::UnknownNextPeer.code(), 0x400a);
    assert_eq!(HtlcFailure::TemporaryChannelFailure.code(), 0x1007);
}

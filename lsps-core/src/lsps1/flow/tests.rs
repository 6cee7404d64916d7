#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One test per path and per fail-back of the order flow.

use super::*;
use crate::types::{NodeId, OnchainAddress};

pub(super) const T0: u64 = 1_700_000_000_000;
/// Every option expires an hour after creation.
pub(super) const EXPIRES_MS: u64 = 3_600_000;
pub(super) const DEADLINE: u32 = 900_100;

pub(super) fn at(ms: u64) -> Datetime {
    Datetime::from_unix_millis(T0 + ms).unwrap()
}

pub(super) fn client() -> NodeId {
    "02eec7245d6b7d2ccb30380bfbe2a3648cd7a942653f5aa340edcea1f283686619"
        .parse()
        .unwrap()
}

pub(super) fn refund_address() -> OnchainAddress {
    "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080"
        .parse()
        .unwrap()
}

/// 1_000_000 sat inbound, 100_000 pushed, fee 10_000: every option totals 110_000 sat.
pub(super) fn terms(required_confirmations: u16, min_onchain_confirmations: u16) -> OrderTerms {
    let lightning = Some(LightningTerms {
        expires_at: at(EXPIRES_MS),
        order_total_sat: Sat(110_000),
    });
    OrderTerms {
        client: client(),
        lsp_balance_sat: Sat(1_000_000),
        client_balance_sat: Sat(100_000),
        required_channel_confirmations: required_confirmations,
        funding_confirms_within_blocks: 6,
        channel_expiry_blocks: 144,
        announce_channel: false,
        bolt11: lightning.clone(),
        bolt12: lightning,
        onchain: Some(OnchainTerms {
            expires_at: at(EXPIRES_MS),
            order_total_sat: Sat(110_000),
            min_onchain_payment_confirmations: min_onchain_confirmations,
            min_fee_for_0conf: (min_onchain_confirmations == 0).then_some(FeeRate(5_000)),
            refund_onchain_address: refund_address(),
        }),
    }
}

pub(super) fn flow() -> OrderFlow {
    OrderFlow::new(terms(0, 1), OrderFlowConfig::default())
}

pub(super) const CH: ChannelId = ChannelId([3; 32]);

pub(super) fn outpoint(n: u16) -> Outpoint {
    format!("{}:{n}", "ab".repeat(32)).parse().unwrap()
}

fn txid(b: u8) -> Txid {
    hex::encode([b; 32]).parse().unwrap()
}

fn run(f: &mut OrderFlow, event: OrderFlowEvent, ms: u64) -> Vec<OrderFlowAction> {
    f.handle(event, at(ms)).unwrap()
}

fn effects(actions: &[OrderFlowAction]) -> Vec<OrderFlowAction> {
    actions
        .iter()
        .filter(|a| **a != OrderFlowAction::Persist)
        .cloned()
        .collect()
}

fn held(option: LightningOption) -> OrderFlowEvent {
    OrderFlowEvent::HtlcsHeld {
        option,
        amount_msat: 110_000_000,
        claim_deadline: Some(DEADLINE),
    }
}

fn onchain(n: u16, amount: u64, confirmations: u32) -> OrderFlowEvent {
    OrderFlowEvent::OnchainOutput {
        outpoint: outpoint(n),
        amount_sat: Sat(amount),
        confirmations,
        fee_rate: None,
    }
}

fn published(attempt: u32) -> OrderFlowEvent {
    OrderFlowEvent::FundingPublished {
        attempt,
        channel_id: CH,
        funding_outpoint: outpoint(9),
    }
}

fn open_of(actions: &[OrderFlowAction]) -> OpenChannel {
    actions
        .iter()
        .find_map(|a| match a {
            OrderFlowAction::OpenChannel(o) => Some(o.clone()),
            _ => None,
        })
        .expect("an OpenChannel action")
}

const B11: LightningOption = LightningOption::Bolt11;

fn state(f: &OrderFlow, kind: PaymentKind) -> PaymentState {
    f.payment_state(kind).unwrap()
}

#[test]
fn bolt11_hold_open_ready_claim_completed() {
    let mut f = flow();
    let a = run(&mut f, held(B11), 1_000);
    assert_eq!(a[0], OrderFlowAction::Persist);
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Hold);
    let open = open_of(&a);
    assert_eq!(
        open,
        OpenChannel {
            client: client(),
            attempt: 1,
            capacity_sat: Sat(1_100_000),
            push_sat: Sat(100_000),
            announce: false,
            required_confirmations: 0,
            funding_confirms_within_blocks: 6,
            channel_expiry_blocks: 144,
        }
    );
    assert_eq!(run(&mut f, held(B11), 1_001), vec![], "repeat is a no-op");
    assert_eq!(
        run(&mut f, published(1), 2_000),
        vec![OrderFlowAction::Persist]
    );
    assert_eq!(f.order_state(), OrderState::Created);
    assert_eq!(f.channel(), None, "channel stays null until COMPLETED");
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        3_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::ClaimPayment { option: B11 }]
    );
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Paid);
    assert_eq!(f.order_state(), OrderState::Completed);
    let channel = f.channel().unwrap();
    assert_eq!(channel.funded_at, at(2_000));
    assert_eq!(channel.funding_outpoint, outpoint(9));
    assert_eq!(channel.expires_at, at(2_000 + 144 * BLOCK_INTERVAL_MS));
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        3_001,
    );
    assert!(effects(&a).is_empty(), "claimed once");
    assert_eq!(f.next_timeout(), None);
}

#[test]
fn open_waits_for_the_client_then_gives_up_after_the_limit() {
    let mut f = flow();
    run(&mut f, OrderFlowEvent::ClientDisconnected, 0);
    let a = run(&mut f, held(B11), 1_000);
    assert!(effects(&a).is_empty(), "no open while the client is away");
    let limit = 1_000 + OrderFlowConfig::default().client_offline_limit_ms;
    assert_eq!(f.next_timeout(), Some(at(EXPIRES_MS)));
    let a = run(&mut f, OrderFlowEvent::Timer, EXPIRES_MS);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Refunded);
    assert_eq!(f.order_state(), OrderState::Failed);
    assert!(limit > EXPIRES_MS);
    // Reconnecting now changes nothing.
    assert!(
        effects(&run(
            &mut f,
            OrderFlowEvent::ClientConnected,
            EXPIRES_MS + 1
        ))
        .is_empty()
    );
}

#[test]
fn client_offline_limit_fails_before_expiry() {
    let config = OrderFlowConfig {
        client_offline_limit_ms: 60_000,
        ..OrderFlowConfig::default()
    };
    let mut f = OrderFlow::new(terms(0, 1), config);
    run(&mut f, OrderFlowEvent::ClientDisconnected, 0);
    run(&mut f, held(B11), 1_000);
    assert_eq!(f.next_timeout(), Some(at(61_000)));
    let a = run(&mut f, OrderFlowEvent::Timer, 61_000);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(f.order_state(), OrderState::Failed);
}

#[test]
fn reconnecting_client_gets_the_open() {
    let mut f = flow();
    run(&mut f, OrderFlowEvent::ClientDisconnected, 0);
    run(&mut f, held(B11), 1_000);
    let a = run(&mut f, OrderFlowEvent::ClientConnected, 2_000);
    assert_eq!(open_of(&a).attempt, 1);
}

#[test]
fn rejected_open_fails_back_and_fails_the_order() {
    for event in [
        OrderFlowEvent::ClientRejectedChannel { attempt: 1 },
        OrderFlowEvent::OpenFailed { attempt: 1 },
    ] {
        let mut f = flow();
        run(&mut f, held(B11), 1_000);
        let a = run(&mut f, event.clone(), 2_000);
        assert_eq!(
            effects(&a),
            vec![OrderFlowAction::FailPaymentBack { option: B11 }],
            "{event:?}"
        );
        assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Refunded);
        assert_eq!(f.order_state(), OrderState::Failed);
        assert_eq!(run(&mut f, event, 2_001), vec![], "repeat");
    }
}

#[test]
fn channel_closed_before_ready_fails_the_order() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    run(&mut f, published(1), 2_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelClosed { channel_id: CH },
        3_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(f.order_state(), OrderState::Failed);
}

#[test]
fn disconnect_before_funding_retries_then_gives_up() {
    let mut f = flow();
    let a = run(&mut f, held(B11), 1_000);
    assert_eq!(open_of(&a).attempt, 1);
    for attempt in 2..=3 {
        run(
            &mut f,
            OrderFlowEvent::DisconnectedBeforeFunding {
                attempt: attempt - 1,
            },
            2_000,
        );
        let a = run(&mut f, OrderFlowEvent::ClientConnected, 3_000);
        assert_eq!(open_of(&a).attempt, attempt);
    }
    let a = run(
        &mut f,
        OrderFlowEvent::DisconnectedBeforeFunding { attempt: 3 },
        4_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(f.order_state(), OrderState::Failed);
}

#[test]
fn htlcs_near_their_deadline_are_failed_back() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    let margin = OrderFlowConfig::default().claim_margin_blocks;
    let a = run(
        &mut f,
        OrderFlowEvent::BestBlock {
            height: DEADLINE - margin - 1,
        },
        2_000,
    );
    assert!(effects(&a).is_empty());
    let a = run(
        &mut f,
        OrderFlowEvent::BestBlock {
            height: DEADLINE - margin,
        },
        3_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(f.order_state(), OrderState::Failed);
}

#[test]
fn node_failing_the_htlcs_fails_the_order_without_a_second_fail() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    let a = run(
        &mut f,
        OrderFlowEvent::HtlcsFailedByNode { option: B11 },
        2_000,
    );
    assert_eq!(a, vec![OrderFlowAction::Persist]);
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Refunded);
    assert_eq!(f.order_state(), OrderState::Failed);
}

#[test]
fn unpaid_order_expires_failed_with_options_untouched() {
    let mut f = flow();
    assert_eq!(f.next_timeout(), Some(at(EXPIRES_MS)));
    let a = run(&mut f, OrderFlowEvent::Timer, EXPIRES_MS);
    assert_eq!(a, vec![OrderFlowAction::Persist]);
    assert_eq!(f.order_state(), OrderState::Failed);
    for kind in [
        PaymentKind::Bolt11,
        PaymentKind::Bolt12,
        PaymentKind::Onchain,
    ] {
        assert_eq!(state(&f, kind), PaymentState::ExpectPayment);
    }
    // A payment after expiry is failed back.
    let a = run(&mut f, held(B11), EXPIRES_MS + 1);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack { option: B11 }]
    );
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Refunded);
}

#[test]
fn underpaid_htlcs_are_failed_back_and_nothing_moves() {
    let mut f = flow();
    let a = run(
        &mut f,
        OrderFlowEvent::HtlcsHeld {
            option: B11,
            amount_msat: 109_999_999,
            claim_deadline: None,
        },
        1_000,
    );
    assert_eq!(a, vec![OrderFlowAction::FailPaymentBack { option: B11 }]);
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::ExpectPayment);
}

#[test]
fn second_option_paid_is_failed_back() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    let a = run(&mut f, held(LightningOption::Bolt12), 1_500);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::FailPaymentBack {
            option: LightningOption::Bolt12
        }]
    );
    assert_eq!(state(&f, PaymentKind::Bolt12), PaymentState::Refunded);
    assert_eq!(state(&f, PaymentKind::Bolt11), PaymentState::Hold);
}

#[test]
fn onchain_paid_after_confirmations_then_completed_without_claim() {
    let mut f = flow();
    let a = run(&mut f, onchain(0, 110_000, 0), 1_000);
    assert_eq!(a, vec![OrderFlowAction::Persist]);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    let a = run(&mut f, onchain(0, 110_000, 1), 2_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    assert_eq!(open_of(&a).attempt, 1);
    run(&mut f, published(1), 3_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        4_000,
    );
    assert_eq!(a, vec![OrderFlowAction::Persist]);
    assert_eq!(f.order_state(), OrderState::Completed);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
}

#[test]
fn onchain_counts_after_six_even_if_more_were_asked() {
    let mut f = OrderFlow::new(terms(0, 10), OrderFlowConfig::default());
    run(&mut f, onchain(0, 110_000, 5), 1_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    run(&mut f, onchain(0, 110_000, 6), 2_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
}

#[test]
fn onchain_zero_conf_needs_the_fee_rate() {
    let mut f = OrderFlow::new(terms(0, 0), OrderFlowConfig::default());
    let low = OrderFlowEvent::OnchainOutput {
        outpoint: outpoint(0),
        amount_sat: Sat(110_000),
        confirmations: 0,
        fee_rate: Some(FeeRate(4_999)),
    };
    run(&mut f, low, 1_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    let high = OrderFlowEvent::OnchainOutput {
        outpoint: outpoint(1),
        amount_sat: Sat(110_000),
        confirmations: 0,
        fee_rate: Some(FeeRate(5_000)),
    };
    run(&mut f, high, 2_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
}

#[test]
fn onchain_outputs_add_up() {
    let mut f = flow();
    run(&mut f, onchain(0, 60_000, 1), 1_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    let a = run(&mut f, onchain(1, 50_000, 1), 2_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    open_of(&a);
}

#[test]
fn onchain_open_failure_refunds_once_and_bumps_after_six_hours() {
    let mut f = flow();
    run(&mut f, onchain(0, 110_000, 1), 1_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ClientRejectedChannel { attempt: 1 },
        2_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(110_000)
        }]
    );
    assert_eq!(f.order_state(), OrderState::Failed);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    assert!(effects(&run(&mut f, OrderFlowEvent::Timer, 3_000)).is_empty());
    run(&mut f, OrderFlowEvent::RefundSent { txid: txid(1) }, 4_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Refunded);
    assert_eq!(f.next_timeout(), Some(at(4_000 + REFUND_BUMP_AFTER_MS)));
    let a = run(&mut f, OrderFlowEvent::Timer, 4_000 + REFUND_BUMP_AFTER_MS);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::BumpRefund { txid: txid(1) }]
    );
    run(
        &mut f,
        OrderFlowEvent::RefundSent { txid: txid(2) },
        5_000 + REFUND_BUMP_AFTER_MS,
    );
    run(
        &mut f,
        OrderFlowEvent::RefundConfirmed { txid: txid(2) },
        6_000 + REFUND_BUMP_AFTER_MS,
    );
    assert_eq!(f.next_timeout(), None);
    assert_eq!(f.unrefunded_sat(), Sat(0));
    // More money to the address after the refund: not refunded by the flow, shown instead.
    let a = run(&mut f, onchain(5, 1_000, 3), 7_000 + REFUND_BUMP_AFTER_MS);
    assert!(effects(&a).is_empty());
    assert_eq!(f.unrefunded_sat(), Sat(1_000));
}

#[test]
fn onchain_payment_after_expiry_is_refunded() {
    let mut f = flow();
    run(&mut f, OrderFlowEvent::Timer, EXPIRES_MS);
    assert_eq!(f.order_state(), OrderState::Failed);
    let a = run(&mut f, onchain(0, 110_000, 1), EXPIRES_MS + 1);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(110_000)
        }]
    );
}

#[test]
fn onchain_paid_beside_a_lightning_payment_is_refunded() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    let a = run(&mut f, onchain(0, 110_000, 1), 2_000);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(110_000)
        }]
    );
    run(&mut f, published(1), 3_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        4_000,
    );
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::ClaimPayment { option: B11 }]
    );
}

#[test]
fn events_that_do_not_belong_change_nothing() {
    let mut f = flow();
    let before = f.clone();
    for e in [
        OrderFlowEvent::ChannelReady { channel_id: CH },
        OrderFlowEvent::ChannelClosed { channel_id: CH },
        published(1),
        OrderFlowEvent::ClientRejectedChannel { attempt: 1 },
        OrderFlowEvent::RefundSent { txid: txid(1) },
        OrderFlowEvent::RefundConfirmed { txid: txid(1) },
    ] {
        assert!(f.handle(e.clone(), at(1)).is_err(), "{e:?}");
        assert_eq!(f, before, "{e:?}");
    }
    let mut no_onchain = terms(0, 1);
    no_onchain.onchain = None;
    let mut f = OrderFlow::new(no_onchain, OrderFlowConfig::default());
    assert!(f.handle(onchain(0, 1, 1), at(1)).is_err());
    assert_eq!(f.payment_state(PaymentKind::Onchain), None);
}

#[test]
fn flow_round_trips_as_json() {
    let mut f = flow();
    run(&mut f, held(B11), 1_000);
    run(&mut f, published(1), 2_000);
    let text = serde_json::to_string(&f).unwrap();
    let back: OrderFlow = serde_json::from_str(&text).unwrap();
    assert_eq!(back, f);
    let e = serde_json::to_string(&held(B11)).unwrap();
    assert_eq!(
        serde_json::from_str::<OrderFlowEvent>(&e).unwrap(),
        held(B11)
    );
}

#[test]
fn terms_from_a_created_order() {
    use crate::lsps1::{
        Bolt11PaymentInfo, OnchainPaymentInfo, OrderId, OrderParams, OrderResult, PaymentInfo,
    };
    let order = OrderResult {
        order_id: "order-1".parse::<OrderId>().unwrap(),
        order: OrderParams {
            lsp_balance_sat: Sat(1_000_000),
            client_balance_sat: Sat(100_000),
            required_channel_confirmations: 0,
            funding_confirms_within_blocks: 6,
            channel_expiry_blocks: 144,
            token: None,
            announce_channel: false,
        },
        created_at: at(0),
        order_state: OrderState::Created,
        payment: PaymentInfo {
            bolt11: Some(Bolt11PaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at: at(EXPIRES_MS),
                fee_total_sat: Sat(10_000),
                order_total_sat: Sat(110_000),
                invoice: "lnbcrt1".into(),
            }),
            bolt12: None,
            onchain: Some(OnchainPaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at: at(EXPIRES_MS),
                fee_total_sat: Sat(10_000),
                order_total_sat: Sat(110_000),
                address: refund_address(),
                min_onchain_payment_confirmations: 1,
                min_fee_for_0conf: None,
                refund_onchain_address: None,
            }),
        },
        channel: None,
    };
    let t = OrderTerms::from_order(&order, client(), Some(refund_address())).unwrap();
    assert_eq!(t.bolt12, None);
    assert_eq!(
        t.onchain.as_ref().unwrap().refund_onchain_address,
        refund_address()
    );
    assert_eq!(
        OrderTerms::from_order(&order, client(), None),
        Err(OrderTermsError::OnchainWithoutRefundAddress)
    );
    let mut done = order;
    done.order_state = OrderState::Failed;
    assert_eq!(
        OrderTerms::from_order(&done, client(), Some(refund_address())),
        Err(OrderTermsError::NotNew)
    );
}

#[test]
fn a_reorg_report_does_not_undo_paid_and_the_refund_keeps_the_amount() {
    let mut f = flow();
    run(&mut f, onchain(0, 110_000, 2), 1_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    run(&mut f, onchain(0, 110_000, 0), 2_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    let a = run(&mut f, OrderFlowEvent::OpenFailed { attempt: 1 }, 3_000);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(110_000)
        }]
    );
}

#[test]
fn onchain_underpayment_is_refunded_at_expiry_and_the_option_keeps_its_state() {
    let mut f = flow();
    let a = run(&mut f, onchain(0, 60_000, 1), 1_000);
    assert_eq!(effects(&a), vec![]);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    let a = run(&mut f, OrderFlowEvent::Timer, EXPIRES_MS);
    assert_eq!(f.order_state(), OrderState::Failed);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(60_000),
        }]
    );
    run(
        &mut f,
        OrderFlowEvent::RefundSent { txid: txid(1) },
        EXPIRES_MS + 1,
    );
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::ExpectPayment);
    assert_eq!(
        f.refund(),
        Some(RefundStatus::Sent {
            txid: txid(1),
            amount_sat: Sat(60_000)
        })
    );
    // Once: the next tick sends nothing.
    assert_eq!(
        effects(&run(&mut f, OrderFlowEvent::Timer, EXPIRES_MS + 2)),
        vec![]
    );
}

#[test]
fn onchain_overpayment_completes_and_its_excess_is_refunded_once() {
    let mut f = flow();
    let a = run(&mut f, onchain(0, 150_000, 1), 1_000);
    assert_eq!(open_of(&a).attempt, 1);
    run(&mut f, published(1), 2_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        3_000,
    );
    assert_eq!(f.order_state(), OrderState::Completed);
    assert_eq!(
        effects(&a),
        vec![OrderFlowAction::RefundOnchain {
            address: refund_address(),
            amount_sat: Sat(40_000),
        }]
    );
    run(&mut f, OrderFlowEvent::RefundSent { txid: txid(2) }, 4_000);
    assert_eq!(state(&f, PaymentKind::Onchain), PaymentState::Paid);
    assert_eq!(f.unrefunded_sat(), Sat(0));
}

#[test]
fn small_onchain_remainders_are_not_refunded() {
    let mut f = flow();
    run(&mut f, onchain(0, 110_000 + MIN_REFUND_SAT - 1, 1), 1_000);
    run(&mut f, published(1), 2_000);
    let a = run(
        &mut f,
        OrderFlowEvent::ChannelReady { channel_id: CH },
        3_000,
    );
    assert_eq!(f.order_state(), OrderState::Completed);
    assert_eq!(effects(&a), vec![]);
    let mut g = flow();
    run(&mut g, onchain(0, MIN_REFUND_SAT - 1, 1), 1_000);
    assert_eq!(
        effects(&run(&mut g, OrderFlowEvent::Timer, EXPIRES_MS)),
        vec![]
    );
    assert_eq!(g.order_state(), OrderState::Failed);
}

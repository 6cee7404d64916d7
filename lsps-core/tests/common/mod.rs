//! Fixed, realistic values shared by the snapshot, round-trip, differential and bench code.
//!
//! Values come from the bLIP examples where those are consistent; promises are real HMACs
//! from [`PromiseSecret`], so a change to the promise's binary form shows in the snapshots.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bitcoin::secp256k1::{Secp256k1, SecretKey};
use lsps_core::jsonrpc::RequestId;
use lsps_core::lsps0;
use lsps_core::lsps1::{
    self, Bolt11PaymentInfo, Bolt12PaymentInfo, ChannelInfo, OnchainPaymentInfo, OrderId,
    OrderParams, OrderResult, OrderState, PaymentInfo, PaymentState,
};
use lsps_core::lsps2::{self, OpeningFeeParams, PromiseSecret, RawOpeningFeeParams};
use lsps_core::types::{Datetime, DatetimeMode, FeeRate, Msat, NodeId, Ppm, Sat, Scid};

/// bLIP-51's example BOLT11 invoice (mainnet), as written in the spec.
pub const BOLT11: &str = "lnbc252u1p3aht9ysp580g4633gd2x9lc5al0wd8wx0mpn9748jeyz46kqjrpxn52uhfpjqpp5qgf67tcqmuqehzgjm8mzya90h73deafvr4m5705l5u5l4r05l8cqdpud3h8ymm4w3jhytnpwpczqmt0de6xsmre2pkxzm3qydmkzdjrdev9s7zhgfaqxqyjw5qcqpjrzjqt6xptnd85lpqnu2lefq4cx070v5cdwzh2xlvmdgnu7gqp4zvkus5zapryqqx9qqqyqqqqqqqqqqqcsq9q9qyysgqen77vu8xqjelum24hgjpgfdgfgx4q0nehhalcmuggt32japhjuksq9jv6eksjfnppm4hrzsgyxt8y8xacxut9qv3fpyetz8t7tsymygq8yzn05";
/// bLIP-51's example BOLT12 offer.
pub const BOLT12: &str = "lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrcgqvp3pwq2q3shxerxzzfqyxdxxkjqxfpt9tz94zj79m4n99kwjddq92uqryuwsu4nt0t3lthfq02jzqla96dtkf4rew8edxw0p85swe89wd8ldekdl5j262n76qyl2qgzajm08clzr74z6ssy0qlvvp9f5kvrxf27yz4pcy99jge69kxu8ttsqt8gw8jsk5397zvvdf4lfd52paf73thcg6xf57xmvtdrwny5mn2r4jw2d5jzalqrq537mmt6u9qpqytzzql6zemrme07jqqwtza76lldcj9wgc0ccd4d2w584cdcx6szsuupvy";
/// bLIP-51's example P2TR payment address.
pub const P2TR: &str = "bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr";
/// bLIP-51's example P2WSH refund address.
pub const P2WSH: &str = "bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h";

pub fn datetime(s: &str) -> Datetime {
    Datetime::parse(s, DatetimeMode::Strict).unwrap()
}

pub fn request_id() -> RequestId {
    RequestId::from_entropy([
        0x3c, 0xad, 0x6a, 0x54, 0xd3, 0x02, 0xed, 0xba, 0x4c, 0x9a, 0xde, 0x2f, 0x7f, 0xfa, 0xc0,
        0x98,
    ])
}

pub fn client_node_id() -> NodeId {
    let sk = SecretKey::from_slice(&[0x11; 32]).unwrap();
    NodeId(sk.public_key(&Secp256k1::signing_only()))
}

pub fn promise_secret() -> PromiseSecret {
    PromiseSecret([0x42; 32])
}

pub fn list_protocols_result() -> lsps0::ListProtocolsResult {
    lsps0::ListProtocolsResult {
        protocols: vec![1, 2],
    }
}

/// bLIP-51 E1.1.
pub fn lsps1_options() -> lsps1::GetInfoResult {
    lsps1::GetInfoResult {
        min_required_channel_confirmations: 0,
        min_funding_confirms_within_blocks: 6,
        supports_zero_channel_reserve: true,
        max_channel_expiry_blocks: 20160,
        min_initial_client_balance_sat: Sat(20_000),
        max_initial_client_balance_sat: Sat(100_000_000),
        min_initial_lsp_balance_sat: Sat(0),
        max_initial_lsp_balance_sat: Sat(100_000_000),
        min_channel_balance_sat: Sat(50_000),
        max_channel_balance_sat: Sat(100_000_000),
    }
}

pub fn order_params(token: Option<&str>) -> OrderParams {
    OrderParams {
        lsp_balance_sat: Sat(5_000_000),
        client_balance_sat: Sat(2_000_000),
        required_channel_confirmations: 0,
        funding_confirms_within_blocks: 6,
        channel_expiry_blocks: 144,
        token: token.map(str::to_owned),
        announce_channel: true,
    }
}

/// bLIP-51 E1.2 (with a token).
pub fn create_order_request() -> lsps1::CreateOrderRequest {
    lsps1::CreateOrderRequest {
        order: order_params(Some("SPRING2026")),
        refund_onchain_address: Some(P2WSH.parse().unwrap()),
    }
}

pub fn order_id() -> OrderId {
    OrderId::new("bb4b5d0a-8334-49d8-9463-90a6d413af7c").unwrap()
}

/// A fresh order, every payment option offered and consistent
/// (`order_total_sat = fee_total_sat + client_balance_sat`).
pub fn order_created() -> OrderResult {
    let expires_at = datetime("2026-11-26T19:00:00.000Z");
    OrderResult {
        order_id: order_id(),
        order: order_params(Some("SPRING2026")),
        created_at: datetime("2026-11-26T18:00:00.000Z"),
        order_state: OrderState::Created,
        payment: PaymentInfo {
            bolt11: Some(Bolt11PaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(8888),
                order_total_sat: Sat(2_008_888),
                invoice: BOLT11.to_owned(),
            }),
            bolt12: Some(Bolt12PaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(8888),
                order_total_sat: Sat(2_008_888),
                offer: BOLT12.to_owned(),
            }),
            onchain: Some(OnchainPaymentInfo {
                state: PaymentState::ExpectPayment,
                expires_at,
                fee_total_sat: Sat(9999),
                order_total_sat: Sat(2_009_999),
                address: P2TR.parse().unwrap(),
                min_onchain_payment_confirmations: 0,
                min_fee_for_0conf: Some(FeeRate(253)),
                refund_onchain_address: Some(P2WSH.parse().unwrap()),
            }),
        },
        channel: None,
    }
}

/// The same order after a BOLT11 payment and the channel open; no token was given.
pub fn order_completed() -> OrderResult {
    let mut order = order_created();
    order.order.token = None;
    order.order_state = OrderState::Completed;
    order.payment.bolt12 = None;
    order.payment.onchain = None;
    if let Some(b) = order.payment.bolt11.as_mut() {
        b.state = PaymentState::Paid;
    }
    order.channel = Some(ChannelInfo {
        funded_at: datetime("2026-11-26T18:05:12.345Z"),
        funding_outpoint: "0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae:0"
            .parse()
            .unwrap(),
        expires_at: datetime("2027-05-26T18:05:12.345Z"),
    });
    order
}

/// bLIP-52 E2.2's fee levels with real promises for [`client_node_id`].
pub fn opening_fee_menu() -> Vec<OpeningFeeParams> {
    let secret = promise_secret();
    let node = client_node_id();
    [
        (546_000, 1200, "2026-11-26T18:47:30.511Z"),
        (1_092_000, 2400, "2026-11-27T21:23:57.984Z"),
    ]
    .into_iter()
    .map(|(min_fee, proportional, valid_until)| {
        secret.issue(
            &node,
            RawOpeningFeeParams {
                min_fee_msat: Msat(min_fee),
                proportional: Ppm(proportional),
                valid_until: datetime(valid_until),
                min_lifetime: 1008,
                max_client_to_self_delay: 2016,
                min_payment_size_msat: Msat(1_000_000),
                max_payment_size_msat: Msat(4_000_000_000),
            },
        )
    })
    .collect()
}

pub fn lsps2_get_info_result() -> lsps2::GetInfoResult {
    lsps2::GetInfoResult {
        opening_fee_params_menu: opening_fee_menu(),
    }
}

pub fn buy_request(payment_size_msat: Option<u64>) -> lsps2::BuyRequest {
    lsps2::BuyRequest {
        opening_fee_params: opening_fee_menu().remove(0),
        payment_size_msat: payment_size_msat.map(Msat),
    }
}

/// bLIP-52 E2.4.
pub fn buy_result() -> lsps2::BuyResult {
    lsps2::BuyResult {
        jit_channel_scid: "29451x4815x1".parse::<Scid>().unwrap(),
        lsp_cltv_expiry_delta: 144,
        client_trusts_lsp: false,
    }
}

//! proptest strategies for every lsps-core type, covering each type's full valid range
//! (feature `proptest`; also compiled for this crate's own unit tests). Downstream crates can
//! generate valid LSPS values for their own property tests with them.
// Test-support code: each function is named after the type it generates, and a strategy that
// builds a value the type's own constructor rejects is a bug in the strategy, so `unwrap`
// states that.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use crate::jsonrpc::{ErrorObject, RequestId, RequestParams, ResponseResult};
use crate::lsps0;
use crate::lsps1::{
    self, Bolt11PaymentInfo, Bolt12PaymentInfo, ChannelInfo, OnchainPaymentInfo, OrderId,
    OrderParams, OrderResult, OrderState, PaymentInfo, PaymentState,
};
use crate::lsps2::{self, OpeningFeeParams, RawOpeningFeeParams};
use crate::types::{
    Datetime, FeeRate, Msat, NodeId, OnchainAddress, Outpoint, Ppm, Sat, Scid, Txid,
};
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Secp256k1, SecretKey};
use bitcoin::{Network, WitnessProgram, WitnessVersion};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value};

pub fn sat() -> impl Strategy<Value = Sat> {
    any::<u64>().prop_map(Sat)
}

pub fn msat() -> impl Strategy<Value = Msat> {
    any::<u64>().prop_map(Msat)
}

pub fn ppm() -> impl Strategy<Value = Ppm> {
    any::<u32>().prop_map(Ppm)
}

pub fn fee_rate() -> impl Strategy<Value = FeeRate> {
    any::<u64>().prop_map(FeeRate)
}

pub fn datetime() -> impl Strategy<Value = Datetime> {
    (0..=Datetime::MAX.unix_millis()).prop_map(|ms| Datetime::from_unix_millis(ms).unwrap())
}

pub fn scid() -> impl Strategy<Value = Scid> {
    // Every u64 is a valid packed SCID (24 + 24 + 16 bits).
    any::<u64>().prop_map(Scid)
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    any::<[u8; 32]>().prop_filter_map("not a valid secret key", |b| {
        let sk = SecretKey::from_slice(&b).ok()?;
        Some(NodeId(sk.public_key(&Secp256k1::signing_only())))
    })
}

pub fn txid() -> impl Strategy<Value = Txid> {
    any::<[u8; 32]>().prop_map(|b| Txid(bitcoin::Txid::from_byte_array(b)))
}

pub fn outpoint() -> impl Strategy<Value = Outpoint> {
    (txid(), any::<u16>()).prop_map(|(txid, vout)| Outpoint { txid, vout })
}

/// P2WPKH, P2WSH or P2TR on any network.
pub fn onchain_address() -> impl Strategy<Value = OnchainAddress> {
    let network = prop_oneof![
        Just(Network::Bitcoin),
        Just(Network::Testnet),
        Just(Network::Signet),
        Just(Network::Regtest),
    ];
    let program = prop_oneof![
        any::<[u8; 20]>().prop_map(|b| WitnessProgram::new(WitnessVersion::V0, &b).unwrap()),
        any::<[u8; 32]>().prop_map(|b| WitnessProgram::new(WitnessVersion::V0, &b).unwrap()),
        any::<[u8; 32]>().prop_map(|b| WitnessProgram::new(WitnessVersion::V1, &b).unwrap()),
    ];
    (program, network).prop_map(|(program, network)| {
        bitcoin::Address::from_witness_program(program, network)
            .to_string()
            .parse()
            .unwrap()
    })
}

/// Any string, including control characters, quotes and non-ASCII text.
pub fn text() -> impl Strategy<Value = String> {
    any::<String>()
}

pub fn request_id() -> impl Strategy<Value = RequestId> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(RequestId::from_entropy),
        text().prop_map(RequestId),
    ]
}

/// JSON without floats (whose text form need not round-trip bit for bit).
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((text(), inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

pub fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    vec((text(), json_value()), 0..4).prop_map(|kv| kv.into_iter().collect())
}

/// An error object as it can arrive on the wire: `data` absent or an object.
pub fn error_object() -> impl Strategy<Value = ErrorObject> {
    (any::<i32>(), text(), option::of(json_object())).prop_map(|(code, message, data)| {
        ErrorObject {
            code,
            message,
            data: data.map(Value::Object),
        }
    })
}

// ----- LSPS0 -----

pub fn list_protocols_result() -> impl Strategy<Value = lsps0::ListProtocolsResult> {
    vec(any::<u16>(), 0..8).prop_map(|protocols| lsps0::ListProtocolsResult { protocols })
}

// ----- LSPS1 -----

pub fn lsps1_get_info_result() -> impl Strategy<Value = lsps1::GetInfoResult> {
    (
        (any::<u16>(), any::<u16>(), any::<bool>(), any::<u32>()),
        (sat(), sat(), sat(), sat(), sat(), sat()),
    )
        .prop_map(|((a, b, c, d), (e, f, g, h, i, j))| lsps1::GetInfoResult {
            min_required_channel_confirmations: a,
            min_funding_confirms_within_blocks: b,
            supports_zero_channel_reserve: c,
            max_channel_expiry_blocks: d,
            min_initial_client_balance_sat: e,
            max_initial_client_balance_sat: f,
            min_initial_lsp_balance_sat: g,
            max_initial_lsp_balance_sat: h,
            min_channel_balance_sat: i,
            max_channel_balance_sat: j,
        })
}

pub fn order_params_with_token(
    token: impl Strategy<Value = Option<String>>,
) -> impl Strategy<Value = OrderParams> {
    (
        sat(),
        sat(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        token,
        any::<bool>(),
    )
        .prop_map(
            |(lsp, client, req, within, expiry, token, announce)| OrderParams {
                lsp_balance_sat: lsp,
                client_balance_sat: client,
                required_channel_confirmations: req,
                funding_confirms_within_blocks: within,
                channel_expiry_blocks: expiry,
                token,
                announce_channel: announce,
            },
        )
}

pub fn create_order_request() -> impl Strategy<Value = lsps1::CreateOrderRequest> {
    (
        order_params_with_token(option::of(text())),
        option::of(onchain_address()),
    )
        .prop_map(
            |(order, refund_onchain_address)| lsps1::CreateOrderRequest {
                order,
                refund_onchain_address,
            },
        )
}

pub fn order_id() -> impl Strategy<Value = OrderId> {
    "\\PC{1,64}".prop_map(|s| OrderId::new(s).unwrap())
}

pub fn order_state() -> impl Strategy<Value = OrderState> {
    prop_oneof![
        Just(OrderState::Created),
        Just(OrderState::Completed),
        Just(OrderState::Failed)
    ]
}

pub fn payment_state() -> impl Strategy<Value = PaymentState> {
    prop_oneof![
        Just(PaymentState::ExpectPayment),
        Just(PaymentState::Hold),
        Just(PaymentState::Paid),
        Just(PaymentState::Refunded),
    ]
}

pub fn bolt11(invoice: impl Strategy<Value = String>) -> impl Strategy<Value = Bolt11PaymentInfo> {
    (payment_state(), datetime(), sat(), sat(), invoice).prop_map(
        |(state, exp, fee, total, invoice)| Bolt11PaymentInfo {
            state,
            expires_at: exp,
            fee_total_sat: fee,
            order_total_sat: total,
            invoice,
        },
    )
}

pub fn bolt12(offer: impl Strategy<Value = String>) -> impl Strategy<Value = Bolt12PaymentInfo> {
    (payment_state(), datetime(), sat(), sat(), offer).prop_map(
        |(state, exp, fee, total, offer)| Bolt12PaymentInfo {
            state,
            expires_at: exp,
            fee_total_sat: fee,
            order_total_sat: total,
            offer,
        },
    )
}

pub fn onchain(
    min_fee_for_0conf: impl Strategy<Value = Option<FeeRate>>,
) -> impl Strategy<Value = OnchainPaymentInfo> {
    (
        (payment_state(), datetime(), sat(), sat()),
        (
            onchain_address(),
            any::<u16>(),
            min_fee_for_0conf,
            option::of(onchain_address()),
        ),
    )
        .prop_map(
            |((state, exp, fee, total), (address, confs, min_fee, refund))| OnchainPaymentInfo {
                state,
                expires_at: exp,
                fee_total_sat: fee,
                order_total_sat: total,
                address,
                min_onchain_payment_confirmations: confs,
                min_fee_for_0conf: min_fee,
                refund_onchain_address: refund,
            },
        )
}

pub fn channel_info() -> impl Strategy<Value = ChannelInfo> {
    (datetime(), outpoint(), datetime()).prop_map(|(funded_at, funding_outpoint, expires_at)| {
        ChannelInfo {
            funded_at,
            funding_outpoint,
            expires_at,
        }
    })
}

pub fn payment_info() -> impl Strategy<Value = PaymentInfo> {
    (
        option::of(bolt11(text())),
        option::of(bolt12(text())),
        option::of(onchain(option::of(fee_rate()))),
    )
        .prop_map(|(bolt11, bolt12, onchain)| PaymentInfo {
            bolt11,
            bolt12,
            onchain,
        })
}

/// Any order, `token: Some("")` included (it reads back as `None`, which `OrderParams`
/// equality treats as the same token).
pub fn order_result() -> impl Strategy<Value = OrderResult> {
    (
        order_id(),
        order_params_with_token(option::of(prop_oneof![Just(String::new()), text()])),
        datetime(),
        order_state(),
        payment_info(),
        option::of(channel_info()),
    )
        .prop_map(
            |(order_id, order, created_at, order_state, payment, channel)| OrderResult {
                order_id,
                order,
                created_at,
                order_state,
                payment,
                channel,
            },
        )
}

// ----- LSPS2 -----

pub fn raw_opening_fee_params() -> impl Strategy<Value = RawOpeningFeeParams> {
    (
        msat(),
        ppm(),
        datetime(),
        any::<u32>(),
        any::<u32>(),
        msat(),
        msat(),
    )
        .prop_map(
            |(min_fee, prop, valid_until, lifetime, delay, min_size, max_size)| {
                RawOpeningFeeParams {
                    min_fee_msat: min_fee,
                    proportional: prop,
                    valid_until,
                    min_lifetime: lifetime,
                    max_client_to_self_delay: delay,
                    min_payment_size_msat: min_size,
                    max_payment_size_msat: max_size,
                }
            },
        )
}

/// Any promise text a client may have to carry back (printable ASCII, no escapes).
pub fn promise_text() -> impl Strategy<Value = String> {
    "[ !#-\\[\\]-~]{0,80}"
}

pub fn opening_fee_params() -> impl Strategy<Value = OpeningFeeParams> {
    (raw_opening_fee_params(), promise_text()).prop_map(|(raw, promise)| raw.with_promise(promise))
}

pub fn lsps2_get_info_request() -> impl Strategy<Value = lsps2::GetInfoRequest> {
    option::of(text()).prop_map(|token| lsps2::GetInfoRequest { token })
}

pub fn lsps2_get_info_result() -> impl Strategy<Value = lsps2::GetInfoResult> {
    vec(opening_fee_params(), 0..4).prop_map(|opening_fee_params_menu| lsps2::GetInfoResult {
        opening_fee_params_menu,
    })
}

pub fn buy_request() -> impl Strategy<Value = lsps2::BuyRequest> {
    (opening_fee_params(), option::of(msat())).prop_map(
        |(opening_fee_params, payment_size_msat)| lsps2::BuyRequest {
            opening_fee_params,
            payment_size_msat,
        },
    )
}

pub fn buy_result() -> impl Strategy<Value = lsps2::BuyResult> {
    (scid(), any::<u32>(), any::<bool>()).prop_map(|(scid, delta, trusts)| lsps2::BuyResult {
        jit_channel_scid: scid,
        lsp_cltv_expiry_delta: delta,
        client_trusts_lsp: trusts,
    })
}

// ----- Envelope -----

pub fn request_params() -> impl Strategy<Value = RequestParams> {
    prop_oneof![
        Just(RequestParams::Lsps0ListProtocols(
            lsps0::ListProtocolsRequest {}
        )),
        Just(RequestParams::Lsps1GetInfo(lsps1::GetInfoRequest {})),
        create_order_request().prop_map(RequestParams::Lsps1CreateOrder),
        order_id()
            .prop_map(|order_id| RequestParams::Lsps1GetOrder(lsps1::GetOrderRequest { order_id })),
        lsps2_get_info_request().prop_map(RequestParams::Lsps2GetInfo),
        buy_request().prop_map(RequestParams::Lsps2Buy),
    ]
}

pub fn response_result() -> impl Strategy<Value = ResponseResult> {
    prop_oneof![
        list_protocols_result().prop_map(ResponseResult::Lsps0ListProtocols),
        lsps1_get_info_result().prop_map(ResponseResult::Lsps1GetInfo),
        order_result().prop_map(ResponseResult::Lsps1CreateOrder),
        order_result().prop_map(ResponseResult::Lsps1GetOrder),
        lsps2_get_info_result().prop_map(ResponseResult::Lsps2GetInfo),
        buy_result().prop_map(ResponseResult::Lsps2Buy),
    ]
}

//! Differential tests against lightning-liquidity 0.2.7 (LDK), both directions, same JSON:
//!
//! - **ours → LDK**: lsps-core's JSON for a value, parsed by LDK's serde type, equals the
//!   `ldk` feature's conversion of that value;
//! - **LDK → ours**: LDK's JSON for a value, parsed by lsps-core, equals the conversion of
//!   that LDK value; for whole messages, LDK's `LSPSMessage` serializer feeds lsps-core's
//!   classifying decoders;
//! - conversions round-trip.
//!
//! The strategies cover what both libraries can represent. Everything outside that is a
//! deliberate difference, and each one is a named test in the `differences` module;
//! `agreements` pins behaviour where the two happen to agree and a change would matter.
#![cfg(feature = "ldk")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use core::fmt::Debug;

use lightning_liquidity::lsps0::msgs::{
    LSPS0ListProtocolsRequest, LSPS0ListProtocolsResponse, LSPS0Message, LSPS0Request,
    LSPS0Response,
};
use lightning_liquidity::lsps0::ser::{
    LSPSDateTime, LSPSMessage, LSPSRequestId, LSPSResponseError,
};
use lightning_liquidity::lsps1::msgs::{
    LSPS1CreateOrderRequest, LSPS1CreateOrderResponse, LSPS1GetInfoRequest, LSPS1GetInfoResponse,
    LSPS1GetOrderRequest, LSPS1Message, LSPS1Options, LSPS1OrderParams, LSPS1Request,
    LSPS1Response,
};
use lightning_liquidity::lsps2::msgs::{
    LSPS2BuyRequest, LSPS2BuyResponse, LSPS2GetInfoRequest, LSPS2GetInfoResponse,
    LSPS2InterceptScid, LSPS2Message, LSPS2OpeningFeeParams, LSPS2Request, LSPS2Response,
};
use lsps_core::jsonrpc::{
    ErrorObject, IncomingMessage, Method, RequestId, RequestParams, Response, ResponseResult,
    decode_request, decode_response,
};
use lsps_core::lsps0;
use lsps_core::lsps1::{self, OrderResult, PaymentInfo, PaymentState};
use lsps_core::lsps2;
use lsps_core::types::{Datetime, FeeRate, Scid};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use lsps_core::strategies::*;

// ---------------------------------------------------------------------------------------
// Generic properties
// ---------------------------------------------------------------------------------------

/// ours → LDK: LDK parses lsps-core's JSON to exactly the converted value.
fn ldk_reads_ours_as_conversion<T, L>(ours: &T) -> Result<(), TestCaseError>
where
    T: Serialize + Clone,
    L: DeserializeOwned + PartialEq + Debug + TryFrom<T>,
    <L as TryFrom<T>>::Error: Debug,
{
    reader_parses_as_conversion::<T, L>(ours, "LDK")
}

/// LDK → ours: lsps-core parses LDK's JSON to exactly the converted value.
fn ours_reads_ldk_as_conversion<L, T>(ldk: &L) -> Result<(), TestCaseError>
where
    L: Serialize + Clone,
    T: DeserializeOwned + PartialEq + Debug + TryFrom<L>,
    <T as TryFrom<L>>::Error: Debug,
{
    reader_parses_as_conversion::<L, T>(ldk, "lsps-core")
}

/// The JSON of `written` parses, on the `reader` side (type `R`), to exactly
/// `R::try_from(written)`.
fn reader_parses_as_conversion<W, R>(written: &W, reader: &str) -> Result<(), TestCaseError>
where
    W: Serialize + Clone,
    R: DeserializeOwned + PartialEq + Debug + TryFrom<W>,
    <R as TryFrom<W>>::Error: Debug,
{
    let json = serde_json::to_vec(written).unwrap();
    let parsed: R = serde_json::from_slice(&json).map_err(|e| {
        TestCaseError::fail(format!(
            "{reader} rejects {}: {e}",
            String::from_utf8_lossy(&json)
        ))
    })?;
    let converted = R::try_from(written.clone())
        .map_err(|e| TestCaseError::fail(format!("conversion for {reader} failed: {e:?}")))?;
    prop_assert_eq!(
        parsed,
        converted,
        "JSON: {}",
        String::from_utf8_lossy(&json)
    );
    Ok(())
}

/// ours → LDK → ours is the identity.
fn conversion_round_trip<T, L>(ours: &T) -> Result<(), TestCaseError>
where
    T: Clone + PartialEq + Debug + TryFrom<L>,
    L: TryFrom<T>,
    <T as TryFrom<L>>::Error: Debug,
    <L as TryFrom<T>>::Error: Debug,
{
    let ldk = L::try_from(ours.clone()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let back = T::try_from(ldk).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert_eq!(&back, ours);
    Ok(())
}

/// All three properties for a type pair.
fn agree<T, L>(ours: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + Clone + PartialEq + Debug + TryFrom<L>,
    L: Serialize + DeserializeOwned + Clone + PartialEq + Debug + TryFrom<T>,
    <T as TryFrom<L>>::Error: Debug,
    <L as TryFrom<T>>::Error: Debug,
{
    ldk_reads_ours_as_conversion::<T, L>(ours)?;
    conversion_round_trip::<T, L>(ours)?;
    let ldk = L::try_from(ours.clone()).unwrap();
    ours_reads_ldk_as_conversion::<L, T>(&ldk)
}

// ---------------------------------------------------------------------------------------
// Strategies for what both libraries represent, and for LDK's own freedoms
// ---------------------------------------------------------------------------------------

/// LDK datetimes carry nanoseconds; the range is lsps-core's (1970 to 9999).
fn ldk_datetime() -> impl Strategy<Value = LSPSDateTime> {
    (0i64..=253_402_300_799, 0u32..1_000_000_000).prop_map(|(secs, nanos)| {
        LSPSDateTime(chrono::DateTime::from_timestamp(secs, nanos).unwrap())
    })
}

fn ldk_opening_fee_params() -> impl Strategy<Value = LSPS2OpeningFeeParams> {
    (
        (any::<u64>(), any::<u32>(), ldk_datetime(), any::<u32>()),
        (any::<u32>(), any::<u64>(), any::<u64>(), promise_text()),
    )
        .prop_map(
            |((min_fee, prop, valid_until, lifetime), (delay, min, max, promise))| {
                LSPS2OpeningFeeParams {
                    min_fee_msat: min_fee,
                    proportional: prop,
                    valid_until,
                    min_lifetime: lifetime,
                    max_client_to_self_delay: delay,
                    min_payment_size_msat: min,
                    max_payment_size_msat: max,
                    promise,
                }
            },
        )
}

fn ldk_payment_state() -> impl Strategy<Value = PaymentState> {
    prop_oneof![
        Just(PaymentState::ExpectPayment),
        Just(PaymentState::Paid),
        Just(PaymentState::Refunded),
    ]
}

/// Payment options LDK can hold: no `HOLD`, a parseable invoice and offer, and a
/// `min_fee_for_0conf` within 32 bits.
fn ldk_payment_info() -> impl Strategy<Value = PaymentInfo> {
    let fee = (0..=u64::from(u32::MAX)).prop_map(|f| Some(FeeRate(f)));
    (
        option::of(bolt11(Just(common::BOLT11.to_owned()))),
        option::of(bolt12(Just(common::BOLT12.to_owned()))),
        option::of(onchain(fee)),
        ldk_payment_state(),
        ldk_payment_state(),
        ldk_payment_state(),
    )
        .prop_map(|(mut bolt11, mut bolt12, mut onchain, s11, s12, son)| {
            if let Some(b) = bolt11.as_mut() {
                b.state = s11;
            }
            if let Some(b) = bolt12.as_mut() {
                b.state = s12;
            }
            if let Some(o) = onchain.as_mut() {
                o.state = son;
            }
            PaymentInfo {
                bolt11,
                bolt12,
                onchain,
            }
        })
}

fn ldk_order_result() -> impl Strategy<Value = OrderResult> {
    (order_result(), ldk_payment_info()).prop_map(|(mut order, payment)| {
        order.payment = payment;
        order
    })
}

// ---------------------------------------------------------------------------------------
// Both directions, every params and result type
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn lsps0_list_protocols(result in list_protocols_result()) {
        agree::<lsps0::ListProtocolsRequest, LSPS0ListProtocolsRequest>(
            &lsps0::ListProtocolsRequest {},
        )?;
        agree::<lsps0::ListProtocolsResult, LSPS0ListProtocolsResponse>(&result)?;
    }

    #[test]
    fn lsps1_get_info(info in lsps1_get_info_result()) {
        agree::<lsps1::GetInfoRequest, LSPS1GetInfoRequest>(&lsps1::GetInfoRequest {})?;
        agree::<lsps1::GetInfoResult, LSPS1GetInfoResponse>(&info)?;
        agree::<lsps1::GetInfoResult, LSPS1Options>(&info)?;
    }

    #[test]
    fn lsps1_create_order_request(request in create_order_request()) {
        agree::<lsps1::CreateOrderRequest, LSPS1CreateOrderRequest>(&request)?;
    }

    #[test]
    fn lsps1_get_order_request(order_id in order_id()) {
        agree::<lsps1::GetOrderRequest, LSPS1GetOrderRequest>(
            &lsps1::GetOrderRequest { order_id },
        )?;
    }

    #[test]
    fn lsps1_order_result(order in ldk_order_result()) {
        agree::<OrderResult, LSPS1CreateOrderResponse>(&order)?;
    }

    #[test]
    fn lsps2_get_info(request in lsps2_get_info_request(), result in lsps2_get_info_result()) {
        agree::<lsps2::GetInfoRequest, LSPS2GetInfoRequest>(&request)?;
        agree::<lsps2::GetInfoResult, LSPS2GetInfoResponse>(&result)?;
    }

    #[test]
    fn lsps2_buy(request in buy_request(), result in buy_result()) {
        agree::<lsps2::BuyRequest, LSPS2BuyRequest>(&request)?;
        agree::<lsps2::BuyResult, LSPS2BuyResponse>(&result)?;
    }

    /// LDK's freedoms the generic properties above do not reach: nanosecond datetimes and
    /// `null` tokens, written by LDK and read by lsps-core.
    #[test]
    fn ldk_written_values_read_by_lsps_core(
        params in ldk_opening_fee_params(),
        size in option::of(any::<u64>()),
        scid in any::<u64>(),
        token in option::of(text()),
        created_at in ldk_datetime(),
        order in ldk_order_result(),
        ldk_token in option::of(".*"),
    ) {
        ours_reads_ldk_as_conversion::<_, lsps2::OpeningFeeParams>(&params)?;
        ours_reads_ldk_as_conversion::<_, lsps2::GetInfoResult>(&LSPS2GetInfoResponse {
            opening_fee_params_menu: vec![params.clone()],
        })?;
        ours_reads_ldk_as_conversion::<_, lsps2::BuyRequest>(&LSPS2BuyRequest {
            opening_fee_params: params,
            payment_size_msat: size,
        })?;
        ours_reads_ldk_as_conversion::<_, lsps2::BuyResult>(&LSPS2BuyResponse {
            jit_channel_scid: LSPS2InterceptScid::from(scid),
            lsp_cltv_expiry_delta: 144,
            client_trusts_lsp: false,
        })?;
        ours_reads_ldk_as_conversion::<_, lsps2::GetInfoRequest>(&LSPS2GetInfoRequest { token })?;
        let mut ldk_order = LSPS1CreateOrderResponse::try_from(order).unwrap();
        ldk_order.created_at = created_at;
        ldk_order.order.token = ldk_token;
        ours_reads_ldk_as_conversion::<_, OrderResult>(&ldk_order)?;
    }

    /// Whole messages written by LDK's `LSPSMessage` serializer go through lsps-core's
    /// request classifier (LSP side) and equal the conversion of LDK's params.
    #[test]
    fn ldk_requests_through_decode_request(
        id in "[0-9a-f]{32}",
        token in option::of(text()),
        create in create_order_request(),
        order_id in order_id(),
        params in ldk_opening_fee_params(),
        size in option::of(any::<u64>()),
    ) {
        let rid = LSPSRequestId(id.clone());
        let cases: Vec<(LSPSMessage, RequestParams)> = vec![
            (
                LSPSMessage::LSPS0(LSPS0Message::Request(
                    rid.clone(),
                    LSPS0Request::ListProtocols(LSPS0ListProtocolsRequest {}),
                )),
                lsps0::ListProtocolsRequest {}.into(),
            ),
            (
                LSPSMessage::LSPS1(LSPS1Message::Request(
                    rid.clone(),
                    LSPS1Request::GetInfo(LSPS1GetInfoRequest {}),
                )),
                lsps1::GetInfoRequest {}.into(),
            ),
            (
                LSPSMessage::LSPS1(LSPS1Message::Request(
                    rid.clone(),
                    LSPS1Request::CreateOrder(create.clone().into()),
                )),
                create.into(),
            ),
            (
                LSPSMessage::LSPS1(LSPS1Message::Request(
                    rid.clone(),
                    LSPS1Request::GetOrder(LSPS1GetOrderRequest { order_id: order_id.clone().into() }),
                )),
                lsps1::GetOrderRequest { order_id }.into(),
            ),
            (
                LSPSMessage::LSPS2(LSPS2Message::Request(
                    rid.clone(),
                    LSPS2Request::GetInfo(LSPS2GetInfoRequest { token: token.clone() }),
                )),
                lsps2::GetInfoRequest { token }.into(),
            ),
            (
                LSPSMessage::LSPS2(LSPS2Message::Request(
                    rid.clone(),
                    LSPS2Request::Buy(LSPS2BuyRequest {
                        opening_fee_params: params.clone(),
                        payment_size_msat: size,
                    }),
                )),
                lsps2::BuyRequest::try_from(LSPS2BuyRequest {
                    opening_fee_params: params,
                    payment_size_msat: size,
                })
                .unwrap()
                .into(),
            ),
        ];
        for (message, expected) in cases {
            let bytes = serde_json::to_vec(&message).unwrap();
            let request = decode_request(&bytes).map_err(|reply| {
                TestCaseError::fail(format!(
                    "{} answered with {}",
                    String::from_utf8_lossy(&bytes),
                    String::from_utf8_lossy(&reply.to_bytes())
                ))
            })?;
            prop_assert_eq!(&request.id, &RequestId(id.clone()));
            prop_assert_eq!(request.params, expected);
        }
    }

    /// Whole responses written by LDK go through lsps-core's client-side classifier and
    /// equal the conversion of LDK's results; errors are equal on the wire.
    #[test]
    fn ldk_responses_through_decode_response(
        id in "[0-9a-f]{32}",
        protocols in vec(any::<u16>(), 0..4),
        info in lsps1_get_info_result(),
        order in ldk_order_result(),
        menu in vec(ldk_opening_fee_params(), 0..3),
        scid in any::<u64>(),
        trusts in any::<bool>(),
        code in any::<i32>(),
        message in text(),
        data in option::of(text()),
    ) {
        let rid = LSPSRequestId(id.clone());
        let ldk_order = LSPS1CreateOrderResponse::try_from(order).unwrap();
        let ldk_menu = LSPS2GetInfoResponse { opening_fee_params_menu: menu };
        let ldk_buy = LSPS2BuyResponse {
            jit_channel_scid: LSPS2InterceptScid::from(scid),
            lsp_cltv_expiry_delta: 144,
            client_trusts_lsp: trusts,
        };
        let ldk_error = LSPSResponseError { code, message, data };
        let cases: Vec<(LSPSMessage, Method, Result<ResponseResult, ErrorObject>)> = vec![
            (
                LSPSMessage::LSPS0(LSPS0Message::Response(
                    rid.clone(),
                    LSPS0Response::ListProtocols(LSPS0ListProtocolsResponse {
                        protocols: protocols.clone(),
                    }),
                )),
                Method::Lsps0ListProtocols,
                Ok(lsps0::ListProtocolsResult { protocols }.into()),
            ),
            (
                LSPSMessage::LSPS1(LSPS1Message::Response(
                    rid.clone(),
                    LSPS1Response::GetInfo(info.clone().into()),
                )),
                Method::Lsps1GetInfo,
                Ok(info.into()),
            ),
            (
                LSPSMessage::LSPS1(LSPS1Message::Response(
                    rid.clone(),
                    LSPS1Response::GetOrder(ldk_order.clone()),
                )),
                Method::Lsps1GetOrder,
                Ok(ResponseResult::Lsps1GetOrder(ldk_order.try_into().unwrap())),
            ),
            (
                LSPSMessage::LSPS2(LSPS2Message::Response(
                    rid.clone(),
                    LSPS2Response::GetInfo(ldk_menu.clone()),
                )),
                Method::Lsps2GetInfo,
                Ok(lsps2::GetInfoResult::try_from(ldk_menu).unwrap().into()),
            ),
            (
                LSPSMessage::LSPS2(LSPS2Message::Response(
                    rid.clone(),
                    LSPS2Response::Buy(ldk_buy.clone()),
                )),
                Method::Lsps2Buy,
                Ok(lsps2::BuyResult::try_from(ldk_buy).unwrap().into()),
            ),
            (
                LSPSMessage::LSPS2(LSPS2Message::Response(
                    rid.clone(),
                    LSPS2Response::BuyError(ldk_error.clone()),
                )),
                Method::Lsps2Buy,
                Err(ldk_error.into()),
            ),
        ];
        for (message, method, expected) in cases {
            let bytes = serde_json::to_vec(&message).unwrap();
            let lookup = |asked: &RequestId| (asked.as_str() == id).then_some(method);
            let decoded = decode_response(&bytes, &lookup).map_err(|e| {
                TestCaseError::fail(format!("{}: {e}", String::from_utf8_lossy(&bytes)))
            })?;
            let IncomingMessage::Response { id: got, method: got_method, body } = decoded else {
                return Err(TestCaseError::fail(format!("not a response: {decoded:?}")));
            };
            prop_assert_eq!(got.as_str(), id.as_str());
            prop_assert_eq!(got_method, method);
            // Compare on the wire: LDK's `"data": null` reads as `Some(Null)`, which lsps-core
            // writes exactly as the converted `None` (absent).
            let ours = Response { id: Some(got), body }.to_bytes();
            let converted = Response { id: Some(RequestId(id.clone())), body: expected }.to_bytes();
            prop_assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(converted).unwrap()
            );
        }
    }

    /// ours → LDK → ours keeps every error on the wire when `data` is absent, a lone
    /// `message` string, or a plain string.
    #[test]
    fn error_conversion_round_trip(
        code in any::<i32>(),
        message in text(),
        data in option::of(prop_oneof![
            text().prop_map(serde_json::Value::String),
            text().prop_map(|m| serde_json::json!({ "message": m })),
        ]),
    ) {
        let ours = ErrorObject { code, message, data };
        let back = ErrorObject::from(LSPSResponseError::from(ours.clone()));
        prop_assert_eq!(
            Response::error(None, back).to_bytes(),
            Response::error(None, ours).to_bytes()
        );
    }

    #[test]
    fn datetime_and_scid_conversions(d in datetime(), ldk in ldk_datetime(), scid in scid()) {
        prop_assert_eq!(Datetime::try_from(LSPSDateTime::from(d)).unwrap(), d);
        // From LDK: digits below the millisecond are dropped, as the lenient reader does.
        let ours = Datetime::try_from(ldk).unwrap();
        prop_assert_eq!(ours.unix_millis(), u64::try_from(ldk.0.timestamp_millis()).unwrap());
        prop_assert_eq!(Scid::try_from(LSPS2InterceptScid::from(scid)).unwrap(), scid);
        prop_assert_eq!(LSPS2InterceptScid::from(scid).to_scid(), Ok(scid.get()));
    }
}

/// Deliberate differences, one named test each.
mod differences;

/// Agreements worth pinning.
mod agreements;

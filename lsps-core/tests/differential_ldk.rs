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
//! deliberate difference, and each one is a named test in the `differences` module below;
//! `agreements` pins behaviour where the two happen to agree and a change would matter.
#![cfg(feature = "ldk")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
    let json = serde_json::to_vec(ours).unwrap();
    let parsed: L = serde_json::from_slice(&json).map_err(|e| {
        TestCaseError::fail(format!(
            "LDK rejects {}: {e}",
            String::from_utf8_lossy(&json)
        ))
    })?;
    let converted = L::try_from(ours.clone())
        .map_err(|e| TestCaseError::fail(format!("conversion to LDK failed: {e:?}")))?;
    prop_assert_eq!(
        parsed,
        converted,
        "JSON: {}",
        String::from_utf8_lossy(&json)
    );
    Ok(())
}

/// LDK → ours: lsps-core parses LDK's JSON to exactly the converted value.
fn ours_reads_ldk_as_conversion<L, T>(ldk: &L) -> Result<(), TestCaseError>
where
    L: Serialize + Clone,
    T: DeserializeOwned + PartialEq + Debug + TryFrom<L>,
    <T as TryFrom<L>>::Error: Debug,
{
    let json = serde_json::to_vec(ldk).unwrap();
    let parsed: T = serde_json::from_slice(&json).map_err(|e| {
        TestCaseError::fail(format!(
            "lsps-core rejects {}: {e}",
            String::from_utf8_lossy(&json)
        ))
    })?;
    let converted = T::try_from(ldk.clone())
        .map_err(|e| TestCaseError::fail(format!("conversion from LDK failed: {e:?}")))?;
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

// ---------------------------------------------------------------------------------------
// Deliberate differences, one named test each
// ---------------------------------------------------------------------------------------

mod differences {
    use super::*;
    use lsps_core::jsonrpc::BadMessage;
    use lsps_core::ldk::LdkConversionError;
    use lsps_core::types::{DatetimeError, DatetimeMode, ScidError};
    use serde_json::json;

    fn ldk_parse<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn ours_parse<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    /// LSPS0 says `error.data` is an object; LDK's `LSPSResponseError.data` is a string, so
    /// LDK cannot read the spec's own -32602 example, and lsps-core never writes a string.
    #[test]
    fn error_data_string_in_ldk_object_in_lsps0() {
        let spec_error = r#"{"code":-32602,"message":"Invalid params","data":{"unrecognized":["future_feature1_param"]}}"#;
        let err = ldk_parse::<LSPSResponseError>(spec_error).unwrap_err();
        assert!(
            err.contains("invalid type: map, expected a string"),
            "{err}"
        );

        // LDK writes a string `data`; lsps-core reads it and writes it back as an object.
        let ldk = LSPSResponseError {
            code: 100,
            message: "Option mismatch".into(),
            data: Some("Supported options are ...".into()),
        };
        let ldk_json = serde_json::to_string(&ldk).unwrap();
        assert_eq!(
            ldk_json,
            r#"{"code":100,"message":"Option mismatch","data":"Supported options are ..."}"#
        );
        let envelope = format!(r#"{{"jsonrpc":"2.0","id":"a","error":{ldk_json}}}"#);
        let lookup = |_: &RequestId| Some(Method::Lsps1CreateOrder);
        let IncomingMessage::Response {
            body: Err(ours), ..
        } = decode_response(envelope.as_bytes(), &lookup).unwrap()
        else {
            panic!("not an error response");
        };
        assert_eq!(ours.data, Some(json!("Supported options are ...")));
        assert_eq!(
            String::from_utf8(Response::error(None, ours).to_bytes()).unwrap(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":100,"message":"Option mismatch","data":{"message":"Supported options are ..."}}}"#
        );

        // Towards LDK, an object that is more than a lone message is flattened to JSON text.
        let ours = ErrorObject::unrecognized_params(["x"]);
        let ldk = LSPSResponseError::from(ours);
        assert_eq!(ldk.data.as_deref(), Some(r#"{"unrecognized":["x"]}"#));
        let ours = ErrorObject::client_rejected("no");
        assert_eq!(LSPSResponseError::from(ours).data.as_deref(), Some("no"));
    }

    /// LDK writes an absent `error.data` as `null`; lsps-core omits the member.
    #[test]
    fn error_data_null_vs_absent() {
        let ldk = LSPSResponseError {
            code: 201,
            message: "x".into(),
            data: None,
        };
        assert_eq!(
            serde_json::to_string(&ldk).unwrap(),
            r#"{"code":201,"message":"x","data":null}"#
        );
        let ours: ErrorObject = ldk.into();
        assert_eq!(
            String::from_utf8(Response::error(None, ours).to_bytes()).unwrap(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":201,"message":"x"}}"#
        );
    }

    /// `lsps2.get_info` without a token: LDK writes `{"token":null}`, lsps-core `{}`. Each
    /// reads the other's form as "no token".
    #[test]
    fn lsps2_get_info_token_null_vs_absent() {
        let ldk = LSPS2GetInfoRequest { token: None };
        assert_eq!(serde_json::to_string(&ldk).unwrap(), r#"{"token":null}"#);
        let ours = lsps2::GetInfoRequest { token: None };
        assert_eq!(serde_json::to_string(&ours).unwrap(), "{}");
        assert_eq!(
            ours_parse::<lsps2::GetInfoRequest>(r#"{"token":null}"#).unwrap(),
            ours
        );
        assert_eq!(ldk_parse::<LSPS2GetInfoRequest>("{}").unwrap(), ldk);
        // The LSP's classifier accepts LDK's form too.
        let payload =
            br#"{"jsonrpc":"2.0","id":"a","method":"lsps2.get_info","params":{"token":null}}"#;
        assert_eq!(
            decode_request(payload).unwrap().params,
            RequestParams::Lsps2GetInfo(ours)
        );
    }

    /// `lsps1.create_order` without a token: LDK writes `"token":null`, lsps-core omits it.
    #[test]
    fn lsps1_create_order_token_null_vs_absent() {
        let ours = lsps1::CreateOrderRequest {
            order: common::order_params(None),
            refund_onchain_address: None,
        };
        let ldk = LSPS1CreateOrderRequest::from(ours.clone());
        let ldk_json = serde_json::to_value(&ldk).unwrap();
        assert_eq!(ldk_json["token"], serde_json::Value::Null);
        assert!(ldk_json.as_object().unwrap().contains_key("token"));
        let ours_json = serde_json::to_value(&ours).unwrap();
        assert!(!ours_json.as_object().unwrap().contains_key("token"));
        assert_eq!(
            serde_json::from_value::<lsps1::CreateOrderRequest>(ldk_json).unwrap(),
            ours
        );
    }

    /// bLIP-51: an order's `token` MUST be `""` when none was given. LDK writes `null` for
    /// an order it holds without a token; lsps-core writes `""` and reads both as absent.
    #[test]
    fn lsps1_order_token_null_vs_empty_string() {
        let mut ldk = LSPS1CreateOrderResponse::try_from(common::order_completed()).unwrap();
        assert_eq!(
            ldk.order.token.as_deref(),
            Some(""),
            "conversion writes the spec's \"\""
        );
        ldk.order.token = None;
        let ldk_json = serde_json::to_value(&ldk).unwrap();
        assert_eq!(ldk_json["token"], serde_json::Value::Null);
        let ours: OrderResult = serde_json::from_value(ldk_json).unwrap();
        assert_eq!(ours.order.token, None);
        assert_eq!(serde_json::to_value(&ours).unwrap()["token"], json!(""));
    }

    /// LDK writes chrono's RFC 3339 with 0, 3, 6 or 9 fractional digits; lsps-core always
    /// writes exactly 3 (`YYYY-MM-DDThh:mm:ss.sssZ`), reads LDK's forms leniently (dropping
    /// digits below the millisecond) and rejects all but 3 digits in strict mode.
    #[test]
    fn datetime_fraction_digits() {
        let at = |secs, nanos| LSPSDateTime(chrono::DateTime::from_timestamp(secs, nanos).unwrap());
        let cases = [
            (
                at(1_677_142_050, 0),
                "2023-02-23T08:47:30Z",
                "2023-02-23T08:47:30.000Z",
            ),
            (
                at(1_677_142_050, 511_000_000),
                "2023-02-23T08:47:30.511Z",
                "2023-02-23T08:47:30.511Z",
            ),
            (
                at(1_677_142_050, 511_200_000),
                "2023-02-23T08:47:30.511200Z",
                "2023-02-23T08:47:30.511Z",
            ),
            (
                at(1_677_142_050, 511_200_300),
                "2023-02-23T08:47:30.511200300Z",
                "2023-02-23T08:47:30.511Z",
            ),
        ];
        for (ldk, ldk_text, ours_text) in cases {
            assert_eq!(serde_json::to_value(ldk).unwrap(), json!(ldk_text));
            let ours: Datetime = serde_json::from_value(json!(ldk_text)).unwrap();
            assert_eq!(ours.to_string(), ours_text);
            assert_eq!(Datetime::try_from(ldk).unwrap(), ours);
            assert_eq!(
                Datetime::parse(ldk_text, DatetimeMode::Strict).is_ok(),
                ldk_text == ours_text,
                "{ldk_text}"
            );
            // LDK reads lsps-core's form back to the millisecond.
            let back: LSPSDateTime = serde_json::from_value(json!(ours_text)).unwrap();
            assert_eq!(back.0.timestamp_millis(), ldk.0.timestamp_millis());
        }
        // LDK's Display (used in its promise HMAC) is yet another form: `+00:00`, not `Z`.
        assert_eq!(
            at(1_677_142_050, 0).to_string(),
            "2023-02-23T08:47:30+00:00"
        );
    }

    /// LDK reads any `NxNxN` SCID and shifts out-of-range parts into neighbouring bits;
    /// lsps-core enforces 24/24/16 bits.
    #[test]
    fn scid_parts_out_of_range() {
        let json = r#"{"jit_channel_scid":"16777216x0x70000","lsp_cltv_expiry_delta":144}"#;
        let ldk: LSPS2BuyResponse = ldk_parse(json).unwrap();
        // 16777216 << 40 overflows to 0, and 70000 spills into the transaction index.
        assert_eq!(ldk.jit_channel_scid.to_scid(), Ok(70_000));
        let err = ours_parse::<lsps2::BuyResult>(json).unwrap_err();
        assert!(err.contains("block height exceeds 16777215"), "{err}");
        assert_eq!(
            lsps2::BuyResult::try_from(ldk),
            Err(LdkConversionError::Scid(ScidError::BlockTooLarge))
        );
    }

    /// bLIP-52: `opening_fee_params` has exactly 8 fields and a client MUST abort on others.
    /// LDK ignores unknown fields; lsps-core rejects them.
    #[test]
    fn opening_fee_params_unknown_field() {
        let mut params = serde_json::to_value(&common::opening_fee_menu()[0]).unwrap();
        params["extra"] = json!(true);
        let json = params.to_string();
        assert!(ldk_parse::<LSPS2OpeningFeeParams>(&json).is_ok());
        let err = ours_parse::<lsps2::OpeningFeeParams>(&json).unwrap_err();
        assert!(err.contains("unknown field `extra`"), "{err}");
    }

    /// bLIP-51 payment state `HOLD` does not exist in LDK 0.2.7.
    #[test]
    fn payment_state_hold() {
        let mut order = common::order_created();
        order.payment.bolt11.as_mut().unwrap().state = PaymentState::Hold;
        let json = serde_json::to_string(&order).unwrap();
        let err = ldk_parse::<LSPS1CreateOrderResponse>(&json).unwrap_err();
        assert!(err.contains("HOLD"), "{err}");
        assert_eq!(
            LSPS1CreateOrderResponse::try_from(order),
            Err(LdkConversionError::HoldState)
        );
        // Both read the legacy CANCELLED as REFUNDED (an agreement kept here for contrast).
        assert_eq!(
            ours_parse::<PaymentState>(r#""CANCELLED""#).unwrap(),
            PaymentState::Refunded
        );
    }

    /// `min_fee_for_0conf` MUST be absent or null when `min_onchain_payment_confirmations > 0`
    /// (bLIP-51); LDK requires it always. LDK in turn allows a `null`
    /// `min_onchain_payment_confirmations`, which lsps-core reads as 1
    /// (`NULL_ONCHAIN_CONFIRMATIONS`) and writes back as a number.
    #[test]
    fn onchain_optional_fields() {
        let mut order = common::order_created();
        let onchain = order.payment.onchain.as_mut().unwrap();
        onchain.min_onchain_payment_confirmations = 1;
        onchain.min_fee_for_0conf = None;
        let json = serde_json::to_string(&order).unwrap();
        let err = ldk_parse::<LSPS1CreateOrderResponse>(&json).unwrap_err();
        assert!(err.contains("min_fee_for_0conf"), "{err}");
        assert_eq!(
            LSPS1CreateOrderResponse::try_from(order),
            Err(LdkConversionError::Missing(
                "payment.onchain.min_fee_for_0conf"
            ))
        );

        let mut ldk = LSPS1CreateOrderResponse::try_from(common::order_created()).unwrap();
        ldk.payment
            .onchain
            .as_mut()
            .unwrap()
            .min_onchain_payment_confirmations = None;
        let json = serde_json::to_string(&ldk).unwrap();
        assert!(json.contains(r#""min_onchain_payment_confirmations":null"#));
        let ours = ours_parse::<OrderResult>(&json).unwrap();
        let onchain = ours.payment.onchain.as_ref().unwrap();
        assert_eq!(
            onchain.min_onchain_payment_confirmations,
            lsps_core::lsps1::NULL_ONCHAIN_CONFIRMATIONS
        );
        assert!(
            serde_json::to_string(&ours)
                .unwrap()
                .contains(r#""min_onchain_payment_confirmations":1"#)
        );
        // The conversion agrees with the JSON reader.
        assert_eq!(OrderResult::try_from(ldk).unwrap(), ours);
    }

    /// `LSPS0.onchain_fee_rate` is any JSON integer; LDK reads only 32 bits and writes a
    /// larger rate truncated to 32 bits.
    #[test]
    fn fee_rate_above_u32() {
        let mut order = common::order_created();
        order.payment.onchain.as_mut().unwrap().min_fee_for_0conf = Some(FeeRate(1 << 32));
        let json = serde_json::to_string(&order).unwrap();
        assert!(json.contains(r#""min_fee_for_0conf":4294967296"#));
        assert!(ldk_parse::<LSPS1CreateOrderResponse>(&json).is_err());
        assert_eq!(
            LSPS1CreateOrderResponse::try_from(order),
            Err(LdkConversionError::FeeRateTooLarge(1 << 32))
        );
        // What LDK writes for such a rate: the low 32 bits.
        let mut ldk = LSPS1CreateOrderResponse::try_from(common::order_created()).unwrap();
        ldk.payment.onchain.as_mut().unwrap().min_fee_for_0conf =
            bitcoin::FeeRate::from_sat_per_kwu((1 << 32) + 253);
        let written = serde_json::to_value(&ldk).unwrap();
        assert_eq!(
            written["payment"]["onchain"]["min_fee_for_0conf"],
            json!(253)
        );
    }

    /// `LSPS0.output_index` is 16 bits; LDK's `bitcoin::OutPoint` reads 32.
    #[test]
    fn outpoint_index_above_u16() {
        let txid = "0301e0480b374b32851a9462db29dc19fe830a7f7d7a88b81612b9d42099c0ae";
        let json = format!(
            r#"{{"funded_at":"2026-01-01T00:00:00.000Z","funding_outpoint":"{txid}:70000","expires_at":"2026-01-01T00:00:00.000Z"}}"#
        );
        let ldk: lightning_liquidity::lsps1::msgs::LSPS1ChannelInfo = ldk_parse(&json).unwrap();
        assert!(ours_parse::<lsps1::ChannelInfo>(&json).is_err());
        assert_eq!(
            lsps1::ChannelInfo::try_from(ldk),
            Err(LdkConversionError::OutputIndex(70_000))
        );
    }

    /// `LSPS0.onchain_address` is SegWit only; LDK takes any address.
    #[test]
    fn non_segwit_refund_address() {
        let mut params = serde_json::to_value(common::create_order_request()).unwrap();
        params["refund_onchain_address"] = json!("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
        let ldk: LSPS1CreateOrderRequest = serde_json::from_value(params.clone()).unwrap();
        assert!(serde_json::from_value::<lsps1::CreateOrderRequest>(params).is_err());
        assert!(matches!(
            lsps1::CreateOrderRequest::try_from(ldk),
            Err(LdkConversionError::Address {
                field: "refund_onchain_address",
                ..
            })
        ));
    }

    /// bLIP-51: `order_id` is at most 64 characters; LDK takes any string.
    #[test]
    fn order_id_longer_than_64() {
        let long = "a".repeat(65);
        let json = json!({ "order_id": long }).to_string();
        let ldk: LSPS1GetOrderRequest = ldk_parse(&json).unwrap();
        assert!(ours_parse::<lsps1::GetOrderRequest>(&json).is_err());
        assert!(matches!(
            lsps1::GetOrderRequest::try_from(ldk),
            Err(LdkConversionError::OrderId(_))
        ));
    }

    /// `LSPS0.msat` is decimal digits; LDK uses Rust's `u64::from_str`, which also takes a
    /// leading `+`.
    #[test]
    fn amount_with_plus_sign() {
        let json = r#"{"opening_fee_params":{"min_fee_msat":"546000","proportional":1200,"valid_until":"2026-01-01T00:00:00.000Z","min_lifetime":1008,"max_client_to_self_delay":2016,"min_payment_size_msat":"1000","max_payment_size_msat":"1000000","promise":"p"},"payment_size_msat":"+42000"}"#;
        let ldk: LSPS2BuyRequest = ldk_parse(json).unwrap();
        assert_eq!(ldk.payment_size_msat, Some(42_000));
        let err = ours_parse::<lsps2::BuyRequest>(json).unwrap_err();
        assert!(err.contains("decimal digits"), "{err}");
    }

    /// LDK cannot represent a pre-1970 instant either, but its field is public: a value built
    /// in code is refused by the conversion rather than wrapped.
    #[test]
    fn pre_epoch_datetime_built_in_code() {
        let before = LSPSDateTime(chrono::DateTime::from_timestamp(-1, 0).unwrap());
        assert_eq!(
            Datetime::try_from(before),
            Err(DatetimeError::BeforeUnixEpoch)
        );
        assert!(ldk_parse::<LSPSDateTime>(r#""1969-12-31T23:59:59Z""#).is_err());
    }

    /// A response to an unknown id: lsps-core's client-side classifier reports it (LSPS0:
    /// ignore), where LDK's parser fails the whole message and mutes the peer (docs/ldk-notes.md §2).
    #[test]
    fn response_with_unknown_id_is_classified_not_rejected() {
        let payload = br#"{"jsonrpc":"2.0","id":"nobody","result":{"protocols":[2]}}"#;
        let lookup = |_: &RequestId| None;
        assert_eq!(
            decode_response(payload, &lookup),
            Ok(IncomingMessage::UnknownId {
                id: RequestId("nobody".into())
            })
        );
        let trailing = br#"{"jsonrpc":"2.0","id":"a","result":{}} {}"#;
        assert!(matches!(
            decode_response(trailing, &lookup),
            Err(BadMessage::Format(_))
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Agreements worth pinning
// ---------------------------------------------------------------------------------------

mod agreements {
    use super::*;

    /// Both read an absent `client_trusts_lsp` as `false`.
    #[test]
    fn client_trusts_lsp_defaults_to_false() {
        let json = r#"{"jit_channel_scid":"29451x4815x1","lsp_cltv_expiry_delta":144}"#;
        let ldk: LSPS2BuyResponse = serde_json::from_str(json).unwrap();
        let ours: lsps2::BuyResult = serde_json::from_str(json).unwrap();
        assert!(!ldk.client_trusts_lsp);
        assert_eq!(ours, common::buy_result());
    }

    /// Both reject an amount written as a JSON number.
    #[test]
    fn amounts_must_be_strings() {
        let json = r#"{"opening_fee_params_menu":[{"min_fee_msat":546000,"proportional":1200,"valid_until":"2026-01-01T00:00:00.000Z","min_lifetime":1008,"max_client_to_self_delay":2016,"min_payment_size_msat":"1000","max_payment_size_msat":"1000000","promise":"p"}]}"#;
        assert!(serde_json::from_str::<LSPS2GetInfoResponse>(json).is_err());
        assert!(serde_json::from_str::<lsps2::GetInfoResult>(json).is_err());
    }

    /// Both ignore unknown keys in results (outside `opening_fee_params`).
    #[test]
    fn unknown_result_keys_are_ignored() {
        let json = r#"{"protocols":[1,3],"example-undefined-key-that-clients-should-ignore":true}"#;
        let ldk: LSPS0ListProtocolsResponse = serde_json::from_str(json).unwrap();
        let ours: lsps0::ListProtocolsResult = serde_json::from_str(json).unwrap();
        assert_eq!(lsps0::ListProtocolsResult::from(ldk), ours);
    }

    /// Both produce the same `BxTxO` text for every SCID.
    #[test]
    fn scid_text_matches() {
        for raw in [0, 1, 0x083a_8400_034d_0001, u64::MAX] {
            let ldk = serde_json::to_value(LSPS2InterceptScid::from(raw)).unwrap();
            let ours = serde_json::to_value(Scid(raw)).unwrap();
            assert_eq!(ldk, ours);
        }
    }

    /// An LSPS1 `OrderParams` converts field for field.
    #[test]
    fn lsps1_order_params_fields() {
        let ldk = LSPS1OrderParams::from(common::order_params(Some("t")));
        assert_eq!(
            lsps1::OrderParams::from(ldk),
            common::order_params(Some("t"))
        );
    }
}

//! Deliberate differences from lightning-liquidity 0.2.7, one named test each.

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

//! LSPS1 reading decisions: a `null` `min_onchain_payment_confirmations`, and an empty
//! order `token` (which must round-trip).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use lsps_core::jsonrpc::{
    BadMessage, IncomingMessage, Method, RequestId, Response, ResponseResult, decode_request,
    decode_response,
};
use lsps_core::lsps1::{NULL_ONCHAIN_CONFIRMATIONS, OrderResult};
use serde_json::{Value, json};

fn order_json() -> Value {
    serde_json::to_value(common::order_created()).unwrap()
}

fn decode_order(result: &Value) -> Result<IncomingMessage, BadMessage> {
    let payload =
        serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": "o", "result": result})).unwrap();
    decode_response(&payload, &|id: &RequestId| {
        (id.as_str() == "o").then_some(Method::Lsps1GetOrder)
    })
}

fn decoded_order(result: &Value) -> OrderResult {
    match decode_order(result) {
        Ok(IncomingMessage::Response {
            body: Ok(ResponseResult::Lsps1GetOrder(order)),
            ..
        }) => order,
        other => panic!("{other:?}"),
    }
}

#[test]
fn null_onchain_confirmations_read_as_one_and_written_as_a_number() {
    let mut v = order_json();
    v["payment"]["onchain"]["min_onchain_payment_confirmations"] = Value::Null;
    let order = decoded_order(&v);
    let onchain = order.payment.onchain.as_ref().unwrap();
    assert_eq!(NULL_ONCHAIN_CONFIRMATIONS, 1);
    assert_eq!(onchain.min_onchain_payment_confirmations, 1);
    let written = serde_json::to_value(&order).unwrap();
    assert_eq!(
        written["payment"]["onchain"]["min_onchain_payment_confirmations"],
        json!(1)
    );
    // The same through serde directly.
    let direct: OrderResult = serde_json::from_value(v).unwrap();
    assert_eq!(direct, order);
}

#[test]
fn onchain_confirmations_still_required_and_typed() {
    let mut v = order_json();
    v["payment"]["onchain"]
        .as_object_mut()
        .unwrap()
        .remove("min_onchain_payment_confirmations");
    let Err(BadMessage::InvalidResult { error, .. }) = decode_order(&v) else {
        panic!("absent must stay an error")
    };
    assert_eq!(
        (error.property.as_str(), error.message.as_str()),
        (
            "payment.onchain.min_onchain_payment_confirmations",
            "missing required field"
        )
    );
    for bad in [json!("1"), json!(-1), json!(65536), json!(1.5)] {
        v["payment"]["onchain"]["min_onchain_payment_confirmations"] = bad.clone();
        let Err(BadMessage::InvalidResult { error, .. }) = decode_order(&v) else {
            panic!("{bad} must be refused")
        };
        assert_eq!(
            error.property,
            "payment.onchain.min_onchain_payment_confirmations"
        );
        assert!(error.message.contains("u16"), "{}", error.message);
    }
}

#[test]
fn empty_order_token_round_trips() {
    let mut order = common::order_created();
    order.order.token = Some(String::new());
    let bytes = order_response_bytes(&order);
    let back = decoded_order(&serde_json::from_slice::<Value>(&bytes).unwrap()["result"]);
    // Written `""`, read back as no token, and equal to the original.
    assert_eq!(back.order.token, None);
    assert_eq!(back.order.effective_token(), None);
    assert_eq!(back, order);
    assert_eq!(
        serde_json::to_vec(&back).unwrap(),
        serde_json::to_vec(&order).unwrap()
    );
    // A real token still differs from none and from another token.
    let mut other = order.clone();
    other.order.token = Some("SPRING2026".into());
    assert_ne!(other, order);
    let mut third = other.clone();
    third.order.token = Some("SUMMER".into());
    assert_ne!(other, third);
}

#[test]
fn create_order_params_keep_the_token_as_sent() {
    let mut params = common::create_order_request();
    params.order.token = Some(String::new());
    let payload = lsps_core::jsonrpc::Request::new("c".into(), params.clone()).to_bytes();
    assert!(String::from_utf8_lossy(&payload).contains(r#""token":"""#));
    let request = decode_request(&payload).unwrap();
    let lsps_core::jsonrpc::RequestParams::Lsps1CreateOrder(back) = request.params else {
        panic!("not create_order")
    };
    assert_eq!(back.order.token.as_deref(), Some(""));
    assert_eq!(back, params);
}

/// The encoded `get_order` response carrying `order`.
fn order_response_bytes(order: &OrderResult) -> Vec<u8> {
    Response {
        id: Some("o".into()),
        body: Ok(ResponseResult::Lsps1GetOrder(order.clone())),
    }
    .to_bytes()
}

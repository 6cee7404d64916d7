//! Canonical encodings of every LSPS0/1/2 message type, as insta snapshots in
//! `spec/snapshots/` so that spec authors review any wire change with `cargo insta review`.
//!
//! Naming (the `xtask` spec tests validate `<method>.params` and `<method>.result` snapshots
//! against `spec/schemas/<method>.{params,result}.json`):
//! - `<method>.params[-variant]`: the canonical bytes of a request's `params`;
//! - `<method>.result[-variant]`: the canonical bytes of a result;
//! - `envelope.*`: one full message per envelope shape (request, result, error, null id);
//! - `error.<name>`: the full error response for every error constructor.
//!
//! Each params/result snapshot is also checked to be exactly the bytes that sit inside the
//! full canonical message, so the two kinds cannot drift apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use lsps_core::jsonrpc::{ErrorObject, Request, RequestParams, Response, ResponseResult};
use lsps_core::lsps0::ListProtocolsRequest;
use lsps_core::lsps1;
use lsps_core::lsps2;

use common::*;

macro_rules! wire_snapshot {
    ($name:expr, $body:expr) => {
        insta::with_settings!({
            snapshot_path => "../../spec/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!($name, $body);
        })
    };
}

fn utf8(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("canonical encodings are UTF-8")
}

/// Snapshots `params` alone and checks the full request carries exactly those bytes.
fn params_snapshot(name: &str, params: impl Into<RequestParams>) {
    let request = Request::new(request_id(), params);
    let inner = serde_json::to_string(&request.params).unwrap();
    let full = utf8(request.to_bytes());
    let expected = format!(
        r#"{{"jsonrpc":"2.0","id":"{}","method":"{}","params":{inner}}}"#,
        request.id,
        request.method().name()
    );
    assert_eq!(full, expected, "{name}: request envelope around the params");
    wire_snapshot!(name, inner);
}

/// Snapshots a result alone and checks the full response carries exactly those bytes.
fn result_snapshot(name: &str, result: ResponseResult) {
    let inner = serde_json::to_string(&result).unwrap();
    let full = utf8(
        Response {
            id: Some(request_id()),
            body: Ok(result),
        }
        .to_bytes(),
    );
    let expected = format!(
        r#"{{"jsonrpc":"2.0","id":"{}","result":{inner}}}"#,
        request_id()
    );
    assert_eq!(
        full, expected,
        "{name}: response envelope around the result"
    );
    wire_snapshot!(name, inner);
}

#[test]
fn lsps0_messages() {
    params_snapshot("lsps0.list_protocols.params", ListProtocolsRequest {});
    result_snapshot(
        "lsps0.list_protocols.result",
        list_protocols_result().into(),
    );
}

#[test]
fn lsps1_messages() {
    params_snapshot("lsps1.get_info.params", lsps1::GetInfoRequest {});
    result_snapshot("lsps1.get_info.result", lsps1_options().into());
    params_snapshot("lsps1.create_order.params", create_order_request());
    params_snapshot(
        "lsps1.create_order.params-minimal",
        lsps1::CreateOrderRequest {
            order: order_params(None),
            refund_onchain_address: None,
        },
    );
    result_snapshot(
        "lsps1.create_order.result",
        ResponseResult::Lsps1CreateOrder(order_created()),
    );
    params_snapshot(
        "lsps1.get_order.params",
        lsps1::GetOrderRequest {
            order_id: order_id(),
        },
    );
    result_snapshot(
        "lsps1.get_order.result-completed",
        ResponseResult::Lsps1GetOrder(order_completed()),
    );
}

#[test]
fn lsps2_messages() {
    params_snapshot(
        "lsps2.get_info.params",
        lsps2::GetInfoRequest {
            token: Some("SECRETDISCOUNTCOUPON100".into()),
        },
    );
    params_snapshot(
        "lsps2.get_info.params-no-token",
        lsps2::GetInfoRequest { token: None },
    );
    result_snapshot("lsps2.get_info.result", lsps2_get_info_result().into());
    result_snapshot(
        "lsps2.get_info.result-empty-menu",
        lsps2::GetInfoResult {
            opening_fee_params_menu: vec![],
        }
        .into(),
    );
    params_snapshot("lsps2.buy.params", buy_request(Some(50_000_000)));
    params_snapshot("lsps2.buy.params-no-payment-size", buy_request(None));
    result_snapshot("lsps2.buy.result", buy_result().into());
    result_snapshot(
        "lsps2.buy.result-client-trusts-lsp",
        lsps2::BuyResult {
            client_trusts_lsp: true,
            ..buy_result()
        }
        .into(),
    );
}

#[test]
fn envelopes() {
    wire_snapshot!(
        "envelope.request",
        utf8(Request::new(request_id(), ListProtocolsRequest {}).to_bytes())
    );
    wire_snapshot!(
        "envelope.result",
        utf8(Response::result(request_id(), list_protocols_result()).to_bytes())
    );
    wire_snapshot!(
        "envelope.error",
        utf8(Response::error(Some(request_id()), ErrorObject::method_not_found()).to_bytes())
    );
    wire_snapshot!(
        "envelope.error-null-id",
        utf8(Response::error(None, ErrorObject::parse_error()).to_bytes())
    );
}

#[test]
fn error_responses() {
    let errors = [
        ("error.parse_error", None, ErrorObject::parse_error()),
        (
            "error.invalid_request",
            Some(request_id()),
            ErrorObject::invalid_request(),
        ),
        (
            "error.invalid_request-with-reason",
            Some(request_id()),
            ErrorObject::invalid_request_because(
                "`params` must be by-name (an object), not by-position",
            ),
        ),
        (
            "error.method_not_found",
            Some(request_id()),
            ErrorObject::method_not_found(),
        ),
        (
            "error.invalid_params-unrecognized",
            Some(request_id()),
            ErrorObject::unrecognized_params(["future_feature1_param", "future_feature2_param"]),
        ),
        (
            "error.invalid_params-property",
            Some(request_id()),
            ErrorObject::invalid_param(
                "announce_channel",
                "invalid type: string \"yes\", expected a boolean",
            ),
        ),
        (
            "error.internal_error",
            Some(request_id()),
            ErrorObject::internal_error(),
        ),
        (
            "error.client_rejected",
            Some(request_id()),
            ErrorObject::client_rejected("Client rejected"),
        ),
        (
            "error.lsps1_option_mismatch",
            Some(request_id()),
            ErrorObject::lsps1_option_mismatch(
                "min_initial_client_balance_sat",
                "client_balance_sat is below 20000",
            ),
        ),
        (
            "error.lsps1_not_found",
            Some(request_id()),
            ErrorObject::lsps1_not_found(),
        ),
        (
            "error.lsps1_unrecognized_or_stale_token",
            Some(request_id()),
            ErrorObject::lsps1_unrecognized_or_stale_token(),
        ),
        (
            "error.lsps2_unrecognized_or_stale_token",
            Some(request_id()),
            ErrorObject::lsps2_unrecognized_or_stale_token(),
        ),
        (
            "error.lsps2_invalid_opening_fee_params",
            Some(request_id()),
            ErrorObject::lsps2_invalid_opening_fee_params(),
        ),
        (
            "error.lsps2_payment_size_too_small",
            Some(request_id()),
            ErrorObject::lsps2_payment_size_too_small(),
        ),
        (
            "error.lsps2_payment_size_too_large",
            Some(request_id()),
            ErrorObject::lsps2_payment_size_too_large(),
        ),
    ];
    for (name, id, error) in errors {
        let bytes = utf8(Response::error(id, error.clone()).to_bytes());
        // Whatever the constructor, `data` on the wire is absent or an object (LSPS0).
        let value: serde_json::Value = serde_json::from_str(&bytes).unwrap();
        let data = &value["error"]["data"];
        assert!(data.is_null() || data.is_object(), "{name}: data {data}");
        assert_eq!(value["error"]["code"], error.code, "{name}");
        wire_snapshot!(name, bytes);
    }
}

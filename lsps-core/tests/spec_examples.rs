//! Every JSON example of the current bLIPs (pinned in spec/README.md: blips @ ba7a34b), copied
//! verbatim into `tests/data/spec_examples/`, goes through lsps-core: params through the
//! LSP's request classifier, results through the client's response classifier, whole
//! messages as they are. Where an example breaks a rule of its own spec, the test names the
//! rule and shows lsps-core catching it.
//!
//! `every_example_file_has_a_test` fails when a file is added without a case here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use lsps_core::jsonrpc::{
    ErrorObject, IncomingMessage, Method, RequestId, RequestParams, ResponseResult, decode_request,
    decode_response,
};
use lsps_core::lsps1::{self, OrderError, OrderResult, OrderState, PaymentInfo};
use lsps_core::lsps2::{self, opening_fee, validate_menu};
use lsps_core::types::{
    Datetime, DatetimeError, DatetimeMode, Msat, OnchainAddress, Outpoint, Sat, Txid,
};
use serde_json::{Value, json};

/// Every example file and the test that covers it.
const EXAMPLES: &[&str] = &[
    "blip50-E0.1-invalid-params-section-request.json",
    "blip50-E0.2-invalid-params-section-error-response.json",
    "blip50-E0.3-list_protocols-result.json",
    "blip50-E0.4-list_protocols-request.json",
    "blip50-E0.5-list_protocols-response.json",
    "blip50-E0.6-common-schemas-txid.json",
    "blip50-E0.7-common-schemas-output_index.json",
    "blip50-E0.8-common-schemas-outpoint.json",
    "blip51-E1.1-get_info-result.json",
    "blip51-E1.2-create_order-params.json",
    "blip51-E1.3-create_order-result.json",
    "blip51-E1.4-get_order-params.json",
    "blip51-E1.5-payment-object.json",
    "blip51-E1.6-payment-bolt11.json",
    "blip51-E1.7-payment-bolt12.json",
    "blip51-E1.8-payment-onchain.json",
    "blip51-E1.9-channel-object.json",
    "blip52-E2.1-get_info-params.json",
    "blip52-E2.2-get_info-result.json",
    "blip52-E2.3-buy-params.json",
    "blip52-E2.4-buy-result.json",
    "blip55-E5.1-set_webhook-params.json",
    "blip55-E5.2-set_webhook-result.json",
    "blip55-E5.3-list_webhooks-result.json",
    "blip55-E5.4-remove_webhook-params.json",
    "blip55-E5.5-webhook_registered-notification.json",
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/spec_examples")
}

fn raw(name: &str) -> String {
    assert!(EXAMPLES.contains(&name), "{name} is not listed in EXAMPLES");
    std::fs::read_to_string(dir().join(name)).unwrap()
}

fn value(name: &str) -> Value {
    serde_json::from_str(&raw(name)).unwrap()
}

/// Wraps example params in a request and runs the LSP's classifier.
fn request_with_params(method: &str, name: &str) -> Result<RequestParams, ErrorObject> {
    let payload = format!(
        r#"{{"jsonrpc":"2.0","id":"example","method":"{method}","params":{}}}"#,
        raw(name)
    );
    decode_request(payload.as_bytes())
        .map(|r| r.params)
        .map_err(|reply| match reply.body {
            Err(e) => e,
            Ok(_) => panic!("an error reply without an error"),
        })
}

/// Wraps an example result in a response and runs the client's classifier.
fn response_with_result(method: Method, name: &str) -> ResponseResult {
    let payload = format!(
        r#"{{"jsonrpc":"2.0","id":"example","result":{}}}"#,
        raw(name)
    );
    let lookup = |id: &RequestId| (id.as_str() == "example").then_some(method);
    match decode_response(payload.as_bytes(), &lookup) {
        Ok(IncomingMessage::Response {
            body: Ok(result), ..
        }) => result,
        other => panic!("{name}: {other:?}"),
    }
}

fn strict(s: &str) -> Result<Datetime, DatetimeError> {
    Datetime::parse(s, DatetimeMode::Strict)
}

#[test]
fn every_example_file_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = EXAMPLES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

// ----- bLIP-50 (LSPS0) -----

/// E0.1 illustrates -32602 with a made-up method `example.method_name`: lsps-core answers
/// that with -32601 (LSPS0: unknown method). On a real method the same params get -32602
/// listing both unknown names.
#[test]
fn e0_1_unknown_params_request() {
    let reply = decode_request(raw("blip50-E0.1-invalid-params-section-request.json").as_bytes())
        .unwrap_err();
    assert_eq!(reply.id, Some(RequestId("42".into())));
    assert_eq!(reply.body, Err(ErrorObject::method_not_found()));

    let params = &value("blip50-E0.1-invalid-params-section-request.json")["params"];
    let payload =
        json!({"jsonrpc": "2.0", "id": "42", "method": "lsps0.list_protocols", "params": params});
    let reply = decode_request(payload.to_string().as_bytes()).unwrap_err();
    let Err(e) = reply.body else {
        panic!("not an error")
    };
    assert_eq!(e.code, -32602);
    let mut names = e.unrecognized().unwrap();
    names.sort_unstable();
    assert_eq!(names, ["future_feature1_param", "future_feature2_param"]);
}

/// E0.2 is the spec's reply to E0.1. It breaks LSPS0's own -32602 rule: `unrecognized`
/// must list the unknown params, and E0.1 sent two, E0.2 lists one. lsps-core still reads
/// it as the -32602 error it is.
#[test]
fn e0_2_unknown_params_error_response() {
    let payload = raw("blip50-E0.2-invalid-params-section-error-response.json");
    let lookup = |_: &RequestId| Some(Method::Lsps0ListProtocols);
    let Ok(IncomingMessage::Response {
        id, body: Err(e), ..
    }) = decode_response(payload.as_bytes(), &lookup)
    else {
        panic!("not an error response");
    };
    assert_eq!(id, RequestId("42".into()));
    assert_eq!(
        e,
        ErrorObject::unrecognized_params(["future_feature1_param"])
    );
    let sent = value("blip50-E0.1-invalid-params-section-request.json")["params"]
        .as_object()
        .unwrap()
        .len();
    assert_eq!(sent, 2);
    assert_eq!(
        e.unrecognized().unwrap().len(),
        1,
        "E0.2 omits future_feature2_param"
    );
}

#[test]
fn e0_3_list_protocols_result() {
    let r = response_with_result(
        Method::Lsps0ListProtocols,
        "blip50-E0.3-list_protocols-result.json",
    );
    let ResponseResult::Lsps0ListProtocols(r) = r else {
        panic!("{r:?}")
    };
    assert_eq!(r.protocols, [1, 3]);
    assert!(r.validate().is_ok());
}

#[test]
fn e0_4_list_protocols_request() {
    let request =
        decode_request(raw("blip50-E0.4-list_protocols-request.json").as_bytes()).unwrap();
    assert_eq!(
        request.id,
        RequestId("example#3cad6a54d302edba4c9ade2f7ffac098".into())
    );
    assert_eq!(request.method(), Method::Lsps0ListProtocols);
}

/// E0.5 carries a key clients must ignore; the classifier does.
#[test]
fn e0_5_list_protocols_response_with_unknown_key() {
    let payload = raw("blip50-E0.5-list_protocols-response.json");
    let lookup = |id: &RequestId| {
        (id.as_str() == "example#3cad6a54d302edba4c9ade2f7ffac098")
            .then_some(Method::Lsps0ListProtocols)
    };
    let Ok(IncomingMessage::Response {
        body: Ok(ResponseResult::Lsps0ListProtocols(r)),
        ..
    }) = decode_response(payload.as_bytes(), &lookup)
    else {
        panic!("not a list_protocols result");
    };
    assert_eq!(r.protocols, [1, 3]);
}

/// E0.6 writes the txid in upper case; readers accept either case, lsps-core writes lower.
#[test]
fn e0_6_txid_upper_case() {
    let text = value("blip50-E0.6-common-schemas-txid.json")["txid"]
        .as_str()
        .unwrap()
        .to_owned();
    let txid: Txid = serde_json::from_value(json!(text)).unwrap();
    assert_eq!(txid.to_string(), text.to_lowercase());
}

#[test]
fn e0_7_output_index() {
    let index: u16 = serde_json::from_value(
        value("blip50-E0.7-common-schemas-output_index.json")["output_index"].clone(),
    )
    .unwrap();
    assert_eq!(index, 0);
}

#[test]
fn e0_8_outpoint() {
    let v = value("blip50-E0.8-common-schemas-outpoint.json")["funding_outpoint"].clone();
    let outpoint: Outpoint = serde_json::from_value(v).unwrap();
    assert_eq!(outpoint.vout, 0);
    assert_eq!(
        outpoint.txid.to_string(),
        "f27c97f46ed7281a3efa7287410082eba0cd1424d72703a217e435ea840957b0"
    );
}

// ----- bLIP-51 (LSPS1) -----

#[test]
fn e1_1_get_info_result() {
    let r = response_with_result(Method::Lsps1GetInfo, "blip51-E1.1-get_info-result.json");
    let ResponseResult::Lsps1GetInfo(info) = r else {
        panic!("{r:?}")
    };
    assert!(info.validate().is_ok());
    assert_eq!(info.max_channel_expiry_blocks, 20160);
    assert_eq!(info.min_initial_client_balance_sat, Sat(20_000));
}

fn e1_2() -> lsps1::CreateOrderRequest {
    match request_with_params("lsps1.create_order", "blip51-E1.2-create_order-params.json") {
        Ok(RequestParams::Lsps1CreateOrder(r)) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn e1_2_create_order_params() {
    let request = e1_2();
    assert_eq!(request.order.lsp_balance_sat, Sat(5_000_000));
    assert_eq!(request.order.token.as_deref(), Some(""));
    assert!(request.refund_onchain_address.is_some());
    let e1_1 = response_with_result(Method::Lsps1GetInfo, "blip51-E1.1-get_info-result.json");
    let ResponseResult::Lsps1GetInfo(options) = e1_1 else {
        panic!()
    };
    assert!(
        request.order.check_against(&options).is_ok(),
        "E1.2 fits E1.1's options"
    );
}

fn e1_3() -> OrderResult {
    match response_with_result(
        Method::Lsps1CreateOrder,
        "blip51-E1.3-create_order-result.json",
    ) {
        ResponseResult::Lsps1CreateOrder(order) => order,
        other => panic!("{other:?}"),
    }
}

/// E1.3 parses, and breaks three rules of bLIP-51/LSPS0 (spec/README.md notes the first
/// two): the bolt12 `order_total_sat` is not `fee_total_sat + client_balance_sat`; as the
/// reply to E1.2 it does not mirror `funding_confirms_within_blocks` (1 vs 6) or
/// `channel_expiry_blocks` (12 vs 144); and the bolt12 `expires_at` has no milliseconds
/// (`LSPS0.datetime` is `YYYY-MM-DDThh:mm:ss.sssZ`), which only the lenient reader takes.
/// The sum check is `OrderResult::validate`, which lsps-client runs on every order it
/// receives before paying (LSPS1-R23: the client checks `fee_total_sat + client_balance_sat
/// = order_total_sat`).
#[test]
fn e1_3_create_order_result_breaks_three_rules() {
    let order = e1_3();
    assert_eq!(order.order_state, OrderState::Created);
    assert_eq!(order.order.token, None, "\"\" reads as no token");
    assert_eq!(
        order.validate(),
        Err(OrderError::TotalMismatch { kind: "bolt12" })
    );
    assert_eq!(
        order.check_mirrors(&e1_2()),
        Err(OrderError::NotMirrored {
            field: "funding_confirms_within_blocks"
        })
    );
    let bolt12_expiry =
        value("blip51-E1.3-create_order-result.json")["payment"]["bolt12"]["expires_at"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(strict(&bolt12_expiry), Err(DatetimeError::NotStrictFormat));

    // With the bolt12 total fixed, the rest of the order is valid.
    let mut fixed = order;
    fixed.payment.bolt12.as_mut().unwrap().order_total_sat = Sat(2_008_888);
    assert_eq!(fixed.validate(), Ok(()));
}

#[test]
fn e1_4_get_order_params() {
    let r = request_with_params("lsps1.get_order", "blip51-E1.4-get_order-params.json");
    let Ok(RequestParams::Lsps1GetOrder(r)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(r.order_id.as_str(), "bb4b5d0a-8334-49d8-9463-90a6d413af7c");
}

/// E1.3's order with another `payment` object and client balance.
fn order_with(payment: PaymentInfo, client_balance_sat: u64) -> OrderResult {
    let mut order = e1_3();
    order.payment = payment;
    order.order.client_balance_sat = Sat(client_balance_sat);
    order
}

fn payment_object() -> PaymentInfo {
    serde_json::from_str(&raw("blip51-E1.5-payment-object.json")).unwrap()
}

/// E1.5 parses, and breaks: (1) on-chain `min_fee_for_0conf` is set although
/// `min_onchain_payment_confirmations` is 1 (it MUST then be null or absent); (2) no single
/// `client_balance_sat` makes every option's `order_total_sat = fee_total_sat +
/// client_balance_sat` (the lightning options imply 192000, on-chain 191000); (3) datetimes
/// without milliseconds.
#[test]
fn e1_5_payment_object_breaks_three_rules() {
    let payment = payment_object();
    assert!(payment.bolt11.is_some() && payment.bolt12.is_some() && payment.onchain.is_some());
    assert_eq!(
        order_with(payment.clone(), 192_000).validate(),
        Err(OrderError::TotalMismatch { kind: "onchain" })
    );
    assert_eq!(
        order_with(payment.clone(), 191_000).validate(),
        Err(OrderError::TotalMismatch { kind: "bolt11" })
    );
    let onchain_only = PaymentInfo {
        bolt11: None,
        bolt12: None,
        onchain: payment.onchain,
    };
    assert_eq!(
        order_with(onchain_only, 191_000).validate(),
        Err(OrderError::ZeroConfFeeWithConfirmations)
    );
    assert_eq!(
        strict("2025-01-01T00:00:00Z"),
        Err(DatetimeError::NotStrictFormat)
    );
}

/// E1.6 parses; its `expires_at` has no milliseconds (strict LSPS0.datetime fails).
#[test]
fn e1_6_bolt11_option() {
    let b: lsps1::Bolt11PaymentInfo =
        serde_json::from_str(&raw("blip51-E1.6-payment-bolt11.json")).unwrap();
    assert!(b.invoice.len() <= lsps1::MAX_PAYMENT_STRING_CHARS);
    let order = order_with(
        PaymentInfo {
            bolt11: Some(b.clone()),
            ..Default::default()
        },
        192_000,
    );
    assert_eq!(order.validate(), Ok(()));
    assert_eq!(
        strict("2025-01-01T00:00:00Z"),
        Err(DatetimeError::NotStrictFormat)
    );
    assert_eq!(b.expires_at, strict("2025-01-01T00:00:00.000Z").unwrap());
}

/// E1.7 parses; same datetime remark as E1.6.
#[test]
fn e1_7_bolt12_option() {
    let b: lsps1::Bolt12PaymentInfo =
        serde_json::from_str(&raw("blip51-E1.7-payment-bolt12.json")).unwrap();
    assert!(b.offer.len() <= lsps1::MAX_PAYMENT_STRING_CHARS);
    let order = order_with(
        PaymentInfo {
            bolt12: Some(b),
            ..Default::default()
        },
        192_000,
    );
    assert_eq!(order.validate(), Ok(()));
}

/// E1.8 parses, and breaks the `min_fee_for_0conf` rule (set with 1 confirmation required).
#[test]
fn e1_8_onchain_option_breaks_zero_conf_rule() {
    let o: lsps1::OnchainPaymentInfo =
        serde_json::from_str(&raw("blip51-E1.8-payment-onchain.json")).unwrap();
    assert_eq!(o.min_onchain_payment_confirmations, 1);
    assert!(o.min_fee_for_0conf.is_some());
    let address: OnchainAddress = "bc1p5uvtaxzkjwvey2tfy49k5vtqfpjmrgm09cvs88ezyy8h2zv7jhas9tu4yr"
        .parse()
        .unwrap();
    assert_eq!(o.address, address);
    let order = order_with(
        PaymentInfo {
            onchain: Some(o),
            ..Default::default()
        },
        191_000,
    );
    assert_eq!(
        order.validate(),
        Err(OrderError::ZeroConfFeeWithConfirmations)
    );
}

#[test]
fn e1_9_channel_object() {
    let c: lsps1::ChannelInfo =
        serde_json::from_str(&raw("blip51-E1.9-channel-object.json")).unwrap();
    assert_eq!(c.funded_at, strict("2012-04-23T18:25:43.511Z").unwrap());
    assert_eq!(c.funding_outpoint.vout, 0);
    // In E1.3's order, completed, the channel makes a valid order.
    let mut order = e1_3();
    order.payment.bolt12 = None;
    order.order_state = OrderState::Completed;
    order.channel = Some(c);
    assert_eq!(order.validate(), Ok(()));
}

/// bLIP-51 E1.3/E1.5/E1.6 use an invoice of 25200 sat for totals of 2008888 and 200888 sat:
/// the invoice "MUST be a BOLT11 invoice for `order_total_sat`". Checked with LDK's parser.
#[cfg(feature = "ldk")]
#[test]
fn e1_bolt11_invoice_amount_is_not_the_order_total() {
    use core::str::FromStr;
    use lightning::bolt11_invoice::Bolt11Invoice;
    let order = e1_3();
    let bolt11 = order.payment.bolt11.unwrap();
    let invoice = Bolt11Invoice::from_str(&bolt11.invoice).unwrap();
    assert_eq!(invoice.amount_milli_satoshis(), Some(25_200_000));
    assert_ne!(
        Some(bolt11.order_total_sat.get() * 1000),
        invoice.amount_milli_satoshis()
    );
}

// ----- bLIP-52 (LSPS2) -----

#[test]
fn e2_1_get_info_params() {
    let r = request_with_params("lsps2.get_info", "blip52-E2.1-get_info-params.json");
    assert_eq!(
        r,
        Ok(RequestParams::Lsps2GetInfo(lsps2::GetInfoRequest {
            token: Some("SECRETDISCOUNTCOUPON100".into())
        }))
    );
}

/// E2.2 parses and its menu is in the required order; its second entry can never be
/// bought: `min_fee_msat` (1092000) exceeds `max_payment_size_msat` (1000000), so every
/// allowed size gets 202 (fee >= payment). No MUST forbids such an entry.
#[test]
fn e2_2_get_info_result() {
    let r = response_with_result(Method::Lsps2GetInfo, "blip52-E2.2-get_info-result.json");
    let ResponseResult::Lsps2GetInfo(menu) = r else {
        panic!("{r:?}")
    };
    let menu = menu.opening_fee_params_menu;
    assert_eq!(menu.len(), 2);
    assert_eq!(validate_menu(&menu), Ok(()));
    for p in &menu {
        assert!(p.check_promise_format().is_ok());
        assert!(strict(&p.valid_until.to_string()).is_ok());
    }
    let second = &menu[1];
    let fee = second.opening_fee(second.max_payment_size_msat).unwrap();
    assert!(
        fee >= second.max_payment_size_msat,
        "the largest allowed payment cannot pay the fee"
    );
}

/// E2.3 parses; as a buy it would get 202: the fee for 42000 msat is 546000 msat.
#[test]
fn e2_3_buy_params_would_get_202() {
    let r = request_with_params("lsps2.buy", "blip52-E2.3-buy-params.json");
    let Ok(RequestParams::Lsps2Buy(buy)) = r else {
        panic!("{r:?}")
    };
    let size = buy.payment_size_msat.unwrap();
    assert!(buy.opening_fee_params.accepts_payment_size(size));
    let fee = opening_fee(
        size,
        buy.opening_fee_params.min_fee_msat,
        buy.opening_fee_params.proportional,
    )
    .unwrap();
    assert_eq!(fee, Msat(546_000));
    assert!(fee >= size);
}

#[test]
fn e2_4_buy_result() {
    let r = response_with_result(Method::Lsps2Buy, "blip52-E2.4-buy-result.json");
    let ResponseResult::Lsps2Buy(b) = r else {
        panic!("{r:?}")
    };
    assert_eq!(b.jit_channel_scid.to_string(), "29451x4815x1");
    assert_eq!(b.lsp_cltv_expiry_delta, 144);
    assert!(!b.client_trusts_lsp);
}

// ----- bLIP-55 (LSPS5): not implemented by lsps-core -----

/// lsps-core implements LSPS0/1/2 only. An LSP built on it answers LSPS5 requests with
/// -32601, as LSPS0 requires for unknown methods.
#[test]
fn e5_requests_get_method_not_found() {
    for (method, name) in [
        ("lsps5.set_webhook", "blip55-E5.1-set_webhook-params.json"),
        (
            "lsps5.remove_webhook",
            "blip55-E5.4-remove_webhook-params.json",
        ),
    ] {
        assert_eq!(
            request_with_params(method, name),
            Err(ErrorObject::method_not_found()),
            "{name}"
        );
    }
}

/// A client on lsps-core never asks LSPS5 methods, so LSPS5 results arrive only with ids it
/// did not issue, which it ignores (LSPS0).
#[test]
fn e5_results_have_unknown_ids() {
    for name in [
        "blip55-E5.2-set_webhook-result.json",
        "blip55-E5.3-list_webhooks-result.json",
    ] {
        let payload = format!(r#"{{"jsonrpc":"2.0","id":"w","result":{}}}"#, raw(name));
        let lookup = |_: &RequestId| None;
        assert_eq!(
            decode_response(payload.as_bytes(), &lookup),
            Ok(IncomingMessage::UnknownId {
                id: RequestId("w".into())
            }),
            "{name}"
        );
    }
}

/// E5.5 is a notification (LSPS5 sends it over HTTP, not BOLT8); the classifier sees one.
#[test]
fn e5_5_notification() {
    let payload = raw("blip55-E5.5-webhook_registered-notification.json");
    let lookup = |_: &RequestId| None;
    let Ok(IncomingMessage::Notification(n)) = decode_response(payload.as_bytes(), &lookup) else {
        panic!("not a notification");
    };
    assert_eq!(n.method, "lsps5.webhook_registered");
    assert!(n.params.is_empty());
}

//! One test per bad-input class of LSPS0 (and the param classes of LSPS1/LSPS2): each asserts
//! the exact error reply `decode_request` produces, as full JSON equality, plus the exact bytes
//! where the canonical encoding itself is the point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lsps_core::jsonrpc::{RequestParams, decode_request};
use serde_json::{Value, json};

/// The reply to `payload` as JSON (panics if the payload was accepted).
fn reply(payload: &[u8]) -> Value {
    let err = decode_request(payload).expect_err("payload must be rejected");
    serde_json::from_slice(&err.to_bytes()).unwrap()
}

fn parse_error() -> Value {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})
}

fn invalid_request(id: Value, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32600, "message": "Invalid Request", "data": {"message": message}}})
}

fn invalid_param(id: &str, property: &str, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {
        "code": -32602, "message": "Invalid params",
        "data": {"property": property, "message": message, "unrecognized": []}}})
}

const NODE: &str = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
const LIST: &str = r#"{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols","params":{}}"#;

fn buy_with(fee_params: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": "b1", "method": "lsps2.buy",
        "params": {"opening_fee_params": fee_params, "payment_size_msat": "50000000"}}))
    .unwrap()
}

fn fee_params() -> Value {
    json!({
        "min_fee_msat": "546000", "proportional": 1200,
        "valid_until": "2023-02-23T08:47:30.511Z", "min_lifetime": 1008,
        "max_client_to_self_delay": 2016, "min_payment_size_msat": "1000",
        "max_payment_size_msat": "1000000", "promise": "abcdefghijklmnopqrstuvwxyz"
    })
}

fn create_order_with(key: &str, value: Value) -> Vec<u8> {
    let mut params = json!({
        "lsp_balance_sat": "5000000", "client_balance_sat": "2000000",
        "required_channel_confirmations": 0, "funding_confirms_within_blocks": 6,
        "channel_expiry_blocks": 144, "token": "",
        "refund_onchain_address": "bc1qvmsy0f3yyes6z9jvddk8xqwznndmdwapvrc0xrmhd3vqj5rhdrrq6hz49h",
        "announce_channel": true
    });
    if value.is_null() {
        params.as_object_mut().unwrap().remove(key);
    } else {
        params[key] = value;
    }
    serde_json::to_vec(
        &json!({"jsonrpc": "2.0", "id": "c1", "method": "lsps1.create_order",
        "params": params}),
    )
    .unwrap()
}

// ---------------------------------------------------------------- -32700: bad message format

#[test]
fn parse_error_bytes_are_exact() {
    assert_eq!(
        decode_request(b"[").unwrap_err().to_bytes(),
        br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#
    );
}

#[test]
fn invalid_utf8_is_parse_error() {
    assert_eq!(
        reply(b"{\"jsonrpc\":\"2.0\",\"id\":\"\xff\xfe\",\"method\":\"x\"}"),
        parse_error()
    );
    // An overlong encoding of '/' is not UTF-8 either.
    assert_eq!(reply(b"{\"a\":\"\xc0\xaf\"}"), parse_error());
}

#[test]
fn nul_byte_anywhere_is_parse_error() {
    let in_string = LIST.replace("r1", "r\u{0}1");
    assert_eq!(reply(in_string.as_bytes()), parse_error());
    let appended = [LIST.as_bytes(), b"\0"].concat();
    assert_eq!(reply(&appended), parse_error());
}

#[test]
fn array_and_batch_are_parse_errors() {
    assert_eq!(reply(b" [ ] "), parse_error());
    assert_eq!(reply(format!("[{LIST}]").as_bytes()), parse_error());
}

#[test]
fn scalars_are_parse_errors() {
    for payload in ["42", "\"lsps0.list_protocols\"", "null", "true", "-0.5e3"] {
        assert_eq!(reply(payload.as_bytes()), parse_error(), "{payload}");
    }
}

#[test]
fn empty_and_whitespace_only_are_parse_errors() {
    assert_eq!(reply(b""), parse_error());
    assert_eq!(reply(b" \t\r\n"), parse_error());
}

#[test]
fn truncated_json_is_parse_error() {
    assert_eq!(reply(b"{"), parse_error());
    assert_eq!(reply(&LIST.as_bytes()[..LIST.len() - 1]), parse_error());
}

#[test]
fn two_objects_are_parse_error_without_answering_the_first() {
    assert_eq!(reply(b" { } { }"), parse_error());
    assert_eq!(reply(b" { } { "), parse_error());
    assert_eq!(reply(format!("{LIST}{{}}").as_bytes()), parse_error());
    assert_eq!(reply(format!("{LIST} {LIST}").as_bytes()), parse_error());
}

#[test]
fn trailing_garbage_is_parse_error() {
    assert_eq!(reply(format!("{LIST}x").as_bytes()), parse_error());
    assert_eq!(reply(format!("{LIST},").as_bytes()), parse_error());
}

#[test]
fn non_json_whitespace_is_parse_error() {
    // Only space, tab, LF and CR may surround the object.
    assert_eq!(reply(format!("\u{0c}{LIST}").as_bytes()), parse_error());
    assert_eq!(reply(format!("{LIST}\u{a0}").as_bytes()), parse_error());
    assert_eq!(reply(format!("\u{feff}{LIST}").as_bytes()), parse_error());
}

#[test]
fn duplicate_keys_are_parse_error() {
    let top = r#"{"jsonrpc":"2.0","id":"r1","id":"r2","method":"lsps0.list_protocols"}"#;
    assert_eq!(reply(top.as_bytes()), parse_error());
    let nested = r#"{"jsonrpc":"2.0","id":"r1","method":"lsps2.get_info","params":{"token":"a","token":"b"}}"#;
    assert_eq!(reply(nested.as_bytes()), parse_error());
}

#[test]
fn excessive_nesting_is_parse_error() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":"r1","method":"lsps2.get_info","params":{{"token":{}{}}}}}"#,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    assert_eq!(reply(deep.as_bytes()), parse_error());
}

#[test]
fn surrounding_json_whitespace_is_accepted() {
    let padded = format!(" \t\r\n{LIST} \t\r\n");
    let req = decode_request(padded.as_bytes()).unwrap();
    assert_eq!(req.id.as_str(), "r1");
    assert!(matches!(req.params, RequestParams::Lsps0ListProtocols(_)));
}

// ---------------------------------------------------------------- -32600: not a request

#[test]
fn missing_or_wrong_jsonrpc_is_invalid_request() {
    let why = "`jsonrpc` must be \"2.0\"";
    let missing = r#"{"id":"r1","method":"lsps0.list_protocols","params":{}}"#;
    assert_eq!(reply(missing.as_bytes()), invalid_request(json!("r1"), why));
    let old = r#"{"jsonrpc":"1.0","id":"r1","method":"lsps0.list_protocols","params":{}}"#;
    assert_eq!(reply(old.as_bytes()), invalid_request(json!("r1"), why));
    let number = r#"{"jsonrpc":2.0,"id":"r1","method":"lsps0.list_protocols","params":{}}"#;
    assert_eq!(reply(number.as_bytes()), invalid_request(json!("r1"), why));
    assert_eq!(reply(b"{}"), invalid_request(Value::Null, why));
}

#[test]
fn missing_or_non_string_method_is_invalid_request() {
    let missing = r#"{"jsonrpc":"2.0","id":"r1","params":{}}"#;
    assert_eq!(
        reply(missing.as_bytes()),
        invalid_request(json!("r1"), "`method` is missing")
    );
    let number = r#"{"jsonrpc":"2.0","id":"r1","method":42,"params":{}}"#;
    assert_eq!(
        reply(number.as_bytes()),
        invalid_request(json!("r1"), "`method` must be a string")
    );
}

#[test]
fn notification_is_invalid_request_with_null_id() {
    let n = r#"{"jsonrpc":"2.0","method":"lsps0.list_protocols","params":{}}"#;
    assert_eq!(
        reply(n.as_bytes()),
        invalid_request(
            Value::Null,
            "`id` is missing: notifications are not accepted"
        )
    );
}

#[test]
fn non_string_id_is_invalid_request_with_null_id() {
    for id in ["16", "null", "1.5", "[\"r1\"]", "{\"a\":1}", "true"] {
        let p = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"lsps0.list_protocols","params":{{}}}}"#
        );
        assert_eq!(
            reply(p.as_bytes()),
            invalid_request(Value::Null, "`id` must be a string"),
            "{id}"
        );
    }
}

#[test]
fn by_position_params_are_invalid_request() {
    let p = r#"{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols","params":[]}"#;
    assert_eq!(
        reply(p.as_bytes()),
        invalid_request(
            json!("r1"),
            "`params` must be by-name (an object), not by-position"
        )
    );
}

#[test]
fn scalar_params_are_invalid_request() {
    for params in ["null", "\"x\"", "1", "false"] {
        let p = format!(
            r#"{{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols","params":{params}}}"#
        );
        assert_eq!(
            reply(p.as_bytes()),
            invalid_request(json!("r1"), "`params` must be an object"),
            "{params}"
        );
    }
}

#[test]
fn response_object_sent_to_lsp_is_invalid_request() {
    let p = r#"{"jsonrpc":"2.0","id":"x","result":{}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        invalid_request(json!("x"), "unexpected member `result` in a request")
    );
}

#[test]
fn unknown_envelope_member_is_invalid_request() {
    let p = r#"{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols","params":{},"extra":1}"#;
    assert_eq!(
        reply(p.as_bytes()),
        invalid_request(json!("r1"), "unexpected member `extra` in a request")
    );
}

#[test]
fn missing_params_mean_empty_object() {
    let p = r#"{"jsonrpc":"2.0","id":"r1","method":"lsps0.list_protocols"}"#;
    let req = decode_request(p.as_bytes()).unwrap();
    assert!(matches!(req.params, RequestParams::Lsps0ListProtocols(_)));
}

// ---------------------------------------------------------------- -32601: unknown method

#[test]
fn unknown_method_echoes_id() {
    for method in [
        "lsps0.zz_nope",
        "lsps999.do_this",
        "foo",
        "LSPS0.list_protocols",
        "",
    ] {
        let p = format!(r#"{{"jsonrpc":"2.0","id":"m1","method":"{method}","params":{{}}}}"#);
        let bytes = decode_request(p.as_bytes()).unwrap_err().to_bytes();
        assert_eq!(
            bytes,
            br#"{"jsonrpc":"2.0","id":"m1","error":{"code":-32601,"message":"Method not found"}}"#,
            "{method}"
        );
    }
}

// ---------------------------------------------------------------- -32602: unknown params

#[test]
fn unknown_param_lists_unrecognized() {
    let p =
        r#"{"jsonrpc":"2.0","id":"u1","method":"lsps0.list_protocols","params":{"zz_unknown":1}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        json!({"jsonrpc": "2.0", "id": "u1", "error": {"code": -32602,
            "message": "Invalid params", "data": {"unrecognized": ["zz_unknown"]}}})
    );
}

#[test]
fn unknown_params_beside_known_ones_are_all_listed() {
    // bLIP-50's own example (E0.1 shape) on a real method, plus a known param.
    let p = r#"{"jsonrpc":"2.0","id":"42","method":"lsps2.get_info","params":{"token":"x","future_feature1_param":"value1","future_feature2_param":"value2"}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        json!({"jsonrpc": "2.0", "id": "42", "error": {"code": -32602,
            "message": "Invalid params",
            "data": {"unrecognized": ["future_feature1_param", "future_feature2_param"]}}})
    );
}

#[test]
fn unknown_params_win_over_invalid_values() {
    let p = r#"{"jsonrpc":"2.0","id":"u2","method":"lsps2.get_info","params":{"token":5,"zz":1}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        json!({"jsonrpc": "2.0", "id": "u2", "error": {"code": -32602,
            "message": "Invalid params", "data": {"unrecognized": ["zz"]}}})
    );
}

// ---------------------------------------------------------------- -32602: invalid values

#[test]
fn wrong_type_names_the_property() {
    let p = r#"{"jsonrpc":"2.0","id":"t1","method":"lsps2.get_info","params":{"token":5}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        invalid_param(
            "t1",
            "token",
            "invalid type: integer `5`, expected a string"
        )
    );
}

#[test]
fn missing_required_param_names_the_property() {
    let p = r#"{"jsonrpc":"2.0","id":"g1","method":"lsps1.get_order","params":{}}"#;
    assert_eq!(
        reply(p.as_bytes()),
        invalid_param("g1", "order_id", "missing required field")
    );
}

#[test]
fn missing_nested_field_has_a_dotted_path() {
    let mut fp = fee_params();
    fp.as_object_mut().unwrap().remove("promise");
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param("b1", "opening_fee_params.promise", "missing required field")
    );
}

#[test]
fn unknown_field_in_opening_fee_params_is_rejected() {
    let mut fp = fee_params();
    fp["extra"] = json!(1);
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param("b1", "opening_fee_params.extra", "unknown field")
    );
}

#[test]
fn amount_as_json_number_is_rejected() {
    let mut fp = fee_params();
    fp["min_fee_msat"] = json!(546000);
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params.min_fee_msat",
            "invalid type: integer `546000`, expected a millisatoshi amount as a decimal string"
        )
    );
}

#[test]
fn amount_above_u64_is_rejected() {
    let mut fp = fee_params();
    fp["max_payment_size_msat"] = json!("18446744073709551616");
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params.max_payment_size_msat",
            "amount exceeds the u64 maximum 18446744073709551615"
        )
    );
}

#[test]
fn amount_with_sign_is_rejected() {
    let mut fp = fee_params();
    fp["min_payment_size_msat"] = json!("-1");
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params.min_payment_size_msat",
            "amount must be a non-empty string of decimal digits 0-9"
        )
    );
}

#[test]
fn fractional_ppm_is_rejected() {
    let mut fp = fee_params();
    fp["proportional"] = json!(1200.5);
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params.proportional",
            "invalid type: floating point `1200.5`, expected u32"
        )
    );
}

#[test]
fn pre_1970_datetime_is_rejected() {
    let mut fp = fee_params();
    fp["valid_until"] = json!("1969-12-31T23:59:59.999Z");
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params.valid_until",
            "datetime is before 1970-01-01T00:00:00.000Z"
        )
    );
}

#[test]
fn out_of_range_u16_is_rejected() {
    assert_eq!(
        reply(&create_order_with(
            "required_channel_confirmations",
            json!(70000)
        )),
        invalid_param(
            "c1",
            "required_channel_confirmations",
            "invalid value: integer `70000`, expected u16"
        )
    );
}

#[test]
fn non_segwit_refund_address_is_rejected() {
    assert_eq!(
        reply(&create_order_with(
            "refund_onchain_address",
            json!("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2")
        )),
        invalid_param(
            "c1",
            "refund_onchain_address",
            "address must be SegWit P2WPKH, P2WSH or P2TR; got p2pkh"
        )
    );
}

#[test]
fn missing_announce_channel_is_rejected() {
    assert_eq!(
        reply(&create_order_with("announce_channel", Value::Null)),
        invalid_param("c1", "announce_channel", "missing required field")
    );
}

#[test]
fn wrong_type_for_bool_is_rejected() {
    assert_eq!(
        reply(&create_order_with("announce_channel", json!("true"))),
        invalid_param(
            "c1",
            "announce_channel",
            "invalid type: string \"true\", expected a boolean"
        )
    );
}

#[test]
fn over_long_order_id_is_rejected() {
    let id = "a".repeat(65);
    let p = format!(
        r#"{{"jsonrpc":"2.0","id":"g2","method":"lsps1.get_order","params":{{"order_id":"{id}"}}}}"#
    );
    assert_eq!(
        reply(p.as_bytes()),
        invalid_param("g2", "order_id", "order_id must be 1 to 64 characters")
    );
}

#[test]
fn valid_buy_decodes() {
    let req = decode_request(&buy_with(fee_params())).unwrap();
    let RequestParams::Lsps2Buy(buy) = req.params else {
        panic!("not a buy")
    };
    assert_eq!(buy.payment_size_msat.map(|m| m.get()), Some(50_000_000));
    assert_eq!(buy.opening_fee_params.promise, "abcdefghijklmnopqrstuvwxyz");
    let _ = NODE;
}

#[test]
fn by_position_nested_object_is_rejected() {
    // serde's derived structs would accept fields by position; LSPS objects are by-name only.
    let fp = Value::Array(
        fee_params()
            .as_object()
            .unwrap()
            .values()
            .cloned()
            .collect(),
    );
    assert_eq!(
        reply(&buy_with(fp)),
        invalid_param(
            "b1",
            "opening_fee_params",
            "invalid type: sequence, expected a JSON object"
        )
    );
}

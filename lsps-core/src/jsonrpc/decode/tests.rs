//! The classifying decoders: every kind of bad input and the reply it gets.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::lsps0::ListProtocolsResult;
use crate::lsps2;
use serde_json::json;

fn lookup(id: &RequestId) -> Option<Method> {
    match id.as_str() {
        "l" => Some(Method::Lsps0ListProtocols),
        "g" => Some(Method::Lsps2GetInfo),
        _ => None,
    }
}

fn decode(v: &Value) -> Result<IncomingMessage, BadMessage> {
    decode_response(&serde_json::to_vec(v).unwrap(), &lookup)
}

fn not_response(reason: &str) -> Result<IncomingMessage, BadMessage> {
    Err(BadMessage::NotResponseOrNotification(reason.into()))
}

#[test]
fn typed_result_ignores_unknown_keys() {
    // bLIP-50 example E0.5, with our id.
    let m = decode(&json!({"jsonrpc": "2.0", "id": "l", "result": {
        "protocols": [1, 3], "example-undefined-key-that-clients-should-ignore": true}}));
    assert_eq!(
        m,
        Ok(IncomingMessage::Response {
            id: "l".into(),
            method: Method::Lsps0ListProtocols,
            body: Ok(ResponseResult::Lsps0ListProtocols(ListProtocolsResult {
                protocols: vec![1, 3]
            })),
        })
    );
}

#[test]
fn error_keeps_data_as_received() {
    let m = decode(&json!({"jsonrpc": "2.0", "id": "g", "error": {
        "code": 200, "message": "nope", "data": "a string, as LDK sends"}}));
    assert_eq!(
        m,
        Ok(IncomingMessage::Response {
            id: "g".into(),
            method: Method::Lsps2GetInfo,
            body: Err(ErrorObject::new(
                200,
                "nope",
                Some(json!("a string, as LDK sends"))
            )),
        })
    );
}

#[test]
fn null_id_error_unknown_id_and_notification() {
    let e = decode(&json!({"jsonrpc": "2.0", "id": null, "error": {
        "code": -32700, "message": "parse error", "data": null}}));
    assert_eq!(
        e,
        Ok(IncomingMessage::ErrorWithoutId(ErrorObject::new(
            -32700,
            "parse error",
            Some(Value::Null)
        )))
    );
    let u = decode(&json!({"jsonrpc": "2.0", "id": "zzz", "result": {"x": 1}}));
    assert_eq!(u, Ok(IncomingMessage::UnknownId { id: "zzz".into() }));
    let n = decode(&json!({"jsonrpc": "2.0", "method": "lsps9.happened", "params": {"a": 1}}));
    let Ok(IncomingMessage::Notification(n)) = n else {
        panic!("{n:?}")
    };
    assert_eq!(n.method, "lsps9.happened");
    assert_eq!(
        n.to_bytes(),
        br#"{"jsonrpc":"2.0","method":"lsps9.happened","params":{"a":1}}"#
    );
}

#[test]
fn malformed_responses_are_bad_messages() {
    let cases = [
        (
            json!({"id": "l", "result": {}}),
            "`jsonrpc` must be \"2.0\"",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "result": []}),
            "`result` must be an object",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "result": "ok"}),
            "`result` must be an object",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "result": {}, "error": {"code": 1, "message": "x"}}),
            "has both `result` and `error`",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l"}),
            "has neither `result` nor `error`",
        ),
        (
            json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
            "`id` must be a string or null",
        ),
        (json!({"jsonrpc": "2.0", "result": {}}), "`id` is missing"),
        (
            json!({"jsonrpc": "2.0", "id": null, "result": {}}),
            "a `result` with `id: null`",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "result": {}, "x": 1}),
            "unexpected member `x` in a response",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "error": "boom"}),
            "`error` must be an object",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "error": {"code": 1.5, "message": "x"}}),
            "`error.code` must be an integer within i32",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "error": {"code": 4294967296i64, "message": "x"}}),
            "`error.code` must be an integer within i32",
        ),
        (
            json!({"jsonrpc": "2.0", "id": "l", "error": {"code": 1}}),
            "`error.message` must be a string",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "x", "params": []}),
            "notification `params` must be an object",
        ),
        (
            json!({"jsonrpc": "2.0", "method": "x", "id": "l"}),
            "unexpected member `id` in a notification",
        ),
        (
            json!({"jsonrpc": "2.0", "method": 5}),
            "`method` must be a string",
        ),
    ];
    for (v, reason) in cases {
        assert_eq!(decode(&v), not_response(reason), "{v}");
    }
    assert_eq!(
        decode_response(b"[]", &lookup),
        Err(BadMessage::Format(FormatError::NotAnObject("array")))
    );
    assert_eq!(
        decode_response(b"{}\0", &lookup),
        Err(BadMessage::Format(FormatError::NulByte))
    );
}

#[test]
fn result_with_unknown_fee_param_field_is_invalid() {
    let m = decode(
        &json!({"jsonrpc": "2.0", "id": "g", "result": {"opening_fee_params_menu": [{
        "min_fee_msat": "546000", "proportional": 1200,
        "valid_until": "2023-02-23T08:47:30.511Z", "min_lifetime": 1008,
        "max_client_to_self_delay": 2016, "min_payment_size_msat": "1000",
        "max_payment_size_msat": "1000000", "promise": "abc", "extra": true}]}}),
    );
    let Err(BadMessage::InvalidResult { id, method, error }) = m else {
        panic!("{m:?}")
    };
    assert_eq!((id.as_str(), method), ("g", Method::Lsps2GetInfo));
    assert_eq!(error.property, "opening_fee_params_menu.0.extra");
    assert_eq!(error.message, "unknown field");
}

#[test]
fn encoded_responses_decode_back() {
    let ok = Response::result("g".into(), lsps2::GetInfoResult::default());
    let err = Response::error(Some("l".into()), ErrorObject::client_rejected("busy"));
    for r in [ok, err] {
        let Ok(IncomingMessage::Response { id, body, .. }) =
            decode_response(&r.to_bytes(), &lookup)
        else {
            panic!("{r:?}")
        };
        assert_eq!(Some(id), r.id);
        assert_eq!(body, r.body);
    }
}

#[test]
fn encoded_requests_decode_back() {
    let req = Request::new(
        RequestId::from_entropy([0xab; 16]),
        lsps2::GetInfoRequest {
            token: Some("coupon".into()),
        },
    );
    assert_eq!(req.id.as_str().len(), 32);
    assert_eq!(
        req.to_bytes(),
        format!(
            r#"{{"jsonrpc":"2.0","id":"{}","method":"lsps2.get_info","params":{{"token":"coupon"}}}}"#,
            "ab".repeat(16)
        )
        .into_bytes()
    );
    assert_eq!(decode_request(&req.to_bytes()), Ok(req));
}

fn json_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        "[a-z0-9._\\-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("lsps0.list_protocols"),
            Just("lsps2.buy"),
            Just("lsps1.create_order"),
            Just("2.0"),
            Just("546000"),
            Just("2023-02-23T08:47:30.511Z"),
        ]
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("jsonrpc".to_owned()),
                        Just("id".to_owned()),
                        Just("method".to_owned()),
                        Just("params".to_owned()),
                        Just("result".to_owned()),
                        Just("error".to_owned()),
                        Just("opening_fee_params".to_owned()),
                        Just("token".to_owned()),
                        "[a-z_]{1,6}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn check_reply(payload: &[u8]) {
    if let Err(reply) = decode_request(payload) {
        let v: Value = serde_json::from_slice(&reply.to_bytes()).unwrap();
        let code = v["error"]["code"].as_i64().unwrap();
        assert!([-32700, -32600, -32601, -32602].contains(&code), "{v}");
        if code == -32700 {
            assert_eq!(v["id"], Value::Null);
        }
        if code == -32602 {
            assert!(v["error"]["data"]["unrecognized"].is_array(), "{v}");
        }
        if let Some(d) = v["error"].get("data") {
            assert!(d.is_object(), "{v}");
        }
    }
}

/// Keys and values that make mutations interesting: every envelope and field name, and
/// values the full parser refuses.
const MUTATION_KEYS: &[&str] = &[
    "jsonrpc",
    "id",
    "method",
    "params",
    "result",
    "error",
    "token",
    "order_id",
    "opening_fee_params",
    "payment_size_msat",
    "min_fee_msat",
    "promise",
    "valid_until",
    "protocols",
    "opening_fee_params_menu",
    "payment",
    "bolt11",
    "onchain",
    "channel",
    "state",
    "lsp_balance_sat",
    "announce_channel",
    "jit_channel_scid",
    "x",
    "a",
];
const MUTATION_VALUES: &[&str] = &[
    "1",
    "\"x\"",
    "null",
    "{}",
    "[]",
    "\"2.0\"",
    "1e400",
    "\"\\ud800\"",
    "{\"a\":1,\"a\":2}",
    "[{\"b\":1,\"b\":1}]",
    "{\"a\":{}}",
    "\"546000\"",
    "-1",
    "1.5",
    "true",
];

#[derive(Debug, Clone)]
enum Mutation {
    /// Inserts `"key":value,` after the n-th `{`.
    InsertMember(proptest::sample::Index, &'static str, &'static str),
    /// Replaces the byte at a position.
    Replace(proptest::sample::Index, u8),
    /// Removes up to 8 bytes at a position.
    Remove(proptest::sample::Index, usize),
    /// Duplicates the member that starts at the n-th `"` after a `{` or `,`.
    DuplicateMember(proptest::sample::Index),
}

fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
    use proptest::prelude::*;
    let index = any::<proptest::sample::Index>;
    prop_oneof![
        (
            index(),
            proptest::sample::select(MUTATION_KEYS),
            proptest::sample::select(MUTATION_VALUES)
        )
            .prop_map(|(i, k, v)| Mutation::InsertMember(i, k, v)),
        (
            index(),
            proptest::sample::select(b"{}[]\",:0-9 \\nulaex\x00\xff".to_vec())
        )
            .prop_map(|(i, b)| Mutation::Replace(i, b)),
        (index(), 1usize..8).prop_map(|(i, n)| Mutation::Remove(i, n)),
        index().prop_map(Mutation::DuplicateMember),
    ]
}

/// Byte offsets of member starts (`"` right after `{` or `,`) and of every `{`.
fn member_starts(bytes: &[u8]) -> Vec<usize> {
    (1..bytes.len())
        .filter(|&i| bytes[i] == b'"' && matches!(bytes[i - 1], b'{' | b','))
        .collect()
}

fn apply(mut bytes: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::InsertMember(i, k, v) => {
            let opens: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'{').collect();
            if !opens.is_empty() {
                let at = opens[i.index(opens.len())] + 1;
                let member = format!("\"{k}\":{v},");
                bytes.splice(at..at, member.into_bytes());
            }
        }
        Mutation::Replace(i, b) => {
            if !bytes.is_empty() {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
        }
        Mutation::Remove(i, n) => {
            if !bytes.is_empty() {
                let at = i.index(bytes.len());
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
        }
        Mutation::DuplicateMember(i) => {
            // Copies `"key":` plus the value's first token up to the next `,` or `}`
            // (a whole scalar member; for nested values it usually breaks the JSON,
            // which is a test case too).
            let starts = member_starts(&bytes);
            if !starts.is_empty() {
                let at = starts[i.index(starts.len())];
                let end = (at..bytes.len())
                    .find(|&j| matches!(bytes[j], b',' | b'}'))
                    .unwrap_or(bytes.len());
                let mut member = bytes[at..end].to_vec();
                member.push(b',');
                bytes.splice(at..at, member);
            }
        }
    }
    bytes
}

/// The runner's reading ignores members JSON-RPC 2.0 does not define; ours rejects them.
#[test]
fn strictness_decides_extra_response_members() {
    let payload = br#"{"jsonrpc":"2.0","id":"l","result":{"protocols":[1]},"x":1}"#;
    assert!(matches!(
        decode_response(payload, &lookup),
        Err(BadMessage::NotResponseOrNotification(_))
    ));
    assert!(matches!(
        decode_response_with(payload, &lookup, Strictness::BlipMust),
        Ok(IncomingMessage::Response { .. })
    ));
    // A bLIP MUST still holds in the lenient reading: `result` is an object.
    let bad = br#"{"jsonrpc":"2.0","id":"l","result":[1]}"#;
    assert!(decode_response_with(bad, &lookup, Strictness::BlipMust).is_err());
}

/// The fast paths must give exactly what the full classifiers give.
fn assert_same(payload: &[u8], lookup: &dyn Fn(&RequestId) -> Option<Method>) {
    assert_eq!(
        decode_request(payload),
        classify_request(payload),
        "{}",
        String::from_utf8_lossy(payload)
    );
    assert_eq!(
        decode_response(payload, lookup),
        classify_response(payload, lookup, Strictness::Project),
        "{}",
        String::from_utf8_lossy(payload)
    );
}

#[test]
fn fast_paths_take_well_formed_messages() {
    // Without this the differential tests below could pass with a fast path that never
    // succeeds.
    let req = Request::new(
        "r".into(),
        lsps2::GetInfoRequest {
            token: Some("t".into()),
        },
    );
    assert_eq!(fast::request(&req.to_bytes()), Some(req));
    let res = Response::result("g".into(), lsps2::GetInfoResult::default());
    let fast::FastResponse::Result {
        method: Some(Method::Lsps2GetInfo),
        result: Some(_),
        ..
    } = fast::response(&res.to_bytes(), &lookup)
    else {
        panic!("fast path refused a plain result")
    };
    // And leave the rest alone.
    for bad in [
        &br#"{"jsonrpc":"2.0","id":"r","method":"lsps2.get_info","params":{"token":"a","token":"a"}}"#[..],
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps2.get_info","params":{"x":{"a":1,"a":1}}}"#,
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps2.get_info","params":{"token":"a"},"x":{"a":1,"a":1}}"#,
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps0.list_protocols","params":{"token":"a"}}"#,
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps0.list_protocols","params":null}"#,
        // The same key once escaped: equal after unescaping, so a duplicate.
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps2.get_info","params":{"token":"a","\u0074oken":"b"}}"#,
        br#"{"jsonrpc":"2.0","id":"r","method":"lsps2.get_info","params":{"x":{"\u0061":1,"a":2}}}"#,
        br#"["2.0","r","lsps0.list_protocols",{}]"#,
    ] {
        assert_eq!(fast::request(bad), None, "{}", String::from_utf8_lossy(bad));
        assert!(decode_request(bad).is_err());
    }
    let dup_in_ignored =
        br#"{"jsonrpc":"2.0","id":"g","result":{"opening_fee_params_menu":[],"x":{"a":1,"a":2}}}"#;
    assert!(matches!(
        fast::response(dup_in_ignored, &lookup),
        fast::FastResponse::GiveUp
    ));
    assert!(matches!(
        decode_response(dup_in_ignored, &lookup),
        Err(BadMessage::Format(FormatError::NotOneJsonValue(_)))
    ));
    let escaped_dup =
        br#"{"jsonrpc":"2.0","id":"g","result":{"opening_fee_params_menu":[],"\u0078":1,"x":2}}"#;
    assert!(matches!(
        fast::response(escaped_dup, &lookup),
        fast::FastResponse::GiveUp
    ));
    assert_same(escaped_dup, &lookup);
}

#[test]
fn envelope_scanner_decides_exactly_what_the_classifier_accepts() {
    let accepted: [&[u8]; 7] = [
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols"}"#,
        b" \t\r\n{ \"params\" : { } , \"method\":\"lsps2.get_info\",\"id\" :\"\xc3\xa9\",\"jsonrpc\":\"2.0\"}\n ",
        br#"{"id":"","jsonrpc":"2.0","method":"lsps1.get_info"}"#,
        br#"{"jsonrpc":"2.0","id":"a b/c","method":"lsps2.get_info","params":{}}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}}  "#,
        br#"{"method":"lsps1.get_info","id":"x","jsonrpc":"2.0","params":{}}"#,
    ];
    for payload in accepted {
        let text = String::from_utf8_lossy(payload);
        assert!(
            matches!(fast::scan_envelope(payload), fast::Scanned::NoParams { .. }),
            "{text}"
        );
        assert!(decode_request(payload).is_ok(), "{text}");
        assert_same(payload, &lookup);
    }
    // Every one of these is left to the serde passes and the classifier.
    let undecided: [&[u8]; 22] = [
        // Bytes the payload check refuses, inside and outside the id.
        b"{\"jsonrpc\":\"2.0\",\"id\":\"a\xff\",\"method\":\"lsps0.list_protocols\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"a\x00\",\"method\":\"lsps0.list_protocols\"}",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"lsps0.list_protocols\"}\x00",
        b"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"lsps0.list_protocols\"}\xc3",
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{},"params":{}}"#,
        br#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","id":"a","id":"b","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{},}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}}x"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{}}{}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":[]}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":null}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","params":{"x":1}}"#,
        br#"{"jsonrpc":"2.0","id":"\u0061","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","\u0069d":"a","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","id":1,"method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"1.0","id":"a","method":"lsps0.list_protocols"}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps9.nothing"}"#,
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps0.list_protocols","x":1}"#,
        b"{\"jsonrpc\":\"2.0\",\"id\":\"a\tb\",\"method\":\"lsps0.list_protocols\"}",
        br#"{"jsonrpc":"2.0","id":"a","method":"lsps1.create_order","params":{}}"#,
    ];
    for payload in undecided {
        let text = String::from_utf8_lossy(payload);
        assert!(
            matches!(fast::scan_envelope(payload), fast::Scanned::Undecided)
                || decode_request(payload).is_err(),
            "{text}"
        );
        assert_same(payload, &lookup);
    }
}

#[test]
fn many_keys_use_the_hash_set() {
    let mut members: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let unique = format!(
        r#"{{"jsonrpc":"2.0","id":"zz","result":{{{}}}}}"#,
        members.join(",")
    );
    assert_eq!(
        decode_response(unique.as_bytes(), &lookup),
        Ok(IncomingMessage::UnknownId { id: "zz".into() })
    );
    members.push("\"k3\":0".into());
    let dup = format!(
        r#"{{"jsonrpc":"2.0","id":"zz","result":{{{}}}}}"#,
        members.join(",")
    );
    assert_same(dup.as_bytes(), &lookup);
    assert!(decode_response(dup.as_bytes(), &lookup).is_err());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    #[test]
    fn fast_request_path_agrees_with_full_classifier(
        id in crate::strategies::request_id(),
        params in crate::strategies::request_params(),
        mutations in proptest::collection::vec(mutation(), 0..3),
    ) {
        let request = Request { id, params };
        let valid = request.to_bytes();
        if mutations.is_empty() {
            proptest::prop_assert_eq!(fast::request(&valid), Some(request));
        }
        let payload = mutations.iter().fold(valid, apply);
        assert_same(&payload, &lookup);
    }

    #[test]
    fn fast_response_path_agrees_with_full_classifier(
        id in crate::strategies::request_id(),
        result in crate::strategies::response_result(),
        known in proptest::prelude::any::<bool>(),
        mutations in proptest::collection::vec(mutation(), 0..3),
    ) {
        let method = result.method();
        let response = Response::result(id.clone(), result.clone());
        let valid = response.to_bytes();
        let lookup = move |x: &RequestId| (known && *x == id).then_some(method);
        let payload = mutations.iter().fold(valid, apply);
        assert_same(&payload, &lookup);
    }

    #[test]
    fn fast_paths_agree_on_arbitrary_json(v in json_value(), m in mutation()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        assert_same(&bytes, &lookup);
        assert_same(&apply(bytes, &m), &lookup);
    }

    #[test]
    fn fast_paths_agree_on_arbitrary_envelopes(
        method in proptest::sample::select(Method::ALL.to_vec()),
        params in json_value(),
        m in mutation(),
    ) {
        let v = json!({"jsonrpc": "2.0", "id": "p", "method": method.name(), "params": params});
        let bytes = serde_json::to_vec(&v).unwrap();
        assert_same(&bytes, &lookup);
        assert_same(&apply(bytes, &m), &lookup);
        let r = json!({"jsonrpc": "2.0", "id": "g", "result": params});
        let bytes = serde_json::to_vec(&r).unwrap();
        assert_same(&bytes, &lookup);
        assert_same(&apply(bytes, &m), &lookup);
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
        check_reply(&bytes);
        let _ = decode_response(&bytes, &lookup);
    }

    #[test]
    fn arbitrary_json_gets_a_well_formed_reply(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        check_reply(&bytes);
        let _ = decode_response(&bytes, &lookup);
    }

    #[test]
    fn arbitrary_params_get_a_well_formed_reply(
        method in proptest::sample::select(Method::ALL.to_vec()),
        params in json_value(),
    ) {
        let v = json!({"jsonrpc": "2.0", "id": "p", "method": method.name(), "params": params});
        check_reply(&serde_json::to_vec(&v).unwrap());
        let r = json!({"jsonrpc": "2.0", "id": "g", "result": params});
        let _ = decode_response(&serde_json::to_vec(&r).unwrap(), &lookup);
    }
}

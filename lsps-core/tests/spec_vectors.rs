//! The shared spec vectors (`spec/vectors/`, in the workspace beside this crate) decode
//! through lsps-core with exactly the stated outcome: a request is served or answered with the
//! stated error (under the vector's LSP `context` for business rules); a response decodes to
//! the stated result, error, notification or defect class, and lsps-core's reader checks find
//! exactly the violations the vector states. Comparison rule (spec/README.md "Vectors"):
//! `code`, `id` and `data` are compared exactly, except that values under a key `message` are
//! free text (only their type is checked) and `data.unrecognized` is compared as a set.
//!
//! The vectors' own shape and their JSON Schema expectations are checked by xtask's spec tests.
//! A packaged copy of this crate has no `spec/` beside it; the tests then say so and check
//! nothing (in the workspace the directory must exist).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lsps_core::jsonrpc::ResponseResult;
use lsps_core::jsonrpc::{
    BadMessage, ErrorObject, FormatError, IncomingMessage, Method, Request, RequestId,
    RequestParams, Response, decode_request, decode_response,
};
use lsps_core::lsps1::{self, OrderError};
use lsps_core::lsps2::{PromiseFormatError, PromiseSecret, validate_menu};
use lsps_core::types::{Datetime, DatetimeMode, NodeId};
use serde::Deserialize;
use serde_json::{Value, json};

/// The fields of a vector file this test reads (spec/README.md "Vectors" has them all).
#[derive(Debug, Deserialize)]
struct VectorFile {
    direction: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    pending_id: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    payload_hex: Option<String>,
    #[serde(default)]
    context: Option<Value>,
    #[serde(default)]
    violates: Vec<String>,
    expect: Value,
}

impl VectorFile {
    fn payload_bytes(&self) -> Vec<u8> {
        match (&self.payload, &self.payload_hex) {
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, Some(text)) => hex::decode(text).expect("payload_hex is hex"),
            _ => panic!("a vector needs exactly one of `payload` and `payload_hex`"),
        }
    }
}

struct Vector {
    path: PathBuf,
    file: VectorFile,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors")
}

/// Every `*.json` under `spec/vectors/`; `None` outside the workspace (a packaged crate).
fn load() -> Option<Vec<Vector>> {
    let root = vectors_dir();
    if !Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../Cargo.toml")
        .exists()
    {
        eprintln!("no workspace around this crate: the spec vectors are not here");
        return None;
    }
    let mut out = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let file = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                out.push(Vector { path, file });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(!out.is_empty(), "no vectors under {}", root.display());
    Some(out)
}

fn vectors() -> Vec<Vector> {
    load().unwrap_or_default()
}

/// The path under `spec/vectors/`.
fn name(v: &Vector) -> String {
    let rel = v.path.strip_prefix(vectors_dir()).unwrap_or(&v.path);
    format!("spec/vectors/{}", rel.display())
}

/// Compares an expected error object (from a vector) with an actual one (as JSON).
fn error_matches(expected: &Value, actual: &Value) -> Result<(), String> {
    if expected["code"] != actual["code"] {
        return Err(format!(
            "code {} != expected {}",
            actual["code"], expected["code"]
        ));
    }
    if !actual["message"].is_string() {
        return Err("error.message is not a string".into());
    }
    match (expected.get("data"), actual.get("data")) {
        (None, None) => Ok(()),
        (None, Some(d)) => Err(format!("unexpected data {d}")),
        (Some(e), None) => Err(format!("missing data, expected {e}")),
        (Some(e), Some(a)) => data_matches(e, a),
    }
}

fn data_matches(expected: &Value, actual: &Value) -> Result<(), String> {
    let (Value::Object(e), Value::Object(a)) = (expected, actual) else {
        return if expected == actual {
            Ok(())
        } else {
            Err(format!("data {actual} != expected {expected}"))
        };
    };
    let ek: BTreeSet<_> = e.keys().collect();
    let ak: BTreeSet<_> = a.keys().collect();
    if ek != ak {
        return Err(format!("data keys {ak:?} != expected {ek:?}"));
    }
    for (k, ev) in e {
        let av = &a[k];
        match k.as_str() {
            "message" if av.is_string() => {}
            "message" => return Err(format!("data.message is not a string: {av}")),
            "unrecognized" => {
                let set = |v: &Value| -> Option<BTreeSet<String>> {
                    v.as_array()?
                        .iter()
                        .map(|x| x.as_str().map(String::from))
                        .collect()
                };
                if set(ev).is_none() || set(ev) != set(av) {
                    return Err(format!("data.unrecognized {av} != expected {ev} (as sets)"));
                }
            }
            _ if ev == av => {}
            _ => return Err(format!("data.{k} {av} != expected {ev}")),
        }
    }
    Ok(())
}

fn error_json(e: &ErrorObject) -> Value {
    serde_json::to_value(e).unwrap()
}

/// The LSP's decision for a decoded request under a vector's `context` (spec/README.md
/// "Context"): the business rules of bLIP-51/52 that depend on LSP state, evaluated with
/// lsps-core's own checks. `Ok(())` means the request is served.
fn business_outcome(request: &Request, ctx: &Value) -> Result<(), ErrorObject> {
    if ctx["reject_client"] == json!(true) {
        return Err(ErrorObject::client_rejected("rejected by policy"));
    }
    let known = |key: &str, s: &str| {
        ctx[key]
            .as_array()
            .is_some_and(|a| a.iter().any(|t| t.as_str() == Some(s)))
    };
    match &request.params {
        RequestParams::Lsps1CreateOrder(p) => {
            if let Some(t) = &p.order.token
                && !t.is_empty()
                && !known("known_tokens", t)
            {
                return Err(ErrorObject::lsps1_unrecognized_or_stale_token());
            }
            let options: lsps1::GetInfoResult =
                serde_json::from_value(ctx["lsps1_get_info"].clone()).unwrap();
            options.validate().unwrap();
            p.order
                .check_against(&options)
                .map_err(|m| m.to_error_object())
        }
        RequestParams::Lsps1GetOrder(p) => {
            if known("known_order_ids", p.order_id.as_str()) {
                Ok(())
            } else {
                Err(ErrorObject::lsps1_not_found())
            }
        }
        RequestParams::Lsps2GetInfo(p) => match &p.token {
            Some(t) if !known("known_tokens", t) => {
                Err(ErrorObject::lsps2_unrecognized_or_stale_token())
            }
            _ => Ok(()),
        },
        RequestParams::Lsps2Buy(p) => {
            let secret: [u8; 32] = hex::decode(ctx["promise_secret"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let client: NodeId = ctx["client_node_id"].as_str().unwrap().parse().unwrap();
            let now = Datetime::parse(ctx["now"].as_str().unwrap(), DatetimeMode::Strict).unwrap();
            let params = &p.opening_fee_params;
            if !PromiseSecret(secret).verify(&client, params) {
                return Err(ErrorObject::lsps2_invalid_opening_fee_params());
            }
            if params.valid_until.unix_millis() < now.unix_millis() {
                return Err(ErrorObject::lsps2_invalid_opening_fee_params());
            }
            let Some(size) = p.payment_size_msat else {
                return Ok(());
            };
            if size < params.min_payment_size_msat {
                return Err(ErrorObject::lsps2_payment_size_too_small());
            }
            if size > params.max_payment_size_msat {
                return Err(ErrorObject::lsps2_payment_size_too_large());
            }
            match params.opening_fee(size) {
                Err(_) => Err(ErrorObject::lsps2_payment_size_too_large()),
                Ok(fee) if fee >= size => Err(ErrorObject::lsps2_payment_size_too_small()),
                Ok(_) => Ok(()),
            }
        }
        RequestParams::Lsps0ListProtocols(_) | RequestParams::Lsps1GetInfo(_) => Ok(()),
    }
}

fn check_request_vector(v: &Vector, problems: &mut Vec<String>) {
    let f = &v.file;
    let n = name(v);
    let bytes = f.payload_bytes();
    let decoded = decode_request(&bytes);
    let expect = &f.expect;
    let mut fail = |m: String| problems.push(format!("{n}: {m}"));

    if let Some(method) = expect.get("ok").and_then(Value::as_str) {
        let request = match decoded {
            Ok(r) => r,
            Err(resp) => {
                return fail(format!(
                    "expected ok {method}, lsps-core replied {}",
                    String::from_utf8_lossy(&resp.to_bytes())
                ));
            }
        };
        if request.method().name() != method {
            fail(format!(
                "decoded as {}, expected {method}",
                request.method().name()
            ));
        }
        if let Some(ctx) = &f.context
            && let Err(e) = business_outcome(&request, ctx)
        {
            fail(format!(
                "context rejects a request expected to be served: {}",
                error_json(&e)
            ));
        }
        return;
    }

    let Some(expected_error) = expect.get("error") else {
        return fail("request vectors expect {ok} or {error, id}".into());
    };
    let expected_id = expect.get("id").cloned().unwrap_or(Value::Null);
    // The reply that would go on the wire: from decode_request, or from the business rules.
    let reply: Response = match (decoded, &f.context) {
        (Err(resp), None) => resp,
        (Err(resp), Some(_)) => {
            return fail(format!(
                "a context vector must decode; lsps-core replied {}",
                String::from_utf8_lossy(&resp.to_bytes())
            ));
        }
        (Ok(r), None) => {
            return fail(format!(
                "expected error {expected_error}, lsps-core decoded it as {}",
                r.method().name()
            ));
        }
        (Ok(r), Some(ctx)) => match business_outcome(&r, ctx) {
            Ok(()) => {
                return fail(format!(
                    "expected error {expected_error}, the context serves it"
                ));
            }
            Err(e) => Response::error(Some(r.id.clone()), e),
        },
    };
    let wire: Value = serde_json::from_slice(&reply.to_bytes()).unwrap();
    if wire["id"] != expected_id {
        fail(format!("reply id {} != expected {expected_id}", wire["id"]));
    }
    if let Err(m) = error_matches(expected_error, &wire["error"]) {
        fail(format!("{m}; reply was {wire}"));
    }
}

fn check_response_vector(v: &Vector, problems: &mut Vec<String>) {
    let f = &v.file;
    let n = name(v);
    let bytes = f.payload_bytes();
    let method = Method::from_name(f.method.as_deref().unwrap()).unwrap();
    let pending = f.pending_id.clone().map(RequestId);
    let lookup = |id: &RequestId| (Some(id) == pending.as_ref()).then_some(method);
    let decoded = decode_response(&bytes, &lookup);
    let expect = &f.expect;
    let mut fail = |m: String| problems.push(format!("{n}: {m}"));
    let (kind, want) = match expect.as_object().and_then(|o| o.iter().next()) {
        Some((k, w)) => (k.as_str(), w.clone()),
        None => return fail("empty expect".into()),
    };
    match (kind, decoded) {
        (
            "ok",
            Ok(IncomingMessage::Response {
                method: m,
                body: Ok(result),
                ..
            }),
        ) => {
            if Some(m.name()) != want.as_str() || result.method() != m {
                fail(format!("decoded as {}, expected {want}", m.name()));
            }
            let found = reader_check_violations(&result);
            let stated: BTreeSet<String> = f.violates.iter().cloned().collect();
            if found != stated {
                fail(format!(
                    "lsps-core reader checks find violations {found:?}, vector states {stated:?}"
                ));
            }
        }
        ("error", Ok(IncomingMessage::Response { body: Err(e), .. })) => {
            // Compare the error exactly as received (not normalised), so string data shows.
            let got = json!({"code": e.code, "message": e.message, "data": e.data});
            let got = if e.data.is_none() {
                json!({"code": e.code, "message": e.message})
            } else {
                got
            };
            if let Err(m) = error_matches(&want, &got) {
                fail(m);
            }
        }
        ("error_without_id", Ok(IncomingMessage::ErrorWithoutId(e))) => {
            if let Err(m) = error_matches(&want, &error_json(&e)) {
                fail(m);
            }
        }
        ("ignored", Ok(IncomingMessage::UnknownId { .. })) if want == "unknown_id" => {}
        ("notification", Ok(IncomingMessage::Notification(note))) => {
            if want != note.method {
                fail(format!("notification {} != expected {want}", note.method));
            }
        }
        ("bad", Err(bad)) => {
            let class = match &bad {
                BadMessage::Format(FormatError::NulByte)
                | BadMessage::Format(FormatError::InvalidUtf8)
                | BadMessage::Format(FormatError::NotOneJsonValue(_))
                | BadMessage::Format(FormatError::NotAnObject(_)) => "format",
                BadMessage::NotResponseOrNotification(_) => "not_response_or_notification",
                BadMessage::InvalidResult { .. } => "invalid_result",
            };
            if want != class {
                fail(format!("bad class {class} ({bad}) != expected {want}"));
            }
            if let (Some(prop), BadMessage::InvalidResult { error, .. }) =
                (expect.get("property"), &bad)
                && prop != error.property.as_str()
            {
                fail(format!(
                    "invalid property {} != expected {prop}",
                    error.property
                ));
            }
        }
        (k, got) => fail(format!("expected {k}: {want}, lsps-core gave {got:?}")),
    }
}

/// Vectors where lsps-core is known to disagree and the vector is right: each names the
/// lsps-core defect. They are reported, not failed, until lsps-core is fixed; once a listed
/// vector agrees, the test fails so that the entry gets removed (like an XPASS).
// History: the two `extra field` vectors (opening-fee-params-extra-field,
// response-extra-field-in-entry) were listed here while lsps-core doubled the unknown field's
// name in `data.property`; fixed in lsps-core the same day.
const KNOWN_CORE_DISAGREEMENTS: &[(&str, &str)] = &[];

/// The requirement IDs a decoded result breaks according to lsps-core's reader-side checks
/// (rules a schema cannot express). Each check reports its first violation only, so a vector
/// should break one rule at a time.
fn reader_check_violations(result: &ResponseResult) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    match result {
        ResponseResult::Lsps0ListProtocols(r) => {
            if r.validate().is_err() {
                ids.insert("LSPS0-R42");
            }
        }
        ResponseResult::Lsps1GetInfo(r) => {
            if let Err(e) = r.validate() {
                let shape = matches!(
                    e.property,
                    "min_funding_confirms_within_blocks" | "max_channel_expiry_blocks"
                );
                ids.insert(if shape { "LSPS1-R4" } else { "LSPS1-R5" });
            }
        }
        ResponseResult::Lsps1CreateOrder(o) | ResponseResult::Lsps1GetOrder(o) => {
            if let Err(e) = o.validate() {
                ids.insert(match e {
                    OrderError::TotalMismatch { .. } => "LSPS1-R33",
                    OrderError::StateNotAllowed { .. } => "LSPS1-R45",
                    OrderError::PaymentStringTooLong { kind: "bolt12" } => "LSPS1-R42",
                    OrderError::PaymentStringTooLong { .. } => "LSPS1-R34",
                    OrderError::ZeroConfFeeWithConfirmations => "LSPS1-R48",
                    OrderError::CompletedWithoutChannel => "LSPS1-R64",
                    OrderError::ChannelBeforeCompleted => "LSPS1-R22",
                    OrderError::PaidBeforeCompleted { .. } => "LSPS1-R40",
                    OrderError::NotMirrored { .. } => "LSPS1-R18",
                    OrderError::OnchainWithoutRefundAddress => "LSPS1-R44",
                });
            }
        }
        ResponseResult::Lsps2GetInfo(r) => {
            if validate_menu(&r.opening_fee_params_menu).is_err() {
                ids.insert("LSPS2-R9");
            }
            for entry in &r.opening_fee_params_menu {
                if let Err(e) = entry.check_promise_format() {
                    ids.insert(match e {
                        PromiseFormatError::TooLong(_) => "LSPS2-R12",
                        PromiseFormatError::NotPrintableAscii(_) => "LSPS2-R13",
                        PromiseFormatError::NeedsEscaping(_) => "LSPS2-R14",
                    });
                }
            }
        }
        ResponseResult::Lsps2Buy(_) => {}
    }
    ids.into_iter().map(String::from).collect()
}

#[test]
fn every_vector_decodes_through_lsps_core_as_stated() {
    let mut failures = Vec::new();
    let mut known_seen = BTreeSet::new();
    let all = vectors();
    for v in &all {
        let mut problems = Vec::new();
        match v.file.direction.as_str() {
            "request" => check_request_vector(v, &mut problems),
            "response" => check_response_vector(v, &mut problems),
            _ => {}
        }
        let n = name(v);
        match KNOWN_CORE_DISAGREEMENTS.iter().find(|(path, _)| *path == n) {
            Some((_, defect)) if !problems.is_empty() => {
                known_seen.insert(n.clone());
                eprintln!(
                    "KNOWN lsps-core disagreement ({defect}): {}",
                    problems.join("; ")
                );
            }
            Some(_) => failures.push(format!(
                "{n}: listed in KNOWN_CORE_DISAGREEMENTS but now agrees: remove the entry"
            )),
            None => failures.extend(problems),
        }
    }
    for (path, _) in KNOWN_CORE_DISAGREEMENTS {
        if !known_seen.contains(*path) && !failures.iter().any(|f| f.starts_with(path)) {
            failures.push(format!(
                "{path}: listed in KNOWN_CORE_DISAGREEMENTS but not found"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems over {} vectors:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn every_lsps0_bad_input_class_has_a_vector() {
    // The bad-input classes of LSPS0 (spec/requirements, LSPS0), by file stem.
    let stems: BTreeSet<String> = vectors()
        .iter()
        .map(|v| v.path.file_stem().unwrap().to_string_lossy().to_string())
        .collect();
    for required in [
        "invalid-utf8-byte-ff",
        "nul-appended",
        "nul-inside-string",
        "array-empty",
        "batch-array",
        "scalar-number",
        "scalar-string",
        "truncated-request",
        "two-empty-objects",
        "trailing-garbage",
        "whitespace-around-ok",
        "empty-object",
        "response-shaped",
        "lsps0-zz-nope",
        "unknown-param",
        "announce-channel-string",
        "opening-fee-params-extra-field",
    ] {
        assert!(stems.contains(required), "no vector named {required}");
    }
}

#[test]
fn every_error_code_of_lsps1_and_lsps2_has_a_vector() {
    let mut codes = BTreeSet::new();
    for v in vectors() {
        if let Some(code) = v.file.expect.get("error").and_then(|e| e.get("code")) {
            codes.insert(code.as_i64().unwrap());
        }
    }
    for code in [
        -32700, -32600, -32601, -32602, 1, 100, 101, 102, 200, 201, 202, 203,
    ] {
        assert!(codes.contains(&code), "no vector expects error {code}");
    }
}

//! Wire validation of every message the target sends: the LSPS0 envelope rules, then the
//! JSON Schema of `spec/schemas` for the method the message answers (anchors.md B.8 #11).

use crate::code;
use serde_json::Value;
use std::collections::BTreeMap;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

/// A problem found in a received message: (rule tag, description).
pub type Finding = (&'static str, String);

/// Compiled schemas keyed by file name (relative to `spec/schemas`).
pub struct SchemaSet {
    validators: BTreeMap<String, jsonschema::Validator>,
    /// Schemas that did not compile (reported once per run as a harness problem).
    pub broken: Vec<String>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("schemas", &self.validators.keys().collect::<Vec<_>>())
            .field("broken", &self.broken)
            .finish()
    }
}

impl SchemaSet {
    /// The schemas embedded at build time.
    pub fn embedded() -> SchemaSet {
        SchemaSet::from_files(embedded::EMBEDDED.iter().map(|(n, t)| (*n, *t)))
    }

    /// Compiles `(relative path, text)` pairs. Every schema is also registered as a resource
    /// under its `$id` (if any) so schemas may `$ref` each other.
    pub fn from_files<'a>(files: impl Iterator<Item = (&'a str, &'a str)> + Clone) -> SchemaSet {
        let mut parsed: Vec<(String, Value)> = Vec::new();
        let mut broken = Vec::new();
        for (name, text) in files {
            match serde_json::from_str::<Value>(text) {
                Ok(v) => parsed.push((name.to_owned(), v)),
                Err(e) => broken.push(format!("{name}: {e}")),
            }
        }
        let mut validators = BTreeMap::new();
        for (name, schema) in &parsed {
            let mut options = jsonschema::options();
            for (other_name, other) in &parsed {
                let uri = match other.get("$id").and_then(Value::as_str) {
                    Some(id) => id.to_owned(),
                    None => format!("urn:lsps-spec:{other_name}"),
                };
                if let Ok(resource) = jsonschema::Resource::from_contents(other.clone()) {
                    options = options.with_resource(uri, resource);
                }
            }
            match options.build(schema) {
                Ok(v) => {
                    validators.insert(name.clone(), v);
                }
                Err(e) => broken.push(format!("{name}: {e}")),
            }
        }
        SchemaSet { validators, broken }
    }

    /// Number of compiled schemas.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Whether no schema is available.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Names of the compiled schemas.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    fn validate(&self, name: &str, instance: &Value, what: &str, out: &mut Vec<Finding>) {
        if let Some(validator) = self.validators.get(name) {
            for error in validator.iter_errors(instance) {
                let path = error.instance_path.to_string();
                if is_not_a_blip_must(instance, &path)
                    || forbids_parse_error_data(&path, &error)
                    || sets_cancelled(&path, &error)
                {
                    continue;
                }
                let rule = if is_project_reading(&path, &error) {
                    PROJECT_READING
                } else {
                    "schema"
                };
                out.push((
                    rule,
                    format!(
                        "{what} violates {name} at `{}`: {error}",
                        error.instance_path
                    ),
                ));
            }
        }
    }

    /// Returns every problem with a message received from the target. `method` is the method
    /// of the request it answers, when known.
    pub fn check_message(&self, message: &Value, method: Option<&str>) -> Vec<Finding> {
        let mut out = Vec::new();
        let Value::Object(map) = message else {
            out.push((
                "envelope",
                "LSPS0-R17: the message is not a single JSON object".into(),
            ));
            return out;
        };
        if map.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            out.push(("envelope", "LSPS0-R7: `jsonrpc` is not \"2.0\"".into()));
        }
        let has_id = map.contains_key("id");
        match (map.get("result"), map.get("error")) {
            (Some(_), Some(_)) => {
                out.push(("envelope", "LSPS0-R7: both `result` and `error`".into()))
            }
            (Some(result), None) => {
                if !has_id {
                    out.push(("envelope", "LSPS0-R7: a response without `id`".into()));
                }
                if !result.is_object() {
                    out.push((
                        "envelope",
                        "LSPS0-R24: `result` is not a JSON object".into(),
                    ));
                } else if let Some(method) = method {
                    self.validate(
                        &format!("{method}.result.json"),
                        result,
                        &format!("{method} result"),
                        &mut out,
                    );
                }
            }
            (None, Some(error)) => {
                if !has_id {
                    out.push((
                        "envelope",
                        "LSPS0-R7: an error response without `id`".into(),
                    ));
                }
                self.validate("error.json", message, "error response", &mut out);
                self.check_error(error, &mut out);
            }
            (None, None) => {
                if map.contains_key("method") && !has_id {
                    if !map.get("params").is_some_and(Value::is_object) {
                        out.push((
                            "envelope",
                            "LSPS0-R17: a notification without by-name `params`".into(),
                        ));
                    }
                } else {
                    out.push((
                        "envelope",
                        "LSPS0-R7: neither a response nor a notification".into(),
                    ));
                }
            }
        }
        match map.get("id") {
            None | Some(Value::Null) | Some(Value::String(_)) => {}
            Some(other) => out.push((
                "envelope",
                format!("LSPS0-R7: `id` is {other}, not a string or null"),
            )),
        }
        out
    }

    fn check_error(&self, error: &Value, out: &mut Vec<Finding>) {
        let Value::Object(err) = error else {
            out.push(("envelope", "LSPS0-R18: `error` is not an object".into()));
            return;
        };
        let code = err.get("code").and_then(Value::as_i64);
        if code.is_none() {
            out.push((
                "envelope",
                "LSPS0-R18: `error.code` is not an integer".into(),
            ));
        }
        if !err.get("message").is_some_and(Value::is_string) {
            out.push((
                "envelope",
                "LSPS0-R18: `error.message` is not a string".into(),
            ));
        }
        match err.get("data") {
            None => {}
            Some(Value::Object(_)) => {
                if let Some(code) = code
                    && !SOFT_DATA_CODES.contains(&code)
                {
                    let data = &err["data"];
                    for candidate in error_data_schema_names(code) {
                        if self.validators.contains_key(&candidate) {
                            self.validate(&candidate, data, &format!("error {code} data"), out);
                            break;
                        }
                    }
                }
            }
            Some(other) => out.push((
                "LSPS0-R22",
                format!("`error.data` is {}, not an object", json_kind(other)),
            )),
        }
    }
}

/// File names under which an `error.data` schema for `code` may be stored.
fn error_data_schema_names(code: i64) -> Vec<String> {
    vec![
        format!("error-data/{code}.json"),
        format!("errors/{code}.data.json"),
        format!("error.{code}.data.json"),
        format!("errors/{code}.json"),
    ]
}

/// The finding tag of a schema constraint that is this project's reading, not a bLIP MUST
/// (spec/schema-audit.md): judged at WARN by `lsps0.wire.schema-project-reading`.
pub const PROJECT_READING: &str = "schema-project";

/// bLIP-51 lists `CANCELLED` as deprecated among the payment states, yet its LSP sections
/// still say "MUST set the `payment.state` to `CANCELLED`" (3.1, 3.2): an LSP that obeys that
/// sentence is not wrong, so the state passes although the schema (our writer form) omits it.
fn sets_cancelled(path: &str, error: &jsonschema::ValidationError<'_>) -> bool {
    path.ends_with("/state")
        && matches!(
            error.kind,
            jsonschema::error::ValidationErrorKind::Enum { .. }
        )
        && error.instance.as_str() == Some("CANCELLED")
}

/// Constraints of `spec/schemas` that stand for this project's reading rather than a bLIP
/// sentence with MUST (each row of spec/schema-audit.md says which):
/// - amounts in canonical form within u64: bLIP-50 asks for "the decimal text representation"
///   and only SHOULD-uses u64 internally, so a digit string with leading zeros or above u64 is
///   a project-reading finding, not a FAIL;
/// - upper bounds of integers (uint16, uint32, ppm, protocol numbers): the bLIPs give them as
///   type names in field lists, without a keyword;
/// - a minimum of 0 (a negative number in an unsigned type), and of 1 where the bLIP names only the type (`min_funding_confirms_within_blocks`,
///   `max_channel_expiry_blocks`); `protocols` keeps its minimum: "0 MUST NOT appear";
/// - a payment or order state outside the bLIP's lists (defined, not required);
/// - `order_id` of 1 to 64 characters (bLIP-51 types it only as a string);
/// - `unrecognized` without repeats ("an unordered set" defines it, no keyword), and a
///   `message` beside `property` in error data (bLIP-51 gives the shape only in a table).
fn is_project_reading(path: &str, error: &jsonschema::ValidationError<'_>) -> bool {
    use jsonschema::error::ValidationErrorKind as Kind;
    let key = path.rsplit('/').next().unwrap_or_default();
    match &error.kind {
        Kind::UniqueItems => true,
        // Payment and order states are defined by lists, not required by a keyword; the
        // property named by error 100 "MUST be one of the fields".
        Kind::Enum { .. } => key != "property",
        Kind::MinLength { .. } | Kind::MaxLength { .. } => key == "order_id",
        Kind::Required { property } => property.as_str() == Some("message"),
        Kind::Pattern { .. } => {
            (key.ends_with("_sat") || key.ends_with("_msat"))
                && error
                    .instance
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        }
        Kind::Maximum { .. } => error.instance.is_u64(),
        // Minimum 0 (unsigned type names) and 1 (our reading of two LSPS1 options).
        Kind::Minimum { limit } => {
            limit.as_u64().is_some_and(|l| l <= 1) && !path.starts_with("/protocols/")
        }
        _ => false,
    }
}

/// `null`, `a string`, ... for messages.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Error codes whose `data` shape the schemas state more strictly than a bLIP MUST: 1 (the data
/// `{message}` is given in a table; judged at WARN by `lsps0.wire.client-rejected-shape`) and
/// -32600 (this project's own `{message}`, not defined by any bLIP).
const SOFT_DATA_CODES: &[i64] = &[code::CLIENT_REJECTED, code::INVALID_REQUEST];

/// Schema constraints that encode this project's reading rather than a bLIP MUST; they are not
/// schema findings (the case that owns the rule judges them at WARN):
/// `lsp_cltv_expiry_delta ≤ 65535` (spec/README D22, judged by `lsps2.buy.result-shape`) and the
/// `data` of the codes in [`SOFT_DATA_CODES`].
fn is_not_a_blip_must(instance: &Value, path: &str) -> bool {
    if path.ends_with("/lsp_cltv_expiry_delta") {
        return true;
    }
    let code = instance
        .get("error")
        .and_then(|e| e.get("code"))
        .and_then(Value::as_i64);
    path.starts_with("/error/data") && code.is_some_and(|c| SOFT_DATA_CODES.contains(&c))
}

/// error.json forbids `data` on -32700 (this project writes none), but JSON-RPC 2.0 lets any
/// error carry data and bLIP-50 asks only that it be an object: not a finding.
fn forbids_parse_error_data(path: &str, error: &jsonschema::ValidationError<'_>) -> bool {
    path == "/error"
        && error
            .to_string()
            .contains(r#"{"required":["data"]} is not allowed"#)
}

//! JSON-RPC error objects and every error code LSPS0/1/2 define.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

/// Error codes of JSON-RPC 2.0, LSPS0, LSPS1 and LSPS2.
pub mod code {
    /// -32700 Parse error. LSPS0: every "bad message format", always with `id: null`.
    pub const PARSE_ERROR: i32 = -32700;
    /// -32600 Invalid Request: a JSON object that is not a valid LSPS request.
    pub const INVALID_REQUEST: i32 = -32600;
    /// -32601 Method not found. LSPS0 MUST for unknown methods.
    pub const METHOD_NOT_FOUND: i32 = -32601;
    /// -32602 Invalid params. LSPS0: `data.unrecognized` (array of names) is always present;
    /// LSPS1 adds `data.property` / `data.message` for invalid values.
    pub const INVALID_PARAMS: i32 = -32602;
    /// -32603 Internal error.
    pub const INTERNAL_ERROR: i32 = -32603;
    /// 1 `client_rejected` (LSPS0, written "001" in the bLIPs); `data: {"message": ...}`.
    pub const CLIENT_REJECTED: i32 = 1;
    /// 100 LSPS1 option mismatch; `data: {"property": <get_info field>, "message": ...}`.
    pub const LSPS1_OPTION_MISMATCH: i32 = 100;
    /// 101 LSPS1 order not found; `data: {}`.
    pub const LSPS1_NOT_FOUND: i32 = 101;
    /// 102 LSPS1 unrecognized or stale token; `data: {}`.
    pub const LSPS1_UNRECOGNIZED_OR_STALE_TOKEN: i32 = 102;
    /// 200 LSPS2 `unrecognized_or_stale_token`; no data.
    pub const LSPS2_UNRECOGNIZED_OR_STALE_TOKEN: i32 = 200;
    /// 201 LSPS2 `invalid_opening_fee_params` (bad promise or `valid_until` past); no data.
    pub const LSPS2_INVALID_OPENING_FEE_PARAMS: i32 = 201;
    /// 202 LSPS2 `payment_size_too_small` (opening fee ≥ payment size); no data.
    pub const LSPS2_PAYMENT_SIZE_TOO_SMALL: i32 = 202;
    /// 203 LSPS2 `payment_size_too_large` (fee overflow or no liquidity); no data.
    pub const LSPS2_PAYMENT_SIZE_TOO_LARGE: i32 = 203;

    /// The spec name of a code, or `None` for codes LSPS0/1/2 do not define.
    /// Codes 200..=203 are LSPS2's, 100..=102 LSPS1's.
    pub const fn name(code: i32) -> Option<&'static str> {
        Some(match code {
            PARSE_ERROR => "parse_error",
            INVALID_REQUEST => "invalid_request",
            METHOD_NOT_FOUND => "method_not_found",
            INVALID_PARAMS => "invalid_params",
            INTERNAL_ERROR => "internal_error",
            CLIENT_REJECTED => "client_rejected",
            LSPS1_OPTION_MISMATCH => "option_mismatch",
            LSPS1_NOT_FOUND => "not_found",
            LSPS1_UNRECOGNIZED_OR_STALE_TOKEN => "unrecognized_or_stale_token",
            LSPS2_UNRECOGNIZED_OR_STALE_TOKEN => "unrecognized_or_stale_token",
            LSPS2_INVALID_OPENING_FEE_PARAMS => "invalid_opening_fee_params",
            LSPS2_PAYMENT_SIZE_TOO_SMALL => "payment_size_too_small",
            LSPS2_PAYMENT_SIZE_TOO_LARGE => "payment_size_too_large",
            _ => return None,
        })
    }
}

/// A JSON-RPC error object `{code, message, data?}`.
///
/// LSPS0 requires `data`, when present, to be a JSON **object**. The constructors only ever
/// build objects. When encoding, a `data` that is not an object is normalised so that the wire
/// never carries a string `data` (LDK 0.2.7 sends strings): `null` is omitted, a string `s`
/// becomes `{"message": s}`, any other value `v` becomes `{"value": v}`. Decoding keeps
/// whatever arrived, so a checker can see what the peer really sent.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorObject {
    /// The error code (see [`code`]).
    pub code: i32,
    /// A short human-readable description. Clients must not show it unsanitised.
    pub message: String,
    /// Extra information; an object when present.
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with any code, message and data.
    pub fn new(code: i32, message: impl Into<String>, data: Option<Value>) -> Self {
        Self {
            code,
            message: message.into(),
            data,
        }
    }

    /// -32700 "Parse error" without data (LSPS0 bad message format).
    pub fn parse_error() -> Self {
        Self::new(code::PARSE_ERROR, "Parse error", None)
    }

    /// -32600 "Invalid Request" without data.
    pub fn invalid_request() -> Self {
        Self::new(code::INVALID_REQUEST, "Invalid Request", None)
    }

    /// -32600 "Invalid Request" with `data: {"message": reason}` saying what is wrong.
    pub fn invalid_request_because(reason: impl Into<String>) -> Self {
        Self::new(
            code::INVALID_REQUEST,
            "Invalid Request",
            Some(json!({ "message": reason.into() })),
        )
    }

    /// -32601 "Method not found" without data.
    pub fn method_not_found() -> Self {
        Self::new(code::METHOD_NOT_FOUND, "Method not found", None)
    }

    /// -32602 "Invalid params" with `data: {"unrecognized": [names...]}` (LSPS0).
    pub fn unrecognized_params<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<Value> = names.into_iter().map(|n| Value::String(n.into())).collect();
        Self::new(
            code::INVALID_PARAMS,
            "Invalid params",
            Some(json!({ "unrecognized": names })),
        )
    }

    /// -32602 "Invalid params" for an invalid value:
    /// `data: {"property": <dotted path>, "message": ..., "unrecognized": []}`.
    ///
    /// `property`/`message` is LSPS1's shape; the empty `unrecognized` is there because LSPS0
    /// says every -32602 carries `unrecognized`, so readers of either spec are satisfied.
    pub fn invalid_param(property: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            code::INVALID_PARAMS,
            "Invalid params",
            Some(json!({
                "property": property.into(),
                "message": message.into(),
                "unrecognized": [],
            })),
        )
    }

    /// -32603 "Internal error" without data.
    pub fn internal_error() -> Self {
        Self::new(code::INTERNAL_ERROR, "Internal error", None)
    }

    /// 1 "Client rejected" with `data: {"message": message}` (LSPS0 `client_rejected_error`).
    pub fn client_rejected(message: impl Into<String>) -> Self {
        Self::new(
            code::CLIENT_REJECTED,
            "Client rejected",
            Some(json!({ "message": message.into() })),
        )
    }

    /// 100 LSPS1 "Option mismatch": `data: {"property": <get_info field>, "message": ...}`.
    pub fn lsps1_option_mismatch(property: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            code::LSPS1_OPTION_MISMATCH,
            "Option mismatch",
            Some(json!({ "property": property.into(), "message": message.into() })),
        )
    }

    /// 101 LSPS1 "Not found" with `data: {}`.
    pub fn lsps1_not_found() -> Self {
        Self::new(
            code::LSPS1_NOT_FOUND,
            "Not found",
            Some(Value::Object(Map::new())),
        )
    }

    /// 102 LSPS1 "Unrecognized or stale token" with `data: {}`.
    pub fn lsps1_unrecognized_or_stale_token() -> Self {
        Self::new(
            code::LSPS1_UNRECOGNIZED_OR_STALE_TOKEN,
            "Unrecognized or stale token",
            Some(Value::Object(Map::new())),
        )
    }

    /// 200 LSPS2 `unrecognized_or_stale_token`, no data.
    pub fn lsps2_unrecognized_or_stale_token() -> Self {
        Self::new(
            code::LSPS2_UNRECOGNIZED_OR_STALE_TOKEN,
            "Unrecognized or stale token",
            None,
        )
    }

    /// 201 LSPS2 `invalid_opening_fee_params`, no data.
    pub fn lsps2_invalid_opening_fee_params() -> Self {
        Self::new(
            code::LSPS2_INVALID_OPENING_FEE_PARAMS,
            "Invalid opening fee params",
            None,
        )
    }

    /// 202 LSPS2 `payment_size_too_small`, no data.
    pub fn lsps2_payment_size_too_small() -> Self {
        Self::new(
            code::LSPS2_PAYMENT_SIZE_TOO_SMALL,
            "Payment size too small",
            None,
        )
    }

    /// 203 LSPS2 `payment_size_too_large`, no data.
    pub fn lsps2_payment_size_too_large() -> Self {
        Self::new(
            code::LSPS2_PAYMENT_SIZE_TOO_LARGE,
            "Payment size too large",
            None,
        )
    }

    /// `data` as it is written on the wire (see the type docs): always an object or absent.
    pub fn wire_data(&self) -> Option<Map<String, Value>> {
        match &self.data {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(Value::String(s)) => {
                let mut m = Map::new();
                m.insert("message".into(), Value::String(s.clone()));
                Some(m)
            }
            Some(other) => {
                let mut m = Map::new();
                m.insert("value".into(), other.clone());
                Some(m)
            }
        }
    }

    /// The `unrecognized` names of a -32602 error, if present and well-formed.
    pub fn unrecognized(&self) -> Option<Vec<&str>> {
        let arr = self.data.as_ref()?.get("unrecognized")?.as_array()?;
        arr.iter().map(Value::as_str).collect()
    }

    /// The `data.property` string, if present (LSPS1 -32602 and 100).
    pub fn property(&self) -> Option<&str> {
        self.data.as_ref()?.get("property")?.as_str()
    }
}

impl Serialize for ErrorObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let data = self.wire_data();
        let mut st = s.serialize_struct("ErrorObject", if data.is_some() { 3 } else { 2 })?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.message)?;
        if let Some(d) = data {
            st.serialize_field("data", &d)?;
        }
        st.end()
    }
}

impl core::fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "error {} ({})", self.code, self.message.escape_debug())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn data_is_never_a_string_on_the_wire() {
        let e = ErrorObject::new(
            100,
            "x",
            Some(Value::String("Supported options are".into())),
        );
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":100,"message":"x","data":{"message":"Supported options are"}}"#
        );
        let e = ErrorObject::new(1, "x", Some(Value::Null));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":1,"message":"x"}"#
        );
        let e = ErrorObject::new(1, "x", Some(json!([1])));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":1,"message":"x","data":{"value":[1]}}"#
        );
    }

    #[test]
    fn invalid_param_satisfies_both_readers() {
        let e = ErrorObject::invalid_param("announce_channel", "expected a boolean");
        assert_eq!(e.unrecognized(), Some(vec![]));
        assert_eq!(e.property(), Some("announce_channel"));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":-32602,"message":"Invalid params","data":{"property":"announce_channel","message":"expected a boolean","unrecognized":[]}}"#
        );
    }

    #[test]
    fn code_names() {
        assert_eq!(
            code::name(code::LSPS2_PAYMENT_SIZE_TOO_LARGE),
            Some("payment_size_too_large")
        );
        assert_eq!(code::name(-32000), None);
    }
}

//! Wire rules checked on every received message, beside the schemas: error-code ranges
//! (LSPS0-R32), amounts as decimal strings (LSPS0-R49), SCID format (LSPS0-R53) and strict
//! datetimes (LSPS0-R58). Parsing goes through `lsps-core` types.

use crate::code;
use crate::schema::Finding;
use lsps_core::types::{Datetime, DatetimeMode, Msat, Scid};
use serde_json::Value;

const DATETIME_KEYS: &[&str] = &["created_at", "expires_at", "funded_at", "valid_until"];
const SCID_KEYS: &[&str] = &["jit_channel_scid"];

/// Every wire-rule problem in `message` (the reply to `method`, when known).
pub fn scan(message: &Value, method: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    if let (Some(method), Some(code)) = (
        method,
        message
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64),
    ) && !code_in_range(method, code)
    {
        out.push((
            "LSPS0-R32",
            format!("error code {code} from {method} is outside its LSPS range"),
        ));
    }
    if let Some(result) = message.get("result") {
        walk(result, "result", &mut out);
    }
    if let Some(error) = message.get("error")
        && error.get("code").and_then(Value::as_i64) == Some(code::CLIENT_REJECTED)
        && !error
            .get("data")
            .and_then(|d| d.get("message"))
            .is_some_and(Value::is_string)
    {
        out.push((
            "LSPS0-R63",
            "client_rejected (code 1) without data.message as a string".into(),
        ));
    }
    out
}

/// LSPS0-R48: characters that may appear unescaped in a JSON string are written directly,
/// so `\u0041` for `A` is a violation (`\u0022` and `\u005c` are exempt: they may be escaped).
pub fn scan_raw(bytes: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 6 <= bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1] == b'u' && bytes[i + 2] == b'0' && bytes[i + 3] == b'0' {
                let hex = std::str::from_utf8(&bytes[i + 4..i + 6])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(c) = hex
                    && (0x20..=0x7e).contains(&c)
                    && c != b'"'
                    && c != b'\\'
                {
                    out.push((
                        "LSPS0-R48",
                        format!("gratuitous escape \\u00{:02x} for {:?}", c, c as char),
                    ));
                }
            }
            // Skip the escaped character so `\\u0041` (a literal backslash) is not read as one.
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// LSPS0: JSON-RPC reserved codes (-32768..-32000), codes outside the LSPSpec (-31999..-1),
/// `client_rejected` (1), or the method's own block 100·N..100·N+99.
pub fn code_in_range(method: &str, code: i64) -> bool {
    // -31999..-1: "MAY be used by applications outside of the LSPSpec" (bLIP-50).
    if (-32768..=-1).contains(&code) || code == 1 {
        return true;
    }
    let n = method
        .strip_prefix("lsps")
        .and_then(|rest| rest.split('.').next())
        .and_then(|n| n.parse::<i64>().ok());
    match n {
        Some(n) => (100 * n..=100 * n + 99).contains(&code),
        None => false,
    }
}

fn walk(value: &Value, path: &str, out: &mut Vec<Finding>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{path}.{key}");
                if (key.ends_with("_sat") || key.ends_with("_msat")) && !inner.is_null() {
                    let ok = inner.as_str().is_some_and(|s| s.parse::<Msat>().is_ok());
                    if !ok {
                        out.push((
                            "LSPS0-R49",
                            format!("{here} is {inner}, not a decimal string within u64"),
                        ));
                    }
                } else if DATETIME_KEYS.contains(&key.as_str()) && !inner.is_null() {
                    let ok = inner
                        .as_str()
                        .is_some_and(|s| Datetime::parse(s, DatetimeMode::Strict).is_ok());
                    if !ok {
                        out.push((
                            "LSPS0-R58",
                            format!("{here} is {inner}, not YYYY-MM-DDThh:mm:ss.sssZ"),
                        ));
                    }
                } else if SCID_KEYS.contains(&key.as_str()) {
                    let ok = inner.as_str().is_some_and(|s| s.parse::<Scid>().is_ok());
                    if !ok {
                        out.push(("LSPS0-R53", format!("{here} is {inner}, not an LSPS0.scid")));
                    }
                }
                walk(inner, &here, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn code_ranges() {
        assert!(code_in_range("lsps2.buy", 201));
        assert!(code_in_range("lsps2.buy", -32602));
        assert!(code_in_range("lsps1.create_order", 1));
        assert!(!code_in_range("lsps2.buy", 101));
        assert!(code_in_range("lsps2.buy", -5000));
        assert!(!code_in_range("lsps0.list_protocols", 100));
    }

    #[test]
    fn finds_amounts_datetimes_scids() {
        let msg = json!({"jsonrpc":"2.0","id":"x","result":{
            "a_sat": 5, "b_msat": "7", "created_at": "2026-01-01T00:00:00Z",
            "jit_channel_scid": "1x2x3", "inner": [{"valid_until": "2026-01-01T00:00:00.000Z"}]}});
        let rules: Vec<&str> = scan(&msg, Some("lsps1.get_info"))
            .iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(rules, vec!["LSPS0-R49", "LSPS0-R58"]);
        let bad_scid = json!({"result":{"jit_channel_scid": "1:2:3"}});
        assert_eq!(scan(&bad_scid, None)[0].0, "LSPS0-R53");
        assert!(scan_raw(br#"{"a":"\u0041"}"#).len() == 1);
        assert!(scan_raw(br#"{"a":"\\u0041 \u0022 \u005c \u0001"}"#).is_empty());
        let rejected = json!({"error":{"code":1,"message":"no","data":{}}});
        assert_eq!(scan(&rejected, None)[0].0, "LSPS0-R63");
        let err = json!({"error":{"code":101,"message":"x"}});
        assert_eq!(scan(&err, Some("lsps2.buy"))[0].0, "LSPS0-R32");
    }
}

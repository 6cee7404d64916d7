//! LSPS0's "bad message format" checks on raw payload bytes.

use core::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a payload fails LSPS0's message-format checks (any of them means -32700 at the LSP,
/// and "ignore" at the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The payload contains a 0x00 byte.
    #[error("payload contains a NUL (0x00) byte")]
    NulByte,
    /// The payload is not valid UTF-8.
    #[error("payload is not valid UTF-8")]
    InvalidUtf8,
    /// Not exactly one JSON value (empty, truncated, syntax error, trailing data, a second
    /// value, nesting deeper than 128, or a duplicate key).
    #[error("payload is not exactly one JSON value: {0}")]
    NotOneJsonValue(String),
    /// One JSON value, but not an object (array, string, number, `true`, `null`, ...).
    #[error("payload is a JSON {0}, not an object")]
    NotAnObject(&'static str),
}

/// Runs LSPS0's format checks and returns the single top-level object.
///
/// Accepted: exactly one JSON object in UTF-8, optionally surrounded by JSON whitespace
/// (space, tab, LF, CR; any other whitespace is a syntax error, as in JSON). Rejected: a
/// NUL byte anywhere, invalid UTF-8, anything but exactly one object, and **duplicate keys**
/// in any object at any depth: RFC 8259 leaves their meaning to the parser, so two readers
/// (for example the LSP that checks a promise and the one that opens the channel) could see
/// different values; refusing them removes the ambiguity. Also refused, as serde_json refuses
/// them: nesting deeper than 128, numbers outside the f64 range (`1e400`), and `\u` escapes of
/// lone UTF-16 surrogates (they encode no Unicode text).
pub fn parse_message(payload: &[u8]) -> Result<Map<String, Value>, FormatError> {
    if payload.contains(&0) {
        return Err(FormatError::NulByte);
    }
    let text = core::str::from_utf8(payload).map_err(|_| FormatError::InvalidUtf8)?;
    let mut de = serde_json::Deserializer::from_str(text);
    let value = UniqueKeysValue::deserialize(&mut de)
        .map_err(|e| FormatError::NotOneJsonValue(e.to_string()))?
        .0;
    de.end()
        .map_err(|e| FormatError::NotOneJsonValue(e.to_string()))?;
    match value {
        Value::Object(m) => Ok(m),
        Value::Array(_) => Err(FormatError::NotAnObject("array")),
        Value::String(_) => Err(FormatError::NotAnObject("string")),
        Value::Number(_) => Err(FormatError::NotAnObject("number")),
        Value::Bool(_) => Err(FormatError::NotAnObject("boolean")),
        Value::Null => Err(FormatError::NotAnObject("null")),
    }
}

/// A `serde_json::Value` whose deserialization fails on duplicate object keys.
struct UniqueKeysValue(Value);

impl<'de> Deserialize<'de> for UniqueKeysValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeysValue)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // serde_json never produces non-finite floats; `Null` mirrors serde_json's own Value.
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(UniqueKeysValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("duplicate key `{key}`")));
            }
            let UniqueKeysValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn accepts_one_object_with_json_whitespace() {
        assert!(parse_message(b" \t\r\n{ } \t\r\n").unwrap().is_empty());
        assert_eq!(
            parse_message(br#"{"a":{"b":[1,2.5,"x",null,true]}}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(parse_message(b"{\"a\":\"\0\"}"), Err(FormatError::NulByte));
        assert_eq!(parse_message(b"{}\0"), Err(FormatError::NulByte));
        assert_eq!(
            parse_message(b"{\"a\":\"\xff\"}"),
            Err(FormatError::InvalidUtf8)
        );
        assert_eq!(
            parse_message(b" [ ] "),
            Err(FormatError::NotAnObject("array"))
        );
        assert_eq!(
            parse_message(b"42"),
            Err(FormatError::NotAnObject("number"))
        );
        assert_eq!(
            parse_message(b"null"),
            Err(FormatError::NotAnObject("null"))
        );
        for bad in [
            &b""[..],
            b"{",
            b" { } { ",
            b" { } { }",
            b"{}x",
            b"\x0c{}",
            "\u{a0}{}".as_bytes(),
            br#"{"a":1,"a":2}"#,
            br#"{"a":{"b":1,"b":1}}"#,
            br#"{"a":[{"b":1,"b":1}]}"#,
        ] {
            assert!(
                matches!(parse_message(bad), Err(FormatError::NotOneJsonValue(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let deep = format!("{{\"a\":{deep}}}");
        assert!(matches!(
            parse_message(deep.as_bytes()),
            Err(FormatError::NotOneJsonValue(_))
        ));
        for bad in [&br#"{"a":1e400}"#[..], br#"{"a":"\ud800"}"#] {
            assert!(matches!(
                parse_message(bad),
                Err(FormatError::NotOneJsonValue(_))
            ));
        }
    }
}

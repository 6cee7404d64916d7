//! Typed requests and responses and their canonical encoding.

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use super::{ErrorObject, Method, RequestId};
use crate::{lsps0, lsps1, lsps2};

/// An enum with one variant per method, each named as its [`Method`] variant and holding that
/// method's typed value: `method()`, `Serialize` as the held value, and `From` the held type.
/// A type held by two variants is marked `shared` and gets no `From` (the caller picks).
macro_rules! per_method_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident($ty:ty) $($shared:ident)? ),* $(,)?
        }
        $(#[$method_meta:meta])*
        fn method;
    ) => {
        $(#[$meta])*
        pub enum $name {
            $( $(#[$variant_meta])* $variant($ty), )*
        }

        impl $name {
            $(#[$method_meta])*
            pub const fn method(&self) -> Method {
                match self {
                    $( $name::$variant(_) => Method::$variant, )*
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant(inner) => inner.serialize(s), )*
                }
            }
        }

        $( per_method_enum!(@from $($shared)? $name $variant ($ty)); )*
    };
    (@from shared $name:ident $variant:ident ($ty:ty)) => {};
    (@from $name:ident $variant:ident ($ty:ty)) => {
        impl From<$ty> for $name {
            fn from(inner: $ty) -> Self {
                $name::$variant(inner)
            }
        }
    };
}

per_method_enum! {
    /// Typed params of a request, one variant per method.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum RequestParams {
        /// `lsps0.list_protocols`
        Lsps0ListProtocols(lsps0::ListProtocolsRequest),
        /// `lsps1.get_info`
        Lsps1GetInfo(lsps1::GetInfoRequest),
        /// `lsps1.create_order`
        Lsps1CreateOrder(lsps1::CreateOrderRequest),
        /// `lsps1.get_order`
        Lsps1GetOrder(lsps1::GetOrderRequest),
        /// `lsps2.get_info`
        Lsps2GetInfo(lsps2::GetInfoRequest),
        /// `lsps2.buy`
        Lsps2Buy(lsps2::BuyRequest),
    }
    /// The method these params belong to.
    fn method;
}

per_method_enum! {
    /// Typed result of a successful response, one variant per method.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum ResponseResult {
        /// `lsps0.list_protocols`
        Lsps0ListProtocols(lsps0::ListProtocolsResult),
        /// `lsps1.get_info`
        Lsps1GetInfo(lsps1::GetInfoResult),
        /// `lsps1.create_order`
        Lsps1CreateOrder(lsps1::OrderResult) shared,
        /// `lsps1.get_order`
        Lsps1GetOrder(lsps1::OrderResult) shared,
        /// `lsps2.get_info`
        Lsps2GetInfo(lsps2::GetInfoResult),
        /// `lsps2.buy`
        Lsps2Buy(lsps2::BuyResult),
    }
    /// The method this result answers.
    fn method;
}

/// A typed JSON-RPC request (client → LSP). LSPS0 requires a string id: there are no
/// client notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request id.
    pub id: RequestId,
    /// Method and typed params.
    pub params: RequestParams,
}

impl Request {
    /// A request with `id` and `params`.
    pub fn new(id: RequestId, params: impl Into<RequestParams>) -> Self {
        Self {
            id,
            params: params.into(),
        }
    }

    /// The method, from the params.
    pub const fn method(&self) -> Method {
        self.params.method()
    }

    /// Canonical encoding: `{"jsonrpc":"2.0","id":…,"method":…,"params":{…}}`, compact, keys in
    /// a fixed order, printable characters never `\u`-escaped.
    pub fn to_bytes(&self) -> Vec<u8> {
        // The fixed parts are written as bytes (what serde_json writes for them: method names
        // are plain ASCII with nothing to escape), the id and params through serde_json.
        // Serializing these types cannot fail: all map keys are strings and no value is a
        // non-finite float. The empty fallback is unreachable.
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        let written = serde_json::to_writer(&mut out, &self.id).and_then(|()| {
            out.extend_from_slice(br#","method":""#);
            out.extend_from_slice(self.method().name().as_bytes());
            out.extend_from_slice(br#"","params":"#);
            serde_json::to_writer(&mut out, &self.params)
        });
        out.push(b'}');
        written.map(|()| out).unwrap_or_default()
    }
}

/// A JSON-RPC response (LSP → client): a typed result or an error.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request id; `None` is written as JSON `null` (the -32700 reply, or when the id of
    /// an invalid request could not be read).
    pub id: Option<RequestId>,
    /// Result or error.
    pub body: Result<ResponseResult, ErrorObject>,
}

/// The -32603 reply with `id: null`, used if encoding ever failed (it cannot for these types).
const INTERNAL_ERROR_REPLY: &[u8] =
    br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#;

impl Response {
    /// A successful response.
    pub fn result(id: RequestId, result: impl Into<ResponseResult>) -> Self {
        Self {
            id: Some(id),
            body: Ok(result.into()),
        }
    }

    /// An error response.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            id,
            body: Err(error),
        }
    }

    /// Canonical encoding: `{"jsonrpc":"2.0","id":…,"result":{…}}` or
    /// `{"jsonrpc":"2.0","id":…,"error":{"code":…,"message":…,"data":{…}}}`; compact, keys in
    /// a fixed order, `error.data` always an object or absent.
    pub fn to_bytes(&self) -> Vec<u8> {
        // As in `Request::to_bytes`: fixed parts as bytes, the rest through serde_json.
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        let written = serde_json::to_writer(&mut out, &self.id).and_then(|()| match &self.body {
            Ok(result) => {
                out.extend_from_slice(br#","result":"#);
                serde_json::to_writer(&mut out, result)
            }
            Err(error) => {
                out.extend_from_slice(br#","error":"#);
                serde_json::to_writer(&mut out, error)
            }
        });
        out.push(b'}');
        let out = written.map(|()| out);
        out.unwrap_or_else(|_| INTERNAL_ERROR_REPLY.to_vec())
    }
}

impl Response {
    /// [`to_bytes`](Self::to_bytes), except that a result equal to `cached`'s is copied from
    /// its bytes instead of serialized again: the same output, cheaper for a server whose
    /// answer to a method is fixed by its configuration.
    pub fn to_bytes_with(&self, cached: &EncodedResult) -> Vec<u8> {
        match (&self.id, &self.body) {
            (Some(id), Ok(result)) if *result == cached.result => {
                let mut out = Vec::with_capacity(64 + id.0.len() + cached.json.len());
                out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
                if serde_json::to_writer(&mut out, id).is_err() {
                    return self.to_bytes();
                }
                out.extend_from_slice(br#","result":"#);
                out.extend_from_slice(&cached.json);
                out.push(b'}');
                out
            }
            _ => self.to_bytes(),
        }
    }
}

/// A result serialized once (see [`Response::to_bytes_with`]). Made only from a typed
/// [`ResponseResult`], so the bytes are always what [`Response::to_bytes`] would write.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedResult {
    result: ResponseResult,
    json: Vec<u8>,
}

impl EncodedResult {
    /// Serializes `result` now.
    pub fn new(result: ResponseResult) -> Result<Self, serde_json::Error> {
        let json = serde_json::to_vec(&result)?;
        Ok(Self { result, json })
    }

    /// The cached result.
    pub fn result(&self) -> &ResponseResult {
        &self.result
    }
}

/// A JSON-RPC notification (no id). No LSPS0/1/2 notification exists; clients must ignore
/// unknown ones, so they are kept untyped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Method name.
    pub method: String,
    /// By-name params (`{}` when absent).
    pub params: Map<String, Value>,
}

#[derive(Serialize)]
struct NotificationWire<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a Map<String, Value>,
}

impl Notification {
    /// Canonical encoding: `{"jsonrpc":"2.0","method":…,"params":{…}}`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let wire = NotificationWire {
            jsonrpc: "2.0",
            method: &self.method,
            params: &self.params,
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn printable_characters_are_never_escaped() {
        let req = Request::new(
            "id-é".into(),
            lsps2::GetInfoRequest {
                token: Some("A<>&é€😀/".into()),
            },
        );
        let text = String::from_utf8(req.to_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"jsonrpc":"2.0","id":"id-é","method":"lsps2.get_info","params":{"token":"A<>&é€😀/"}}"#
        );
        // Only `"`, `\` and control characters are escaped, as JSON requires.
        let req = Request::new(
            "x".into(),
            lsps2::GetInfoRequest {
                token: Some("\"\\\n\u{1}".into()),
            },
        );
        assert!(
            String::from_utf8(req.to_bytes())
                .unwrap()
                .contains(r#""token":"\"\\\n\u0001""#)
        );
    }

    #[test]
    fn fixed_parts_are_what_serde_json_writes() {
        // `to_bytes` writes method names without escaping; serde_json must agree.
        for m in Method::ALL {
            assert_eq!(
                serde_json::to_string(m.name()).unwrap(),
                format!("\"{}\"", m.name())
            );
        }
        let req = Request::new("i\"d".into(), lsps2::GetInfoRequest { token: None });
        let expected = serde_json::json!({"jsonrpc": "2.0", "id": "i\"d",
            "method": "lsps2.get_info", "params": {}});
        let bytes = req.to_bytes();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), expected);
        assert_eq!(bytes, serde_json::to_vec(&expected).unwrap());
    }

    #[test]
    fn cached_result_writes_what_to_bytes_writes() {
        let protocols = ResponseResult::Lsps0ListProtocols(lsps0::ListProtocolsResult {
            protocols: vec![1, 2],
        });
        let cached = EncodedResult::new(protocols.clone()).unwrap();
        for id in ["a", "q\"uote\\", "\u{1}ctl", "é"] {
            let same = Response::result(
                id.into(),
                lsps0::ListProtocolsResult {
                    protocols: vec![1, 2],
                },
            );
            assert_eq!(same.to_bytes_with(&cached), same.to_bytes(), "{id}");
            // Another result, an error and a null id all take the typed path.
            let other =
                Response::result(id.into(), lsps0::ListProtocolsResult { protocols: vec![2] });
            assert_eq!(other.to_bytes_with(&cached), other.to_bytes());
            let error = Response::error(Some(id.into()), ErrorObject::internal_error());
            assert_eq!(error.to_bytes_with(&cached), error.to_bytes());
        }
        let null_id = Response {
            id: None,
            body: Ok(protocols),
        };
        assert_eq!(null_id.to_bytes_with(&cached), null_id.to_bytes());
    }

    #[test]
    fn null_id_is_written_as_null() {
        let r = Response::error(None, ErrorObject::internal_error());
        assert_eq!(r.to_bytes(), INTERNAL_ERROR_REPLY);
    }
}

//! Classifying decoders: raw payload → typed message, or exactly what to do instead.

use serde_json::{Map, Value};

use super::fast::{self, FastResponse};
use super::params::{InvalidProperty, spec};
use super::parse::{FormatError, parse_message};
use super::{ErrorObject, Method, Notification, Request, RequestId, Response, ResponseResult};

/// Members a JSON-RPC 2.0 request object may have.
const REQUEST_MEMBERS: [&str; 4] = ["jsonrpc", "id", "method", "params"];

/// Decodes a payload received by the LSP, classifying it as LSPS0 prescribes.
///
/// `Ok` is a typed request. `Err` is the exact reply to send:
///
/// | Input | Reply |
/// |---|---|
/// | NUL byte, invalid UTF-8, not exactly one JSON object, duplicate key ([`parse_message`](super::parse_message)) | -32700, `id: null`, no data |
/// | an object that is not a valid LSPS request | -32600 with `data.message` saying why |
/// | unknown method | -32601, id echoed, no data |
/// | unknown param names | -32602, `data: {"unrecognized": [names]}` |
/// | a param value of the wrong type or format | -32602, `data: {"property": "a.b", "message": …, "unrecognized": []}` |
///
/// -32600 cases, checked in this order: `jsonrpc` is not exactly `"2.0"`; a member other than
/// `jsonrpc`, `id`, `method`, `params` (for example a response's `result`); `method` missing or
/// not a string; `id` missing (a notification: LSPS0 forbids clients to send them, and an
/// answer tells the client's developer more than silence); `id` not a string (LSPS0 requires
/// string ids; a numeric id cannot be echoed in a [`RequestId`], so the reply has `id: null`);
/// `params` present but not an object (by-position arrays included). A missing `params`
/// means `{}` (JSON-RPC allows omitting it; LDK and CLN do the same).
///
/// Every -32600, -32601 and -32602 echoes the id when it is a string, so the client can
/// match the error to its request.
///
/// A well-formed request is decoded in a fast path that reads the payload text directly (no
/// `serde_json::Value` tree); anything else, and every error, goes through the full classifier
/// described above, so the result is the same either way.
#[allow(clippy::result_large_err)] // The error is the reply itself, built once per bad message.
pub fn decode_request(payload: &[u8]) -> Result<Request, Response> {
    match fast::request(payload) {
        Some(request) => Ok(request),
        None => classify_request(payload),
    }
}

/// The full classifier behind [`decode_request`]: builds the `Value` tree, then checks.
#[allow(clippy::result_large_err)] // The error is the reply itself, built once per bad message.
pub(super) fn classify_request(payload: &[u8]) -> Result<Request, Response> {
    let mut obj =
        parse_message(payload).map_err(|_| Response::error(None, ErrorObject::parse_error()))?;
    let id = match obj.get("id") {
        Some(Value::String(s)) => Some(RequestId(s.clone())),
        _ => None,
    };
    let invalid =
        |reason: String| Response::error(id.clone(), ErrorObject::invalid_request_because(reason));

    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(invalid("`jsonrpc` must be \"2.0\"".into()));
    }
    if let Some(extra) = obj.keys().find(|k| !REQUEST_MEMBERS.contains(&k.as_str())) {
        return Err(invalid(format!("unexpected member `{extra}` in a request")));
    }
    // `None` here is an unknown method, answered after the envelope checks.
    let method = match obj.get("method") {
        Some(Value::String(m)) => Method::from_name(m),
        Some(_) => return Err(invalid("`method` must be a string".into())),
        None => return Err(invalid("`method` is missing".into())),
    };
    let id = match (obj.get("id"), id.clone()) {
        (Some(_), Some(id)) => id,
        (None, _) => {
            return Err(invalid(
                "`id` is missing: notifications are not accepted".into(),
            ));
        }
        (Some(_), None) => return Err(invalid("`id` must be a string".into())),
    };
    let params = match obj.remove("params") {
        None => Map::new(),
        Some(Value::Object(p)) => p,
        Some(Value::Array(_)) => {
            return Err(invalid(
                "`params` must be by-name (an object), not by-position".into(),
            ));
        }
        Some(_) => return Err(invalid("`params` must be an object".into())),
    };
    let Some(method) = method else {
        return Err(Response::error(Some(id), ErrorObject::method_not_found()));
    };
    match (spec(method).decode_params)(params) {
        Ok(params) => Ok(Request { id, params }),
        Err(error) => Err(Response::error(Some(id), error)),
    }
}

/// What a message arriving at a client is.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // Moved once per message; boxing would only add an allocation.
pub enum IncomingMessage {
    /// A response to a request this client sent (its id was found by the lookup).
    Response {
        /// The request id.
        id: RequestId,
        /// The method the lookup named.
        method: Method,
        /// The typed result, or the error object exactly as received.
        body: Result<ResponseResult, ErrorObject>,
    },
    /// An error response with `id: null`: the LSP could not read one of our messages (for
    /// example -32700). It cannot be matched to a request.
    ErrorWithoutId(ErrorObject),
    /// A well-formed response whose id this client did not issue. LSPS0: ignore it.
    UnknownId {
        /// The unknown id.
        id: RequestId,
    },
    /// A notification. No LSPS0/1/2 notification exists; clients ignore unknown ones.
    Notification(Notification),
}

/// Why a message arriving at a client is a bad message (LSPS0: ignore it, and stop sending
/// to that peer for the rest of the connection).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadMessage {
    /// Fails the raw-format checks.
    #[error("bad message format: {0}")]
    Format(#[from] FormatError),
    /// One JSON object, but neither a JSON-RPC 2.0 response nor a notification.
    #[error("not a JSON-RPC 2.0 response or notification: {0}")]
    NotResponseOrNotification(String),
    /// A response to a known request whose `result` does not match the method's result type.
    #[error("invalid result for {method} (id {id}): {error}")]
    InvalidResult {
        /// The request id.
        id: RequestId,
        /// The method the result should answer.
        method: Method,
        /// The first field that is missing, unknown (where forbidden) or invalid.
        error: InvalidProperty,
    },
}

/// How strictly a client-side classifier reads what an LSP sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Strictness {
    /// This project's reading (spec/README D1–D31), used by its own client: on top of the
    /// bLIP MUSTs, a response object has no member besides `jsonrpc`, `id`, `result` and
    /// `error`.
    #[default]
    Project,
    /// Only what a bLIP or JSON-RPC 2.0 MUST makes wrong, for the conformance runner, which
    /// may fail an LSP only for a MUST it can quote: members JSON-RPC 2.0 does not define are
    /// ignored.
    BlipMust,
}

/// Members a response object may have.
const RESPONSE_MEMBERS: [&str; 4] = ["jsonrpc", "id", "result", "error"];
/// Members a notification object may have.
const NOTIFICATION_MEMBERS: [&str; 3] = ["jsonrpc", "method", "params"];

/// Decodes a payload received by a client. `lookup` maps ids of outstanding requests to their
/// method (a JSON-RPC response does not say which method it answers).
///
/// A response must have `jsonrpc: "2.0"`, an `id` that is a string (or `null` with an
/// `error`), exactly one of `result` (an object) and `error` (an object with an integer
/// `code` that fits i32, a string `message`, optional `data` of any type — kept as received so
/// a checker can judge it; other members are ignored), and no other member. A notification has
/// `jsonrpc: "2.0"`, a string `method`, optional object `params`, and no other member.
/// Unknown keys inside `result` are ignored, except where the type forbids them
/// (`opening_fee_params`).
///
/// `lookup` is called at most once. A result response is decoded in a fast path that reads
/// the payload text directly; anything else goes through the full classifier, with the same
/// outcome.
pub fn decode_response(
    payload: &[u8],
    lookup: &dyn Fn(&RequestId) -> Option<Method>,
) -> Result<IncomingMessage, BadMessage> {
    decode_response_with(payload, lookup, Strictness::Project)
}

/// [`decode_response`] with a chosen [`Strictness`].
pub fn decode_response_with(
    payload: &[u8],
    lookup: &dyn Fn(&RequestId) -> Option<Method>,
    strictness: Strictness,
) -> Result<IncomingMessage, BadMessage> {
    match fast::response(payload, lookup) {
        FastResponse::Result {
            id, method: None, ..
        } => Ok(IncomingMessage::UnknownId { id }),
        FastResponse::Result {
            id,
            method: Some(method),
            result: Some(result),
        } => Ok(IncomingMessage::Response {
            id,
            method,
            body: Ok(result),
        }),
        // The result does not type: the full path reports where, without asking again.
        // (The fast path checked that the payload has exactly one id.)
        FastResponse::Result {
            method: Some(method),
            result: None,
            ..
        } => classify_response(payload, &|_| Some(method), strictness),
        FastResponse::GiveUp => classify_response(payload, lookup, strictness),
    }
}

/// The full classifier behind [`decode_response`]: builds the `Value` tree, then checks.
pub(super) fn classify_response(
    payload: &[u8],
    lookup: &dyn Fn(&RequestId) -> Option<Method>,
    strictness: Strictness,
) -> Result<IncomingMessage, BadMessage> {
    let obj = parse_message(payload)?;
    let bad = |s: &str| BadMessage::NotResponseOrNotification(s.to_owned());
    if obj.get("jsonrpc") != Some(&Value::String("2.0".into())) {
        return Err(bad("`jsonrpc` must be \"2.0\""));
    }
    if obj.contains_key("method") {
        return decode_notification(obj);
    }
    if strictness == Strictness::Project
        && let Some(extra) = obj.keys().find(|k| !RESPONSE_MEMBERS.contains(&k.as_str()))
    {
        return Err(BadMessage::NotResponseOrNotification(format!(
            "unexpected member `{extra}` in a response"
        )));
    }
    let id = match obj.get("id") {
        Some(Value::String(s)) => Some(RequestId(s.clone())),
        Some(Value::Null) => None,
        Some(_) => return Err(bad("`id` must be a string or null")),
        None => return Err(bad("`id` is missing")),
    };
    let body = match (obj.get("result"), obj.get("error")) {
        (Some(_), Some(_)) => return Err(bad("has both `result` and `error`")),
        (None, None) => return Err(bad("has neither `result` nor `error`")),
        (Some(Value::Object(_)), None) => Ok(()),
        (Some(_), None) => return Err(bad("`result` must be an object")),
        (None, Some(e)) => Err(decode_error_object(e)?),
    };
    let Some(id) = id else {
        return match body {
            Err(error) => Ok(IncomingMessage::ErrorWithoutId(error)),
            Ok(()) => Err(bad("a `result` with `id: null`")),
        };
    };
    let Some(method) = lookup(&id) else {
        return Ok(IncomingMessage::UnknownId { id });
    };
    let body = match body {
        Err(error) => Err(error),
        Ok(()) => {
            let mut obj = obj;
            let result = obj.remove("result").unwrap_or(Value::Null);
            match (spec(method).decode_result)(result) {
                Ok(r) => Ok(r),
                Err(error) => return Err(BadMessage::InvalidResult { id, method, error }),
            }
        }
    };
    Ok(IncomingMessage::Response { id, method, body })
}

fn decode_notification(mut obj: Map<String, Value>) -> Result<IncomingMessage, BadMessage> {
    let bad = |s: String| BadMessage::NotResponseOrNotification(s);
    if let Some(extra) = obj
        .keys()
        .find(|k| !NOTIFICATION_MEMBERS.contains(&k.as_str()))
    {
        return Err(bad(format!(
            "unexpected member `{extra}` in a notification"
        )));
    }
    let Some(Value::String(method)) = obj.remove("method") else {
        return Err(bad("`method` must be a string".into()));
    };
    let params = match obj.remove("params") {
        None => Map::new(),
        Some(Value::Object(p)) => p,
        Some(_) => return Err(bad("notification `params` must be an object".into())),
    };
    Ok(IncomingMessage::Notification(Notification {
        method,
        params,
    }))
}

fn decode_error_object(e: &Value) -> Result<ErrorObject, BadMessage> {
    let bad = |s: &str| BadMessage::NotResponseOrNotification(s.to_owned());
    let Value::Object(e) = e else {
        return Err(bad("`error` must be an object"));
    };
    let code = e
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .ok_or_else(|| bad("`error.code` must be an integer within i32"))?;
    let Some(Value::String(message)) = e.get("message") else {
        return Err(bad("`error.message` must be a string"));
    };
    Ok(ErrorObject {
        code,
        message: message.clone(),
        data: e.get("data").cloned(),
    })
}

#[cfg(test)]
mod tests;

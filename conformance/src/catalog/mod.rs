//! The case catalog. Case ids are stable: never rename one (baselines and
//! `spec/requirements/*.yaml` refer to them); retire it instead.

/// One catalog entry: `catalog_case!(Phase, LSPS number, id, [requirement ids], level,
/// summary, sends, passes_when, procedure)`. Each protocol module wraps it with its phase and
/// protocol (`lsps1_case!`, `lsps2_case!`, `flow_case!`).
macro_rules! catalog_case {
    ($phase:ident, $applies:literal, $id:literal, [$($req:literal),*], $level:ident, $summary:literal, $sends:literal, $passes:literal, $f:path) => {
        $crate::case::Case {
            id: $id,
            requirements: &[$($req),*],
            level: $crate::verdict::Level::$level,
            applies_to: $applies,
            summary: $summary,
            sends: $sends,
            passes_when: $passes,
            phase: $crate::case::Phase::$phase,
            procedure: $crate::procedure!($f),
        }
    };
}

mod aggregate;
mod flow_lsps1;
mod flow_lsps1_onchain;
// `flow_case!` serves the LSPS2 flow modules declared after it.
#[macro_use]
mod flow_lsps2;
mod flow_lsps2_open;
mod lsps0;
mod lsps1;
mod lsps2;

use crate::case::Case;
use crate::code;
use crate::ctx::{Abort, Conn, ErrorReply, Incoming, Served};
use crate::schema::json_kind;
use serde_json::Value;
use std::sync::OnceLock;

/// Every case, in report order.
pub fn all() -> &'static [Case] {
    static ALL: OnceLock<Vec<Case>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = Vec::new();
        v.extend_from_slice(lsps0::CASES);
        v.extend_from_slice(lsps1::CASES);
        v.extend_from_slice(lsps2::CASES);
        v.extend_from_slice(aggregate::CASES);
        v.extend_from_slice(flow_lsps2::CASES);
        v.extend_from_slice(flow_lsps2_open::CASES);
        v.extend_from_slice(flow_lsps1::CASES);
        v.extend_from_slice(flow_lsps1_onchain::CASES);
        v
    })
}

/// The message tier's cases (checkable by exchanging messages), in report order.
pub fn message_cases() -> Vec<Case> {
    all()
        .iter()
        .filter(|c| c.phase.tier() == "message")
        .copied()
        .collect()
}

/// The flow tier's cases (paying through the LSP), in report order.
pub fn flow_cases() -> Vec<Case> {
    all()
        .iter()
        .filter(|c| c.phase.tier() == "flow")
        .copied()
        .collect()
}

/// Every case id (used by the spec's cross-reference test).
pub fn all_case_ids() -> Vec<&'static str> {
    all().iter().map(|c| c.id).collect()
}

/// Version of the `list --json` document layout.
pub const LISTING_VERSION: u32 = 1;

/// One case in `list --json`.
#[derive(Debug, serde::Serialize)]
pub struct ListedCase {
    /// The stable case id.
    pub id: &'static str,
    /// `message`: checkable by exchanging messages; `flow`: by paying through the LSP.
    pub tier: &'static str,
    /// MUST (a violation is FAIL), SHOULD or MAY (WARN).
    pub level: crate::verdict::Level,
    /// The LSPS the case needs advertised (0: always runs).
    pub applies_to: u16,
    /// Requirement ids of `spec/requirements`.
    pub requirements: &'static [&'static str],
    /// One line: what the case checks.
    pub summary: &'static str,
    /// Every acceptable outcome.
    pub passes_when: &'static str,
    /// The bLIP sentences behind the verdict.
    pub basis: Vec<crate::basis::BasisEntry>,
}

/// The `list --json` document.
#[derive(Debug, serde::Serialize)]
pub struct Listing {
    /// [`LISTING_VERSION`].
    pub version: u32,
    /// The lightning/blips commit the sentences are quoted from.
    pub blips_commit: &'static str,
    /// Every case, in report order.
    pub cases: Vec<ListedCase>,
}

/// Every case with its basis, for `list --json`.
pub fn listing() -> Listing {
    Listing {
        version: LISTING_VERSION,
        blips_commit: crate::basis::BLIPS_COMMIT,
        cases: all()
            .iter()
            .map(|c| ListedCase {
                id: c.id,
                tier: c.phase.tier(),
                level: c.level,
                applies_to: c.applies_to,
                requirements: c.requirements,
                summary: c.summary,
                passes_when: c.passes_when,
                basis: crate::basis::of(c.id).iter().map(Into::into).collect(),
            })
            .collect(),
    }
}

/// Looks a case up by id.
pub fn find(id: &str) -> Option<&'static Case> {
    all().iter().find(|c| c.id == id)
}

// ---- helpers shared by the procedures ----

/// A code 1 `client_rejected` answer ends the case as refused (bLIP-50 allows it for any
/// request); anything else is returned for the case to judge.
pub(crate) fn unless_refused(what: &str, msg: Incoming) -> Result<Incoming, Abort> {
    match msg {
        Incoming::Error { error, .. } if error.code == Some(code::CLIENT_REJECTED) => {
            Err(Abort::Refused(format!(
                "{what}: {}",
                error
                    .data
                    .as_ref()
                    .and_then(|d| d.get("message"))
                    .and_then(Value::as_str)
                    .or(error.message.as_deref())
                    .unwrap_or("no reason given")
            )))
        }
        other => Ok(other),
    }
}

/// Expects a `result`; code 1 is a refusal; anything else is a violation.
pub(crate) fn expect_result(what: &str, msg: Incoming) -> Result<Value, Abort> {
    match unless_refused(what, msg)? {
        Incoming::Result { result, .. } => Ok(result),
        Incoming::Error { error, .. } => Err(Abort::Violation(format!(
            "{what}: expected a result, got {}",
            error.describe()
        ))),
        Incoming::Other { why } => Err(Abort::Violation(format!(
            "{what}: expected a result, got {why}"
        ))),
    }
}

/// Calls `method` and expects a result ([`expect_result`] named after the method).
pub(crate) async fn call_result(
    conn: &mut Conn,
    method: &str,
    params: Value,
) -> Result<Value, Abort> {
    expect_result(method, conn.call(method, params).await?)
}

/// Expects an error whose code is one of `codes` (the first is the preferred one); code 1 is a
/// refusal unless listed.
pub(crate) fn expect_error(
    what: &str,
    msg: Incoming,
    codes: &[i64],
) -> Result<(Value, ErrorReply), Abort> {
    let msg = if codes.contains(&1) {
        msg
    } else {
        unless_refused(what, msg)?
    };
    let wanted = codes
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    match msg {
        Incoming::Error { id, error } if error.code.is_some_and(|c| codes.contains(&c)) => {
            Ok((id, error))
        }
        Incoming::Error { error, .. } => Err(Abort::Violation(format!(
            "{what}: expected error {wanted}, got {}",
            error.describe()
        ))),
        Incoming::Result { result, .. } => Err(Abort::Violation(format!(
            "{what}: expected error {wanted}, got a result {}",
            short(&result)
        ))),
        Incoming::Other { why } => Err(Abort::Violation(format!(
            "{what}: expected error {wanted}, got {why}"
        ))),
    }
}

/// Expects an error whose code is one of `codes`: a result is a violation (the MUST the case
/// checks), code 1 a refusal, another error code advisory (the codes are defined by the bLIPs,
/// not required by a MUST).
pub(crate) fn expect_error_graded(
    what: &str,
    msg: Incoming,
    codes: &[i64],
) -> Result<(Value, ErrorReply), Abort> {
    match unless_refused(what, msg)? {
        Incoming::Error { error, .. } if !error.code.is_some_and(|c| codes.contains(&c)) => {
            let wanted = codes
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" or ");
            Err(Abort::Advisory(format!(
                "{what}: rejected with {}, not the defined {wanted} (allowed: the bLIP defines the code without requiring it)",
                error.describe()
            )))
        }
        other => expect_error(what, other, codes),
    }
}

/// Expects a result or one of the error `codes` that the bLIPs allow in its place (e.g. 203:
/// no liquidity); code 1 is a refusal, another error advisory.
pub(crate) fn expect_result_or(
    what: &str,
    msg: Incoming,
    codes: &[i64],
) -> Result<Result<Value, ErrorReply>, Abort> {
    match unless_refused(what, msg)? {
        Incoming::Result { result, .. } => Ok(Ok(result)),
        Incoming::Error { error, .. } if error.code.is_some_and(|c| codes.contains(&c)) => {
            Ok(Err(error))
        }
        Incoming::Error { error, .. } => Err(Abort::Advisory(format!(
            "{what}: expected a result, got {}",
            error.describe()
        ))),
        Incoming::Other { why } => Err(Abort::Violation(format!(
            "{what}: expected a result, got {why}"
        ))),
    }
}

/// Expects an error (any code) and returns a description of it.
pub(crate) fn expect_any_error(what: &str, msg: Incoming) -> Result<ErrorReply, Abort> {
    match msg {
        Incoming::Error { error, .. } => Ok(error),
        Incoming::Result { result, .. } => Err(Abort::Violation(format!(
            "{what}: expected an error, got a result {}",
            short(&result)
        ))),
        Incoming::Other { why } => Err(Abort::Violation(format!(
            "{what}: expected an error, got {why}"
        ))),
    }
}

/// A JSON value shortened for messages.
pub(crate) fn short(v: &Value) -> String {
    let text = v.to_string();
    if text.len() > 160 {
        let mut cut = 157;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &text[..cut])
    } else {
        text
    }
}

/// `error.data` must be an object naming `property` (LSPS1-style -32602 and 100).
pub(crate) fn check_property(
    what: &str,
    error: &ErrorReply,
    allowed: &[&str],
) -> Result<String, Abort> {
    let Some(Value::Object(data)) = &error.data else {
        return Err(Abort::Violation(format!(
            "{what}: error.data is {}, expected an object with `property` and `message`",
            error.data.as_ref().map(json_kind).unwrap_or("absent")
        )));
    };
    let Some(property) = data.get("property").and_then(Value::as_str) else {
        return Err(Abort::Violation(format!(
            "{what}: error.data has no string `property`"
        )));
    };
    if !data.get("message").is_some_and(Value::is_string) {
        return Err(Abort::Violation(format!(
            "{what}: error.data has no string `message`"
        )));
    }
    if !allowed.is_empty() && !allowed.contains(&property) {
        return Err(Abort::Violation(format!(
            "{what}: error.data.property is {property:?}, expected one of {allowed:?}"
        )));
    }
    Ok(property.to_owned())
}

/// Reads a u64 carried as a decimal string (`*_sat`, `*_msat`) from a probe result.
pub(crate) fn amount(v: &Value, key: &str) -> Result<u64, Abort> {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| Abort::Precondition(format!("get_info `{key}` is not a usable amount")))
}

/// Reads an integer field from a probe result.
pub(crate) fn integer(v: &Value, key: &str) -> Result<u64, Abort> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Abort::Precondition(format!("get_info `{key}` is not a usable integer")))
}

/// Sends one bad payload on a fresh connection and returns the first reply, then checks (and
/// records) whether the connection is still served.
pub(crate) async fn bad_payload(conn: &mut Conn, payload: &[u8]) -> Result<Incoming, Abort> {
    conn.send_raw(payload.to_vec())?;
    let reply = match conn.recv().await {
        crate::ctx::Recv::Message(m) => Ok(m),
        crate::ctx::Recv::Timeout => Err(Abort::Timeout(format!(
            "no reply to the bad payload within {} ms",
            conn_timeout(conn).as_millis()
        ))),
        crate::ctx::Recv::Closed => Err(Abort::Violation(
            "the target closed the connection instead of replying".into(),
        )),
    };
    let closed = matches!(reply, Err(Abort::Violation(_)));
    if !closed {
        let _ = conn.followup().await;
    } else if let Ok(mut list) = conn.ctx().shared.followups.lock() {
        list.push((conn.ctx().case_id.to_owned(), Served::Closed));
    }
    reply
}

fn conn_timeout(conn: &Conn) -> std::time::Duration {
    conn.ctx().timeout()
}

/// Checks a -32700 reply: code -32700 and `id` exactly `null`.
pub(crate) fn expect_parse_error(reply: Incoming) -> Result<String, Abort> {
    let (id, _) = expect_error("bad message format", reply, &[code::PARSE_ERROR])?;
    if id != Value::Null {
        return Err(Abort::Violation(format!(
            "-32700 must carry \"id\": null, got \"id\": {id}"
        )));
    }
    Ok("-32700 with id null".into())
}

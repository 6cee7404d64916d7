//! LSPS2 (bLIP-52) cases at the message tier: `lsps2.get_info` and `lsps2.buy` (no payments).

use super::{expect_error, expect_result, short, unless_refused};
use crate::case::Case;
use crate::code;
use crate::ctx::{Abort, CaseCtx, Conn};
use lsps_core::lsps2::{OpeningFeeParams, check_promise_format, opening_fee, validate_menu};
use lsps_core::types::{Datetime, DatetimeMode, Msat};
use serde_json::{Map, Value, json};

mod buy_cases;
use buy_cases::{
    bounds_inclusive, buy_unknown_param, buy_with_size, buy_without_size, expired, fee_boundary,
    fee_not_below_size, fee_overflow, params_not_eight_fields, result_shape, size_above_max,
    size_below_min, tampered_params, tampered_promise, trusts_default,
};

const FIELDS: [&str; 8] = lsps_core::lsps2::OpeningFeeParams::FIELD_NAMES;

/// A menu entry as passed back (verbatim, minus any field the spec does not define: those are
/// judged by `lsps2.get-info.entries-have-exact-fields`, and passing them back would only make
/// every buy case fail with them) and as understood (for fee arithmetic).
struct Entry {
    raw: Value,
    typed: OpeningFeeParams,
}

/// `lsps2.get_info {}` on `conn`; returns the raw menu array.
async fn raw_menu(conn: &mut Conn) -> Result<Vec<Value>, Abort> {
    let params = match &conn.ctx().shared.token {
        Some(token) => json!({ "token": token }),
        None => json!({}),
    };
    let result = expect_result("lsps2.get_info", conn.call("lsps2.get_info", params).await?)?;
    result
        .get("opening_fee_params_menu")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| {
            Abort::Violation(format!(
                "result has no opening_fee_params_menu array: {}",
                short(&result)
            ))
        })
}

/// Reads an entry leniently (unknown keys dropped, any RFC 3339 datetime) for arithmetic; the
/// strict checks are separate cases.
fn understand(raw: &Value) -> Option<OpeningFeeParams> {
    let Value::Object(map) = raw else { return None };
    let mut known: Map<String, Value> = map
        .iter()
        .filter(|(k, _)| FIELDS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(Value::String(s)) = known.get("valid_until")
        && let Ok(dt) = Datetime::parse(s, DatetimeMode::Lenient)
    {
        known.insert("valid_until".into(), Value::String(dt.to_string()));
    }
    serde_json::from_value(Value::Object(known)).ok()
}

/// Fresh connection + get_info + the first usable entry.
async fn first_entry(ctx: &CaseCtx) -> Result<(Conn, Entry), Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    let mut raw = menu
        .first()
        .cloned()
        .ok_or_else(|| Abort::Precondition("the fee menu is empty".into()))?;
    if let Value::Object(map) = &mut raw {
        map.retain(|k, _| FIELDS.contains(&k.as_str()));
    }
    let typed = understand(&raw)
        .ok_or_else(|| Abort::Precondition(format!("menu entry 0 is unusable: {}", short(&raw))))?;
    Ok((conn, Entry { raw, typed }))
}

fn fee(entry: &OpeningFeeParams, size: u64) -> Option<u64> {
    opening_fee(Msat(size), entry.min_fee_msat, entry.proportional)
        .ok()
        .map(|m| m.get())
}

/// The fee by bLIP-52's prose formula, which divides by 10000000 where its normative code
/// divides by 1000000 (spec/README D12).
fn prose_fee(entry: &OpeningFeeParams, size: u64) -> Option<u64> {
    let proportional = size
        .checked_mul(u64::from(entry.proportional.get()))?
        .checked_add(999_999)?
        / 10_000_000;
    Some(proportional.max(entry.min_fee_msat.get()))
}

/// The smallest size in [min, max] whose fee is strictly below it (the spec's `F`).
fn smallest_viable_size(entry: &OpeningFeeParams) -> Option<u64> {
    let (lo, hi) = (
        entry.min_payment_size_msat.get(),
        entry.max_payment_size_msat.get(),
    );
    let viable = |s: u64| fee(entry, s).is_some_and(|f| f < s);
    if lo > hi || !viable(hi) {
        return None;
    }
    // fee(s) - s is non-increasing while proportional < 1e6, so binary search applies.
    let (mut a, mut b) = (lo, hi);
    while a < b {
        let mid = a + (b - a) / 2;
        if viable(mid) {
            b = mid;
        } else {
            a = mid + 1;
        }
    }
    Some(a)
}

async fn buy(
    conn: &mut Conn,
    entry: &Value,
    size: Option<u64>,
) -> Result<crate::ctx::Incoming, Abort> {
    let mut params = json!({"opening_fee_params": entry});
    if let Some(size) = size {
        params["payment_size_msat"] = Value::String(size.to_string());
    }
    conn.call("lsps2.buy", params).await
}

async fn get_info_answers(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    Ok(format!("a menu of {} entries", menu.len()))
}

async fn exact_fields(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    if menu.is_empty() {
        return Err(Abort::Precondition("the fee menu is empty".into()));
    }
    for (i, entry) in menu.iter().enumerate() {
        if let Value::Object(map) = entry {
            let extra: Vec<&String> = map
                .keys()
                .filter(|k| !FIELDS.contains(&k.as_str()))
                .collect();
            if !extra.is_empty() {
                return Err(Abort::Violation(format!(
                    "opening_fee_params_menu[{i}] has fields the spec does not define: {extra:?}"
                )));
            }
        }
        if let Err(e) = serde_json::from_value::<OpeningFeeParams>(entry.clone()) {
            return Err(Abort::Violation(format!(
                "opening_fee_params_menu[{i}] is not a valid opening_fee_params: {e}"
            )));
        }
    }
    Ok(format!("{} entries with exactly the 8 fields", menu.len()))
}

async fn menu_ordered(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    let typed: Vec<OpeningFeeParams> = menu
        .iter()
        .map(understand)
        .collect::<Option<_>>()
        .ok_or_else(|| Abort::Precondition("a menu entry cannot be read".into()))?;
    validate_menu(&typed).map_err(|e| Abort::Violation(e.to_string()))?;
    Ok(format!(
        "{} entries in strictly increasing fee order",
        typed.len()
    ))
}

async fn valid_until_ahead(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    // Ten minutes, less 30 s for clock skew and the round trip.
    let wanted = now + 10 * 60 * 1000 - 30_000;
    for (i, entry) in menu.iter().enumerate() {
        let typed = understand(entry)
            .ok_or_else(|| Abort::Precondition(format!("menu entry {i} cannot be read")))?;
        let until = typed.valid_until.unix_millis();
        if until < wanted {
            return Err(Abort::Violation(format!(
                "opening_fee_params_menu[{i}].valid_until is {} s ahead, less than 10 minutes",
                until.saturating_sub(now) / 1000
            )));
        }
    }
    if menu.is_empty() {
        return Err(Abort::Precondition("the fee menu is empty".into()));
    }
    Ok("every valid_until is at least 10 minutes ahead".into())
}

fn promises(menu: &[Value]) -> Result<Vec<(usize, String)>, Abort> {
    if menu.is_empty() {
        return Err(Abort::Precondition("the fee menu is empty".into()));
    }
    Ok(menu
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            e.get("promise")
                .and_then(Value::as_str)
                .map(|p| (i, p.to_owned()))
        })
        .collect())
}

async fn promise_length(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    for (i, promise) in promises(&menu)? {
        if promise.len() > lsps_core::lsps2::MAX_PROMISE_BYTES {
            return Err(Abort::Violation(format!(
                "opening_fee_params_menu[{i}].promise is {} bytes, more than 512",
                promise.len()
            )));
        }
    }
    Ok("every promise is at most 512 bytes".into())
}

async fn promise_printable(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    for (i, promise) in promises(&menu)? {
        match check_promise_format(&promise) {
            Ok(()) | Err(lsps_core::lsps2::PromiseFormatError::TooLong(_)) => {}
            Err(e) => {
                return Err(Abort::Violation(format!(
                    "opening_fee_params_menu[{i}]: {e}"
                )));
            }
        }
    }
    Ok("every promise is printable ASCII without JSON escapes".into())
}

async fn unknown_token(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let token = format!("zz-invalid-{}", crate::ctx::fresh_id());
    let reply = conn.call("lsps2.get_info", json!({"token": token})).await?;
    expect_error(
        "lsps2.get_info with an unknown token",
        reply,
        &[code::LSPS2_UNRECOGNIZED_OR_STALE_TOKEN],
    )?;
    Ok("200 for an unrecognized token".into())
}

async fn get_info_unknown_param(ctx: CaseCtx) -> Result<String, Abort> {
    super::lsps0::unknown_param(ctx, "lsps2.get_info", json!({"zz_unknown": 1})).await
}

/// `token: null`, as LDK's client sends it: not the optional string bLIP-52 describes, so any
/// answer is allowed; rejecting it locks LDK-based wallets out (an interop finding).
async fn null_token(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let reply = unless_refused(
        "lsps2.get_info with \"token\": null",
        conn.call("lsps2.get_info", json!({"token": null})).await?,
    )?;
    match reply {
        crate::ctx::Incoming::Result { result, .. }
            if result.get("opening_fee_params_menu").is_some() =>
        {
            Ok("a menu for \"token\": null (as from an LDK client)".into())
        }
        crate::ctx::Incoming::Result { result, .. } => Err(Abort::Violation(format!(
            "result has no opening_fee_params_menu: {}",
            short(&result)
        ))),
        crate::ctx::Incoming::Error { error, .. } => Err(Abort::Advisory(format!(
            "{} to \"token\": null: LDK-based wallets send it and get no fee menu from this LSP (allowed: bLIP-52 describes token as an optional string)",
            error.describe()
        ))),
        crate::ctx::Incoming::Other { why } => Err(Abort::Violation(format!(
            "lsps2.get_info with \"token\": null: {why}"
        ))),
    }
}

macro_rules! lsps2_case {
    ($($case:tt)*) => {
        catalog_case!(Exchange, 2, $($case)*)
    };
}

/// LSPS2 cases.
pub(super) static CASES: &[Case] = &[
    lsps2_case!(
        "lsps2.get-info.answers",
        ["LSPS2-R2", "LSPS2-R4"],
        Must,
        "lsps2.get_info {} returns an opening_fee_params_menu array",
        "lsps2.get_info {}",
        "a result with an opening_fee_params_menu array (possibly empty)",
        get_info_answers
    ),
    lsps2_case!(
        "lsps2.get-info.entries-have-exact-fields",
        ["LSPS2-R5", "LSPS2-R17"],
        Must,
        "each menu entry has exactly the 8 opening_fee_params fields, correctly typed",
        "lsps2.get_info {}",
        "no extra field, no missing field, every type right",
        exact_fields
    ),
    lsps2_case!(
        "lsps2.get-info.menu-ordered",
        ["LSPS2-R9"],
        Must,
        "the menu is in strictly increasing fee order",
        "lsps2.get_info {}",
        "each entry costs strictly more than the one before (validate_menu)",
        menu_ordered
    ),
    lsps2_case!(
        "lsps2.get-info.valid-until-10-min-ahead",
        ["LSPS2-R6"],
        Should,
        "valid_until is at least 10 minutes in the future",
        "lsps2.get_info {}",
        "every valid_until ≥ now + 10 min (30 s tolerance)",
        valid_until_ahead
    ),
    lsps2_case!(
        "lsps2.get-info.promise-at-most-512-bytes",
        ["LSPS2-R12"],
        Must,
        "every promise is at most 512 bytes",
        "lsps2.get_info {}",
        "len(promise) ≤ 512",
        promise_length
    ),
    lsps2_case!(
        "lsps2.get-info.promise-printable-ascii",
        ["LSPS2-R13", "LSPS2-R14"],
        Must,
        "every promise is printable ASCII and needs no JSON escaping",
        "lsps2.get_info {}",
        "bytes 0x20..0x7E only, no \" or \\",
        promise_printable
    ),
    lsps2_case!(
        "lsps2.get-info.unknown-token.gets-200",
        ["LSPS2-R3"],
        May,
        "an unrecognized token gets error 200",
        "lsps2.get_info {\"token\": \"zz-invalid-<random>\"}",
        "error 200 (a normal menu is WARN: 200 is defined, not required)",
        unknown_token
    ),
    lsps2_case!(
        "lsps2.get-info.null-token.accepted",
        ["LSPS2-R2"],
        May,
        "\"token\": null (as LDK's client sends it) gets a fee menu",
        "lsps2.get_info {\"token\": null}",
        "a menu; an error is WARN (allowed by the bLIP, but LDK-based wallets get no menu)",
        null_token
    ),
    lsps2_case!(
        "lsps2.get-info.unknown-param.gets-32602",
        ["LSPS0-R44", "LSPS0-R31"],
        Must,
        "an unknown lsps2.get_info param gets -32602 with data.unrecognized",
        "lsps2.get_info {\"zz_unknown\": 1}",
        "-32602 naming zz_unknown in data.unrecognized",
        get_info_unknown_param
    ),
    lsps2_case!(
        "lsps2.buy.unknown-param.gets-32602",
        ["LSPS0-R44", "LSPS0-R31"],
        Must,
        "an unknown lsps2.buy param gets -32602 with data.unrecognized",
        "lsps2.buy with a valid entry plus \"zz_unknown\": 1",
        "-32602 naming zz_unknown in data.unrecognized",
        buy_unknown_param
    ),
    lsps2_case!(
        "lsps2.buy.with-size.succeeds",
        ["LSPS2-R30"],
        Should,
        "a buy with a valid entry and a size whose fee is below it succeeds",
        "get_info, then lsps2.buy with menu[0] and payment_size_msat = max_payment_size_msat",
        "a result, or 203 (no liquidity); code 1 SKIP; another error WARN",
        buy_with_size
    ),
    lsps2_case!(
        "lsps2.buy.without-size.succeeds",
        ["LSPS2-R28"],
        Should,
        "a buy without payment_size_msat (no-MPP mode) succeeds",
        "get_info, then lsps2.buy with menu[0] only",
        "a result; code 1 SKIP; an error WARN",
        buy_without_size
    ),
    lsps2_case!(
        "lsps2.buy.result-shape",
        ["LSPS2-R34", "LSPS0-R53"],
        Must,
        "the buy result has jit_channel_scid (LSPS0.scid), lsp_cltv_expiry_delta and an optional boolean client_trusts_lsp",
        "get_info, then lsps2.buy with menu[0]",
        "scid parses as BxTxO, delta an integer (above 65535: WARN), client_trusts_lsp boolean or absent",
        result_shape
    ),
    lsps2_case!(
        "lsps2.buy.client-trusts-lsp-defaults-false",
        ["LSPS2-R58"],
        Should,
        "the LSP defaults to trusting the client (client_trusts_lsp absent or false)",
        "get_info, then lsps2.buy with menu[0]",
        "client_trusts_lsp is absent or false",
        trusts_default
    ),
    lsps2_case!(
        "lsps2.buy.size-bounds-inclusive",
        ["LSPS2-R8"],
        Should,
        "min_payment_size_msat and max_payment_size_msat are inclusive",
        "lsps2.buy at exactly min and exactly max (where the fee is below the size)",
        "a result or 203 (no liquidity) at both; another error WARN",
        bounds_inclusive
    ),
    lsps2_case!(
        "lsps2.buy.tampered-promise.gets-201",
        ["LSPS2-R26", "LSPS2-R10", "LSPS2-R33"],
        Must,
        "a promise that does not match gets 201",
        "lsps2.buy with menu[0] whose promise has its first character changed",
        "error 201 (another error WARN, a result FAIL)",
        tampered_promise
    ),
    lsps2_case!(
        "lsps2.buy.tampered-params.gets-201",
        ["LSPS2-R26", "LSPS2-R10"],
        Must,
        "changing any fee field while keeping the promise gets 201",
        "lsps2.buy with menu[0] with one field changed at a time (fee −1, proportional −1, lifetime +1, delay +1, min −1, max +1, valid_until +1 ms)",
        "error 201 each time (another error is WARN, a result FAIL)",
        tampered_params
    ),
    lsps2_case!(
        "lsps2.buy.expired-params.gets-201",
        ["LSPS2-R27"],
        Must,
        "opening_fee_params whose valid_until has passed get 201",
        "if the menu expires within 2× the timeout: wait and buy with it; otherwise buy with valid_until forged to 2020",
        "error 201 (another error WARN, a result FAIL)",
        expired
    ),
    lsps2_case!(
        "lsps2.buy.fee-not-below-size.gets-202",
        ["LSPS2-R30", "LSPS2-R19", "LSPS2-R33"],
        Must,
        "a payment size whose opening fee is not strictly below it gets 202",
        "lsps2.buy with payment_size_msat = F − 1, F the smallest size with opening_fee(F) < F",
        "error 202, or 203 (no liquidity applies at any size); another error WARN; a result FAIL (WARN when the prose formula /10000000 explains it)",
        fee_not_below_size
    ),
    lsps2_case!(
        "lsps2.buy.fee-boundary.succeeds",
        ["LSPS2-R19", "LSPS2-R21"],
        Must,
        "the smallest size whose fee is below it is accepted (fee rounding as the spec)",
        "lsps2.buy with payment_size_msat = F",
        "a result or 203 (no liquidity); 202 FAIL; another error WARN",
        fee_boundary
    ),
    lsps2_case!(
        "lsps2.buy.size-above-max.rejected",
        ["LSPS2-R29"],
        Must,
        "payment_size_msat above max_payment_size_msat is rejected",
        "lsps2.buy with payment_size_msat = max + 1",
        "any error (the spec names no code; the report shows which)",
        size_above_max
    ),
    lsps2_case!(
        "lsps2.buy.params-not-eight-fields.gets-32602",
        ["LSPS2-R68"],
        Must,
        "opening_fee_params with an unknown field or a missing field is an invalid param",
        "lsps2.buy with menu[0] plus \"zz_unknown\": 1; then menu[0] without min_lifetime (fresh connections)",
        "-32602 or 201 each time (the promise cannot prove such an object)",
        params_not_eight_fields
    ),
    lsps2_case!(
        "lsps2.buy.fee-overflow.gets-203",
        ["LSPS2-R22", "LSPS2-R30", "LSPS2-R33"],
        Must,
        "a payment size whose fee computation overflows u64 is not sold",
        "lsps2.buy with the first entry whose [min, max] reaches the smallest size S with S × proportional + 999999 ≥ 2^64, at S",
        "error 203 (another error WARN, a result FAIL); no such entry: SKIP",
        fee_overflow
    ),
    lsps2_case!(
        "lsps2.buy.size-below-min.rejected",
        ["LSPS2-R29"],
        Must,
        "payment_size_msat below min_payment_size_msat is rejected",
        "lsps2.buy with payment_size_msat = min − 1",
        "any error",
        size_below_min
    ),
];

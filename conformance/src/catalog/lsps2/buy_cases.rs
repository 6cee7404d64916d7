//! `lsps2.buy`: accepted buys and their result, the size range, tampered, expired or
//! malformed fee params (201), fees not below the size (202), fee overflow (203).

use super::{FIELDS, buy, fee, first_entry, prose_fee, raw_menu, smallest_viable_size, understand};
use crate::catalog::{
    expect_any_error, expect_error, expect_error_graded, expect_result, expect_result_or, short,
    unless_refused,
};
use crate::code;
use crate::ctx::{Abort, CaseCtx};
use lsps_core::types::{Datetime, Scid};
use serde_json::{Value, json};

pub(super) async fn buy_unknown_param(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let size = smallest_viable_size(&entry.typed)
        .ok_or_else(|| Abort::Precondition("no payment size in [min,max] has fee < size".into()))?;
    let id = crate::ctx::fresh_id();
    let payload = json!({"jsonrpc":"2.0","id":id,"method":"lsps2.buy","params":{
        "opening_fee_params": entry.raw, "payment_size_msat": size.to_string(), "zz_unknown": 1}});
    drop(conn.send_raw(payload.to_string()));
    let reply = conn.reply_to(&id, "lsps2.buy").await?;
    let (_, error) = expect_error(
        "lsps2.buy with an unknown param",
        reply,
        &[code::INVALID_PARAMS],
    )?;
    crate::catalog::lsps0::names_unrecognized(&error)
}

fn check_buy_result(result: &Value) -> Result<String, Abort> {
    let scid = result
        .get("jit_channel_scid")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            Abort::Violation(format!("no string jit_channel_scid in {}", short(result)))
        })?;
    scid.parse::<Scid>()
        .map_err(|e| Abort::Violation(format!("jit_channel_scid {scid:?}: {e}")))?;
    let delta = result
        .get("lsp_cltv_expiry_delta")
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            Abort::Violation(format!(
                "no integer lsp_cltv_expiry_delta in {}",
                short(result)
            ))
        })?;
    if delta > u64::from(u16::MAX) {
        // The bLIP gives no width; a BOLT11 route hint carries 16 bits (spec/README D22).
        return Err(Abort::Advisory(format!(
            "lsp_cltv_expiry_delta {delta} exceeds 65535 and cannot go into a BOLT11 route hint"
        )));
    }
    match result.get("client_trusts_lsp") {
        None | Some(Value::Bool(_)) => {}
        Some(other) => {
            return Err(Abort::Violation(format!(
                "client_trusts_lsp is {other}, not a boolean"
            )));
        }
    }
    Ok(format!(
        "jit_channel_scid {scid}, lsp_cltv_expiry_delta {delta}"
    ))
}

pub(super) async fn buy_with_size(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let size = entry.typed.max_payment_size_msat.get();
    if fee(&entry.typed, size).is_none_or(|f| f >= size) {
        return Err(Abort::Precondition(
            "fee(max_payment_size_msat) is not below it".into(),
        ));
    }
    match expect_result_or(
        "lsps2.buy at max_payment_size_msat",
        buy(&mut conn, &entry.raw, Some(size)).await?,
        &[code::LSPS2_PAYMENT_SIZE_TOO_LARGE],
    )? {
        Ok(_) => Ok(format!("bought with payment_size_msat {size}")),
        Err(error) => Ok(format!(
            "{} at payment_size_msat {size}: no liquidity for it (allowed at any size)",
            error.describe()
        )),
    }
}

pub(super) async fn buy_without_size(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    expect_result(
        "lsps2.buy without payment_size_msat",
        buy(&mut conn, &entry.raw, None).await?,
    )?;
    Ok("bought without payment_size_msat (no-MPP mode)".into())
}

pub(super) async fn result_shape(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let result = expect_result("lsps2.buy", buy(&mut conn, &entry.raw, None).await?)?;
    check_buy_result(&result)
}

pub(super) async fn trusts_default(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let result = expect_result("lsps2.buy", buy(&mut conn, &entry.raw, None).await?)?;
    if result.get("client_trusts_lsp") == Some(&Value::Bool(true)) {
        return Err(Abort::Violation(
            "client_trusts_lsp is true (the SHOULD default is the LSP trusting the client)".into(),
        ));
    }
    Ok("client_trusts_lsp is absent or false".into())
}

pub(super) async fn bounds_inclusive(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let (lo, hi) = (
        entry.typed.min_payment_size_msat.get(),
        entry.typed.max_payment_size_msat.get(),
    );
    let mut bought = Vec::new();
    for size in [lo, hi] {
        if fee(&entry.typed, size).is_some_and(|f| f < size) {
            match expect_result_or(
                &format!("lsps2.buy at the bound {size}"),
                buy(&mut conn, &entry.raw, Some(size)).await?,
                &[code::LSPS2_PAYMENT_SIZE_TOO_LARGE],
            )? {
                Ok(_) => bought.push(size.to_string()),
                Err(error) => bought.push(format!("{size} ({}: no liquidity)", error.describe())),
            }
        }
    }
    if bought.is_empty() {
        return Err(Abort::Precondition("neither bound has fee < size".into()));
    }
    Ok(format!(
        "accepted at the inclusive bound(s) {}",
        bought.join(", ")
    ))
}

pub(super) async fn tampered_promise(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let promise = entry.typed.promise.clone();
    let Some(first) = promise.chars().next() else {
        return Err(Abort::Precondition("the promise is empty".into()));
    };
    let flipped = if first == '0' { '1' } else { '0' };
    let mut raw = entry.raw.clone();
    raw["promise"] = Value::String(format!("{flipped}{}", &promise[first.len_utf8()..]));
    let reply = buy(&mut conn, &raw, None).await?;
    expect_error_graded(
        "lsps2.buy with one promise character changed",
        reply,
        &[code::LSPS2_INVALID_OPENING_FEE_PARAMS],
    )?;
    Ok("201 for a tampered promise".into())
}

pub(super) async fn tampered_params(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let t = &entry.typed;
    let cheaper_fee = t.min_fee_msat.get().saturating_sub(1);
    let tweaks: Vec<(&str, Value)> = vec![
        ("min_fee_msat", Value::String(cheaper_fee.to_string())),
        (
            "proportional",
            json!(t.proportional.get().saturating_sub(1)),
        ),
        ("min_lifetime", json!(t.min_lifetime.saturating_add(1))),
        (
            "max_client_to_self_delay",
            json!(t.max_client_to_self_delay.saturating_add(1)),
        ),
        (
            "min_payment_size_msat",
            Value::String(t.min_payment_size_msat.get().saturating_sub(1).to_string()),
        ),
        (
            "max_payment_size_msat",
            Value::String(t.max_payment_size_msat.get().saturating_add(1).to_string()),
        ),
        (
            "valid_until",
            Datetime::from_unix_millis(t.valid_until.unix_millis() + 1)
                .map(|d| Value::String(d.to_string()))
                .unwrap_or(Value::Null),
        ),
    ];
    let mut checked = Vec::new();
    for (field, value) in tweaks {
        if entry.raw.get(field) == Some(&value) {
            continue; // the tweak saturated; nothing changed
        }
        let mut raw = entry.raw.clone();
        raw[field] = value;
        let reply = buy(&mut conn, &raw, None).await?;
        expect_error_graded(
            &format!("lsps2.buy with {field} changed and the promise kept"),
            reply,
            &[code::LSPS2_INVALID_OPENING_FEE_PARAMS],
        )?;
        checked.push(field);
    }
    Ok(format!(
        "201 for each tampered field: {}",
        checked.join(", ")
    ))
}

pub(super) async fn expired(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let until = entry.typed.valid_until.unix_millis();
    let horizon = u64::try_from(ctx.timeout().as_millis()).unwrap_or(0) * 2;
    if until > now && until - now <= horizon {
        // The LSP offers short-lived params: wait until they really expire, then buy with the
        // genuine promise, which isolates the expiry check from the promise check.
        tokio::time::sleep(std::time::Duration::from_millis(until - now + 200)).await;
        let reply = buy(&mut conn, &entry.raw, None).await?;
        expect_error_graded(
            "lsps2.buy with genuinely expired params",
            reply,
            &[code::LSPS2_INVALID_OPENING_FEE_PARAMS],
        )?;
        return Ok("201 for genuinely expired params".into());
    }
    let mut raw = entry.raw.clone();
    raw["valid_until"] = Value::String("2020-01-01T00:00:00.000Z".into());
    let reply = buy(&mut conn, &raw, None).await?;
    expect_error_graded(
        "lsps2.buy with valid_until in the past",
        reply,
        &[code::LSPS2_INVALID_OPENING_FEE_PARAMS],
    )?;
    Ok("201 for a past valid_until (forged: the promise check alone would also give 201)".into())
}

pub(super) async fn fee_not_below_size(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let f = smallest_viable_size(&entry.typed)
        .ok_or_else(|| Abort::Precondition("no payment size in [min,max] has fee < size".into()))?;
    if f <= entry.typed.min_payment_size_msat.get() {
        return Err(Abort::Precondition(
            "every size in [min,max] has fee < size: 202 cannot be provoked in range".into(),
        ));
    }
    let size = f - 1;
    let what = format!(
        "lsps2.buy with payment_size_msat {size} (fee {})",
        fee(&entry.typed, size).unwrap_or(0)
    );
    let reply = unless_refused(&what, buy(&mut conn, &entry.raw, Some(size)).await?)?;
    if let crate::ctx::Incoming::Result { .. } = reply
        && prose_fee(&entry.typed, size).is_some_and(|f| f < size)
    {
        // bLIP-52's prose divides by 10000000, its normative code by 1000000 (spec/README D12).
        return Err(Abort::Advisory(format!(
            "{what}: accepted; the prose formula (/10000000) puts the fee below the size, the normative code (/1000000) does not"
        )));
    }
    // 203 (no liquidity) applies at any size, so a size that is also too small may get it.
    let (_, error) = expect_error_graded(
        &what,
        reply,
        &[
            code::LSPS2_PAYMENT_SIZE_TOO_SMALL,
            code::LSPS2_PAYMENT_SIZE_TOO_LARGE,
        ],
    )?;
    Ok(format!(
        "{} at payment_size_msat {size}, where the fee is not below the size",
        error.describe()
    ))
}

pub(super) async fn fee_boundary(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let f = smallest_viable_size(&entry.typed)
        .ok_or_else(|| Abort::Precondition("no payment size in [min,max] has fee < size".into()))?;
    let what = format!(
        "lsps2.buy at the smallest size with fee < size ({f}, fee {})",
        fee(&entry.typed, f).unwrap_or(0)
    );
    let reply = unless_refused(&what, buy(&mut conn, &entry.raw, Some(f)).await?)?;
    if let crate::ctx::Incoming::Error { error, .. } = &reply
        && error.code == Some(code::LSPS2_PAYMENT_SIZE_TOO_SMALL)
    {
        // 202 says the fee is not below the size; by the MUST formula it is.
        return Err(Abort::Violation(format!(
            "{what}: {} although the opening fee is below the size",
            error.describe()
        )));
    }
    match expect_result_or(&what, reply, &[code::LSPS2_PAYMENT_SIZE_TOO_LARGE])? {
        Ok(_) => Ok(format!(
            "bought at payment_size_msat {f} (fee {})",
            fee(&entry.typed, f).unwrap_or(0)
        )),
        Err(error) => Ok(format!(
            "{} at payment_size_msat {f}: no liquidity (allowed at any size)",
            error.describe()
        )),
    }
}

pub(super) async fn size_above_max(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let size = entry.typed.max_payment_size_msat.get().saturating_add(1);
    if fee(&entry.typed, size).is_none_or(|f| f >= size) {
        return Err(Abort::Precondition("fee(max+1) is not below max+1".into()));
    }
    let error = expect_any_error(
        "lsps2.buy with payment_size_msat = max_payment_size_msat + 1",
        buy(&mut conn, &entry.raw, Some(size)).await?,
    )?;
    Ok(format!(
        "rejected with {} (the spec names no code)",
        error.describe()
    ))
}

pub(super) async fn params_not_eight_fields(ctx: CaseCtx) -> Result<String, Abort> {
    let mut seen = Vec::new();
    for (what, change) in [
        ("an extra field", Some("zz_unknown")),
        ("min_lifetime missing", None),
    ] {
        let (mut conn, entry) = first_entry(&ctx).await?;
        let mut raw = entry.raw.clone();
        if let Value::Object(map) = &mut raw {
            match change {
                Some(extra) => {
                    map.insert(extra.into(), json!(1));
                }
                None => {
                    map.remove("min_lifetime");
                }
            }
        }
        // The promise cannot prove such an object either, so 201 is as right as -32602.
        let (_, error) = expect_error(
            &format!("lsps2.buy with opening_fee_params with {what}"),
            buy(&mut conn, &raw, None).await?,
            &[code::INVALID_PARAMS, code::LSPS2_INVALID_OPENING_FEE_PARAMS],
        )?;
        seen.push(format!("{what}: {}", error.describe()));
    }
    Ok(seen.join("; "))
}

pub(super) async fn size_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, entry) = first_entry(&ctx).await?;
    let min = entry.typed.min_payment_size_msat.get();
    if min == 0 {
        return Err(Abort::Precondition("min_payment_size_msat is 0".into()));
    }
    let error = expect_any_error(
        "lsps2.buy with payment_size_msat = min_payment_size_msat - 1",
        buy(&mut conn, &entry.raw, Some(min - 1)).await?,
    )?;
    Ok(format!("rejected with {}", error.describe()))
}

/// The smallest payment size at which bLIP-52's fee computation overflows u64 for `proportional`
/// (at the multiplication or at the `+ 999999`), if any.
fn smallest_overflowing_size(proportional: u32) -> Option<u64> {
    if proportional == 0 {
        return None;
    }
    // size × p + 999999 > u64::MAX  ⇔  size × p > u64::MAX − 999999.
    Some((u64::MAX - 999_999) / u64::from(proportional) + 1)
}

pub(super) async fn fee_overflow(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let menu = raw_menu(&mut conn).await?;
    // The first entry whose [min, max] reaches a size where the fee computation overflows.
    let found = menu.iter().enumerate().find_map(|(i, raw)| {
        let typed = understand(raw)?;
        let size = smallest_overflowing_size(typed.proportional.get())?
            .max(typed.min_payment_size_msat.get());
        (size <= typed.max_payment_size_msat.get()).then_some((i, raw, typed, size))
    });
    let Some((i, raw, typed, size)) = found else {
        return Err(Abort::Precondition(
            "no menu entry admits a payment size whose fee computation overflows u64 (max_payment_size_msat × proportional stays below 2^64)".into(),
        ));
    };
    let mut raw = raw.clone();
    if let Value::Object(map) = &mut raw {
        map.retain(|k, _| FIELDS.contains(&k.as_str()));
    }
    let what = format!(
        "lsps2.buy with menu[{i}] (proportional {}) and payment_size_msat {size}, where the fee computation overflows",
        typed.proportional.get()
    );
    // A result means the LSP sold at a fee it could not have computed; 203 is the defined
    // answer; another error still aborts the flow (WARN).
    let (_, error) = expect_error_graded(
        &what,
        buy(&mut conn, &raw, Some(size)).await?,
        &[code::LSPS2_PAYMENT_SIZE_TOO_LARGE],
    )?;
    Ok(format!(
        "{} for an overflowing fee computation",
        error.describe()
    ))
}

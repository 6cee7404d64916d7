//! `lsps1.create_order` requests the LSP must refuse: orders outside the options (error 100),
//! ill-typed params (-32602), an unknown token (102).

use super::{GET_INFO_FIELDS, REQUEST_FIELDS, info, valid_order, with_token};
use crate::catalog::{amount, check_property, expect_error, integer};
use crate::code;
use crate::ctx::{Abort, CaseCtx, fresh_id};
use serde_json::{Value, json};

/// Sends a valid order with one change and expects error 100 naming an allowed property.
async fn mismatch(
    ctx: CaseCtx,
    change: impl FnOnce(&Value, &mut Value) -> Result<String, Abort>,
    allowed: &[&str],
    also: &[i64],
) -> Result<String, Abort> {
    let info = info(&ctx)?;
    let mut params = with_token(&ctx, valid_order(&info)?);
    let what = change(&info, &mut params)?;
    let mut conn = ctx.connect().await?;
    let mut codes = vec![100];
    codes.extend_from_slice(also);
    let (_, error) = expect_error(
        &format!("lsps1.create_order with {what}"),
        conn.call("lsps1.create_order", params).await?,
        &codes,
    )?;
    if error.code == Some(code::LSPS1_OPTION_MISMATCH) {
        // Any get_info field is allowed; the expected ones are only named in the message.
        let property = check_property("error 100", &error, GET_INFO_FIELDS)?;
        if allowed.contains(&property.as_str()) {
            Ok(format!("100 naming {property}"))
        } else {
            Ok(format!(
                "100 naming {property} (a get_info field, so allowed; the violated one is {})",
                allowed.join(" or ")
            ))
        }
    } else {
        Ok(format!("{} (accepted alternative)", error.describe()))
    }
}

pub(super) async fn lsp_above_max(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let v = amount(info, "max_initial_lsp_balance_sat")?.saturating_add(1);
            p["lsp_balance_sat"] = json!(v.to_string());
            Ok(format!("lsp_balance_sat {v} (max + 1)"))
        },
        &["max_initial_lsp_balance_sat", "max_channel_balance_sat"],
        &[],
    )
    .await
}

pub(super) async fn lsp_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let min = amount(info, "min_initial_lsp_balance_sat")?;
            if min <= 1 {
                return Err(Abort::Precondition(
                    "min_initial_lsp_balance_sat ≤ 1".into(),
                ));
            }
            p["lsp_balance_sat"] = json!((min - 1).to_string());
            Ok(format!("lsp_balance_sat {} (min − 1)", min - 1))
        },
        &["min_initial_lsp_balance_sat", "min_channel_balance_sat"],
        &[],
    )
    .await
}

pub(super) async fn lsp_zero(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |_, p| {
            p["lsp_balance_sat"] = json!("0");
            Ok("lsp_balance_sat 0".into())
        },
        &["min_initial_lsp_balance_sat", "min_channel_balance_sat"],
        &[code::INVALID_PARAMS],
    )
    .await
}

pub(super) async fn client_above_max(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let v = amount(info, "max_initial_client_balance_sat")?.saturating_add(1);
            p["client_balance_sat"] = json!(v.to_string());
            Ok(format!("client_balance_sat {v} (max + 1)"))
        },
        &["max_initial_client_balance_sat", "max_channel_balance_sat"],
        &[],
    )
    .await
}

/// `create_order` with integer `param` one below the option `min_option`; SKIP when the option
/// is at `floor` or below (nothing legal lies under it).
async fn integer_below_min(
    ctx: CaseCtx,
    min_option: &'static str,
    param: &'static str,
    floor: u64,
) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let min = integer(info, min_option)?;
            if min <= floor {
                return Err(Abort::Precondition(if floor == 0 {
                    format!("{min_option} is 0")
                } else {
                    format!("{min_option} ≤ {floor}")
                }));
            }
            p[param] = json!(min - 1);
            Ok(format!("{param} {} (min − 1)", min - 1))
        },
        &[min_option],
        &[],
    )
    .await
}

pub(super) async fn confirmations_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    integer_below_min(
        ctx,
        "min_required_channel_confirmations",
        "required_channel_confirmations",
        0,
    )
    .await
}

pub(super) async fn funding_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    // funding_confirms_within_blocks is at least 1.
    integer_below_min(
        ctx,
        "min_funding_confirms_within_blocks",
        "funding_confirms_within_blocks",
        1,
    )
    .await
}

pub(super) async fn expiry_above_max(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let max = integer(info, "max_channel_expiry_blocks")?;
            if max >= u64::from(u32::MAX) {
                return Err(Abort::Precondition(
                    "max_channel_expiry_blocks is u32::MAX".into(),
                ));
            }
            p["channel_expiry_blocks"] = json!(max + 1);
            Ok(format!("channel_expiry_blocks {} (max + 1)", max + 1))
        },
        &["max_channel_expiry_blocks"],
        &[],
    )
    .await
}

pub(super) async fn channel_size(ctx: CaseCtx) -> Result<String, Abort> {
    mismatch(
        ctx,
        |info, p| {
            let max_lsp = amount(info, "max_initial_lsp_balance_sat")?;
            let max_client = amount(info, "max_initial_client_balance_sat")?;
            let max_channel = amount(info, "max_channel_balance_sat")?;
            if max_lsp.saturating_add(max_client) <= max_channel {
                return Err(Abort::Precondition(
                    "each balance within its range cannot exceed the channel maximum".into(),
                ));
            }
            let client = max_client.min(max_channel);
            let lsp = max_channel.saturating_sub(client).saturating_add(1);
            if lsp > max_lsp
                || lsp < amount(info, "min_initial_lsp_balance_sat")?
                || client < amount(info, "min_initial_client_balance_sat")?
            {
                return Err(Abort::Precondition(
                    "no in-range pair sums above the channel maximum".into(),
                ));
            }
            p["lsp_balance_sat"] = json!(lsp.to_string());
            p["client_balance_sat"] = json!(client.to_string());
            Ok(format!(
                "lsp {lsp} + client {client} > max_channel_balance_sat {max_channel}"
            ))
        },
        &["max_channel_balance_sat"],
        &[],
    )
    .await
}

pub(super) async fn invalid_type(ctx: CaseCtx) -> Result<String, Abort> {
    let info = info(&ctx)?;
    let mut seen = Vec::new();
    for (key, bad) in [
        ("announce_channel", json!("yes")),
        ("lsp_balance_sat", json!(5_000_000)),
    ] {
        let mut params = valid_order(&info)?;
        params[key] = bad.clone();
        let mut conn = ctx.connect().await?;
        let (_, error) = expect_error(
            &format!("lsps1.create_order with {key} = {bad}"),
            conn.call("lsps1.create_order", params).await?,
            &[code::INVALID_PARAMS],
        )?;
        // "MUST be one of the fields in the request body": any request field is allowed.
        let property = check_property("-32602", &error, REQUEST_FIELDS)?;
        seen.push(if property == key {
            property
        } else {
            format!("{property} (for {key})")
        });
    }
    Ok(format!("-32602 naming {}", seen.join(", ")))
}

pub(super) async fn invalid_token(ctx: CaseCtx) -> Result<String, Abort> {
    let mut params = valid_order(&info(&ctx)?)?;
    params["token"] = json!(format!("zz-invalid-{}", fresh_id()));
    let mut conn = ctx.connect().await?;
    expect_error(
        "lsps1.create_order with an unknown token",
        conn.call("lsps1.create_order", params).await?,
        &[code::LSPS1_UNRECOGNIZED_OR_STALE_TOKEN],
    )?;
    Ok("102 for an unknown token".into())
}

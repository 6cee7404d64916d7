//! LSPS1 (bLIP-51) cases at the message tier: `get_info`, `create_order`, `get_order`
//! (orders are created, never paid).

use super::{amount, call_result, check_property, expect_error, expect_result, integer, short};
use crate::case::Case;
use crate::code;
use crate::ctx::{Abort, CaseCtx, Conn, fresh_id};
use lsps_core::jsonrpc::Params;
use lsps_core::lsps1::{CreateOrderRequest, GetInfoResult, OrderResult};
use serde_json::{Value, json};

fn info(ctx: &CaseCtx) -> Result<Value, Abort> {
    if let Some(why) = ctx.probe().refusal(1) {
        return Err(Abort::Refused(format!("lsps1.get_info: {why}")));
    }
    ctx.probe()
        .lsps1_info
        .clone()
        .ok_or_else(|| Abort::Precondition("the probe got no lsps1.get_info result".into()))
}

/// What error 100's `data.property` may name: any top-level `lsps1.get_info` field ("MUST be
/// one of the fields in `lsps1.get_info.options`", spec/README D7).
const GET_INFO_FIELDS: &[&str] = GetInfoResult::FIELD_NAMES;

/// What -32602's `data.property` may name: any `lsps1.create_order` request field.
const REQUEST_FIELDS: &[&str] = <CreateOrderRequest as Params>::PARAM_NAMES;

/// A valid order built from get_info: the smallest channel the options allow.
fn valid_order(info: &Value) -> Result<Value, Abort> {
    order_with_client(info, amount(info, "min_initial_client_balance_sat")?)
}

/// A valid order with `client_balance_sat` as close to `client` as the options allow.
fn order_with_client(info: &Value, client: u64) -> Result<Value, Abort> {
    let client = client
        .max(amount(info, "min_initial_client_balance_sat")?)
        .min(amount(info, "max_initial_client_balance_sat")?);
    let lsp = amount(info, "min_initial_lsp_balance_sat")?
        .max(1)
        .max(amount(info, "min_channel_balance_sat")?.saturating_sub(client));
    if lsp > amount(info, "max_initial_lsp_balance_sat")?
        || lsp + client > amount(info, "max_channel_balance_sat")?
    {
        return Err(Abort::Precondition("get_info admits no order".into()));
    }
    let expiry = integer(info, "max_channel_expiry_blocks")?.min(4320);
    Ok(json!({
        "lsp_balance_sat": lsp.to_string(),
        "client_balance_sat": client.to_string(),
        "required_channel_confirmations": integer(info, "min_required_channel_confirmations")?,
        "funding_confirms_within_blocks": integer(info, "min_funding_confirms_within_blocks")?.max(1),
        "channel_expiry_blocks": expiry.max(1),
        "announce_channel": false,
    }))
}

async fn create(conn: &mut Conn, params: Value) -> Result<Value, Abort> {
    let reply = conn.call("lsps1.create_order", params).await?;
    if let crate::ctx::Incoming::Error { error, .. } = &reply
        && error.code == Some(code::LSPS1_UNRECOGNIZED_OR_STALE_TOKEN)
    {
        return Err(Abort::Precondition(
            "the LSP answers 102 (unrecognized or stale token) to an order without a valid token: pass --token".into(),
        ));
    }
    expect_result("lsps1.create_order", reply)
}

/// `params` plus `--token`, if one was given (for LSPs that serve only clients with one).
fn with_token(ctx: &CaseCtx, mut params: Value) -> Value {
    if let Some(token) = &ctx.shared.token {
        params["token"] = json!(token);
    }
    params
}

async fn create_valid(ctx: &CaseCtx) -> Result<(Conn, Value, Value), Abort> {
    let info = info(ctx)?;
    let params = with_token(ctx, valid_order(&info)?);
    let mut conn = ctx.connect().await?;
    let order = create(&mut conn, params.clone()).await?;
    Ok((conn, params, order))
}

fn typed(order: &Value) -> Result<OrderResult, Abort> {
    serde_json::from_value(order.clone()).map_err(|e| {
        Abort::Violation(format!(
            "the order object is malformed: {e}: {}",
            short(order)
        ))
    })
}

async fn get_info_answers(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let result = call_result(&mut conn, "lsps1.get_info", json!({})).await?;
    serde_json::from_value::<GetInfoResult>(result.clone()).map_err(|e| {
        Abort::Violation(format!(
            "get_info result is malformed: {e}: {}",
            short(&result)
        ))
    })?;
    Ok("all 10 options present and typed".into())
}

async fn get_info_min_le_max(ctx: CaseCtx) -> Result<String, Abort> {
    let result = info(&ctx)?;
    let parsed: GetInfoResult = serde_json::from_value(result)
        .map_err(|e| Abort::Precondition(format!("get_info result is malformed: {e}")))?;
    parsed
        .validate()
        .map_err(|e| Abort::Violation(e.to_string()))?;
    Ok("every min ≤ max; confirmations and expiry ≥ 1".into())
}

async fn get_info_unknown_param(ctx: CaseCtx) -> Result<String, Abort> {
    super::lsps0::unknown_param(ctx, "lsps1.get_info", json!({"zz_unknown": 1})).await
}

async fn create_unknown_param(ctx: CaseCtx) -> Result<String, Abort> {
    let mut params = valid_order(&info(&ctx)?)?;
    params["zz_unknown"] = json!(1);
    super::lsps0::unknown_param(ctx, "lsps1.create_order", params).await
}

async fn minimal_order(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let typed = typed(&order)?;
    Ok(format!(
        "order {} created without token or refund address",
        typed.order_id.as_str()
    ))
}

async fn mirrors(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, params, order) = create_valid(&ctx).await?;
    for key in [
        "lsp_balance_sat",
        "client_balance_sat",
        "required_channel_confirmations",
        "funding_confirms_within_blocks",
        "channel_expiry_blocks",
        "announce_channel",
    ] {
        if order.get(key) != params.get(key) {
            return Err(Abort::Violation(format!(
                "{key} is {} in the order, {} in the request",
                order.get(key).map(short).unwrap_or_else(|| "absent".into()),
                params[key]
            )));
        }
    }
    Ok("every requested value is mirrored".into())
}

async fn token_empty(ctx: CaseCtx) -> Result<String, Abort> {
    // Without a token even when --token is given: the rule is about the order without one.
    let params = valid_order(&info(&ctx)?)?;
    let mut conn = ctx.connect().await?;
    let order = create(&mut conn, params).await?;
    match order.get("token") {
        Some(Value::String(s)) if s.is_empty() => Ok("token is \"\"".into()),
        other => Err(Abort::Violation(format!(
            "token must be \"\" when none was sent, got {}",
            other.map(short).unwrap_or_else(|| "absent".into())
        ))),
    }
}

async fn created_state(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    match order.get("order_state").and_then(Value::as_str) {
        Some("CREATED") => Ok("order_state CREATED".into()),
        other => Err(Abort::Violation(format!(
            "a new order must be CREATED, got {other:?}"
        ))),
    }
}

async fn created_at_now(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let text = order
        .get("created_at")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let at = lsps_core::types::Datetime::parse(text, lsps_core::types::DatetimeMode::Lenient)
        .map_err(|e| Abort::Violation(format!("created_at {text:?} is not a datetime: {e}")))?;
    let now = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
    let skew = at.unix_millis().abs_diff(now);
    if skew > 10 * 60 * 1000 {
        return Err(Abort::Violation(format!(
            "created_at {text} is {} s away from the runner's clock",
            skew / 1000
        )));
    }
    Ok(format!("created_at {text} is the creation time"))
}

/// A P2WPKH address of a random key on the network the LSP's BOLT11 invoice names.
fn refund_address(network: bitcoin::Network) -> Result<String, Abort> {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let key = bitcoin::secp256k1::SecretKey::from_slice(&rand::random::<[u8; 32]>())
        .map_err(|e| Abort::Error(e.to_string()))?;
    let public = bitcoin::CompressedPublicKey(key.public_key(&secp));
    Ok(bitcoin::Address::p2wpkh(&public, network).to_string())
}

async fn onchain_option(ctx: CaseCtx) -> Result<String, Abort> {
    // Learn the LSP's network from its invoice, then order with a refund address on it.
    let (mut conn, params, order) = create_valid(&ctx).await?;
    let network = order
        .get("payment")
        .and_then(|p| p.get("bolt11"))
        .and_then(|b| b.get("invoice"))
        .and_then(Value::as_str)
        .and_then(|i| i.parse::<lightning_invoice::Bolt11Invoice>().ok())
        .map(|i| i.network())
        .ok_or_else(|| {
            Abort::Precondition("no BOLT11 invoice to learn the LSP's network from".into())
        })?;
    let refund = refund_address(network)?;
    let mut params = params;
    params["refund_onchain_address"] = json!(refund);
    let order = create(&mut conn, params).await?;
    let Some(onchain) = order
        .get("payment")
        .and_then(|p| p.get("onchain"))
        .filter(|v| v.is_object())
    else {
        return Err(Abort::Precondition(
            "the LSP offers no on-chain payment (allowed)".into(),
        ));
    };
    let state = onchain.get("state").and_then(Value::as_str);
    if !matches!(state, Some("EXPECT_PAYMENT" | "PAID" | "REFUNDED")) {
        return Err(Abort::Violation(format!(
            "payment.onchain.state is {state:?}"
        )));
    }
    let address = onchain
        .get("address")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let parsed: lsps_core::types::OnchainAddress = address
        .parse()
        .map_err(|e| Abort::Violation(format!("payment.onchain.address {address:?}: {e}")))?;
    let _ = parsed;
    let confirmations = onchain
        .get("min_onchain_payment_confirmations")
        .and_then(Value::as_u64)
        .filter(|c| *c <= u64::from(u16::MAX))
        .ok_or_else(|| {
            Abort::Violation("min_onchain_payment_confirmations is not a uint16".into())
        })?;
    match onchain.get("min_fee_for_0conf") {
        None | Some(Value::Null) => {}
        Some(Value::Number(_)) if confirmations == 0 => {}
        Some(other) => {
            return Err(Abort::Violation(format!(
                "min_fee_for_0conf is {other} although min_onchain_payment_confirmations is {confirmations}"
            )));
        }
    }
    match onchain.get("refund_onchain_address") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if *s == refund => {}
        Some(other) => {
            // "SHOULD set this to mirror the order creation request" (bLIP-51).
            return Err(Abort::Advisory(format!(
                "refund_onchain_address {other} does not mirror {refund:?}"
            )));
        }
    }
    Ok(format!(
        "on-chain option to {address} with {confirmations} confirmation(s)"
    ))
}

async fn channel_null(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    match order.get("channel") {
        Some(Value::Null) => Ok("channel is null".into()),
        None => Ok("channel is absent (read as null)".into()),
        Some(other) => Err(Abort::Violation(format!(
            "channel must be null before funding, got {}",
            short(other)
        ))),
    }
}

async fn no_onchain(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    match order.get("payment").and_then(|p| p.get("onchain")) {
        None => Ok("payment.onchain omitted".into()),
        Some(Value::Null) => Ok("payment.onchain is null (treated as omitted)".into()),
        Some(other) => Err(Abort::Violation(format!(
            "payment.onchain offered without a refund_onchain_address: {}",
            short(other)
        ))),
    }
}

async fn totals(ctx: CaseCtx) -> Result<String, Abort> {
    // A non-zero client balance, so a total that leaves it out is visible.
    let params = with_token(&ctx, order_with_client(&info(&ctx)?, 10_000)?);
    let mut conn = ctx.connect().await?;
    let order = create(&mut conn, params).await?;
    let client = amount(&order, "client_balance_sat")
        .map_err(|_| Abort::Violation("client_balance_sat missing".into()))?;
    let payment = order.get("payment").cloned().unwrap_or(Value::Null);
    let mut seen = Vec::new();
    for kind in ["bolt11", "bolt12", "onchain"] {
        let Some(option) = payment.get(kind).filter(|v| v.is_object()) else {
            continue;
        };
        let fee = amount(option, "fee_total_sat").map_err(|_| {
            Abort::Violation(format!("payment.{kind}.fee_total_sat is not an amount"))
        })?;
        let total = amount(option, "order_total_sat").map_err(|_| {
            Abort::Violation(format!("payment.{kind}.order_total_sat is not an amount"))
        })?;
        if fee.checked_add(client) != Some(total) {
            return Err(Abort::Violation(format!(
                "payment.{kind}: order_total_sat {total} ≠ fee_total_sat {fee} + client_balance_sat {client}"
            )));
        }
        seen.push(kind);
    }
    if seen.is_empty() {
        return Err(Abort::Precondition(
            "the order offers no payment option".into(),
        ));
    }
    Ok(format!(
        "order_total_sat = fee_total_sat + client_balance_sat for {}",
        seen.join(", ")
    ))
}

async fn bolt11_invoice(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let Some(bolt11) = order
        .get("payment")
        .and_then(|p| p.get("bolt11"))
        .filter(|v| v.is_object())
    else {
        return Err(Abort::Precondition("no bolt11 payment option".into()));
    };
    let invoice = bolt11
        .get("invoice")
        .and_then(Value::as_str)
        .ok_or_else(|| Abort::Violation("payment.bolt11.invoice is not a string".into()))?;
    if invoice.chars().count() > 2048 {
        return Err(Abort::Violation(format!(
            "the invoice has {} characters, more than 2048",
            invoice.chars().count()
        )));
    }
    let parsed: lightning_invoice::Bolt11Invoice = invoice.parse().map_err(|e| {
        Abort::Violation(format!(
            "payment.bolt11.invoice is not a BOLT11 invoice: {e:?}"
        ))
    })?;
    let total = amount(bolt11, "order_total_sat")
        .map_err(|_| Abort::Violation("order_total_sat is not an amount".into()))?;
    match parsed.amount_milli_satoshis() {
        Some(msat) if Some(msat) == total.checked_mul(1000) => Ok(format!(
            "a BOLT11 invoice for exactly {total} sat, {} characters",
            invoice.len()
        )),
        other => Err(Abort::Violation(format!(
            "the invoice is for {other:?} msat, order_total_sat is {total} sat"
        ))),
    }
}

async fn bolt12_offer(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let Some(bolt12) = order
        .get("payment")
        .and_then(|p| p.get("bolt12"))
        .filter(|v| v.is_object())
    else {
        return Err(Abort::Precondition(
            "no bolt12 payment option (optional)".into(),
        ));
    };
    let offer = bolt12
        .get("offer")
        .and_then(Value::as_str)
        .ok_or_else(|| Abort::Violation("payment.bolt12.offer is not a string".into()))?;
    if offer.chars().count() > 2048 {
        return Err(Abort::Violation(format!(
            "the offer has {} characters, more than 2048",
            offer.chars().count()
        )));
    }
    let parsed: lightning::offers::offer::Offer = offer.parse().map_err(|e| {
        Abort::Violation(format!("payment.bolt12.offer is not a BOLT12 offer: {e:?}"))
    })?;
    let total = amount(bolt12, "order_total_sat")
        .map_err(|_| Abort::Violation("order_total_sat is not an amount".into()))?;
    match parsed.amount() {
        Some(lightning::offers::offer::Amount::Bitcoin { amount_msats })
            if Some(amount_msats) == total.checked_mul(1000) =>
        {
            Ok(format!(
                "a BOLT12 offer for exactly {total} sat, {} characters",
                offer.len()
            ))
        }
        // An offer without an amount lets the payer choose it: it is not wrong for the total,
        // but it does not state it either.
        None => Err(Abort::Advisory(format!(
            "the offer states no amount (the payer chooses it); order_total_sat is {total} sat"
        ))),
        Some(other) => Err(Abort::Violation(format!(
            "the offer is for {other:?}, order_total_sat is {total} sat"
        ))),
    }
}

/// `token: null`, as LDK's client sends it: not the optional string bLIP-51 describes, so any
/// answer is allowed; rejecting it locks LDK-based wallets out (an interop finding).
async fn null_token(ctx: CaseCtx) -> Result<String, Abort> {
    if ctx.shared.token.is_some() {
        return Err(Abort::Precondition(
            "--token given: this LSP needs a token, so an order with a null one says nothing"
                .into(),
        ));
    }
    let mut params = valid_order(&info(&ctx)?)?;
    params["token"] = Value::Null;
    let mut conn = ctx.connect().await?;
    match super::unless_refused(
        "lsps1.create_order with \"token\": null",
        conn.call("lsps1.create_order", params).await?,
    )? {
        crate::ctx::Incoming::Result { .. } => {
            Ok("an order with \"token\": null is accepted (as from an LDK client)".into())
        }
        crate::ctx::Incoming::Error { error, .. } => Err(Abort::Advisory(format!(
            "{} to \"token\": null: LDK-based wallets send it and cannot order from this LSP (allowed: bLIP-51 describes token as an optional string)",
            error.describe()
        ))),
        crate::ctx::Incoming::Other { why } => Err(Abort::Violation(format!(
            "lsps1.create_order with \"token\": null: {why}"
        ))),
    }
}

async fn payment_state(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let payment = order.get("payment").cloned().unwrap_or(Value::Null);
    let mut seen = Vec::new();
    for kind in ["bolt11", "bolt12", "onchain"] {
        if let Some(option) = payment.get(kind).filter(|v| v.is_object()) {
            let state = option.get("state").and_then(Value::as_str);
            if state != Some("EXPECT_PAYMENT") {
                return Err(Abort::Violation(format!(
                    "payment.{kind}.state of a new order must be EXPECT_PAYMENT, got {state:?}"
                )));
            }
            seen.push(kind);
        }
    }
    if seen.is_empty() {
        return Err(Abort::Precondition(
            "the order offers no payment option".into(),
        ));
    }
    Ok(format!("EXPECT_PAYMENT for {}", seen.join(", ")))
}

async fn order_id_unique(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, params, first) = create_valid(&ctx).await?;
    let second = create(&mut conn, params).await?;
    let a = first
        .get("order_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let b = second
        .get("order_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    for id in [&a, &b] {
        if id.is_empty() || id.chars().count() > 64 {
            return Err(Abort::Violation(format!(
                "order_id {id:?} is not a 1..64 character string"
            )));
        }
    }
    if a == b {
        return Err(Abort::Violation(format!(
            "two orders share the order_id {a:?}"
        )));
    }
    Ok("two orders got distinct order_ids of at most 64 characters".into())
}

async fn order_id_uuid(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let id = order
        .get("order_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let hex: String = id.chars().filter(|c| *c != '-').collect();
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    let is_v4 = groups == [8, 4, 4, 4, 12]
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && hex.as_bytes().get(12) == Some(&b'4')
        && hex
            .as_bytes()
            .get(16)
            .is_some_and(|c| b"89abAB".contains(c));
    if !is_v4 {
        return Err(Abort::Violation(format!("order_id {id:?} is not a UUIDv4")));
    }
    Ok("order_id is a UUIDv4".into())
}

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

async fn lsp_above_max(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn lsp_below_min(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn lsp_zero(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn client_above_max(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn confirmations_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    integer_below_min(
        ctx,
        "min_required_channel_confirmations",
        "required_channel_confirmations",
        0,
    )
    .await
}

async fn funding_below_min(ctx: CaseCtx) -> Result<String, Abort> {
    // funding_confirms_within_blocks is at least 1.
    integer_below_min(
        ctx,
        "min_funding_confirms_within_blocks",
        "funding_confirms_within_blocks",
        1,
    )
    .await
}

async fn expiry_above_max(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn channel_size(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn invalid_type(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn invalid_token(ctx: CaseCtx) -> Result<String, Abort> {
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

async fn get_order_matches(ctx: CaseCtx) -> Result<String, Abort> {
    let (mut conn, _, created) = create_valid(&ctx).await?;
    let id = created.get("order_id").cloned().unwrap_or(Value::Null);
    let fetched = expect_result(
        "lsps1.get_order",
        conn.call("lsps1.get_order", json!({"order_id": id}))
            .await?,
    )?;
    for key in [
        "order_id",
        "lsp_balance_sat",
        "client_balance_sat",
        "required_channel_confirmations",
        "funding_confirms_within_blocks",
        "channel_expiry_blocks",
        "token",
        "created_at",
        "announce_channel",
    ] {
        if fetched.get(key) != created.get(key) {
            return Err(Abort::Violation(format!(
                "get_order {key} = {}, create_order said {}",
                fetched
                    .get(key)
                    .map(short)
                    .unwrap_or_else(|| "absent".into()),
                created
                    .get(key)
                    .map(short)
                    .unwrap_or_else(|| "absent".into())
            )));
        }
    }
    typed(&fetched)?;
    Ok("get_order returns the same order".into())
}

async fn get_order_unknown(ctx: CaseCtx) -> Result<String, Abort> {
    let mut conn = ctx.connect().await?;
    let id = fresh_id();
    expect_error(
        "lsps1.get_order of an unknown order_id",
        conn.call("lsps1.get_order", json!({"order_id": id}))
            .await?,
        &[code::LSPS1_NOT_FOUND],
    )?;
    Ok("101 for an unknown order_id".into())
}

async fn get_order_other_peer(ctx: CaseCtx) -> Result<String, Abort> {
    if !ctx.shared.target.is_session_oriented() {
        return Err(Abort::Precondition(
            "the transport has no peer identity per connection".into(),
        ));
    }
    if ctx.shared.target.fixed_identity() {
        return Err(Abort::Precondition(
            "the runner has one node identity (--node-key-file); this case needs two".into(),
        ));
    }
    let (_, _, created) = create_valid(&ctx).await?;
    let id = created.get("order_id").cloned().unwrap_or(Value::Null);
    let mut other = ctx.connect().await?;
    expect_error(
        "lsps1.get_order of another peer's order",
        other
            .call("lsps1.get_order", json!({"order_id": id}))
            .await?,
        &[code::LSPS1_NOT_FOUND],
    )?;
    Ok("101: orders are scoped to the peer that created them".into())
}

macro_rules! lsps1_case {
    ($($case:tt)*) => {
        catalog_case!(Exchange, 1, $($case)*)
    };
}

/// LSPS1 cases.
pub(super) static CASES: &[Case] = &[
    lsps1_case!(
        "lsps1.get-info.answers",
        ["LSPS1-R3", "LSPS1-R4", "LSPS1-R6", "LSPS0-R49"],
        Must,
        "lsps1.get_info {} returns all ten options with the right types",
        "lsps1.get_info {}",
        "a result that parses as the bLIP-51 options",
        get_info_answers
    ),
    lsps1_case!(
        "lsps1.get-info.min-le-max",
        ["LSPS1-R5"],
        Must,
        "each min/max pair of get_info has min ≤ max",
        "(uses the probe's get_info)",
        "min ≤ max for client, lsp and channel balances",
        get_info_min_le_max
    ),
    lsps1_case!(
        "lsps1.get-info.unknown-param.gets-32602",
        ["LSPS0-R44", "LSPS0-R31"],
        Must,
        "an unknown lsps1.get_info param gets -32602 with data.unrecognized",
        "lsps1.get_info {\"zz_unknown\": 1}",
        "-32602 naming zz_unknown",
        get_info_unknown_param
    ),
    lsps1_case!(
        "lsps1.create-order.unknown-param.gets-32602",
        ["LSPS0-R44", "LSPS0-R31"],
        Must,
        "an unknown lsps1.create_order param gets -32602 with data.unrecognized",
        "a valid order plus \"zz_unknown\": 1",
        "-32602 naming zz_unknown",
        create_unknown_param
    ),
    lsps1_case!(
        "lsps1.create-order.minimal-order.succeeds",
        ["LSPS1-R13"],
        May,
        "an order within the options, without token or refund address, is created",
        "lsps1.create_order with the smallest channel get_info allows",
        "a result that parses as an order (code 1 or 102: SKIP; another error: WARN)",
        minimal_order
    ),
    lsps1_case!(
        "lsps1.create-order.mirrors-request",
        ["LSPS1-R18"],
        Should,
        "the order mirrors the requested values exactly",
        "a valid lsps1.create_order",
        "balances, confirmations, expiry and announce_channel equal the request",
        mirrors
    ),
    lsps1_case!(
        "lsps1.create-order.token-empty-when-absent",
        ["LSPS1-R19"],
        Must,
        "token is \"\" in the order when none was sent",
        "a valid lsps1.create_order without token",
        "\"token\": \"\"",
        token_empty
    ),
    lsps1_case!(
        "lsps1.create-order.new-order-created",
        ["LSPS1-R21"],
        Should,
        "a new order is in state CREATED",
        "a valid lsps1.create_order",
        "order_state CREATED",
        created_state
    ),
    lsps1_case!(
        "lsps1.create-order.created-at-now",
        ["LSPS1-R20"],
        Should,
        "created_at is a datetime giving the creation time",
        "a valid lsps1.create_order",
        "created_at parses and is within 10 minutes of the runner's clock",
        created_at_now
    ),
    lsps1_case!(
        "lsps1.create-order.onchain-option-valid",
        [
            "LSPS1-R45",
            "LSPS1-R46",
            "LSPS1-R47",
            "LSPS1-R48",
            "LSPS1-R49",
            "LSPS0-R56"
        ],
        Must,
        "with a refund address, an offered on-chain option is well formed",
        "a valid order with refund_onchain_address (a P2WPKH address on the network of the LSP's invoice)",
        "state EXPECT_PAYMENT/PAID/REFUNDED, a SegWit address, uint16 confirmations, min_fee_for_0conf absent when confirmations > 0 (no on-chain option: SKIP; a refund address not mirrored: WARN)",
        onchain_option
    ),
    lsps1_case!(
        "lsps1.create-order.channel-null",
        ["LSPS1-R22"],
        Must,
        "channel is null until the funding transaction is published",
        "a valid lsps1.create_order",
        "channel null (absent is tolerated)",
        channel_null
    ),
    lsps1_case!(
        "lsps1.create-order.no-onchain-without-refund-address",
        ["LSPS1-R14", "LSPS1-R44"],
        Must,
        "without refund_onchain_address the order is created and offers no on-chain payment",
        "a valid lsps1.create_order without refund_onchain_address",
        "a result without payment.onchain (null tolerated)",
        no_onchain
    ),
    lsps1_case!(
        "lsps1.create-order.totals-add-up",
        ["LSPS1-R33"],
        Must,
        "each payment option has order_total_sat = fee_total_sat + client_balance_sat",
        "a valid lsps1.create_order with a non-zero client_balance_sat (when allowed)",
        "the sum holds for every option",
        totals
    ),
    lsps1_case!(
        "lsps1.create-order.bolt11-invoice-valid",
        ["LSPS1-R34"],
        Must,
        "payment.bolt11.invoice is a BOLT11 invoice for exactly order_total_sat, ≤ 2048 characters",
        "a valid lsps1.create_order",
        "the invoice decodes and its amount is order_total_sat × 1000 msat",
        bolt11_invoice
    ),
    lsps1_case!(
        "lsps1.create-order.bolt12-offer-valid",
        ["LSPS1-R42"],
        Must,
        "payment.bolt12.offer, when offered, is a BOLT12 offer for exactly order_total_sat, ≤ 2048 characters",
        "a valid lsps1.create_order",
        "the offer decodes and its amount is order_total_sat × 1000 msat (no bolt12 option: SKIP; an offer without an amount: WARN)",
        bolt12_offer
    ),
    lsps1_case!(
        "lsps1.create-order.null-token.accepted",
        ["LSPS1-R13"],
        May,
        "an order with \"token\": null (as LDK's client sends it) is accepted",
        "a valid lsps1.create_order with \"token\": null",
        "a result; an error is WARN (allowed by the bLIP, but LDK-based wallets cannot order)",
        null_token
    ),
    lsps1_case!(
        "lsps1.create-order.payment-state-expect-payment",
        ["LSPS1-R36", "LSPS1-R43", "LSPS1-R45"],
        Should,
        "a new order's payment options are in state EXPECT_PAYMENT",
        "a valid lsps1.create_order",
        "state EXPECT_PAYMENT in every option",
        payment_state
    ),
    lsps1_case!(
        "lsps1.create-order.order-id-unique",
        ["LSPS1-R17"],
        Must,
        "order ids are unique strings of at most 64 characters",
        "two valid lsps1.create_order",
        "distinct order_ids, 1..64 characters",
        order_id_unique
    ),
    lsps1_case!(
        "lsps1.create-order.order-id-uuid",
        ["LSPS1-R17"],
        Should,
        "order ids should be UUIDv4",
        "a valid lsps1.create_order",
        "order_id is a UUIDv4",
        order_id_uuid
    ),
    lsps1_case!(
        "lsps1.create-order.lsp-balance-above-max.gets-100",
        ["LSPS1-R7", "LSPS1-R24"],
        Must,
        "lsp_balance_sat above max_initial_lsp_balance_sat gets 100",
        "a valid order with lsp_balance_sat = max + 1",
        "error 100 with data.property naming a get_info field",
        lsp_above_max
    ),
    lsps1_case!(
        "lsps1.create-order.lsp-balance-below-min.gets-100",
        ["LSPS1-R7", "LSPS1-R24"],
        Must,
        "lsp_balance_sat below min_initial_lsp_balance_sat gets 100",
        "a valid order with lsp_balance_sat = min − 1",
        "error 100 naming the violated field",
        lsp_below_min
    ),
    lsps1_case!(
        "lsps1.create-order.lsp-balance-zero.rejected",
        ["LSPS1-R7"],
        Must,
        "lsp_balance_sat 0 is rejected (it must be ≥ 1)",
        "a valid order with lsp_balance_sat \"0\"",
        "error 100 or -32602",
        lsp_zero
    ),
    lsps1_case!(
        "lsps1.create-order.client-balance-above-max.gets-100",
        ["LSPS1-R8", "LSPS1-R24"],
        Must,
        "client_balance_sat above max_initial_client_balance_sat gets 100",
        "a valid order with client_balance_sat = max + 1",
        "error 100 naming the violated field",
        client_above_max
    ),
    lsps1_case!(
        "lsps1.create-order.confirmations-below-min.gets-100",
        ["LSPS1-R9", "LSPS1-R24"],
        Must,
        "required_channel_confirmations below the minimum gets 100",
        "a valid order with required_channel_confirmations = min − 1",
        "error 100",
        confirmations_below_min
    ),
    lsps1_case!(
        "lsps1.create-order.funding-confirms-below-min.gets-100",
        ["LSPS1-R10", "LSPS1-R24"],
        Must,
        "funding_confirms_within_blocks below the minimum gets 100",
        "a valid order with funding_confirms_within_blocks = min − 1 (skipped when min is 1: 0 is a type error)",
        "error 100",
        funding_below_min
    ),
    lsps1_case!(
        "lsps1.create-order.expiry-above-max.gets-100",
        ["LSPS1-R11", "LSPS1-R24"],
        Must,
        "channel_expiry_blocks above max_channel_expiry_blocks gets 100",
        "a valid order with channel_expiry_blocks = max + 1",
        "error 100",
        expiry_above_max
    ),
    lsps1_case!(
        "lsps1.create-order.channel-size-above-max.gets-100",
        ["LSPS1-R12", "LSPS1-R24"],
        Must,
        "balances each in range but summing above max_channel_balance_sat get 100",
        "a valid order with lsp + client = max_channel_balance_sat + 1",
        "error 100 naming max_channel_balance_sat",
        channel_size
    ),
    lsps1_case!(
        "lsps1.create-order.invalid-type.gets-32602",
        ["LSPS1-R25"],
        Must,
        "a param of the wrong type gets -32602 with data.property",
        "announce_channel \"yes\"; lsp_balance_sat as a JSON number (each on a fresh connection)",
        "-32602 whose data.property names a request field",
        invalid_type
    ),
    lsps1_case!(
        "lsps1.create-order.invalid-token.gets-102",
        ["LSPS1-R26"],
        Must,
        "an unknown token gets 102",
        "a valid order with token \"zz-invalid-<random>\"",
        "error 102",
        invalid_token
    ),
    lsps1_case!(
        "lsps1.get-order.matches-create",
        ["LSPS1-R29"],
        Should,
        "get_order returns the order create_order returned",
        "create_order, then get_order with its order_id",
        "the same id, mirrors, token and created_at",
        get_order_matches
    ),
    lsps1_case!(
        "lsps1.get-order.unknown-id.gets-101",
        ["LSPS1-R30"],
        Should,
        "an unknown order_id gets 101",
        "lsps1.get_order with a random order_id",
        "error 101",
        get_order_unknown
    ),
    lsps1_case!(
        "lsps1.get-order.other-peers-order.gets-101",
        ["LSPS1-R30"],
        Should,
        "another peer's order is unknown (privacy; scoping is implied, not stated)",
        "create_order on one connection, get_order on a second (different node id)",
        "error 101",
        get_order_other_peer
    ),
];

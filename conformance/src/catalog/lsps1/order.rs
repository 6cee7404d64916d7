//! The order object a valid `lsps1.create_order` returns: mirrored values, token, state, times,
//! payment options, ids.

use super::{create, create_valid, info, order_with_client, typed, valid_order, with_token};
use crate::catalog::{amount, short};
use crate::ctx::{Abort, CaseCtx};
use serde_json::{Value, json};

pub(super) async fn minimal_order(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    let typed = typed(&order)?;
    Ok(format!(
        "order {} created without token or refund address",
        typed.order_id.as_str()
    ))
}

pub(super) async fn mirrors(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn token_empty(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn created_state(ctx: CaseCtx) -> Result<String, Abort> {
    let (_, _, order) = create_valid(&ctx).await?;
    match order.get("order_state").and_then(Value::as_str) {
        Some("CREATED") => Ok("order_state CREATED".into()),
        other => Err(Abort::Violation(format!(
            "a new order must be CREATED, got {other:?}"
        ))),
    }
}

pub(super) async fn created_at_now(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn onchain_option(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn channel_null(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn no_onchain(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn totals(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn bolt11_invoice(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn bolt12_offer(ctx: CaseCtx) -> Result<String, Abort> {
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
pub(super) async fn null_token(ctx: CaseCtx) -> Result<String, Abort> {
    if ctx.shared.token.is_some() {
        return Err(Abort::Precondition(
            "--token given: this LSP needs a token, so an order with a null one says nothing"
                .into(),
        ));
    }
    let mut params = valid_order(&info(&ctx)?)?;
    params["token"] = Value::Null;
    let mut conn = ctx.connect().await?;
    match crate::catalog::unless_refused(
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

pub(super) async fn payment_state(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn order_id_unique(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn order_id_uuid(ctx: CaseCtx) -> Result<String, Abort> {
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

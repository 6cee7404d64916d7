//! LSPS1 (bLIP-51) cases at the message tier: `get_info`, `create_order`, `get_order`
//! (orders are created, never paid).

use super::{amount, call_result, expect_result, integer, short};
use crate::case::Case;
use crate::code;
use crate::ctx::{Abort, CaseCtx, Conn};
use lsps_core::jsonrpc::Params;
use lsps_core::lsps1::{CreateOrderRequest, GetInfoResult, OrderResult};
use serde_json::{Value, json};

mod get_order;
mod order;
mod refusals;
use get_order::{get_order_matches, get_order_other_peer, get_order_unknown};
use order::{
    bolt11_invoice, bolt12_offer, channel_null, created_at_now, created_state, minimal_order,
    mirrors, no_onchain, null_token, onchain_option, order_id_unique, order_id_uuid, payment_state,
    token_empty, totals,
};
use refusals::{
    channel_size, client_above_max, confirmations_below_min, expiry_above_max, funding_below_min,
    invalid_token, invalid_type, lsp_above_max, lsp_below_min, lsp_zero,
};

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

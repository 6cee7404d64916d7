//! `lsps1.get_order`: the created order again, unknown ids and other peers' orders (101).

use super::{create_valid, typed};
use crate::catalog::{expect_error, expect_result, short};
use crate::code;
use crate::ctx::{Abort, CaseCtx, fresh_id};
use serde_json::{Value, json};

pub(super) async fn get_order_matches(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn get_order_unknown(ctx: CaseCtx) -> Result<String, Abort> {
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

pub(super) async fn get_order_other_peer(ctx: CaseCtx) -> Result<String, Abort> {
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

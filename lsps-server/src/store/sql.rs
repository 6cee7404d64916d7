//! What the two SQL backends share: the mapping between [`StoredOrder`]/[`StoredBuy`] and table
//! rows, and the translation of driver errors. The statements themselves differ (placeholders,
//! and PostgreSQL's `lsp_node_id` scoping) and stay in each backend.

use std::fmt::Display;

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{StoreError, StoredBuy, StoredOrder};

/// A driver error as a [`StoreError`].
pub(super) fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::from(e)
}

/// The error of an insert whose row has the key `key`: a unique violation is
/// [`StoreError::Duplicate`] (the dispatcher retries with a fresh key), anything else a
/// database error.
pub(super) fn insert_err(key: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(key),
        _ => db_err(e),
    }
}

/// The outcome of an update meant to change the row with the key `key`: no row changed means
/// there is no such row ([`StoreError::NotFound`]).
pub(super) fn one_updated(rows_affected: u64, key: impl Display) -> Result<(), StoreError> {
    if rows_affected == 0 {
        Err(StoreError::NotFound(key.to_string()))
    } else {
        Ok(())
    }
}

/// Both databases store integers as i64; Unix milliseconds fit for the next 292 million
/// years.
pub(super) fn ms_to_db(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

fn ms_from_db(ms: i64) -> u64 {
    u64::try_from(ms).unwrap_or(0)
}

/// An order from a row with the columns `order_id, peer_node_id, created_at_ms, body, flow`.
pub(super) fn order_from_row<'r, R>(row: &'r R) -> Result<StoredOrder, StoreError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(StoredOrder {
        order_id: row.try_get("order_id").map_err(db_err)?,
        peer_node_id: row.try_get("peer_node_id").map_err(db_err)?,
        created_at_ms: ms_from_db(row.try_get("created_at_ms").map_err(db_err)?),
        body: row.try_get("body").map_err(db_err)?,
        flow: row.try_get("flow").map_err(db_err)?,
    })
}

/// A buy from a row with the columns `jit_channel_scid` (decimal text), `peer_node_id,
/// created_at_ms, body, jit_flow`.
pub(super) fn buy_from_row<'r, R>(row: &'r R) -> Result<StoredBuy, StoreError>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let scid: String = row.try_get("jit_channel_scid").map_err(db_err)?;
    Ok(StoredBuy {
        jit_channel_scid: scid
            .parse()
            .map_err(|_| StoreError::UnreadableRow(format!("bad scid in database: {scid}")))?,
        peer_node_id: row.try_get("peer_node_id").map_err(db_err)?,
        created_at_ms: ms_from_db(row.try_get("created_at_ms").map_err(db_err)?),
        body: row.try_get("body").map_err(db_err)?,
        jit_flow: row.try_get("jit_flow").map_err(db_err)?,
    })
}

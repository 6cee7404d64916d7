//! PostgreSQL backend, selected with `--database-url postgres://…`.
//!
//! Several LSP nodes (each with its own data dir and node id) may share one database: every row
//! carries the `lsp_node_id` of the node that created it, and a store only loads, reads and
//! updates its own node's rows, so each node fulfils only its own orders and buys. Order ids are
//! globally unique (primary key), so two nodes inserting at once can never hand out the same
//! id; a clash is a [`StoreError::Duplicate`] and the dispatcher retries with a fresh id.
//!
//! Each insert is its own transaction, durable when it returns (PostgreSQL's default
//! `synchronous_commit = on`; the server groups concurrent commits itself). Migrations live in
//! `migrations-postgres/` with the same versions as the SQLite ones; sqlx serialises concurrent
//! migrators with an advisory lock, so two servers may start at once.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::sql::{buy_from_row, db_err, insert_err, ms_to_db, one_updated, order_from_row};
use super::{Store, StoreError, StoredBuy, StoredOrder};

/// The PostgreSQL store of one LSP node.
pub struct PostgresStore {
    pool: PgPool,
    lsp_node_id: String,
}

impl PostgresStore {
    /// Connect to `url`, run the migrations and prove the database takes writes; rows are
    /// those of the node `lsp_node_id` (66 hex).
    pub async fn open(url: &str, lsp_node_id: String) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(db_err)?;
        sqlx::migrate!("./migrations-postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Migration(std::sync::Arc::new(e)))?;
        // A read-only role or a hot standby would otherwise open fine and refuse every order.
        let mut tx = pool.begin().await.map_err(db_err)?;
        sqlx::query("LOCK TABLE lsps1_orders IN ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::NotWritable(std::sync::Arc::new(e)))?;
        tx.rollback().await.map_err(db_err)?;
        Ok(Self { pool, lsp_node_id })
    }

    /// The node whose rows this store serves.
    pub fn lsp_node_id(&self) -> &str {
        &self.lsp_node_id
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn insert_order(&self, order: StoredOrder) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lsps1_orders (order_id, lsp_node_id, peer_node_id, created_at_ms, body, flow) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&order.order_id)
        .bind(&self.lsp_node_id)
        .bind(&order.peer_node_id)
        .bind(ms_to_db(order.created_at_ms))
        .bind(&order.body)
        .bind(&order.flow)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(insert_err(order.order_id.clone()))
    }

    async fn update_order(&self, order_id: &str, body: String) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE lsps1_orders SET body = $1 WHERE order_id = $2 AND lsp_node_id = $3",
        )
        .bind(body)
        .bind(order_id)
        .bind(&self.lsp_node_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        one_updated(done.rows_affected(), order_id)
    }

    async fn update_order_flow(&self, order_id: &str, flow: String) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE lsps1_orders SET flow = $1 WHERE order_id = $2 AND lsp_node_id = $3",
        )
        .bind(flow)
        .bind(order_id)
        .bind(&self.lsp_node_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        one_updated(done.rows_affected(), order_id)
    }

    async fn insert_buy(&self, buy: StoredBuy) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lsps2_buys (lsp_node_id, jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&self.lsp_node_id)
        .bind(buy.jit_channel_scid.to_string())
        .bind(&buy.peer_node_id)
        .bind(ms_to_db(buy.created_at_ms))
        .bind(&buy.body)
        .bind(&buy.jit_flow)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(insert_err(buy.jit_channel_scid.to_string()))
    }

    async fn update_buy(
        &self,
        jit_channel_scid: u64,
        body: String,
        jit_flow: String,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE lsps2_buys SET body = $1, jit_flow = $2 WHERE jit_channel_scid = $3 AND lsp_node_id = $4",
        )
        .bind(body)
        .bind(jit_flow)
        .bind(jit_channel_scid.to_string())
        .bind(&self.lsp_node_id)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        one_updated(done.rows_affected(), jit_channel_scid)
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let row = sqlx::query(
            "SELECT order_id, peer_node_id, created_at_ms, body, flow FROM lsps1_orders WHERE order_id = $1 AND lsp_node_id = $2",
        )
        .bind(order_id)
        .bind(&self.lsp_node_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn get_buy(&self, jit_channel_scid: u64) -> Result<Option<StoredBuy>, StoreError> {
        let row = sqlx::query(
            "SELECT jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow FROM lsps2_buys WHERE jit_channel_scid = $1 AND lsp_node_id = $2",
        )
        .bind(jit_channel_scid.to_string())
        .bind(&self.lsp_node_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        row.as_ref().map(buy_from_row).transpose()
    }

    async fn load_orders(&self) -> Result<Vec<StoredOrder>, StoreError> {
        let rows = sqlx::query(
            "SELECT order_id, peer_node_id, created_at_ms, body, flow FROM lsps1_orders WHERE lsp_node_id = $1 ORDER BY created_at_ms, seq",
        )
        .bind(&self.lsp_node_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn load_buys(&self) -> Result<Vec<StoredBuy>, StoreError> {
        let rows = sqlx::query(
            "SELECT jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow FROM lsps2_buys WHERE lsp_node_id = $1 ORDER BY created_at_ms, seq",
        )
        .bind(&self.lsp_node_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(buy_from_row).collect()
    }

    async fn close(&self) {
        // Later calls fail: a closed pool refuses to hand out connections.
        self.pool.close().await;
    }
}

//! Durable state: LSPS1 orders and LSPS2 buys.
//!
//! The [`Store`] trait is what the dispatcher needs; [`SqliteStore`] is the default backend
//! (WAL, `synchronous=FULL`, one writer task that group-commits) and [`MemoryStore`] serves
//! tests. [`PostgresStore`] (selected by `--database-url postgres://…`) lets several nodes share
//! one database, each serving only its own rows. The same test suite (`suite.rs`) runs against
//! every backend. Rows carry the JSON body the service
//! produced, so the store does not depend on protocol types and a schema change in a body needs
//! no migration.

mod memory;
mod postgres;
mod records;
mod sql;
mod sqlite;
#[cfg(test)]
mod suite;
#[cfg(test)]
pub(crate) mod test_postgres;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use records::{RowError, StoredRow, state_from_rows, to_stored};
pub use sqlite::{SqliteStore, SqliteStoreOptions};

use async_trait::async_trait;

/// One LSPS1 order as persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredOrder {
    /// The order id handed to the client.
    pub order_id: String,
    /// Node id (66 hex) of the peer that created the order; orders are scoped to it.
    pub peer_node_id: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: u64,
    /// JSON of the service's order record (as created; never rewritten by the flow).
    pub body: String,
    /// JSON of the order's flow (`lsps_core::lsps1::OrderFlow`): where its payment and
    /// channel stand. `None` for an order stored before flows were kept.
    pub flow: Option<String>,
}

/// One LSPS2 buy as persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBuy {
    /// The intercept SCID returned as `jit_channel_scid` (u64 form).
    pub jit_channel_scid: u64,
    /// Node id (66 hex) of the buying peer.
    pub peer_node_id: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: u64,
    /// JSON of the service's buy record.
    pub body: String,
    /// JSON of the buy's JIT flow (`lsps_core::lsps2::flow::JitFlow`); `None` in rows
    /// written before the flow was persisted (migration `20261205000001_jit_flow`).
    pub jit_flow: Option<String>,
}

/// Why a store operation failed. Named after what happened; the driver's error is kept as the
/// source (shared, because one failed group commit answers every write in the group).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A row with this key exists already (ids are supposed to be unique).
    #[error("duplicate key {0}")]
    Duplicate(String),
    /// The row to update does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The database driver failed (connection, statement, commit).
    #[error("database: {0}")]
    Database(#[source] std::sync::Arc<sqlx::Error>),
    /// The schema migrations could not be applied.
    #[error("migration: {0}")]
    Migration(#[source] std::sync::Arc<sqlx::migrate::MigrateError>),
    /// The database opened but refuses writes (a read-only file, directory or role).
    #[error("database is not writable: {0}")]
    NotWritable(#[source] std::sync::Arc<sqlx::Error>),
    /// A stored row holds a value this version cannot read (e.g. a malformed SCID).
    #[error("unreadable row: {0}")]
    UnreadableRow(String),
    /// A record could not be written as a row (its JSON encoding failed).
    #[error("cannot encode the row: {0}")]
    Unencodable(String),
    /// A lock was poisoned by a panic while held (names the lock).
    #[error("{0} lock poisoned")]
    Poisoned(&'static str),
    /// The writer task is gone (shut down).
    #[error("store closed")]
    Closed,
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolClosed => StoreError::Closed,
            e => StoreError::Database(std::sync::Arc::new(e)),
        }
    }
}

/// Durable storage for what the LSP has accepted. Every `insert_*` returns only after the row is
/// durable (committed with `synchronous=FULL` for SQLite).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Persist a new order. Fails with [`StoreError::Duplicate`] if the id exists.
    async fn insert_order(&self, order: StoredOrder) -> Result<(), StoreError>;
    /// Replace the body of an existing order (state changes).
    async fn update_order(&self, order_id: &str, body: String) -> Result<(), StoreError>;
    /// Replace the flow of an existing order (every LSPS1 money-flow step, before it takes
    /// effect).
    async fn update_order_flow(&self, order_id: &str, flow: String) -> Result<(), StoreError>;
    /// Persist a new buy. Fails with [`StoreError::Duplicate`] if the SCID exists.
    async fn insert_buy(&self, buy: StoredBuy) -> Result<(), StoreError>;
    /// Replace the body and the JIT flow of an existing buy, together (a JIT flow step).
    async fn update_buy(
        &self,
        jit_channel_scid: u64,
        body: String,
        jit_flow: String,
    ) -> Result<(), StoreError>;
    /// One order by id.
    async fn get_order(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError>;
    /// One buy by SCID.
    async fn get_buy(&self, jit_channel_scid: u64) -> Result<Option<StoredBuy>, StoreError>;
    /// Every order, oldest first (start-up load).
    async fn load_orders(&self) -> Result<Vec<StoredOrder>, StoreError>;
    /// Every buy, oldest first (start-up load).
    async fn load_buys(&self) -> Result<Vec<StoredBuy>, StoreError>;
    /// Flush and stop background work. Later calls fail with [`StoreError::Closed`].
    async fn close(&self);
}

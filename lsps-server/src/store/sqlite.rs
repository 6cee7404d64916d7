//! SQLite backend: WAL, `synchronous=FULL`, migrations embedded in the crate, and one writer
//! task that group-commits whatever writes are queued when it wakes up.
//!
//! Why one writer: SQLite serialises writers anyway, and a single transaction covering every
//! queued write pays one fsync for the whole group (anchors.md C.4: ~1.5–8.7k single-row
//! commits/s vs 30k+ rows/s batched on the CI machine). Each write runs inside its own savepoint
//! so one failing row (a duplicate key) does not fail the others in its group.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::sql::{buy_from_row, db_err, insert_err, ms_to_db, one_updated, order_from_row};
use super::{Store, StoreError, StoredBuy, StoredOrder};

/// Largest number of writes committed in one transaction.
const MAX_GROUP: usize = 512;

/// Tuning for [`SqliteStore`].
#[derive(Debug, Clone)]
pub struct SqliteStoreOptions {
    /// Database file; created if missing.
    pub path: PathBuf,
    /// Depth of the writer queue; callers wait when it is full.
    pub queue_depth: usize,
    /// Where the writer task runs (the server's write thread); the current runtime if `None`.
    pub writer_runtime: Option<tokio::runtime::Handle>,
}

impl SqliteStoreOptions {
    /// Defaults for a database file at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            queue_depth: 4096,
            writer_runtime: None,
        }
    }
}

enum WriteOp {
    InsertOrder(StoredOrder),
    UpdateOrder {
        order_id: String,
        body: String,
    },
    UpdateOrderFlow {
        order_id: String,
        flow: String,
    },
    InsertBuy(StoredBuy),
    UpdateBuy {
        scid: u64,
        body: String,
        jit_flow: String,
    },
}

struct WriteRequest {
    op: WriteOp,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The default durable store.
pub struct SqliteStore {
    writer: Mutex<Option<mpsc::Sender<WriteRequest>>>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
    readers: SqlitePool,
}

impl SqliteStore {
    /// Open (creating if needed) the database, run the crate's migrations and start the writer.
    pub async fn open(options: SqliteStoreOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite://")
            .map_err(db_err)?
            .filename(&options.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let mut writer_conn = SqliteConnection::connect_with(&connect)
            .await
            .map_err(db_err)?;
        sqlx::migrate!("./migrations")
            .run(&mut writer_conn)
            .await
            .map_err(|e| StoreError::Migration(std::sync::Arc::new(e)))?;
        // Prove the database takes writes now rather than at the first order: a read-only file
        // or directory would otherwise open fine and then refuse every write.
        for statement in ["BEGIN IMMEDIATE", "ROLLBACK"] {
            sqlx::query(statement)
                .execute(&mut writer_conn)
                .await
                .map_err(|e| StoreError::NotWritable(std::sync::Arc::new(e)))?;
        }
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(connect.read_only(true))
            .await
            .map_err(db_err)?;
        let (tx, rx) = mpsc::channel(options.queue_depth.max(1));
        let task = match &options.writer_runtime {
            Some(runtime) => runtime.spawn(writer_loop(writer_conn, rx)),
            None => tokio::spawn(writer_loop(writer_conn, rx)),
        };
        Ok(Self {
            writer: Mutex::new(Some(tx)),
            writer_task: Mutex::new(Some(task)),
            readers,
        })
    }

    async fn submit(&self, op: WriteOp) -> Result<(), StoreError> {
        let sender = self.writer.lock().await.clone().ok_or(StoreError::Closed)?;
        let (done, wait) = oneshot::channel();
        sender
            .send(WriteRequest { op, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)?
    }
}

async fn writer_loop(mut conn: SqliteConnection, mut rx: mpsc::Receiver<WriteRequest>) {
    let mut group: Vec<WriteRequest> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = rx.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        // A lone write is one statement in SQLite's autocommit: as atomic and durable as the
        // group's transaction, and one exchange with sqlx's connection thread instead of five
        // (BEGIN, SAVEPOINT, the write, RELEASE, COMMIT), each of which waits for that thread
        // to be scheduled when the cores are busy.
        let results = match group.as_slice() {
            [lone] => vec![apply(&mut conn, &lone.op).await],
            _ => commit_group(&mut conn, &group).await,
        };
        for (request, result) in group.drain(..).zip(results) {
            // The caller may have gone away (cancelled); the row is durable regardless.
            let _ = request.done.send(result);
        }
    }
    let _ = conn.close().await;
}

/// Run every op of the group in one transaction, each in its own savepoint. Returns one result
/// per op; if the final commit fails, every op fails.
async fn commit_group(
    conn: &mut SqliteConnection,
    group: &[WriteRequest],
) -> Vec<Result<(), StoreError>> {
    let mut results = Vec::with_capacity(group.len());
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            let error = db_err(e);
            return group.iter().map(|_| Err(error.clone())).collect();
        }
    };
    for request in group {
        let outcome = match tx.begin().await {
            Ok(mut savepoint) => match apply(&mut savepoint, &request.op).await {
                Ok(()) => savepoint.commit().await.map_err(db_err),
                Err(e) => {
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(db_err(e)),
        };
        results.push(outcome);
    }
    if let Err(e) = tx.commit().await {
        let error = db_err(e);
        return group.iter().map(|_| Err(error.clone())).collect();
    }
    results
}

async fn apply(conn: &mut SqliteConnection, op: &WriteOp) -> Result<(), StoreError> {
    match op {
        WriteOp::InsertOrder(order) => sqlx::query(
            "INSERT INTO lsps1_orders (order_id, peer_node_id, created_at_ms, body, flow) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&order.order_id)
        .bind(&order.peer_node_id)
        .bind(ms_to_db(order.created_at_ms))
        .bind(&order.body)
        .bind(&order.flow)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(insert_err(order.order_id.clone())),
        WriteOp::UpdateOrder { order_id, body } => {
            let done = sqlx::query("UPDATE lsps1_orders SET body = ? WHERE order_id = ?")
                .bind(body)
                .bind(order_id)
                .execute(conn)
                .await
                .map_err(db_err)?;
            one_updated(done.rows_affected(), order_id)
        }
        WriteOp::UpdateOrderFlow { order_id, flow } => {
            let done = sqlx::query("UPDATE lsps1_orders SET flow = ? WHERE order_id = ?")
                .bind(flow)
                .bind(order_id)
                .execute(conn)
                .await
                .map_err(db_err)?;
            one_updated(done.rows_affected(), order_id)
        }
        WriteOp::InsertBuy(buy) => sqlx::query(
            "INSERT INTO lsps2_buys (jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(buy.jit_channel_scid.to_string())
        .bind(&buy.peer_node_id)
        .bind(ms_to_db(buy.created_at_ms))
        .bind(&buy.body)
        .bind(&buy.jit_flow)
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(insert_err(buy.jit_channel_scid.to_string())),
        WriteOp::UpdateBuy {
            scid,
            body,
            jit_flow,
        } => {
            let done = sqlx::query(
                "UPDATE lsps2_buys SET body = ?, jit_flow = ? WHERE jit_channel_scid = ?",
            )
            .bind(body)
            .bind(jit_flow)
                .bind(scid.to_string())
                .execute(conn)
                .await
                .map_err(db_err)?;
            one_updated(done.rows_affected(), scid)
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_order(&self, order: StoredOrder) -> Result<(), StoreError> {
        self.submit(WriteOp::InsertOrder(order)).await
    }

    async fn update_order(&self, order_id: &str, body: String) -> Result<(), StoreError> {
        self.submit(WriteOp::UpdateOrder {
            order_id: order_id.to_owned(),
            body,
        })
        .await
    }

    async fn update_order_flow(&self, order_id: &str, flow: String) -> Result<(), StoreError> {
        self.submit(WriteOp::UpdateOrderFlow {
            order_id: order_id.to_owned(),
            flow,
        })
        .await
    }

    async fn insert_buy(&self, buy: StoredBuy) -> Result<(), StoreError> {
        self.submit(WriteOp::InsertBuy(buy)).await
    }

    async fn update_buy(
        &self,
        jit_channel_scid: u64,
        body: String,
        jit_flow: String,
    ) -> Result<(), StoreError> {
        self.submit(WriteOp::UpdateBuy {
            scid: jit_channel_scid,
            body,
            jit_flow,
        })
        .await
    }

    async fn get_order(&self, order_id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let row = sqlx::query(
            "SELECT order_id, peer_node_id, created_at_ms, body, flow FROM lsps1_orders WHERE order_id = ?",
        )
        .bind(order_id)
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?;
        row.as_ref().map(order_from_row).transpose()
    }

    async fn get_buy(&self, jit_channel_scid: u64) -> Result<Option<StoredBuy>, StoreError> {
        let row = sqlx::query(
            "SELECT jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow FROM lsps2_buys WHERE jit_channel_scid = ?",
        )
        .bind(jit_channel_scid.to_string())
        .fetch_optional(&self.readers)
        .await
        .map_err(db_err)?;
        row.as_ref().map(buy_from_row).transpose()
    }

    async fn load_orders(&self) -> Result<Vec<StoredOrder>, StoreError> {
        let rows = sqlx::query(
            "SELECT order_id, peer_node_id, created_at_ms, body, flow FROM lsps1_orders ORDER BY created_at_ms, rowid",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        rows.iter().map(order_from_row).collect()
    }

    async fn load_buys(&self) -> Result<Vec<StoredBuy>, StoreError> {
        let rows = sqlx::query(
            "SELECT jit_channel_scid, peer_node_id, created_at_ms, body, jit_flow FROM lsps2_buys ORDER BY created_at_ms, rowid",
        )
        .fetch_all(&self.readers)
        .await
        .map_err(db_err)?;
        rows.iter().map(buy_from_row).collect()
    }

    async fn close(&self) {
        // Dropping the sender ends the writer loop after it has committed what is queued.
        self.writer.lock().await.take();
        if let Some(task) = self.writer_task.lock().await.take() {
            let _ = task.await;
        }
        self.readers.close().await;
    }
}

//! The reference LSP: LSPS0/1/2 over BOLT8 (custom message 37913) and HTTP/WebSocket, on an LDK
//! 0.2 node with durable state.
//!
//! Layout (pure core, thin adapters):
//! - [`service`]: pure handlers `(state, peer, request, ctx) → (response, effects)`;
//! - [`dispatch`]: the one dispatcher behind every transport (limits, persistence, answers);
//! - [`transport`]: BOLT8 and HTTP/WebSocket bindings;
//! - [`node`]: the LDK node (built with the `lsps_node` kit); [`chain`]: chain sources (the
//!   kit's, re-exported); [`store`]: SQLite;
//! - [`config`]: TOML/flags/env configuration; [`faults`]: deliberate violations for self-tests.
//!
//! Start one in-process (as the conformance runner's `--spawn-reference` does):
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let dir = tempfile::tempdir()?;
//! let server = lsps_server::ReferenceServer::start(lsps_server::config::ServerConfig::ephemeral(dir.path())).await?;
//! println!("{}@{}", server.node_id(), server.bolt8_addr());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod admin;
pub mod chain;
pub mod config;
pub mod crash;
pub mod dev_payer;
pub mod dispatch;
pub mod faults;
pub mod jit;
mod ldk_ops;
pub mod node;
pub mod orders;
pub mod service;
pub mod store;
pub mod transport;
pub mod variants;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use bitcoin::secp256k1::PublicKey;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::ServerConfig;
use crate::dispatch::{Dispatcher, SystemClock};
use crate::faults::FaultSet;
use crate::node::Node;
use crate::service::Service;
use crate::store::{PostgresStore, SqliteStore, SqliteStoreOptions, Store};
use crate::transport::bolt8::LspsMessageHandler;
use crate::transport::lanes::WriteRuntime;
use crate::transport::{Caller, Dispatch, Dispatched};

/// The node's PeerManager needs the 37913 handler at construction, and the dispatcher needs the
/// node; this breaks the cycle. Nothing is connected before it is set.
#[derive(Default)]
struct LateDispatch(OnceLock<Arc<dyn Dispatch>>);

impl Dispatch for LateDispatch {
    fn dispatch_from(&self, caller: Caller, payload: &[u8]) -> Dispatched {
        match self.0.get() {
            Some(d) => d.dispatch_from(caller, payload),
            None => Dispatched::NoReply,
        }
    }

    fn caller_disconnected(&self, caller: Caller) {
        if let Some(d) = self.0.get() {
            d.caller_disconnected(caller);
        }
    }

    fn refuse(&self, caller: Caller, payload: &[u8], reason: &str) -> Dispatched {
        match self.0.get() {
            Some(d) => d.refuse(caller, payload, reason),
            None => Dispatched::NoReply,
        }
    }
}

/// Entry point for starting the reference LSP in-process.
pub struct ReferenceServer;

/// A running server.
pub struct ServerHandle {
    node: Arc<Node>,
    dev_chain: Option<Arc<chain::DevChain>>,
    dev_service: Option<lsps_node::chain::dev_service::DevChainService>,
    dev_payer: Option<Arc<dev_payer::DevPayer>>,
    dispatcher: Dispatcher,
    jit: jit::JitEngine,
    orders: orders::Orders,
    store: Arc<dyn Store>,
    metrics: Arc<admin::Metrics>,
    bolt8_handler: Arc<LspsMessageHandler>,
    bolt8_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Held (exclusively locked) until the handle is dropped; see [`lock_data_dir`].
    _data_dir_lock: std::fs::File,
    /// Where writes complete and the SQLite writer runs; stopped last (after the store).
    _write_runtime: WriteRuntime,
}

/// The longest [`ServerHandle::shutdown`] waits for money flows in motion to finish.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(15);

/// The SQLite database's file name in the data directory.
pub const SQLITE_FILE: &str = "lsps.sqlite";

/// The lock file's name in the data directory.
pub const LOCK_FILE: &str = "lsps-server.lock";

/// Take an exclusive lock on `<data_dir>/lsps-server.lock` for the life of the server. Two
/// servers on one data directory would run one node id with two diverging states; the second
/// is refused. The OS drops the lock when the process ends, so a crash leaves nothing stale.
pub fn lock_data_dir(data_dir: &std::path::Path) -> anyhow::Result<std::fs::File> {
    let path = data_dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another lsps-server (lock held on {})",
            data_dir.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Refuse a database that would make the server look ready and then lose or refuse writes: a
/// missing or empty database beside an existing node (its orders and buys were lost, and
/// starting would promise again what the node may already owe), and a read-only file.
fn check_database_file(data_dir: &std::path::Path, db: &std::path::Path) -> anyhow::Result<()> {
    let node_exists = data_dir.join("seed").exists();
    match std::fs::metadata(db) {
        Ok(meta) => {
            if meta.len() == 0 && node_exists {
                anyhow::bail!(
                    "{} is empty but this data directory holds a node (seed): the database was lost or truncated; restore it from a backup (see lsps-server/README.md) or move the data directory away",
                    db.display()
                );
            }
            if meta.permissions().readonly() {
                anyhow::bail!(
                    "{} is read-only: every order and buy would be refused",
                    db.display()
                );
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if node_exists {
                anyhow::bail!(
                    "{} is missing but this data directory holds a node (seed): restore the database from a backup (see lsps-server/README.md) or move the data directory away",
                    db.display()
                );
            }
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", db.display())),
    }
}

/// Whether the node has a funded channel with a peer (LDK counts only such peers as protected
/// from its limit on channel-less peers).
fn has_funded_channel(node: &Arc<Node>) -> transport::bolt8::HasFundedChannel {
    let channel_manager = node.channel_manager.clone();
    Arc::new(move |peer: &PublicKey| {
        channel_manager
            .list_channels_with_counterparty(peer)
            .iter()
            .any(|c| c.funding_txo.is_some())
    })
}

impl ReferenceServer {
    /// Start the LSP: open the store and the node in `config.data_dir`, listen on the configured
    /// addresses, and return once both listeners accept connections.
    pub async fn start(config: ServerConfig) -> anyhow::Result<ServerHandle> {
        // Everything that can be checked is checked before anything is created on disk.
        let faults = FaultSet::from_names(&config.faults)?;
        let variants =
            variants::VariantSet::from_names(&config.variants).map_err(anyhow::Error::msg)?;
        config.validate().context("configuration")?;
        Service::new(
            &config.lsps1,
            &config.lsps2,
            &config.limits,
            [0; 32],
            faults,
        )
        .context("configuration")?;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let data_dir_lock = lock_data_dir(&config.data_dir)?;
        // SQLite is opened (and checked) before the node exists, so a first start that fails
        // here leaves no node behind a missing database. PostgreSQL rows belong to a node, so
        // that store opens once the node id is known.
        // Writes are completed, stored and answered on their own thread, so that no step of
        // a write waits behind other peers' reads (`transport::lanes`).
        let write_runtime = WriteRuntime::start().context("starting the write thread")?;
        let sqlite = match &config.database_url {
            None => {
                let db_path = config.data_dir.join(SQLITE_FILE);
                check_database_file(&config.data_dir, &db_path)?;
                let mut options = SqliteStoreOptions::new(&db_path);
                options.writer_runtime = Some(write_runtime.handle());
                Some(
                    SqliteStore::open(options)
                        .await
                        .context("opening the store")?,
                )
            }
            Some(_) => None,
        };

        let late = Arc::new(LateDispatch::default());
        let handler = Arc::new(LspsMessageHandler::new(
            late.clone(),
            write_runtime.handle(),
            config.limits.max_pending_per_peer,
        ));
        let lane_handler = handler.clone();
        let wake = handler.wake_handle();
        let peer_handler = handler.clone();
        let activity = handler.activity();
        let (node, dev_chain, dev_service) = match &config.bitcoind {
            Some(bitcoind) => {
                let source = node::connect_bitcoind(bitcoind).await?;
                let node = node::start(&config.data_dir, source, handler).await?;
                (node, None, None)
            }
            None => {
                let dev_chain = node::open_dev_chain(&config.data_dir)?;
                let node = node::start(&config.data_dir, dev_chain.clone(), handler).await?;
                node::bootstrap_dev_chain(&node, &dev_chain)?;
                let dev_service = lsps_node::chain::dev_service::DevChainService::serve(
                    dev_chain.clone(),
                    node.wallet.clone(),
                    lsps_node::chain::dev_service::DevChainServiceConfig {
                        dir: config.data_dir.join("devchain"),
                        rpc_listen: config.dev_chain.rpc_listen,
                        block_interval: Some(Duration::from_secs(
                            config.dev_chain.block_interval_secs,
                        )),
                        user_password: None,
                    },
                )
                .await
                .context("serving the dev chain's RPC")?;
                (node, Some(dev_chain), Some(dev_service))
            }
        };
        let store: Arc<dyn Store> = match (sqlite, &config.database_url) {
            (Some(sqlite), _) => Arc::new(sqlite),
            (None, Some(url)) => Arc::new(
                PostgresStore::open(url, node.node_id().to_string())
                    .await
                    .context("opening the PostgreSQL store")?,
            ),
            (None, None) => anyhow::bail!("no store configured"),
        };
        let metrics = Arc::new(admin::Metrics::new());
        let store: Arc<dyn Store> = Arc::new(admin::TimedStore::new(store, metrics.clone()));
        let orders = store.load_orders().await?;
        let buys = store.load_buys().await?;
        let state = crate::store::state_from_rows(&orders, &buys).context("reading the store")?;
        let service = Service::new(
            &config.lsps1,
            &config.lsps2,
            &config.limits,
            lsps_node::seed::derive_secret(node.seed(), b"lsps-server/lsps2-promise/v1"),
            faults,
        )?;
        let clock: Arc<dyn dispatch::Clock> = Arc::new(SystemClock);
        let dispatcher =
            Dispatcher::new(service, node.clone(), state, store.clone(), clock.clone());
        // The JIT flows: reconciled with the node before its events are processed, then fed
        // by the event loop, the BOLT8 handler's peer changes and their own timers.
        let jit = jit::JitEngine::new(
            node.clone(),
            dispatcher.clone(),
            metrics.clone(),
            clock,
            tokio::runtime::Handle::current(),
        );
        // The LSPS1 money flow: held payments become channels or are failed back/refunded.
        let orders = orders::Orders::new(
            node.clone(),
            dispatcher.clone(),
            Arc::new(SystemClock),
            orders::OrdersSettings {
                close_expired_channels: config.lsps1.close_expired_channels,
            },
        );
        {
            let jit = jit.clone();
            peer_handler.watch_peers(Arc::new(move |peer, connected| {
                jit.peer_changed(peer, connected)
            }));
        }
        jit.recover().await.context("recovering JIT flows")?;
        // Spec-legal variations (if any) sit in front of the dispatcher on every transport.
        let front = variants.wrap(Arc::new(dispatcher.clone()));
        // Every request and its result is counted on every transport.
        let front: Arc<dyn Dispatch> =
            Arc::new(admin::MeteredDispatch::new(front, metrics.clone()));
        if late.0.set(front.clone()).is_err() {
            anyhow::bail!("dispatcher set twice");
        }

        let bolt8 = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding BOLT8 listener {}", config.listen))?;
        let bolt8_addr = bolt8.local_addr()?;
        let http = match config.http_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("binding HTTP listener {addr}"))?,
            ),
            None => None,
        };
        let http_addr = http.as_ref().map(TcpListener::local_addr).transpose()?;
        let admin = match config.admin_listen {
            Some(addr) => {
                if !addr.ip().is_loopback() {
                    tracing::warn!(%addr, "admin listener is not on loopback: it is reachable from the network (token auth only)");
                }
                Some(
                    TcpListener::bind(addr)
                        .await
                        .with_context(|| format!("binding admin listener {addr}"))?,
                )
            }
            None => None,
        };
        let admin_addr = admin.as_ref().map(TcpListener::local_addr).transpose()?;

        {
            let peer_manager = node.peer_manager.clone();
            lane_handler.set_flush(Arc::new(move || peer_manager.process_events()));
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(transport::bolt8::accept_loop(
                bolt8,
                node.peer_manager.clone(),
                activity,
                has_funded_channel(&node),
                config.connections.clone(),
                lane_handler.writes_in_flight(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(transport::bolt8::flush_task(
                wake,
                node.peer_manager.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(transport::bolt8::read_lane(
                lane_handler.clone(),
                node.peer_manager.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(node::run_events(
                node.clone(),
                orders.clone(),
                jit.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(orders.clone().run(shutdown_rx.clone())),
            tokio::spawn(jit.clone().run(shutdown_rx.clone())),
        ];
        if let Some(http) = http {
            tasks.push(tokio::spawn(transport::http::serve(
                http,
                front,
                config.connections.clone(),
                shutdown_rx.clone(),
            )));
        }
        // The dev payer dials the BOLT8 listener, so it starts once that accepts.
        let dev_payer = match (&dev_chain, config.dev_chain.payer) {
            (Some(chain), true) => Some(
                dev_payer::DevPayer::start(
                    &config.data_dir,
                    chain.clone(),
                    node.node_id(),
                    bolt8_addr,
                )
                .await
                .context("starting the dev payer")?,
            ),
            _ => None,
        };
        if let (Some(listener), Some(addr)) = (admin, admin_addr) {
            let token: Arc<str> = config
                .admin_token
                .clone()
                .unwrap_or_else(admin::random_token)
                .into();
            admin::write_admin_file(&config.data_dir, addr, &token)
                .with_context(|| format!("writing {}", admin::ADMIN_FILE))?;
            let peer_manager = node.peer_manager.clone();
            let context = admin::AdminContext {
                metrics: metrics.clone(),
                store: store.clone(),
                dispatcher: dispatcher.clone(),
                peer_count: Arc::new(move || peer_manager.list_peers().len()),
                dev_payer: dev_payer.clone(),
                token,
            };
            tasks.push(tokio::spawn(admin::serve(listener, context, shutdown_rx)));
        }
        tracing::info!(node_id = %node.node_id(), %bolt8_addr, ?http_addr, ?admin_addr, "LSP started");
        Ok(ServerHandle {
            node,
            dev_chain,
            dev_service,
            dev_payer,
            dispatcher,
            jit,
            orders,
            store,
            metrics,
            bolt8_handler: lane_handler,
            bolt8_addr,
            http_addr,
            admin_addr,
            shutdown,
            tasks,
            _data_dir_lock: data_dir_lock,
            _write_runtime: write_runtime,
        })
    }
}

impl ServerHandle {
    /// The LSP's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// Where BOLT8 connections are accepted.
    pub fn bolt8_addr(&self) -> SocketAddr {
        self.bolt8_addr
    }

    /// `node_id@host:port`.
    pub fn connection_string(&self) -> String {
        format!("{}@{}", self.node_id(), self.bolt8_addr)
    }

    /// Base URL of the HTTP binding, if enabled.
    pub fn http_url(&self) -> Option<String> {
        self.http_addr.map(transport::http::url_for)
    }

    /// Base URL of the admin listener, if enabled (token in `<data_dir>/admin.json`).
    pub fn admin_url(&self) -> Option<String> {
        self.admin_addr.map(|a| format!("http://{a}"))
    }

    /// The metrics (e.g. for the JIT flow to feed [`admin::Metrics::observe_jit_step`]).
    pub fn metrics(&self) -> &Arc<admin::Metrics> {
        &self.metrics
    }

    /// The LDK node.
    pub fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// The embedded dev chain, when the server runs on one.
    pub fn dev_chain(&self) -> Option<&Arc<chain::DevChain>> {
        self.dev_chain.as_ref()
    }

    /// The embedded dev chain's Bitcoin Core RPC: URL and cookie file.
    pub fn dev_chain_rpc(&self) -> Option<(String, std::path::PathBuf)> {
        self.dev_service
            .as_ref()
            .map(|s| (s.rpc_url(), s.cookie_file().to_owned()))
    }

    /// The dev payer, when the server runs one (embedded dev chain, `dev_chain.payer`).
    pub fn dev_payer(&self) -> Option<&Arc<dev_payer::DevPayer>> {
        self.dev_payer.as_ref()
    }

    /// The dispatcher (for in-process callers and tests).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// BOLT8 peers whose connections are read on the write thread now (peers that wrote
    /// recently; see `transport::bolt8`).
    pub fn bolt8_peers_read_on_write_thread(&self) -> usize {
        self.bolt8_handler.peers_read_on_write_thread()
    }

    /// Money flows in motion that [`ServerHandle::shutdown`] would wait for now: JIT opens
    /// and unclaimed forwards, LSPS1 opens, each with its client connected.
    pub fn flows_in_motion(&self) -> usize {
        self.jit.in_motion() + self.orders.in_motion()
    }

    /// Let the money flows in motion finish (at most [`SHUTDOWN_DRAIN`]: an open already
    /// requested completes and its payment is forwarded and claimed, instead of being cut off
    /// half way and failed back after the restart), then stop listening, let the node persist
    /// its state (events not yet handled included, so they come again after a restart), flush
    /// the store. Flows that only hold HTLCs stay stored as they are; LDK keeps the HTLCs and
    /// the restarted server resumes them under the same deadlines.
    pub async fn shutdown(self) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_DRAIN;
        let mut waiting = self.flows_in_motion();
        if waiting > 0 {
            tracing::info!(
                flows = waiting,
                "shutdown: letting money flows in motion finish"
            );
        }
        while waiting > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
            waiting = self.flows_in_motion();
        }
        if waiting > 0 {
            tracing::warn!(
                flows = waiting,
                "shutdown: flows still in motion after {SHUTDOWN_DRAIN:?}; they are stored and resume after the restart"
            );
        }
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("a server task did not stop within 10 s");
            }
        }
        if let Some(dev_service) = self.dev_service {
            dev_service.shutdown().await;
        }
        self.store.close().await;
    }
}

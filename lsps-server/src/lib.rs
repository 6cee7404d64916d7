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

pub mod chain;
pub mod config;
pub mod dispatch;
pub mod faults;
mod ldk_ops;
pub mod node;
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
use crate::store::{SqliteStore, SqliteStoreOptions, Store};
use crate::transport::bolt8::LspsMessageHandler;
use crate::transport::{Dispatch, Dispatched};

/// The node's PeerManager needs the 37913 handler at construction, and the dispatcher needs the
/// node; this breaks the cycle. Nothing is connected before it is set.
#[derive(Default)]
struct LateDispatch(OnceLock<Arc<dyn Dispatch>>);

impl Dispatch for LateDispatch {
    fn dispatch(&self, peer: PublicKey, payload: &[u8]) -> Dispatched {
        match self.0.get() {
            Some(d) => d.dispatch(peer, payload),
            None => Dispatched::NoReply,
        }
    }

    fn peer_disconnected(&self, peer: PublicKey) {
        if let Some(d) = self.0.get() {
            d.peer_disconnected(peer);
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
    dispatcher: Dispatcher,
    store: Arc<dyn Store>,
    bolt8_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl ReferenceServer {
    /// Start the LSP: open the store and the node in `config.data_dir`, listen on the configured
    /// addresses, and return once both listeners accept connections.
    pub async fn start(config: ServerConfig) -> anyhow::Result<ServerHandle> {
        let faults = FaultSet::from_names(&config.faults)?;
        let variants =
            variants::VariantSet::from_names(&config.variants).map_err(anyhow::Error::msg)?;
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating {}", config.data_dir.display()))?;
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(SqliteStoreOptions::new(config.data_dir.join("lsps.sqlite")))
                .await
                .context("opening the store")?,
        );
        let orders = store.load_orders().await?;
        let buys = store.load_buys().await?;
        let state = crate::store::state_from_rows(&orders, &buys).context("reading the store")?;

        let late = Arc::new(LateDispatch::default());
        let handler = Arc::new(LspsMessageHandler::new(
            late.clone(),
            tokio::runtime::Handle::current(),
        ));
        let wake = handler.wake_handle();
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
        let service = Service::new(
            &config.lsps1,
            &config.lsps2,
            &config.limits,
            lsps_node::seed::derive_secret(node.seed(), b"lsps-server/lsps2-promise/v1"),
            faults,
        )?;
        let dispatcher = Dispatcher::new(
            service,
            node.clone(),
            state,
            store.clone(),
            Arc::new(SystemClock),
        );
        // Spec-legal variations (if any) sit in front of the dispatcher on every transport.
        let front = variants.wrap(Arc::new(dispatcher.clone()));
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

        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![
            tokio::spawn(transport::bolt8::accept_loop(
                bolt8,
                node.peer_manager.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(transport::bolt8::flush_task(
                wake,
                node.peer_manager.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(node::run_events(node.clone(), shutdown_rx.clone())),
        ];
        if let Some(http) = http {
            tasks.push(tokio::spawn(transport::http::serve(
                http,
                front,
                shutdown_rx,
            )));
        }
        tracing::info!(node_id = %node.node_id(), %bolt8_addr, ?http_addr, "LSP started");
        Ok(ServerHandle {
            node,
            dev_chain,
            dev_service,
            dispatcher,
            store,
            bolt8_addr,
            http_addr,
            shutdown,
            tasks,
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

    /// The dispatcher (for in-process callers and tests).
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// Stop listening, let the node persist its state, flush the store.
    pub async fn shutdown(self) {
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

//! An in-process LDK 0.2.7 node running lightning-liquidity 0.2.7's LSPS0 + LSPS2 *client*,
//! for interop tests against other LSPs (the reference server, the scripted LSP).
//!
//! Each call sends one request through lightning-liquidity and awaits the matching event.
//!
//! ```no_run
//! # async fn demo(lsp: &testkit::ldk_lsp::LdkLsp) -> Result<(), testkit::ldk_client::LdkClientError> {
//! let client = testkit::ldk_client::LdkClient::connect(lsp.node_id(), lsp.addr()).await?;
//! let protocols = client.list_protocols().await?;
//! let menu = client.lsps2_get_info(None).await?;
//! let buy = client.lsps2_buy(menu[0].clone(), Some(50_000_000)).await?;
//! # let _ = (protocols, buy); Ok(()) }
//! ```

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::util::config::UserConfig;
use lightning_liquidity::LiquidityClientConfig;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::event::LSPS0ClientEvent;
use lightning_liquidity::lsps0::ser::{LSPSRequestId, LSPSResponseError};
use lightning_liquidity::lsps2::client::LSPS2ClientConfig;
use lightning_liquidity::lsps2::event::LSPS2ClientEvent;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::ldk_node::{LdkNode, NodeError, build_node, connect_nodelay, message_pump};

/// Errors of [`LdkClient`].
#[derive(Debug, thiserror::Error)]
pub enum LdkClientError {
    /// Building the node or connecting failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The BOLT8 handshake did not complete in time.
    #[error("BOLT8 connection to {0} not established")]
    NotConnected(PublicKey),
    /// No answer within the timeout (lightning-liquidity drops replies it cannot parse).
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The LSP answered with a JSON-RPC error.
    #[error("LSP error {}: {}", .0.code, .0.message)]
    Lsp(LSPSResponseError),
    /// lightning-liquidity refused the call.
    #[error("lightning-liquidity: {0}")]
    Api(String),
    /// The node shut down while waiting.
    #[error("client node stopped")]
    Stopped,
}

/// What `lsps2.buy` returned, as lightning-liquidity reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuyOutcome {
    /// The intercept SCID (`jit_channel_scid`) as a u64.
    pub intercept_scid: u64,
    /// `lsp_cltv_expiry_delta`.
    pub cltv_expiry_delta: u32,
}

type Lsps2Reply = Result<Lsps2Success, LSPSResponseError>;

enum Lsps2Success {
    Menu(Vec<LSPS2OpeningFeeParams>),
    Buy(BuyOutcome),
}

#[derive(Default)]
struct Waiters {
    // LSPS0's event carries no request id: answers are matched to callers in order.
    list_protocols: VecDeque<oneshot::Sender<Vec<u16>>>,
    lsps2: HashMap<LSPSRequestId, oneshot::Sender<Lsps2Reply>>,
    // Events that arrived before their waiter was registered (the reply can beat us).
    early_lsps2: HashMap<LSPSRequestId, Lsps2Reply>,
}

/// A connected LDK LSPS client node.
pub struct LdkClient {
    node: Arc<LdkNode>,
    lsp: PublicKey,
    waiters: Arc<Mutex<Waiters>>,
    timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl LdkClient {
    /// Builds a client node with a random key and connects it to `lsp_node_id` at `addr`.
    pub async fn connect(lsp_node_id: PublicKey, addr: SocketAddr) -> Result<Self, LdkClientError> {
        let client_config = LiquidityClientConfig {
            lsps1_client_config: None,
            lsps2_client_config: Some(LSPS2ClientConfig {}),
            lsps5_client_config: None,
        };
        let node = Arc::new(build_node(UserConfig::default(), None, Some(client_config)).await?);
        let waiters = Arc::new(Mutex::new(Waiters::default()));
        let tasks = vec![
            node.spawn_events(),
            tokio::spawn(message_pump(Arc::clone(&node))),
            tokio::spawn(event_loop(Arc::clone(&node), Arc::clone(&waiters))),
        ];
        let client = Self {
            node,
            lsp: lsp_node_id,
            waiters,
            timeout: Duration::from_secs(10),
            tasks,
        };
        connect_nodelay(Arc::clone(&client.node.peer_manager), lsp_node_id, addr).await?;
        client.wait_connected().await?;
        Ok(client)
    }

    /// Sets the per-call timeout (default 10 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// This client's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id
    }

    // lightning-net-tokio gives no completion signal for the handshake; the PeerManager lists
    // the peer once `init` has been exchanged, so check it with a short bounded back-off.
    async fn wait_connected(&self) -> Result<(), LdkClientError> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = Duration::from_micros(200);
        while tokio::time::Instant::now() < deadline {
            if self.node.peer_manager.peer_by_node_id(&self.lsp).is_some() {
                return Ok(());
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(20));
        }
        Err(LdkClientError::NotConnected(self.lsp))
    }

    /// `lsps0.list_protocols`.
    pub async fn list_protocols(&self) -> Result<Vec<u16>, LdkClientError> {
        let (tx, rx) = oneshot::channel();
        self.lock_waiters()?.list_protocols.push_back(tx);
        self.node
            .liquidity
            .lsps0_client_handler()
            .list_protocols(&self.lsp);
        self.node.peer_manager.process_events();
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(protocols)) => Ok(protocols),
            Ok(Err(_)) => Err(LdkClientError::Stopped),
            Err(_) => Err(LdkClientError::Timeout(self.timeout)),
        }
    }

    /// `lsps2.get_info`, returning the menu as lightning-liquidity parsed it.
    pub async fn lsps2_get_info(
        &self,
        token: Option<String>,
    ) -> Result<Vec<LSPS2OpeningFeeParams>, LdkClientError> {
        let handler = self.lsps2()?;
        let request_id = handler.request_opening_params(self.lsp, token);
        match self.await_lsps2(request_id).await? {
            Lsps2Success::Menu(menu) => Ok(menu),
            Lsps2Success::Buy(_) => Err(LdkClientError::Api("buy answer to get_info".into())),
        }
    }

    /// `lsps2.buy` with one menu entry, returning the SCID and CLTV delta.
    pub async fn lsps2_buy(
        &self,
        opening_fee_params: LSPS2OpeningFeeParams,
        payment_size_msat: Option<u64>,
    ) -> Result<BuyOutcome, LdkClientError> {
        let handler = self.lsps2()?;
        let request_id = handler
            .select_opening_params(self.lsp, payment_size_msat, opening_fee_params)
            .map_err(|e| LdkClientError::Api(format!("{e:?}")))?;
        match self.await_lsps2(request_id).await? {
            Lsps2Success::Buy(outcome) => Ok(outcome),
            Lsps2Success::Menu(_) => Err(LdkClientError::Api("menu answer to buy".into())),
        }
    }

    /// Disconnects and stops the node's tasks.
    pub fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.node.peer_manager.disconnect_all_peers();
    }

    fn lsps2(
        &self,
    ) -> Result<
        &lightning_liquidity::lsps2::client::LSPS2ClientHandler<
            Arc<lightning::sign::KeysManager>,
            crate::ldk_node::LiquidityStore,
        >,
        LdkClientError,
    > {
        self.node
            .liquidity
            .lsps2_client_handler()
            .ok_or_else(|| LdkClientError::Api("LSPS2 client not configured".into()))
    }

    fn lock_waiters(&self) -> Result<std::sync::MutexGuard<'_, Waiters>, LdkClientError> {
        self.waiters.lock().map_err(|_| LdkClientError::Stopped)
    }

    async fn await_lsps2(&self, request_id: LSPSRequestId) -> Result<Lsps2Success, LdkClientError> {
        let (tx, rx) = oneshot::channel();
        {
            let mut waiters = self.lock_waiters()?;
            if let Some(early) = waiters.early_lsps2.remove(&request_id) {
                return early.map_err(LdkClientError::Lsp);
            }
            waiters.lsps2.insert(request_id.clone(), tx);
        }
        self.node.peer_manager.process_events();
        let outcome = tokio::time::timeout(self.timeout, rx).await;
        if let Ok(mut waiters) = self.waiters.lock() {
            waiters.lsps2.remove(&request_id);
        }
        match outcome {
            Ok(Ok(reply)) => reply.map_err(LdkClientError::Lsp),
            Ok(Err(_)) => Err(LdkClientError::Stopped),
            Err(_) => Err(LdkClientError::Timeout(self.timeout)),
        }
    }
}

impl Drop for LdkClient {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn event_loop(node: Arc<LdkNode>, waiters: Arc<Mutex<Waiters>>) {
    loop {
        let event = node.liquidity.next_event_async().await;
        let Ok(mut waiters) = waiters.lock() else {
            return;
        };
        let (request_id, reply) = match event {
            LiquidityEvent::LSPS0Client(LSPS0ClientEvent::ListProtocolsResponse {
                protocols,
                ..
            }) => {
                if let Some(waiter) = waiters.list_protocols.pop_front() {
                    let _ = waiter.send(protocols);
                }
                continue;
            }
            LiquidityEvent::LSPS2Client(LSPS2ClientEvent::OpeningParametersReady {
                request_id,
                opening_fee_params_menu,
                ..
            }) => (request_id, Ok(Lsps2Success::Menu(opening_fee_params_menu))),
            LiquidityEvent::LSPS2Client(LSPS2ClientEvent::InvoiceParametersReady {
                request_id,
                intercept_scid,
                cltv_expiry_delta,
                ..
            }) => (
                request_id,
                Ok(Lsps2Success::Buy(BuyOutcome {
                    intercept_scid,
                    cltv_expiry_delta,
                })),
            ),
            LiquidityEvent::LSPS2Client(LSPS2ClientEvent::GetInfoFailed {
                request_id,
                error,
                ..
            })
            | LiquidityEvent::LSPS2Client(LSPS2ClientEvent::BuyRequestFailed {
                request_id,
                error,
                ..
            }) => (request_id, Err(error)),
            _ => continue,
        };
        match waiters.lsps2.remove(&request_id) {
            Some(waiter) => {
                let _ = waiter.send(reply);
            }
            None => {
                waiters.early_lsps2.insert(request_id, reply);
            }
        }
    }
}

//! The in-process LDK node both fixtures are built on: a `ChannelManager` with no chain
//! backend (constant fee estimate, a broadcaster that records instead of broadcasting, a
//! filter that ignores registrations, an in-memory store), as spike.md §1 describes.
//!
//! The node never sees a block. That is enough for the LSPS message tier: lightning-liquidity
//! only needs a `ChannelManager` to exist (for intercept SCIDs and its generics).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Network, Script, Transaction, Txid};
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor::ChainMonitor;
use lightning::chain::{BestBlock, Filter, WatchedOutput};
use lightning::ln::channelmanager::{ChainParameters, ChannelManager};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler, PeerManager};
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::NetworkGraph;
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::sign::{InMemorySigner, KeysManager, NodeSigner, Recipient};
use lightning::util::config::UserConfig;
use lightning::util::logger::{Logger, Record};
use lightning::util::persist::{KVStoreSync, KVStoreSyncWrapper};
use lightning_liquidity::{LiquidityClientConfig, LiquidityManager, LiquidityServiceConfig};
use lightning_net_tokio::SocketDescriptor;

/// Logger that forwards LDK's records to stderr when `TESTKIT_LDK_LOG` is set.
pub struct StderrLogger {
    enabled: bool,
}

impl StderrLogger {
    /// Logs when `TESTKIT_LDK_LOG` is set in the environment.
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("TESTKIT_LDK_LOG").is_some(),
        }
    }
}

impl Logger for StderrLogger {
    fn log(&self, record: Record) {
        if self.enabled {
            eprintln!(
                "[ldk {} {}] {}",
                record.level, record.module_path, record.args
            );
        }
    }
}

/// Fee estimator with a constant answer (no chain here).
pub struct ConstantFeeEstimator;

impl FeeEstimator for ConstantFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, _target: ConfirmationTarget) -> u32 {
        1000
    }
}

/// Broadcaster that records transactions and never sends them anywhere.
#[derive(Default)]
pub struct RecordingBroadcaster {
    /// Every transaction LDK asked to broadcast, in order.
    pub broadcast: Mutex<Vec<Transaction>>,
}

impl BroadcasterInterface for RecordingBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        if let Ok(mut seen) = self.broadcast.lock() {
            seen.extend(txs.iter().map(|tx| (*tx).clone()));
        }
    }
}

/// Chain filter that ignores every registration (there is no chain to watch).
pub struct NoChainFilter;

impl Filter for NoChainFilter {
    fn register_tx(&self, _txid: &Txid, _script_pubkey: &Script) {}
    fn register_output(&self, _output: WatchedOutput) {}
}

type Namespace = (String, String);

/// In-memory `KVStoreSync`: serves as ChainMonitor persister (LDK's blanket impl) and as the
/// LiquidityManager store.
#[derive(Default)]
pub struct MemStore {
    entries: Mutex<HashMap<Namespace, HashMap<String, Vec<u8>>>>,
}

fn store_poisoned() -> lightning::io::Error {
    lightning::io::Error::new(lightning::io::ErrorKind::Other, "store lock poisoned")
}

impl KVStoreSync for MemStore {
    fn read(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
    ) -> Result<Vec<u8>, lightning::io::Error> {
        let entries = self.entries.lock().map_err(|_| store_poisoned())?;
        entries
            .get(&(primary_namespace.to_owned(), secondary_namespace.to_owned()))
            .and_then(|ns| ns.get(key))
            .cloned()
            .ok_or_else(|| lightning::io::Error::new(lightning::io::ErrorKind::NotFound, "no key"))
    }

    fn write(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        buf: Vec<u8>,
    ) -> Result<(), lightning::io::Error> {
        let mut entries = self.entries.lock().map_err(|_| store_poisoned())?;
        entries
            .entry((primary_namespace.to_owned(), secondary_namespace.to_owned()))
            .or_default()
            .insert(key.to_owned(), buf);
        Ok(())
    }

    fn remove(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
        key: &str,
        _lazy: bool,
    ) -> Result<(), lightning::io::Error> {
        let mut entries = self.entries.lock().map_err(|_| store_poisoned())?;
        if let Some(ns) =
            entries.get_mut(&(primary_namespace.to_owned(), secondary_namespace.to_owned()))
        {
            ns.remove(key);
        }
        Ok(())
    }

    fn list(
        &self,
        primary_namespace: &str,
        secondary_namespace: &str,
    ) -> Result<Vec<String>, lightning::io::Error> {
        let entries = self.entries.lock().map_err(|_| store_poisoned())?;
        Ok(entries
            .get(&(primary_namespace.to_owned(), secondary_namespace.to_owned()))
            .map(|ns| ns.keys().cloned().collect())
            .unwrap_or_default())
    }
}

/// The LDK logger type used throughout the testkit.
pub type Log = StderrLogger;
type Graph = NetworkGraph<Arc<Log>>;
type Scorer = ProbabilisticScorer<Arc<Graph>, Arc<Log>>;

/// The ChainMonitor of a testkit node.
pub type ChainMon = ChainMonitor<
    InMemorySigner,
    Arc<NoChainFilter>,
    Arc<RecordingBroadcaster>,
    Arc<ConstantFeeEstimator>,
    Arc<Log>,
    Arc<MemStore>,
    Arc<KeysManager>,
>;

/// The ChannelManager of a testkit node.
pub type ChanMan = ChannelManager<
    Arc<ChainMon>,
    Arc<RecordingBroadcaster>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<ConstantFeeEstimator>,
    Arc<
        DefaultRouter<
            Arc<Graph>,
            Arc<Log>,
            Arc<KeysManager>,
            Arc<RwLock<Scorer>>,
            ProbabilisticScoringFeeParameters,
            Scorer,
        >,
    >,
    Arc<DefaultMessageRouter<Arc<Graph>, Arc<Log>, Arc<KeysManager>>>,
    Arc<Log>,
>;

/// The LiquidityManager of a testkit node (async flavour, so events can be awaited).
pub type Liquidity = LiquidityManager<
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<ChanMan>,
    Arc<NoChainFilter>,
    KVStoreSyncWrapper<Arc<MemStore>>,
    lightning_liquidity::utils::time::DefaultTimeProvider,
    Arc<RecordingBroadcaster>,
>;

/// The PeerManager of a testkit node: the ChannelManager handles channel messages, the
/// LiquidityManager handles custom message 37913.
pub type PeerMan = PeerManager<
    SocketDescriptor,
    Arc<ChanMan>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    Arc<Log>,
    Arc<Liquidity>,
    Arc<KeysManager>,
    IgnoringMessageHandler,
>;

/// All parts of a running node.
pub struct LdkNode {
    /// Node keys (random seed).
    pub keys: Arc<KeysManager>,
    /// The channel manager.
    pub channel_manager: Arc<ChanMan>,
    /// lightning-liquidity's manager (service or client side, per construction).
    pub liquidity: Arc<Liquidity>,
    /// The peer manager accepting/initiating BOLT8 connections.
    pub peer_manager: Arc<PeerMan>,
    /// Recorded broadcasts (never sent anywhere).
    pub broadcaster: Arc<RecordingBroadcaster>,
    /// This node's id.
    pub node_id: PublicKey,
}

/// Errors building a testkit node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// lightning-liquidity failed to start (it reads its persisted state first).
    #[error("lightning-liquidity failed to start: {0}")]
    Liquidity(String),
    /// The keys manager has no node id (cannot happen with `KeysManager`).
    #[error("node signer has no node id")]
    NoNodeId,
    /// Socket error.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Builds a node with a random seed. `service` / `client` configure lightning-liquidity.
pub async fn build_node(
    user_config: UserConfig,
    service: Option<LiquidityServiceConfig>,
    client: Option<LiquidityClientConfig>,
) -> Result<LdkNode, NodeError> {
    let network = Network::Regtest;
    let seed: [u8; 32] = rand::random();
    let started = now();
    let keys = Arc::new(KeysManager::new(
        &seed,
        started.as_secs(),
        started.subsec_nanos(),
        true,
    ));
    let logger = Arc::new(StderrLogger::from_env());
    let fees = Arc::new(ConstantFeeEstimator);
    let broadcaster = Arc::new(RecordingBroadcaster::default());
    let filter = Arc::new(NoChainFilter);
    let store = Arc::new(MemStore::default());

    let chain_monitor = Arc::new(ChainMonitor::new(
        Some(Arc::clone(&filter)),
        Arc::clone(&broadcaster),
        Arc::clone(&logger),
        Arc::clone(&fees),
        Arc::clone(&store),
        Arc::clone(&keys),
        keys.get_peer_storage_key(),
    ));
    let graph = Arc::new(NetworkGraph::new(network, Arc::clone(&logger)));
    let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
        ProbabilisticScoringDecayParameters::default(),
        Arc::clone(&graph),
        Arc::clone(&logger),
    )));
    let router = Arc::new(DefaultRouter::new(
        Arc::clone(&graph),
        Arc::clone(&logger),
        Arc::clone(&keys),
        scorer,
        ProbabilisticScoringFeeParameters::default(),
    ));
    let message_router = Arc::new(DefaultMessageRouter::new(
        Arc::clone(&graph),
        Arc::clone(&keys),
    ));
    let chain_params = ChainParameters {
        network,
        best_block: BestBlock::from_network(network),
    };
    let channel_manager = Arc::new(ChannelManager::new(
        Arc::clone(&fees),
        Arc::clone(&chain_monitor),
        Arc::clone(&broadcaster),
        router,
        message_router,
        Arc::clone(&logger),
        Arc::clone(&keys),
        Arc::clone(&keys),
        Arc::clone(&keys),
        user_config,
        chain_params,
        started.as_secs() as u32,
    ));
    let liquidity = Arc::new(
        LiquidityManager::new(
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&channel_manager),
            Some(filter),
            Some(chain_params),
            KVStoreSyncWrapper(store),
            Arc::clone(&broadcaster),
            service,
            client,
        )
        .await
        .map_err(|e| NodeError::Liquidity(e.to_string()))?,
    );
    let handlers = MessageHandler {
        chan_handler: Arc::clone(&channel_manager),
        route_handler: IgnoringMessageHandler {},
        onion_message_handler: IgnoringMessageHandler {},
        custom_message_handler: Arc::clone(&liquidity),
        send_only_message_handler: IgnoringMessageHandler {},
    };
    let ephemeral: [u8; 32] = rand::random();
    let peer_manager = Arc::new(PeerManager::new(
        handlers,
        started.as_secs() as u32,
        &ephemeral,
        logger,
        Arc::clone(&keys),
    ));
    let node_id = keys
        .get_node_id(Recipient::Node)
        .map_err(|()| NodeError::NoNodeId)?;
    Ok(LdkNode {
        keys,
        channel_manager,
        liquidity,
        peer_manager,
        broadcaster,
        node_id,
    })
}

/// Turns an accepted or connected tokio socket into a std socket with TCP_NODELAY set, as
/// lightning-net-tokio wants it (spike.md §3: 44 ms per fresh connection without NODELAY).
pub fn nodelay_std(stream: tokio::net::TcpStream) -> std::io::Result<std::net::TcpStream> {
    stream.set_nodelay(true)?;
    stream.into_std()
}

/// Accepts BOLT8 connections on `listener` for `peer_manager` forever (until the task is
/// aborted), TCP_NODELAY on every socket; a failed accept or socket is skipped.
pub async fn accept_inbound<PM>(listener: tokio::net::TcpListener, peer_manager: PM)
where
    PM: std::ops::Deref + Clone + Send + Sync + 'static,
    PM::Target: lightning::ln::peer_handler::APeerManager<
            Descriptor = lightning_net_tokio::SocketDescriptor,
        >,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let Ok(std_stream) = nodelay_std(stream) else {
            continue;
        };
        tokio::spawn(lightning_net_tokio::setup_inbound(
            peer_manager.clone(),
            std_stream,
        ));
    }
}

/// Connects `node` to a peer over loopback with TCP_NODELAY; returns when the handshake
/// task has been spawned (the caller waits for `peer_connected` itself if it needs to).
pub async fn connect_nodelay(
    peer_manager: Arc<PeerMan>,
    their_node_id: PublicKey,
    addr: SocketAddr,
) -> Result<(), NodeError> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let std_stream = nodelay_std(stream)?;
    tokio::spawn(lightning_net_tokio::setup_outbound(
        peer_manager,
        their_node_id,
        std_stream,
    ));
    Ok(())
}

/// Flushes lightning-liquidity's outbox whenever it says it has messages (LDK's future, no
/// polling).
pub async fn message_pump(node: Arc<LdkNode>) {
    loop {
        node.liquidity
            .get_pending_msgs_or_needs_persist_future()
            .await;
        node.peer_manager.process_events();
    }
}

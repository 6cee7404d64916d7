//! The in-process LDK node both LDK fixtures are built on: the workspace's node kit
//! (`lsps_node`) in a temporary data dir, on a dev chain (its own in-memory one unless given
//! one to share), with lightning-liquidity as the custom-message handler.

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use lightning::chain::Filter;
use lightning::sign::KeysManager;
use lightning::util::config::UserConfig;
use lightning::util::persist::KVStoreSyncWrapper;
use lightning_liquidity::{LiquidityClientConfig, LiquidityManager, LiquidityServiceConfig};
use lsps_node::chain::{ChainSource, DevChain};
use lsps_node::{ChainBroadcaster, ChannelManager, NodeConfig, NodeCore, SqliteStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use lsps_node::LdkLogger;
pub use lsps_node::net::accept_inbound;

/// lightning-liquidity's store: the node's own KVStore.
pub type LiquidityStore = KVStoreSyncWrapper<Arc<SqliteStore>>;

/// The LiquidityManager of a testkit node (async flavour, so events can be awaited).
pub type Liquidity = LiquidityManager<
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<ChannelManager>,
    Arc<dyn Filter + Send + Sync>,
    LiquidityStore,
    lightning_liquidity::utils::time::DefaultTimeProvider,
    Arc<ChainBroadcaster>,
>;

/// The kit's node with lightning-liquidity answering custom message 37913.
pub type KitNode = lsps_node::Node<Liquidity>;

/// The PeerManager of a testkit node.
pub type PeerMan = lsps_node::PeerManager<Liquidity>;

/// All parts of a running node; derefs to the kit's node (`channel_manager`, `peer_manager`,
/// `wallet`, ...).
pub struct LdkNode {
    /// The kit's node.
    pub node: Arc<KitNode>,
    /// lightning-liquidity's manager (service or client side, per construction).
    pub liquidity: Arc<Liquidity>,
    /// This node's id.
    pub node_id: PublicKey,
    /// The chain this node follows.
    pub chain: Arc<dyn ChainSource>,
    stop_events: watch::Sender<bool>,
    _data_dir: tempfile::TempDir,
}

impl Deref for LdkNode {
    type Target = KitNode;

    fn deref(&self) -> &KitNode {
        &self.node
    }
}

/// Errors building a testkit node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The node kit failed to build the node.
    #[error(transparent)]
    Kit(#[from] lsps_node::NodeError),
    /// lightning-liquidity failed to start (it reads its persisted state first).
    #[error("lightning-liquidity failed to start: {0}")]
    Liquidity(#[source] lightning::io::Error),
    /// Socket error.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// Builds a node with a fresh seed on its own in-memory dev chain. `service` / `client`
/// configure lightning-liquidity.
pub async fn build_node(
    user_config: UserConfig,
    service: Option<LiquidityServiceConfig>,
    client: Option<LiquidityClientConfig>,
) -> Result<LdkNode, NodeError> {
    build_node_on(
        Arc::new(DevChain::in_memory()),
        NodeConfig {
            user_config,
            ..NodeConfig::new("")
        },
        service,
        client,
    )
    .await
}

/// Builds a node on `chain` with `config` (its `data_dir` is replaced by a fresh temporary
/// directory).
pub async fn build_node_on(
    chain: Arc<dyn ChainSource>,
    mut config: NodeConfig,
    service: Option<LiquidityServiceConfig>,
    client: Option<LiquidityClientConfig>,
) -> Result<LdkNode, NodeError> {
    let data_dir = tempfile::tempdir()?;
    config.data_dir = data_dir.path().to_owned();
    let core = NodeCore::open(config, chain.clone()).await?;
    let liquidity = Arc::new(
        LiquidityManager::new(
            core.keys.clone(),
            core.keys.clone(),
            core.channel_manager.clone(),
            None,
            Some(core.chain_parameters()),
            KVStoreSyncWrapper(core.kv_store()),
            core.broadcaster(),
            service,
            client,
        )
        .await
        .map_err(NodeError::Liquidity)?,
    );
    let node = lsps_node::Node::new(core, liquidity.clone());
    let node_id = node.node_id();
    let (stop_events, _) = watch::channel(false);
    Ok(LdkNode {
        node,
        liquidity,
        node_id,
        chain,
        stop_events,
        _data_dir: data_dir,
    })
}

impl LdkNode {
    /// Runs the kit's LDK event loop (funding, channel acceptance, persistence) until the node
    /// is dropped or the task aborted.
    pub fn spawn_events(&self) -> JoinHandle<()> {
        self.spawn_events_with(|_| Ok(()))
    }

    /// Like [`LdkNode::spawn_events`], with `app` seeing every event after the kit.
    pub fn spawn_events_with<F>(&self, app: F) -> JoinHandle<()>
    where
        F: Fn(&lightning::events::Event) -> Result<(), lightning::events::ReplayEvent>
            + Send
            + Sync
            + 'static,
    {
        tokio::spawn(
            self.node
                .clone()
                .run_events(self.stop_events.subscribe(), app),
        )
    }
}

impl Drop for LdkNode {
    fn drop(&mut self) {
        let _ = self.stop_events.send(true);
    }
}

/// Connects `node` to a peer over loopback with TCP_NODELAY; returns when the handshake
/// task has been spawned (the caller waits for `peer_connected` itself if it needs to).
pub async fn connect_nodelay(
    peer_manager: Arc<PeerMan>,
    their_node_id: PublicKey,
    addr: SocketAddr,
) -> Result<(), NodeError> {
    Ok(lsps_node::net::connect_outbound(peer_manager, their_node_id, addr).await?)
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

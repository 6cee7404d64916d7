//! The LDK node: keys from a seed persisted in the data dir, ChannelManager, ChainMonitor,
//! PeerManager over lightning-net-tokio, LDK state in a `FilesystemStore`, an on-chain wallet
//! (bdk_wallet), and an event loop woken by LDK's own futures.
//!
//! The node does not know LSPS: it carries the 37913 handler it is given, and implements
//! what [`crate::service::NodeOps`] needs (intercept SCIDs, invoices, addresses); the adapter
//! is in `crate::ldk_ops`.

mod wallet;

pub use wallet::DevWallet;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{Block, BlockHash, Network, Transaction};
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor;
use lightning::chain::{BestBlock, Filter, Listen};
use lightning::events::{Event, EventsProvider, ReplayEvent};
use lightning::ln::channelmanager::{
    ChainParameters, ChannelManagerReadArgs, SimpleArcChannelManager,
};
use lightning::ln::peer_handler::{
    IgnoringMessageHandler, MessageHandler, PeerManager as LdkPeerManager,
};
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::NetworkGraph;
use lightning::routing::router::DefaultRouter;
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::sign::{EntropySource, InMemorySigner, KeysManager, NodeSigner};
use lightning::util::config::UserConfig;
use lightning::util::logger::{Level, Logger, Record};
use lightning::util::persist::{
    CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, KVStoreSync, read_channel_monitors,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning_net_tokio::SocketDescriptor;
use lightning_persister::fs_store::FilesystemStore;
use tokio::sync::watch;

use crate::chain::{ChainListener, ChainSource, DevChain};
use crate::transport::bolt8::LspsMessageHandler;

/// LDK log lines go to `tracing` under the target `ldk`.
pub struct LdkLogger;

impl Logger for LdkLogger {
    fn log(&self, record: Record) {
        let module = record.module_path;
        match record.level {
            Level::Gossip | Level::Trace => {
                tracing::trace!(target: "ldk", "{module}: {}", record.args)
            }
            Level::Debug => tracing::debug!(target: "ldk", "{module}: {}", record.args),
            Level::Info => tracing::info!(target: "ldk", "{module}: {}", record.args),
            Level::Warn => tracing::warn!(target: "ldk", "{module}: {}", record.args),
            Level::Error => tracing::error!(target: "ldk", "{module}: {}", record.args),
        }
    }
}

/// Fee rates for the dev chain, which has no fee market: a fixed 1000 sat/kWU (4 sat/vB), above
/// LDK's 253 floor.
pub struct FixedFeeEstimator(pub u32);

impl FeeEstimator for FixedFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, _target: ConfirmationTarget) -> u32 {
        self.0
    }
}

/// Hands LDK's transactions to the chain source.
pub struct ChainBroadcaster(pub Arc<dyn ChainSource>);

impl BroadcasterInterface for ChainBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        for tx in txs {
            self.0.broadcast(tx);
        }
    }
}

/// The ChainMonitor type of this node.
pub type ChainMonitor = chainmonitor::ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<ChainBroadcaster>,
    Arc<FixedFeeEstimator>,
    Arc<LdkLogger>,
    Arc<FilesystemStore>,
    Arc<KeysManager>,
>;

/// The ChannelManager type of this node.
pub type ChannelManager =
    SimpleArcChannelManager<ChainMonitor, ChainBroadcaster, FixedFeeEstimator, LdkLogger>;

/// The PeerManager type of this node: channel messages go to the ChannelManager, 37913 to the
/// LSPS handler; gossip and onion messages are ignored.
pub type PeerManager = LdkPeerManager<
    SocketDescriptor,
    Arc<ChannelManager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<LdkLogger>,
    Arc<LspsMessageHandler>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

type Graph = NetworkGraph<Arc<LdkLogger>>;
type Router = DefaultRouter<
    Arc<Graph>,
    Arc<LdkLogger>,
    Arc<KeysManager>,
    Arc<RwLock<ProbabilisticScorer<Arc<Graph>, Arc<LdkLogger>>>>,
    ProbabilisticScoringFeeParameters,
    ProbabilisticScorer<Arc<Graph>, Arc<LdkLogger>>,
>;

/// The running node.
pub struct Node {
    /// Node keys (seed in `<data_dir>/seed`).
    pub keys: Arc<KeysManager>,
    /// LDK's channel state machine.
    pub channel_manager: Arc<ChannelManager>,
    /// LDK's chain monitor.
    pub chain_monitor: Arc<ChainMonitor>,
    /// LDK's peer manager.
    pub peer_manager: Arc<PeerManager>,
    /// The chain source (the dev chain by default).
    pub chain: Arc<DevChain>,
    /// The on-chain wallet.
    pub wallet: Arc<DevWallet>,
    kv_store: Arc<FilesystemStore>,
    seed: [u8; 32],
}

/// Load the 32-byte node seed from `path`, creating it from the OS RNG if absent.
pub fn load_or_create_seed(path: &Path) -> anyhow::Result<[u8; 32]> {
    if path.exists() {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        return bytes
            .as_slice()
            .try_into()
            .map_err(|_| anyhow!("{} must hold exactly 32 bytes", path.display()));
    }
    let seed: [u8; 32] = rand::random();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write to a temp file and rename so a crash never leaves a short seed behind.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, seed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(seed)
}

struct NodeChainListener {
    chain_monitor: Arc<ChainMonitor>,
    channel_manager: Arc<ChannelManager>,
    wallet: Arc<DevWallet>,
}

impl ChainListener for NodeChainListener {
    fn block_connected(&self, block: &Block, height: u32) {
        // ChainMonitor first, as LDK's own tests and devchain.md do.
        self.chain_monitor.block_connected(block, height);
        self.channel_manager.block_connected(block, height);
        self.wallet.apply_block(block, height);
    }
}

fn user_config() -> UserConfig {
    let mut config = UserConfig {
        // JIT channels (LSPS2) are opened on intercepted HTLCs to `get_intercept_scid` SCIDs.
        accept_intercept_htlcs: true,
        ..Default::default()
    };
    // Closing outputs go to the node's own scripts; the wallet sweep comes with channel opens.
    config
        .channel_handshake_config
        .commit_upfront_shutdown_pubkey = false;
    config
        .channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
    config
}

/// How many blocks a fresh dev chain gets, so the wallet has mature coinbase outputs.
pub const DEV_CHAIN_BOOTSTRAP_BLOCKS: u32 = 101;

impl Node {
    /// Build (or reload) the node in `data_dir`, answering 37913 through `lsps_handler`.
    pub fn start(
        data_dir: &Path,
        lsps_handler: Arc<LspsMessageHandler>,
    ) -> anyhow::Result<Arc<Self>> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data dir {}", data_dir.display()))?;
        let seed = load_or_create_seed(&data_dir.join("seed"))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let keys = Arc::new(KeysManager::new(
            &seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let logger = Arc::new(LdkLogger);
        let kv_store = Arc::new(FilesystemStore::new(data_dir.join("ldk")));
        let chain =
            Arc::new(DevChain::open(&data_dir.join("devchain")).context("opening dev chain")?);
        let chain_source: Arc<dyn ChainSource> = chain.clone();
        let broadcaster = Arc::new(ChainBroadcaster(chain_source.clone()));
        let fee_estimator = Arc::new(FixedFeeEstimator(1000));
        let wallet = Arc::new(DevWallet::new(&seed, Network::Regtest)?);

        let chain_monitor: Arc<ChainMonitor> = Arc::new(chainmonitor::ChainMonitor::new(
            None,
            broadcaster.clone(),
            logger.clone(),
            fee_estimator.clone(),
            kv_store.clone(),
            keys.clone(),
            keys.get_peer_storage_key(),
        ));
        let graph = Arc::new(NetworkGraph::new(Network::Regtest, logger.clone()));
        let scorer = Arc::new(RwLock::new(ProbabilisticScorer::new(
            ProbabilisticScoringDecayParameters::default(),
            graph.clone(),
            logger.clone(),
        )));
        let router: Arc<Router> = Arc::new(DefaultRouter::new(
            graph.clone(),
            logger.clone(),
            keys.clone(),
            scorer,
            ProbabilisticScoringFeeParameters::default(),
        ));
        let message_router = Arc::new(DefaultMessageRouter::new(graph.clone(), keys.clone()));

        let mut monitors = read_channel_monitors(kv_store.clone(), keys.clone(), keys.clone())
            .context("reading channel monitors")?;
        let manager_bytes = match kv_store.read(
            CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
            CHANNEL_MANAGER_PERSISTENCE_KEY,
        ) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => None,
            Err(e) => return Err(anyhow!("reading channel manager: {e}")),
        };
        let channel_manager: Arc<ChannelManager> = match manager_bytes {
            Some(bytes) => {
                let args = ChannelManagerReadArgs::new(
                    keys.clone(),
                    keys.clone(),
                    keys.clone(),
                    fee_estimator.clone(),
                    chain_monitor.clone(),
                    broadcaster.clone(),
                    router.clone(),
                    message_router.clone(),
                    logger.clone(),
                    user_config(),
                    monitors.iter().map(|(_, m)| m).collect(),
                );
                let (_hash, manager) = <(BlockHash, ChannelManager)>::read(
                    &mut lightning::io::Cursor::new(bytes),
                    args,
                )
                .map_err(|e| anyhow!("decoding channel manager: {e:?}"))?;
                Arc::new(manager)
            }
            None => {
                if !monitors.is_empty() {
                    bail!(
                        "channel monitors exist but the channel manager is missing; refusing to start"
                    );
                }
                let (tip_hash, tip_height) = chain.tip();
                Arc::new(ChannelManager::new(
                    fee_estimator.clone(),
                    chain_monitor.clone(),
                    broadcaster.clone(),
                    router.clone(),
                    message_router.clone(),
                    logger.clone(),
                    keys.clone(),
                    keys.clone(),
                    keys.clone(),
                    user_config(),
                    ChainParameters {
                        network: Network::Regtest,
                        best_block: BestBlock::new(tip_hash, tip_height),
                    },
                    now.as_secs() as u32,
                ))
            }
        };
        for (_, monitor) in monitors.drain(..) {
            let channel_id = monitor.channel_id();
            chain_monitor
                .load_existing_monitor(channel_id, monitor)
                .map_err(|()| anyhow!("loading channel monitor {channel_id}"))?;
        }

        // Catch LDK up with blocks it has not seen (crash between mining and persisting), and
        // replay the whole chain into the wallet, which is not persisted.
        let best = channel_manager.current_best_block();
        let known = chain.blocks_after(0);
        match known.iter().find(|(h, _)| *h == best.height) {
            Some((_, block)) if block.block_hash() != best.block_hash => {
                bail!(
                    "LDK state is on another chain than {}",
                    chain
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default()
                )
            }
            None if best.height != 0 => bail!(
                "LDK state is ahead of the dev chain (height {})",
                best.height
            ),
            _ => {}
        }
        for (height, block) in &known {
            if *height > best.height {
                chain_monitor.block_connected(block, *height);
                channel_manager.block_connected(block, *height);
            }
            wallet.apply_block(block, *height);
        }
        chain.subscribe(Arc::new(NodeChainListener {
            chain_monitor: chain_monitor.clone(),
            channel_manager: channel_manager.clone(),
            wallet: wallet.clone(),
        }));

        let ephemeral: [u8; 32] = keys.get_secure_random_bytes();
        let peer_manager = Arc::new(LdkPeerManager::new(
            MessageHandler {
                chan_handler: channel_manager.clone(),
                route_handler: Arc::new(IgnoringMessageHandler {}),
                onion_message_handler: Arc::new(IgnoringMessageHandler {}),
                custom_message_handler: lsps_handler,
                send_only_message_handler: Arc::new(IgnoringMessageHandler {}),
            },
            now.as_secs() as u32,
            &ephemeral,
            logger,
            keys.clone(),
        ));

        let node = Arc::new(Self {
            keys,
            channel_manager,
            chain_monitor,
            peer_manager,
            chain,
            wallet,
            kv_store,
            seed,
        });
        if node.chain.tip().1 < DEV_CHAIN_BOOTSTRAP_BLOCKS {
            let missing = DEV_CHAIN_BOOTSTRAP_BLOCKS - node.chain.tip().1;
            node.mine_to_wallet(missing)?;
        }
        node.persist_channel_manager()?;
        Ok(node)
    }

    /// This node's id.
    pub fn node_id(&self) -> PublicKey {
        self.channel_manager.get_our_node_id()
    }

    /// The persisted seed, for deriving other long-lived secrets (e.g. the LSPS2 promise key).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Mine `count` dev-chain blocks paying the wallet.
    pub fn mine_to_wallet(&self, count: u32) -> anyhow::Result<Vec<BlockHash>> {
        let script = self.wallet.new_address().script_pubkey();
        Ok(self.chain.mine(count, &script)?)
    }

    /// Write the ChannelManager to the KVStore.
    pub fn persist_channel_manager(&self) -> anyhow::Result<()> {
        self.kv_store
            .write(
                CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                CHANNEL_MANAGER_PERSISTENCE_KEY,
                self.channel_manager.encode(),
            )
            .map_err(|e| anyhow!("persisting channel manager: {e}"))
    }

    fn handle_event(&self, event: Event) -> Result<(), ReplayEvent> {
        match event {
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                ..
            } => {
                // The JIT open is the next step; until then the HTLC is failed back promptly
                // instead of being held until it times out.
                tracing::info!(
                    scid = requested_next_hop_scid,
                    "intercepted HTLC failed back (JIT open not implemented yet)"
                );
                if let Err(e) = self.channel_manager.fail_intercepted_htlc(intercept_id) {
                    tracing::warn!("fail_intercepted_htlc: {e:?}");
                }
            }
            Event::PaymentClaimable {
                payment_hash,
                amount_msat,
                ..
            } => {
                // LSPS1 invoices are hold invoices: the preimage is released only when the
                // channel opens (next step). LDK fails the HTLC back before it expires.
                tracing::info!(
                    ?payment_hash,
                    amount_msat,
                    "payment held (LSPS1 order payment)"
                );
            }
            other => tracing::debug!("LDK event: {other:?}"),
        }
        Ok(())
    }

    /// Process LDK events and persistence until `shutdown` flips; woken by LDK's futures (and a
    /// timer for LDK's periodic ticks), never by polling.
    pub async fn run_events(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(Duration::from_secs(10));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tick_count: u64 = 0;
        loop {
            self.channel_manager
                .process_pending_events(&|e| self.handle_event(e));
            self.chain_monitor
                .process_pending_events(&|e| self.handle_event(e));
            self.chain.flush();
            if self.channel_manager.get_and_clear_needs_persistence()
                && let Err(e) = self.persist_channel_manager()
            {
                tracing::error!("{e:#}");
            }
            self.peer_manager.process_events();
            tokio::select! {
                _ = self.channel_manager.get_event_or_persistence_needed_future() => {}
                _ = self.chain_monitor.get_update_future() => {}
                _ = ticks.tick() => {
                    tick_count += 1;
                    self.peer_manager.timer_tick_occurred();
                    if tick_count.is_multiple_of(6) {
                        self.channel_manager.timer_tick_occurred();
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        self.peer_manager.disconnect_all_peers();
        if let Err(e) = self.persist_channel_manager() {
            tracing::error!("{e:#}");
        }
    }

    /// Where LDK state lives.
    pub fn ldk_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("ldk")
    }
}

//! The LDK node: keys from the persisted seed, ChannelManager and ChainMonitor persisted in the
//! node's SQLite store ([`crate::kv`]), the on-chain wallet, a chain source behind [`ChainSource`], and a
//! PeerManager carrying the custom-message handler the caller gives it (the server's LSPS
//! handler, lightning-liquidity in testkit).
//!
//! Built in two steps because some custom-message handlers need the ChannelManager first:
//! [`NodeCore::open`] (everything but the PeerManager), then [`Node::new`].
//!
//! Data dir layout: `seed`, `ldk/` (LDK's KVStore), `wallet.log` (the wallet's change sets).

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kv::SqliteStore;
use bitcoin::secp256k1::{PublicKey, Secp256k1};
use bitcoin::{Amount, Block, BlockHash, Network, Transaction};
use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::chain::chaininterface::{BroadcasterInterface, ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor;
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BestBlock, Filter, Listen};
use lightning::events::{Event, EventsProvider, ReplayEvent};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::RecipientOnionFields;
use lightning::ln::channelmanager::Retry;
use lightning::ln::channelmanager::{
    ChainParameters, ChannelManagerReadArgs, SimpleArcChannelManager,
};
use lightning::ln::msgs::{ChannelParameters, DecodeError};
use lightning::ln::peer_handler::{
    CustomMessageHandler, IgnoringMessageHandler, MessageHandler, PeerManager as LdkPeerManager,
};
use lightning::ln::types::ChannelId;
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::NetworkGraph;
use lightning::routing::router::{DefaultRouter, Route, RouteParametersConfig};
use lightning::routing::scoring::{
    ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::sign::{EntropySource, InMemorySigner, KeysManager, NodeSigner, OutputSpender};
use lightning::types::features::ChannelTypeFeatures;
use lightning::util::config::{ChannelConfigOverrides, UserConfig};
use lightning::util::errors::APIError;
use lightning::util::persist::{
    CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, KVStoreSync, read_channel_monitors,
};
use lightning::util::ser::ReadableArgs;
use lsps_net::SocketDescriptor;
use tokio::sync::watch;

use crate::chain::{ChainError, ChainSource, MIN_FEE_RATE_SAT_PER_KW};
use crate::logger::LdkLogger;
use crate::payments::{PaymentId, PaymentOutcome, PaymentTracker};
use crate::persist::{ManagerStore, MonitorPersister};
use crate::seed::{SeedError, load_or_create_seed};
use crate::wallet::{OnchainWallet, WalletError};

mod events;
mod open;

/// Why the node could not start or do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The data dir could not be created.
    #[error("data dir {path}: {source}")]
    DataDir {
        /// The data dir.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The seed could not be loaded or created.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The wallet failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The chain source failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// LDK's store could not be read or written.
    #[error("LDK store: {0}")]
    LdkStore(#[source] lightning::io::Error),
    /// The persisted ChannelManager could not be decoded.
    #[error("decoding the channel manager: {0:?}")]
    DecodeManager(DecodeError),
    /// Channel monitors exist but no ChannelManager: starting would lose track of channels.
    #[error("channel monitors exist but the channel manager is missing; refusing to start")]
    ManagerMissing,
    /// A persisted ChannelMonitor could not be handed to the ChainMonitor.
    #[error("loading channel monitor {0}")]
    LoadMonitor(ChannelId),
    /// The wallet cannot fund the requested channel.
    #[error("the wallet has {available} sat confirmed, {needed} sat needed")]
    InsufficientFunds {
        /// Confirmed (and trusted pending) balance, sat.
        available: u64,
        /// Requested channel value, sat.
        needed: u64,
    },
    /// LDK refused the call.
    #[error("LDK refused: {0:?}")]
    Api(APIError),
    /// LDK would not start the payment (no route, a bad amount, a duplicate payment id).
    #[error("payment not started: {0}")]
    PaymentNotStarted(String),
    /// The payment's outcome was not known within the time given; LDK may still finish it.
    #[error("no payment outcome within {0:?}")]
    PaymentTimeout(Duration),
}

/// Hands LDK's (and the wallet's) transactions to the chain source.
pub struct ChainBroadcaster(pub Arc<dyn ChainSource>);

impl BroadcasterInterface for ChainBroadcaster {
    fn broadcast_transactions(&self, txs: &[&Transaction]) {
        for tx in txs {
            self.0.broadcast(tx);
        }
    }
}

/// Fee rates from the chain source (fixed on the dev chain, `estimatesmartfee` on Core).
pub struct ChainFeeEstimator(pub Arc<dyn ChainSource>);

impl FeeEstimator for ChainFeeEstimator {
    fn get_est_sat_per_1000_weight(&self, target: ConfirmationTarget) -> u32 {
        self.0
            .fee_rate_sat_per_kw(target)
            .max(MIN_FEE_RATE_SAT_PER_KW)
    }
}

/// The ChainMonitor type of every node.
pub type ChainMonitor = chainmonitor::ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<ChainBroadcaster>,
    Arc<ChainFeeEstimator>,
    Arc<LdkLogger>,
    Arc<MonitorPersister>,
    Arc<KeysManager>,
>;

/// The ChannelManager type of every node.
pub type ChannelManager =
    SimpleArcChannelManager<ChainMonitor, ChainBroadcaster, ChainFeeEstimator, LdkLogger>;

/// The PeerManager of a node whose custom messages (37913) go to `H`: channel messages go to
/// the ChannelManager; gossip and onion messages are ignored.
pub type PeerManager<H> = LdkPeerManager<
    SocketDescriptor,
    Arc<ChannelManager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<LdkLogger>,
    Arc<H>,
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
type MonitorListener = (
    ChannelMonitor<InMemorySigner>,
    Arc<ChainBroadcaster>,
    Arc<ChainFeeEstimator>,
    Arc<LdkLogger>,
);

/// The facts of an inbound `open_channel` an [`InboundChannelPolicy`] decides on.
#[derive(Clone, Copy, Debug)]
pub struct InboundChannelRequest<'a> {
    /// Who asks.
    pub counterparty: PublicKey,
    /// Channel value, funded by the counterparty.
    pub funding_sat: u64,
    /// The negotiated channel type (e.g. whether `option_scid_alias` is in it).
    pub channel_type: &'a ChannelTypeFeatures,
    /// Whether the channel would be announced.
    pub is_announced: bool,
    /// The opener's parameters (the `to_self_delay` it imposes on us, reserves, limits).
    pub params: &'a ChannelParameters,
}

/// What to do with an inbound channel request (LDK's overrides type has no `Debug`/`Clone`).
pub enum InboundDecision {
    /// Accept it; with `zero_conf`, usable before the funding confirms; `overrides` adjust our
    /// side of this channel only (e.g. `to_self_delay`, `accept_underpaying_htlcs`).
    Accept {
        /// Accept with zero confirmations (trust the opener's funding).
        zero_conf: bool,
        /// Per-channel changes to the node's configuration.
        overrides: Option<ChannelConfigOverrides>,
    },
    /// Refuse it (the opener gets a BOLT `error` carrying `reason`).
    Reject {
        /// Sent to the opener and logged.
        reason: String,
    },
}

/// Decides inbound channel requests instead of the default (accept all; zero-conf from
/// [`NodeConfig::zero_conf_peers`]). A wallet buying a JIT channel uses one to take zero-conf
/// only from its LSP, on the terms it bought.
pub trait InboundChannelPolicy: Send + Sync + std::fmt::Debug {
    /// The decision for `request`.
    fn decide(&self, request: &InboundChannelRequest<'_>) -> InboundDecision;
}

/// How to build a node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Seed, LDK state and wallet live here.
    pub data_dir: PathBuf,
    /// LDK's configuration. `manually_accept_inbound_channels` is always switched on: the
    /// event loop accepts each request (with zero confirmations from `zero_conf_peers`).
    pub user_config: UserConfig,
    /// Inbound channels from these peers are accepted with zero confirmations.
    pub zero_conf_peers: Vec<PublicKey>,
    /// When set, decides every inbound channel request (and `zero_conf_peers` is not used).
    pub inbound_policy: Option<Arc<dyn InboundChannelPolicy>>,
}

impl NodeConfig {
    /// A config with LDK's defaults.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            user_config: UserConfig::default(),
            zero_conf_peers: Vec::new(),
            inbound_policy: None,
        }
    }
}

/// A channel to open (see [`NodeCore::open_channel`]).
#[derive(Clone, Debug)]
pub struct OpenChannel {
    /// The (connected) peer.
    pub peer: PublicKey,
    /// Channel value, funded by the wallet.
    pub amount_sat: u64,
    /// Given to the peer at open.
    pub push_msat: u64,
    /// Send `channel_ready` before the funding confirms when the peer allows it (it accepts
    /// with zero confirmations): we trust our own funding transaction.
    pub zero_conf: bool,
    /// Announce the channel to the network.
    pub announce: bool,
    /// Negotiate `option_scid_alias` (an unannounced channel known only by aliases; LSPS2's
    /// JIT channel). Only with `announce = false`.
    pub scid_alias: bool,
    /// The largest `to_self_delay` the peer may impose on our outputs (LSPS2's
    /// `max_client_to_self_delay`); `None` keeps LDK's limit. Above `u16::MAX` means no
    /// tighter limit than the protocol's.
    pub max_peer_to_self_delay: Option<u32>,
    /// Carried back by every LDK event of this channel; `None` draws a random one.
    pub user_channel_id: Option<u128>,
    /// Fund through LDK's manual-broadcast path: the funding transaction is kept (in the
    /// node's KVStore) and broadcast only by [`NodeCore::broadcast_manual_funding`] (LSPS2's
    /// `client_trusts_lsp = true`).
    pub manual_broadcast: bool,
}

impl OpenChannel {
    /// A channel of `amount_sat` to `peer`: nothing pushed, not zero-conf, announced, LDK's
    /// limits, a random `user_channel_id`, broadcast as soon as it is signed.
    pub fn new(peer: PublicKey, amount_sat: u64) -> Self {
        Self {
            peer,
            amount_sat,
            push_msat: 0,
            zero_conf: false,
            announce: true,
            scid_alias: false,
            max_peer_to_self_delay: None,
            user_channel_id: None,
            manual_broadcast: false,
        }
    }
}

/// KVStore namespace of funding transactions held for a manual broadcast (key: txid).
const MANUAL_FUNDING_NAMESPACE: &str = "lsps_node_manual_funding";

/// What a channel open costs the wallet beyond the channel value (the funding transaction's
/// fee), kept out of [`NodeCore::fundable_sat`].
pub const FUNDING_FEE_MARGIN_SAT: u64 = 5_000;

/// Everything of a node except its PeerManager.
pub struct NodeCore {
    /// Node keys (seed in `<data_dir>/seed`).
    pub keys: Arc<KeysManager>,
    /// LDK's channel state machine.
    pub channel_manager: Arc<ChannelManager>,
    /// LDK's chain monitor.
    pub chain_monitor: Arc<ChainMonitor>,
    /// Where blocks come from and transactions go.
    pub chain: Arc<dyn ChainSource>,
    /// The on-chain wallet.
    pub wallet: Arc<OnchainWallet>,
    /// Fee rates as LDK sees them.
    pub fee_estimator: Arc<ChainFeeEstimator>,
    network: Network,
    user_config: UserConfig,
    zero_conf_peers: Vec<PublicKey>,
    inbound_policy: Option<Arc<dyn InboundChannelPolicy>>,
    kv_store: Arc<SqliteStore>,
    seed: [u8; 32],
    /// Bumped on every block and channel event, so waiters re-check without polling.
    changes: watch::Sender<u64>,
    /// Outcomes of this node's outbound payments.
    payments: PaymentTracker,
    /// `user_channel_id`s of opens to fund through the manual-broadcast path.
    manual_broadcast: std::sync::Mutex<std::collections::HashSet<u128>>,
    /// Writes the ChannelManager (shared with the monitor writer, see [`crate::persist`]).
    manager_store: Arc<ManagerStore>,
    /// The chain listener's switch (see `NodeChainListener::active`).
    chain_feed: Arc<std::sync::atomic::AtomicBool>,
}

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
impl NodeCore {
    /// This node's id.
    pub fn node_id(&self) -> PublicKey {
        self.channel_manager.get_our_node_id()
    }

    /// The chain's network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// LDK's KVStore of this node (other LDK components, e.g. lightning-liquidity, keep their
    /// state beside the ChannelManager's).
    pub fn kv_store(&self) -> Arc<SqliteStore> {
        self.kv_store.clone()
    }

    /// Network and current best block, as LDK components built after the node want them.
    pub fn chain_parameters(&self) -> ChainParameters {
        ChainParameters {
            network: self.network,
            best_block: self.channel_manager.current_best_block(),
        }
    }

    /// A broadcaster into this node's chain source.
    pub fn broadcaster(&self) -> Arc<ChainBroadcaster> {
        Arc::new(ChainBroadcaster(self.chain.clone()))
    }

    /// The persisted seed, for deriving other long-lived secrets
    /// ([`crate::seed::derive_secret`]).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// Write the ChannelManager to the KVStore. An app calls this right after an action that
    /// updated a ChannelMonitor (a claim, for instance) when it must not depend on the event
    /// loop's next write: LDK force-closes, at the next start, a channel whose monitor is ahead
    /// of the stored ChannelManager.
    pub fn persist_channel_manager(&self) -> Result<(), NodeError> {
        self.manager_store
            .write(&self.channel_manager)
            .map_err(NodeError::LdkStore)
    }

    /// Write the ChannelManager if it changed since the last write (LDK's "needs persistence");
    /// when this returns, every change made before the call is on disk, whoever wrote it.
    pub fn persist_channel_manager_if_changed(&self) -> Result<(), NodeError> {
        self.manager_store
            .write_if_changed(&self.channel_manager)
            .map(drop)
            .map_err(NodeError::LdkStore)
    }

    /// Open a channel to a connected peer, funded by the wallet when LDK asks for the funding
    /// transaction (the event loop must be running). Returns the temporary channel id and the
    /// `user_channel_id` that LDK's later events carry.
    pub fn open_channel(&self, open: &OpenChannel) -> Result<(ChannelId, u128), NodeError> {
        let balance = self.wallet.balance();
        let available = (balance.confirmed + balance.trusted_pending).to_sat();
        if available < open.amount_sat {
            return Err(NodeError::InsufficientFunds {
                available,
                needed: open.amount_sat,
            });
        }
        let mut config = self.user_config.clone();
        config.channel_handshake_limits.trust_own_funding_0conf = open.zero_conf;
        config.channel_handshake_config.announce_for_forwarding = open.announce;
        if open.scid_alias && !open.announce {
            // Only switched on: a node configured for it keeps it for every open.
            config.channel_handshake_config.negotiate_scid_privacy = true;
        }
        if let Some(max) = open.max_peer_to_self_delay {
            config.channel_handshake_limits.their_to_self_delay =
                u16::try_from(max).unwrap_or(u16::MAX);
        }
        let user_channel_id: u128 = open.user_channel_id.unwrap_or_else(rand::random);
        if open.manual_broadcast
            && let Ok(mut manual) = self.manual_broadcast.lock()
        {
            manual.insert(user_channel_id);
        }
        let channel_id = self
            .channel_manager
            .create_channel(
                open.peer,
                open.amount_sat,
                open.push_msat,
                user_channel_id,
                None,
                Some(config),
            )
            .map_err(NodeError::Api)?;
        Ok((channel_id, user_channel_id))
    }

    /// The largest channel the wallet can fund now, sat: confirmed and trusted pending coins
    /// minus [`FUNDING_FEE_MARGIN_SAT`].
    pub fn fundable_sat(&self) -> u64 {
        let balance = self.wallet.balance();
        (balance.confirmed + balance.trusted_pending)
            .to_sat()
            .saturating_sub(FUNDING_FEE_MARGIN_SAT)
    }

    /// Broadcast the funding transaction of a manual-broadcast channel (see
    /// [`OpenChannel::manual_broadcast`]), found by its txid. `Ok(false)` if this node holds no
    /// such transaction (never funded manually, or already forgotten).
    pub fn broadcast_manual_funding(&self, txid: bitcoin::Txid) -> Result<bool, NodeError> {
        let key = txid.to_string();
        let bytes = match self.kv_store.read(MANUAL_FUNDING_NAMESPACE, "", &key) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(NodeError::LdkStore(e)),
        };
        let tx: Transaction = bitcoin::consensus::deserialize(&bytes).map_err(|e| {
            NodeError::LdkStore(lightning::io::Error::new(
                lightning::io::ErrorKind::InvalidData,
                e.to_string(),
            ))
        })?;
        self.chain.broadcast(&tx);
        Ok(true)
    }

    /// Wait until `done(channels)` holds, re-checking after every block and channel event.
    pub async fn wait_for_channels(&self, done: impl Fn(&[ChannelDetails]) -> bool) {
        let mut changes = self.changes.subscribe();
        loop {
            changes.borrow_and_update();
            if done(&self.channel_manager.list_channels()) {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Wait until the chain feed has delivered a block at `height` or above.
    pub async fn wait_for_height(&self, height: u32) {
        let mut changes = self.changes.subscribe();
        loop {
            changes.borrow_and_update();
            if self.channel_manager.current_best_block().height >= height {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Pay a BOLT11 invoice (`amount_msat` for an invoice without an amount) with LDK's router,
    /// retrying other paths until `timeout`, and wait for the outcome (woken by the payment
    /// events, never by polling). The event loop must be running.
    pub async fn pay_bolt11(
        &self,
        invoice: &Bolt11Invoice,
        amount_msat: Option<u64>,
        timeout: Duration,
    ) -> Result<PaymentOutcome, NodeError> {
        let payment_id = PaymentId(self.keys.get_secure_random_bytes());
        self.channel_manager
            .pay_for_bolt11_invoice(
                invoice,
                payment_id,
                amount_msat,
                RouteParametersConfig::default(),
                Retry::Timeout(timeout),
            )
            .map_err(|e| NodeError::PaymentNotStarted(format!("{e:?}")))?;
        self.wait_for_payment(payment_id, timeout).await
    }

    /// Send one payment along `route` exactly as given (no retries): how a test or the
    /// conformance runner controls the parts of a multi-part payment. `recipient` carries the
    /// payment secret and the total the payee should expect, which may exceed the route's
    /// amount (a first part of several).
    pub async fn pay_route(
        &self,
        route: Route,
        payment_hash: lightning::types::payment::PaymentHash,
        recipient: RecipientOnionFields,
        timeout: Duration,
    ) -> Result<PaymentOutcome, NodeError> {
        let payment_id = PaymentId(self.keys.get_secure_random_bytes());
        self.channel_manager
            .send_payment_with_route(route, payment_hash, recipient, payment_id)
            .map_err(|e| NodeError::PaymentNotStarted(format!("{e:?}")))?;
        self.wait_for_payment(payment_id, timeout).await
    }

    /// Wait for the outcome of `payment_id`, at most `timeout`.
    pub async fn wait_for_payment(
        &self,
        payment_id: PaymentId,
        timeout: Duration,
    ) -> Result<PaymentOutcome, NodeError> {
        let mut changes = self.changes.subscribe();
        let wait = async {
            loop {
                changes.borrow_and_update();
                if let Some(outcome) = self.payments.take(&payment_id) {
                    return Some(outcome);
                }
                if changes.changed().await.is_err() {
                    return None;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(outcome)) => Ok(outcome),
            _ => Err(NodeError::PaymentTimeout(timeout)),
        }
    }
}

/// A node: its core and a PeerManager whose custom messages go to `H`.
pub struct Node<H: CustomMessageHandler + Send + Sync + 'static> {
    core: NodeCore,
    /// LDK's peer manager.
    pub peer_manager: Arc<PeerManager<H>>,
}

impl<H: CustomMessageHandler + Send + Sync + 'static> Deref for Node<H> {
    type Target = NodeCore;

    fn deref(&self) -> &NodeCore {
        &self.core
    }
}

impl<H: CustomMessageHandler + Send + Sync + 'static> Node<H> {
    /// Give `core` its PeerManager, with `custom` answering custom messages.
    pub fn new(core: NodeCore, custom: Arc<H>) -> Arc<Self> {
        let ephemeral: [u8; 32] = core.keys.get_secure_random_bytes();
        let peer_manager = Arc::new(LdkPeerManager::new(
            MessageHandler {
                chan_handler: core.channel_manager.clone(),
                route_handler: Arc::new(IgnoringMessageHandler {}),
                onion_message_handler: Arc::new(IgnoringMessageHandler {}),
                custom_message_handler: custom,
                send_only_message_handler: Arc::new(IgnoringMessageHandler {}),
            },
            since_epoch().as_secs() as u32,
            &ephemeral,
            Arc::new(LdkLogger),
            core.keys.clone(),
        ));
        Arc::new(Self { core, peer_manager })
    }

    /// [`NodeCore::open`] then [`Node::new`].
    pub async fn start(
        config: NodeConfig,
        chain: Arc<dyn ChainSource>,
        custom: Arc<H>,
    ) -> Result<Arc<Self>, NodeError> {
        Ok(Self::new(NodeCore::open(config, chain).await?, custom))
    }

    /// The core (for callers holding an `Arc<Node<H>>` that want the parts).
    pub fn core(&self) -> &NodeCore {
        &self.core
    }

    /// Dial a peer (TCP_NODELAY) and wait until the BOLT8 handshake and `init` are done, at most
    /// `timeout`.
    pub async fn connect(
        &self,
        peer: PublicKey,
        addr: std::net::SocketAddr,
        timeout: Duration,
    ) -> std::io::Result<()> {
        crate::net::connect_outbound(self.peer_manager.clone(), peer, addr).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        // Polled: the ChannelManager's event future has one consumer, the event loop (sharing
        // it steals the loop's wake-ups, see `run_events`).
        loop {
            if self.peer_manager.peer_by_node_id(&peer).is_some() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("BOLT8 connection to {peer} not established"),
                ));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Where LDK state lives in a data dir (see [`crate::kv`]).
pub fn ldk_store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ldk.sqlite")
}

/// Where nodes created before the SQLite store kept their LDK state (LDK's `FilesystemStore`);
/// the next start migrates it into [`ldk_store_path`].
pub fn legacy_ldk_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("ldk")
}

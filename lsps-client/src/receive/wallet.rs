//! A JIT-receiving wallet on the workspace's node kit (`lsps-node`): one LDK node whose
//! PeerManager carries both the LSPS messages ([`LspLink`]) and the channel, the
//! [`JitChannelPolicy`] deciding inbound channels, and the [`check_claimable`] skim check run
//! on every `PaymentClaimable` before the preimage is released. `lsps lsps2 receive` is a thin
//! shell over this.
//!
//! Each purchase is written to `<data dir>/lsps2-receive/<payment hash>.json` before its
//! invoice is returned, so a restarted wallet still checks the skim of a payment that arrives
//! later (and never claims a JIT payment unchecked).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::bolt11_invoice::{Bolt11Invoice, Currency};
use lightning::chain::transaction::OutPoint;
use lightning::events::{Event, ReplayEvent};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA;
use lightning::types::payment::PaymentHash;
use lightning::util::config::UserConfig;
use lsps_core::lsps1;
use lsps_core::lsps2::{BuyResult, OpeningFeeParams};
use lsps_core::types::Msat;
use lsps_core::types::Outpoint;
use lsps_node::chain::ChainSource;
use lsps_node::{Node, NodeConfig, NodeCore};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::JitPurchase;
use super::invoice::{InvoiceError, InvoiceTerms, jit_invoice};
use super::link::LspLink;
use super::policy::{JitChannelPolicy, StrangerChannels};
use super::skim::check_claimable;
use crate::transport::bolt8::{Bolt8Target, RawMessageHandler};
use crate::{BuyLimits, ClientError, LspsClient};

/// The wallet's LDK node: the kit's node with the LSPS link as its 37913 handler.
pub type WalletNode = Node<RawMessageHandler<LspLink>>;

/// LDK settings of a JIT-receiving wallet: inbound channels decided by the policy, and HTLCs
/// up to the whole channel in flight (the first payment fills most of the JIT channel).
pub fn wallet_user_config() -> UserConfig {
    let mut config = UserConfig {
        manually_accept_inbound_channels: true,
        ..UserConfig::default()
    };
    config
        .channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
    config
}

/// How to start a [`JitWallet`].
#[derive(Clone)]
pub struct WalletConfig {
    /// The node's data dir (seed, LDK state, wallet, pending receives).
    pub data_dir: PathBuf,
    /// The LSP.
    pub lsp: Bolt8Target,
    /// The chain the node follows.
    pub chain: Arc<dyn ChainSource>,
    /// TCP + BOLT8 handshake bound.
    pub connect_timeout: Duration,
    /// Per-request LSPS timeout.
    pub request_timeout: Duration,
    /// Channels from peers other than the LSP of a live purchase.
    pub strangers: StrangerChannels,
}

/// Why the wallet could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The node could not start.
    #[error("node: {0}")]
    Node(#[from] lsps_node::NodeError),
    /// The LSP could not be reached.
    #[error("cannot reach the LSP {target}: {source}")]
    Unreachable {
        /// The LSP.
        target: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An LSPS call failed (LSP error, client-side check, timeout).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The chosen menu entry does not exist.
    #[error("menu index {index}: the menu has {len} entries")]
    NoSuchOffer {
        /// Asked for.
        index: usize,
        /// Offered.
        len: usize,
    },
    /// The invoice could not be made.
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    /// LDK could not create the inbound payment.
    #[error("LDK refused to create the inbound payment")]
    InboundPayment,
    /// The pending-receive record could not be written.
    #[error("writing {path}: {source}")]
    Store {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A JIT payment received and claimed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The payment hash.
    pub payment_hash: PaymentHash,
    /// What the wallet received.
    pub received_msat: Msat,
    /// What the LSP skimmed (the opening fee it took).
    pub skimmed_fee_msat: Msat,
    /// The opening fee promised for this payment.
    pub promised_opening_fee_msat: Msat,
    /// The JIT channel (hex channel id).
    pub channel_id: String,
}

/// How a receive ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentOutcome {
    /// Checked and claimed.
    Received(Received),
    /// Failed back: why.
    FailedBack(String),
    /// Nothing arrived in time.
    TimedOut,
}

/// A purchase as written to disk (node ids as hex: the wallet's `bitcoin` has no serde).
#[derive(Serialize, Deserialize)]
struct PurchaseRecord {
    lsp: String,
    params: OpeningFeeParams,
    payment_size_msat: Option<Msat>,
    buy: BuyResult,
}

impl PurchaseRecord {
    fn of(purchase: &JitPurchase) -> Self {
        Self {
            lsp: purchase.lsp.to_string(),
            params: purchase.params.clone(),
            payment_size_msat: purchase.payment_size_msat,
            buy: purchase.buy.clone(),
        }
    }

    fn purchase(self) -> Option<JitPurchase> {
        Some(JitPurchase {
            lsp: self.lsp.parse().ok()?,
            params: self.params,
            payment_size_msat: self.payment_size_msat,
            buy: self.buy,
        })
    }
}

#[derive(Default)]
struct ReceiveState {
    pending: HashMap<PaymentHash, JitPurchase>,
    claiming: HashMap<PaymentHash, Received>,
    outcomes: HashMap<PaymentHash, PaymentOutcome>,
}

struct Receives {
    state: Mutex<ReceiveState>,
    changed: watch::Sender<u64>,
    dir: PathBuf,
    /// Told when a purchase is over, so its channel is no longer expected.
    policy: Arc<JitChannelPolicy>,
}

impl Receives {
    fn record_path(&self, hash: &PaymentHash) -> PathBuf {
        self.dir.join(format!("{}.json", hex::encode(hash.0)))
    }

    fn settle(&self, hash: PaymentHash, outcome: PaymentOutcome) {
        if let Ok(mut state) = self.state.lock() {
            if let Some(purchase) = state.pending.remove(&hash) {
                self.policy.settled(purchase.buy.jit_channel_scid);
            }
            state.claiming.remove(&hash);
            // Bounded: a long-running wallet keeps the last outcomes only.
            if state.outcomes.len() >= 1024 {
                state.outcomes.clear();
            }
            state.outcomes.insert(hash, outcome);
        }
        // Settled: the record is no longer needed (LDK has the claim persisted).
        let _ = std::fs::remove_file(self.record_path(&hash));
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The skim check and claim (or fail back), run inside LDK's event handling.
    fn on_event(&self, node: &NodeCore, event: &Event) {
        match event {
            Event::PaymentClaimable {
                payment_hash,
                amount_msat,
                counterparty_skimmed_fee_msat,
                purpose,
                receiving_channel_ids,
                ..
            } => {
                let purchase = self
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.pending.get(payment_hash).cloned());
                let Some(purchase) = purchase else {
                    // Not one of our JIT invoices (or already settled): nothing to claim.
                    tracing::warn!(payment_hash = %payment_hash, "unexpected payment; failing it back");
                    node.channel_manager.fail_htlc_backwards(payment_hash);
                    return;
                };
                let checked =
                    check_claimable(&purchase, *amount_msat, *counterparty_skimmed_fee_msat);
                match (checked, purpose.preimage()) {
                    (Ok(approved), Some(preimage)) => {
                        let channel_id = receiving_channel_ids
                            .first()
                            .map(|(id, _)| id.to_string())
                            .unwrap_or_default();
                        if let Ok(mut state) = self.state.lock() {
                            state.claiming.insert(
                                *payment_hash,
                                Received {
                                    payment_hash: *payment_hash,
                                    received_msat: approved.received_msat,
                                    skimmed_fee_msat: approved.skimmed_fee_msat,
                                    promised_opening_fee_msat: approved.opening_fee_msat,
                                    channel_id,
                                },
                            );
                        }
                        node.channel_manager.claim_funds(preimage);
                    }
                    (Ok(_), None) => {
                        node.channel_manager.fail_htlc_backwards(payment_hash);
                        self.settle(
                            *payment_hash,
                            PaymentOutcome::FailedBack("no preimage known for the payment".into()),
                        );
                    }
                    (Err(violation), _) => {
                        tracing::warn!(payment_hash = %payment_hash, "failing back: {violation}");
                        node.channel_manager.fail_htlc_backwards(payment_hash);
                        self.settle(
                            *payment_hash,
                            PaymentOutcome::FailedBack(violation.to_string()),
                        );
                    }
                }
            }
            Event::PaymentClaimed { payment_hash, .. } => {
                let received = self
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.claiming.get(payment_hash).cloned());
                if let Some(received) = received {
                    self.settle(*payment_hash, PaymentOutcome::Received(received));
                }
            }
            _ => {}
        }
    }
}

/// A wallet node that buys JIT channels from one LSP and receives through them.
pub struct JitWallet {
    node: Arc<WalletNode>,
    link: Arc<LspLink>,
    client: LspsClient,
    policy: Arc<JitChannelPolicy>,
    receives: Arc<Receives>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for JitWallet {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for task in &self.tasks {
            task.abort();
        }
        self.node.peer_manager.disconnect_all_peers();
    }
}

impl JitWallet {
    /// Opens the node in `config.data_dir` on `config.chain`, starts its event loop, and
    /// connects to the LSP (reconnecting whenever the session drops).
    pub async fn start(config: WalletConfig) -> Result<Self, WalletError> {
        let link = LspLink::new(config.lsp.node_id, config.lsp.to_string());
        let policy = Arc::new(JitChannelPolicy::new(config.strangers, 144));
        let node_config = NodeConfig {
            user_config: wallet_user_config(),
            inbound_policy: Some(policy.clone()),
            ..NodeConfig::new(&config.data_dir)
        };
        let core = NodeCore::open(node_config, config.chain.clone()).await?;
        let node = Node::new(core, Arc::new(RawMessageHandler::new(link.clone())));
        let peers = Arc::downgrade(&node.peer_manager);
        link.set_flush(Arc::new(move || {
            if let Some(peers) = peers.upgrade() {
                peers.process_events();
            }
        }));

        let receives = Arc::new(Receives {
            state: Mutex::new(ReceiveState::default()),
            changed: watch::channel(0).0,
            dir: config.data_dir.join("lsps2-receive"),
            policy: policy.clone(),
        });
        for purchase in load_pending(&receives.dir) {
            policy.expect(&purchase.1);
            if let Ok(mut state) = receives.state.lock() {
                state.pending.insert(purchase.0, purchase.1);
            }
        }

        let (stop, stop_rx) = watch::channel(false);
        let on_event = {
            let receives = receives.clone();
            let node = Arc::downgrade(&node);
            move |event: &Event| -> Result<(), ReplayEvent> {
                if let Some(node) = node.upgrade() {
                    receives.on_event(node.core(), event);
                }
                Ok(())
            }
        };
        let mut tasks = vec![tokio::spawn(
            node.clone().run_events(stop_rx.clone(), on_event),
        )];

        let addr = resolve(&config.lsp).await?;
        // Retried within the connect timeout: an LDK LSP refuses a second session for our node
        // id until it has noticed the previous one close (a wallet restarted at once).
        let deadline = tokio::time::Instant::now() + config.connect_timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match node.connect(config.lsp.node_id, addr, left).await {
                Ok(()) => break,
                Err(_) if left > Duration::from_millis(200) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(source) => {
                    return Err(WalletError::Unreachable {
                        target: config.lsp.to_string(),
                        source,
                    });
                }
            }
        }
        tasks.push(tokio::spawn(keep_connected(
            node.clone(),
            link.clone(),
            addr,
            config.connect_timeout,
            stop_rx,
        )));
        let client = LspsClient::from_arc(link.clone()).with_timeout(config.request_timeout);
        Ok(Self {
            node,
            link,
            client,
            policy,
            receives,
            stop,
            tasks,
        })
    }

    /// The node.
    pub fn node(&self) -> &Arc<WalletNode> {
        &self.node
    }

    /// This wallet's node id (the identity the LSP sees for LSPS and the channel).
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// The LSPS client over the node's PeerManager.
    pub fn client(&self) -> &LspsClient {
        &self.client
    }

    /// The channel policy (already expecting every purchase made through [`JitWallet::buy`]).
    pub fn policy(&self) -> &JitChannelPolicy {
        &self.policy
    }

    /// `lsps2.get_info` then `lsps2.buy` of menu entry `menu_index`, with every client check;
    /// the purchase's channel is expected from then on.
    pub async fn buy(
        &self,
        token: Option<String>,
        menu_index: usize,
        payment_size_msat: Option<Msat>,
        limits: &BuyLimits,
    ) -> Result<JitPurchase, WalletError> {
        let menu = self.client.lsps2_get_info(token).await?;
        let offer = menu
            .offers
            .get(menu_index)
            .ok_or(WalletError::NoSuchOffer {
                index: menu_index,
                len: menu.offers.len(),
            })?;
        let outcome = self
            .client
            .lsps2_buy(offer, payment_size_msat, limits)
            .await?;
        let purchase = JitPurchase::new(self.link.lsp(), offer, payment_size_msat, &outcome);
        self.policy.expect(&purchase);
        Ok(purchase)
    }

    /// The invoice for `purchase` (bLIP-52's rules, signed with the node key); the purchase is
    /// persisted before the invoice is returned.
    pub fn invoice(
        &self,
        purchase: &JitPurchase,
        description: &str,
        expiry: Duration,
    ) -> Result<Bolt11Invoice, WalletError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let valid_for = Duration::from_millis(
            purchase
                .params
                .valid_until
                .unix_millis()
                .saturating_sub(u64::try_from(now.as_millis()).unwrap_or(u64::MAX)),
        );
        let secs = u32::try_from(expiry.min(valid_for).as_secs()).unwrap_or(u32::MAX);
        let (payment_hash, payment_secret) = self
            .node
            .channel_manager
            .create_inbound_payment(
                purchase.payment_size_msat.map(Msat::get),
                secs,
                Some(MIN_FINAL_CLTV_EXPIRY_DELTA),
            )
            .map_err(|()| WalletError::InboundPayment)?;
        let terms = InvoiceTerms {
            payment_hash,
            payment_secret,
            description: description.to_owned(),
            enforced_min_final_cltv_expiry_delta: MIN_FINAL_CLTV_EXPIRY_DELTA,
            confirmations_before_claim: 0,
            expiry,
            now,
            currency: Currency::from(self.node.network()),
        };
        let invoice = jit_invoice(purchase, &terms, &*self.node.keys)?;
        self.persist(&payment_hash, purchase)?;
        if let Ok(mut state) = self.receives.state.lock() {
            state.pending.insert(payment_hash, purchase.clone());
        }
        Ok(invoice)
    }

    fn persist(&self, hash: &PaymentHash, purchase: &JitPurchase) -> Result<(), WalletError> {
        let dir = &self.receives.dir;
        let store_err = |path: &Path| {
            let path = path.to_owned();
            move |source| WalletError::Store { path, source }
        };
        std::fs::create_dir_all(dir).map_err(store_err(dir))?;
        let path = self.receives.record_path(hash);
        let temp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&PurchaseRecord::of(purchase))
            .map_err(|e| std::io::Error::other(e.to_string()))
            .map_err(store_err(&path))?;
        std::fs::write(&temp, bytes).map_err(store_err(&temp))?;
        std::fs::rename(&temp, &path).map_err(store_err(&path))
    }

    /// Waits at most `timeout` for the payment `hash` to be claimed or failed back.
    pub async fn wait_for_payment(&self, hash: PaymentHash, timeout: Duration) -> PaymentOutcome {
        let mut changed = self.receives.changed.subscribe();
        let wait = async {
            loop {
                changed.borrow_and_update();
                if let Some(outcome) = self
                    .receives
                    .state
                    .lock()
                    .ok()
                    .and_then(|s| s.outcomes.get(&hash).cloned())
                {
                    return outcome;
                }
                if changed.changed().await.is_err() {
                    return PaymentOutcome::TimedOut;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(PaymentOutcome::TimedOut)
    }

    /// After a claim: waits at most `timeout` until no channel carries an HTLC of `hash` any
    /// more, i.e. the LSP has the preimage and the commitments no longer hold the HTLC. A node
    /// that stops before then leaves the payer waiting until it comes back. LDK raises no event
    /// for that moment, so the channels are re-read every 20 ms. Returns whether it happened.
    pub async fn wait_settled(&self, hash: PaymentHash, timeout: Duration) -> bool {
        let manager = &self.node.channel_manager;
        let settled = || {
            manager.list_channels().iter().all(|c| {
                c.pending_inbound_htlcs
                    .iter()
                    .all(|h| h.payment_hash != hash)
            })
        };
        tokio::time::timeout(timeout, async {
            while !settled() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok()
    }

    /// LSPS1 over the node's identity: `lsps1.get_info`, then the request `build` makes from
    /// the options, sent with `lsps1.create_order` and checked against them (bLIP-51: the
    /// client MUST call `get_info` first). From then on the policy takes the order's channel
    /// from the LSP, announced as ordered and usable after the ordered confirmations.
    pub async fn create_order(
        &self,
        build: impl FnOnce(&lsps1::GetInfoResult) -> lsps1::CreateOrderRequest,
    ) -> Result<lsps1::OrderResult, WalletError> {
        let options = self.client.lsps1_get_info().await?;
        let request = build(&options);
        let lsp = self.link.lsp();
        // Expected before the order exists: the LSP may open as soon as it is paid.
        self.policy.expect_order(
            lsp,
            request.order.required_channel_confirmations,
            request.order.announce_channel,
        );
        match self
            .client
            .lsps1_create_order(request, Some(&options))
            .await
        {
            Ok(order) => Ok(order),
            Err(e) => {
                self.policy.forget_order(&lsp);
                Err(e.into())
            }
        }
    }

    /// Waits at most `timeout` until this node has a usable channel from the LSP funded by
    /// `funding` (an LSPS1 order's `channel.funding_outpoint`). LDK raises no event for
    /// "usable", so the channels are re-read every 20 ms.
    pub async fn wait_channel_usable(
        &self,
        funding: &Outpoint,
        timeout: Duration,
    ) -> Option<ChannelDetails> {
        let lsp = self.link.lsp();
        let funding = OutPoint {
            txid: funding.txid.0,
            index: funding.vout,
        };
        let find = || {
            self.node
                .channel_manager
                .list_usable_channels()
                .into_iter()
                .find(|c| c.counterparty.node_id == lsp && c.funding_txo == Some(funding))
        };
        tokio::time::timeout(timeout, async {
            loop {
                if let Some(channel) = find() {
                    return channel;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .ok()
    }

    /// Stops the node and waits until its event loop has persisted the ChannelManager, so the
    /// data dir can be reopened at once.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let mut tasks = std::mem::take(&mut self.tasks).into_iter();
        if let Some(events) = tasks.next() {
            let _ = events.await;
        }
        for task in tasks {
            task.abort();
        }
    }

    /// Stops the event loop and disconnects (also done on drop).
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        self.node.peer_manager.disconnect_all_peers();
    }
}

fn load_pending(dir: &Path) -> Vec<(PaymentHash, JitPurchase)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let hash: [u8; 32] = hex::decode(name.strip_suffix(".json")?)
                .ok()?
                .try_into()
                .ok()?;
            let record: PurchaseRecord =
                serde_json::from_slice(&std::fs::read(entry.path()).ok()?).ok()?;
            Some((PaymentHash(hash), record.purchase()?))
        })
        .collect()
}

async fn resolve(target: &Bolt8Target) -> Result<std::net::SocketAddr, WalletError> {
    let unreachable = |source| WalletError::Unreachable {
        target: target.to_string(),
        source,
    };
    tokio::net::lookup_host(&target.host_port)
        .await
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| unreachable(std::io::Error::other("no address")))
}

/// Redials the LSP whenever the session drops (the LSP opens the JIT channel over it), with a
/// backoff up to 5 s, until `stop`.
async fn keep_connected(
    node: Arc<WalletNode>,
    link: Arc<LspLink>,
    addr: std::net::SocketAddr,
    timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut pause = Duration::from_millis(100);
    let mut up = link_up(&link);
    loop {
        tokio::select! {
            _ = up.wait_for(|up| !*up) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match node.connect(link.lsp(), addr, timeout).await {
            Ok(()) => pause = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!("reconnecting to the LSP: {e}");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => return,
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn link_up(link: &LspLink) -> watch::Receiver<bool> {
    link.subscribe_up()
}

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
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::bolt11_invoice::{Bolt11Invoice, Currency, InvoiceBuilder};
use lightning::events::{Event, ReplayEvent};
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{RouteHint, RouteHintHop};
use lightning::types::payment::PaymentPreimage;
use lightning::util::config::UserConfig;
use lightning_liquidity::LiquidityClientConfig;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::event::LSPS0ClientEvent;
use lightning_liquidity::lsps0::ser::{LSPSRequestId, LSPSResponseError};
use lightning_liquidity::lsps2::client::LSPS2ClientConfig;
use lightning_liquidity::lsps2::event::LSPS2ClientEvent;
use lightning_liquidity::lsps2::msgs::LSPS2OpeningFeeParams;
use lsps_node::chain::ChainSource;
use lsps_node::{InboundChannelPolicy, InboundChannelRequest, InboundDecision, NodeConfig};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::ldk_node::{
    LdkNode, NodeError, build_node, build_node_on, connect_nodelay, message_pump,
};

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

/// The liquidity configuration of an LSPS2-only client.
fn lsps2_only() -> LiquidityClientConfig {
    LiquidityClientConfig {
        lsps1_client_config: None,
        lsps2_client_config: Some(LSPS2ClientConfig {}),
        lsps5_client_config: None,
    }
}

/// A connected LDK LSPS client node.
pub struct LdkClient {
    node: Arc<LdkNode>,
    lsp: PublicKey,
    waiters: Arc<Mutex<Waiters>>,
    timeout: Duration,
    tasks: Vec<JoinHandle<()>>,
    receiving: Option<Receiving>,
}

impl LdkClient {
    /// Builds a client node with a random key and connects it to `lsp_node_id` at `addr`.
    pub async fn connect(lsp_node_id: PublicKey, addr: SocketAddr) -> Result<Self, LdkClientError> {
        let client_config = lsps2_only();
        let node = Arc::new(build_node(UserConfig::default(), None, Some(client_config)).await?);
        let events = node.spawn_events();
        Self::start(node, events, None, lsp_node_id, addr).await
    }

    /// Runs `node`'s message pump and event loop beside its `events` task, connects it to the
    /// LSP and waits for the connection.
    async fn start(
        node: Arc<LdkNode>,
        events: JoinHandle<()>,
        receiving: Option<Receiving>,
        lsp_node_id: PublicKey,
        addr: SocketAddr,
    ) -> Result<Self, LdkClientError> {
        let waiters = Arc::new(Mutex::new(Waiters::default()));
        let tasks = vec![
            events,
            tokio::spawn(message_pump(Arc::clone(&node))),
            tokio::spawn(event_loop(Arc::clone(&node), Arc::clone(&waiters))),
        ];
        let client = Self {
            node,
            lsp: lsp_node_id,
            waiters,
            timeout: Duration::from_secs(10),
            tasks,
            receiving,
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

    // The socket driver gives no completion signal for the handshake; the PeerManager lists
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

/// What the receiving client does when the LSP opens a channel to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelPolicy {
    /// Accept with zero confirmations (the LSP is the only zero-conf peer).
    Accept,
    /// Refuse: answer the `open_channel` with an error (bLIP-52's "client rejects").
    Reject,
    /// Drop the connection before `funding_signed` (bLIP-52's "client disconnects").
    Disconnect,
}

impl ChannelPolicy {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Reject,
            2 => Self::Disconnect,
            _ => Self::Accept,
        }
    }
}

/// A payment that reached the receiving client (claimed or failed back by its check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The payment hash.
    pub payment_hash: [u8; 32],
    /// What the client received.
    pub amount_msat: u64,
    /// What the LSP skimmed (the `extra_fee` TLVs).
    pub skimmed_fee_msat: u64,
    /// The most the LSP may skim for this payment (the promised opening fee).
    pub promised_fee_msat: u64,
    /// Claimed (skim within the promise) or failed back.
    pub claimed: bool,
}

/// What the client expects of a payment to an invoice it made.
#[derive(Clone)]
struct Expected {
    params: LSPS2OpeningFeeParams,
    payment_size_msat: Option<u64>,
}

#[derive(Default)]
struct Receiver {
    expected: Mutex<HashMap<[u8; 32], Expected>>,
    received: Mutex<Vec<Received>>,
    changed: Option<watch::Sender<u64>>,
}

impl Receiver {
    fn record(&self, received: Received) {
        if let Ok(mut list) = self.received.lock() {
            list.push(received);
        }
        if let Some(changed) = &self.changed {
            changed.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// The promised opening fee for a payment of `size_msat` (bLIP-52's formula, lsps-core's).
fn promised_fee(params: &LSPS2OpeningFeeParams, size_msat: u64) -> u64 {
    lsps_core::lsps2::opening_fee(
        lsps_core::types::Msat(size_msat),
        lsps_core::types::Msat(params.min_fee_msat),
        lsps_core::types::Ppm(params.proportional),
    )
    .map_or(u64::MAX, |fee| fee.get())
}

/// The receiving client's reactions to its node's events: the channel policy on the LSP's
/// open, and on `PaymentClaimable` the skim check before claiming.
fn receiver_events(
    node: &LdkNode,
    policy: Arc<AtomicU8>,
    receiver: Arc<Receiver>,
) -> impl Fn(&Event) -> Result<(), ReplayEvent> + Send + Sync + 'static {
    let channel_manager = node.channel_manager.clone();
    let peer_manager = node.peer_manager.clone();
    move |event| {
        match event {
            Event::OpenChannelRequest {
                counterparty_node_id,
                ..
            } => match ChannelPolicy::from_u8(policy.load(Ordering::Relaxed)) {
                // The kit's inbound policy ([`ClientPolicy`]) accepted it (zero-conf from the
                // LSP) or refused it.
                ChannelPolicy::Accept | ChannelPolicy::Reject => {}
                ChannelPolicy::Disconnect => {
                    peer_manager.disconnect_by_node_id(*counterparty_node_id);
                }
            },
            Event::PaymentClaimable {
                payment_hash,
                amount_msat,
                counterparty_skimmed_fee_msat,
                purpose,
                ..
            } => {
                let expected = receiver
                    .expected
                    .lock()
                    .ok()
                    .and_then(|e| e.get(&payment_hash.0).cloned());
                let preimage: Option<PaymentPreimage> = purpose.preimage();
                let total = amount_msat.saturating_add(*counterparty_skimmed_fee_msat);
                let promised = expected.as_ref().map_or(0, |e| {
                    promised_fee(&e.params, e.payment_size_msat.unwrap_or(total))
                });
                // bLIP-52: the client checks the skim against the promised opening fee before
                // it claims.
                let claimed = match (expected, preimage) {
                    (Some(_), Some(preimage)) if *counterparty_skimmed_fee_msat <= promised => {
                        channel_manager.claim_funds(preimage);
                        true
                    }
                    _ => {
                        channel_manager.fail_htlc_backwards(payment_hash);
                        false
                    }
                };
                receiver.record(Received {
                    payment_hash: payment_hash.0,
                    amount_msat: *amount_msat,
                    skimmed_fee_msat: *counterparty_skimmed_fee_msat,
                    promised_fee_msat: promised,
                    claimed,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// The receiving client's inbound channel policy: zero-conf from its LSP only (others wait
/// for confirmations), or a refusal when the test's [`ChannelPolicy`] says so.
#[derive(Debug)]
struct ClientPolicy {
    lsp: PublicKey,
    policy: Arc<AtomicU8>,
}

impl InboundChannelPolicy for ClientPolicy {
    fn decide(&self, request: &InboundChannelRequest<'_>) -> InboundDecision {
        if request.counterparty != self.lsp {
            return InboundDecision::Accept {
                zero_conf: false,
                overrides: None,
            };
        }
        match ChannelPolicy::from_u8(self.policy.load(Ordering::Relaxed)) {
            ChannelPolicy::Reject => InboundDecision::Reject {
                reason: "JIT channel refused by the client".to_owned(),
            },
            ChannelPolicy::Accept | ChannelPolicy::Disconnect => InboundDecision::Accept {
                zero_conf: true,
                overrides: None,
            },
        }
    }
}

/// The receiving side of a [`LdkClient`] built with [`LdkClient::connect_receiver`].
struct Receiving {
    policy: Arc<AtomicU8>,
    receiver: Arc<Receiver>,
    changes: watch::Receiver<u64>,
}

impl LdkClient {
    /// A client that can also receive through a JIT channel: a node on `chain` (the LSP's
    /// chain) that accepts zero-conf channels from the LSP only, accepts HTLCs that pay less
    /// than the onion says (the LSP's skim) and checks the skim against the promised fee
    /// before claiming; connected to `lsp_node_id` at `addr`.
    pub async fn connect_receiver(
        lsp_node_id: PublicKey,
        addr: SocketAddr,
        chain: Arc<dyn ChainSource>,
    ) -> Result<Self, LdkClientError> {
        let client_config = lsps2_only();
        let mut user_config = UserConfig::default();
        user_config.channel_config.accept_underpaying_htlcs = true;
        // The whole payment arrives in one channel sized for it.
        user_config
            .channel_handshake_config
            .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
        let policy = Arc::new(AtomicU8::new(0));
        let config = NodeConfig {
            user_config,
            inbound_policy: Some(Arc::new(ClientPolicy {
                lsp: lsp_node_id,
                policy: policy.clone(),
            })),
            ..NodeConfig::new("")
        };
        let node = Arc::new(build_node_on(chain, config, None, Some(client_config)).await?);
        let (changed, changes) = watch::channel(0u64);
        let receiver = Arc::new(Receiver {
            changed: Some(changed),
            ..Receiver::default()
        });
        let events =
            node.spawn_events_with(receiver_events(&node, policy.clone(), receiver.clone()));
        let receiving = Receiving {
            policy,
            receiver,
            changes,
        };
        Self::start(node, events, Some(receiving), lsp_node_id, addr).await
    }

    /// The node under the client (channels, peer manager).
    pub fn node(&self) -> &Arc<LdkNode> {
        &self.node
    }

    /// What to do with the LSP's next channel opens (receivers only).
    pub fn set_channel_policy(&self, policy: ChannelPolicy) {
        if let Some(r) = &self.receiving {
            let v = match policy {
                ChannelPolicy::Accept => 0,
                ChannelPolicy::Reject => 1,
                ChannelPolicy::Disconnect => 2,
            };
            r.policy.store(v, Ordering::Relaxed);
        }
    }

    /// The invoice bLIP-52 asks of a JIT client: a route hint LSP → `jit_channel_scid` with
    /// `lsp_cltv_expiry_delta` and no fee; `amount_msat` is the payment size in MPP mode
    /// (`payment_size_msat` bought) and the payer's choice otherwise. The payment it receives
    /// is claimed only if the LSP skims at most the fee `params` promise.
    pub fn lsps2_invoice(
        &self,
        buy: &BuyOutcome,
        params: &LSPS2OpeningFeeParams,
        payment_size_msat: Option<u64>,
        amount_msat: Option<u64>,
    ) -> Result<Bolt11Invoice, LdkClientError> {
        let receiving = self
            .receiving
            .as_ref()
            .ok_or_else(|| LdkClientError::Api("not a receiving client".into()))?;
        let cltv_delta = u16::try_from(buy.cltv_expiry_delta)
            .map_err(|_| LdkClientError::Api("lsp_cltv_expiry_delta above 65535".into()))?;
        // bLIP-52: the final CLTV delta of a JIT invoice leaves the LSP 2 blocks more.
        let min_final = lightning::ln::channelmanager::MIN_FINAL_CLTV_EXPIRY_DELTA + 2;
        let (payment_hash, payment_secret) = self
            .node
            .channel_manager
            .create_inbound_payment(amount_msat, 3600, Some(min_final))
            .map_err(|()| LdkClientError::Api("create_inbound_payment".into()))?;
        let hint = RouteHint(vec![RouteHintHop {
            src_node_id: self.lsp,
            short_channel_id: buy.intercept_scid,
            fees: RoutingFees {
                base_msat: 0,
                proportional_millionths: 0,
            },
            cltv_expiry_delta: cltv_delta,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
        }]);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut builder = InvoiceBuilder::new(Currency::Regtest)
            .description("JIT channel payment".into())
            .payment_hash(
                <bitcoin::hashes::sha256::Hash as bitcoin::hashes::Hash>::from_byte_array(
                    payment_hash.0,
                ),
            )
            .payment_secret(payment_secret)
            .duration_since_epoch(now)
            .min_final_cltv_expiry_delta(u64::from(min_final))
            .private_route(hint)
            .basic_mpp();
        if let Some(amount) = amount_msat {
            builder = builder.amount_milli_satoshis(amount);
        }
        let secret = self.node.keys.get_node_secret_key();
        let invoice = builder
            .build_signed(|hash| {
                bitcoin::secp256k1::Secp256k1::new().sign_ecdsa_recoverable(hash, &secret)
            })
            .map_err(|e| LdkClientError::Api(format!("invoice: {e}")))?;
        if let Ok(mut expected) = receiving.receiver.expected.lock() {
            expected.insert(
                payment_hash.0,
                Expected {
                    params: params.clone(),
                    payment_size_msat,
                },
            );
        }
        Ok(invoice)
    }

    /// Wait (at most `timeout`) until a payment with `payment_hash` reached the client.
    pub async fn wait_received(
        &self,
        payment_hash: [u8; 32],
        timeout: Duration,
    ) -> Result<Received, LdkClientError> {
        let receiving = self
            .receiving
            .as_ref()
            .ok_or_else(|| LdkClientError::Api("not a receiving client".into()))?;
        let mut changes = receiving.changes.clone();
        let wait = async {
            loop {
                changes.borrow_and_update();
                let found = receiving.receiver.received.lock().ok().and_then(|list| {
                    list.iter()
                        .find(|r| r.payment_hash == payment_hash)
                        .cloned()
                });
                if let Some(found) = found {
                    return Ok(found);
                }
                if changes.changed().await.is_err() {
                    return Err(LdkClientError::Stopped);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| LdkClientError::Timeout(timeout))?
    }

    /// Every payment that reached the client so far.
    pub fn received(&self) -> Vec<Received> {
        self.receiving
            .as_ref()
            .and_then(|r| r.receiver.received.lock().ok().map(|l| l.clone()))
            .unwrap_or_default()
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

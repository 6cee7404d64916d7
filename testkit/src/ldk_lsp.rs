//! An in-process LDK 0.2.7 node running lightning-liquidity 0.2.7's LSPS0 + LSPS2 *service*
//! on 127.0.0.1, on its own in-memory dev chain or a given one (no bitcoind).
//!
//! `lsps2.get_info` is answered with the configured menu (two entries by default, `valid_until`
//! computed at answer time), `lsps2.buy` with a fresh intercept SCID from the ChannelManager.
//!
//! It performs JIT opens the way an LSP built on lightning-liquidity does: LDK's
//! `HTLCIntercepted`, `ChannelReady`, `PaymentForwarded` and `HTLCHandlingFailed` go to the
//! service handler; its `OpenChannel` event opens a zero-conf, unannounced channel with
//! `option_scid_alias` to the client through the node kit (funded by the kit's wallet: fund it
//! first, e.g. by mining to `node().wallet.new_address()` on a shared [`DevChain`]); the service
//! then forwards the parts minus the opening fee. Trust model: `client_trusts_lsp = false` only
//! (the funding is broadcast at once).
//!
//! [`DevChain`]: lsps_node::chain::DevChain
//! LSPS1 is not offered: lightning-liquidity 0.2.7 compiles its LSPS1 service only with
//! `--cfg lsps1_service`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), testkit::ldk_node::NodeError> {
//! let lsp = testkit::ldk_lsp::LdkLsp::start(Default::default()).await?;
//! println!("{}@{}", lsp.node_id(), lsp.addr());
//! lsp.shutdown();
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::events::Event;
use lightning::util::config::UserConfig;
use lightning_liquidity::LiquidityServiceConfig;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps2::event::LSPS2ServiceEvent;
use lightning_liquidity::lsps2::msgs::LSPS2RawOpeningFeeParams;
use lightning_liquidity::lsps2::service::LSPS2ServiceConfig;
use lsps_node::chain::{ChainSource, DevChain};
use lsps_node::{NodeConfig, OpenChannel};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::ldk_node::{LdkNode, NodeError, accept_inbound, build_node_on, message_pump};

/// One entry of the fee menu the LSP offers; `valid_until` is `now + validity` at answer time.
#[derive(Clone, Debug)]
pub struct FeeMenuEntry {
    /// `min_fee_msat`.
    pub min_fee_msat: u64,
    /// `proportional` (ppm).
    pub proportional: u32,
    /// How long the offer stays valid after it is sent.
    pub validity: Duration,
    /// `min_lifetime` (blocks).
    pub min_lifetime: u32,
    /// `max_client_to_self_delay` (blocks).
    pub max_client_to_self_delay: u32,
    /// `min_payment_size_msat`.
    pub min_payment_size_msat: u64,
    /// `max_payment_size_msat`.
    pub max_payment_size_msat: u64,
}

/// The default two-entry menu (in the order LSPS2 requires: both fees rise).
pub fn default_menu() -> Vec<FeeMenuEntry> {
    vec![
        FeeMenuEntry {
            min_fee_msat: 5_000,
            proportional: 2_000,
            validity: Duration::from_secs(3600),
            min_lifetime: 1008,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: 1_000_000,
            max_payment_size_msat: 1_000_000_000,
        },
        FeeMenuEntry {
            min_fee_msat: 10_000,
            proportional: 4_000,
            validity: Duration::from_secs(7200),
            min_lifetime: 2016,
            max_client_to_self_delay: 2016,
            min_payment_size_msat: 1_000_000,
            max_payment_size_msat: 5_000_000_000,
        },
    ]
}

/// Configuration of [`LdkLsp`].
#[derive(Clone, Debug)]
pub struct LdkLspConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The fee menu answered to `lsps2.get_info`.
    pub menu: Vec<FeeMenuEntry>,
    /// Secret for the LSPS2 `promise` HMAC.
    pub promise_secret: [u8; 32],
    /// `lsp_cltv_expiry_delta` returned by `lsps2.buy`.
    pub cltv_expiry_delta: u32,
    /// `client_trusts_lsp` returned by `lsps2.buy`.
    pub client_trusts_lsp: bool,
    /// If set, `lsps2.get_info` with a token outside this list gets error 200.
    pub accepted_tokens: Option<Vec<String>>,
}

impl Default for LdkLspConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            menu: default_menu(),
            promise_secret: [7; 32],
            cltv_expiry_delta: 144,
            client_trusts_lsp: false,
            accepted_tokens: None,
        }
    }
}

/// A running LDK LSPS service. Dropping it shuts it down.
pub struct LdkLsp {
    node: Arc<LdkNode>,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl LdkLsp {
    /// Builds the node on its own in-memory dev chain and starts listening and answering.
    pub async fn start(config: LdkLspConfig) -> Result<Self, NodeError> {
        Self::start_on(Arc::new(DevChain::in_memory()), config).await
    }

    /// Builds the node on `chain` (shared with the client and the payer for a JIT flow) and
    /// starts listening and answering.
    pub async fn start_on(
        chain: Arc<dyn ChainSource>,
        config: LdkLspConfig,
    ) -> Result<Self, NodeError> {
        let mut user_config = UserConfig {
            accept_intercept_htlcs: true,
            manually_accept_inbound_channels: true,
            ..UserConfig::default()
        };
        // The JIT channel: unannounced with option_scid_alias (bLIP-52: both MUST), and the
        // payer's whole payment may be in flight on its first HTLCs.
        user_config.channel_handshake_config.announce_for_forwarding = false;
        user_config.channel_handshake_config.negotiate_scid_privacy = true;
        // LDK refuses forwards into unannounced channels unless told otherwise.
        user_config.accept_forwards_to_priv_channels = true;
        user_config
            .channel_handshake_config
            .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
        let service = LiquidityServiceConfig {
            lsps2_service_config: Some(LSPS2ServiceConfig {
                promise_secret: config.promise_secret,
            }),
            lsps5_service_config: None,
            advertise_service: true,
        };
        let node = Arc::new(
            build_node_on(
                chain,
                NodeConfig {
                    user_config,
                    ..NodeConfig::new("")
                },
                Some(service),
                None,
            )
            .await?,
        );
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;

        // LDK's events are handled synchronously by the kit's loop; the service handler's
        // methods are async, so the events it needs are queued to a task.
        let (ldk_events, ldk_events_rx) = mpsc::unbounded_channel();
        let tasks = vec![
            node.spawn_events_with(move |event| {
                if matches!(
                    event,
                    Event::HTLCIntercepted { .. }
                        | Event::ChannelReady { .. }
                        | Event::PaymentForwarded { .. }
                        | Event::HTLCHandlingFailed { .. }
                ) {
                    let _ = ldk_events.send(event.clone());
                }
                Ok(())
            }),
            tokio::spawn(accept_inbound(listener, Arc::clone(&node.peer_manager))),
            tokio::spawn(message_pump(Arc::clone(&node))),
            tokio::spawn(event_loop(Arc::clone(&node), config)),
            tokio::spawn(ldk_event_loop(Arc::clone(&node), ldk_events_rx)),
        ];
        Ok(Self { node, addr, tasks })
    }

    /// The LSP's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `node_id@addr`, the form `lsps --target` takes.
    pub fn connection_string(&self) -> String {
        format!("{}@{}", self.node.node_id, self.addr)
    }

    /// The underlying node (for tests that need LDK internals).
    pub fn node(&self) -> &LdkNode {
        &self.node
    }

    /// Stops accepting, disconnects every peer and stops the event loops.
    pub fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.node.peer_manager.disconnect_all_peers();
    }
}

impl Drop for LdkLsp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn now_since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

fn raw_menu(menu: &[FeeMenuEntry]) -> Vec<LSPS2RawOpeningFeeParams> {
    let now = now_since_epoch();
    menu.iter()
        .map(|entry| LSPS2RawOpeningFeeParams {
            min_fee_msat: entry.min_fee_msat,
            proportional: entry.proportional,
            valid_until: LSPSDateTime::new_from_duration_since_epoch(now + entry.validity),
            min_lifetime: entry.min_lifetime,
            max_client_to_self_delay: entry.max_client_to_self_delay,
            min_payment_size_msat: entry.min_payment_size_msat,
            max_payment_size_msat: entry.max_payment_size_msat,
        })
        .collect()
}

/// Channel capacity for a JIT open forwarding `amt_to_forward_msat`: the forward plus room for
/// the LSP's reserve and commitment fees.
fn jit_channel_sat(amt_to_forward_msat: u64) -> u64 {
    (amt_to_forward_msat / 1000).saturating_mul(2) + 100_000
}

async fn ldk_event_loop(node: Arc<LdkNode>, mut events: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = events.recv().await {
        let Some(handler) = node.liquidity.lsps2_service_handler() else {
            return;
        };
        let result = match event {
            Event::HTLCIntercepted {
                intercept_id,
                requested_next_hop_scid,
                payment_hash,
                expected_outbound_amount_msat,
                ..
            } => {
                handler
                    .htlc_intercepted(
                        requested_next_hop_scid,
                        intercept_id,
                        expected_outbound_amount_msat,
                        payment_hash,
                    )
                    .await
            }
            Event::ChannelReady {
                channel_id,
                user_channel_id,
                counterparty_node_id,
                ..
            } => {
                // The channel was opened with lightning-liquidity's user_channel_id. Other
                // channels (a payer's) are not the service's: its refusal of those is expected.
                let _ = handler
                    .channel_ready(user_channel_id, &channel_id, &counterparty_node_id)
                    .await;
                Ok(())
            }
            Event::PaymentForwarded {
                next_channel_id: Some(next_channel_id),
                skimmed_fee_msat,
                ..
            } => {
                handler
                    .payment_forwarded(next_channel_id, skimmed_fee_msat.unwrap_or(0))
                    .await
            }
            Event::HTLCHandlingFailed { failure_type, .. } => {
                handler.htlc_handling_failed(failure_type).await
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            eprintln!("testkit ldk_lsp: LSPS2 service refused an LDK event: {e:?}");
        }
        node.peer_manager.process_events();
    }
}

async fn event_loop(node: Arc<LdkNode>, config: LdkLspConfig) {
    loop {
        let event = node.liquidity.next_event_async().await;
        let Some(handler) = node.liquidity.lsps2_service_handler() else {
            return;
        };
        match event {
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::GetInfo {
                request_id,
                counterparty_node_id,
                token,
            }) => {
                let token_ok = match (&config.accepted_tokens, &token) {
                    (None, _) => true,
                    (Some(accepted), Some(token)) => accepted.contains(token),
                    (Some(_), None) => true,
                };
                let result = if token_ok {
                    handler.opening_fee_params_generated(
                        &counterparty_node_id,
                        request_id,
                        raw_menu(&config.menu),
                    )
                } else {
                    handler.invalid_token_provided(&counterparty_node_id, request_id)
                };
                if let Err(e) = result {
                    eprintln!("testkit ldk_lsp: get_info answer failed: {e:?}");
                }
            }
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::BuyRequest {
                request_id,
                counterparty_node_id,
                ..
            }) => {
                let scid = node.channel_manager.get_intercept_scid();
                let user_channel_id: u128 = rand::random();
                if let Err(e) = handler
                    .invoice_parameters_generated(
                        &counterparty_node_id,
                        request_id,
                        scid,
                        config.cltv_expiry_delta,
                        config.client_trusts_lsp,
                        user_channel_id,
                    )
                    .await
                {
                    eprintln!("testkit ldk_lsp: buy answer failed: {e:?}");
                }
            }
            LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::OpenChannel {
                their_network_key,
                amt_to_forward_msat,
                user_channel_id,
                ..
            }) => {
                let open = OpenChannel {
                    peer: their_network_key,
                    amount_sat: jit_channel_sat(amt_to_forward_msat),
                    push_msat: 0,
                    zero_conf: true,
                    announce: false,
                    user_channel_id: Some(user_channel_id),
                    ..OpenChannel::new(their_network_key, 0)
                };
                match node.open_channel(&open) {
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("testkit ldk_lsp: JIT open failed: {e}");
                        if let Err(e) = handler
                            .channel_open_failed(&their_network_key, user_channel_id)
                            .await
                        {
                            eprintln!("testkit ldk_lsp: channel_open_failed: {e:?}");
                        }
                    }
                }
            }
            _ => {}
        }
        node.peer_manager.process_events();
    }
}

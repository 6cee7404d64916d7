//! The flow tier's nodes: what the runner needs to check what an LSP *does* with money.
//!
//! Two LDK nodes from the workspace's node kit follow the LSP's regtest chain over Bitcoin
//! Core's RPC (`--bitcoind-rpc`, or the spawned reference's embedded chain, which speaks the
//! same RPC):
//!
//! - the **payer** (`lsps_node::payer::Payer`): funded by mining to its own address
//!   (`generatetoaddress`), with a confirmed channel to the LSP; its data dir can be kept
//!   between runs (`--payer-data-dir`), so a vendor's LSP sees one payer and one channel;
//! - the **wallet** (`lsps_client::receive::JitWallet`): buys over its own BOLT8 session,
//!   makes the bLIP-52 invoice, takes zero-conf channels from the LSP only for its purchases,
//!   checks the skim against the promised fee before claiming, and accepts the LSPS1 channel
//!   it ordered. Its seed is derived from `--node-key-file` when given, so one key file names
//!   the runner on both tiers (the wallet's node id is printed before the run).
//!
//! Flow cases run one at a time (they share the payer's channel and the wallet) after the
//! message cases; each records the time of its steps, and the report lists what the run left
//! on the LSP ([`LeftOnLsp`]).

pub mod payment;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lsps_client::BuyLimits;
use lsps_client::receive::{JitPurchase, JitWallet, StrangerChannels, WalletConfig};
use lsps_client::transport::bolt8::Bolt8Target;
use lsps_core::types::Msat;
use lsps_node::chain::ChainSource;
use lsps_node::chain::bitcoind::BitcoindChain;
use lsps_node::chain::rpc_client::RpcClient;
use lsps_node::payer::{Payer, RpcMiner};
use serde::{Deserialize, Serialize};

use crate::ctx::Abort;
use crate::report::StepTime;

/// The payer's channel to the LSP, in sat (opened when no usable channel can send
/// [`PAYER_MIN_OUTBOUND_MSAT`]).
pub const PAYER_CHANNEL_SAT: u64 = 4_000_000;
/// What the payer's channel must still be able to send for a run (every flow case together
/// sends well under this).
pub const PAYER_MIN_OUTBOUND_MSAT: u64 = 1_000_000_000;
/// The payment the flow cases make when the menu allows it (then raised to the entry's
/// `min_payment_size_msat` and to 20 × `min_fee_msat`, capped by `max_payment_size_msat`).
pub const PREFERRED_PAYMENT_MSAT: u64 = 20_000_000;

/// How to set the flow tier up.
#[derive(Clone)]
pub struct FlowSetup {
    /// The LSP (BOLT8: the flow needs its node id for channels and routes).
    pub lsp: Bolt8Target,
    /// The chain's Bitcoin Core RPC.
    pub rpc: RpcClient,
    /// Where the payer keeps its node (kept between runs); `None`: a temporary dir.
    pub payer_data_dir: Option<PathBuf>,
    /// The wallet's seed (from `--node-key-file`); `None`: a fresh random wallet.
    pub wallet_seed: Option<[u8; 32]>,
    /// `--long`: wait for timeouts the LSP does not let the runner shorten (`valid_until`).
    pub long: bool,
    /// `--token` for `lsps2.get_info` and `lsps1.create_order`.
    pub token: Option<String>,
    /// Per-step wait (payment outcome, channel, order state).
    pub wait: Duration,
}

/// A channel between the LSP and the runner's nodes, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLeft {
    /// Which runner node: `wallet` or `payer`.
    pub node: String,
    /// The channel id (hex).
    pub channel_id: String,
    /// Capacity in sat.
    pub capacity_sat: u64,
    /// Confirmations of the funding (0: unconfirmed or zero-conf).
    pub confirmations: u32,
    /// Why it exists: the case that caused it (or `payer channel`).
    pub opened_by: String,
}

/// What a run left on the LSP: channels to the runner's nodes, LSPS1 orders, LSPS2 buys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOnLsp {
    /// Channels between the LSP and the runner's nodes at the end of the run.
    pub channels: Vec<ChannelLeft>,
    /// LSPS1 orders the flow cases created (`order_id: final state`).
    pub orders: Vec<String>,
    /// LSPS2 buys the flow cases made (`jit_channel_scid: what happened`).
    pub buys: Vec<String>,
}

/// The flow tier's nodes and what the cases leave behind.
pub struct FlowEnv {
    /// The LSP's node id.
    pub lsp: PublicKey,
    /// The LSP's BOLT8 address.
    pub lsp_addr: SocketAddr,
    /// The chain's RPC.
    pub rpc: RpcClient,
    /// Mines with `generatetoaddress`.
    pub miner: RpcMiner,
    /// The payer.
    pub payer: Payer,
    /// The receiving wallet.
    pub wallet: JitWallet,
    /// See [`FlowSetup::long`].
    pub long: bool,
    /// See [`FlowSetup::token`].
    pub token: Option<String>,
    /// See [`FlowSetup::wait`].
    pub wait: Duration,
    /// How long setting the nodes up took, step by step.
    pub setup_steps: Vec<StepTime>,
    /// Channel id (hex) → the case that caused it.
    opened_by: Mutex<Vec<(String, String)>>,
    orders: Mutex<Vec<String>>,
    buys: Mutex<Vec<String>>,
    /// Temporary data dirs (deleted when the run ends).
    _dirs: Vec<tempfile::TempDir>,
}

impl FlowEnv {
    /// Starts the payer (with a usable channel to the LSP) and the wallet (connected to it).
    pub async fn start(setup: FlowSetup) -> Result<Arc<FlowEnv>, String> {
        let mut dirs = Vec::new();
        let mut steps = Vec::new();
        let network = bitcoin::Network::Regtest;
        let lsp = setup.lsp.node_id;
        let lsp_addr = tokio::net::lookup_host(&setup.lsp.host_port)
            .await
            .map_err(|e| format!("resolving {}: {e}", setup.lsp.host_port))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", setup.lsp.host_port))?;
        let started = Instant::now();
        let chain: Arc<dyn ChainSource> = BitcoindChain::connect(setup.rpc.clone(), network)
            .await
            .map_err(|e| format!("following the chain over RPC: {e} (the flow tier needs a regtest Bitcoin Core or the dev chain's RPC)"))?;
        let miner = RpcMiner {
            rpc: setup.rpc.clone(),
            network,
        };
        let payer_dir = match &setup.payer_data_dir {
            Some(dir) => dir.clone(),
            None => {
                let dir = tempfile::tempdir().map_err(|e| format!("temporary dir: {e}"))?;
                let path = dir.path().to_owned();
                dirs.push(dir);
                path
            }
        };
        let payer = Payer::start(&payer_dir, chain.clone())
            .await
            .map_err(|e| format!("starting the payer in {}: {e}", payer_dir.display()))?;
        payer
            .ensure_channel(
                lsp,
                lsp_addr,
                PAYER_CHANNEL_SAT,
                PAYER_MIN_OUTBOUND_MSAT,
                &miner,
            )
            .await
            .map_err(|e| format!("the payer's channel to the LSP: {e}"))?;
        steps.push(StepTime::since(
            "payer ready with a channel to the LSP",
            started,
        ));

        let started = Instant::now();
        let wallet_dir = tempfile::tempdir().map_err(|e| format!("temporary dir: {e}"))?;
        if let Some(seed) = setup.wallet_seed {
            std::fs::write(wallet_dir.path().join("seed"), seed)
                .map_err(|e| format!("writing the wallet seed: {e}"))?;
        }
        let wallet = JitWallet::start(WalletConfig {
            data_dir: wallet_dir.path().to_owned(),
            lsp: setup.lsp.clone(),
            chain,
            connect_timeout: Duration::from_secs(10),
            request_timeout: setup.wait,
            // The LSPS1 channel is a normal one (not a JIT purchase).
            strangers: StrangerChannels::AcceptConfirmed,
        })
        .await
        .map_err(|e| format!("starting the wallet: {e}"))?;
        dirs.push(wallet_dir);
        steps.push(StepTime::since("wallet connected to the LSP", started));
        Ok(Arc::new(FlowEnv {
            lsp,
            lsp_addr,
            rpc: setup.rpc,
            miner,
            payer,
            wallet,
            long: setup.long,
            token: setup.token,
            wait: setup.wait,
            setup_steps: steps,
            opened_by: Mutex::new(Vec::new()),
            orders: Mutex::new(Vec::new()),
            buys: Mutex::new(Vec::new()),
            _dirs: dirs,
        }))
    }

    /// The wallet seed for a `--node-key-file` secret: a hash of it, so the key itself never
    /// becomes an LDK seed and one file names the runner on both tiers.
    pub fn wallet_seed_for(key_secret: &[u8; 32]) -> [u8; 32] {
        lsps_node::seed::derive_secret(key_secret, b"lsps-conformance/flow-wallet")
    }

    /// The wallet node id a seed gives (printed before the run, for allow-lists).
    pub fn wallet_node_id_for(seed: &[u8; 32]) -> PublicKey {
        let keys = lightning::sign::KeysManager::new(seed, 0, 0, true);
        PublicKey::from_secret_key(
            &bitcoin::secp256k1::Secp256k1::signing_only(),
            &keys.get_node_secret_key(),
        )
    }

    /// Records that `case` caused channel `channel_id`.
    pub fn note_channel(&self, channel_id: String, case: &str) {
        if let Ok(mut list) = self.opened_by.lock() {
            list.push((channel_id, case.to_owned()));
        }
    }

    /// Records an LSPS1 order (`id: state`).
    pub fn note_order(&self, line: String) {
        if let Ok(mut list) = self.orders.lock() {
            list.push(line);
        }
    }

    /// Records an LSPS2 buy (`scid: outcome`).
    pub fn note_buy(&self, line: String) {
        if let Ok(mut list) = self.buys.lock() {
            list.push(line);
        }
    }

    /// What the run left on the LSP, read now.
    pub fn left_on_lsp(&self) -> LeftOnLsp {
        let opened_by = self.opened_by.lock().map(|l| l.clone()).unwrap_or_default();
        let mut channels = Vec::new();
        for (node, list) in [
            ("wallet", self.wallet.node().channel_manager.list_channels()),
            ("payer", self.payer.node().channel_manager.list_channels()),
        ] {
            for c in list.iter().filter(|c| c.counterparty.node_id == self.lsp) {
                let channel_id = c.channel_id.to_string();
                let by = opened_by
                    .iter()
                    .find(|(id, _)| *id == channel_id)
                    .map(|(_, case)| case.clone())
                    .unwrap_or_else(|| {
                        if node == "payer" {
                            "payer channel".to_owned()
                        } else {
                            "unknown".to_owned()
                        }
                    });
                channels.push(ChannelLeft {
                    node: node.to_owned(),
                    channel_id,
                    capacity_sat: c.channel_value_satoshis,
                    confirmations: c.confirmations.unwrap_or(0),
                    opened_by: by,
                });
            }
        }
        LeftOnLsp {
            channels,
            orders: self.orders.lock().map(|l| l.clone()).unwrap_or_default(),
            buys: self.buys.lock().map(|l| l.clone()).unwrap_or_default(),
        }
    }

    /// `lsps2.get_info` over the wallet's session: the menu (code 1 is a refusal, an empty
    /// menu a precondition).
    pub async fn lsps2_menu(&self) -> Result<lsps_client::Lsps2Menu, Abort> {
        let menu = self
            .wallet
            .client()
            .lsps2_get_info(self.token.clone())
            .await
            .map_err(|e| client_abort("lsps2.get_info", e))?;
        if menu.offers.is_empty() {
            return Err(Abort::Precondition(
                "the LSP offers no opening_fee_params (empty menu)".into(),
            ));
        }
        Ok(menu)
    }

    /// Buys menu entry `index` (with `payment_size_msat` in MPP+fixed-invoice mode); the
    /// wallet expects its channel from then on.
    pub async fn buy(
        &self,
        index: usize,
        payment_size_msat: Option<u64>,
    ) -> Result<JitPurchase, Abort> {
        let limits = BuyLimits {
            max_fee_msat: None,
            // Both trust models are the LSP's to choose; the runner checks either.
            accept_client_trusts_lsp: true,
        };
        self.wallet
            .buy(
                self.token.clone(),
                index,
                payment_size_msat.map(Msat),
                &limits,
            )
            .await
            .map_err(|e| match e {
                lsps_client::receive::WalletError::Client(e) => client_abort("lsps2.buy", e),
                other => Abort::Error(format!("lsps2.buy: {other}")),
            })
    }

    /// A payment size the entry accepts, with an opening fee below it; `None` if there is
    /// none within the payer's means.
    pub fn payment_size(params: &lsps_core::lsps2::OpeningFeeParams) -> Option<u64> {
        let min = params.min_payment_size_msat.get();
        let max = params.max_payment_size_msat.get();
        let wanted = PREFERRED_PAYMENT_MSAT
            .max(min)
            .max(params.min_fee_msat.get().saturating_mul(20))
            .min(max)
            .min(PAYER_MIN_OUTBOUND_MSAT / 4);
        let fee = params.opening_fee(Msat(wanted)).ok()?.get();
        (wanted >= min && fee < wanted).then_some(wanted)
    }

    /// Channels between the wallet and the LSP (ids, hex).
    pub fn wallet_channel_ids(&self) -> Vec<String> {
        self.wallet
            .node()
            .channel_manager
            .list_channels()
            .iter()
            .filter(|c| c.counterparty.node_id == self.lsp)
            .map(|c| c.channel_id.to_string())
            .collect()
    }

    /// Mines `count` blocks (to the payer's wallet).
    pub async fn mine(&self, count: u32) -> Result<(), Abort> {
        let script = self
            .payer
            .node()
            .wallet
            .new_address()
            .map_err(|e| Abort::Error(format!("payer address: {e}")))?
            .script_pubkey();
        lsps_node::payer::Miner::mine(&self.miner, count, &script)
            .await
            .map_err(|e| Abort::Error(format!("mining over RPC: {e}")))
    }

    /// Stops both nodes (persisting the payer for the next run).
    pub async fn stop(self: Arc<Self>) {
        // Still shared (a case task outlived the run): dropping stops the event loops.
        if let Ok(env) = Arc::try_unwrap(self) {
            env.wallet.stop().await;
            env.payer.shutdown().await;
        }
    }
}

/// The wallet refuses every inbound channel (answers `open_channel` with `error`) while this
/// lives: the flow cases that watch what an LSP does when the client rejects its open.
pub struct RefusingChannels(Arc<FlowEnv>);

impl RefusingChannels {
    /// Starts refusing.
    pub fn start(env: &Arc<FlowEnv>) -> Self {
        env.wallet.policy().set_refusing(true);
        RefusingChannels(env.clone())
    }
}

impl Drop for RefusingChannels {
    fn drop(&mut self) {
        self.0.wallet.policy().set_refusing(false);
    }
}

/// The wallet disconnects from the LSP whenever the LSP sends `open_channel`, before answering
/// it (so before `funding_signed`), while this lives; the wallet's link redials at once.
pub struct DisconnectingOnOpen {
    env: Arc<FlowEnv>,
    disconnections: Arc<std::sync::atomic::AtomicU32>,
}

impl DisconnectingOnOpen {
    /// Starts disconnecting.
    pub fn start(env: &Arc<FlowEnv>) -> Self {
        let disconnections = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = disconnections.clone();
        // Weak: the node owns the policy that holds this closure.
        let node = Arc::downgrade(env.wallet.node());
        env.wallet
            .policy()
            .intercept_opens(Some(Box::new(move |opener: &PublicKey| {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if let Some(node) = node.upgrade() {
                    node.peer_manager.disconnect_by_node_id(*opener);
                }
            })));
        DisconnectingOnOpen {
            env: env.clone(),
            disconnections,
        }
    }

    /// How many opens the wallet left unanswered by disconnecting.
    pub fn disconnections(&self) -> u32 {
        self.disconnections
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for DisconnectingOnOpen {
    fn drop(&mut self) {
        self.env.wallet.policy().intercept_opens(None);
    }
}

/// Maps a client error of a flow step: code 1 is a refusal (legal for any request), 203 on
/// `buy` a precondition (no liquidity for this size), a client-side check or another error a
/// precondition too (the message tier judges the messages; the flow tier needs them to work).
pub fn client_abort(what: &str, e: lsps_client::ClientError) -> Abort {
    match e {
        lsps_client::ClientError::Lsp { error, .. } if error.code == 1 => {
            Abort::Refused(format!("{what}: {error}"))
        }
        lsps_client::ClientError::Timeout { .. } => Abort::Timeout(format!("{what}: {e}")),
        lsps_client::ClientError::Transport(_) | lsps_client::ClientError::Disconnected { .. } => {
            Abort::Error(format!("{what}: {e}"))
        }
        other => Abort::Precondition(format!(
            "{what} did not give the flow what it needs: {other} (the message tier judges this answer)"
        )),
    }
}

impl std::fmt::Debug for FlowEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowEnv")
            .field("lsp", &self.lsp)
            .field("payer", &self.payer.node_id())
            .field("wallet", &self.wallet.node_id())
            .finish_non_exhaustive()
    }
}

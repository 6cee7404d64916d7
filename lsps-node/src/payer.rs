//! A payer: a node-kit node whose only job is to pay through an LSP — the dev server's
//! `dev pay`, the tests of the money flows and the conformance runner's flow tier all use it.
//!
//! [`Payer::ensure_channel`] gives it a usable channel to the LSP, funded by its own wallet:
//! coins are mined to the wallet and the funding confirmed by a [`Miner`] (the dev chain
//! in-process, or Bitcoin Core's `generatetoaddress` over RPC), because the LSP accepts the
//! payer as it would any peer, with confirmations. The node's data dir is kept, so a payer
//! restarted on the same chain reuses its channel.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Address, ScriptBuf};
use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::peer_handler::IgnoringMessageHandler;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::rpc_client::RpcClient;
use crate::chain::{ChainError, ChainSource, DevChain};
use crate::node::{Node, NodeConfig, NodeError, OpenChannel};
use crate::payments::PaymentOutcome;

/// The payer's node: no custom messages.
pub type PayerNode = Node<IgnoringMessageHandler>;

/// Blocks that make a coinbase spendable on regtest, plus one.
const COINBASE_MATURITY_BLOCKS: u32 = 101;
/// Confirmations mined over a new payer channel: LDK's default `minimum_depth` for the
/// accepting side is 6, and an LSP may ask for that many.
const FUNDING_CONFIRMATIONS: u32 = 6;
/// How long a channel from an earlier run may take to become usable again after connecting.
const REESTABLISH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long channel set-up may take before it is reported as stuck.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Mines blocks paying a script.
#[async_trait::async_trait]
pub trait Miner: Send + Sync {
    /// Mine `count` blocks whose coinbases pay `script`.
    async fn mine(&self, count: u32, script: &ScriptBuf) -> Result<(), ChainError>;
}

#[async_trait::async_trait]
impl Miner for DevChain {
    async fn mine(&self, count: u32, script: &ScriptBuf) -> Result<(), ChainError> {
        DevChain::mine(self, count, script)?;
        Ok(())
    }
}

/// Bitcoin Core (or the dev chain's RPC) mining with `generatetoaddress`.
pub struct RpcMiner {
    /// The RPC endpoint.
    pub rpc: RpcClient,
    /// The chain's network (to turn scripts into addresses).
    pub network: bitcoin::Network,
}

#[async_trait::async_trait]
impl Miner for RpcMiner {
    async fn mine(&self, count: u32, script: &ScriptBuf) -> Result<(), ChainError> {
        let address = Address::from_script(script, self.network)
            .map_err(|e| ChainError::Rpc(format!("no address for the coinbase script: {e}")))?;
        self.rpc
            .call(
                "generatetoaddress",
                serde_json::json!([count, address.to_string()]),
            )
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        Ok(())
    }
}

/// Why the payer could not get ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayerError {
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// Mining failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The LSP could not be reached.
    #[error("connecting to the LSP {lsp} at {addr}: {source}")]
    Connect {
        /// The LSP's node id.
        lsp: PublicKey,
        /// Where it was dialled.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A set-up step did not finish in time.
    #[error("payer set-up stuck: {0}")]
    Stuck(&'static str),
}

/// A running payer (see the module docs). Dropping it stops its event loop.
pub struct Payer {
    node: Arc<PayerNode>,
    stop: watch::Sender<bool>,
    events: Option<JoinHandle<()>>,
}

impl Payer {
    /// Start (or reopen) the payer node in `data_dir` on `chain`.
    pub async fn start(data_dir: &Path, chain: Arc<dyn ChainSource>) -> Result<Self, NodeError> {
        let node = Node::start(
            NodeConfig::new(data_dir),
            chain,
            Arc::new(IgnoringMessageHandler {}),
        )
        .await?;
        let (stop, stop_rx) = watch::channel(false);
        let events = tokio::spawn(node.clone().run_events(stop_rx, |_| Ok(())));
        Ok(Self {
            node,
            stop,
            events: Some(events),
        })
    }

    /// The payer's node.
    pub fn node(&self) -> &Arc<PayerNode> {
        &self.node
    }

    /// The payer's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node.node_id()
    }

    /// The payer's usable channels to `lsp`.
    pub fn usable_channels_to(&self, lsp: &PublicKey) -> Vec<ChannelDetails> {
        usable_to(&self.node.channel_manager.list_channels(), lsp)
    }

    /// Connect to the LSP (if not connected) and make sure a usable channel to it can send at
    /// least `min_outbound_msat`; otherwise fund and open one of `capacity_sat`, mining with
    /// `miner` for the coins and the confirmations.
    pub async fn ensure_channel(
        &self,
        lsp: PublicKey,
        addr: SocketAddr,
        capacity_sat: u64,
        min_outbound_msat: u64,
        miner: &dyn Miner,
    ) -> Result<(), PayerError> {
        if self.node.peer_manager.peer_by_node_id(&lsp).is_none() {
            self.node
                .connect(lsp, addr, Duration::from_secs(10))
                .await
                .map_err(|source| PayerError::Connect { lsp, addr, source })?;
        }
        // A channel from an earlier run becomes usable once the peers have reestablished it.
        // LDK raises no event for that, so this looks every 20 ms while a ready channel to the
        // LSP is still unusable (at most REESTABLISH_TIMEOUT).
        let deadline = tokio::time::Instant::now() + REESTABLISH_TIMEOUT;
        loop {
            let channels = self.node.channel_manager.list_channels();
            if usable_to(&channels, &lsp)
                .iter()
                .any(|c| c.outbound_capacity_msat >= min_outbound_msat)
            {
                return Ok(());
            }
            let reestablishing = channels
                .iter()
                .any(|c| c.counterparty.node_id == lsp && c.is_channel_ready && !c.is_usable);
            if !reestablishing || tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let needed_sat = capacity_sat.saturating_add(100_000);
        let wallet = &self.node.wallet;
        let spendable = |w: &crate::wallet::OnchainWallet| {
            let b = w.balance();
            (b.confirmed + b.trusted_pending).to_sat()
        };
        // Every block the payer mines pays its own wallet: an RPC miner needs an address (no
        // bare scripts), and the coins are the payer's anyway.
        let own = wallet
            .new_address()
            .map_err(NodeError::from)?
            .script_pubkey();
        if spendable(wallet) < needed_sat {
            // One mature coinbase is 50 BTC on a young regtest chain; mine until it matures.
            miner.mine(COINBASE_MATURITY_BLOCKS, &own).await?;
            self.wait_until("the wallet sees its coins", || {
                spendable(wallet) >= needed_sat
            })
            .await?;
        }
        let before: Vec<_> = self
            .node
            .channel_manager
            .list_channels()
            .into_iter()
            .map(|c| c.channel_id)
            .collect();
        self.node.open_channel(&OpenChannel {
            peer: lsp,
            amount_sat: capacity_sat,
            push_msat: 0,
            zero_conf: false,
            announce: false,
            ..OpenChannel::new(lsp, capacity_sat)
        })?;
        // Mine once the funding transaction is out (the channel is pending on our side).
        tokio::time::timeout(
            SETUP_TIMEOUT,
            self.node.wait_for_channels(|channels| {
                channels.iter().any(|c| {
                    c.counterparty.node_id == lsp
                        && !before.contains(&c.channel_id)
                        && c.funding_txo.is_some()
                })
            }),
        )
        .await
        .map_err(|_| PayerError::Stuck("the LSP did not sign the funding"))?;
        // LDK broadcasts the funding once the LSP's `funding_signed` arrives, a moment after
        // the funding outpoint is known: mine a block at a time until it is in one.
        let mut confirmed = false;
        for _ in 0..20 {
            miner.mine(1, &own).await?;
            let seen = tokio::time::timeout(
                Duration::from_secs(2),
                self.node.wait_for_channels(|channels| {
                    channels.iter().any(|c| {
                        c.counterparty.node_id == lsp
                            && !before.contains(&c.channel_id)
                            && c.confirmations.unwrap_or(0) > 0
                    })
                }),
            )
            .await;
            if seen.is_ok() {
                confirmed = true;
                break;
            }
        }
        if !confirmed {
            return Err(PayerError::Stuck("the funding transaction was not mined"));
        }
        miner.mine(FUNDING_CONFIRMATIONS - 1, &own).await?;
        tokio::time::timeout(
            SETUP_TIMEOUT,
            self.node.wait_for_channels(|channels| {
                usable_to(channels, &lsp)
                    .iter()
                    .any(|c| c.outbound_capacity_msat >= min_outbound_msat)
            }),
        )
        .await
        .map_err(|_| PayerError::Stuck("the channel to the LSP did not become usable"))?;
        Ok(())
    }

    async fn wait_until(
        &self,
        what: &'static str,
        done: impl Fn() -> bool,
    ) -> Result<(), PayerError> {
        // The wallet learns of blocks through the node's chain listener, which bumps the same
        // change counter channel waits use.
        tokio::time::timeout(SETUP_TIMEOUT, self.node.wait_for_channels(|_| done()))
            .await
            .map_err(|_| PayerError::Stuck(what))
    }

    /// Pay `invoice` (`amount_msat` when it has none), waiting at most `timeout`.
    pub async fn pay(
        &self,
        invoice: &Bolt11Invoice,
        amount_msat: Option<u64>,
        timeout: Duration,
    ) -> Result<PaymentOutcome, NodeError> {
        self.node.pay_bolt11(invoice, amount_msat, timeout).await
    }

    /// Stop the event loop (persisting the ChannelManager) and wait for it.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(events) = self.events.take() {
            let _ = events.await;
        }
    }
}

impl Drop for Payer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn usable_to(channels: &[ChannelDetails], lsp: &PublicKey) -> Vec<ChannelDetails> {
    channels
        .iter()
        .filter(|c| c.counterparty.node_id == *lsp && c.is_usable)
        .cloned()
        .collect()
}

//! Chain sources: where blocks come from and where transactions go.
//!
//! A node first brings each persisted part (ChannelManager, each ChannelMonitor before it is
//! loaded, the wallet) from its own best block to one common tip ([`ChainSource::catch_up`]),
//! then subscribes one combined listener from that tip ([`ChainSource::subscribe`]). Listeners are LDK's own [`Listen`] trait, so the same objects plug into
//! lightning-block-sync.
//!
//! Sources: the [`DevChain`], a regtest chain produced in-process (one command starts a working
//! LSP on a machine without bitcoind), which also serves Bitcoin Core's RPC
//! ([`rpc_server`]) so other processes can follow it.

pub mod bitcoind;
pub mod dev_service;
mod devchain;
pub mod rpc_client;
pub mod rpc_server;

pub use devchain::{DEV_FEE_RATE_SAT_PER_KW, DevChain, FoundTx, FoundUtxo, MempoolReject};

use std::sync::Arc;

use bitcoin::{BlockHash, Network, Transaction};
use lightning::chain::chaininterface::ConfirmationTarget;
use lightning::chain::{BestBlock, Listen};

/// A listener that can be shared with the chain source's feeding task.
pub type SharedListener = Arc<dyn Listen + Send + Sync>;

/// Why a chain source could not serve a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// A listener's best block is not on this chain (another chain's state in the data dir, or
    /// the chain was reset).
    #[error("a listener's best block {hash} at height {height} is not on this chain")]
    NotOnThisChain {
        /// The listener's best block hash.
        hash: BlockHash,
        /// Its height.
        height: u32,
    },
    /// The dev chain's block file could not be read or written.
    #[error("dev chain storage: {0}")]
    Storage(#[from] std::io::Error),
    /// The RPC node failed or answered something unusable.
    #[error("chain RPC: {0}")]
    Rpc(String),
    /// A lock was poisoned by a panic elsewhere.
    #[error("chain state lock poisoned")]
    Poisoned,
}

/// A source of blocks and a sink for transactions.
#[async_trait::async_trait]
pub trait ChainSource: Send + Sync {
    /// The chain's network.
    fn network(&self) -> Network;

    /// The current tip.
    async fn tip(&self) -> Result<BestBlock, ChainError>;

    /// Bring each `(best block, listener)` to one common tip, which is returned.
    async fn catch_up(
        &self,
        listeners: &[(BestBlock, &(dyn Listen + Send + Sync))],
    ) -> Result<BestBlock, ChainError>;

    /// Feed `live` every block after `from`, in order, never two at once, from now on
    /// (blocks that arrived since `from` first, with no gap).
    async fn subscribe(&self, from: BestBlock, live: SharedListener) -> Result<(), ChainError>;

    /// Hand a transaction to the network. Must not block on the block feed: LDK broadcasts from
    /// inside `block_connected`.
    fn broadcast(&self, tx: &Transaction);

    /// Fee rate for `target` in sat per 1000 weight units (LDK's unit); at least 253.
    fn fee_rate_sat_per_kw(&self, target: ConfirmationTarget) -> u32;
}

/// LDK's floor for fee rates (1 sat/vB rounded up in weight units).
pub const MIN_FEE_RATE_SAT_PER_KW: u32 = 253;

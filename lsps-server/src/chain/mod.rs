//! Chain sources: where blocks come from and where transactions go.
//!
//! The default is the [`DevChain`]: a regtest chain the server produces itself (devchain.md), so
//! one command starts a working LSP on a machine without bitcoind. A bitcoind RPC source
//! implements the same [`ChainSource`] trait (next step; lightning-block-sync).

mod devchain;

pub use devchain::{DevChain, MempoolReject};

use bitcoin::{Block, BlockHash, Network, Transaction};

/// Something that wants every block in order: LDK's ChainMonitor and ChannelManager, the wallet.
pub trait ChainListener: Send + Sync {
    /// Block `block` at `height` was connected on top of the previous tip.
    fn block_connected(&self, block: &Block, height: u32);
}

/// A source of blocks and a sink for transactions.
pub trait ChainSource: Send + Sync {
    /// The chain's network.
    fn network(&self) -> Network;
    /// Hash and height of the current tip.
    fn tip(&self) -> (BlockHash, u32);
    /// Blocks with height in `(after, tip]`, in order, to catch a listener up.
    fn blocks_after(&self, after: u32) -> Vec<(u32, Block)>;
    /// Register a listener; it sees every block connected from now on, in order, never
    /// concurrently with another block.
    fn subscribe(&self, listener: std::sync::Arc<dyn ChainListener>);
    /// Hand a transaction to the network. Must not block on the chain's block feed (LDK calls it
    /// from inside `block_connected` when it re-broadcasts).
    fn broadcast(&self, tx: &Transaction);
}

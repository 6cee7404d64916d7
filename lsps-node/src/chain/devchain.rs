//! The embedded regtest chain: blocks are built, ground to regtest difficulty and fed to the
//! listeners in-process; blocks are appended to a file so a restart sees the same chain its
//! persisted LDK and wallet state was synced to.
//!
//! The mempool checks inputs exist (UTXO set or mempool), coinbase maturity, value out ≤ value
//! in, and takes a conflicting transaction only as a replacement (full RBF, as Bitcoin Core 28+
//! by default): it must pay a higher fee rate than each transaction it conflicts with and more
//! in total than everything it evicts (the conflicts and their descendants). It does not verify
//! scripts or signatures (libbitcoinconsensus needs a C++ build), apply the rest of relay
//! policy (dust, standardness, incremental relay fee) or reorganise: there is one miner and its
//! chain is final. The miner takes every mempool transaction unless told to leave those below a
//! fee rate ([`DevChain::set_mining_min_fee_rate`]), which is how a test makes a transaction
//! stall.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Block, BlockHash, Network, OutPoint, ScriptBuf, Transaction, TxOut, Txid, Work};

use lightning::chain::chaininterface::ConfirmationTarget;
use lightning::chain::{BestBlock, Listen};

use super::{ChainError, ChainSource, SharedListener};

mod block;
mod mempool;
#[cfg(test)]
mod tests;

use block::build_block;
use mempool::{accept, spent_by};

/// Coinbase outputs are spendable from 100 blocks after the block that created them.
const COINBASE_MATURITY: u32 = 100;

/// The dev chain has no fee market: every target gets 1000 sat/kWU (4 sat/vB), above LDK's
/// 253 floor.
pub const DEV_FEE_RATE_SAT_PER_KW: u32 = 1000;

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolReject {
    /// Already in the mempool or the chain (LDK re-broadcasts; not an error for callers).
    #[error("already known")]
    AlreadyKnown,
    /// An input is spent by another mempool transaction, and this one does not pay enough to
    /// replace it (a higher fee rate than each conflict, more fee than all it would evict).
    #[error("double spend in mempool, not a valid replacement")]
    DoubleSpendInMempool,
    /// An input does not exist (or is spent on chain).
    #[error("missing input {0}")]
    MissingInput(OutPoint),
    /// An input is a coinbase output younger than 100 blocks.
    #[error("immature coinbase")]
    ImmatureCoinbase,
    /// Outputs exceed inputs.
    #[error("outputs exceed inputs")]
    ValueOut,
}

#[derive(Clone)]
struct Utxo {
    output: TxOut,
    height: u32,
    coinbase: bool,
}

struct State {
    blocks: Vec<Block>,
    utxos: HashMap<OutPoint, Utxo>,
    /// Confirmed transactions: height and position in the block (a full index, as Core with
    /// `-txindex`).
    confirmed: HashMap<Txid, (u32, usize)>,
    /// Height of every block by hash.
    heights: HashMap<BlockHash, u32>,
    /// Cumulative chain work up to each height (Core's `chainwork`).
    chainwork: Vec<Work>,
    mempool: Vec<Transaction>,
    mempool_spent: HashSet<OutPoint>,
    /// The miner leaves mempool transactions paying less than this (sat per 1000 weight units).
    mining_min_fee_rate: u64,
    file: Option<File>,
}

/// The embedded regtest chain.
pub struct DevChain {
    state: Mutex<State>,
    listeners: Mutex<Vec<SharedListener>>,
    /// Broadcasts arrive here first so LDK can broadcast from inside `block_connected` while the
    /// chain is locked; they are validated before the next block and on [`DevChain::flush`].
    queued: Mutex<Vec<Transaction>>,
    path: Option<PathBuf>,
}

impl DevChain {
    /// A chain with only the regtest genesis block, not persisted.
    pub fn in_memory() -> Self {
        Self::from_blocks(
            vec![bitcoin::constants::genesis_block(Network::Regtest)],
            None,
            None,
        )
    }

    /// Open the chain stored in `dir` (created with only genesis if absent).
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("blocks.dat");
        let mut blocks = vec![bitcoin::constants::genesis_block(Network::Regtest)];
        if path.exists() {
            let mut bytes = Vec::new();
            File::open(&path)?.read_to_end(&mut bytes)?;
            let mut rest = bytes.as_slice();
            while rest.len() >= 4 {
                let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                if rest.len() < 4 + len {
                    // A torn final append (crash mid-write): the block was never fed to anyone
                    // durable after it, drop it.
                    break;
                }
                let block: Block = deserialize(&rest[4..4 + len]).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string())
                })?;
                blocks.push(block);
                rest = &rest[4 + len..];
            }
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self::from_blocks(blocks, Some(file), Some(path)))
    }

    fn from_blocks(blocks: Vec<Block>, file: Option<File>, path: Option<PathBuf>) -> Self {
        let mut state = State {
            blocks: Vec::new(),
            utxos: HashMap::new(),
            confirmed: HashMap::new(),
            heights: HashMap::new(),
            chainwork: Vec::new(),
            mempool: Vec::new(),
            mempool_spent: HashSet::new(),
            mining_min_fee_rate: 0,
            file,
        };
        for (height, block) in blocks.into_iter().enumerate() {
            apply_to_utxos(&mut state, &block, height as u32);
            state.blocks.push(block);
        }
        Self {
            state: Mutex::new(state),
            listeners: Mutex::new(Vec::new()),
            queued: Mutex::new(Vec::new()),
            path,
        }
    }

    /// Where the chain is stored, if it is.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Validate queued broadcasts into the mempool. Rejections are logged, never fatal
    /// (docs/devchain.md, pitfall 3).
    pub fn flush(&self) {
        let queued: Vec<Transaction> = match self.queued.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(_) => return,
        };
        if queued.is_empty() {
            return;
        }
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        for tx in queued {
            match accept(&mut state, tx) {
                Ok(txid) => tracing::debug!(%txid, "devchain: tx accepted to mempool"),
                Err(MempoolReject::AlreadyKnown) => {}
                Err(e) => tracing::warn!("devchain: tx rejected: {e}"),
            }
        }
    }

    /// Submit a transaction and get the mempool's verdict directly.
    pub fn submit(&self, tx: Transaction) -> Result<Txid, MempoolReject> {
        self.flush();
        let mut state = self.state.lock().map_err(|_| MempoolReject::ValueOut)?;
        accept(&mut state, tx)
    }

    /// From now on, mined blocks leave out mempool transactions paying less than
    /// `sat_per_kwu` (and their descendants): they wait in the mempool as on a congested chain
    /// until replaced or the floor drops. 0 (the default) mines everything.
    pub fn set_mining_min_fee_rate(&self, sat_per_kwu: u64) {
        if let Ok(mut state) = self.state.lock() {
            state.mining_min_fee_rate = sat_per_kwu;
        }
    }

    /// Whether `txid` waits in the mempool.
    pub fn in_mempool(&self, txid: &Txid) -> bool {
        self.flush();
        self.state
            .lock()
            .map(|s| s.mempool.iter().any(|t| &t.compute_txid() == txid))
            .unwrap_or(false)
    }

    /// Number of transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.state.lock().map(|s| s.mempool.len()).unwrap_or(0)
    }

    /// Mine `count` blocks paying the coinbase to `coinbase_script`, feeding each to every
    /// listener in order (docs/devchain.md, pitfall 5: one block at a time, under the chain lock).
    pub fn mine(&self, count: u32, coinbase_script: &ScriptBuf) -> std::io::Result<Vec<BlockHash>> {
        let mut hashes = Vec::with_capacity(count as usize);
        for _ in 0..count {
            self.flush();
            let mut state = self
                .state
                .lock()
                .map_err(|_| std::io::Error::other("devchain lock poisoned"))?;
            let height = state.blocks.len() as u32;
            let (block, left) = build_block(&state, height, coinbase_script);
            if let Some(file) = state.file.as_mut() {
                let bytes = serialize(&block);
                let mut record = Vec::with_capacity(4 + bytes.len());
                record.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                record.extend_from_slice(&bytes);
                file.write_all(&record)?;
                file.sync_data()?;
            }
            apply_to_utxos(&mut state, &block, height);
            state.mempool = left;
            state.mempool_spent = spent_by(&state.mempool);
            state.blocks.push(block.clone());
            let listeners: Vec<_> = self.listeners.lock().map(|l| l.clone()).unwrap_or_default();
            for listener in &listeners {
                listener.block_connected(&block, height);
            }
            drop(state);
            hashes.push(block.block_hash());
        }
        Ok(hashes)
    }
}

impl DevChain {
    /// The current tip, read without waiting on anything but the chain lock.
    pub fn best_block(&self) -> BestBlock {
        match self.state.lock() {
            Ok(state) => tip_of(&state),
            Err(_) => BestBlock::from_network(Network::Regtest),
        }
    }

    /// Blocks with height in `(after, tip]`, in order.
    pub fn blocks_after(&self, after: u32) -> Vec<(u32, Block)> {
        let Ok(state) = self.state.lock() else {
            return Vec::new();
        };
        state
            .blocks
            .iter()
            .enumerate()
            .skip(after as usize + 1)
            .map(|(h, b)| (h as u32, b.clone()))
            .collect()
    }

    /// [`ChainSource::catch_up`] without waiting: each listener gets the blocks after its best
    /// block, under the chain lock.
    pub fn catch_up_now(
        &self,
        listeners: &[(BestBlock, &(dyn Listen + Send + Sync))],
    ) -> Result<BestBlock, ChainError> {
        let state = self.state.lock().map_err(|_| ChainError::Poisoned)?;
        for (from, listener) in listeners {
            feed_after(&state, *from, *listener)?;
        }
        Ok(tip_of(&state))
    }

    /// [`ChainSource::subscribe`] without waiting: the blocks after `from` are fed and the
    /// listener registered under one hold of the chain lock, so no block falls in between.
    pub fn subscribe_now(&self, from: BestBlock, live: SharedListener) -> Result<(), ChainError> {
        let state = self.state.lock().map_err(|_| ChainError::Poisoned)?;
        feed_after(&state, from, &*live)?;
        self.listeners
            .lock()
            .map_err(|_| ChainError::Poisoned)?
            .push(live);
        Ok(())
    }
}

fn feed_after(
    state: &State,
    from: BestBlock,
    listener: &(dyn Listen + Send + Sync),
) -> Result<(), ChainError> {
    let on_chain = state
        .blocks
        .get(from.height as usize)
        .is_some_and(|b| b.block_hash() == from.block_hash);
    if !on_chain {
        return Err(ChainError::NotOnThisChain {
            hash: from.block_hash,
            height: from.height,
        });
    }
    for (height, block) in state
        .blocks
        .iter()
        .enumerate()
        .skip(from.height as usize + 1)
    {
        listener.block_connected(block, height as u32);
    }
    Ok(())
}

/// Where a transaction is, for `getrawtransaction`.
#[derive(Debug, Clone)]
pub struct FoundTx {
    /// The transaction.
    pub tx: Transaction,
    /// Block hash, height and block time when confirmed; `None` in the mempool.
    pub block: Option<(BlockHash, u32, u32)>,
}

/// An unspent output, for `gettxout`.
#[derive(Debug, Clone)]
pub struct FoundUtxo {
    /// The output.
    pub output: TxOut,
    /// Confirmation height; `None` when created by a mempool transaction.
    pub height: Option<u32>,
    /// Created by a coinbase.
    pub coinbase: bool,
}

impl DevChain {
    /// The block at `height`.
    pub fn block_at(&self, height: u32) -> Option<Block> {
        let state = self.state.lock().ok()?;
        state.blocks.get(height as usize).cloned()
    }

    /// Height of the block `hash`, if it is on the chain.
    pub fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        let state = self.state.lock().ok()?;
        state.heights.get(hash).copied()
    }

    /// Cumulative chain work up to `height`.
    pub fn chainwork_at(&self, height: u32) -> Option<Work> {
        let state = self.state.lock().ok()?;
        state.chainwork.get(height as usize).copied()
    }

    /// Median time of the 11 blocks ending at `height` (Core's `mediantime`).
    pub fn median_time_at(&self, height: u32) -> Option<u32> {
        let state = self.state.lock().ok()?;
        let end = height as usize + 1;
        if end > state.blocks.len() {
            return None;
        }
        let mut times: Vec<u32> = state.blocks[end.saturating_sub(11)..end]
            .iter()
            .map(|b| b.header.time)
            .collect();
        times.sort_unstable();
        times.get(times.len() / 2).copied()
    }

    /// Bytes of the block file (Core's `size_on_disk`).
    pub fn size_on_disk(&self) -> u64 {
        self.path
            .as_deref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len())
    }

    /// A confirmed or mempool transaction.
    pub fn find_tx(&self, txid: &Txid) -> Option<FoundTx> {
        self.flush();
        let state = self.state.lock().ok()?;
        if let Some(&(height, index)) = state.confirmed.get(txid) {
            let block = state.blocks.get(height as usize)?;
            return Some(FoundTx {
                tx: block.txdata.get(index)?.clone(),
                block: Some((block.block_hash(), height, block.header.time)),
            });
        }
        state
            .mempool
            .iter()
            .find(|t| t.compute_txid() == *txid)
            .map(|tx| FoundTx {
                tx: tx.clone(),
                block: None,
            })
    }

    /// Txids in the mempool, in arrival order.
    pub fn mempool_txids(&self) -> Vec<Txid> {
        self.flush();
        match self.state.lock() {
            Ok(state) => state
                .mempool
                .iter()
                .map(Transaction::compute_txid)
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// An unspent output; with `include_mempool`, outputs spent by the mempool are gone and
    /// outputs of mempool transactions are found.
    pub fn utxo(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<FoundUtxo> {
        self.flush();
        let state = self.state.lock().ok()?;
        if include_mempool && state.mempool_spent.contains(outpoint) {
            return None;
        }
        if let Some(utxo) = state.utxos.get(outpoint) {
            return Some(FoundUtxo {
                output: utxo.output.clone(),
                height: Some(utxo.height),
                coinbase: utxo.coinbase,
            });
        }
        if !include_mempool {
            return None;
        }
        state
            .mempool
            .iter()
            .find(|t| t.compute_txid() == outpoint.txid)
            .and_then(|t| t.output.get(outpoint.vout as usize))
            .map(|output| FoundUtxo {
                output: output.clone(),
                height: None,
                coinbase: false,
            })
    }
}

fn tip_of(state: &State) -> BestBlock {
    match state.blocks.last() {
        Some(b) => BestBlock::new(b.block_hash(), state.blocks.len() as u32 - 1),
        None => BestBlock::from_network(Network::Regtest),
    }
}

#[async_trait::async_trait]
impl ChainSource for DevChain {
    fn network(&self) -> Network {
        Network::Regtest
    }

    async fn tip(&self) -> Result<BestBlock, ChainError> {
        Ok(self.best_block())
    }

    async fn catch_up(
        &self,
        listeners: &[(BestBlock, &(dyn Listen + Send + Sync))],
    ) -> Result<BestBlock, ChainError> {
        self.catch_up_now(listeners)
    }

    async fn subscribe(&self, from: BestBlock, live: SharedListener) -> Result<(), ChainError> {
        self.subscribe_now(from, live)
    }

    fn broadcast(&self, tx: &Transaction) {
        if let Ok(mut q) = self.queued.lock() {
            q.push(tx.clone());
        }
    }

    fn fee_rate_sat_per_kw(&self, _target: ConfirmationTarget) -> u32 {
        DEV_FEE_RATE_SAT_PER_KW
    }
}

fn apply_to_utxos(state: &mut State, block: &Block, height: u32) {
    state.heights.insert(block.block_hash(), height);
    let work = block.header.work();
    let total = state.chainwork.last().map_or(work, |&prev| prev + work);
    state.chainwork.push(total);
    for (i, tx) in block.txdata.iter().enumerate() {
        let coinbase = i == 0;
        if !coinbase {
            for input in &tx.input {
                state.utxos.remove(&input.previous_output);
            }
        }
        let txid = tx.compute_txid();
        for (vout, output) in tx.output.iter().enumerate() {
            state.utxos.insert(
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                Utxo {
                    output: output.clone(),
                    height,
                    coinbase,
                },
            );
        }
        state.confirmed.insert(txid, (height, i));
    }
}

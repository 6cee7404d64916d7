//! A chain source on Bitcoin Core's RPC (or the dev chain's, which speaks it), built on LDK's
//! block sync (`lightning-block-sync`): every header's proof of work and chain work checked,
//! reorganisations handled (listeners get `blocks_disconnected` back to the fork point, then the
//! new branch), the tip polled (Core pushes nothing over RPC). Transactions go out with
//! `sendrawtransaction`, fee rates come from `estimatesmartfee`. Restart-safe: every listener
//! resumes from its own best block, even one that a reorganisation left behind.
//!
//! BDK's RPC emitter is not used: the wallet is a [`Listen`] fed by the same block feed as the
//! ChannelManager and the monitors, so one poller and one reorg logic serve the whole node.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bitcoin::{BlockHash, Network, Transaction};
use lightning::chain::chaininterface::ConfirmationTarget;
use lightning::chain::{BestBlock, Listen};
use lightning_block_sync::http::HttpEndpoint;
use lightning_block_sync::init::synchronize_listeners;
use lightning_block_sync::poll::{ChainPoller, ValidatedBlockHeader};
use lightning_block_sync::{BlockSource, BlockSourceError, Cache, SpvClient};
use serde_json::json;

use super::rpc_client::{RpcCallError, RpcClient};
use super::{ChainError, ChainSource, MIN_FEE_RATE_SAT_PER_KW, SharedListener};

/// How often the tip is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Headers kept for finding fork points without asking the node (older ones are fetched).
const HEADER_CACHE_SIZE: usize = 2016;

/// LDK's RPC block source.
type BlockSyncRpc = lightning_block_sync::rpc::RpcClient;

/// Bitcoin Core (or the dev chain) over JSON-RPC.
pub struct BitcoindChain {
    rpc: RpcClient,
    blocks: Arc<BlockSyncRpc>,
    network: Network,
    fee_rate: Arc<AtomicU32>,
    runtime: tokio::runtime::Handle,
}

fn rpc_err(e: RpcCallError) -> ChainError {
    ChainError::Rpc(e.to_string())
}

fn sync_err(e: BlockSourceError) -> ChainError {
    ChainError::Rpc(format!("block sync: {}", e.into_inner()))
}

/// The most recent [`HEADER_CACHE_SIZE`] headers of the feed (lightning-block-sync's own cache
/// is unbounded).
#[derive(Default)]
struct HeaderCache {
    headers: HashMap<BlockHash, ValidatedBlockHeader>,
    order: VecDeque<BlockHash>,
}

impl Cache for HeaderCache {
    fn look_up(&self, block_hash: &BlockHash) -> Option<&ValidatedBlockHeader> {
        self.headers.get(block_hash)
    }

    fn block_connected(&mut self, block_hash: BlockHash, block_header: ValidatedBlockHeader) {
        if self.headers.insert(block_hash, block_header).is_none() {
            self.order.push_back(block_hash);
        }
        while self.order.len() > HEADER_CACHE_SIZE {
            if let Some(oldest) = self.order.pop_front() {
                self.headers.remove(&oldest);
            }
        }
    }

    fn block_disconnected(&mut self, block_hash: &BlockHash) -> Option<ValidatedBlockHeader> {
        self.headers.remove(block_hash)
    }
}

impl BitcoindChain {
    /// Follow the node at `rpc` (checked: it answers and is on `network`).
    pub async fn connect(rpc: RpcClient, network: Network) -> Result<Arc<Self>, ChainError> {
        let genesis = rpc
            .call("getblockhash", json!([0]))
            .await
            .map_err(rpc_err)?;
        let expected = bitcoin::constants::genesis_block(network).block_hash();
        if genesis.as_str() != Some(expected.to_string().as_str()) {
            return Err(ChainError::Rpc(format!(
                "the RPC node is not on {network} (genesis {genesis})"
            )));
        }
        let credentials = rpc.basic_credentials().ok_or_else(|| {
            ChainError::Rpc("the RPC client needs Basic auth (cookie or user/password)".into())
        })?;
        let addr = rpc.addr();
        let endpoint = HttpEndpoint::for_host(addr.ip().to_string()).with_port(addr.port());
        let blocks = Arc::new(BlockSyncRpc::new(credentials, endpoint));
        let chain = Arc::new(Self {
            rpc,
            blocks,
            network,
            fee_rate: Arc::new(AtomicU32::new(MIN_FEE_RATE_SAT_PER_KW)),
            runtime: tokio::runtime::Handle::current(),
        });
        chain.refresh_fee_rate().await;
        Ok(chain)
    }

    async fn refresh_fee_rate(&self) {
        refresh_fee_rate(&self.rpc, &self.fee_rate).await;
    }
}

async fn refresh_fee_rate(rpc: &RpcClient, fee_rate: &AtomicU32) {
    if let Ok(estimate) = rpc.call("estimatesmartfee", json!([6])).await
        && let Some(btc_per_kvb) = estimate.get("feerate").and_then(|v| v.as_f64())
    {
        // BTC per 1000 vbytes → sat per 1000 weight units.
        let sat_per_kw = (btc_per_kvb * 100_000_000.0 / 4.0).round() as u32;
        fee_rate.store(sat_per_kw.max(MIN_FEE_RATE_SAT_PER_KW), Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl ChainSource for BitcoindChain {
    fn network(&self) -> Network {
        self.network
    }

    async fn tip(&self) -> Result<BestBlock, ChainError> {
        let (hash, height) = self.blocks.get_best_block().await.map_err(sync_err)?;
        let height = height.ok_or_else(|| ChainError::Rpc("no tip height".into()))?;
        Ok(BestBlock::new(hash, height))
    }

    async fn catch_up(
        &self,
        listeners: &[(BestBlock, &(dyn Listen + Send + Sync))],
    ) -> Result<BestBlock, ChainError> {
        let mut cache = HeaderCache::default();
        let listeners = listeners
            .iter()
            .map(|(best, listener)| (best.block_hash, *listener))
            .collect();
        let tip = synchronize_listeners(&*self.blocks, self.network, &mut cache, listeners)
            .await
            .map_err(sync_err)?;
        Ok(BestBlock::new(tip.header.block_hash(), tip.height))
    }

    async fn subscribe(&self, from: BestBlock, live: SharedListener) -> Result<(), ChainError> {
        // Up to the current tip now (the caller sees a synced listener), then polled.
        let mut cache = HeaderCache::default();
        let tip = synchronize_listeners(
            &*self.blocks,
            self.network,
            &mut cache,
            vec![(from.block_hash, &*live)],
        )
        .await
        .map_err(sync_err)?;
        let blocks = self.blocks.clone();
        let network = self.network;
        let rpc = self.rpc.clone();
        let fee_rate = self.fee_rate.clone();
        self.runtime.spawn(async move {
            let poller = ChainPoller::new(blocks, network);
            let mut spv = SpvClient::new(tip, poller, &mut cache, &*live);
            loop {
                match spv.poll_best_tip().await {
                    Ok((_, true)) => refresh_fee_rate(&rpc, &fee_rate).await,
                    Ok((_, false)) => {}
                    Err(e) => tracing::warn!("bitcoind chain feed: {}", e.into_inner()),
                }
                tokio::time::sleep(POLL_INTERVAL).await;
            }
        });
        Ok(())
    }

    fn broadcast(&self, tx: &Transaction) {
        let rpc = self.rpc.clone();
        let hex_tx = hex::encode(bitcoin::consensus::serialize(tx));
        let txid = tx.compute_txid();
        self.runtime.spawn(async move {
            match rpc.call("sendrawtransaction", json!([hex_tx])).await {
                Ok(_) => tracing::debug!(%txid, "broadcast"),
                Err(e) => tracing::warn!(%txid, "broadcast refused: {e}"),
            }
        });
    }

    fn fee_rate_sat_per_kw(&self, _target: ConfirmationTarget) -> u32 {
        self.fee_rate.load(Ordering::Relaxed)
    }
}

//! A chain source on Bitcoin Core's RPC (or the dev chain's, which speaks it): blocks fetched
//! by height and linked by `prev_blockhash`, each header's proof of work checked, the tip
//! polled (Core pushes nothing over RPC), transactions sent with `sendrawtransaction`, fee rates
//! from `estimatesmartfee`. Restart-safe: every listener resumes from its own best block.
//!
//! Not yet: reorganisations (a listener whose best block left the chain gets
//! [`ChainError::NotOnThisChain`]; lightning-block-sync's `SpvClient` is the planned
//! replacement for the feed below).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bitcoin::consensus::deserialize;
use bitcoin::{Block, BlockHash, Network, Transaction};
use lightning::chain::chaininterface::ConfirmationTarget;
use lightning::chain::{BestBlock, Listen};
use serde_json::json;

use super::rpc_client::{RpcCallError, RpcClient};
use super::{ChainError, ChainSource, MIN_FEE_RATE_SAT_PER_KW, SharedListener};

/// How often the tip is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Bitcoin Core (or the dev chain) over JSON-RPC.
pub struct BitcoindChain {
    rpc: RpcClient,
    network: Network,
    fee_rate: Arc<AtomicU32>,
    runtime: tokio::runtime::Handle,
}

fn rpc_err(e: RpcCallError) -> ChainError {
    ChainError::Rpc(e.to_string())
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
        let chain = Arc::new(Self {
            rpc,
            network,
            fee_rate: Arc::new(AtomicU32::new(MIN_FEE_RATE_SAT_PER_KW)),
            runtime: tokio::runtime::Handle::current(),
        });
        chain.refresh_fee_rate().await;
        Ok(chain)
    }

    async fn refresh_fee_rate(&self) {
        if let Ok(estimate) = self.rpc.call("estimatesmartfee", json!([6])).await
            && let Some(btc_per_kvb) = estimate.get("feerate").and_then(|v| v.as_f64())
        {
            // BTC per 1000 vbytes → sat per 1000 weight units.
            let sat_per_kw = (btc_per_kvb * 100_000_000.0 / 4.0).round() as u32;
            self.fee_rate
                .store(sat_per_kw.max(MIN_FEE_RATE_SAT_PER_KW), Ordering::Relaxed);
        }
    }

    async fn hash_at(&self, height: u32) -> Result<BlockHash, ChainError> {
        let hash = self
            .rpc
            .call("getblockhash", json!([height]))
            .await
            .map_err(rpc_err)?;
        hash.as_str()
            .and_then(|h| h.parse().ok())
            .ok_or_else(|| ChainError::Rpc(format!("bad block hash {hash}")))
    }

    async fn block(&self, hash: &BlockHash) -> Result<Block, ChainError> {
        let hex_block = self
            .rpc
            .call("getblock", json!([hash.to_string(), 0]))
            .await
            .map_err(rpc_err)?;
        let block: Block = hex_block
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| deserialize(&b).ok())
            .ok_or_else(|| ChainError::Rpc(format!("block {hash} does not decode")))?;
        if block.block_hash() != *hash || block.header.validate_pow(block.header.target()).is_err()
        {
            return Err(ChainError::Rpc(format!("block {hash} fails proof of work")));
        }
        Ok(block)
    }

    /// Feed `listener` the blocks after `from` up to `to`, checking every link.
    async fn feed(
        &self,
        from: BestBlock,
        to: u32,
        listener: &(dyn Listen + Send + Sync),
    ) -> Result<BestBlock, ChainError> {
        if self.hash_at(from.height).await? != from.block_hash {
            return Err(ChainError::NotOnThisChain {
                hash: from.block_hash,
                height: from.height,
            });
        }
        let mut at = from;
        for height in from.height + 1..=to {
            let hash = self.hash_at(height).await?;
            let block = self.block(&hash).await?;
            if block.header.prev_blockhash != at.block_hash {
                return Err(ChainError::NotOnThisChain {
                    hash: at.block_hash,
                    height: at.height,
                });
            }
            listener.block_connected(&block, height);
            at = BestBlock::new(hash, height);
        }
        Ok(at)
    }
}

#[async_trait::async_trait]
impl ChainSource for BitcoindChain {
    fn network(&self) -> Network {
        self.network
    }

    async fn tip(&self) -> Result<BestBlock, ChainError> {
        let height = self
            .rpc
            .call("getblockcount", json!([]))
            .await
            .map_err(rpc_err)?
            .as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .ok_or_else(|| ChainError::Rpc("bad block count".into()))?;
        Ok(BestBlock::new(self.hash_at(height).await?, height))
    }

    async fn catch_up(
        &self,
        listeners: &[(BestBlock, &(dyn Listen + Send + Sync))],
    ) -> Result<BestBlock, ChainError> {
        let tip = self.tip().await?;
        for (from, listener) in listeners {
            self.feed(*from, tip.height, *listener).await?;
        }
        Ok(tip)
    }

    async fn subscribe(&self, from: BestBlock, live: SharedListener) -> Result<(), ChainError> {
        let chain = Self {
            rpc: self.rpc.clone(),
            network: self.network,
            fee_rate: self.fee_rate.clone(),
            runtime: self.runtime.clone(),
        };
        let mut at = chain.feed(from, self.tip().await?.height, &*live).await?;
        let shared = Arc::new(chain);
        let poller = shared.clone();
        self.runtime.spawn(async move {
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let Ok(tip) = poller.tip().await else {
                    continue;
                };
                if tip.height > at.height {
                    match poller.feed(at, tip.height, &*live).await {
                        Ok(next) => at = next,
                        Err(e) => tracing::error!("bitcoind chain feed: {e}"),
                    }
                    poller.refresh_fee_rate().await;
                }
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

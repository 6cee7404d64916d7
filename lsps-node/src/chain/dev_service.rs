//! The dev chain as a service other processes follow: its Bitcoin Core RPC on loopback, the URL
//! and cookie written into the chain dir (`rpc.url`, `.cookie`), blocks on an interval and on
//! demand, and a faucet wallet answering `getnewaddress`/`sendtoaddress`/`getbalance`.
//!
//! Standalone (`lsps-server dev chain`): [`DevChainService::start`] opens the chain and its own
//! faucet in the dir. Embedded in a dev server: [`DevChainService::serve`] with the server's
//! chain and wallet.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::Network;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::rpc_server::{self, RpcServeError, RpcServer, RpcServerConfig};
use super::{ChainError, DevChain};
use crate::seed::{SeedError, load_or_create_seed};
use crate::wallet::{OnchainWallet, WalletError};

/// File in the chain dir holding the RPC URL.
pub const RPC_URL_FILE: &str = "rpc.url";
/// File in the chain dir holding the RPC cookie.
pub const COOKIE_FILE: &str = ".cookie";
/// Blocks a fresh standalone chain gets, so the faucet has mature coinbase outputs.
pub const BOOTSTRAP_BLOCKS: u32 = 101;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct DevChainServiceConfig {
    /// The chain dir (blocks, cookie, URL file; the standalone faucet's seed and wallet).
    pub dir: PathBuf,
    /// RPC listen address (loopback; port 0 picks a free port).
    pub rpc_listen: SocketAddr,
    /// Mine one block to the faucet this often; `None`: only on demand.
    pub block_interval: Option<Duration>,
    /// Also accept these RPC credentials besides the cookie.
    pub user_password: Option<(String, String)>,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevServiceError {
    /// The chain failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The faucet's seed failed.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The faucet wallet failed.
    #[error(transparent)]
    Wallet(#[from] WalletError),
    /// The RPC server failed to start.
    #[error(transparent)]
    Rpc(#[from] RpcServeError),
    /// Writing the URL file failed.
    #[error("writing {path}: {source}")]
    UrlFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A running dev chain service.
pub struct DevChainService {
    /// The chain.
    pub chain: Arc<DevChain>,
    /// The wallet paid by interval blocks and spent by `sendtoaddress`.
    pub faucet: Arc<OnchainWallet>,
    rpc: RpcServer,
    stop: watch::Sender<bool>,
    miner: Option<JoinHandle<()>>,
}

impl DevChainService {
    /// Open the chain in `config.dir` with its own faucet wallet (mining [`BOOTSTRAP_BLOCKS`] to
    /// it on a fresh chain) and serve it.
    pub async fn start(config: DevChainServiceConfig) -> Result<Self, DevServiceError> {
        let chain = Arc::new(DevChain::open(&config.dir).map_err(ChainError::Storage)?);
        let seed = load_or_create_seed(&config.dir.join("faucet.seed"))?;
        let faucet = Arc::new(OnchainWallet::open(
            &config.dir.join("faucet.log"),
            &seed,
            Network::Regtest,
        )?);
        let tip = chain.catch_up_now(&[(faucet.best_block()?, &*faucet)])?;
        chain.subscribe_now(tip, faucet.clone())?;
        if tip.height < BOOTSTRAP_BLOCKS {
            let script = faucet.new_address()?.script_pubkey();
            chain
                .mine(BOOTSTRAP_BLOCKS - tip.height, &script)
                .map_err(ChainError::Storage)?;
        }
        Self::serve(chain, faucet, config).await
    }

    /// Serve `chain` (already followed by `faucet`): RPC, URL file, interval blocks.
    pub async fn serve(
        chain: Arc<DevChain>,
        faucet: Arc<OnchainWallet>,
        config: DevChainServiceConfig,
    ) -> Result<Self, DevServiceError> {
        let (stop, stop_rx) = watch::channel(false);
        let rpc = rpc_server::serve(
            chain.clone(),
            Some(faucet.clone()),
            RpcServerConfig {
                listen: config.rpc_listen,
                cookie_file: config.dir.join(COOKIE_FILE),
                user_password: config.user_password.clone(),
            },
            stop_rx.clone(),
        )
        .await?;
        let url_file = config.dir.join(RPC_URL_FILE);
        let tmp = url_file.with_extension("tmp");
        std::fs::write(&tmp, rpc.url())
            .and_then(|()| std::fs::rename(&tmp, &url_file))
            .map_err(|source| DevServiceError::UrlFile {
                path: url_file.clone(),
                source,
            })?;
        let miner = match config.block_interval {
            Some(every) if !every.is_zero() => {
                let script = faucet.new_address()?.script_pubkey();
                Some(tokio::spawn(mine_every(
                    chain.clone(),
                    script,
                    every,
                    stop_rx,
                )))
            }
            _ => None,
        };
        Ok(Self {
            chain,
            faucet,
            rpc,
            stop,
            miner,
        })
    }

    /// `http://ADDR` of the RPC.
    pub fn rpc_url(&self) -> String {
        self.rpc.url()
    }

    /// The cookie file.
    pub fn cookie_file(&self) -> &Path {
        &self.rpc.cookie_file
    }

    /// Stop mining and serving.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Some(miner) = self.miner {
            let _ = miner.await;
        }
        self.rpc.stopped().await;
    }
}

async fn mine_every(
    chain: Arc<DevChain>,
    script: bitcoin::ScriptBuf,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let (chain, script) = (chain.clone(), script.clone());
                match tokio::task::spawn_blocking(move || chain.mine(1, &script)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!("dev chain: mining failed: {e}"),
                    Err(e) => tracing::error!("dev chain: miner task: {e}"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

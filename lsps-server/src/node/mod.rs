//! The server's LDK node: the workspace's node kit (`lsps_node`) carrying the 37913 handler,
//! LDK settings for an LSP and the LSP's reaction to LDK events. What the service asks of the
//! node ([`crate::service::NodeOps`]) is implemented in `crate::ldk_ops`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use lightning::events::{Event, ReplayEvent};
use lightning::util::config::UserConfig;
use lsps_node::NodeConfig;
use lsps_node::chain::{ChainSource, DevChain};
use tokio::sync::watch;

use crate::transport::bolt8::LspsMessageHandler;

pub use lsps_node::LdkLogger;
pub use lsps_node::seed::load_or_create_seed;

/// The server's node: the kit's node with the LSPS message handler.
pub type Node = lsps_node::Node<LspsMessageHandler>;

/// How many blocks a fresh dev chain gets, so the wallet has mature coinbase outputs.
pub const DEV_CHAIN_BOOTSTRAP_BLOCKS: u32 = 101;

/// LDK settings of the LSP.
pub fn lsp_user_config() -> UserConfig {
    let mut config = UserConfig {
        // JIT channels (LSPS2) are opened on intercepted HTLCs to `get_intercept_scid` SCIDs.
        accept_intercept_htlcs: true,
        // Clients' channels are unannounced (JIT channels must be); without this LDK refuses
        // every forward to them (`PrivateChannelForward`).
        accept_forwards_to_priv_channels: true,
        ..Default::default()
    };
    // Closing outputs go to the node's own scripts and are swept into the wallet.
    config
        .channel_handshake_config
        .commit_upfront_shutdown_pubkey = false;
    config
        .channel_handshake_config
        .max_inbound_htlc_value_in_flight_percent_of_channel = 100;
    config
}

/// Start the node in `data_dir` on `chain`, answering 37913 through `lsps_handler`.
pub async fn start(
    data_dir: &Path,
    chain: Arc<dyn ChainSource>,
    lsps_handler: Arc<LspsMessageHandler>,
) -> anyhow::Result<Arc<Node>> {
    let config = NodeConfig {
        user_config: lsp_user_config(),
        ..NodeConfig::new(data_dir)
    };
    Ok(Node::start(config, chain, lsps_handler).await?)
}

/// Connect to the Bitcoin Core RPC endpoint of `config`.
pub async fn connect_bitcoind(
    config: &crate::config::BitcoindConfig,
) -> anyhow::Result<Arc<dyn ChainSource>> {
    use lsps_node::chain::bitcoind::BitcoindChain;
    use lsps_node::chain::rpc_client::RpcClient;
    let network: bitcoin::Network = config
        .network
        .parse()
        .with_context(|| format!("unknown network {}", config.network))?;
    let rpc = match (&config.cookie_file, &config.user, &config.password) {
        (Some(cookie), None, None) => RpcClient::with_cookie(&config.rpc_url, cookie)?,
        (None, Some(user), Some(password)) => {
            RpcClient::new(&config.rpc_url, &format!("{user}:{password}"))?
        }
        _ => anyhow::bail!("bitcoind RPC needs a cookie file or a user and a password"),
    };
    let chain = BitcoindChain::connect(rpc, network)
        .await
        .with_context(|| format!("connecting to {}", config.rpc_url))?;
    Ok(chain)
}

/// Open the embedded dev chain of `data_dir` (`<data_dir>/devchain`).
pub fn open_dev_chain(data_dir: &Path) -> anyhow::Result<Arc<DevChain>> {
    Ok(Arc::new(
        DevChain::open(&data_dir.join("devchain")).context("opening dev chain")?,
    ))
}

/// Mine until the dev chain has [`DEV_CHAIN_BOOTSTRAP_BLOCKS`], paying `node`'s wallet.
pub fn bootstrap_dev_chain(node: &Node, chain: &DevChain) -> anyhow::Result<()> {
    let height = chain.best_block().height;
    if height < DEV_CHAIN_BOOTSTRAP_BLOCKS {
        let script = node.wallet.new_address()?.script_pubkey();
        chain.mine(DEV_CHAIN_BOOTSTRAP_BLOCKS - height, &script)?;
    }
    Ok(())
}

/// The LSP's part of LDK's events (the kit funds, accepts and sweeps before this is called):
/// the LSPS2 JIT flows (`crate::jit`, which acknowledge an event only once their step is
/// durable) and the LSPS1 orders (`crate::orders`).
pub fn lsp_events(
    orders: crate::orders::Orders,
    jit: crate::jit::JitEngine,
) -> impl Fn(&Event) -> Result<(), ReplayEvent> + Send + Sync + 'static {
    move |event| {
        jit.on_ldk_event(event)?;
        orders.on_event(event)
    }
}

/// Run the node's event loop with the LSP's reactions until `shutdown` flips.
pub async fn run_events(
    node: Arc<Node>,
    orders: crate::orders::Orders,
    jit: crate::jit::JitEngine,
    shutdown: watch::Receiver<bool>,
) {
    let app = lsp_events(orders, jit);
    node.run_events(shutdown, app).await
}

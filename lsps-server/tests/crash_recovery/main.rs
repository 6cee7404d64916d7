//! Money safety across a real crash: the reference LSP runs as a child process
//! (`lsps-server` built with `faults`), is stopped at each named crash point
//! (`lsps_server::crash`: `LSPS_CRASH_AT=<point>` aborts there; `<point>:pause` stops there and
//! the test sends SIGKILL), and is restarted on the same data dir without the variable. The
//! chain is its own process (`lsps-server dev chain`), so it outlives the LSP; the payer and
//! the client are nodes in this process following the chain over RPC, as a wallet would.
//!
//! After each restart the recovery checks: the payer's payment ends (paid exactly once, or
//! failed back — never left pending), nothing is left in flight on the payer's channel, the
//! client has at most one channel from the LSP (exactly one when paid), the fee is taken once
//! (JIT: the client's skim equals the promised fee, the flow's `fee_taken_msat` too), and the
//! order or buy ends in its final state (COMPLETED with PAID / FAILED with REFUNDED; DONE /
//! failed parts).
//!
//! Requirements checked here across a crash and restart: LSPS1-R35 and LSPS1-R40 (the held
//! payment is claimed only after the channel is open, exactly once), LSPS1-R41 and LSPS1-R65
//! (a failed open fails the payment back: REFUNDED, FAILED), LSPS1-R64 (COMPLETED with its
//! channel), LSPS2-R45 (one channel per payment, opened only with the parts in), LSPS2-R51
//! (an open that did not survive is treated as a client gone before `funding_signed`: the parts
//! are failed and the buy waits again), LSPS2-R61 and LSPS2-R62 (the forwarded payment carries
//! exactly the promised fee as skim, once).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::secp256k1::PublicKey;
use lightning::bolt11_invoice::Bolt11Invoice;
use lightning_liquidity::LiquidityClientConfig;
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps1::client::LSPS1ClientConfig;
use lightning_liquidity::lsps1::event::LSPS1ClientEvent;
use lightning_liquidity::lsps1::msgs::LSPS1OrderParams;
use lsps_core::lsps1::{OrderFlow, OrderState, PaymentKind, PaymentState};
use lsps_core::lsps2::{JitFlow, JitState};
use lsps_node::NodeConfig;
use lsps_node::chain::ChainSource;
use lsps_node::chain::bitcoind::BitcoindChain;
use lsps_node::chain::rpc_client::RpcClient;
use lsps_server::crash;
use serde_json::{Value, json};
use testkit::ldk_client::LdkClient;
use testkit::ldk_node::{LdkNode, build_node_on, message_pump};
use testkit::payer::{Payer, PaymentOutcome, RpcMiner};

/// The longest one step may take (generous: CI runs on 2 loaded cores).
const WAIT: Duration = Duration::from_secs(60);
/// The payer's channel to the LSP.
const PAYER_CHANNEL_SAT: u64 = 2_000_000;
/// What the LSP's wallet is given to open channels with.
const LSP_FUNDS_BTC: f64 = 0.5;

#[path = "../support/mod.rs"]
mod support;
use support::{DevChainProcess, Kill};

fn wait_for_file(path: &Path) -> String {
    support::wait_for_file(path, WAIT)
}

/// `lsps-server dev chain` in its own process, and an RPC view of it for this process.
struct ChainProcess {
    _process: Kill,
    url: String,
    cookie: PathBuf,
    rpc: RpcClient,
    source: Arc<BitcoindChain>,
}

impl ChainProcess {
    async fn start(dir: &Path) -> Self {
        let chain = DevChainProcess::start(&dir.join("chain"), &dir.join("chain.json"));
        let rpc = RpcClient::with_cookie(&chain.rpc_url, &chain.cookie_file).unwrap();
        let source = BitcoindChain::connect(rpc.clone(), bitcoin::Network::Regtest)
            .await
            .unwrap();
        Self {
            url: chain.rpc_url.clone(),
            cookie: chain.cookie_file.clone(),
            _process: chain.process,
            rpc,
            source,
        }
    }

    fn miner(&self) -> RpcMiner {
        RpcMiner {
            rpc: self.rpc.clone(),
            network: bitcoin::Network::Regtest,
        }
    }

    async fn mine(&self, blocks: u32) {
        let to = self.rpc.call("getnewaddress", json!([])).await.unwrap();
        self.rpc
            .call("generatetoaddress", json!([blocks, to]))
            .await
            .unwrap();
    }
}

/// The reference LSP as a child process on a fixed data dir and BOLT8 port, restartable.
struct LspProcess {
    data_dir: PathBuf,
    listen: SocketAddr,
    node_id: PublicKey,
    chain_url: String,
    chain_cookie: PathBuf,
    config_file: Option<PathBuf>,
    process: Option<Kill>,
    /// The current run's stderr (the server's log).
    log: PathBuf,
    runs: u32,
}

/// A free loopback port (the OS's pick, released for the LSP to bind).
fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

impl LspProcess {
    /// First start in this process (to fund the wallet and, with `payer`, give the payer its
    /// channel), then stopped: the data dir is ready for child processes.
    async fn prepare(dir: &Path, chain: &ChainProcess, payer: Option<&Payer>) -> Self {
        let data_dir = dir.join("lsp");
        let listen = free_port();
        let mut config = lsps_server::config::ServerConfig::ephemeral(&data_dir);
        config.listen = listen;
        config.http_listen = None;
        config.admin_listen = None;
        config.bitcoind = Some(lsps_server::config::BitcoindConfig {
            rpc_url: chain.url.clone(),
            cookie_file: Some(chain.cookie.clone()),
            user: None,
            password: None,
            network: "regtest".into(),
        });
        let server = lsps_server::ReferenceServer::start(config).await.unwrap();
        let address = server.node().wallet.new_address().unwrap();
        chain
            .rpc
            .call("sendtoaddress", json!([address.to_string(), LSP_FUNDS_BTC]))
            .await
            .unwrap();
        match payer {
            Some(payer) => tokio::time::timeout(
                WAIT,
                payer.ensure_channel(
                    server.node_id(),
                    listen,
                    PAYER_CHANNEL_SAT,
                    500_000_000,
                    &chain.miner(),
                ),
            )
            .await
            .expect("payer set-up in time")
            .expect("payer channel"),
            None => chain.mine(1).await,
        }
        // The payer's blocks confirmed the LSP's coins too.
        let deadline = Instant::now() + WAIT;
        while server.node().wallet.balance().confirmed.to_sat() == 0 {
            assert!(Instant::now() < deadline, "the LSP's coins never confirmed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let node_id = server.node_id();
        server.shutdown().await;
        Self {
            data_dir,
            listen,
            node_id,
            chain_url: chain.url.clone(),
            chain_cookie: chain.cookie.clone(),
            config_file: None,
            process: None,
            log: PathBuf::new(),
            runs: 0,
        }
    }

    /// Start the child (with `LSPS_CRASH_AT=crash_at` when given) and wait until it accepts.
    fn spawn(&mut self, crash_at: Option<&str>) {
        self.runs += 1;
        let ready = self.data_dir.join("ready.json");
        let _ = std::fs::remove_file(&ready);
        let _ = std::fs::remove_file(self.data_dir.join("admin.json"));
        self.log = self
            .data_dir
            .with_file_name(format!("lsp-run-{}.log", self.runs));
        let log = std::fs::File::create(&self.log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_lsps-server"));
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", &self.listen.to_string(), "--no-http"])
            .args(["--admin-listen", "127.0.0.1:0"])
            .args(["--chain", "bitcoind", "--bitcoind-rpc", &self.chain_url])
            .arg("--bitcoind-cookie")
            .arg(&self.chain_cookie)
            .args(["--network", "regtest", "--log"])
            // CRASH_TEST_LOG widens the child's log when a failure needs LDK's side of it.
            .arg(std::env::var("CRASH_TEST_LOG").unwrap_or_else(|_| "info,ldk=warn".into()))
            .arg("--ready-file")
            .arg(&ready)
            .env_remove(crash::ENV)
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(config) = &self.config_file {
            command.arg("--config").arg(config);
        }
        if let Some(point) = crash_at {
            command.env(crash::ENV, point);
        }
        self.process = Some(Kill(command.spawn().unwrap()));
        let ready: Value = serde_json::from_str(&wait_for_file(&ready)).unwrap();
        assert_eq!(ready["node_id"], self.node_id.to_string());
        wait_for_file(&self.data_dir.join("admin.json"));
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// No channel was force-closed at the restart because the stored ChannelManager was older
    /// than a stored ChannelMonitor (LDK logs this at error level, which the child's filter
    /// keeps). The node kit's monitor writer (lsps-node `persist`) exists to rule this out.
    fn assert_no_stale_manager(&self, point: &str) {
        let log = self.log_text();
        assert!(
            !log.contains("ChannelManager is stale"),
            "{point}: the restart found a stale ChannelManager:\n{log}"
        );
    }

    /// Wait for the child to end by itself (the abort at `point`).
    async fn wait_aborted(&mut self, point: &str) -> ExitStatus {
        let Some(Kill(child)) = self.process.as_mut() else {
            panic!("no LSP process");
        };
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the LSP never reached {point}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        self.process = None;
        let log = self.log_text();
        assert_eq!(
            status.signal(),
            Some(libc_sigabrt()),
            "the LSP should abort at {point}: {status:?}\n{log}"
        );
        assert!(
            log.contains("crashing on purpose") && log.contains(point),
            "the abort was not at {point}:\n{log}"
        );
        status
    }

    /// Wait until the child pauses at `point`, then `kill -9` it.
    async fn kill_when_paused(&mut self, point: &str) -> ExitStatus {
        let line = format!("{}: {point}", crash::PAUSED);
        let deadline = Instant::now() + WAIT;
        while !self.log_text().contains(&line) {
            assert!(
                Instant::now() < deadline,
                "the LSP never paused at {point}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Some(mut process) = self.process.take() else {
            panic!("no LSP process");
        };
        let child = &mut process.0;
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "{status:?}");
        status
    }

    /// The child ended by the crash at `point` (`pause`: killed with SIGKILL there).
    async fn crashed_at(&mut self, point: &str, pause: bool) {
        let status = if pause {
            self.kill_when_paused(point).await
        } else {
            self.wait_aborted(point).await
        };
        eprintln!("LSP stopped at {point}: {status:?}");
    }

    /// `GET path` on the running child's admin listener, retried while it starts.
    async fn admin(&self, path: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            match testkit::admin::get(&self.data_dir, path).await {
                Ok(value) => return value,
                Err(e) => assert!(Instant::now() < deadline, "admin {path}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for LspProcess {
    /// A failing test shows the LSP's log of every run (any test with `CRASH_TEST_LOGS=1`).
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("CRASH_TEST_LOGS").is_some() {
            for run in 1..=self.runs {
                let log = self.data_dir.with_file_name(format!("lsp-run-{run}.log"));
                eprintln!(
                    "---- LSP run {run} log ----\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }
}

/// SIGABRT's number (6 on every Unix this runs on).
fn libc_sigabrt() -> i32 {
    6
}

/// Wait until `done` holds (evaluated on fresh data each time), at most [`WAIT`].
async fn wait_until<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        match done().await {
            Ok(()) => return,
            Err(state) => assert!(Instant::now() < deadline, "{what}: {state}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Nothing the payer sent is still in flight on its channels to the LSP (every HTLC was
/// claimed or failed back).
async fn assert_nothing_in_flight(payer: &Payer, lsp: &PublicKey) {
    wait_until("payer HTLCs settle", || async {
        let pending: usize = payer
            .node()
            .channel_manager
            .list_channels_with_counterparty(lsp)
            .iter()
            .map(|c| c.pending_outbound_htlcs.len())
            .sum();
        if pending == 0 {
            Ok(())
        } else {
            Err(format!("{pending} outbound HTLCs pending"))
        }
    })
    .await;
}

/// One test's processes and nodes: chain process, LSP child, payer with a usable channel.
struct Net {
    chain: ChainProcess,
    lsp: LspProcess,
    payer: Payer,
    _dir: tempfile::TempDir,
}

impl Net {
    async fn start() -> Self {
        Self::start_with(true).await
    }

    /// `payer_channel`: whether the payer gets a channel to the LSP (on-chain tests need none).
    async fn start_with(payer_channel: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let chain = ChainProcess::start(dir.path()).await;
        let payer = Payer::start(
            &dir.path().join("payer"),
            chain.source.clone() as Arc<dyn ChainSource>,
        )
        .await
        .unwrap();
        let lsp = LspProcess::prepare(dir.path(), &chain, payer_channel.then_some(&payer)).await;
        Self {
            chain,
            lsp,
            payer,
            _dir: dir,
        }
    }

    /// Connect the payer to the (re)started LSP and wait until its channel is usable again
    /// (`channel_reestablish` done; LDK raises no event for that, so this looks).
    async fn reconnect_payer(&self) {
        let lsp = self.lsp.node_id;
        self.payer
            .node()
            .connect(lsp, self.lsp.listen, WAIT)
            .await
            .unwrap();
        let deadline = Instant::now() + WAIT;
        while self.payer.usable_channels_to(&lsp).is_empty() {
            assert!(
                Instant::now() < deadline,
                "the payer's channel never became usable again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Pay `invoice` in the background (LDK retries within [`WAIT`]).
    fn pay(
        &self,
        invoice: &Bolt11Invoice,
        amount_msat: Option<u64>,
    ) -> tokio::task::JoinHandle<PaymentOutcome> {
        let node = self.payer.node().clone();
        let invoice = invoice.clone();
        tokio::spawn(async move {
            node.pay_bolt11(&invoice, amount_msat, WAIT)
                .await
                .expect("payment started")
        })
    }
}

async fn outcome_of(
    pay: tokio::task::JoinHandle<PaymentOutcome>,
    lsp: &LspProcess,
) -> PaymentOutcome {
    match tokio::time::timeout(WAIT + Duration::from_secs(10), pay).await {
        Ok(Ok(outcome)) => outcome,
        other => panic!(
            "the payer's payment did not end: {other:?}\nLSP log since the restart:\n{}",
            lsp.log_text()
        ),
    }
}

impl LspProcess {
    /// Wait until the running child logged `line`.
    async fn wait_log(&self, line: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.log_text().contains(line) {
            assert!(
                Instant::now() < deadline,
                "the LSP never logged {line:?}:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Send SIGTERM and wait for a clean exit.
    async fn terminate(&mut self) -> Duration {
        let Some(mut process) = self.process.take() else {
            panic!("no LSP process");
        };
        let child = &mut process.0;
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + WAIT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "no exit after SIGTERM:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert!(status.success(), "{status:?}\n{}", self.log_text());
        sent.elapsed()
    }
}

mod jit;
mod lsps1;

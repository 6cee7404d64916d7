//! `lsps-server`: the reference LSP. With no arguments it starts a dev LSP on 127.0.0.1 (BOLT8
//! 9735, HTTP 9736) with data in `./lsps-data`, LSPS0/1/2 enabled.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use lsps_server::ReferenceServer;
use lsps_server::config::{MenuEntryConfig, ServerConfig};

/// The reference LSP (LSPS0/1/2 over BOLT8 and HTTP) on an embedded regtest chain.
///
/// Settings come from, in increasing priority: built-in dev defaults, the TOML file given with
/// --config, environment variables, flags. Run with --print-config to see every TOML key with
/// its current value.
#[derive(Debug, Parser)]
#[command(name = "lsps-server", version, about, long_about)]
struct Args {
    /// TOML configuration file (keys as printed by --print-config).
    #[arg(long, env = "LSPS_CONFIG")]
    config: Option<PathBuf>,

    /// Data directory: node seed, LDK state, dev chain, SQLite database [default: ./lsps-data].
    #[arg(long, env = "LSPS_DATA_DIR")]
    data_dir: Option<PathBuf>,

    /// Keep orders and buys in PostgreSQL (`postgres://user:pass@host/db`) instead of SQLite in
    /// the data directory. Several servers, each with its own data dir, may share one database.
    #[arg(long, env = "LSPS_DATABASE_URL")]
    database_url: Option<String>,

    /// BOLT8 listen address (port 0 picks a free port) [default: 127.0.0.1:9735].
    #[arg(long, env = "LSPS_LISTEN")]
    listen: Option<SocketAddr>,

    /// HTTP/WebSocket listen address (port 0 picks a free port) [default: 127.0.0.1:9736].
    #[arg(long, env = "LSPS_HTTP_LISTEN")]
    http_listen: Option<SocketAddr>,

    /// Admin listener: Prometheus /metrics and the JSON admin API (port 0 picks a free port)
    /// [default: 127.0.0.1:9737]. URL and token are written to <data-dir>/admin.json.
    #[arg(long, env = "LSPS_ADMIN_LISTEN")]
    admin_listen: Option<SocketAddr>,

    /// Disable the admin listener.
    #[arg(long, env = "LSPS_NO_ADMIN")]
    no_admin: bool,

    /// Disable the HTTP/WebSocket binding.
    #[arg(long, env = "LSPS_NO_HTTP")]
    no_http: bool,

    /// Write {"node_id","bolt8","http"} as JSON to this file once connections are accepted.
    #[arg(long, env = "LSPS_READY_FILE")]
    ready_file: Option<PathBuf>,

    /// Do not offer LSPS1.
    #[arg(long, env = "LSPS_DISABLE_LSPS1")]
    disable_lsps1: bool,

    /// Do not offer LSPS2.
    #[arg(long, env = "LSPS_DISABLE_LSPS2")]
    disable_lsps2: bool,

    /// LSPS2 menu entry, repeatable, replaces the configured menu. Format:
    /// MIN_FEE_MSAT:PROPORTIONAL_PPM:VALID_FOR_SECS:MIN_LIFETIME:MAX_CLIENT_TO_SELF_DELAY:MIN_PAYMENT_MSAT:MAX_PAYMENT_MSAT
    /// (entries in strictly increasing fee order).
    #[arg(long = "lsps2-menu-entry", value_name = "ENTRY", value_parser = parse_menu_entry)]
    lsps2_menu: Vec<MenuEntryConfig>,

    /// LSPS2 tokens accepted by get_info (comma separated); any other token gets error 200.
    #[arg(long, env = "LSPS_LSPS2_TOKENS", value_delimiter = ',')]
    lsps2_tokens: Vec<String>,

    /// LSPS2: check inbound liquidity >= payment_size_msat in buy (error 203 otherwise).
    #[arg(long, env = "LSPS_LSPS2_CHECK_INBOUND_LIQUIDITY")]
    lsps2_check_inbound_liquidity: bool,

    /// LSPS2 lsp_cltv_expiry_delta returned by buy.
    #[arg(long, env = "LSPS_LSPS2_CLTV_EXPIRY_DELTA")]
    lsps2_cltv_expiry_delta: Option<u32>,

    /// LSPS1 tokens accepted by create_order (comma separated); any other token gets error 102.
    #[arg(long, env = "LSPS_LSPS1_TOKENS", value_delimiter = ',')]
    lsps1_tokens: Vec<String>,

    /// LSPS1 max_initial_lsp_balance_sat.
    #[arg(long, env = "LSPS_LSPS1_MAX_LSP_BALANCE_SAT")]
    lsps1_max_lsp_balance_sat: Option<u64>,

    /// LSPS1 max_channel_balance_sat.
    #[arg(long, env = "LSPS_LSPS1_MAX_CHANNEL_BALANCE_SAT")]
    lsps1_max_channel_balance_sat: Option<u64>,

    /// LSPS1 fixed fee per order, sat.
    #[arg(long, env = "LSPS_LSPS1_FEE_BASE_SAT")]
    lsps1_fee_base_sat: Option<u64>,

    /// LSPS1 proportional fee, ppm of the channel size.
    #[arg(long, env = "LSPS_LSPS1_FEE_PPM")]
    lsps1_fee_ppm: Option<u64>,

    /// Requests per second allowed per peer (token bucket; over it: code 1).
    #[arg(long, env = "LSPS_PEER_REQUESTS_PER_SEC")]
    peer_requests_per_sec: Option<u32>,

    /// Requests one peer may have pending at once (over it: code 1).
    #[arg(long, env = "LSPS_MAX_PENDING_PER_PEER")]
    max_pending_per_peer: Option<usize>,

    /// Requests pending at once over all peers (over it: code 1).
    #[arg(long, env = "LSPS_MAX_PENDING_TOTAL")]
    max_pending_total: Option<usize>,

    /// Switch on a deliberate spec violation (repeatable; needs the `faults` cargo feature).
    /// --list-faults prints the names.
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,

    /// Switch on a spec-legal variation of the server's answers (repeatable; see
    /// --list-variants): behaviour the bLIPs allow that this server does not choose by default.
    #[arg(long = "variant", value_name = "NAME")]
    variants: Vec<String>,

    /// Print the variant names and exit.
    #[arg(long)]
    list_variants: bool,

    /// Print the fault names with their requirement IDs and exit.
    #[arg(long)]
    list_faults: bool,

    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,

    /// Log filter (tracing-subscriber EnvFilter syntax); an invalid filter is a start-up error.
    #[arg(long, env = "RUST_LOG", default_value = "info,ldk=warn")]
    log: String,

    /// Dev-chain RPC listen address (loopback; port 0 picks a free port) [default:
    /// 127.0.0.1:0]; URL and cookie are written to <data-dir>/devchain/rpc.url and .cookie.
    #[arg(long, env = "LSPS_DEV_RPC_LISTEN")]
    dev_rpc_listen: Option<SocketAddr>,

    /// Mine a dev-chain block this often (0: only on demand) [default: 10].
    #[arg(long, env = "LSPS_BLOCK_INTERVAL_SECS")]
    block_interval_secs: Option<u64>,

    /// Chain source: the embedded dev chain, or Bitcoin Core's RPC (--bitcoind-rpc ...).
    #[arg(long, value_enum, default_value = "dev")]
    chain: ChainKind,

    /// Bitcoin Core RPC URL (http://IP:PORT) for --chain bitcoind.
    #[arg(long, env = "LSPS_BITCOIND_RPC")]
    bitcoind_rpc: Option<String>,

    /// Cookie file for --bitcoind-rpc.
    #[arg(long, env = "LSPS_BITCOIND_COOKIE", conflicts_with = "bitcoind_user")]
    bitcoind_cookie: Option<PathBuf>,

    /// RPC user for --bitcoind-rpc (with --bitcoind-password).
    #[arg(long, env = "LSPS_BITCOIND_USER", requires = "bitcoind_password")]
    bitcoind_user: Option<String>,

    /// RPC password for --bitcoind-user.
    #[arg(long, env = "LSPS_BITCOIND_PASSWORD", requires = "bitcoind_user")]
    bitcoind_password: Option<String>,

    /// Network of --chain bitcoind: regtest, signet, testnet or bitcoin.
    #[arg(long, env = "LSPS_NETWORK", default_value = "regtest")]
    network: String,

    #[command(subcommand)]
    command: Option<Command>,

    /// Log line format on stderr: `text` (colours only when stderr is a terminal) or `json`
    /// (one object per line, for log shippers).
    #[arg(long, env = "LSPS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Async runtime worker threads [default: one per CPU]. Writes are completed on a thread
    /// of their own beside them (lsps-server/BENCHMARKS.md, session 7, compares one and two
    /// workers on two cores).
    #[arg(long, env = "LSPS_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..))]
    worker_threads: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ChainKind {
    /// The embedded regtest chain.
    Dev,
    /// Bitcoin Core (or a standalone dev chain) over JSON-RPC.
    Bitcoind,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Dev tools: the standalone regtest chain, mining and its faucet.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, clap::Subcommand)]
enum DevCommand {
    /// Run the dev chain alone, serving Bitcoin Core's RPC on loopback, so several processes
    /// (LSPs, wallets, the conformance runner) follow one chain.
    Chain {
        /// Chain dir: blocks, rpc.url, .cookie, the faucet's wallet.
        #[arg(long, default_value = "lsps-chain")]
        data_dir: PathBuf,
        /// RPC listen address (loopback only).
        #[arg(long, default_value = "127.0.0.1:18443")]
        rpc_listen: SocketAddr,
        /// Mine one block to the faucet this often (0: only on demand).
        #[arg(long, default_value_t = 10)]
        block_interval_secs: u64,
        /// Write {"rpc_url","cookie_file"} as JSON here once the RPC answers.
        #[arg(long)]
        ready_file: Option<PathBuf>,
        /// Also accept this RPC user (with --rpc-password) besides the cookie.
        #[arg(long, requires = "rpc_password")]
        rpc_user: Option<String>,
        /// Password of --rpc-user.
        #[arg(long, requires = "rpc_user")]
        rpc_password: Option<String>,
    },
    /// Mine blocks on a running dev chain (paying its faucet); prints the block hashes.
    Mine {
        /// How many blocks.
        blocks: u32,
        #[command(flatten)]
        rpc: ChainRpcArgs,
    },
    /// Pay a BOLT11 invoice from the running dev server's payer node (a channel to the LSP);
    /// prints payment hash, preimage and fees. Exit 0 paid, 1 failed, 2 no dev server.
    Pay {
        /// The invoice (e.g. the first line of `lsps lsps2 receive`).
        invoice: String,
        /// Amount for an invoice without one.
        #[arg(long)]
        amount_msat: Option<u64>,
        /// The dev server's data dir (holds admin.json).
        #[arg(long, default_value = "lsps-data")]
        data_dir: PathBuf,
        /// How long to wait for the outcome.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
        /// Print the outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Send from the dev chain's faucet to an address; prints the txid (mine a block to
    /// confirm it).
    Send {
        /// Regtest address.
        address: String,
        /// Amount in sat.
        sat: u64,
        #[command(flatten)]
        rpc: ChainRpcArgs,
    },
}

/// Which dev chain to talk to: its dir (reads rpc.url and .cookie), or a URL and cookie file.
#[derive(Debug, clap::Args)]
struct ChainRpcArgs {
    /// Chain dir holding rpc.url and .cookie [default: lsps-data/devchain, the embedded chain
    /// of a dev server started with defaults].
    #[arg(long, conflicts_with = "rpc")]
    chain_dir: Option<PathBuf>,
    /// RPC URL (http://IP:PORT); needs --cookie.
    #[arg(long, requires = "cookie")]
    rpc: Option<String>,
    /// Cookie file for --rpc.
    #[arg(long)]
    cookie: Option<PathBuf>,
}

impl ChainRpcArgs {
    fn client(&self) -> anyhow::Result<lsps_node::chain::rpc_client::RpcClient> {
        use lsps_node::chain::dev_service::{COOKIE_FILE, RPC_URL_FILE};
        use lsps_node::chain::rpc_client::RpcClient;
        if let (Some(url), Some(cookie)) = (&self.rpc, &self.cookie) {
            return Ok(RpcClient::with_cookie(url, cookie)?);
        }
        let dir = self
            .chain_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("lsps-data").join("devchain"));
        let url_file = dir.join(RPC_URL_FILE);
        let url = std::fs::read_to_string(&url_file)
            .with_context(|| format!("reading {} (is the chain running?)", url_file.display()))?;
        Ok(RpcClient::with_cookie(url.trim(), &dir.join(COOKIE_FILE))?)
    }
}

async fn run_dev(command: DevCommand, log: &str, log_format: LogFormat) -> anyhow::Result<()> {
    use lsps_node::chain::dev_service::{DevChainService, DevChainServiceConfig};
    use serde_json::json;
    match command {
        DevCommand::Chain {
            data_dir,
            rpc_listen,
            block_interval_secs,
            ready_file,
            rpc_user,
            rpc_password,
        } => {
            init_logging(log, log_format)?;
            let service = DevChainService::start(DevChainServiceConfig {
                dir: data_dir,
                rpc_listen,
                block_interval: Some(std::time::Duration::from_secs(block_interval_secs)),
                user_password: rpc_user.zip(rpc_password),
            })
            .await?;
            println!("rpc:    {}", service.rpc_url());
            println!("cookie: {}", service.cookie_file().display());
            println!("height: {}", service.chain.best_block().height);
            if let Some(path) = &ready_file {
                let ready = json!({
                    "rpc_url": service.rpc_url(),
                    "cookie_file": service.cookie_file(),
                });
                let tmp = path.with_extension("tmp");
                std::fs::write(&tmp, ready.to_string())?;
                std::fs::rename(&tmp, path)?;
            }
            wait_for_signal().await;
            service.shutdown().await;
        }
        DevCommand::Mine { blocks, rpc } => {
            let client = rpc.client()?;
            let address = client.call("getnewaddress", json!([])).await?;
            let hashes = client
                .call("generatetoaddress", json!([blocks, address]))
                .await?;
            for hash in hashes.as_array().into_iter().flatten() {
                println!("{}", hash.as_str().unwrap_or_default());
            }
        }
        DevCommand::Pay {
            invoice,
            amount_msat,
            data_dir,
            timeout_secs,
            json: as_json,
        } => {
            let code = dev_pay(&invoice, amount_msat, &data_dir, timeout_secs, as_json).await;
            std::process::exit(code);
        }
        DevCommand::Send { address, sat, rpc } => {
            let client = rpc.client()?;
            let btc = bitcoin::Amount::from_sat(sat).to_btc();
            let txid = client.call("sendtoaddress", json!([address, btc])).await?;
            println!("{}", txid.as_str().unwrap_or_default());
        }
    }
    Ok(())
}

/// `dev pay`: ask the dev server's admin listener (found through `<data_dir>/admin.json`) to
/// pay; the exit code (0 paid, 1 failed, 2 no dev server or a bad request).
async fn dev_pay(
    invoice: &str,
    amount_msat: Option<u64>,
    data_dir: &std::path::Path,
    timeout_secs: u64,
    as_json: bool,
) -> i32 {
    use lsps_server::dev_payer::PayReport;
    let admin_file = data_dir.join(lsps_server::admin::ADMIN_FILE);
    let admin: serde_json::Value = match std::fs::read_to_string(&admin_file)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
    {
        Ok(admin) => admin,
        Err(e) => {
            eprintln!(
                "no dev server found: {} ({e}); start `lsps-server` in this directory or pass --data-dir",
                admin_file.display()
            );
            return 2;
        }
    };
    let (Some(url), Some(token)) = (admin["url"].as_str(), admin["token"].as_str()) else {
        eprintln!("{} has no url and token", admin_file.display());
        return 2;
    };
    let client = match lsps_node::chain::rpc_client::RpcClient::with_bearer(url, token) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{}: {e}", admin_file.display());
            return 2;
        }
    };
    let request = serde_json::json!({
        "invoice": invoice,
        "amount_msat": amount_msat,
        "timeout_secs": timeout_secs,
    });
    let (status, body) = match client.post_path("/dev/pay", &request).await {
        Ok(reply) => reply,
        Err(e) => {
            eprintln!("no dev server answering at {url}: {e}");
            return 2;
        }
    };
    if status != 200 {
        eprintln!(
            "dev server refused (HTTP {status}): {}",
            String::from_utf8_lossy(&body).trim()
        );
        return 2;
    }
    let report: PayReport = match serde_json::from_slice(&body) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("unreadable answer from the dev server: {e}");
            return 2;
        }
    };
    let paid = report.status == "paid";
    if as_json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
    } else {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let num = |v: Option<u64>| v.map_or_else(|| "-".into(), |n| n.to_string());
        println!("status={}", report.status);
        println!("payment_hash={}", show(&report.payment_hash));
        if paid {
            println!("preimage={}", show(&report.preimage));
            println!("amount_msat={}", num(report.amount_msat));
            println!("fee_paid_msat={}", num(report.fee_paid_msat));
        } else {
            println!("reason={}", show(&report.failure_reason));
        }
        for failure in &report.path_failures {
            println!(
                "path_failure scid={} kind={}",
                num(failure.short_channel_id),
                failure.kind
            );
        }
    }
    if paid { 0 } else { 1 }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Install the stderr logger. The filter is parsed strictly: a typo must not silently turn
/// logging off (EnvFilter's lenient parse drops what it does not understand).
fn init_logging(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::builder()
        .parse(filter)
        .with_context(|| format!("invalid --log filter {filter:?}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    }
    .map_err(|e| anyhow::anyhow!("installing the logger: {e}"))
}

fn parse_menu_entry(text: &str) -> Result<MenuEntryConfig, String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 7 {
        return Err("expected 7 ':'-separated numbers".into());
    }
    let n = |i: usize| {
        parts[i]
            .parse::<u64>()
            .map_err(|e| format!("field {}: {e}", i + 1))
    };
    let n32 = |i: usize| {
        parts[i]
            .parse::<u32>()
            .map_err(|e| format!("field {}: {e}", i + 1))
    };
    Ok(MenuEntryConfig {
        min_fee_msat: n(0)?,
        proportional: n32(1)?,
        valid_for_secs: n32(2)?,
        min_lifetime: n32(3)?,
        max_client_to_self_delay: n32(4)?,
        min_payment_size_msat: n(5)?,
        max_payment_size_msat: n(6)?,
    })
}

fn build_config(args: &Args) -> anyhow::Result<ServerConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            ServerConfig::from_toml(&text).with_context(|| format!("parsing {}", path.display()))?
        }
        None => ServerConfig::default(),
    };
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(url) = &args.database_url {
        config.database_url = Some(url.clone());
    }
    if let Some(addr) = args.listen {
        config.listen = addr;
    }
    if let Some(addr) = args.http_listen {
        config.http_listen = Some(addr);
    }
    if args.no_http {
        config.http_listen = None;
    }
    if let Some(addr) = args.admin_listen {
        config.admin_listen = Some(addr);
    }
    if args.no_admin {
        config.admin_listen = None;
    }
    if args.disable_lsps1 {
        config.lsps1.enabled = false;
    }
    if args.disable_lsps2 {
        config.lsps2.enabled = false;
    }
    if !args.lsps2_menu.is_empty() {
        config.lsps2.menu = args.lsps2_menu.clone();
    }
    if !args.lsps2_tokens.is_empty() {
        config.lsps2.accepted_tokens = args.lsps2_tokens.clone();
    }
    if args.lsps2_check_inbound_liquidity {
        config.lsps2.check_inbound_liquidity = true;
    }
    if let Some(v) = args.lsps2_cltv_expiry_delta {
        config.lsps2.cltv_expiry_delta = v;
    }
    if !args.lsps1_tokens.is_empty() {
        config.lsps1.accepted_tokens = args.lsps1_tokens.clone();
    }
    if let Some(v) = args.lsps1_max_lsp_balance_sat {
        config.lsps1.max_initial_lsp_balance_sat = v;
    }
    if let Some(v) = args.lsps1_max_channel_balance_sat {
        config.lsps1.max_channel_balance_sat = v;
    }
    if let Some(v) = args.lsps1_fee_base_sat {
        config.lsps1.fee_base_sat = v;
    }
    if let Some(v) = args.lsps1_fee_ppm {
        config.lsps1.fee_ppm = v;
    }
    if let Some(v) = args.peer_requests_per_sec {
        config.limits.peer_requests_per_sec = v;
    }
    if let Some(v) = args.max_pending_per_peer {
        config.limits.max_pending_per_peer = v;
    }
    if let Some(v) = args.max_pending_total {
        config.limits.max_pending_total = v;
    }
    if args.chain == ChainKind::Bitcoind {
        let Some(rpc_url) = args.bitcoind_rpc.clone() else {
            anyhow::bail!("--chain bitcoind needs --bitcoind-rpc");
        };
        config.bitcoind = Some(lsps_server::config::BitcoindConfig {
            rpc_url,
            cookie_file: args.bitcoind_cookie.clone(),
            user: args.bitcoind_user.clone(),
            password: args.bitcoind_password.clone(),
            network: args.network.clone(),
        });
    }
    if let Some(addr) = args.dev_rpc_listen {
        config.dev_chain.rpc_listen = addr;
    }
    if let Some(secs) = args.block_interval_secs {
        config.dev_chain.block_interval_secs = secs;
    }
    config.faults.extend(args.faults.iter().cloned());
    config.variants.extend(args.variants.iter().cloned());
    Ok(config)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.worker_threads {
        runtime.worker_threads(usize::from(workers));
    }
    runtime
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(run(args))
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    if let Some(Command::Dev(dev)) = args.command.take() {
        return run_dev(dev, &args.log, args.log_format).await;
    }
    if args.list_faults {
        for fault in lsps_server::faults::ALL {
            println!(
                "{:<36} {:<10} {}",
                fault.name, fault.requirement, fault.description
            );
        }
        if !cfg!(feature = "faults") {
            println!("(this build has no `faults` feature: none can be switched on)");
        }
        return Ok(());
    }
    if args.list_variants {
        for variant in lsps_server::variants::ALL {
            println!("{:<26} {}", variant.name, variant.description);
        }
        return Ok(());
    }
    let config = build_config(&args)?;
    if args.print_config {
        print!("{}", toml::to_string(&config)?);
        return Ok(());
    }
    init_logging(&args.log, args.log_format)?;
    config.validate().context("configuration")?;

    let server = match ReferenceServer::start(config).await {
        Ok(server) => server,
        Err(e) => {
            // Through the logger too, so a log shipper (`--log-format json`) sees why.
            tracing::error!("start-up failed: {e:#}");
            return Err(e);
        }
    };
    let http = server.http_url();
    println!("node_id: {}", server.node_id());
    println!("bolt8:   {}", server.connection_string());
    match &http {
        Some(url) => println!("http:    {url}  (POST /, WebSocket /ws, header X-Lsps-Node-Id)"),
        None => println!("http:    disabled"),
    }
    let chain_rpc = server.dev_chain_rpc();
    if let Some((url, cookie)) = &chain_rpc {
        println!(
            "chain:   {url}  (Bitcoin Core RPC, cookie {})",
            cookie.display()
        );
    }
    if let Some(path) = &args.ready_file {
        let ready = serde_json::json!({
            "node_id": server.node_id().to_string(),
            "bolt8": server.bolt8_addr().to_string(),
            "http": http,
            "chain_rpc": chain_rpc.as_ref().map(|(url, _)| url),
            "chain_cookie": chain_rpc.as_ref().map(|(_, cookie)| cookie),
        });
        // Written via a temp file and rename so a watcher never reads half a file.
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, ready.to_string())?;
        std::fs::rename(&tmp, path)?;
    }
    wait_for_signal().await;
    eprintln!("shutting down");
    server.shutdown().await;
    Ok(())
}

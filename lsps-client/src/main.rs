//! `lsps`: talk to an LSP from the command line.
//!
//! Exit codes: 0 success; 1 the LSP answered with an error, a client-side check refused the
//! answer, or no reply came in time; 2 usage error or the target is unreachable.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use lsps_client::transport::bolt8::{Bolt8Connector, NodeKey};
use lsps_client::transport::http::{HttpTransport, WsTransport};
use lsps_client::transport::{Transport, TransportError, TransportEvent};
use lsps_client::{BuyLimits, ClientError, LspsClient, Target, connect};
use lsps_core::lsps1;
use lsps_core::types::{Msat, OnchainAddress, Sat};
use serde_json::{Value, json};

/// Talk to an LSPS0/1/2 Lightning Service Provider over BOLT8 or HTTP.
#[derive(Parser, Debug)]
#[command(
    name = "lsps",
    version,
    about = "Talk to an LSPS0/1/2 Lightning Service Provider over BOLT8 or HTTP",
    after_help = "Examples:\n  \
        lsps --target 02ab…@127.0.0.1:9735 list-protocols\n  \
        lsps --target 02ab…@127.0.0.1:9735 lsps2 get-info\n  \
        lsps --target 02ab…@127.0.0.1:9735 lsps2 buy --menu-index 0 --payment-size-msat 50000000 --max-fee-msat 200000\n  \
        lsps --target http://127.0.0.1:8080/ --json lsps1 get-info\n  \
        lsps --target 02ab…@127.0.0.1:9735 raw '{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"lsps0.list_protocols\",\"params\":{}}'\n\n\
        Targets (--target or LSPS_TARGET): <node_id>@<host>:<port> (BOLT8), http(s)://host:port/ (HTTP binding), ws(s)://host:port/ws (WebSocket binding).\n\
        Node key: --node-key-file, else <data dir>/node.key, created on first use, so `lsps1 get-order` finds the orders `lsps1 create-order` made.\n\
        Exit codes: 0 success; 1 LSP error, refused by a client-side check, or timeout; 2 usage error or unreachable target."
)]
struct Cli {
    /// The LSP: `<node id>@<host>:<port>` (BOLT8), `http://host:port/` (HTTP binding) or
    /// `ws://host:port/ws` (WebSocket binding).
    #[arg(long, short, env = "LSPS_TARGET", global = true)]
    target: Option<String>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,

    /// Per-request timeout in milliseconds (the whole command is bounded by the connect timeout
    /// plus one request timeout per request it makes).
    #[arg(long, default_value_t = 30_000, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    timeout_ms: u64,

    /// Connect timeout (TCP + BOLT8 handshake) in milliseconds.
    #[arg(long, default_value_t = 10_000, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    connect_timeout_ms: u64,

    /// Our node key: a file with 32 raw bytes or 64 hex characters. Default: `node.key` in the
    /// data directory, created on first use (LSPS1 orders belong to the node id that made them).
    #[arg(long, env = "LSPS_NODE_KEY_FILE", global = true)]
    node_key_file: Option<PathBuf>,

    /// Data directory for the default node key. Default: $XDG_DATA_HOME/lsps or
    /// ~/.local/share/lsps.
    #[arg(long, env = "LSPS_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// `lsps0.list_protocols`: which LSPS the LSP supports.
    ListProtocols,
    /// LSPS1: buy a channel.
    #[command(subcommand)]
    Lsps1(Lsps1Command),
    /// LSPS2: JIT channels.
    #[command(subcommand)]
    Lsps2(Lsps2Command),
    /// Send one payload verbatim and print the first message that comes back, verbatim.
    Raw {
        /// The payload (normally a JSON-RPC request object).
        payload: String,
    },
}

#[derive(Subcommand, Debug)]
enum Lsps1Command {
    /// `lsps1.get_info`: the LSP's channel-order options.
    GetInfo,
    /// `lsps1.create_order` (calls `get_info` first and checks the order against it).
    CreateOrder(CreateOrderArgs),
    /// `lsps1.get_order`: an order's current state.
    GetOrder {
        /// The order id returned by `create-order`.
        order_id: String,
        /// Poll until the order is COMPLETED (exit 0) or FAILED (exit 1), printing a line per
        /// state change; exit 1 when neither happens within --wait-secs.
        #[arg(long)]
        watch: bool,
        /// With --watch: how long to wait, in seconds.
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
        /// With --watch: time between polls, in milliseconds.
        #[arg(long, default_value_t = 1_000)]
        poll_ms: u64,
    },
    /// Buy a channel and take it: an embedded LDK node (one identity for LSPS and the channel,
    /// BOLT8 targets only) creates the order, prints what to pay on the first line (the bolt11
    /// invoice alone, else `onchain address=<a> amount_sat=<n>`), a line per order state
    /// change, and at COMPLETED, once the channel is usable here, a last line
    /// `order_id=<id> channel_id=<id> funding_outpoint=<txid:vout> outbound_msat=<n>
    /// inbound_msat=<n>`. Exit 0 COMPLETED, 1 FAILED / timed out, 2 usage or unreachable.
    #[cfg(feature = "node")]
    Buy(BuyChannelArgs),
}

#[cfg(feature = "node")]
#[derive(Args, Debug)]
struct BuyChannelArgs {
    #[command(flatten)]
    order: CreateOrderArgs,
    /// How long to wait for COMPLETED after printing what to pay, in seconds.
    #[arg(long, default_value_t = 600)]
    wait_secs: u64,
    /// Time between `lsps1.get_order` polls, in milliseconds.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    #[command(flatten)]
    chain: ChainArgs,
}

#[derive(Args, Debug)]
struct CreateOrderArgs {
    /// Inbound liquidity the LSP provides, in sat.
    #[arg(long)]
    lsp_balance_sat: u64,
    /// Amount pushed to us, in sat (paid on top of the fee).
    #[arg(long, default_value_t = 0)]
    client_balance_sat: u64,
    /// Confirmations before `channel_ready` (default: the LSP's minimum).
    #[arg(long)]
    required_channel_confirmations: Option<u16>,
    /// Blocks within which the funding must confirm (default: the LSP's fastest).
    #[arg(long)]
    funding_confirms_within_blocks: Option<u16>,
    /// Lease length in blocks (default: the LSP's maximum).
    #[arg(long)]
    channel_expiry_blocks: Option<u32>,
    /// Coupon or authentication token.
    #[arg(long)]
    token: Option<String>,
    /// Refund address for on-chain payment (without it the LSP offers no on-chain option).
    #[arg(long)]
    refund_onchain_address: Option<String>,
    /// Ask for a public (announced) channel.
    #[arg(long)]
    announce_channel: bool,
}

#[derive(Subcommand, Debug)]
enum Lsps2Command {
    /// `lsps2.get_info`: the opening-fee menu (checked: order, promise size, unknown fields).
    GetInfo {
        /// Token the LSP gave us, if any.
        #[arg(long)]
        token: Option<String>,
    },
    /// `lsps2.buy`: fetch the menu, pick one entry, buy a JIT channel SCID.
    Buy {
        /// Which menu entry (0 = cheapest).
        #[arg(long)]
        menu_index: usize,
        /// Fixed payment size in msat (MPP+fixed-invoice mode); omit for a variable amount.
        #[arg(long)]
        payment_size_msat: Option<u64>,
        /// Refuse if the opening fee exceeds this many msat.
        #[arg(long)]
        max_fee_msat: Option<u64>,
        /// Token for `get_info`.
        #[arg(long)]
        token: Option<String>,
        /// Accept `client_trusts_lsp: true` (otherwise such an answer is refused).
        #[arg(long)]
        accept_client_trusts_lsp: bool,
    },
    /// Receive through a JIT channel: an embedded LDK node (one identity for LSPS and the
    /// channel, BOLT8 targets only) buys a JIT SCID, prints the invoice on the first line, takes
    /// the LSP's zero-conf channel, checks the skimmed fee against the promise and claims.
    #[cfg(feature = "node")]
    Receive(ReceiveArgs),
}

#[cfg(feature = "node")]
#[derive(Args, Debug)]
struct ReceiveArgs {
    /// Fixed amount in msat (MPP+fixed-invoice mode); omit for a variable-amount invoice
    /// (no-MPP mode).
    #[arg(long)]
    amount_msat: Option<u64>,
    /// Which menu entry (0 = cheapest).
    #[arg(long, default_value_t = 0)]
    menu_index: usize,
    /// Refuse if the opening fee (variable mode: `min_fee_msat`) exceeds this many msat.
    #[arg(long)]
    max_fee_msat: Option<u64>,
    /// Token for `get_info`.
    #[arg(long)]
    token: Option<String>,
    /// How long to wait for the payment after printing the invoice.
    #[arg(long, default_value_t = 600)]
    wait_secs: u64,
    /// Invoice expiry in seconds (shortened to the offer's `valid_until`).
    #[arg(long, default_value_t = 3600)]
    expiry_secs: u64,
    /// Invoice description.
    #[arg(long, default_value = "lsps2 receive")]
    description: String,
    /// Accept `client_trusts_lsp: true` (otherwise such an answer is refused).
    #[arg(long)]
    accept_client_trusts_lsp: bool,
    #[command(flatten)]
    chain: ChainArgs,
}

/// The chain an embedded node follows.
#[cfg(feature = "node")]
#[derive(Args, Debug)]
struct ChainArgs {
    /// Dev chain dir holding rpc.url and .cookie [default: lsps-data/devchain, the embedded
    /// chain of a dev `lsps-server` started with defaults in this directory].
    #[arg(long, conflicts_with = "bitcoind_rpc")]
    chain_dir: Option<PathBuf>,
    /// Follow this Bitcoin Core RPC endpoint instead of the dev chain (needs a cookie).
    #[arg(long, requires = "bitcoind_cookie")]
    bitcoind_rpc: Option<String>,
    /// Cookie file for --bitcoind-rpc.
    #[arg(long)]
    bitcoind_cookie: Option<PathBuf>,
    /// The chain's network.
    #[arg(long, default_value = "regtest")]
    network: String,
}

/// A failure, with the exit code it maps to.
struct Failure {
    code: u8,
    kind: &'static str,
    message: String,
    lsp_error: Option<Value>,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        let (code, kind) = match &e {
            ClientError::Transport(TransportError::Payload(_)) => (1, "transport"),
            ClientError::Transport(_) => (2, "transport"),
            ClientError::Timeout { .. } => (1, "timeout"),
            ClientError::Disconnected { .. } => (1, "disconnected"),
            ClientError::Lsp { .. } => (1, "lsp_error"),
            _ => (1, "check_failed"),
        };
        let lsp_error = match &e {
            ClientError::Lsp { error, .. } => Some(json!({
                "code": error.code,
                "name": error.code_name(),
                "message": error.message,
                "data": error.data,
            })),
            _ => None,
        };
        let mut message = e.to_string();
        if let ClientError::Timeout { method, .. } = &e
            && method.protocol() != 0
        {
            // LDK answers nothing at all for protocols it does not serve (spike.md §2).
            message.push_str(&format!(
                " (the LSP may not support LSPS{}; see `lsps list-protocols`)",
                method.protocol()
            ));
        }
        Self {
            code,
            kind,
            message,
            lsp_error,
        }
    }
}

impl From<TransportError> for Failure {
    fn from(e: TransportError) -> Self {
        ClientError::from(e).into()
    }
}

fn usage(message: String) -> Failure {
    Failure {
        code: 2,
        kind: "usage",
        message,
        lsp_error: None,
    }
}

/// Writes one line to stdout; a closed pipe (`lsps … | head`) ends the output quietly instead
/// of panicking as `println!` would.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `lsps2 receive` runs an LDK node: its log (and LDK's, target `ldk`) goes to stderr when
    // RUST_LOG asks for it; stdout stays the command's output.
    #[cfg(feature = "node")]
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let json_output = cli.json;
    // Every command makes at most three requests (get_info, then the call): bound the whole
    // run so no transport can hang it (an HTTP POST to a server that never answers).
    let bound = Duration::from_millis(cli.connect_timeout_ms)
        + Duration::from_millis(cli.timeout_ms).saturating_mul(3)
        + receive_allowance(&cli.command);
    let outcome = match tokio::time::timeout(bound, run(cli)).await {
        Ok(outcome) => outcome,
        Err(_) => Err(Failure {
            code: 1,
            kind: "timeout",
            message: format!("no answer within {} ms", bound.as_millis()),
            lsp_error: None,
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if json_output {
                emit(
                    &json!({"error": {
                        "kind": failure.kind,
                        "message": failure.message,
                        "lsp_error": failure.lsp_error,
                    }})
                    .to_string(),
                );
            }
            // One line: the reason, never a multi-line dump.
            let first = failure.message.lines().next().unwrap_or_default();
            eprintln!("lsps: error: {first}");
            ExitCode::from(failure.code)
        }
    }
}

/// Extra time `lsps2 receive`, `lsps1 buy` and a watch get on top of the request bound: starting its node (catching up
/// with the chain) and the wait for the payment.
fn receive_allowance(command: &Command) -> Duration {
    match command {
        Command::Lsps1(Lsps1Command::GetOrder {
            watch: true,
            wait_secs,
            ..
        }) => Duration::from_secs(wait_secs.saturating_add(60)),
        #[cfg(feature = "node")]
        Command::Lsps2(Lsps2Command::Receive(args)) => {
            Duration::from_secs(args.wait_secs.saturating_add(120))
        }
        #[cfg(feature = "node")]
        Command::Lsps1(Lsps1Command::Buy(args)) => {
            Duration::from_secs(args.wait_secs.saturating_add(120))
        }
        _ => Duration::ZERO,
    }
}

/// The default data directory: `$XDG_DATA_HOME/lsps`, else `$HOME/.local/share/lsps`.
fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("lsps"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/lsps"))
}

/// The node key in `dir/node.key` (64 hex characters), created with a fresh random key on
/// first use (owner-only permissions on Unix).
fn data_dir_key(dir: &Path) -> Result<NodeKey, Failure> {
    let path = dir.join("node.key");
    if path.exists() {
        return NodeKey::from_file(&path).map_err(|e| usage(e.to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        usage(format!(
            "creating the data directory {}: {e}",
            dir.display()
        ))
    })?;
    let secret: [u8; 32] = loop {
        let bytes: [u8; 32] = rand::random();
        if bitcoin::secp256k1::SecretKey::from_slice(&bytes).is_ok() {
            break bytes;
        }
    };
    // Written whole under a temporary name, then linked into place: two `lsps` started at
    // once never read a half-written key, and the second keeps the first one's key.
    let temp = dir.join(format!(
        "node.key.{}.tmp",
        hex::encode(rand::random::<[u8; 8]>())
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .and_then(|mut file| file.write_all(hex::encode(secret).as_bytes()));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(usage(format!("creating {}: {e}", temp.display())));
    }
    let linked = std::fs::hard_link(&temp, &path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(usage(format!("creating {}: {e}", path.display()))),
    }
    NodeKey::from_file(&path).map_err(|e| usage(e.to_string()))
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let target: Target = cli
        .target
        .as_deref()
        .ok_or_else(|| usage("--target (or LSPS_TARGET) is required".into()))?
        .parse()
        .map_err(|e: TransportError| usage(e.to_string()))?;
    let key = match (
        &cli.node_key_file,
        cli.data_dir.clone().or_else(default_data_dir),
    ) {
        (Some(path), _) => NodeKey::from_file(path).map_err(|e| usage(e.to_string()))?,
        (None, Some(dir)) => data_dir_key(&dir)?,
        (None, None) => NodeKey::random(),
    };
    let our_node_id = key.node_id();
    let timeout = Duration::from_millis(cli.timeout_ms);
    let connect_timeout = Duration::from_millis(cli.connect_timeout_ms);
    let out = Output { json: cli.json };

    // The commands that run an embedded node: one BOLT8 identity for LSPS and the channel.
    #[cfg(feature = "node")]
    if let Command::Lsps2(Lsps2Command::Receive(_)) | Command::Lsps1(Lsps1Command::Buy(_)) =
        cli.command
    {
        let Target::Bolt8(lsp) = target else {
            return Err(usage(
                "this command needs a BOLT8 target (<node id>@<host>:<port>): the channel comes over it".into(),
            ));
        };
        let wallet_dir = cli
            .data_dir
            .clone()
            .or_else(default_data_dir)
            .ok_or_else(|| usage("--data-dir is required (no $HOME)".into()))?
            .join("wallet");
        let link = receive::Link {
            lsp,
            data_dir: wallet_dir,
            connect_timeout,
            request_timeout: timeout,
            json_output: cli.json,
        };
        return match cli.command {
            Command::Lsps1(Lsps1Command::Buy(args)) => receive::buy_channel(args, link).await,
            Command::Lsps2(Lsps2Command::Receive(args)) => receive::run(args, link).await,
            _ => Ok(()),
        };
    }
    if let Command::Raw { payload } = &cli.command {
        return raw(
            &target,
            key,
            connect_timeout,
            timeout,
            payload.as_bytes(),
            &out,
        )
        .await;
    }
    let transport = connect(&target, key, connect_timeout).await?;
    let client = LspsClient::from_arc(transport).with_timeout(timeout);

    match cli.command {
        Command::ListProtocols => {
            let result = client.list_protocols().await?;
            out.print(&result, || {
                let names: Vec<String> = result
                    .protocols
                    .iter()
                    .map(|p| format!("LSPS{p}"))
                    .collect();
                format!(
                    "{target} supports: {}",
                    if names.is_empty() {
                        "(none besides LSPS0)".into()
                    } else {
                        names.join(", ")
                    }
                )
            });
        }
        Command::Lsps1(Lsps1Command::GetInfo) => {
            let info = client.lsps1_get_info().await?;
            out.print(&info, || lsps1_info_text(&info));
        }
        Command::Lsps1(Lsps1Command::CreateOrder(args)) => {
            // bLIP-51: the client MUST call get_info first; its options also fill defaults.
            let refund = refund_address(&args)?;
            let options = client.lsps1_get_info().await?;
            let request = order_request(&args, refund, &options);
            let order = client.lsps1_create_order(request, Some(&options)).await?;
            out.print(&order, || {
                format!("our node id: {our_node_id}\n{}", order_text(&order))
            });
        }
        Command::Lsps1(Lsps1Command::GetOrder {
            order_id,
            watch: true,
            wait_secs,
            poll_ms,
        }) => {
            let order_id =
                lsps1::OrderId::new(order_id).map_err(|e| usage(format!("order id: {e}")))?;
            let end = order_watch::watch(
                &client,
                order_id,
                Duration::from_secs(wait_secs),
                Duration::from_millis(poll_ms.max(1)),
                |order| {
                    if out.json {
                        emit(&json!(order).to_string());
                    } else {
                        emit(&format!(
                            "{} {}",
                            now_text(),
                            order_watch::state_line(order)
                        ));
                    }
                },
            )
            .await?;
            match end {
                order_watch::WatchEnd::Completed => {}
                order_watch::WatchEnd::Failed => {
                    return Err(Failure {
                        code: 1,
                        kind: "order_failed",
                        message: "the order FAILED".into(),
                        lsp_error: None,
                    });
                }
                order_watch::WatchEnd::TimedOut => {
                    return Err(Failure {
                        code: 1,
                        kind: "timeout",
                        message: format!("the order is not final after {wait_secs} s"),
                        lsp_error: None,
                    });
                }
            }
        }
        Command::Lsps1(Lsps1Command::GetOrder { order_id, .. }) => {
            let order_id =
                lsps1::OrderId::new(order_id).map_err(|e| usage(format!("order id: {e}")))?;
            let order = client.lsps1_get_order(order_id).await?;
            out.print(&order, || {
                format!("our node id: {our_node_id}\n{}", order_text(&order))
            });
        }
        Command::Lsps2(Lsps2Command::GetInfo { token }) => {
            let menu = client.lsps2_get_info(token).await?;
            let raw: Vec<&Value> = menu.offers.iter().map(|o| &o.raw).collect();
            out.print(&json!({ "opening_fee_params_menu": raw }), || {
                menu_text(&menu.params())
            });
        }
        Command::Lsps2(Lsps2Command::Buy {
            menu_index,
            payment_size_msat,
            max_fee_msat,
            token,
            accept_client_trusts_lsp,
        }) => {
            let menu = client.lsps2_get_info(token).await?;
            let offer = menu.offers.get(menu_index).ok_or_else(|| {
                usage(format!(
                    "--menu-index {menu_index}: the menu has {} entries",
                    menu.offers.len()
                ))
            })?;
            let entry = &offer.params;
            let limits = BuyLimits {
                max_fee_msat: max_fee_msat.map(Msat),
                accept_client_trusts_lsp,
            };
            let outcome = client
                .lsps2_buy(offer, payment_size_msat.map(Msat), &limits)
                .await?;
            let value = json!({
                "result": outcome.result,
                "opening_fee_params": offer.raw,
                "payment_size_msat": payment_size_msat.map(|s| s.to_string()),
                "opening_fee_msat": outcome.opening_fee_msat,
            });
            out.print(&value, || {
                let mut text = format!(
                    "jit_channel_scid:      {}\nlsp_cltv_expiry_delta: {}\nclient_trusts_lsp:     {}\nvalid_until:           {}",
                    outcome.result.jit_channel_scid,
                    outcome.result.lsp_cltv_expiry_delta,
                    outcome.result.client_trusts_lsp,
                    entry.valid_until,
                );
                match (payment_size_msat, outcome.opening_fee_msat) {
                    (Some(size), Some(fee)) => text.push_str(&format!(
                        "\npayment_size_msat:     {size}\nopening_fee_msat:      {fee} (client receives {} msat)",
                        size.saturating_sub(fee.get())
                    )),
                    _ => text.push_str(&format!(
                        "\nmode:                  variable amount (no MPP); fee = max({} msat, {} ppm of the amount)",
                        entry.min_fee_msat, entry.proportional
                    )),
                }
                text
            });
        }
        #[cfg(feature = "node")]
        Command::Lsps2(Lsps2Command::Receive(_)) => {}
        #[cfg(feature = "node")]
        Command::Lsps1(Lsps1Command::Buy(_)) => {}
        Command::Raw { .. } => {}
    }
    Ok(())
}

mod order_watch;

/// Now, as RFC 3339 UTC with milliseconds (the watch's line prefix).
fn now_text() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    lsps_core::types::Datetime::from_unix_millis(ms)
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// The `--refund-onchain-address` of `args`, parsed.
fn refund_address(args: &CreateOrderArgs) -> Result<Option<OnchainAddress>, Failure> {
    args.refund_onchain_address
        .as_deref()
        .map(|a| {
            a.parse::<OnchainAddress>()
                .map_err(|e| usage(format!("--refund-onchain-address: {e}")))
        })
        .transpose()
}

/// The `lsps1.create_order` request `args` ask for; what they leave out comes from the LSP's
/// `options` (its minimum confirmations, its fastest funding, its longest lease).
fn order_request(
    args: &CreateOrderArgs,
    refund_onchain_address: Option<OnchainAddress>,
    options: &lsps1::GetInfoResult,
) -> lsps1::CreateOrderRequest {
    lsps1::CreateOrderRequest {
        order: lsps1::OrderParams {
            lsp_balance_sat: Sat(args.lsp_balance_sat),
            client_balance_sat: Sat(args.client_balance_sat),
            required_channel_confirmations: args
                .required_channel_confirmations
                .unwrap_or(options.min_required_channel_confirmations),
            funding_confirms_within_blocks: args
                .funding_confirms_within_blocks
                .unwrap_or(options.min_funding_confirms_within_blocks),
            channel_expiry_blocks: args
                .channel_expiry_blocks
                .unwrap_or(options.max_channel_expiry_blocks),
            token: args.token.clone(),
            announce_channel: args.announce_channel,
        },
        refund_onchain_address,
    }
}

/// `lsps2 receive` and `lsps1 buy`: the commands that run an embedded node.
#[cfg(feature = "node")]
mod receive {
    use super::*;
    use lsps_client::receive::{
        JitWallet, PaymentOutcome, StrangerChannels, WalletConfig, WalletError,
    };
    use lsps_client::transport::bolt8::Bolt8Target;
    use lsps_node::chain::ChainSource;
    use lsps_node::chain::bitcoind::BitcoindChain;
    use lsps_node::chain::dev_service::{COOKIE_FILE, RPC_URL_FILE};
    use lsps_node::chain::rpc_client::RpcClient;

    fn unreachable(message: String) -> Failure {
        Failure {
            code: 2,
            kind: "unreachable",
            message,
            lsp_error: None,
        }
    }

    fn failed(kind: &'static str, message: String) -> Failure {
        Failure {
            code: 1,
            kind,
            message,
            lsp_error: None,
        }
    }

    impl From<WalletError> for Failure {
        fn from(e: WalletError) -> Self {
            match e {
                WalletError::Client(e) => e.into(),
                WalletError::Unreachable { .. } => unreachable(e.to_string()),
                WalletError::Node(lsps_node::NodeError::Chain(_)) => unreachable(e.to_string()),
                WalletError::NoSuchOffer { .. } => usage(e.to_string()),
                WalletError::Invoice(_) => failed("check_failed", e.to_string()),
                _ => failed("wallet", e.to_string()),
            }
        }
    }

    async fn chain(args: &ChainArgs) -> Result<Arc<dyn ChainSource>, Failure> {
        let network: bitcoin::Network = args
            .network
            .parse()
            .map_err(|_| usage(format!("--network {}: unknown network", args.network)))?;
        let rpc = match (&args.bitcoind_rpc, &args.bitcoind_cookie) {
            (Some(url), Some(cookie)) => RpcClient::with_cookie(url, cookie),
            _ => {
                let dir = args
                    .chain_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("lsps-data").join("devchain"));
                let url_file = dir.join(RPC_URL_FILE);
                let url = std::fs::read_to_string(&url_file).map_err(|e| {
                    unreachable(format!(
                        "reading {} ({e}): is a dev chain running? (--chain-dir or --bitcoind-rpc)",
                        url_file.display()
                    ))
                })?;
                RpcClient::with_cookie(url.trim(), &dir.join(COOKIE_FILE))
            }
        }
        .map_err(|e| unreachable(format!("chain RPC: {e}")))?;
        let chain = BitcoindChain::connect(rpc, network)
            .await
            .map_err(|e| unreachable(format!("chain RPC: {e}")))?;
        Ok(chain)
    }

    /// The LSP and how the wallet node reaches it.
    pub(super) struct Link {
        pub(super) lsp: Bolt8Target,
        pub(super) data_dir: PathBuf,
        pub(super) connect_timeout: Duration,
        pub(super) request_timeout: Duration,
        pub(super) json_output: bool,
    }

    /// The wallet node on `chain`, connected to the LSP.
    async fn wallet(link: Link, chain: &ChainArgs) -> Result<JitWallet, Failure> {
        let chain = self::chain(chain).await?;
        Ok(JitWallet::start(WalletConfig {
            data_dir: link.data_dir,
            lsp: link.lsp,
            chain,
            connect_timeout: link.connect_timeout,
            request_timeout: link.request_timeout,
            strangers: StrangerChannels::Reject,
        })
        .await?)
    }

    pub(super) async fn run(args: ReceiveArgs, link: Link) -> Result<(), Failure> {
        let json_output = link.json_output;
        let wallet = wallet(link, &args.chain).await?;
        let limits = BuyLimits {
            max_fee_msat: args.max_fee_msat.map(Msat),
            accept_client_trusts_lsp: args.accept_client_trusts_lsp,
        };
        let purchase = wallet
            .buy(
                args.token.clone(),
                args.menu_index,
                args.amount_msat.map(Msat),
                &limits,
            )
            .await?;
        let invoice = wallet.invoice(
            &purchase,
            &args.description,
            Duration::from_secs(args.expiry_secs),
        )?;
        // The invoice alone on the first line, flushed, so a script can hand it to a payer.
        emit(&invoice.to_string());
        let hash = lightning::types::payment::PaymentHash(bitcoin::hashes::Hash::to_byte_array(
            *invoice.payment_hash(),
        ));
        let outcome = wallet
            .wait_for_payment(hash, Duration::from_secs(args.wait_secs))
            .await;
        if matches!(outcome, PaymentOutcome::Received(_)) {
            // The preimage must reach the LSP before the node stops, or the payer waits.
            let settled = wallet.wait_settled(hash, Duration::from_secs(30)).await;
            if !settled {
                eprintln!(
                    "lsps: warning: claimed, but the LSP has not acknowledged the claim yet; run again with the same --data-dir to finish it"
                );
            }
        }
        wallet.shutdown();
        match outcome {
            PaymentOutcome::Received(received) => {
                if json_output {
                    emit(
                        &json!({
                            "received_msat": received.received_msat.get(),
                            "opening_fee_msat": received.skimmed_fee_msat.get(),
                            "promised_opening_fee_msat": received.promised_opening_fee_msat.get(),
                            "channel_id": received.channel_id,
                            "payment_hash": hex::encode(hash.0),
                        })
                        .to_string(),
                    );
                } else {
                    emit(&format!(
                        "received_msat={} opening_fee_msat={} channel_id={}",
                        received.received_msat, received.skimmed_fee_msat, received.channel_id
                    ));
                }
                Ok(())
            }
            PaymentOutcome::FailedBack(why) => Err(failed(
                "check_failed",
                format!("payment failed back: {why}"),
            )),
            PaymentOutcome::TimedOut => Err(failed(
                "timeout",
                format!("no payment within {} s", args.wait_secs),
            )),
        }
    }

    /// `lsps1 buy`: the order over the node's identity, what to pay, the watch, the channel.
    pub(super) async fn buy_channel(args: BuyChannelArgs, link: Link) -> Result<(), Failure> {
        let refund = refund_address(&args.order)?;
        let json_output = link.json_output;
        let wallet = wallet(link, &args.chain).await?;
        let order = wallet
            .create_order(|options| order_request(&args.order, refund, options))
            .await?;
        // What to pay, alone on the first line, flushed, so a script can hand it to a payer.
        match (&order.payment.bolt11, &order.payment.onchain) {
            (Some(bolt11), _) => emit(&bolt11.invoice),
            (None, Some(onchain)) => emit(&format!(
                "onchain address={} amount_sat={}",
                onchain.address, onchain.order_total_sat
            )),
            (None, None) => {
                wallet.shutdown();
                return Err(failed(
                    "check_failed",
                    format!(
                        "order {}: the LSP offers neither a bolt11 invoice nor an on-chain address",
                        order.order_id
                    ),
                ));
            }
        }
        let wait = Duration::from_secs(args.wait_secs);
        let started = tokio::time::Instant::now();
        let mut completed = None;
        let end = order_watch::watch(
            wallet.client(),
            order.order_id.clone(),
            wait,
            Duration::from_millis(args.poll_ms.max(1)),
            |order| {
                if json_output {
                    emit(&json!(order).to_string());
                } else {
                    emit(&format!(
                        "{} {}",
                        now_text(),
                        order_watch::state_line(order)
                    ));
                }
                completed = order.channel.clone();
            },
        )
        .await;
        let outcome = match end {
            Ok(order_watch::WatchEnd::Completed) => match completed {
                Some(channel) => {
                    let left = wait.saturating_sub(started.elapsed());
                    match wallet
                        .wait_channel_usable(&channel.funding_outpoint, left)
                        .await
                    {
                        Some(local) => {
                            let fields = json!({
                                "order_id": order.order_id,
                                "channel_id": local.channel_id.to_string(),
                                "funding_outpoint": channel.funding_outpoint,
                                "outbound_msat": local.outbound_capacity_msat,
                                "inbound_msat": local.inbound_capacity_msat,
                            });
                            if json_output {
                                emit(&fields.to_string());
                            } else {
                                emit(&format!(
                                    "order_id={} channel_id={} funding_outpoint={} outbound_msat={} inbound_msat={}",
                                    order.order_id,
                                    local.channel_id,
                                    channel.funding_outpoint,
                                    local.outbound_capacity_msat,
                                    local.inbound_capacity_msat
                                ));
                            }
                            Ok(())
                        }
                        None => Err(failed(
                            "check_failed",
                            format!(
                                "the order is COMPLETED with channel {}, but no usable channel from the LSP has that funding outpoint here",
                                channel.funding_outpoint
                            ),
                        )),
                    }
                }
                // A COMPLETED order without `channel` breaks bLIP-51; the client check
                // in get_order refuses such an answer before it gets here.
                None => Err(failed(
                    "check_failed",
                    "the order is COMPLETED without a channel".into(),
                )),
            },
            Ok(order_watch::WatchEnd::Failed) => {
                Err(failed("order_failed", "the order FAILED".into()))
            }
            Ok(order_watch::WatchEnd::TimedOut) => Err(failed(
                "timeout",
                format!("the order is not final after {} s", args.wait_secs),
            )),
            Err(e) => Err(e.into()),
        };
        wallet.stop().await;
        outcome
    }
}

struct Output {
    json: bool,
}

impl Output {
    fn print<T: serde::Serialize>(&self, value: &T, text: impl FnOnce() -> String) {
        if self.json {
            match serde_json::to_string_pretty(value) {
                Ok(s) => emit(&s),
                Err(e) => eprintln!("lsps: cannot encode output: {e}"),
            }
        } else {
            emit(&text());
        }
    }
}

/// `raw`: one payload out, the first message back, both verbatim. BOLT8 uses a fresh
/// single connection; nothing is checked.
async fn raw(
    target: &Target,
    key: NodeKey,
    connect_timeout: Duration,
    timeout: Duration,
    payload: &[u8],
    out: &Output,
) -> Result<(), Failure> {
    let node_id = key.node_id().to_string();
    let transport: Arc<dyn Transport> = match target {
        Target::Bolt8(t) => Arc::new(
            Bolt8Connector::new(t.clone(), key)
                .with_connect_timeout(connect_timeout)
                .connect()
                .await?,
        ),
        Target::Http(url) => Arc::new(HttpTransport::with_connect_timeout(
            url,
            Some(node_id),
            connect_timeout,
        )?),
        Target::WebSocket(url) => Arc::new(
            tokio::time::timeout(connect_timeout, WsTransport::connect(url, Some(node_id)))
                .await
                .map_err(|_| TransportError::ConnectTimeout(url.clone()))??,
        ),
    };
    transport.send(payload.to_vec()).await?;
    let reply = tokio::time::timeout(timeout, async {
        match transport.recv().await {
            Some(TransportEvent::Message(bytes)) => Ok(bytes),
            Some(TransportEvent::Disconnected { .. }) | None => Err(Failure {
                code: 1,
                kind: "disconnected",
                message: "connection closed without a reply".into(),
                lsp_error: None,
            }),
        }
    })
    .await
    .map_err(|_| Failure {
        code: 1,
        kind: "timeout",
        message: format!("no reply within {timeout:?}"),
        lsp_error: None,
    })??;
    if out.json {
        let text = String::from_utf8_lossy(&reply);
        emit(&json!({"reply": text, "utf8": std::str::from_utf8(&reply).is_ok()}).to_string());
    } else {
        emit(&String::from_utf8_lossy(&reply));
    }
    Ok(())
}

fn lsps1_info_text(info: &lsps1::GetInfoResult) -> String {
    format!(
        "min_required_channel_confirmations: {}\n\
         min_funding_confirms_within_blocks: {}\n\
         supports_zero_channel_reserve:      {}\n\
         max_channel_expiry_blocks:          {}\n\
         client balance (sat):               {} .. {}\n\
         lsp balance (sat):                  {} .. {}\n\
         channel size (sat):                 {} .. {}",
        info.min_required_channel_confirmations,
        info.min_funding_confirms_within_blocks,
        info.supports_zero_channel_reserve,
        info.max_channel_expiry_blocks,
        info.min_initial_client_balance_sat,
        info.max_initial_client_balance_sat,
        info.min_initial_lsp_balance_sat,
        info.max_initial_lsp_balance_sat,
        info.min_channel_balance_sat,
        info.max_channel_balance_sat,
    )
}

/// The wire name of an enum value (`CREATED`, `EXPECT_PAYMENT`, …).
fn wire<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn order_text(order: &lsps1::OrderResult) -> String {
    let mut text = format!(
        "order_id:    {}\norder_state: {}\ncreated_at:  {}\nlsp_balance_sat: {}  client_balance_sat: {}",
        order.order_id.as_str(),
        wire(&order.order_state),
        order.created_at,
        order.order.lsp_balance_sat,
        order.order.client_balance_sat,
    );
    if let Some(b) = &order.payment.bolt11 {
        // The invoice alone on its line, for copying into a wallet.
        text.push_str(&format!(
            "\nbolt11: {}, pay {} sat (fee {} sat) before {}:\n{}",
            wire(&b.state),
            b.order_total_sat,
            b.fee_total_sat,
            b.expires_at,
            b.invoice
        ));
    }
    if let Some(b) = &order.payment.bolt12 {
        text.push_str(&format!(
            "\nbolt12: {}, pay {} sat (fee {} sat) before {}\n  {}",
            wire(&b.state),
            b.order_total_sat,
            b.fee_total_sat,
            b.expires_at,
            b.offer
        ));
    }
    if let Some(o) = &order.payment.onchain {
        text.push_str(&format!(
            "\nonchain: {}, pay {} sat (fee {} sat) before {} ({} confirmations) to:\n{} {}",
            wire(&o.state),
            o.order_total_sat,
            o.fee_total_sat,
            o.expires_at,
            o.min_onchain_payment_confirmations,
            o.address.as_str(),
            o.order_total_sat,
        ));
    }
    if let Some(c) = &order.channel {
        text.push_str(&format!(
            "\nchannel: funded_at {} outpoint {} expires_at {}",
            c.funded_at, c.funding_outpoint, c.expires_at
        ));
    }
    text
}

fn menu_text(menu: &[lsps_core::lsps2::OpeningFeeParams]) -> String {
    if menu.is_empty() {
        return "the LSP offers no JIT channels to this client (empty menu)".into();
    }
    let mut text = String::from(
        "#  min_fee_msat  proportional(ppm)  payment size msat (min..max)      valid_until               min_lifetime  max_client_to_self_delay",
    );
    for (i, e) in menu.iter().enumerate() {
        text.push_str(&format!(
            "\n{i:<2} {:<13} {:<18} {:<33} {:<25} {:<13} {}",
            e.min_fee_msat.to_string(),
            e.proportional.to_string(),
            format!("{}..{}", e.min_payment_size_msat, e.max_payment_size_msat),
            e.valid_until.to_string(),
            e.min_lifetime,
            e.max_client_to_self_delay,
        ));
    }
    text
}

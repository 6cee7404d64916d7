//! The command line: every command, subcommand and flag (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
pub(crate) struct Cli {
    /// The LSP: `<node id>@<host>:<port>` (BOLT8), `http://host:port/` (HTTP binding) or
    /// `ws://host:port/ws` (WebSocket binding).
    #[arg(long, short, env = "LSPS_TARGET", global = true)]
    pub(crate) target: Option<String>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Per-request timeout in milliseconds (the whole command is bounded by the connect timeout
    /// plus one request timeout per request it makes).
    #[arg(long, default_value_t = 30_000, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout_ms: u64,

    /// Connect timeout (TCP + BOLT8 handshake) in milliseconds.
    #[arg(long, default_value_t = 10_000, global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) connect_timeout_ms: u64,

    /// Our node key: a file with 32 raw bytes or 64 hex characters. Default: `node.key` in the
    /// data directory, created on first use (LSPS1 orders belong to the node id that made them).
    #[arg(long, env = "LSPS_NODE_KEY_FILE", global = true)]
    pub(crate) node_key_file: Option<PathBuf>,

    /// Data directory for the default node key. Default: $XDG_DATA_HOME/lsps or
    /// ~/.local/share/lsps.
    #[arg(long, env = "LSPS_DATA_DIR", global = true)]
    pub(crate) data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
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
pub(crate) enum Lsps1Command {
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
pub(crate) struct BuyChannelArgs {
    #[command(flatten)]
    pub(crate) order: CreateOrderArgs,
    /// How long to wait for COMPLETED after printing what to pay, in seconds.
    #[arg(long, default_value_t = 600)]
    pub(crate) wait_secs: u64,
    /// Time between `lsps1.get_order` polls, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub(crate) poll_ms: u64,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
}

#[derive(Args, Debug)]
pub(crate) struct CreateOrderArgs {
    /// Inbound liquidity the LSP provides, in sat.
    #[arg(long)]
    pub(crate) lsp_balance_sat: u64,
    /// Amount pushed to us, in sat (paid on top of the fee).
    #[arg(long, default_value_t = 0)]
    pub(crate) client_balance_sat: u64,
    /// Confirmations before `channel_ready` (default: the LSP's minimum).
    #[arg(long)]
    pub(crate) required_channel_confirmations: Option<u16>,
    /// Blocks within which the funding must confirm (default: the LSP's fastest).
    #[arg(long)]
    pub(crate) funding_confirms_within_blocks: Option<u16>,
    /// Lease length in blocks (default: the LSP's maximum).
    #[arg(long)]
    pub(crate) channel_expiry_blocks: Option<u32>,
    /// Coupon or authentication token.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// Refund address for on-chain payment (without it the LSP offers no on-chain option).
    #[arg(long)]
    pub(crate) refund_onchain_address: Option<String>,
    /// Ask for a public (announced) channel.
    #[arg(long)]
    pub(crate) announce_channel: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Lsps2Command {
    /// `lsps2.get_info`: the opening-fee menu (checked: order, promise size, unknown fields).
    GetInfo {
        /// Token the LSP gave us, if any.
        #[arg(long)]
        token: Option<String>,
    },
    /// `lsps2.buy`: fetch the menu, pick one entry, buy a JIT channel SCID.
    Buy(BuyArgs),
    /// Receive through a JIT channel: an embedded LDK node (one identity for LSPS and the
    /// channel, BOLT8 targets only) buys a JIT SCID, prints the invoice on the first line, takes
    /// the LSP's zero-conf channel, checks the skimmed fee against the promise and claims.
    #[cfg(feature = "node")]
    Receive(ReceiveArgs),
}

#[cfg(feature = "node")]
#[derive(Args, Debug)]
pub(crate) struct ReceiveArgs {
    /// Fixed amount in msat (MPP+fixed-invoice mode); omit for a variable-amount invoice
    /// (no-MPP mode).
    #[arg(long)]
    pub(crate) amount_msat: Option<u64>,
    /// Which menu entry (0 = cheapest).
    #[arg(long, default_value_t = 0)]
    pub(crate) menu_index: usize,
    /// Refuse if the opening fee (variable mode: `min_fee_msat`) exceeds this many msat.
    #[arg(long)]
    pub(crate) max_fee_msat: Option<u64>,
    /// Token for `get_info`.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// How long to wait for the payment after printing the invoice.
    #[arg(long, default_value_t = 600)]
    pub(crate) wait_secs: u64,
    /// Invoice expiry in seconds (shortened to the offer's `valid_until`).
    #[arg(long, default_value_t = 3600)]
    pub(crate) expiry_secs: u64,
    /// Invoice description.
    #[arg(long, default_value = "lsps2 receive")]
    pub(crate) description: String,
    /// Accept `client_trusts_lsp: true` (otherwise such an answer is refused).
    #[arg(long)]
    pub(crate) accept_client_trusts_lsp: bool,
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
}

/// The chain an embedded node follows.
#[cfg(feature = "node")]
#[derive(Args, Debug)]
pub(crate) struct ChainArgs {
    /// Dev chain dir holding rpc.url and .cookie [default: lsps-data/devchain, the embedded
    /// chain of a dev `lsps-server` started with defaults in this directory].
    #[arg(long, conflicts_with = "bitcoind_rpc")]
    pub(crate) chain_dir: Option<PathBuf>,
    /// Follow this Bitcoin Core RPC endpoint instead of the dev chain (needs a cookie).
    #[arg(long, requires = "bitcoind_cookie")]
    pub(crate) bitcoind_rpc: Option<String>,
    /// Cookie file for --bitcoind-rpc.
    #[arg(long)]
    pub(crate) bitcoind_cookie: Option<PathBuf>,
    /// The chain's network.
    #[arg(long, default_value = "regtest")]
    pub(crate) network: String,
}

/// The flags of `lsps2 buy`.
#[derive(Args, Debug)]
pub(crate) struct BuyArgs {
    /// Which menu entry (0 = cheapest).
    #[arg(long)]
    pub(crate) menu_index: usize,
    /// Fixed payment size in msat (MPP+fixed-invoice mode); omit for a variable amount.
    #[arg(long)]
    pub(crate) payment_size_msat: Option<u64>,
    /// Refuse if the opening fee exceeds this many msat.
    #[arg(long)]
    pub(crate) max_fee_msat: Option<u64>,
    /// Token for `get_info`.
    #[arg(long)]
    pub(crate) token: Option<String>,
    /// Accept `client_trusts_lsp: true` (otherwise such an answer is refused).
    #[arg(long)]
    pub(crate) accept_client_trusts_lsp: bool,
}

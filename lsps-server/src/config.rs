//! Server configuration: a TOML file, overridden by flags and environment variables (see
//! `main.rs`). Every field has a dev default so `lsps-server` with no arguments starts a
//! working LSP on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// LDK's `MAX_NO_CHANNEL_PEERS` (lightning 0.2 `channelmanager.rs`, private there): with this
/// many connected peers without a funded channel, `ChannelManager` refuses new inbound peers.
pub const LDK_MAX_NO_CHANNEL_PEERS: usize = 250;

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML does not parse (or names an unknown key).
    #[error(transparent)]
    Toml(#[from] toml::de::Error),
    /// A limit or timeout is zero.
    #[error("{0} must be greater than 0")]
    Zero(&'static str),
    /// Another inconsistency.
    #[error("{0}")]
    Invalid(String),
}

/// Everything the server needs to start.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Data directory: node seed, LDK state, dev chain, SQLite database.
    pub data_dir: PathBuf,
    /// `postgres://…` to keep orders and buys in PostgreSQL (several nodes may share one
    /// database); `None`: SQLite in the data directory.
    pub database_url: Option<String>,
    /// BOLT8 listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// HTTP/WebSocket listen address; `None` disables the HTTP binding.
    pub http_listen: Option<SocketAddr>,
    /// Admin listener (metrics, JSON API; keep it on loopback); `None` disables it.
    pub admin_listen: Option<SocketAddr>,
    /// Bearer token of the admin listener; by default a random one per start. Either way it is
    /// written with the URL to `<data_dir>/admin.json` (mode 0600).
    pub admin_token: Option<String>,
    /// LSPS1 (channel purchase).
    pub lsps1: Lsps1Config,
    /// LSPS2 (JIT channels).
    pub lsps2: Lsps2Config,
    /// Request limits.
    pub limits: Limits,
    /// Connection limits and timeouts of the listeners.
    pub connections: ConnectionLimits,
    /// Deliberate violations to switch on (`faults` builds only; see `faults::ALL`).
    pub faults: Vec<String>,
    /// Spec-legal variations of the server's answers (see `variants::ALL`).
    pub variants: Vec<String>,
    /// The embedded dev chain (used unless `bitcoind` is set).
    pub dev_chain: DevChainConfig,
    /// Follow Bitcoin Core (or a standalone dev chain) over RPC instead of the embedded chain.
    pub bitcoind: Option<BitcoindConfig>,
}

/// A Bitcoin Core RPC endpoint to follow.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BitcoindConfig {
    /// `http://IP:PORT`.
    pub rpc_url: String,
    /// Cookie file (Core's `.cookie`); or `user` and `password`.
    pub cookie_file: Option<PathBuf>,
    /// RPC user (with `password`).
    pub user: Option<String>,
    /// RPC password.
    pub password: Option<String>,
    /// `regtest`, `signet`, `testnet` or `bitcoin`; checked against the node's genesis block.
    pub network: String,
}

/// The embedded dev chain: its Bitcoin Core RPC, for other processes on the machine (URL and
/// cookie are written to `<data_dir>/devchain/rpc.url` and `.cookie`), and how often it mines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DevChainConfig {
    /// RPC listen address (loopback only; port 0 picks a free port).
    pub rpc_listen: SocketAddr,
    /// Mine one block this often, paying the node's wallet; 0: only on demand
    /// (`lsps-server dev mine`).
    pub block_interval_secs: u64,
    /// Run a payer node with a confirmed channel to this LSP in `<data_dir>/dev-payer`, for
    /// `lsps-server dev pay <invoice>` (admin listener needed).
    pub payer: bool,
}

impl Default for DevChainConfig {
    fn default() -> Self {
        Self {
            rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            block_interval_secs: 10,
            payer: true,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("lsps-data"),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 9735)),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9736))),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9737))),
            admin_token: None,
            lsps1: Lsps1Config::default(),
            lsps2: Lsps2Config::default(),
            limits: Limits::default(),
            connections: ConnectionLimits::default(),
            faults: Vec::new(),
            variants: Vec::new(),
            dev_chain: DevChainConfig::default(),
            bitcoind: None,
        }
    }
}

impl ServerConfig {
    /// Parse a TOML document; unknown keys are an error (typos must not be ignored silently).
    /// Limits are checked too (see [`ServerConfig::validate`]).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Check what can be checked without the node: every limit and timeout is non-zero (a zero
    /// would refuse every request or close every connection at once) and, when HTTP is on, its
    /// address differs from the BOLT8 one. The LSPS1/LSPS2 rules are checked by
    /// `Service::new`, which the server runs on a dry-run service before touching the disk.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let c = &self.connections;
        let counts: [(&str, u64); 14] = [
            ("limits.max_pending_per_peer", l.max_pending_per_peer as u64),
            ("limits.max_pending_total", l.max_pending_total as u64),
            (
                "limits.peer_requests_per_sec",
                u64::from(l.peer_requests_per_sec),
            ),
            ("limits.peer_burst", u64::from(l.peer_burst)),
            ("limits.max_orders_per_peer", l.max_orders_per_peer as u64),
            ("limits.max_buys_per_peer", l.max_buys_per_peer as u64),
            ("limits.max_tracked_callers", l.max_tracked_callers as u64),
            (
                "connections.http_max_connections",
                c.http_max_connections as u64,
            ),
            (
                "connections.http_header_timeout_secs",
                c.http_header_timeout_secs,
            ),
            (
                "connections.http_body_timeout_secs",
                c.http_body_timeout_secs,
            ),
            (
                "connections.http_idle_timeout_secs",
                c.http_idle_timeout_secs,
            ),
            (
                "connections.bolt8_max_connections",
                c.bolt8_max_connections as u64,
            ),
            (
                "connections.bolt8_max_channelless_peers",
                c.bolt8_max_channelless_peers as u64,
            ),
            (
                "connections.accept_error_backoff_ms",
                c.accept_error_backoff_ms,
            ),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Zero(name));
        }
        if self.lsps1.refund_bump_after_secs == 0 {
            return Err(ConfigError::Zero("lsps1.refund_bump_after_secs"));
        }
        if self.lsps1.refund_bump_after_secs > MAX_REFUND_BUMP_AFTER_SECS {
            return Err(ConfigError::Invalid(format!(
                "lsps1.refund_bump_after_secs must be at most {MAX_REFUND_BUMP_AFTER_SECS} (bLIP-51: fee-bump a refund unconfirmed after 6 hours)"
            )));
        }
        if c.bolt8_max_channelless_peers >= LDK_MAX_NO_CHANNEL_PEERS {
            return Err(ConfigError::Invalid(format!(
                "connections.bolt8_max_channelless_peers must be below {LDK_MAX_NO_CHANNEL_PEERS} (LDK refuses inbound peers at that count)"
            )));
        }
        if let Some(url) = &self.database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid(
                "database_url must start with postgres:// or postgresql:// (SQLite is the default, in the data directory)".into(),
            ));
        }
        if self.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError::Invalid(
                "admin_token must be at least 16 characters".into(),
            ));
        }
        if self
            .http_listen
            .is_some_and(|http| http == self.listen && http.port() != 0)
        {
            return Err(ConfigError::Invalid(format!(
                "http_listen and listen are both {}",
                self.listen
            )));
        }
        Ok(())
    }

    /// A config for tests and the conformance runner's `--spawn-reference`: data in `data_dir`,
    /// BOLT8 and HTTP on 127.0.0.1 with OS-assigned ports.
    pub fn ephemeral(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            admin_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            // Tests mine when they need a block, and start a payer when they pay.
            dev_chain: DevChainConfig {
                block_interval_secs: 0,
                payer: false,
                ..DevChainConfig::default()
            },
            ..Self::default()
        }
    }
}

/// LSPS1 settings: the advertised options and how orders are priced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Lsps1Config {
    /// Whether LSPS1 is offered (listed by `list_protocols`, methods answered).
    pub enabled: bool,
    /// `min_required_channel_confirmations` advertised by `get_info`.
    pub min_required_channel_confirmations: u16,
    /// `min_funding_confirms_within_blocks`.
    pub min_funding_confirms_within_blocks: u16,
    /// `supports_zero_channel_reserve`.
    pub supports_zero_channel_reserve: bool,
    /// `max_channel_expiry_blocks`.
    pub max_channel_expiry_blocks: u32,
    /// `min_initial_client_balance_sat`.
    pub min_initial_client_balance_sat: u64,
    /// `max_initial_client_balance_sat`.
    pub max_initial_client_balance_sat: u64,
    /// `min_initial_lsp_balance_sat`.
    pub min_initial_lsp_balance_sat: u64,
    /// `max_initial_lsp_balance_sat`.
    pub max_initial_lsp_balance_sat: u64,
    /// `min_channel_balance_sat`.
    pub min_channel_balance_sat: u64,
    /// `max_channel_balance_sat`.
    pub max_channel_balance_sat: u64,
    /// Fixed part of an order's fee, in sat.
    pub fee_base_sat: u64,
    /// Proportional part of the fee, ppm of the channel size (lsp + client balance).
    pub fee_ppm: u64,
    /// How long the payment options of an order stay payable, in seconds.
    pub payment_expiry_secs: u32,
    /// Offer on-chain payment (only when the client gave a `refund_onchain_address`).
    pub onchain_payment: bool,
    /// `min_onchain_payment_confirmations` of the on-chain option.
    pub min_onchain_payment_confirmations: u16,
    /// Tokens accepted in `create_order`; any other provided token gets error 102.
    pub accepted_tokens: Vec<String>,
    /// Node ids (hex) refused with `client_rejected` (code 1).
    pub rejected_peers: Vec<String>,
    /// How long after an order's payment is secured the LSP waits for the client to connect
    /// (no open started) before it fails the order and refunds, in seconds.
    pub client_offline_limit_secs: u64,
    /// Held HTLCs are failed back when the best block comes this close to their claim
    /// deadline and the channel is not ready.
    pub claim_margin_blocks: u32,
    /// Channel opens attempted for one order (a client disconnecting before the funding is
    /// published ends an attempt) before it fails.
    pub max_open_attempts: u32,
    /// Close an order's channel cooperatively once `channel_expiry_blocks` have passed since
    /// its funding confirmed (the LSP keeps it open at least that long either way).
    pub close_expired_channels: bool,
    /// A refund unconfirmed this long is fee-bumped (and again after as long), in seconds.
    /// bLIP-51 sets 6 hours as the limit, so larger values are refused.
    pub refund_bump_after_secs: u64,
}

/// bLIP-51: "MUST fee-bump if the refund is unconfirmed after 6 hours".
pub const MAX_REFUND_BUMP_AFTER_SECS: u64 = 6 * 60 * 60;

impl Lsps1Config {
    /// The order flow's settings.
    pub fn flow_config(&self) -> lsps_core::lsps1::OrderFlowConfig {
        lsps_core::lsps1::OrderFlowConfig {
            client_offline_limit_ms: self.client_offline_limit_secs.saturating_mul(1000),
            claim_margin_blocks: self.claim_margin_blocks,
            max_open_attempts: self.max_open_attempts,
            refund_bump_after_ms: self.refund_bump_after_secs.saturating_mul(1000),
        }
    }
}

impl Default for Lsps1Config {
    fn default() -> Self {
        Self {
            enabled: true,
            min_required_channel_confirmations: 0,
            min_funding_confirms_within_blocks: 6,
            supports_zero_channel_reserve: false,
            max_channel_expiry_blocks: 20_160,
            min_initial_client_balance_sat: 0,
            max_initial_client_balance_sat: 10_000_000,
            min_initial_lsp_balance_sat: 10_000,
            max_initial_lsp_balance_sat: 100_000_000,
            min_channel_balance_sat: 50_000,
            max_channel_balance_sat: 100_000_000,
            fee_base_sat: 1_000,
            fee_ppm: 5_000,
            payment_expiry_secs: 3_600,
            onchain_payment: true,
            min_onchain_payment_confirmations: 1,
            accepted_tokens: Vec::new(),
            rejected_peers: Vec::new(),
            client_offline_limit_secs: 3_600,
            claim_margin_blocks: 6,
            max_open_attempts: 3,
            close_expired_channels: false,
            refund_bump_after_secs: MAX_REFUND_BUMP_AFTER_SECS,
        }
    }
}

/// One LSPS2 menu entry as configured; `valid_until` and `promise` are made per request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MenuEntryConfig {
    /// `min_fee_msat`.
    pub min_fee_msat: u64,
    /// `proportional` (ppm of the payment size).
    pub proportional: u32,
    /// `valid_until` is this many seconds after the `get_info` (≥ 600 per the spec's SHOULD).
    pub valid_for_secs: u32,
    /// `min_lifetime` in blocks.
    pub min_lifetime: u32,
    /// `max_client_to_self_delay` in blocks.
    pub max_client_to_self_delay: u32,
    /// `min_payment_size_msat`.
    pub min_payment_size_msat: u64,
    /// `max_payment_size_msat`.
    pub max_payment_size_msat: u64,
}

/// LSPS2 settings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Lsps2Config {
    /// Whether LSPS2 is offered.
    pub enabled: bool,
    /// The fee menu, in the spec's required order (strictly increasing fees; checked at start).
    pub menu: Vec<MenuEntryConfig>,
    /// `lsp_cltv_expiry_delta` returned by `buy`.
    pub cltv_expiry_delta: u32,
    /// `client_trusts_lsp` returned by `buy`.
    pub client_trusts_lsp: bool,
    /// Tokens accepted by `get_info`; any other provided token gets error 200.
    pub accepted_tokens: Vec<String>,
    /// Check inbound liquidity ≥ `payment_size_msat` in `buy` (error 203 otherwise). Off by
    /// default so a dev LSP without channels sells JIT channels of any size in the menu.
    pub check_inbound_liquidity: bool,
    /// Node ids (hex) refused with `client_rejected` (code 1).
    pub rejected_peers: Vec<String>,
    /// Hex of a 32-byte promise key; by default derived from the node seed, so promises stay
    /// valid across restarts.
    pub promise_secret_hex: Option<String>,
    /// How long a JIT flow holds an incomplete MPP group (or a no-MPP HTLC while the client
    /// is away) before failing it back, ms. bLIP-52: at least 90 s; tests set less.
    pub hold_timeout_ms: u64,
}

impl Default for Lsps2Config {
    fn default() -> Self {
        Self {
            enabled: true,
            menu: vec![
                MenuEntryConfig {
                    min_fee_msat: 546_000,
                    proportional: 1_200,
                    valid_for_secs: 3_600,
                    min_lifetime: 1_008,
                    max_client_to_self_delay: 2_016,
                    min_payment_size_msat: 1_000_000,
                    max_payment_size_msat: 4_000_000_000,
                },
                MenuEntryConfig {
                    min_fee_msat: 1_092_000,
                    proportional: 2_400,
                    valid_for_secs: 3_600,
                    min_lifetime: 1_008,
                    max_client_to_self_delay: 2_016,
                    min_payment_size_msat: 1_000_000,
                    max_payment_size_msat: 4_000_000_000,
                },
            ],
            cltv_expiry_delta: 144,
            client_trusts_lsp: false,
            accepted_tokens: Vec::new(),
            check_inbound_liquidity: false,
            rejected_peers: Vec::new(),
            promise_secret_hex: None,
            hold_timeout_ms: lsps_core::lsps2::flow::DEFAULT_HOLD_TIMEOUT_MS,
        }
    }
}

/// Request limits. Over a limit the request is answered with code 1 (`client_rejected`) and a
/// message saying which limit; the peer is never muted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Requests of one peer being processed at once: writes awaiting a durable write, and
    /// (separately) BOLT8 reads waiting in the fair read lane. One more is answered code 1.
    pub max_pending_per_peer: usize,
    /// Requests being processed at once over all peers.
    pub max_pending_total: usize,
    /// Sustained requests per second per peer (token bucket).
    pub peer_requests_per_sec: u32,
    /// Burst size of the per-peer bucket.
    pub peer_burst: u32,
    /// LSPS1 orders one peer may hold.
    pub max_orders_per_peer: usize,
    /// LSPS2 buys one peer may hold.
    pub max_buys_per_peer: usize,
    /// Callers (BOLT8 node ids and HTTP source addresses) whose rate state is kept at once.
    /// Idle entries are dropped first; when every entry is busy a new caller is answered code 1.
    pub max_tracked_callers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pending_per_peer: 64,
            max_pending_total: 4_096,
            peer_requests_per_sec: 5_000,
            peer_burst: 10_000,
            max_orders_per_peer: 10_000,
            max_buys_per_peer: 10_000,
            max_tracked_callers: 100_000,
        }
    }
}

/// Limits and timeouts of the listeners: what keeps one client from holding every file
/// descriptor or every peer slot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionLimits {
    /// Open HTTP/WebSocket connections at once; more wait in the kernel's accept queue (no file
    /// descriptor is spent on them). Lowered at start-up to a quarter of the process's open
    /// file limit if that is smaller.
    pub http_max_connections: usize,
    /// A request's headers must arrive within this many seconds of the connection (or of the
    /// previous response on a kept-alive connection).
    pub http_header_timeout_secs: u64,
    /// A request body must arrive within this many seconds after its headers.
    pub http_body_timeout_secs: u64,
    /// A WebSocket that carries no frame for this long is closed.
    pub http_idle_timeout_secs: u64,
    /// Open BOLT8 connections at once (handshaking or connected); more wait in the accept
    /// queue. Lowered at start-up to a quarter of the open file limit if that is smaller.
    pub bolt8_max_connections: usize,
    /// Connected peers without a funded channel: when a new BOLT8 connection arrives and this
    /// many are connected, the least recently active of them are disconnected to make room.
    /// Must stay below LDK's own limit (250 such peers, after which LDK refuses every new
    /// inbound peer), so a new client always gets in.
    pub bolt8_max_channelless_peers: usize,
    /// First pause after a failed `accept` (e.g. out of file descriptors); doubles up to 1 s
    /// while failures go on, instead of spinning.
    pub accept_error_backoff_ms: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            http_max_connections: 1_024,
            http_header_timeout_secs: 10,
            http_body_timeout_secs: 10,
            http_idle_timeout_secs: 120,
            bolt8_max_connections: 1_024,
            bolt8_max_channelless_peers: 200,
            accept_error_backoff_ms: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn toml_round_trip_and_unknown_keys() {
        let config = ServerConfig::default();
        let text = toml::to_string(&config).unwrap();
        assert_eq!(ServerConfig::from_toml(&text).unwrap(), config);
        let partial =
            ServerConfig::from_toml("listen = \"127.0.0.1:1\"\n[lsps2]\ncltv_expiry_delta = 40\n")
                .unwrap();
        assert_eq!(partial.listen.port(), 1);
        assert_eq!(partial.lsps2.cltv_expiry_delta, 40);
        assert_eq!(partial.lsps2.menu.len(), 2);
        assert!(ServerConfig::from_toml("lisen = \"127.0.0.1:1\"").is_err());
    }

    /// A zero limit would refuse every request (or close every connection): refused at load.
    #[test]
    fn zero_limits_are_refused_at_load() {
        for key in [
            "[limits]\npeer_burst = 0",
            "[limits]\npeer_requests_per_sec = 0",
            "[limits]\nmax_pending_per_peer = 0",
            "[limits]\nmax_pending_total = 0",
            "[limits]\nmax_orders_per_peer = 0",
            "[limits]\nmax_buys_per_peer = 0",
            "[limits]\nmax_tracked_callers = 0",
            "[connections]\nhttp_max_connections = 0",
            "[connections]\nhttp_header_timeout_secs = 0",
            "[connections]\nbolt8_max_channelless_peers = 0",
            "[lsps1]\nrefund_bump_after_secs = 0",
        ] {
            let err = ServerConfig::from_toml(key).unwrap_err();
            assert!(
                err.to_string().contains("must be greater than 0"),
                "{key}: {err}"
            );
        }
        ServerConfig::default().validate().unwrap();
        // bLIP-51 bumps a refund unconfirmed after 6 hours: a longer wait is refused.
        let err = ServerConfig::from_toml("[lsps1]\nrefund_bump_after_secs = 21601").unwrap_err();
        assert!(err.to_string().contains("at most 21600"), "{err}");
        ServerConfig::from_toml("[lsps1]\nrefund_bump_after_secs = 60").unwrap();
    }
}

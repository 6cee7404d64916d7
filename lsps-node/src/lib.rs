//! The one LDK node kit of the workspace. Everything here is LSPS-agnostic; the server, testkit
//! and the runner build their nodes from it:
//!
//! - [`seed`]: the 32-byte node seed persisted in the data dir (keys, wallet and other secrets
//!   are derived from it);
//! - [`node`]: `KeysManager`, `ChainMonitor` and `ChannelManager` persisted in the node's
//!   SQLite store ([`kv`]), a `PeerManager` carrying whatever custom-message handler the caller
//!   gives it, the event loop (woken by LDK's futures), channel opens funded by the wallet;
//! - [`wallet`]: the on-chain wallet (bdk_wallet) whose change set is appended to a file;
//! - [`chain`]: where blocks come from and transactions go ([`chain::ChainSource`]): the
//!   embedded dev chain;
//! - [`net`]: BOLT8 sockets (the [`lsps_net`] driver, TCP_NODELAY);
//! - [`payments`], [`payer`]: outbound payments and their outcomes; a payer node with a channel
//!   to an LSP (tests, the dev server's `dev pay`, the conformance runner);
//! - [`kv`]: LDK's key-value store in one SQLite file, a batch of writes in one transaction;
//! - [`persist`]: ChannelMonitors written only behind a ChannelManager that knows their
//!   updates, so a crash never leaves a stale ChannelManager (LDK would force-close);
//! - [`logger`]: LDK's log into `tracing`.
#![deny(missing_docs)]

pub mod chain;
pub mod kv;
pub mod logger;
pub mod net;
pub mod node;
pub mod payer;
pub mod payments;
pub mod persist;
pub mod seed;
pub mod wallet;

pub use kv::SqliteStore;
pub use logger::LdkLogger;
pub use node::{
    ChainBroadcaster, ChainFeeEstimator, ChainMonitor, ChannelManager, InboundChannelPolicy,
    InboundChannelRequest, InboundDecision, Node, NodeConfig, NodeCore, NodeError, OpenChannel,
    PeerManager,
};
pub use wallet::{OnchainWallet, WalletError};

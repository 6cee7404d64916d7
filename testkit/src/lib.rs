//! Shared test support for the LSPS workspace (publish = false).
//!
//! - [`admin`]: the reference server's admin listener read from its data dir (a server in
//!   another process included).
//! - [`ldk_lsp`]: an in-process LDK 0.2.7 node running lightning-liquidity's LSPS0 + LSPS2
//!   *service* on 127.0.0.1, no bitcoind.
//! - [`ldk_client`]: an in-process LDK node running lightning-liquidity's LSPS0 + LSPS2
//!   *client*, for interop tests against other LSPs.
//! - [`scripted_lsp`]: a raw BOLT8 endpoint answering 37913 messages with scripted bytes, to
//!   drive client-side checks with crafted replies.
//! - [`ldk_node`]: the node both LDK fixtures are built on (the workspace's node kit,
//!   `lsps_node`, with lightning-liquidity as its custom-message handler).
//!
//! LDK's log goes to `tracing` (target `ldk`); install a subscriber in a test to see it.
#![deny(missing_docs)]

pub mod admin;
pub mod ldk_client;
pub mod ldk_lsp;
pub mod ldk_node;
pub mod scripted_lsp;

/// The payer the money-flow tests pay with: the node kit's (`lsps_node::payer`), re-exported
/// so every suite finds its fixtures in one place.
pub mod payer {
    pub use lsps_node::payer::{Miner, Payer, PayerError, PayerNode, RpcMiner};
    pub use lsps_node::payments::{FailureUpdate, PathFailureSeen, PaymentId, PaymentOutcome};
}

//! Typed LSPS0/1/2 client over BOLT8 and HTTP, with the client-side checks of
//! bLIP-50/51/52, and the `lsps` CLI (binary in this crate).
//!
//! - [`transport`]: the [`Transport`](transport::Transport) trait and its BOLT8 (custom
//!   message 37913, LDK `PeerManager` without a ChannelManager), HTTP POST and WebSocket
//!   implementations.
//! - [`LspsClient`]: one async method per LSPS0/1/2 call, a pending `RequestId → Method` map
//!   (ids from a CSPRNG), per-request timeouts, replies with unknown ids ignored, and every
//!   client-side MUST as a typed [`ClientError`] raised before anything is bought or paid.
//! - [`Target`] and [`connect`]: turn `pubkey@host:port`, `http://…` or `ws://…` into a
//!   transport.
//!
//! All decoding and rule checks come from `lsps-core`; this crate adds I/O and policy.
#![deny(missing_docs)]

mod client;
mod error;
mod target;
pub mod transport;

pub use client::{
    BuyLimits, BuyOutcome, DEFAULT_TIMEOUT, FeeOffer, IgnoreReason, IgnoredMessage, Lsps2Menu,
    LspsClient, MAX_NON_LARGE_CHANNEL_SAT, check_buy, check_menu, now,
};
pub use error::{ClientError, LspError, sanitize};
pub use target::{Target, connect};

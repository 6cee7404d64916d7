//! Typed LSPS0/1/2 client over BOLT8 and HTTP, with the client-side checks of
//! bLIP-50/51/52, and the `lsps` CLI (binary in this crate).
//!
//! - [`transport`]: the [`Transport`](transport::Transport) trait and its BOLT8 (custom
//!   message 37913, LDK `PeerManager` without a ChannelManager, TCP_NODELAY, own node key,
//!   reconnect on demand, independent connections), HTTP POST and WebSocket implementations
//!   (`spec/bindings/http.md`).
//! - [`LspsClient`]: one async method per LSPS0/1/2 call, a pending `RequestId → Method` map
//!   (ids from a CSPRNG), per-request timeouts, replies with unknown ids ignored, and every
//!   client-side MUST as a typed [`ClientError`] raised before anything is bought or paid.
//! - [`Target`] and [`connect`]: turn `pubkey@host:port`, `http(s)://…` or `ws(s)://…` into a
//!   transport.
//! - [`receive`]: the wallet side of an LSPS2 JIT receive — the invoice bLIP-52 requires, the
//!   channel-acceptance policy, the skim check before claiming, LSPS over the wallet node's own
//!   PeerManager, and (feature `node`, default) `JitWallet` on the workspace's node kit.
//!
//! All decoding and rule checks come from `lsps-core`; this crate adds I/O and policy.
//!
//! # Client-side checks
//!
//! | Rule | Where | Error |
//! |---|---|---|
//! | reply must be a JSON-RPC 2.0 response (LSPS0) | every call | [`CheckFailure::BadReply`], then [`ClientError::StoppedAfterBadMessage`] until reconnect |
//! | ignore responses with unknown ids, unknown notifications (LSPS0) | reader | recorded in [`LspsClient::ignored_messages`] |
//! | result must have the method's type; unknown result keys ignored (LSPS0) | every call | [`CheckFailure::InvalidResult`] |
//! | sanitise `error.message`; unknown codes generic (LSPS0) | every call | [`LspError`] |
//! | unknown fields in `opening_fee_params` abort (LSPS2) | `lsps2_get_info` | [`CheckFailure::UnknownFeeParamsField`] |
//! | promise ≤ 512 bytes (LSPS2) | `lsps2_get_info`, `lsps2_buy` | [`CheckFailure::Promise`] |
//! | menu order (LSPS2) | `lsps2_get_info` | [`CheckFailure::MenuOrder`] |
//! | copy `opening_fee_params` verbatim (LSPS2) | `lsps2_buy` | (by construction: [`FeeOffer::raw`]) |
//! | `valid_until` in the future (LSPS2) | `lsps2_buy` | [`CheckFailure::OfferExpired`] |
//! | `payment_size_msat` within [min, max] (LSPS2) | `lsps2_buy` | [`CheckFailure::PaymentSizeOutOfRange`] |
//! | fee arithmetic overflow aborts (LSPS2) | `lsps2_buy` | [`CheckFailure::FeeOverflow`] |
//! | fee below the payment size; fee within the caller's limit | `lsps2_buy` | [`CheckFailure::FeeNotBelowPaymentSize`], [`CheckFailure::FeeAboveLimit`] |
//! | `client_trusts_lsp`: trust or abort (LSPS2) | `lsps2_buy` | [`CheckFailure::ClientTrustsLspRefused`] |
//! | order within the LSP's options (LSPS1) | `lsps1_create_order` | [`CheckFailure::OrderOutsideOptions`] |
//! | > 16,777,215 sat needs `option_support_large_channel` (LSPS1) | `lsps1_create_order` | [`CheckFailure::LargeChannelNotSupported`] |
//! | `order_total_sat = fee_total_sat + client_balance_sat`, states, mirrors (LSPS1) | `lsps1_create_order`, `lsps1_get_order` | [`CheckFailure::Order`] |
//!
//! # CLI
//!
//! ```text
//! lsps --target <pubkey@host:port | http(s)://… | ws(s)://…> [--json] [--timeout-ms N]
//!      [--node-key-file F] <list-protocols | lsps1 get-info | lsps1 create-order … |
//!      lsps1 get-order ID | lsps2 get-info [--token T] |
//!      lsps2 buy --menu-index N [--payment-size-msat N] [--max-fee-msat N] |
//!      lsps2 receive [--amount-msat N] [--menu-index I] [--max-fee-msat F] [--token T]
//!                    [--wait-secs S] [--chain-dir D | --bitcoind-rpc URL --bitcoind-cookie F] |
//!      raw JSON>
//! ```
//! `lsps2 receive` (BOLT8 only) prints the invoice alone on its first line, then
//! `received_msat=<n> opening_fee_msat=<n> channel_id=<id>` (JSON with `--json`); exit 0
//! received, 1 a check failed / failed back / timed out, 2 usage or unreachable.
//! Exit codes: 0 success; 1 LSP error, check failure or timeout; 2 usage or unreachable.
#![deny(missing_docs)]

mod client;
mod error;
pub mod receive;
mod target;
pub mod transport;

pub use client::{
    BuyLimits, BuyOutcome, DEFAULT_TIMEOUT, FeeOffer, IgnoreReason, IgnoredMessage, Lsps2Menu,
    LspsClient, MAX_NON_LARGE_CHANNEL_SAT, check_buy, check_menu, now,
};
pub use error::{CheckFailure, ClientError, LspError, sanitize};
pub use target::{Target, connect};

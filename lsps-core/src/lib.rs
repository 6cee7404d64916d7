//! Typed LSPS0/1/2 protocol core: the JSON-RPC envelope with LSPS0's classifying decoder,
//! the common schema types, every LSPS0/1/2 params and result type, LSPS2 fee math and
//! promises, and the LSPS1/LSPS2 state machines.
//!
//! No I/O, no async, no clock and no randomness: callers pass bytes, times and entropy in.
//! Lightning-liquidity (LDK) conversions are behind the `ldk` feature.
//!
//! # Example: an LSP answering one raw payload
//!
//! ```
//! use lsps_core::jsonrpc::{decode_request, RequestParams, Response};
//! use lsps_core::lsps0::ListProtocolsResult;
//!
//! fn answer(payload: &[u8]) -> Vec<u8> {
//!     let request = match decode_request(payload) {
//!         Ok(request) => request,
//!         // Bad format, invalid request, unknown method or bad params: the reply is ready.
//!         Err(reply) => return reply.to_bytes(),
//!     };
//!     match request.params {
//!         RequestParams::Lsps0ListProtocols(_) => {
//!             Response::result(request.id, ListProtocolsResult { protocols: vec![1, 2] })
//!                 .to_bytes()
//!         }
//!         _ => Response::error(
//!             Some(request.id),
//!             lsps_core::jsonrpc::ErrorObject::method_not_found(),
//!         )
//!         .to_bytes(),
//!     }
//! }
//!
//! let ok = answer(br#"{"jsonrpc":"2.0","id":"a1","method":"lsps0.list_protocols","params":{}}"#);
//! assert_eq!(ok, br#"{"jsonrpc":"2.0","id":"a1","result":{"protocols":[1,2]}}"#);
//!
//! let unknown = answer(br#"{"jsonrpc":"2.0","id":"a2","method":"lsps0.list_protocols","params":{"x":1}}"#);
//! assert_eq!(
//!     unknown,
//!     br#"{"jsonrpc":"2.0","id":"a2","error":{"code":-32602,"message":"Invalid params","data":{"unrecognized":["x"]}}}"#
//! );
//!
//! let garbage = answer(b"{} {}");
//! assert_eq!(garbage, br#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#);
//! ```
//!
//! # Decisions where the bLIPs are silent or contradict themselves
//!
//! Envelope (LSP side, [`jsonrpc::decode_request`]):
//! - -32700 (`id: null`, no data) only for LSPS0's format failures: a NUL byte, invalid UTF-8,
//!   anything but exactly one JSON object, and duplicate keys at any depth (their meaning is
//!   parser-dependent; refusing them removes the ambiguity).
//! - A JSON object that is not a valid request gets -32600 (JSON-RPC's code; CLN and lspd do
//!   the same) with `data.message` saying why: `jsonrpc` not `"2.0"`, a member besides
//!   `jsonrpc`/`id`/`method`/`params`, `method` missing or not a string, `id` missing (client
//!   notifications are forbidden by LSPS0 and are answered, with `id: null`), `id` not a
//!   string (answered with `id: null`), `params` not an object (by-position arrays included).
//!   A missing `params` is `{}`. A string id is echoed in every -32600/-32601/-32602.
//! - -32602: unknown names are reported first, all of them, as `{"unrecognized": [...]}`; an
//!   invalid value as `{"property", "message", "unrecognized": []}` (LSPS1's shape plus the
//!   `unrecognized` LSPS0 requires on every -32602). A missing field is reported at its own
//!   dotted path with "missing required field"; an unknown field inside
//!   `opening_fee_params` at `opening_fee_params.<name>` with "unknown field".
//!
//! Types:
//! - Amounts: digits only, within u64; leading zeros are read (the spec says only "decimal
//!   text") and never written; JSON numbers are refused.
//! - Datetimes are always written `YYYY-MM-DDThh:mm:ss.sssZ`; serde reads RFC 3339 leniently
//!   (LDK and the bLIP-51 examples write other forms), truncating below the millisecond;
//!   [`types::DatetimeMode::Strict`] judges a writer. Before 1970, after 9999 and leap seconds
//!   are refused.
//! - Addresses: only P2WPKH, P2WSH and P2TR (the three a reader MUST support); the network,
//!   which bLIP-50 leaves open, is checked by the caller with
//!   [`types::OnchainAddress::require_network`].
//! - Outpoint indexes are 16 bits (LSPS0.output_index). `proportional` and the LSPS2 block
//!   counts are u32, as in LDK.
//! - `error.data` is never written as a string (see [`jsonrpc::ErrorObject`]); when decoding,
//!   it is kept exactly as received.
//!
//! LSPS1: `token` absent is written `""` in the order object and `""`/`null` read as absent;
//! so that every order round-trips, [`lsps1::OrderParams`] equality treats `Some("")` as
//! `None` (`create_order` params keep the token exactly as sent);
//! `payment.onchain.min_onchain_payment_confirmations` may be `null` (lsp#67 allowed it, LDK's
//! type is optional): it reads as 1 ([`lsps1::NULL_ONCHAIN_CONFIRMATIONS`]: no 0-conf is
//! assumed) and a number is always written, while an absent one is still an error;
//! `CANCELLED` is read as `REFUNDED` and never written; absent payment options are omitted and
//! `null` ones read as absent; `lsp_balance_sat < 1` is an option mismatch on
//! `min_initial_lsp_balance_sat`, the channel size on `min/max_channel_balance_sat`; an unpaid
//! option that expires keeps `EXPECT_PAYMENT`.
//!
//! LSPS2: the fee uses 10^6 (the prose's 10^7 is a typo) with the `+999999` add checked;
//! menu order looks at `min_fee_msat`/`proportional` only; promises bind the client node id
//! and cover `valid_until` as Unix milliseconds ([`lsps2::PromiseSecret`]); a client rejecting
//! the open ends the JIT flow in `FAILED`.
//!
//! # Performance
//!
//! Well-formed requests and results are decoded without a `serde_json::Value` tree (a
//! two-pass fast path that decides exactly as the full classifier, which still produces
//! every error); decode + validate + encode is faster than lightning-liquidity 0.2.7's serde
//! types on every benchmarked message (lsps-core / LDK: list_protocols 0.80, lsps2.get_info
//! result 0.71, lsps2.buy 0.64, lsps1 order 0.11 and 0.57 without invoice parsing; medians of
//! 3 runs). See `BENCHMARKS.md` in the crate directory.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(test, feature = "proptest"))]
pub mod strategies;

pub mod ids;
pub mod jsonrpc;
pub mod lsps0;
pub mod lsps1;
pub mod lsps2;
pub mod types;

#[cfg(feature = "ldk")]
pub mod ldk;

#[cfg(feature = "bolt8")]
pub mod bolt8;

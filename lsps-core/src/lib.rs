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
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod jsonrpc;
pub mod lsps0;
pub mod lsps1;
pub mod lsps2;
pub mod types;

#[cfg(feature = "ldk")]
pub mod ldk;

//! LSPS0 (bLIP-50): transport-level method `lsps0.list_protocols`.
//!
//! The envelope, error codes and bad-message classification shared by every protocol live in
//! [`crate::jsonrpc`]; the common schema types in [`crate::types`].

mod msgs;

pub use msgs::{ListProtocolsError, ListProtocolsRequest, ListProtocolsResult};

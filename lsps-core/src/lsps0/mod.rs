//! LSPS0 (bLIP-50): transport-level method `lsps0.list_protocols`.
//!
//! The envelope, error codes and bad-message classification shared by every protocol live in
//! [`crate::jsonrpc`]; the common schema types in [`crate::types`].

mod msgs;

pub use msgs::{ListProtocolsError, ListProtocolsRequest, ListProtocolsResult};

/// The BOLT8 custom message type that carries LSPS0 JSON-RPC (`lsps0_message_id`).
pub const LSPS_MESSAGE_TYPE: u16 = 37913;

/// The `option_supports_lsps` feature bit an LSP may set in `init` and `node_announcement`
/// (a client MUST NOT set it).
pub const LSPS_FEATURE_BIT: usize = 729;

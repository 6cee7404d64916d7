//! What the runner talks to: a [`Target`] opens fresh [`RawConnection`]s that carry raw LSPS
//! payloads (BOLT8 custom message 37913 bodies, or HTTP request bodies).

use crate::report::TargetInfo;
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;

/// A boxed, sendable future (the trait objects below need one).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An LSP endpoint under test.
pub trait Target: Send + Sync {
    /// Static description for the report (node id or URL; the probe fills in protocols).
    fn info(&self) -> TargetInfo;
    /// The address actually dialled (volatile: kept in the report's `run` block).
    fn address(&self) -> String;
    /// Opens a new, independent connection (a new BOLT8 session with its own handshake).
    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>>;
    /// Whether one connection carries many messages and can be muted by the peer (BOLT8: yes;
    /// HTTP: each request stands alone, so "still served" checks are trivially true).
    fn is_session_oriented(&self) -> bool {
        true
    }
    /// Whether every connection has the same node id (`--node-key-file`): cases that need a
    /// second identity cannot run, and connections must not overlap (LDK keeps one session
    /// per node id).
    fn fixed_identity(&self) -> bool {
        false
    }
}

/// A live connection: payloads go out on `outgoing`; payloads from the target arrive on
/// `incoming`, which yields `None` once the connection is closed.
pub struct RawConnection {
    /// Raw payloads to send.
    pub outgoing: mpsc::UnboundedSender<Vec<u8>>,
    /// Raw payloads received; `None` = closed.
    pub incoming: mpsc::UnboundedReceiver<Vec<u8>>,
    /// The runner's node id on this connection, if the transport has one.
    pub local_node_id: Option<String>,
    /// Whatever keeps the transport alive; dropped when the connection is dropped.
    pub keepalive: Box<dyn Any + Send>,
}

impl fmt::Debug for RawConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawConnection")
            .field("local_node_id", &self.local_node_id)
            .finish_non_exhaustive()
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The address could not be parsed.
    #[error("invalid target address: {0}")]
    BadAddress(String),
    /// Connecting, the handshake or the transport failed.
    #[error("cannot connect to target: {0}")]
    Unreachable(String),
}

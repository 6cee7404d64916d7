//! Transports: one trait, three carriers of raw LSPS payloads.
//!
//! - [`bolt8`]: BOLT8 custom message 37913 through an LDK `PeerManager` without a
//!   ChannelManager (the LSPS0 transport).
//! - [`http`]: this project's HTTP binding (POST) and its WebSocket variant.
//!
//! A transport moves bytes only; JSON-RPC, ids and checks live in [`crate::LspsClient`].

pub mod bolt8;
pub mod http;

use std::future::Future;
use std::pin::Pin;

/// A boxed future, so `Transport` stays object-safe (`Arc<dyn Transport>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Something that arrives from the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportEvent {
    /// One payload, bytes exactly as received.
    Message(Vec<u8>),
    /// Connection `connection` closed: replies to payloads sent on it will not come. A
    /// reconnecting transport may deliver messages from a new connection afterwards.
    Disconnected {
        /// The id [`Transport::send`] returned for payloads sent on that connection.
        connection: ConnectionId,
    },
}

/// Identifies one connection of a transport (unique within the process), so a disconnect
/// fails only the requests that were sent on that connection.
pub type ConnectionId = u64;

/// A fresh [`ConnectionId`].
pub(crate) fn next_connection_id() -> ConnectionId {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Why a transport could not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The target text is not `pubkey@host:port` or an `http(s)://` / `ws(s)://` URL.
    #[error("invalid target: {0}")]
    InvalidTarget(String),
    /// TCP or DNS failure.
    #[error("cannot reach {target}: {source}")]
    Io {
        /// Where we tried to go.
        target: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The BOLT8 handshake or `init` exchange did not complete.
    #[error("BOLT8 handshake with {0} failed (wrong node id, or the peer closed the connection)")]
    Handshake(String),
    /// Connecting took longer than allowed.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(String),
    /// The connection is closed (and this transport does not reconnect).
    #[error("connection closed")]
    Closed,
    /// HTTP-level failure (status without a JSON-RPC body, protocol error).
    #[error("HTTP: {0}")]
    Http(String),
    /// The payload cannot be carried (over 65533 bytes on BOLT8).
    #[error("payload cannot be sent: {0}")]
    Payload(String),
    /// The node key file is unusable.
    #[error("node key: {0}")]
    NodeKey(String),
    /// This build lacks a feature the target needs.
    #[error("{0}")]
    Unsupported(String),
}

/// A carrier of raw LSPS payloads between this client and one LSP.
///
/// `recv` is called by one reader at a time; `send` may be called concurrently.
pub trait Transport: Send + Sync + 'static {
    /// Sends one payload (bytes verbatim); returns the connection it went out on.
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>>;

    /// Waits for the next event. `None` means no event will ever come again.
    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>>;

    /// Human-readable description of the peer (`pubkey@host:port` or the URL).
    fn describe(&self) -> String;

    /// Whether the LSP advertised `option_support_large_channel` (wumbo) in its `init`, if
    /// this transport knows (BOLT8 does; HTTP does not).
    fn peer_supports_large_channels(&self) -> Option<bool> {
        None
    }
}

//! Transports: BOLT8 custom message 37913 and the HTTP/WebSocket binding. Both hand raw request
//! payloads to one [`Dispatch`] implementation (the [`crate::dispatch::Dispatcher`]) and send
//! back whatever it answers, so every transport gives the same answer to the same bytes.

pub mod bolt8;
pub mod http;

use std::future::Future;
use std::pin::Pin;

use bitcoin::secp256k1::PublicKey;

/// The answer to one inbound payload.
pub enum Dispatched {
    /// Reply with these bytes now.
    Reply(Vec<u8>),
    /// Send nothing (only reachable through a `faults` build).
    NoReply,
    /// The answer needs I/O first (durable writes); await it, then send it if `Some`.
    Pending(Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send>>),
}

impl Dispatched {
    /// Wait for the answer, whichever form it takes.
    pub async fn resolve(self) -> Option<Vec<u8>> {
        match self {
            Dispatched::Reply(bytes) => Some(bytes),
            Dispatched::NoReply => None,
            Dispatched::Pending(fut) => fut.await,
        }
    }
}

/// What a transport calls for each inbound LSPS payload.
pub trait Dispatch: Send + Sync + 'static {
    /// Answer one raw payload from `peer` (BOLT8 node id, or the node id an HTTP caller named).
    fn dispatch(&self, peer: PublicKey, payload: &[u8]) -> Dispatched;
    /// The peer's connection (BOLT8 session or WebSocket) closed.
    fn peer_disconnected(&self, peer: PublicKey);
}

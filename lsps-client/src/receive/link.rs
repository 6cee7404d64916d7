//! LSPS messages to one LSP over a PeerManager the wallet already has (its LDK node's), so
//! `lsps2.buy` and the JIT channel come from one node id.
//!
//! [`LspLink`] is both the node's 37913 peer (wrap it in
//! [`RawMessageHandler`](crate::transport::bolt8::RawMessageHandler) and give that to the
//! PeerManager as its custom-message handler) and a [`Transport`] for [`crate::LspsClient`].
//! It does not dial: the node connects to the LSP; sends fail with
//! [`TransportError::Closed`] while no session is up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::Init;
use tokio::sync::{Mutex, mpsc, watch};

use crate::transport::bolt8::{MAX_PAYLOAD_BYTES, RawLspsPeer, RawOutbox};
use crate::transport::{
    BoxFuture, ConnectionId, Transport, TransportError, TransportEvent, next_connection_id,
};

/// Wakes the PeerManager so it sends what was queued (`PeerManager::process_events`).
pub type Flush = Arc<dyn Fn() + Send + Sync>;

/// The LSPS link to one LSP over a shared PeerManager.
pub struct LspLink {
    lsp: PublicKey,
    describe: String,
    outbox: RawOutbox,
    sink: mpsc::UnboundedSender<TransportEvent>,
    inbound: Mutex<mpsc::UnboundedReceiver<TransportEvent>>,
    // 0 while no session is up; the session's connection id otherwise.
    connection: AtomicU64,
    up: watch::Sender<bool>,
    flush: OnceLock<Flush>,
}

impl std::fmt::Debug for LspLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LspLink")
            .field("lsp", &self.lsp)
            .field("connection", &self.connection.load(Ordering::Relaxed))
            .finish()
    }
}

impl LspLink {
    /// A link to `lsp`; `describe` names it in errors (e.g. `pubkey@host:port`).
    pub fn new(lsp: PublicKey, describe: String) -> Arc<Self> {
        let (sink, inbound) = mpsc::unbounded_channel();
        Arc::new(Self {
            lsp,
            describe,
            outbox: RawOutbox::default(),
            sink,
            inbound: Mutex::new(inbound),
            connection: AtomicU64::new(0),
            up: watch::channel(false).0,
            flush: OnceLock::new(),
        })
    }

    /// Sets how queued messages are pushed out (once; the PeerManager is built after its
    /// handler, so this comes second).
    pub fn set_flush(&self, flush: Flush) {
        let _ = self.flush.set(flush);
    }

    /// The LSP.
    pub fn lsp(&self) -> PublicKey {
        self.lsp
    }

    /// True while a session with the LSP is up.
    pub fn is_up(&self) -> bool {
        *self.up.borrow()
    }

    /// Follows whether a session with the LSP is up.
    pub fn subscribe_up(&self) -> watch::Receiver<bool> {
        self.up.subscribe()
    }

    /// Waits until a session with the LSP is up.
    pub async fn wait_up(&self) {
        let mut up = self.up.subscribe();
        let _ = up.wait_for(|up| *up).await;
    }
}

impl RawLspsPeer for LspLink {
    fn received(&self, sender: PublicKey, payload: Vec<u8>) {
        // Only the LSP's messages answer our requests; anyone else's are dropped.
        if sender == self.lsp {
            let _ = self.sink.send(TransportEvent::Message(payload));
        }
    }

    fn outbox(&self) -> &RawOutbox {
        &self.outbox
    }

    fn connected(&self, peer: PublicKey, _init: &Init) {
        if peer == self.lsp {
            self.connection
                .store(next_connection_id(), Ordering::Relaxed);
            self.up.send_replace(true);
        }
    }

    fn disconnected(&self, peer: PublicKey) {
        if peer == self.lsp {
            let connection = self.connection.swap(0, Ordering::Relaxed);
            self.up.send_replace(false);
            if connection != 0 {
                let _ = self.sink.send(TransportEvent::Disconnected { connection });
            }
        }
    }
}

impl Transport for LspLink {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        let result = if payload.len() > MAX_PAYLOAD_BYTES {
            Err(TransportError::Payload(format!(
                "{} bytes is more than a BOLT8 message carries ({MAX_PAYLOAD_BYTES})",
                payload.len()
            )))
        } else {
            match self.connection.load(Ordering::Relaxed) {
                0 => Err(TransportError::Closed),
                connection => {
                    self.outbox.push(self.lsp, payload);
                    if let Some(flush) = self.flush.get() {
                        flush();
                    }
                    Ok(connection)
                }
            }
        };
        Box::pin(async move { result })
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move { self.inbound.lock().await.recv().await })
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

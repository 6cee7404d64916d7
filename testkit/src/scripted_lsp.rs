//! A tiny BOLT8 endpoint that answers custom message 37913 with *scripted* replies: exactly the
//! bytes a test wants an LSP to send (valid, malformed, late, with foreign ids, several or
//! none), so client-side checks and the conformance runner's harness can be driven by them.
//!
//! It is an LDK `PeerManager` without a ChannelManager (docs/ldk-notes.md §2 shape, server side),
//! listening on 127.0.0.1 with TCP_NODELAY on accepted sockets.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use testkit::scripted_lsp::{Reply, ScriptedLsp};
//! let lsp = ScriptedLsp::start(|req| {
//!     vec![Reply::now(req.result(serde_json::json!({"protocols": [2]})))]
//! })
//! .await?;
//! println!("{}", lsp.connection_string());
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lsps_client::transport::bolt8::{RawLspsPeer, RawOutbox, RawPeerManager, raw_peer_manager};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::ldk_node::{LdkLogger, accept_inbound};

/// The LSPS0 BOLT8 message type and its raw payload (lsps-client's, which carries any bytes).
pub use lsps_client::transport::bolt8::{LSPS_MESSAGE_TYPE, RawPayload};

/// One 37913 message received by the scripted LSP.
#[derive(Clone, Debug)]
pub struct ScriptedRequest {
    /// The sending peer.
    pub peer: PublicKey,
    /// The payload bytes exactly as received.
    pub payload: Vec<u8>,
    /// The payload parsed as JSON, if it is JSON.
    pub json: Option<Value>,
}

impl ScriptedRequest {
    /// The request's `id` (any JSON value), `null` if absent.
    pub fn id(&self) -> Value {
        self.json
            .as_ref()
            .and_then(|v| v.get("id"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// The request's `method`, if it is a string.
    pub fn method(&self) -> Option<&str> {
        self.json
            .as_ref()
            .and_then(|v| v.get("method"))
            .and_then(Value::as_str)
    }

    /// The request's `params`, `null` if absent.
    pub fn params(&self) -> Value {
        self.json
            .as_ref()
            .and_then(|v| v.get("params"))
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// A success response echoing this request's id.
    pub fn result(&self, result: Value) -> Vec<u8> {
        json!({"jsonrpc": "2.0", "id": self.id(), "result": result})
            .to_string()
            .into_bytes()
    }

    /// An error response echoing this request's id.
    pub fn error(&self, code: i32, message: &str, data: Option<Value>) -> Vec<u8> {
        let mut error = json!({"code": code, "message": message});
        if let (Some(data), Some(obj)) = (data, error.as_object_mut()) {
            obj.insert("data".into(), data);
        }
        json!({"jsonrpc": "2.0", "id": self.id(), "error": error})
            .to_string()
            .into_bytes()
    }
}

/// One scripted message to send back.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Payload bytes, sent verbatim.
    pub payload: Vec<u8>,
    /// Send after this delay (`None`: at once).
    pub after: Option<Duration>,
}

impl Reply {
    /// Sends `payload` at once.
    pub fn now(payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload: payload.into(),
            after: None,
        }
    }

    /// Sends `payload` after `delay`.
    pub fn after(delay: Duration, payload: impl Into<Vec<u8>>) -> Self {
        Self {
            payload: payload.into(),
            after: Some(delay),
        }
    }
}

type Script = dyn Fn(&ScriptedRequest) -> Vec<Reply> + Send + Sync;

struct ScriptHandler {
    script: Box<Script>,
    outbox: RawOutbox,
    received: Mutex<Vec<ScriptedRequest>>,
    delayed: mpsc::UnboundedSender<(PublicKey, Reply)>,
}

impl RawLspsPeer for ScriptHandler {
    fn received(&self, sender: PublicKey, payload: Vec<u8>) {
        let request = ScriptedRequest {
            peer: sender,
            json: serde_json::from_slice(&payload).ok(),
            payload,
        };
        let replies = (self.script)(&request);
        if let Ok(mut received) = self.received.lock() {
            received.push(request);
        }
        for reply in replies {
            if reply.after.is_some() {
                let _ = self.delayed.send((sender, reply));
            } else {
                self.outbox.push(sender, reply.payload);
            }
        }
    }

    fn outbox(&self) -> &RawOutbox {
        &self.outbox
    }
}

type ScriptedPeerManager = RawPeerManager<ScriptHandler, Arc<LdkLogger>, Arc<KeysManager>>;

/// A running scripted LSP. Dropping it stops it.
pub struct ScriptedLsp {
    node_id: PublicKey,
    addr: SocketAddr,
    handler: Arc<ScriptHandler>,
    peer_manager: Arc<ScriptedPeerManager>,
    tasks: Vec<JoinHandle<()>>,
}

impl ScriptedLsp {
    /// Starts listening on 127.0.0.1 (free port); `script` is called once per received 37913
    /// message and returns what to send back to that peer.
    pub async fn start(
        script: impl Fn(&ScriptedRequest) -> Vec<Reply> + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let seed: [u8; 32] = rand::random();
        let keys = Arc::new(KeysManager::new(
            &seed,
            started.as_secs(),
            started.subsec_nanos(),
            true,
        ));
        let node_id = keys
            .get_node_id(Recipient::Node)
            .map_err(|()| std::io::Error::other("no node id"))?;
        let (delayed_tx, mut delayed_rx) = mpsc::unbounded_channel();
        let handler = Arc::new(ScriptHandler {
            script: Box::new(script),
            outbox: RawOutbox::default(),
            received: Mutex::new(Vec::new()),
            delayed: delayed_tx,
        });
        let peer_manager: Arc<ScriptedPeerManager> = Arc::new(raw_peer_manager(
            Arc::clone(&handler),
            Arc::new(LdkLogger),
            keys,
        ));
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;

        let accept_pm = Arc::clone(&peer_manager);
        let accept = tokio::spawn(accept_inbound(listener, accept_pm));
        let delay_pm = Arc::clone(&peer_manager);
        let delay_handler = Arc::clone(&handler);
        let delayed = tokio::spawn(async move {
            while let Some((peer, reply)) = delayed_rx.recv().await {
                let pm = Arc::clone(&delay_pm);
                let handler = Arc::clone(&delay_handler);
                tokio::spawn(async move {
                    if let Some(delay) = reply.after {
                        tokio::time::sleep(delay).await;
                    }
                    handler.outbox.push(peer, reply.payload);
                    pm.process_events();
                });
            }
        });
        Ok(Self {
            node_id,
            addr,
            handler,
            peer_manager,
            tasks: vec![accept, delayed],
        })
    }

    /// The endpoint's node id.
    pub fn node_id(&self) -> PublicKey {
        self.node_id
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `node_id@addr`.
    pub fn connection_string(&self) -> String {
        format!("{}@{}", self.node_id, self.addr)
    }

    /// Every 37913 message received so far, in order.
    pub fn received(&self) -> Vec<ScriptedRequest> {
        self.handler
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Sends an unsolicited payload to a connected peer (e.g. a notification).
    pub fn push(&self, peer: PublicKey, payload: impl Into<Vec<u8>>) {
        self.handler.outbox.push(peer, payload.into());
        self.peer_manager.process_events();
    }

    /// Drops the connection of `peer` (e.g. to test a client's reconnect).
    pub fn disconnect(&self, peer: PublicKey) {
        self.peer_manager.disconnect_by_node_id(peer);
    }

    /// Node ids of the currently connected peers.
    pub fn peers(&self) -> Vec<PublicKey> {
        self.peer_manager
            .list_peers()
            .into_iter()
            .map(|p| p.counterparty_node_id)
            .collect()
    }

    /// Disconnects every peer and stops listening.
    pub fn shutdown(&self) {
        for task in &self.tasks {
            task.abort();
        }
        self.peer_manager.disconnect_all_peers();
    }
}

impl Drop for ScriptedLsp {
    fn drop(&mut self) {
        self.shutdown();
    }
}

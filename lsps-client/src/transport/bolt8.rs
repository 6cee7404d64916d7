//! LSPS over BOLT8: custom message 37913 through an LDK `PeerManager` that has no
//! ChannelManager (channel messages are answered with `ErroringMessageHandler`, gossip and
//! onion messages ignored), so the client is a bare Lightning peer with its own node key.
//!
//! Every socket gets TCP_NODELAY (docs/ldk-notes.md §3: without it each fresh connection waits ~40 ms
//! on a delayed ACK). We open the `TcpStream` ourselves and hand it to the workspace's socket
//! driver ([`lsps_net::setup_outbound`], which sets it).
//!
//! - [`Bolt8Connector`] knows the target and the node key; [`Bolt8Connector::connect`] opens
//!   an independent [`Bolt8Connection`] each time (the conformance runner wants a fresh one per
//!   negative case). LDK-based LSPs keep one session per node id, so concurrent connections
//!   to one LSP need different keys: use [`KeyPolicy::EphemeralPerConnection`].
//! - [`Bolt8Transport`] reconnects on demand: a send after the connection dropped opens a new
//!   one.

use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::ecdh::SharedSecret;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, Signature};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, schnorr};
use lightning::bolt11_invoice::RawBolt11Invoice;
use lightning::ln::inbound_payment::ExpandedKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError, UnsignedGossipMessage};
use lightning::ln::peer_handler::{
    CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
    PeerManager,
};
use lightning::ln::wire::CustomMessageReader;
use lightning::offers::invoice::UnsignedBolt12Invoice;
use lightning::sign::{NodeSigner, PeerStorageKey, ReceiveAuthKey, Recipient};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::LengthLimitedRead;
use lsps_net::SocketDescriptor;
use tokio::sync::{mpsc, watch};

use super::{
    BoxFuture, ConnectionId, Transport, TransportError, TransportEvent, next_connection_id,
};

pub use lsps_core::bolt8::{LSPS_MESSAGE_TYPE, MAX_PAYLOAD_BYTES, RawPayload, read_raw_payload};

/// 37913 messages queued for the `PeerManager`, which collects them on its next
/// `process_events` (through [`RawMessageHandler`]'s `get_and_clear_pending_msg`).
#[derive(Debug, Default)]
pub struct RawOutbox {
    queue: Mutex<Vec<(PublicKey, RawPayload)>>,
}

impl RawOutbox {
    /// Queue `payload` for `peer`.
    pub fn push(&self, peer: PublicKey, payload: Vec<u8>) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push((peer, RawPayload(payload)));
        }
    }

    /// Everything queued so far, in order; the queue is left empty.
    pub fn take(&self) -> Vec<(PublicKey, RawPayload)> {
        self.queue
            .lock()
            .map(|mut queue| std::mem::take(&mut *queue))
            .unwrap_or_default()
    }
}

/// What a bare (channel-less) BOLT8 peer speaking raw 37913 decides for itself; the LDK
/// plumbing around it is [`RawMessageHandler`].
pub trait RawLspsPeer: Send + Sync + 'static {
    /// A 37913 payload arrived from `sender`.
    fn received(&self, sender: PublicKey, payload: Vec<u8>);
    /// Where this peer queues what it sends.
    fn outbox(&self) -> &RawOutbox;
    /// A session with `peer` is up (after `init`).
    fn connected(&self, _peer: PublicKey, _init: &Init) {}
    /// The session with `peer` went down.
    fn disconnected(&self, _peer: PublicKey) {}
}

/// LDK `CustomMessageReader` + `CustomMessageHandler` for raw 37913 over a [`RawLspsPeer`].
/// It advertises no features (a client MUST NOT set bit 729; a test LSP need not).
pub struct RawMessageHandler<P> {
    peer: Arc<P>,
}

impl<P: RawLspsPeer> RawMessageHandler<P> {
    /// Wraps `peer`; keep your own `Arc` to reach it.
    pub fn new(peer: Arc<P>) -> Self {
        Self { peer }
    }
}

impl<P: RawLspsPeer> CustomMessageReader for RawMessageHandler<P> {
    type CustomMessage = RawPayload;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawPayload>, DecodeError> {
        read_raw_payload(message_type, buffer)
    }
}

impl<P: RawLspsPeer> CustomMessageHandler for RawMessageHandler<P> {
    fn handle_custom_message(
        &self,
        msg: RawPayload,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        self.peer.received(sender_node_id, msg.0);
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawPayload)> {
        self.peer.outbox().take()
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.peer.disconnected(their_node_id);
    }

    fn peer_connected(&self, their: PublicKey, msg: &Init, _inbound: bool) -> Result<(), ()> {
        self.peer.connected(their, msg);
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

/// An LDK `PeerManager` that is a bare LSPS peer: `P` handles raw 37913, channel messages are
/// answered with an error, gossip and onion messages ignored.
pub type RawPeerManager<P, L, S> = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    L,
    Arc<RawMessageHandler<P>>,
    S,
    IgnoringMessageHandler,
>;

/// A [`RawPeerManager`] for `peer`, signing with `signer` (fresh ephemeral randomness, the
/// current time as its starting point).
pub fn raw_peer_manager<P, L, S>(peer: Arc<P>, logger: L, signer: S) -> RawPeerManager<P, L, S>
where
    P: RawLspsPeer,
    L: Deref,
    L::Target: Logger,
    S: Deref,
    S::Target: NodeSigner,
{
    let handlers = MessageHandler {
        chan_handler: Arc::new(ErroringMessageHandler::new()),
        route_handler: IgnoringMessageHandler {},
        onion_message_handler: IgnoringMessageHandler {},
        custom_message_handler: Arc::new(RawMessageHandler::new(peer)),
        send_only_message_handler: IgnoringMessageHandler {},
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    // LDK's own timer starts from this; u32 seconds last until 2106.
    let now_secs = u32::try_from(now.as_secs()).unwrap_or(u32::MAX);
    PeerManager::new(handlers, now_secs, &rand::random(), logger, signer)
}

/// This client's node key (its BOLT8 identity).
#[derive(Clone)]
pub struct NodeKey {
    secret: SecretKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeKey({})", self.node_id())
    }
}

impl NodeKey {
    /// A fresh random key (from the OS CSPRNG via `rand`).
    pub fn random() -> Self {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(secret) = SecretKey::from_slice(&bytes) {
                return Self { secret };
            }
        }
    }

    /// A key from a secret key.
    pub fn from_secret(secret: SecretKey) -> Self {
        Self { secret }
    }

    /// Reads a key file: exactly 32 raw bytes, or 64 hex characters (surrounding whitespace
    /// allowed).
    pub fn from_file(path: &Path) -> Result<Self, TransportError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TransportError::NodeKey(format!("{}: {e}", path.display())))?;
        let raw = if bytes.len() == 32 {
            bytes
        } else {
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| key_file_shape(path))?
                .trim();
            hex::decode(text).map_err(|_| key_file_shape(path))?
        };
        let secret = SecretKey::from_slice(&raw).map_err(|_| key_file_shape(path))?;
        Ok(Self { secret })
    }

    /// The node id (public key) of this key.
    pub fn node_id(&self) -> PublicKey {
        PublicKey::from_secret_key(&Secp256k1::signing_only(), &self.secret)
    }

    /// The secret, for deriving other secrets from the same identity file (the conformance
    /// runner seeds its wallet node with a hash of it, so one key file names both).
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.secret_bytes()
    }
}

fn key_file_shape(path: &Path) -> TransportError {
    TransportError::NodeKey(format!(
        "{}: expected 32 raw bytes or 64 hex characters of a valid secp256k1 secret key",
        path.display()
    ))
}

/// `NodeSigner` over a bare secret key: BOLT8 needs only the node id and ECDH; everything
/// a channel node would sign is refused.
struct KeySigner {
    secret: SecretKey,
    node_id: PublicKey,
    // Random per process: this peer stores nothing and receives no payments.
    expanded_key: ExpandedKey,
    peer_storage_key: [u8; 32],
    receive_auth_key: [u8; 32],
}

impl KeySigner {
    fn new(key: &NodeKey) -> Self {
        let secp = Secp256k1::new();
        Self {
            secret: key.secret,
            node_id: PublicKey::from_secret_key(&secp, &key.secret),
            expanded_key: ExpandedKey::new(rand::random()),
            peer_storage_key: rand::random(),
            receive_auth_key: rand::random(),
        }
    }
}

impl NodeSigner for KeySigner {
    fn get_expanded_key(&self) -> ExpandedKey {
        self.expanded_key
    }

    fn get_peer_storage_key(&self) -> PeerStorageKey {
        PeerStorageKey {
            inner: self.peer_storage_key,
        }
    }

    fn get_receive_auth_key(&self) -> ReceiveAuthKey {
        ReceiveAuthKey(self.receive_auth_key)
    }

    fn get_node_id(&self, recipient: Recipient) -> Result<PublicKey, ()> {
        match recipient {
            Recipient::Node => Ok(self.node_id),
            Recipient::PhantomNode => Err(()),
        }
    }

    fn ecdh(
        &self,
        recipient: Recipient,
        other_key: &PublicKey,
        tweak: Option<&Scalar>,
    ) -> Result<SharedSecret, ()> {
        if !matches!(recipient, Recipient::Node) {
            return Err(());
        }
        let mut secret = self.secret;
        if let Some(tweak) = tweak {
            secret = secret.mul_tweak(tweak).map_err(|_| ())?;
        }
        Ok(SharedSecret::new(other_key, &secret))
    }

    fn sign_invoice(
        &self,
        _invoice: &RawBolt11Invoice,
        _recipient: Recipient,
    ) -> Result<RecoverableSignature, ()> {
        Err(())
    }

    fn sign_bolt12_invoice(
        &self,
        _invoice: &UnsignedBolt12Invoice,
    ) -> Result<schnorr::Signature, ()> {
        Err(())
    }

    fn sign_gossip_message(&self, _msg: UnsignedGossipMessage) -> Result<Signature, ()> {
        Err(())
    }

    fn sign_message(&self, _msg: &[u8]) -> Result<String, ()> {
        Err(())
    }
}

/// LDK's log, dropped unless `LSPS_LDK_LOG` is set.
struct QuietLogger {
    enabled: bool,
}

impl Logger for QuietLogger {
    fn log(&self, record: Record) {
        if self.enabled {
            eprintln!(
                "[ldk {} {}] {}",
                record.level, record.module_path, record.args
            );
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConnState {
    Connecting,
    Ready,
    Closed,
}

/// The custom-message side of one connection.
struct ConnHandler {
    lsp: PublicKey,
    connection: ConnectionId,
    // The LSP's `init` features (set once the session is up).
    lsp_features: Mutex<Option<InitFeatures>>,
    outbox: RawOutbox,
    sink: mpsc::UnboundedSender<TransportEvent>,
    state: watch::Sender<ConnState>,
}

impl ConnHandler {
    fn mark_closed(&self) {
        // Only a session that was up is reported: a failed handshake is the connect error.
        let mut was_ready = false;
        self.state.send_if_modified(|state| {
            was_ready = *state == ConnState::Ready;
            let changed = *state != ConnState::Closed;
            *state = ConnState::Closed;
            changed
        });
        if was_ready {
            let _ = self.sink.send(TransportEvent::Disconnected {
                connection: self.connection,
            });
        }
    }
}

impl RawLspsPeer for ConnHandler {
    fn received(&self, sender: PublicKey, payload: Vec<u8>) {
        if sender == self.lsp {
            let _ = self.sink.send(TransportEvent::Message(payload));
        }
    }

    fn outbox(&self) -> &RawOutbox {
        &self.outbox
    }

    fn disconnected(&self, peer: PublicKey) {
        if peer == self.lsp {
            self.mark_closed();
        }
    }

    fn connected(&self, peer: PublicKey, init: &Init) {
        if peer == self.lsp {
            if let Ok(mut features) = self.lsp_features.lock() {
                *features = Some(init.features.clone());
            }
            self.state.send_replace(ConnState::Ready);
        }
    }
}

type ClientPeerManager = RawPeerManager<ConnHandler, Arc<QuietLogger>, Arc<KeySigner>>;

/// Where a BOLT8 LSP is: its node id and `host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bolt8Target {
    /// The LSP's node id.
    pub node_id: PublicKey,
    /// `host:port` (IPv4, `[IPv6]`, bare IPv6 split at the last `:`, or a DNS name).
    pub host_port: String,
}

impl std::str::FromStr for Bolt8Target {
    type Err = TransportError;

    /// Parses `pubkey@host:port` (LSPS0 connection string: split at the first `@`; the port
    /// is after the last `:`).
    fn from_str(s: &str) -> Result<Self, TransportError> {
        let bad = |why: &str| TransportError::InvalidTarget(format!("{s:?}: {why}"));
        let (key, addr) = s
            .split_once('@')
            .ok_or_else(|| bad("expected <node id>@<host>:<port>"))?;
        let node_id: PublicKey = key
            .parse()
            .map_err(|_| bad("the node id is not a 66-hex-character compressed public key"))?;
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| bad("the address has no :port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("expected <host>:<port> with a port in 0..65535"));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_port = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Self { node_id, host_port })
    }
}

impl std::fmt::Display for Bolt8Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.node_id, self.host_port)
    }
}

/// Which node key each new connection uses.
#[derive(Clone, Debug)]
pub enum KeyPolicy {
    /// Always this key (the LSP sees one client across connections).
    Fixed(NodeKey),
    /// A fresh random key per connection, so connections are fully independent (LDK keeps
    /// only one session per node id).
    EphemeralPerConnection,
}

/// Opens BOLT8 connections to one LSP.
#[derive(Clone, Debug)]
pub struct Bolt8Connector {
    target: Bolt8Target,
    keys: KeyPolicy,
    connect_timeout: Duration,
}

impl Bolt8Connector {
    /// A connector with a fixed key (see [`KeyPolicy`]) and a 10 s connect timeout.
    pub fn new(target: Bolt8Target, key: NodeKey) -> Self {
        Self {
            target,
            keys: KeyPolicy::Fixed(key),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Sets the key policy.
    pub fn with_key_policy(mut self, keys: KeyPolicy) -> Self {
        self.keys = keys;
        self
    }

    /// Sets the time allowed for TCP connect + handshake + `init`.
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The target.
    pub fn target(&self) -> &Bolt8Target {
        &self.target
    }

    /// Opens a new, independent connection (TCP_NODELAY, handshake, `init`).
    pub async fn connect(&self) -> Result<Bolt8Connection, TransportError> {
        let (sink, inbound) = mpsc::unbounded_channel();
        let mut conn = self.connect_with_sink(sink).await?;
        conn.inbound = Some(tokio::sync::Mutex::new(inbound));
        Ok(conn)
    }

    async fn connect_with_sink(
        &self,
        sink: mpsc::UnboundedSender<TransportEvent>,
    ) -> Result<Bolt8Connection, TransportError> {
        let target = self.target.to_string();
        tokio::time::timeout(self.connect_timeout, self.connect_inner(sink))
            .await
            .map_err(|_| TransportError::ConnectTimeout(target))?
    }

    async fn connect_inner(
        &self,
        sink: mpsc::UnboundedSender<TransportEvent>,
    ) -> Result<Bolt8Connection, TransportError> {
        let target = self.target.to_string();
        let io_err = |source| TransportError::Io {
            target: target.clone(),
            source,
        };
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host(&self.target.host_port)
            .await
            .map_err(io_err)?
            .collect();
        let mut last_err = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
        let mut stream = None;
        for addr in addrs {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last_err = e,
            }
        }
        let stream = stream.ok_or_else(|| io_err(last_err))?;
        stream.set_nodelay(true).map_err(io_err)?;

        let key = match &self.keys {
            KeyPolicy::Fixed(key) => key.clone(),
            KeyPolicy::EphemeralPerConnection => NodeKey::random(),
        };
        let signer = Arc::new(KeySigner::new(&key));
        let (state_tx, mut state_rx) = watch::channel(ConnState::Connecting);
        let handler = Arc::new(ConnHandler {
            lsp: self.target.node_id,
            connection: next_connection_id(),
            lsp_features: Mutex::new(None),
            outbox: RawOutbox::default(),
            sink,
            state: state_tx,
        });
        let logger = Arc::new(QuietLogger {
            enabled: std::env::var_os("LSPS_LDK_LOG").is_some(),
        });
        let peer_manager: Arc<ClientPeerManager> =
            Arc::new(raw_peer_manager(Arc::clone(&handler), logger, signer));
        let session = lsps_net::setup_outbound(
            Arc::clone(&peer_manager),
            lsps_net::EventProcessor::spawn(Arc::clone(&peer_manager)),
            self.target.node_id,
            stream,
        );
        let session_handler = Arc::clone(&handler);
        tokio::spawn(async move {
            session.await;
            session_handler.mark_closed();
        });

        let ready = state_rx
            .wait_for(|state| *state != ConnState::Connecting)
            .await
            .map(|state| *state == ConnState::Ready)
            .unwrap_or(false);
        if !ready {
            return Err(TransportError::Handshake(target));
        }
        Ok(Bolt8Connection {
            handler,
            peer_manager,
            inbound: None,
            target,
            node_id: key.node_id(),
        })
    }
}

/// One BOLT8 session with the LSP. Closing is final; dropping it disconnects.
pub struct Bolt8Connection {
    handler: Arc<ConnHandler>,
    peer_manager: Arc<ClientPeerManager>,
    inbound: Option<tokio::sync::Mutex<mpsc::UnboundedReceiver<TransportEvent>>>,
    target: String,
    node_id: PublicKey,
}

impl Bolt8Connection {
    /// The node id this connection presented to the LSP.
    pub fn local_node_id(&self) -> PublicKey {
        self.node_id
    }

    /// The feature bits of the LSP's `init` message (e.g. bit 729, `option_supports_lsps`).
    pub fn lsp_init_features(&self) -> Option<InitFeatures> {
        self.handler
            .lsp_features
            .lock()
            .ok()
            .and_then(|f| f.clone())
    }

    /// Whether the LSP's `init` advertised bit 729 (`option_supports_lsps`, bLIP-50).
    pub fn lsp_advertises_lsps(&self) -> bool {
        self.lsp_init_features().is_some_and(|f| {
            let flags = f.le_flags();
            flags.len() > 91 && flags[91] & 0b10 != 0
        })
    }

    /// Whether the LSP's `init` advertised `option_support_large_channel`.
    pub fn lsp_supports_large_channels(&self) -> bool {
        self.lsp_init_features().is_some_and(|f| f.supports_wumbo())
    }

    /// True while the session is up.
    pub fn is_open(&self) -> bool {
        *self.handler.state.borrow() == ConnState::Ready
    }

    /// Closes the session.
    pub fn close(&self) {
        self.peer_manager.disconnect_all_peers();
        self.handler.mark_closed();
    }

    fn send_now(&self, payload: Vec<u8>) -> Result<ConnectionId, TransportError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(TransportError::Payload(format!(
                "{} bytes is more than a BOLT8 message carries ({MAX_PAYLOAD_BYTES})",
                payload.len()
            )));
        }
        if !self.is_open() {
            return Err(TransportError::Closed);
        }
        self.handler.outbox.push(self.handler.lsp, payload);
        self.peer_manager.process_events();
        Ok(self.handler.connection)
    }
}

impl Drop for Bolt8Connection {
    fn drop(&mut self) {
        self.peer_manager.disconnect_all_peers();
    }
}

impl Transport for Bolt8Connection {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        let result = self.send_now(payload);
        Box::pin(async move { result })
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move {
            match &self.inbound {
                Some(inbound) => inbound.lock().await.recv().await,
                None => None,
            }
        })
    }

    fn describe(&self) -> String {
        self.target.clone()
    }

    fn peer_supports_large_channels(&self) -> Option<bool> {
        Some(self.lsp_supports_large_channels())
    }
}

/// A BOLT8 transport that reconnects on demand: a send while disconnected opens a new
/// connection (same [`KeyPolicy`]). Requests in flight when a connection drops are failed by
/// the client when it sees [`TransportEvent::Disconnected`] for that connection.
pub struct Bolt8Transport {
    connector: Bolt8Connector,
    current: tokio::sync::Mutex<Option<Bolt8Connection>>,
    // Set after the first session: later handshake refusals are retried (see below).
    ever_connected: std::sync::atomic::AtomicBool,
    sink: mpsc::UnboundedSender<TransportEvent>,
    inbound: tokio::sync::Mutex<mpsc::UnboundedReceiver<TransportEvent>>,
}

impl Bolt8Transport {
    /// Connects now (so an unreachable target fails here) and reconnects later as needed.
    pub async fn connect(connector: Bolt8Connector) -> Result<Self, TransportError> {
        let transport = Self::lazy(connector);
        transport.ensure_connected().await?;
        Ok(transport)
    }

    /// Connects on the first send.
    pub fn lazy(connector: Bolt8Connector) -> Self {
        let (sink, inbound) = mpsc::unbounded_channel();
        Self {
            connector,
            current: tokio::sync::Mutex::new(None),
            ever_connected: std::sync::atomic::AtomicBool::new(false),
            sink,
            inbound: tokio::sync::Mutex::new(inbound),
        }
    }

    /// The node id the current connection presented, if connected.
    pub async fn local_node_id(&self) -> Option<PublicKey> {
        self.current
            .lock()
            .await
            .as_ref()
            .filter(|c| c.is_open())
            .map(Bolt8Connection::local_node_id)
    }

    /// Drops the current connection (the next send reconnects).
    pub async fn disconnect(&self) {
        if let Some(conn) = self.current.lock().await.take() {
            conn.close();
        }
    }

    async fn ensure_connected(&self) -> Result<(), TransportError> {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(Bolt8Connection::is_open) {
            return Ok(());
        }
        let reconnecting = self
            .ever_connected
            .load(std::sync::atomic::Ordering::Relaxed);
        let deadline = tokio::time::Instant::now() + self.connector.connect_timeout;
        let mut pause = Duration::from_millis(10);
        let conn = loop {
            match self.connector.connect_with_sink(self.sink.clone()).await {
                Ok(conn) => break conn,
                // An LDK LSP refuses a second session for a node id until it has noticed the
                // old socket close ("Got second connection ..., closing"): on a reconnect
                // with the same key, retry within the connect timeout.
                Err(TransportError::Handshake(_))
                    if reconnecting && tokio::time::Instant::now() + pause < deadline =>
                {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(250));
                }
                Err(e) => return Err(e),
            }
        };
        *current = Some(conn);
        self.ever_connected
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

impl Transport for Bolt8Transport {
    fn send(&self, payload: Vec<u8>) -> BoxFuture<'_, Result<ConnectionId, TransportError>> {
        Box::pin(async move {
            self.ensure_connected().await?;
            match self.current.lock().await.as_ref() {
                Some(conn) => conn.send_now(payload),
                None => Err(TransportError::Closed),
            }
        })
    }

    fn recv(&self) -> BoxFuture<'_, Option<TransportEvent>> {
        Box::pin(async move { self.inbound.lock().await.recv().await })
    }

    fn describe(&self) -> String {
        self.connector.target.to_string()
    }

    fn peer_supports_large_channels(&self) -> Option<bool> {
        // Non-blocking peek: if the lock is busy (a reconnect), report unknown.
        self.current
            .try_lock()
            .ok()
            .and_then(|c| c.as_ref().map(Bolt8Connection::lsp_supports_large_channels))
    }
}

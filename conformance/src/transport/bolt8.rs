//! BOLT8 target: each connection is its own LDK `PeerManager` (no ChannelManager; spike.md §2
//! shape) with a fresh random node key, carrying raw custom-message-37913 payloads. TCP_NODELAY
//! is set on the socket (spike.md §3: 44 ms per fresh connection without it).

use crate::report::TargetInfo;
use crate::target::{BoxFuture, RawConnection, Target, TargetError};
use bitcoin::secp256k1::PublicKey;
use lightning::io;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{
    CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
    PeerManager,
};
use lightning::ln::wire::{CustomMessageReader, Type};
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};
use lightning_net_tokio::SocketDescriptor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

/// The LSPS0 custom message type.
pub const LSPS_MESSAGE_TYPE: u16 = 37913;

#[derive(Debug, Clone)]
struct RawPayload(Vec<u8>);

impl Writeable for RawPayload {
    fn write<W: Writer>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
}

impl Type for RawPayload {
    fn type_id(&self) -> u16 {
        LSPS_MESSAGE_TYPE
    }
}

struct RawHandler {
    lsp: PublicKey,
    outbox: Mutex<Vec<(PublicKey, RawPayload)>>,
    inbox: Mutex<Option<mpsc::UnboundedSender<Vec<u8>>>>,
    connected: Mutex<Option<oneshot::Sender<()>>>,
}

impl CustomMessageReader for RawHandler {
    type CustomMessage = RawPayload;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawPayload>, DecodeError> {
        if message_type != LSPS_MESSAGE_TYPE {
            return Ok(None);
        }
        let len =
            usize::try_from(buffer.remaining_bytes()).map_err(|_| DecodeError::InvalidValue)?;
        let mut payload = vec![0; len];
        buffer.read_exact(&mut payload)?;
        Ok(Some(RawPayload(payload)))
    }
}

impl CustomMessageHandler for RawHandler {
    fn handle_custom_message(
        &self,
        msg: RawPayload,
        sender: PublicKey,
    ) -> Result<(), LightningError> {
        if sender == self.lsp
            && let Ok(inbox) = self.inbox.lock()
            && let Some(tx) = inbox.as_ref()
        {
            let _ = tx.send(msg.0);
        }
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawPayload)> {
        self.outbox
            .lock()
            .map(|mut o| std::mem::take(&mut *o))
            .unwrap_or_default()
    }

    fn peer_disconnected(&self, their: PublicKey) {
        if their == self.lsp
            && let Ok(mut inbox) = self.inbox.lock()
        {
            // Dropping the sender makes the receiver yield `None`: "closed".
            inbox.take();
        }
    }

    fn peer_connected(&self, their: PublicKey, _msg: &Init, _inbound: bool) -> Result<(), ()> {
        if their == self.lsp
            && let Ok(mut slot) = self.connected.lock()
            && let Some(tx) = slot.take()
        {
            let _ = tx.send(());
        }
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

struct QuietLogger;

impl Logger for QuietLogger {
    fn log(&self, record: Record) {
        if std::env::var_os("LSPS_CONFORMANCE_LDK_LOG").is_some() {
            eprintln!("ldk {}: {}", record.level, record.args);
        }
    }
}

type RawPeerManager = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    Arc<QuietLogger>,
    Arc<RawHandler>,
    Arc<KeysManager>,
    IgnoringMessageHandler,
>;

/// Keeps a connection's peer manager and tasks alive; disconnects on drop.
struct Session {
    peer_manager: Arc<RawPeerManager>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        self.peer_manager.disconnect_all_peers();
    }
}

/// An LSP reachable over BOLT8 at `node_id@addr`.
pub struct Bolt8Target {
    node_id: PublicKey,
    addr: String,
}

impl Bolt8Target {
    /// A target at `node_id` (66 hex) and `host:port`.
    pub fn new(node_id: &str, addr: &str) -> Result<Self, TargetError> {
        let node_id: PublicKey = node_id
            .parse()
            .map_err(|e| TargetError::BadAddress(format!("node id {node_id}: {e}")))?;
        Ok(Bolt8Target {
            node_id,
            addr: addr.to_owned(),
        })
    }

    async fn open(&self) -> Result<RawConnection, TargetError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let seed: [u8; 32] = rand::random();
        let keys = Arc::new(KeysManager::new(
            &seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let local = keys
            .get_node_id(Recipient::Node)
            .map_err(|()| TargetError::Unreachable("no local node id".into()))?;
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (connected_tx, connected_rx) = oneshot::channel();
        let handler = Arc::new(RawHandler {
            lsp: self.node_id,
            outbox: Mutex::new(Vec::new()),
            inbox: Mutex::new(Some(in_tx)),
            connected: Mutex::new(Some(connected_tx)),
        });
        let handlers = MessageHandler {
            chan_handler: Arc::new(ErroringMessageHandler::new()),
            route_handler: IgnoringMessageHandler {},
            onion_message_handler: IgnoringMessageHandler {},
            custom_message_handler: handler.clone(),
            send_only_message_handler: IgnoringMessageHandler {},
        };
        let ephemeral: [u8; 32] = rand::random();
        let peer_manager: Arc<RawPeerManager> = Arc::new(PeerManager::new(
            handlers,
            u32::try_from(now.as_secs()).unwrap_or(u32::MAX),
            &ephemeral,
            Arc::new(QuietLogger),
            keys,
        ));
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|e| TargetError::Unreachable(format!("{}: {e}", self.addr)))?;
        stream
            .set_nodelay(true)
            .map_err(|e| TargetError::Unreachable(e.to_string()))?;
        let std_stream = stream
            .into_std()
            .map_err(|e| TargetError::Unreachable(e.to_string()))?;
        let io_task = tokio::spawn(lightning_net_tokio::setup_outbound(
            peer_manager.clone(),
            self.node_id,
            std_stream,
        ));
        let mut session = Session {
            peer_manager: peer_manager.clone(),
            tasks: vec![],
        };
        // `setup_outbound` returns a future that completes when the connection ends.
        session.tasks.push(tokio::spawn(async move {
            let _ = io_task.await;
        }));
        connected_rx.await.map_err(|_| {
            TargetError::Unreachable(format!(
                "BOLT8 handshake with {}@{} failed",
                self.node_id, self.addr
            ))
        })?;
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let lsp = self.node_id;
        let pm = peer_manager.clone();
        session.tasks.push(tokio::spawn(async move {
            while let Some(payload) = out_rx.recv().await {
                if let Ok(mut outbox) = handler.outbox.lock() {
                    outbox.push((lsp, RawPayload(payload)));
                }
                pm.process_events();
            }
        }));
        Ok(RawConnection {
            outgoing: out_tx,
            incoming: in_rx,
            local_node_id: Some(local.to_string()),
            keepalive: Box::new(session),
        })
    }
}

impl Target for Bolt8Target {
    fn info(&self) -> TargetInfo {
        TargetInfo {
            transport: "bolt8".into(),
            node_id: Some(self.node_id.to_string()),
            url: None,
            advertised_protocols: None,
        }
    }

    fn address(&self) -> String {
        self.addr.clone()
    }

    fn connect(&self) -> BoxFuture<'_, Result<RawConnection, TargetError>> {
        Box::pin(self.open())
    }
}

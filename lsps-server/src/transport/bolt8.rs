//! BOLT8 binding: LSPS0 custom message 37913 through LDK's `PeerManager`.
//!
//! [`LspsMessageHandler`] is the `CustomMessageHandler` given to the node's `PeerManager`. It
//! answers synchronous requests inline (lightning-net-tokio calls `process_events` after every
//! read, so the reply leaves in the same wake-up), and requests that need a durable write on a
//! spawned task that wakes the [`flush_task`] when the reply is queued.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{APeerManager, CustomMessageHandler};
use lightning::ln::wire::CustomMessageReader;
use lightning::util::ser::LengthLimitedRead;
use lightning_types::features::{InitFeatures, NodeFeatures};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use super::{Dispatch, Dispatched};

pub use lsps_core::bolt8::{LSPS_FEATURE_BIT, LSPS_MESSAGE_TYPE, RawPayload as RawLspsMessage};

/// The `CustomMessageHandler` for 37913. Payload validation is the dispatcher's job: every byte
/// sequence is accepted here so that malformed JSON (even invalid UTF-8) gets the LSPS0 answer
/// instead of a BOLT8-level disconnect.
pub struct LspsMessageHandler {
    dispatch: Arc<dyn Dispatch>,
    outbox: Arc<Mutex<Vec<(PublicKey, RawLspsMessage)>>>,
    wake: Arc<Notify>,
    runtime: tokio::runtime::Handle,
}

impl LspsMessageHandler {
    /// A handler answering through `dispatch`; async answers are driven on `runtime`.
    pub fn new(dispatch: Arc<dyn Dispatch>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            dispatch,
            outbox: Arc::new(Mutex::new(Vec::new())),
            wake: Arc::new(Notify::new()),
            runtime,
        }
    }

    /// Notified whenever a reply was queued outside a `PeerManager` read (see [`flush_task`]).
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    fn queue(&self, peer: PublicKey, bytes: Vec<u8>) {
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.push((peer, RawLspsMessage(bytes)));
        }
    }
}

impl CustomMessageReader for LspsMessageHandler {
    type CustomMessage = RawLspsMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<RawLspsMessage>, DecodeError> {
        lsps_core::bolt8::read_raw_payload(message_type, buffer)
    }
}

impl CustomMessageHandler for LspsMessageHandler {
    fn handle_custom_message(
        &self,
        msg: RawLspsMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        match self.dispatch.dispatch(sender_node_id, &msg.0) {
            Dispatched::Reply(bytes) => self.queue(sender_node_id, bytes),
            Dispatched::NoReply => {}
            Dispatched::Pending(fut) => {
                let outbox = self.outbox.clone();
                let wake = self.wake.clone();
                self.runtime.spawn(async move {
                    if let Some(bytes) = fut.await {
                        if let Ok(mut outbox) = outbox.lock() {
                            outbox.push((sender_node_id, RawLspsMessage(bytes)));
                        }
                        wake.notify_one();
                    }
                });
            }
        }
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, RawLspsMessage)> {
        match self.outbox.lock() {
            Ok(mut outbox) => std::mem::take(&mut *outbox),
            Err(_) => Vec::new(),
        }
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.dispatch.peer_disconnected(their_node_id);
    }

    fn peer_connected(
        &self,
        _their_node_id: PublicKey,
        _msg: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        let mut features = NodeFeatures::empty();
        let _ = features.set_optional_custom_bit(LSPS_FEATURE_BIT);
        features
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        let mut features = InitFeatures::empty();
        let _ = features.set_optional_custom_bit(LSPS_FEATURE_BIT);
        features
    }
}

/// A shared handle (`Arc`, `&'static`) to an LDK `PeerManager` over lightning-net-tokio
/// sockets: what lightning-net-tokio's setup functions and the loops below need.
pub trait SharedPeerManager:
    std::ops::Deref<Target: APeerManager<Descriptor = lightning_net_tokio::SocketDescriptor>>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> SharedPeerManager for T where
    T: std::ops::Deref<Target: APeerManager<Descriptor = lightning_net_tokio::SocketDescriptor>>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Accept BOLT8 connections on `listener` until `shutdown` flips, with TCP_NODELAY on every
/// socket (spike.md §3: 44 ms per fresh connection without it).
pub async fn accept_loop<PM: SharedPeerManager>(
    listener: TcpListener,
    peer_manager: PM,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!("bolt8 accept failed: {e}");
                        continue;
                    }
                };
                if let Err(e) = stream.set_nodelay(true) {
                    tracing::warn!(%remote, "set_nodelay failed: {e}");
                }
                match stream.into_std() {
                    Ok(std_stream) => {
                        tokio::spawn(lightning_net_tokio::setup_inbound(peer_manager.clone(), std_stream));
                    }
                    Err(e) => tracing::warn!(%remote, "into_std failed: {e}"),
                }
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Connect out to `node_id@addr` with TCP_NODELAY set (lightning-net-tokio's `connect_outbound`
/// cannot set it). Returns once the connection task is spawned.
pub async fn connect_outbound<PM: SharedPeerManager>(
    peer_manager: PM,
    node_id: PublicKey,
    addr: SocketAddr,
) -> std::io::Result<()> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let std_stream = stream.into_std()?;
    tokio::spawn(lightning_net_tokio::setup_outbound(
        peer_manager,
        node_id,
        std_stream,
    ));
    Ok(())
}

/// Calls `process_events` whenever a reply was queued by a spawned task (no polling).
pub async fn flush_task<PM: SharedPeerManager>(
    wake: Arc<Notify>,
    peer_manager: PM,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = wake.notified() => APeerManager::as_ref(&*peer_manager).process_events(),
            _ = shutdown.changed() => break,
        }
    }
}

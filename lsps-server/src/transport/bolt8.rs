//! BOLT8 binding: LSPS0 custom message 37913 through LDK's `PeerManager`.
//!
//! [`LspsMessageHandler`] is the `CustomMessageHandler` given to the node's `PeerManager`.
//! Reads go through the fair read lane, writes to the write runtime (see [`super::lanes`]);
//! both send their replies themselves (`process_events`). The sockets are driven by
//! [`lsps_net`]: one task per connection, and one task shared by all connections that calls
//! `process_events` once per batch of reads (for LDK's own messages: handshake, pings).
//!
//! A peer that writes has its connection read on the write thread too ([`WriterPlacement`]):
//! its next write is then read, decrypted, planned, stored and answered there, without
//! waiting for a runtime worker busy with other peers' reads.
//!
//! The [`accept_loop`] caps open connections, backs off when `accept` fails, and keeps room
//! for new clients: LDK refuses inbound peers once 250 without a funded channel are connected,
//! and an LSP's new clients are exactly such peers, so before that count is reached the least
//! recently active channel-less peers are disconnected ([`PeerActivity`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{APeerManager, CustomMessageHandler};
use lightning::ln::wire::CustomMessageReader;
use lightning::util::ser::LengthLimitedRead;
use lightning_types::features::{InitFeatures, NodeFeatures};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};

use super::lanes::{QueueFull, ReadLane, WritesInFlight};
use super::{AcceptBackoff, Caller, Dispatch, Dispatched, MethodProbe};
use crate::config::ConnectionLimits;

/// When each connected peer last connected or sent an LSPS message: the eviction order when
/// room is needed for a new peer. Entries exist only for connected peers (bounded by LDK).
#[derive(Default)]
pub struct PeerActivity(Mutex<HashMap<PublicKey, Instant>>);

impl PeerActivity {
    fn touch(&self, peer: PublicKey) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(peer, Instant::now());
        }
    }

    fn forget(&self, peer: &PublicKey) {
        if let Ok(mut map) = self.0.lock() {
            map.remove(peer);
        }
    }

    /// When `peer` was last active, if it is connected and known.
    pub fn last_active(&self, peer: &PublicKey) -> Option<Instant> {
        self.0.lock().ok().and_then(|map| map.get(peer).copied())
    }
}

pub use lsps_core::bolt8::{LSPS_FEATURE_BIT, LSPS_MESSAGE_TYPE, RawPayload as RawLspsMessage};

/// The `CustomMessageHandler` for 37913. Payload validation is the dispatcher's job: every byte
/// sequence is accepted here so that malformed JSON (even invalid UTF-8) gets the LSPS0 answer
/// instead of a BOLT8-level disconnect.
///
/// Reads go through the fair [`ReadLane`] and writes through the write runtime
/// (see [`super::lanes`]).
pub struct LspsMessageHandler {
    dispatch: Arc<dyn Dispatch>,
    activity: Arc<PeerActivity>,
    outbox: Arc<Mutex<Vec<(PublicKey, RawLspsMessage)>>>,
    wake: Arc<Notify>,
    runtime: tokio::runtime::Handle,
    peer_watch: std::sync::OnceLock<PeerWatch>,
    reads: Arc<ReadLane<PublicKey>>,
    max_queued_reads: usize,
    writes: Arc<WritesInFlight>,
    flush: std::sync::OnceLock<Flush>,
    placement: WriterPlacement,
}

/// A peer that only reads after writing has its connection moved back to the runtime workers
/// after this many reads in a row (so a peer cannot have its reads decrypted on the write
/// thread for long by sending one write among them).
pub const READS_BEFORE_MOVING_BACK: u32 = 16;

/// Which peers' connections are read on the write thread.
///
/// Why: under a flood of reads from many peers, a write waited longest before our handler
/// even saw it, its connection's task queued behind the flooding connections' tasks on busy
/// runtime workers (p99 2–2.5 ms of a 3–4 ms total, by a timing probe; lsps-server
/// BENCHMARKS.md, session 7), then again for the hop to the write thread. A peer that writes
/// is likely to write again (orders and buys come in sessions), so its connection moves to
/// the write runtime ([`lsps_net::SocketDescriptor::move_to`]) at its first write and back
/// after [`READS_BEFORE_MOVING_BACK`] reads in a row. Entries exist only for connected peers.
struct WriterPlacement {
    /// The runtime connections are accepted on (where they go back to); without one (a handler
    /// built outside a runtime) nothing moves.
    home: Option<tokio::runtime::Handle>,
    write_thread: tokio::runtime::Handle,
    /// Peers read on the write thread, with their reads since their last write.
    on_write_thread: Mutex<HashMap<PublicKey, u32>>,
}

impl WriterPlacement {
    /// Called for every message, from inside LDK's `read_event` (so
    /// [`lsps_net::reading_connection`] is the connection it came by).
    fn place(&self, peer: PublicKey, is_write: bool) {
        let Some(home) = &self.home else { return };
        let Ok(mut placed) = self.on_write_thread.lock() else {
            return;
        };
        match (placed.get_mut(&peer), is_write) {
            (Some(reads), true) => *reads = 0,
            (None, true) => {
                if let Some(connection) = lsps_net::reading_connection() {
                    connection.move_to(self.write_thread.clone());
                    placed.insert(peer, 0);
                }
            }
            (Some(reads), false) => {
                *reads += 1;
                if *reads >= READS_BEFORE_MOVING_BACK {
                    if let Some(connection) = lsps_net::reading_connection() {
                        connection.move_to(home.clone());
                    }
                    placed.remove(&peer);
                }
            }
            (None, false) => {}
        }
    }

    fn forget(&self, peer: &PublicKey) {
        if let Ok(mut placed) = self.on_write_thread.lock() {
            placed.remove(peer);
        }
    }

    fn count(&self) -> usize {
        self.on_write_thread.lock().map_or(0, |placed| placed.len())
    }
}

/// Told of every BOLT8 peer that connects (`true`) or disconnects (the JIT flows follow
/// their clients).
pub type PeerWatch = Arc<dyn Fn(PublicKey, bool) + Send + Sync>;

/// Sends what is queued in the outbox (the `PeerManager`'s `process_events`).
pub type Flush = Arc<dyn Fn() + Send + Sync>;

impl LspsMessageHandler {
    /// A handler answering through `dispatch`; writes are completed on `write_runtime`, and
    /// at most `max_queued_reads` reads per peer wait in the read lane.
    pub fn new(
        dispatch: Arc<dyn Dispatch>,
        write_runtime: tokio::runtime::Handle,
        max_queued_reads: usize,
    ) -> Self {
        Self {
            dispatch,
            activity: Arc::new(PeerActivity::default()),
            outbox: Arc::new(Mutex::new(Vec::new())),
            wake: Arc::new(Notify::new()),
            runtime: write_runtime.clone(),
            peer_watch: std::sync::OnceLock::new(),
            reads: Arc::new(ReadLane::new(max_queued_reads)),
            max_queued_reads,
            writes: Arc::new(WritesInFlight::default()),
            flush: std::sync::OnceLock::new(),
            placement: WriterPlacement {
                home: tokio::runtime::Handle::try_current().ok(),
                write_thread: write_runtime,
                on_write_thread: Mutex::new(HashMap::new()),
            },
        }
    }

    /// How many peers' connections are read on the write thread now ([`WriterPlacement`]).
    pub fn peers_read_on_write_thread(&self) -> usize {
        self.placement.count()
    }

    /// Set (once) who is told of peers connecting and disconnecting.
    pub fn watch_peers(&self, watch: PeerWatch) {
        let _ = self.peer_watch.set(watch);
    }

    /// Set (once) how a reply queued outside a `PeerManager` read is sent at once; until then
    /// the [`flush_task`] is woken to send it.
    pub fn set_flush(&self, flush: Flush) {
        let _ = self.flush.set(flush);
    }

    /// Notified whenever a reply was queued outside a `PeerManager` read (see [`flush_task`]).
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// When each connected peer was last active (for [`accept_loop`]'s eviction).
    pub fn activity(&self) -> Arc<PeerActivity> {
        self.activity.clone()
    }

    /// The read lane, for [`read_lane`] to serve.
    pub fn read_lane(&self) -> Arc<ReadLane<PublicKey>> {
        self.reads.clone()
    }

    /// The writes between arrival and reply (the read lane lets them go first).
    pub fn writes_in_flight(&self) -> Arc<WritesInFlight> {
        self.writes.clone()
    }

    fn queue(&self, peer: PublicKey, bytes: Vec<u8>) {
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.push((peer, RawLspsMessage(bytes)));
        }
    }

    /// Dispatch one payload and queue its answer (a pending one is awaited on the write
    /// runtime).
    pub fn answer(&self, peer: PublicKey, payload: &[u8]) {
        self.deliver(peer, self.dispatch.dispatch(peer, payload));
    }

    fn deliver(&self, peer: PublicKey, dispatched: Dispatched) {
        match dispatched {
            Dispatched::Reply(bytes) => self.queue(peer, bytes),
            Dispatched::NoReply => {}
            pending @ Dispatched::Pending(_) => {
                let reply = self.reply_sender(peer);
                self.runtime
                    .spawn(async move { reply.send(pending.resolve().await) });
            }
        }
    }

    /// Handle one write entirely on the write runtime (plan, node work, store, reply), counted
    /// in flight until its reply is handed to the `PeerManager`: nothing of it runs on the
    /// workers that answer the other peers' reads.
    fn answer_write(&self, peer: PublicKey, payload: Vec<u8>) {
        let write = self.writes.begin();
        let dispatch = self.dispatch.clone();
        let reply = self.reply_sender(peer);
        self.runtime.spawn(async move {
            let answer = dispatch.dispatch(peer, &payload).resolve().await;
            reply.send(answer);
            drop(write);
        });
    }

    fn reply_sender(&self, peer: PublicKey) -> ReplySender {
        ReplySender {
            peer,
            outbox: self.outbox.clone(),
            wake: self.wake.clone(),
            flush: self.flush.get().cloned(),
        }
    }
}

/// Queues a reply produced off the `PeerManager`'s read path and sends it at once.
struct ReplySender {
    peer: PublicKey,
    outbox: Arc<Mutex<Vec<(PublicKey, RawLspsMessage)>>>,
    wake: Arc<Notify>,
    flush: Option<Flush>,
}

impl ReplySender {
    fn send(self, reply: Option<Vec<u8>>) {
        let Some(bytes) = reply else { return };
        if let Ok(mut outbox) = self.outbox.lock() {
            outbox.push((self.peer, RawLspsMessage(bytes)));
        }
        // Sent from here, not by a task of the main runtime (see `lanes`).
        match self.flush {
            Some(flush) => flush(),
            None => self.wake.notify_one(),
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
        self.activity.touch(sender_node_id);
        let is_write = MethodProbe::of(&msg.0).is_write();
        self.placement.place(sender_node_id, is_write);
        if is_write {
            self.answer_write(sender_node_id, msg.0);
            return Ok(());
        }
        if let Err(QueueFull(payload)) = self.reads.push(sender_node_id, msg.0) {
            let reason = format!(
                "too many reads queued from this peer (limit {})",
                self.max_queued_reads
            );
            let refused = self
                .dispatch
                .refuse(Caller::Bolt8(sender_node_id), &payload, &reason);
            self.deliver(sender_node_id, refused);
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
        self.activity.forget(&their_node_id);
        self.reads.forget(&their_node_id);
        self.placement.forget(&their_node_id);
        self.dispatch.peer_disconnected(their_node_id);
        if let Some(watch) = self.peer_watch.get() {
            watch(their_node_id, false);
        }
    }

    fn peer_connected(
        &self,
        their_node_id: PublicKey,
        _msg: &Init,
        _inbound: bool,
    ) -> Result<(), ()> {
        self.activity.touch(their_node_id);
        if let Some(watch) = self.peer_watch.get() {
            watch(their_node_id, true);
        }
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

/// A shared handle (`Arc`, `&'static`) to an LDK `PeerManager` over [`lsps_net`] sockets:
/// what the driver and the loops below need.
pub use lsps_net::SharedPeerManager;

/// Whether the LSP has a funded channel with a peer (such peers never count against LDK's
/// limit of channel-less peers and are never evicted).
pub type HasFundedChannel = Arc<dyn Fn(&PublicKey) -> bool + Send + Sync>;

/// Disconnect the least recently active peers without a funded channel until fewer than
/// `max_channelless` remain, so the connection being accepted is not refused by LDK. Returns
/// the peers disconnected.
pub fn make_room<PM: SharedPeerManager>(
    peer_manager: &PM,
    activity: &PeerActivity,
    has_funded_channel: &HasFundedChannel,
    max_channelless: usize,
) -> Vec<PublicKey> {
    let pm = APeerManager::as_ref(&**peer_manager);
    let mut channelless: Vec<(Option<Instant>, PublicKey)> = pm
        .list_peers()
        .into_iter()
        .map(|p| p.counterparty_node_id)
        .filter(|id| !has_funded_channel(id))
        .map(|id| (activity.last_active(&id), id))
        .collect();
    if channelless.len() < max_channelless {
        return Vec::new();
    }
    // Unknown activity (`None`) sorts first: such a peer never sent anything we saw.
    channelless.sort_unstable_by_key(|(at, _)| *at);
    let excess = channelless.len() + 1 - max_channelless;
    let evicted: Vec<PublicKey> = channelless
        .into_iter()
        .take(excess)
        .map(|(_, id)| id)
        .collect();
    for id in &evicted {
        pm.disconnect_by_node_id(*id);
    }
    tracing::info!(
        evicted = evicted.len(),
        "disconnected the least recently active channel-less peers to admit a new one"
    );
    evicted
}

/// Accept BOLT8 connections on `listener` until `shutdown` flips, with TCP_NODELAY on every
/// socket (spike.md §3: 44 ms per fresh connection without it).
///
/// At most [`super::connection_cap`]`(bolt8_max_connections)` connections are open at once
/// (callers beyond wait in the kernel's accept queue); failed accepts back off instead of
/// spinning; each accepted connection first gets room among the channel-less peers
/// ([`make_room`]).
pub async fn accept_loop<PM: SharedPeerManager>(
    listener: TcpListener,
    peer_manager: PM,
    activity: Arc<PeerActivity>,
    has_funded_channel: HasFundedChannel,
    limits: ConnectionLimits,
    writes: Arc<WritesInFlight>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(super::connection_cap(
        limits.bolt8_max_connections,
    )));
    let mut backoff = AcceptBackoff::new(
        "bolt8",
        std::time::Duration::from_millis(limits.accept_error_backoff_ms),
    );
    // One `process_events` caller for every connection's reads (see `lsps_net`); it waits
    // while writes are in flight, as the read lane does, so that the write thread sends its
    // reply itself instead of leaving it to this task's worker.
    let events = lsps_net::EventProcessor::spawn_holding(peer_manager.clone(), move || {
        let writes = writes.clone();
        async move { writes.none_or_after(super::lanes::MAX_READ_DEFERRAL).await }
    });
    while let Some((slot, stream, _remote)) =
        super::accept_next(&listener, &slots, &mut backoff, &mut shutdown).await
    {
        make_room(
            &peer_manager,
            &activity,
            &has_funded_channel,
            limits.bolt8_max_channelless_peers,
        );
        let connection = lsps_net::setup_inbound(peer_manager.clone(), events.clone(), stream);
        // One task per connection; the slot is held until the connection ends.
        tokio::spawn(async move {
            connection.await;
            drop(slot);
        });
    }
}

/// Connect out to `node_id@addr` with TCP_NODELAY set. Returns once the connection task is
/// spawned.
pub async fn connect_outbound<PM: SharedPeerManager>(
    peer_manager: PM,
    node_id: PublicKey,
    addr: SocketAddr,
) -> std::io::Result<()> {
    lsps_net::connect_outbound(peer_manager, node_id, addr).await
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

/// Serves the handler's read lane (see [`super::lanes::read_lane_task`]), sending each batch's
/// replies with `process_events`.
pub async fn read_lane<PM: SharedPeerManager>(
    handler: Arc<LspsMessageHandler>,
    peer_manager: PM,
    shutdown: watch::Receiver<bool>,
) {
    let lane = handler.read_lane();
    super::lanes::read_lane_task(
        lane,
        handler.writes_in_flight(),
        super::lanes::MAX_READ_DEFERRAL,
        |peer, payload| handler.answer(peer, &payload),
        || APeerManager::as_ref(&*peer_manager).process_events(),
        shutdown,
    )
    .await;
}

//! The BOLT8 socket driver of the workspace: LDK's `PeerManager` over tokio TCP sockets.
//!
//! It replaces lightning-net-tokio, which gives every connection two tasks: one reads, the
//! other calls `PeerManager::process_events` after every read. `process_events` walks every
//! peer, and LDK lets one thread send at a time (a second caller only asks the first to go
//! round again). Under a flood of 100 peers the server's two workers then had about 200
//! runnable tasks, and a well-behaved peer's reply waited behind them; when the worker inside
//! `process_events` was preempted, the reply waited for it too (lsps-server/BENCHMARKS.md).
//!
//! Here instead:
//! - **one task per connection** ([`setup_inbound`], [`setup_outbound`]). A wake-up reads the
//!   socket until it is drained (at most [`READ_BUDGET`] bytes, then the task yields so one
//!   peer cannot starve the others), handing LDK [`READ_CHUNK`] bytes per `read_event`;
//! - **one shared `process_events` caller** ([`EventProcessor`]): a connection only signals it
//!   after its reads, and signals coalesce, so a batch of reads from many peers costs one
//!   `process_events` instead of one per read;
//! - **writes never wait**: [`SocketDescriptor::send_data`] writes what the kernel takes and
//!   returns; when it came up short the connection's task waits for the socket to become
//!   writable and calls `write_buffer_space_avail`. Any thread may send (an application that
//!   calls `process_events` itself after queueing a reply sends it from its own thread);
//! - LDK pausing a peer's reads (`continue_read == false`) stops the task reading that socket
//!   until LDK resumes them;
//! - **a connection can change runtimes while open** ([`SocketDescriptor::move_to`]): an
//!   application moves the connections whose requests are latency-critical onto a thread of
//!   their own, so that reading them does not wait behind other peers' reads. A message
//!   handler learns which connection a message came by from [`reading_connection`].
//!
//! Disconnects follow LDK's contract: `socket_disconnected` is called only when the socket
//! closed on its own (end of stream, an I/O error, a failed write), never after LDK asked for
//! the disconnect (`disconnect_socket`, or an `Err` from a `PeerManager` call).
#![deny(missing_docs)]

use std::cell::RefCell;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::ln::msgs::SocketAddress;
use lightning::ln::peer_handler::{self, APeerManager};
use tokio::io::Interest;
use tokio::net::TcpStream;
use tokio::sync::{Notify, mpsc};

#[cfg(test)]
mod tests;

/// Bytes handed to one `read_event` (LDK asks for "on the order of 4 KiB" so one call does not
/// process too many messages of one peer at once).
pub const READ_CHUNK: usize = 8 * 1024;

/// Bytes read from one socket per wake-up before its task yields to the others.
pub const READ_BUDGET: usize = 64 * 1024;

/// How long an outbound connection may take to write its first 50 bytes (the Noise act one)
/// into an empty socket buffer.
const FIRST_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A shared handle (`Arc`, `&'static`) to an LDK `PeerManager` over this driver's sockets.
pub trait SharedPeerManager:
    Deref<Target: APeerManager<Descriptor = SocketDescriptor>> + Clone + Send + Sync + 'static
{
}

impl<T> SharedPeerManager for T where
    T: Deref<Target: APeerManager<Descriptor = SocketDescriptor>> + Clone + Send + Sync + 'static
{
}

/// The one task that calls a `PeerManager`'s `process_events` after reads. Signals coalesce:
/// while a call is due, further signals add nothing, so many reads in a row cost one call.
/// The task ends once every clone of this handle is dropped (connections hold one each).
#[derive(Clone, Debug)]
pub struct EventProcessor {
    due: mpsc::Sender<()>,
}

impl EventProcessor {
    /// Spawn the task on the current tokio runtime.
    pub fn spawn<PM: SharedPeerManager>(peer_manager: PM) -> Self {
        Self::spawn_holding(peer_manager, || std::future::ready(()))
    }

    /// Like [`spawn`](Self::spawn), but each call first awaits `hold()`. LDK lets one thread
    /// send at a time and a second caller only asks the first to go round again, so while
    /// this task is inside `process_events` an application thread that queued a reply and
    /// called `process_events` itself returns at once, and its reply waits for this task
    /// (for a whole OS time slice when the task's worker is preempted). `hold` lets the
    /// application keep this task out while it has such replies in flight.
    pub fn spawn_holding<PM, H, F>(peer_manager: PM, hold: H) -> Self
    where
        PM: SharedPeerManager,
        H: Fn() -> F + Send + 'static,
        F: Future<Output = ()> + Send,
    {
        // Capacity 1: a signal while one is already pending is the same call. A signal sent
        // while a call runs is kept, so the reads it stands for are processed after it.
        let (due, mut calls) = mpsc::channel::<()>(1);
        tokio::spawn(async move {
            while calls.recv().await.is_some() {
                hold().await;
                peer_manager.as_ref().process_events();
            }
        });
        Self { due }
    }

    /// Ask for one `process_events` call soon (no-op if one is already due).
    pub fn signal(&self) {
        let _ = self.due.try_send(());
    }
}

static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(0);

/// State shared by a connection's task and every [`SocketDescriptor`] LDK holds for it.
#[derive(Debug)]
struct Connection {
    id: u64,
    /// The socket for `send_data`; taken when the connection ends, so that a late write
    /// writes nothing and the socket closes as soon as the task lets go of it.
    writer: Mutex<Option<Arc<TcpStream>>>,
    /// LDK asked to stop reading (its outbound buffer for this peer is full).
    read_paused: AtomicBool,
    /// LDK asked to close the connection (`disconnect_socket`).
    disconnect_requested: AtomicBool,
    /// A `send_data` came up short: LDK waits for `write_buffer_space_avail`.
    write_blocked: AtomicBool,
    /// A write failed: the socket is gone.
    write_failed: AtomicBool,
    /// The runtime the connection's task is to move to ([`SocketDescriptor::move_to`]).
    move_to: Mutex<Option<tokio::runtime::Handle>>,
    /// Wakes the task after any of the flags above changed.
    wake: Notify,
    #[cfg(test)]
    short_writes: AtomicU64,
}

impl Connection {
    fn new(stream: Arc<TcpStream>) -> Self {
        Self {
            id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
            writer: Mutex::new(Some(stream)),
            read_paused: AtomicBool::new(false),
            disconnect_requested: AtomicBool::new(false),
            write_blocked: AtomicBool::new(false),
            write_failed: AtomicBool::new(false),
            move_to: Mutex::new(None),
            wake: Notify::new(),
            #[cfg(test)]
            short_writes: AtomicU64::new(0),
        }
    }

    fn writer(&self) -> MutexGuard<'_, Option<Arc<TcpStream>>> {
        // Nothing panics while holding it; a poisoned lock still guards a valid Option.
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// LDK's handle on one connection: cheap to clone, equal and hashed by a process-wide unique
/// connection id.
#[derive(Clone, Debug)]
pub struct SocketDescriptor {
    conn: Arc<Connection>,
}

impl SocketDescriptor {
    /// The connection's id (unique in this process).
    pub fn connection_id(&self) -> u64 {
        self.conn.id
    }

    /// Drive this connection from `runtime` from now on: its reads (and LDK's processing of
    /// them) run on that runtime's threads. The move happens at the task's next turn, after
    /// the bytes already read have been handed to LDK; nothing is lost or reordered, and
    /// writes from other threads continue (a write during the move is resumed after it, as a
    /// short write is). The connection's own future (from [`setup_inbound`] and the like)
    /// keeps running where it was spawned and still completes when the connection ends. If
    /// `runtime` shuts down while the connection is on it, the connection ends as if the
    /// socket had closed.
    pub fn move_to(&self, runtime: tokio::runtime::Handle) {
        *self
            .conn
            .move_to
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(runtime);
        self.conn.wake.notify_one();
    }
}

thread_local! {
    /// The connection whose bytes this thread is handing to `read_event`.
    static READING: RefCell<Option<SocketDescriptor>> = const { RefCell::new(None) };
}

/// The connection whose bytes LDK is processing on this thread, when called from inside
/// `read_event` (from a message handler, say): LDK tells a handler which peer sent a message,
/// not by which connection. `None` anywhere else.
pub fn reading_connection() -> Option<SocketDescriptor> {
    READING.with(|reading| reading.try_borrow().ok().and_then(|r| r.clone()))
}

/// Marks `descriptor` as [`reading_connection`] until dropped.
struct ReadingGuard;

impl ReadingGuard {
    fn enter(descriptor: &SocketDescriptor) -> Self {
        READING.with(|reading| {
            if let Ok(mut reading) = reading.try_borrow_mut() {
                *reading = Some(descriptor.clone());
            }
        });
        Self
    }
}

impl Drop for ReadingGuard {
    fn drop(&mut self) {
        READING.with(|reading| {
            if let Ok(mut reading) = reading.try_borrow_mut() {
                *reading = None;
            }
        });
    }
}

impl PartialEq for SocketDescriptor {
    fn eq(&self, other: &Self) -> bool {
        self.conn.id == other.conn.id
    }
}

impl Eq for SocketDescriptor {}

impl Hash for SocketDescriptor {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.conn.id.hash(state);
    }
}

impl peer_handler::SocketDescriptor for SocketDescriptor {
    fn send_data(&mut self, data: &[u8], continue_read: bool) -> usize {
        let conn = &*self.conn;
        let writer = conn.writer();
        let was_paused = conn.read_paused.swap(!continue_read, Ordering::AcqRel);
        if was_paused && continue_read {
            conn.wake.notify_one();
        }
        let Some(stream) = writer.as_ref() else {
            // Either the connection ended (LDK hears of it, or caused it, separately) or it is
            // moving to another runtime: then the task resumes LDK's writes once it is there,
            // as after a short write.
            conn.write_blocked.store(true, Ordering::Release);
            return 0;
        };
        let mut written = 0;
        while written < data.len() {
            match write_some(stream, &data[written..]) {
                Ok(0) => {
                    conn.write_failed.store(true, Ordering::Release);
                    conn.wake.notify_one();
                    break;
                }
                Ok(n) => {
                    written += n;
                    if written < data.len() {
                        // The kernel took part of it: its buffer is full.
                        conn.write_blocked.store(true, Ordering::Release);
                        conn.wake.notify_one();
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.write_blocked.store(true, Ordering::Release);
                    conn.wake.notify_one();
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    conn.write_failed.store(true, Ordering::Release);
                    conn.wake.notify_one();
                    break;
                }
            }
        }
        #[cfg(test)]
        if written < data.len() {
            conn.short_writes.fetch_add(1, Ordering::Relaxed);
        }
        written
    }

    fn disconnect_socket(&mut self) {
        // Called with LDK's locks held: only flag it; the task closes the socket.
        self.conn
            .disconnect_requested
            .store(true, Ordering::Release);
        self.conn.wake.notify_one();
    }
}

/// One non-blocking write. A short write is taken as "the send buffer is full": the socket's
/// writable readiness is cleared then (as tokio's own `poll_write` does), so the task's wait
/// for writability does not return at once only to hit `WouldBlock`.
fn write_some(stream: &TcpStream, data: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    match stream.try_io(Interest::WRITABLE, || {
        written = stream.try_write(data)?;
        if written > 0 && written < data.len() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(written)
    }) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && written > 0 => Ok(written),
        other => other,
    }
}

/// One non-blocking read. A short read means the socket is drained: its readable readiness is
/// cleared (as tokio's own `poll_read` does), which saves the read that would only return
/// `WouldBlock`. Readiness that arrived during the read is kept (tokio compares its tick).
fn read_some(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut read = 0;
    let capacity = buf.len();
    match stream.try_io(Interest::READABLE, || {
        read = stream.try_read(buf)?;
        if read > 0 && read < capacity {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(read)
    }) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock && read > 0 => Ok(read),
        other => other,
    }
}

thread_local! {
    /// The read buffer of whichever connection task runs on this thread: idle connections
    /// hold no buffer of their own.
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_CHUNK]);
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closed {
    /// The socket closed on its own or failed: LDK is told (`socket_disconnected`).
    ByPeer,
    /// LDK asked for it or refused the connection: LDK already knows.
    ByLdk,
}

/// What one wake-up's reads came to.
enum ReadOutcome {
    /// The socket has nothing more for now (or LDK paused reads).
    Drained,
    /// [`READ_BUDGET`] was used up with data still waiting.
    BudgetSpent,
    Closed(Closed),
}

/// Read what the socket has, up to [`READ_BUDGET`], into LDK.
fn read_available<PM: SharedPeerManager>(
    peer_manager: &PM,
    conn: &Connection,
    stream: &TcpStream,
    descriptor: &mut SocketDescriptor,
) -> (ReadOutcome, bool) {
    READ_BUFFER.with(|cell| {
        // The borrow cannot be taken twice (`read_event` does not re-enter the driver), but a
        // fresh buffer is the safe answer if it ever were.
        let mut own;
        let mut shared = cell.try_borrow_mut();
        let buf: &mut [u8] = match shared.as_deref_mut() {
            Ok(buf) => buf,
            Err(_) => {
                own = vec![0; READ_CHUNK];
                &mut own
            }
        };
        let mut total = 0;
        let mut any = false;
        let _reading = ReadingGuard::enter(descriptor);
        loop {
            match read_some(stream, buf) {
                Ok(0) => return (ReadOutcome::Closed(Closed::ByPeer), any),
                Ok(n) => {
                    any = true;
                    let Some(data) = buf.get(..n) else {
                        return (ReadOutcome::Closed(Closed::ByPeer), any);
                    };
                    if peer_manager.as_ref().read_event(descriptor, data).is_err() {
                        return (ReadOutcome::Closed(Closed::ByLdk), any);
                    }
                    total += n;
                    if n < buf.len() || conn.read_paused.load(Ordering::Acquire) {
                        return (ReadOutcome::Drained, any);
                    }
                    if total >= READ_BUDGET {
                        return (ReadOutcome::BudgetSpent, any);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return (ReadOutcome::Drained, any);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return (ReadOutcome::Closed(Closed::ByPeer), any),
            }
        }
    })
}

/// How [`serve`] stopped.
enum Served {
    Closed(Closed),
    /// [`SocketDescriptor::move_to`] asked for the connection on this runtime.
    Move(tokio::runtime::Handle),
}

/// The connection's task: [`serve`] where it was spawned, then on whichever runtime
/// [`SocketDescriptor::move_to`] names (this task waits for it there), and the end of the
/// connection.
async fn drive<PM: SharedPeerManager>(
    peer_manager: PM,
    events: EventProcessor,
    conn: Arc<Connection>,
    stream: Arc<TcpStream>,
) -> Closed {
    let mut outcome = serve(&peer_manager, &events, &conn, &stream).await;
    let mut stream = Some(stream);
    let closed = loop {
        let runtime = match outcome {
            Served::Closed(closed) => break closed,
            Served::Move(runtime) => runtime,
        };
        let Some(socket) = stream.take().and_then(|s| detach(&conn, s)) else {
            break Closed::ByPeer;
        };
        let moved = runtime.spawn({
            let (peer_manager, events, conn) = (peer_manager.clone(), events.clone(), conn.clone());
            async move {
                // Registering with this runtime's reactor reports readiness the socket already
                // has, so bytes that arrived during the move are read at once.
                let Ok(stream) = TcpStream::from_std(socket) else {
                    return (Served::Closed(Closed::ByPeer), None);
                };
                let stream = Arc::new(stream);
                *conn.writer() = Some(stream.clone());
                let outcome = serve(&peer_manager, &events, &conn, &stream).await;
                (outcome, Some(stream))
            }
        });
        match moved.await {
            Ok((next, Some(moved_stream))) => {
                outcome = next;
                stream = Some(moved_stream);
            }
            // The socket could not be registered there, or that runtime shut down with the
            // task (and the socket) on it.
            Ok((_, None)) | Err(_) => break Closed::ByPeer,
        }
    };
    // From here `send_data` writes nothing; the socket closes when `stream` is dropped below.
    conn.writer().take();
    drop(stream);
    if closed == Closed::ByPeer {
        let descriptor = SocketDescriptor { conn: conn.clone() };
        peer_manager.as_ref().socket_disconnected(&descriptor);
        // Whatever the disconnection queued for other peers goes out.
        events.signal();
    }
    closed
}

/// Take the socket off its runtime for a move: writes pause (see `send_data`) until the
/// destination puts it back. `None` if another holder of the socket remains (cannot happen:
/// the writer slot and the task hold the only two).
fn detach(conn: &Connection, stream: Arc<TcpStream>) -> Option<std::net::TcpStream> {
    conn.writer().take();
    Arc::try_unwrap(stream).ok()?.into_std().ok()
}

/// Reads, write-space notifications, pause/resume, until the connection closes or is to move.
async fn serve<PM: SharedPeerManager>(
    peer_manager: &PM,
    events: &EventProcessor,
    conn: &Arc<Connection>,
    stream: &TcpStream,
) -> Served {
    let mut descriptor = SocketDescriptor { conn: conn.clone() };
    loop {
        if conn.disconnect_requested.load(Ordering::Acquire) {
            return Served::Closed(Closed::ByLdk);
        }
        if conn.write_failed.load(Ordering::Acquire) {
            return Served::Closed(Closed::ByPeer);
        }
        let move_to = conn
            .move_to
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(runtime) = move_to {
            return Served::Move(runtime);
        }
        let read_paused = conn.read_paused.load(Ordering::Acquire);
        let write_blocked = conn.write_blocked.load(Ordering::Acquire);
        tokio::select! {
            biased;
            // A flag changed (a stored permit if it changed since the loads above).
            () = conn.wake.notified() => {}
            ready = stream.writable(), if write_blocked => {
                if ready.is_err() {
                    return Served::Closed(Closed::ByPeer);
                }
                // Cleared first: a short write inside the call below sets it again.
                conn.write_blocked.store(false, Ordering::Release);
                if peer_manager
                    .as_ref()
                    .write_buffer_space_avail(&mut descriptor)
                    .is_err()
                {
                    return Served::Closed(Closed::ByLdk);
                }
            }
            ready = stream.readable(), if !read_paused => {
                if ready.is_err() {
                    return Served::Closed(Closed::ByPeer);
                }
                // Paused while this task was already waiting: no `read_event` until resumed.
                if conn.read_paused.load(Ordering::Acquire) {
                    continue;
                }
                let (outcome, read_any) =
                    read_available(peer_manager, conn, stream, &mut descriptor);
                if read_any {
                    events.signal();
                }
                match outcome {
                    ReadOutcome::Drained => {}
                    ReadOutcome::BudgetSpent => tokio::task::yield_now().await,
                    ReadOutcome::Closed(closed) => return Served::Closed(closed),
                }
            }
        }
    }
}

/// LDK's form of the peer's address, for the `init` message's `remote_network_address`.
fn remote_address(stream: &TcpStream) -> Option<SocketAddress> {
    match stream.peer_addr().ok()? {
        std::net::SocketAddr::V4(addr) => Some(SocketAddress::TcpIpV4 {
            addr: addr.ip().octets(),
            port: addr.port(),
        }),
        std::net::SocketAddr::V6(addr) => Some(SocketAddress::TcpIpV6 {
            addr: addr.ip().octets(),
            port: addr.port(),
        }),
    }
}

/// Register an accepted connection with `peer_manager` and return its task: run it (spawn
/// it); it completes when the connection has ended. TCP_NODELAY is set here (without it each
/// fresh connection waits ~40 ms on delayed ACKs). A connection LDK refuses yields a future
/// that completes at once, the socket closed.
pub fn setup_inbound<PM: SharedPeerManager>(
    peer_manager: PM,
    events: EventProcessor,
    stream: TcpStream,
) -> impl Future<Output = ()> + Send + 'static {
    let (_, connection) = inbound(peer_manager, events, stream);
    async move {
        connection.await;
    }
}

/// A new connection's parts, inbound or outbound: the peer's address for LDK, the shared
/// socket, its state and its descriptor. TCP_NODELAY is set here (a failure only costs latency).
fn wrap(
    stream: TcpStream,
) -> (
    Option<SocketAddress>,
    Arc<TcpStream>,
    Arc<Connection>,
    SocketDescriptor,
) {
    let _ = stream.set_nodelay(true);
    let address = remote_address(&stream);
    let stream = Arc::new(stream);
    let conn = Arc::new(Connection::new(stream.clone()));
    let descriptor = SocketDescriptor { conn: conn.clone() };
    (address, stream, conn, descriptor)
}

/// [`setup_inbound`], with the connection's descriptor and a task telling how it ended.
fn inbound<PM: SharedPeerManager>(
    peer_manager: PM,
    events: EventProcessor,
    stream: TcpStream,
) -> (
    SocketDescriptor,
    impl Future<Output = Closed> + Send + 'static,
) {
    let (address, stream, conn, descriptor) = wrap(stream);
    let accepted = peer_manager
        .as_ref()
        .new_inbound_connection(descriptor.clone(), address)
        .is_ok();
    let task = async move {
        if accepted {
            drive(peer_manager, events, conn, stream).await
        } else {
            // LDK must not hear of this descriptor again; dropping the socket closes it.
            Closed::ByLdk
        }
    };
    (descriptor, task)
}

/// Register a dialled connection to `their_node_id` with `peer_manager`, and return its task:
/// run it (spawn it); it sends the handshake's first message and completes when the
/// connection has ended. TCP_NODELAY is set here. Watch the `PeerManager` (or a message
/// handler's `peer_connected`) to know when the handshake finished.
pub fn setup_outbound<PM: SharedPeerManager>(
    peer_manager: PM,
    events: EventProcessor,
    their_node_id: PublicKey,
    stream: TcpStream,
) -> impl Future<Output = ()> + Send + 'static {
    let (_, connection) = outbound(peer_manager, events, their_node_id, stream);
    async move {
        connection.await;
    }
}

/// [`setup_outbound`], with the connection's descriptor and a task telling how it ended.
fn outbound<PM: SharedPeerManager>(
    peer_manager: PM,
    events: EventProcessor,
    their_node_id: PublicKey,
    stream: TcpStream,
) -> (
    SocketDescriptor,
    impl Future<Output = Closed> + Send + 'static,
) {
    let (address, stream, conn, descriptor) = wrap(stream);
    let first =
        peer_manager
            .as_ref()
            .new_outbound_connection(their_node_id, descriptor.clone(), address);
    let task_descriptor = descriptor.clone();
    let task = async move {
        let descriptor = task_descriptor;
        let Ok(act_one) = first else {
            return Closed::ByLdk;
        };
        match tokio::time::timeout(FIRST_WRITE_TIMEOUT, write_all(&stream, &act_one)).await {
            Ok(Ok(())) => drive(peer_manager, events, conn, stream).await,
            _ => {
                conn.writer().take();
                drop(stream);
                peer_manager.as_ref().socket_disconnected(&descriptor);
                Closed::ByPeer
            }
        }
    };
    (descriptor, task)
}

/// Write all of `data`, waiting for the socket as needed (only the handshake's first message,
/// before LDK writes anything itself).
async fn write_all(stream: &TcpStream, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        stream.writable().await?;
        match write_some(stream, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = data.get(n..).unwrap_or_default(),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Accept connections on `listener` for `peer_manager` until this future is dropped, each on
/// its own task, all sharing one [`EventProcessor`]. A failed accept is retried after a short
/// pause (so a full file-descriptor table does not spin a core).
pub async fn accept_inbound<PM: SharedPeerManager>(
    listener: tokio::net::TcpListener,
    peer_manager: PM,
) {
    let events = EventProcessor::spawn(peer_manager.clone());
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(setup_inbound(peer_manager.clone(), events.clone(), stream));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Dial `addr` and start the handshake towards `their_node_id` on a spawned task (with its own
/// [`EventProcessor`]); returns once it is spawned.
pub async fn connect_outbound<PM: SharedPeerManager>(
    peer_manager: PM,
    their_node_id: PublicKey,
    addr: std::net::SocketAddr,
) -> io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    let events = EventProcessor::spawn(peer_manager.clone());
    tokio::spawn(setup_outbound(peer_manager, events, their_node_id, stream));
    Ok(())
}

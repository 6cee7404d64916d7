//! The driver over real loopback sockets, between real LDK `PeerManager`s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::PublicKey;
use lightning::io;
use lightning::ln::msgs::{DecodeError, Init, LightningError};
use lightning::ln::peer_handler::{
    CustomMessageHandler, ErroringMessageHandler, IgnoringMessageHandler, MessageHandler,
    PeerManager, SocketDescriptor as _,
};
use lightning::ln::wire::{CustomMessageReader, Type};
use lightning::sign::{KeysManager, NodeSigner, Recipient};
use lightning::types::features::{InitFeatures, NodeFeatures};
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::{LengthLimitedRead, Writeable, Writer};
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::mpsc;

use super::*;

const TEST_MESSAGE_TYPE: u16 = 33_001;

#[derive(Debug)]
struct TestMessage(Vec<u8>);

impl Writeable for TestMessage {
    fn write<W: Writer>(&self, w: &mut W) -> Result<(), io::Error> {
        w.write_all(&self.0)
    }
}

impl Type for TestMessage {
    fn type_id(&self) -> u16 {
        TEST_MESSAGE_TYPE
    }
}

/// Records what arrives; answers each message with `echo` copies of it when set.
#[derive(Default)]
struct TestHandler {
    received: StdMutex<Vec<(PublicKey, Vec<u8>)>>,
    outbox: StdMutex<Vec<(PublicKey, TestMessage)>>,
    connected: StdMutex<Vec<PublicKey>>,
    disconnected: StdMutex<Vec<PublicKey>>,
    /// Per message: the thread that handled it and the connection [`reading_connection`] named.
    handled_on: StdMutex<Vec<(Option<String>, Option<u64>)>>,
    echo: bool,
}

impl TestHandler {
    fn received_from(&self, peer: &PublicKey) -> Vec<Vec<u8>> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter(|(from, _)| from == peer)
            .map(|(_, bytes)| bytes.clone())
            .collect()
    }
}

impl CustomMessageReader for TestHandler {
    type CustomMessage = TestMessage;

    fn read<R: LengthLimitedRead>(
        &self,
        message_type: u16,
        buffer: &mut R,
    ) -> Result<Option<TestMessage>, DecodeError> {
        if message_type != TEST_MESSAGE_TYPE {
            return Ok(None);
        }
        let mut bytes = vec![0; buffer.remaining_bytes() as usize];
        buffer
            .read_exact(&mut bytes)
            .map_err(|_| DecodeError::ShortRead)?;
        Ok(Some(TestMessage(bytes)))
    }
}

impl CustomMessageHandler for TestHandler {
    fn handle_custom_message(
        &self,
        msg: TestMessage,
        sender_node_id: PublicKey,
    ) -> Result<(), LightningError> {
        if self.echo {
            self.outbox
                .lock()
                .unwrap()
                .push((sender_node_id, TestMessage(msg.0.clone())));
        }
        self.received.lock().unwrap().push((sender_node_id, msg.0));
        self.handled_on.lock().unwrap().push((
            std::thread::current().name().map(str::to_owned),
            reading_connection().map(|c| c.connection_id()),
        ));
        Ok(())
    }

    fn get_and_clear_pending_msg(&self) -> Vec<(PublicKey, TestMessage)> {
        std::mem::take(&mut *self.outbox.lock().unwrap())
    }

    fn peer_disconnected(&self, their_node_id: PublicKey) {
        self.disconnected.lock().unwrap().push(their_node_id);
    }

    fn peer_connected(&self, their: PublicKey, _msg: &Init, _inbound: bool) -> Result<(), ()> {
        self.connected.lock().unwrap().push(their);
        Ok(())
    }

    fn provided_node_features(&self) -> NodeFeatures {
        NodeFeatures::empty()
    }

    fn provided_init_features(&self, _their_node_id: PublicKey) -> InitFeatures {
        InitFeatures::empty()
    }
}

struct QuietLogger;

impl Logger for QuietLogger {
    fn log(&self, _record: Record) {}
}

type TestPeerManager = PeerManager<
    SocketDescriptor,
    Arc<ErroringMessageHandler>,
    IgnoringMessageHandler,
    IgnoringMessageHandler,
    Arc<QuietLogger>,
    Arc<TestHandler>,
    Arc<KeysManager>,
    IgnoringMessageHandler,
>;

/// One LDK peer: its `PeerManager`, its handler and its shared `process_events` task.
struct Node {
    pm: Arc<TestPeerManager>,
    handler: Arc<TestHandler>,
    events: EventProcessor,
    id: PublicKey,
}

impl Node {
    fn new(seed: u8, echo: bool) -> Self {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let keys = Arc::new(KeysManager::new(
            &[seed; 32],
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let id = keys.get_node_id(Recipient::Node).unwrap();
        let handler = Arc::new(TestHandler {
            echo,
            ..TestHandler::default()
        });
        let pm = Arc::new(PeerManager::new(
            MessageHandler {
                chan_handler: Arc::new(ErroringMessageHandler::new()),
                route_handler: IgnoringMessageHandler {},
                onion_message_handler: IgnoringMessageHandler {},
                custom_message_handler: handler.clone(),
                send_only_message_handler: IgnoringMessageHandler {},
            },
            now.as_secs() as u32,
            &[seed.wrapping_add(100); 32],
            Arc::new(QuietLogger),
            keys,
        ));
        let events = EventProcessor::spawn(pm.clone());
        Self {
            pm,
            handler,
            events,
            id,
        }
    }

    /// Queue `payload` for `peer` and send it (as an application does: outbox, then
    /// `process_events` on its own thread).
    fn send(&self, peer: PublicKey, payload: Vec<u8>) {
        self.handler
            .outbox
            .lock()
            .unwrap()
            .push((peer, TestMessage(payload)));
        self.pm.process_events();
    }

    fn peer_count(&self) -> usize {
        self.pm.list_peers().len()
    }
}

/// An accepted or dialled connection under test: its descriptor and how it ended.
struct Conn {
    descriptor: SocketDescriptor,
    closed: tokio::task::JoinHandle<Closed>,
}

/// Accepts on a listener with `buffer` bytes of kernel socket buffers (small ones make short
/// writes certain), handing every connection to `node`; the accepted connections arrive on
/// the returned channel.
async fn listen(
    node: &Node,
    buffer: Option<u32>,
) -> (
    SocketAddr,
    mpsc::UnboundedReceiver<Conn>,
    tokio::task::JoinHandle<()>,
) {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size).unwrap();
        socket.set_recv_buffer_size(size).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener: TcpListener = socket.listen(1024).unwrap();
    let addr = listener.local_addr().unwrap();
    let (accepted, rx) = mpsc::unbounded_channel();
    let pm = node.pm.clone();
    let events = node.events.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (descriptor, task) = inbound(pm.clone(), events.clone(), stream);
            let closed = tokio::spawn(task);
            let _ = accepted.send(Conn { descriptor, closed });
        }
    });
    (addr, rx, task)
}

async fn dial(node: &Node, to: &Node, addr: SocketAddr, buffer: Option<u32>) -> Conn {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = buffer {
        socket.set_send_buffer_size(size).unwrap();
        socket.set_recv_buffer_size(size).unwrap();
    }
    let stream = socket.connect(addr).await.unwrap();
    let (descriptor, task) = outbound(node.pm.clone(), node.events.clone(), to.id, stream);
    Conn {
        descriptor,
        closed: tokio::spawn(task),
    }
}

/// Poll `condition` until it holds; fails after a generous deadline (CI runs on 2 busy cores).
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn connected(a: &Node, b: &Node) {
    eventually("handshake and init", || {
        a.pm.peer_by_node_id(&b.id).is_some() && b.pm.peer_by_node_id(&a.id).is_some()
    })
    .await;
}

/// A server (echoing when `echo`) and a client connected through the driver, the handshake
/// done; `buffer` as in [`listen`].
struct Pair {
    server: Node,
    client: Node,
    /// The client's connection.
    dialled: Conn,
    /// The server's side of it.
    inbound: Conn,
    _accept: tokio::task::JoinHandle<()>,
}

async fn connected_pair(echo: bool, buffer: Option<u32>) -> Pair {
    let server = Node::new(1, echo);
    let client = Node::new(2, false);
    let (addr, mut accepted, accept) = listen(&server, buffer).await;
    let dialled = dial(&client, &server, addr, buffer).await;
    let inbound = accepted.recv().await.unwrap();
    connected(&client, &server).await;
    Pair {
        server,
        client,
        dialled,
        inbound,
        _accept: accept,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_flow_both_ways_in_order() {
    let Pair {
        server,
        client,
        dialled: _,
        inbound: _,
        _accept,
    } = connected_pair(true, None).await;

    let sent: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; 1 + usize::from(i) * 7]).collect();
    for payload in &sent {
        client.send(server.id, payload.clone());
    }
    eventually("every echo", || {
        client.handler.received_from(&server.id).len() == sent.len()
    })
    .await;
    assert_eq!(server.handler.received_from(&client.id), sent);
    assert_eq!(client.handler.received_from(&server.id), sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_share_one_event_processor_and_all_are_answered() {
    const CLIENTS: u8 = 40;
    const MESSAGES: u8 = 20;
    let server = Node::new(1, true);
    let (addr, mut accepted, _accept) = listen(&server, None).await;
    let mut clients = Vec::new();
    let mut dialled = Vec::new();
    for seed in 0..CLIENTS {
        let client = Node::new(10 + seed, false);
        dialled.push(dial(&client, &server, addr, None).await);
        clients.push(client);
    }
    let mut inbound = Vec::new();
    for _ in 0..CLIENTS {
        inbound.push(accepted.recv().await.unwrap());
    }
    eventually("every client connected", || {
        server.peer_count() == usize::from(CLIENTS) && clients.iter().all(|c| c.peer_count() == 1)
    })
    .await;

    // All at once: every client's messages are in flight together.
    for client in &clients {
        for i in 0..MESSAGES {
            client.send(server.id, vec![i; 100]);
        }
    }
    eventually("every client has every echo", || {
        clients
            .iter()
            .all(|c| c.handler.received_from(&server.id).len() == usize::from(MESSAGES))
    })
    .await;
    let expected: Vec<Vec<u8>> = (0..MESSAGES).map(|i| vec![i; 100]).collect();
    for client in &clients {
        assert_eq!(client.handler.received_from(&server.id), expected);
        assert_eq!(server.handler.received_from(&client.id), expected);
    }
    // Distinct connections, distinct descriptors (LDK keys its peers by them).
    let ids: std::collections::HashSet<u64> = inbound
        .iter()
        .map(|c| c.descriptor.connection_id())
        .collect();
    assert_eq!(ids.len(), usize::from(CLIENTS));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_writes_resume_when_writable_and_ldk_pauses_and_resumes_reads() {
    // Small kernel buffers on both ends: a few tens of KiB fit, the messages below do not.
    const BUFFER: u32 = 8 * 1024;
    const MESSAGES: usize = 48;
    const SIZE: usize = 60_000;
    let Pair {
        server,
        client,
        mut dialled,
        inbound,
        _accept,
    } = connected_pair(false, Some(BUFFER)).await;

    // The client stops reading (as if LDK had paused it), so the server's writes back up.
    assert_eq!(dialled.descriptor.send_data(&[], false), 0);
    for i in 0..MESSAGES {
        server
            .handler
            .outbox
            .lock()
            .unwrap()
            .push((client.id, TestMessage(vec![i as u8; SIZE])));
    }
    server.pm.process_events();

    let server_conn = inbound.descriptor.conn.clone();
    eventually("a short write on the server's socket", || {
        server_conn.short_writes.load(Ordering::Relaxed) > 0
    })
    .await;
    // More than LDK's outbound limit (12 messages) is queued for the client: LDK tells the
    // driver to stop reading from it.
    eventually("LDK pauses the server's reads from the client", || {
        server_conn.read_paused.load(Ordering::Acquire)
    })
    .await;
    // The paused client reads nothing, however long it is given (a broken pause reads the
    // first messages within microseconds; a slow machine can only make this pass late).
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        client.handler.received_from(&server.id).is_empty(),
        "the paused client read"
    );

    // The client reads again: the server gets write space, LDK writes the rest and resumes.
    assert_eq!(dialled.descriptor.send_data(&[], true), 0);
    eventually("every message delivered", || {
        client.handler.received_from(&server.id).len() == MESSAGES
    })
    .await;
    let expected: Vec<Vec<u8>> = (0..MESSAGES).map(|i| vec![i as u8; SIZE]).collect();
    assert!(client.handler.received_from(&server.id) == expected);
    eventually("LDK resumes the server's reads", || {
        !server_conn.read_paused.load(Ordering::Acquire)
    })
    .await;
    client.send(server.id, b"after".to_vec());
    eventually("the server reads again", || {
        server.handler.received_from(&client.id) == [b"after".to_vec()]
    })
    .await;
    assert!(!dialled.closed.is_finished());
    dialled.closed.abort();
    let _ = (&mut dialled.closed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_ldk_asks_for_is_seen_by_the_other_side_as_the_socket_closing() {
    let Pair {
        server,
        client,
        dialled,
        inbound,
        _accept,
    } = connected_pair(false, None).await;

    // The client's LDK closes: its driver must not report it back (LDK knows), the server's
    // driver sees the socket close and tells its LDK.
    client.pm.disconnect_by_node_id(server.id);
    assert_eq!(dialled.closed.await.unwrap(), Closed::ByLdk);
    assert_eq!(inbound.closed.await.unwrap(), Closed::ByPeer);
    assert_eq!(server.peer_count(), 0);
    assert_eq!(client.peer_count(), 0);
    assert_eq!(*server.handler.disconnected.lock().unwrap(), [client.id]);
    assert_eq!(*client.handler.disconnected.lock().unwrap(), [server.id]);

    // Nothing is written once a connection has ended.
    let mut late = inbound.descriptor.clone();
    assert_eq!(late.send_data(b"late", true), 0);
    let mut late = dialled.descriptor.clone();
    assert_eq!(late.send_data(b"late", true), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_side_disconnecting_is_seen_by_the_client() {
    let Pair {
        server,
        client,
        dialled,
        inbound,
        _accept,
    } = connected_pair(false, None).await;

    server.pm.disconnect_all_peers();
    assert_eq!(inbound.closed.await.unwrap(), Closed::ByLdk);
    assert_eq!(dialled.closed.await.unwrap(), Closed::ByPeer);
    assert_eq!(*client.handler.disconnected.lock().unwrap(), [server.id]);
    assert_eq!(client.peer_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_sockets_closing_or_sending_garbage_end_their_connection_once() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = Node::new(1, false);
    let (addr, mut accepted, _accept) = listen(&server, None).await;

    // Closed before the handshake: the socket closed on its own, LDK is told.
    let raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let conn = accepted.recv().await.unwrap();
    drop(raw);
    assert_eq!(conn.closed.await.unwrap(), Closed::ByPeer);

    // A bad Noise act one: LDK refuses it (read_event's Err), the driver closes the socket
    // without reporting it back.
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    let conn = accepted.recv().await.unwrap();
    raw.write_all(&[0xff; 50]).await.unwrap();
    assert_eq!(conn.closed.await.unwrap(), Closed::ByLdk);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), raw.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the server closed the socket: {read:?}"
    );
    assert_eq!(server.peer_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptors_are_equal_and_hashed_by_connection() {
    let server = Node::new(1, false);
    let client = Node::new(2, false);
    let (addr, mut accepted, _accept) = listen(&server, None).await;
    let a = dial(&client, &server, addr, None).await;
    let b = accepted.recv().await.unwrap();
    assert_eq!(a.descriptor, a.descriptor.clone());
    assert_ne!(a.descriptor, b.descriptor);
    // Hashed by the connection id, which never changes (LDK keys its own map the same way).
    #[allow(clippy::mutable_key_type)]
    let mut map = HashMap::new();
    map.insert(a.descriptor.clone(), 'a');
    map.insert(b.descriptor.clone(), 'b');
    assert_eq!(map.get(&a.descriptor.clone()), Some(&'a'));
    assert_eq!(map.get(&b.descriptor), Some(&'b'));
}

/// A current-thread runtime on its own thread named `name`, running until the sender is
/// dropped or fired.
fn side_runtime(name: &str) -> (tokio::runtime::Handle, tokio::sync::oneshot::Sender<()>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _ = runtime.block_on(stopped);
        })
        .unwrap();
    (handle, stop)
}

/// The client sends `payloads` and waits for all of their echoes (`total` in all so far).
async fn round_trip(pair: &Pair, payloads: impl Iterator<Item = Vec<u8>>, total: usize) {
    for payload in payloads {
        pair.client.send(pair.server.id, payload);
    }
    eventually("every echo", || {
        pair.client.handler.received_from(&pair.server.id).len() == total
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_moved_between_runtimes_keeps_every_message_in_order_both_ways() {
    let pair = connected_pair(true, None).await;
    let (side, _stop) = side_runtime("moved-to");
    let home = tokio::runtime::Handle::current();
    let payload = |i: u16| i.to_be_bytes().repeat(1 + usize::from(i % 50));

    round_trip(&pair, (0..10).map(payload), 10).await;
    pair.inbound.descriptor.move_to(side.clone());
    round_trip(&pair, (10..20).map(payload), 20).await;
    pair.inbound.descriptor.move_to(home.clone());
    round_trip(&pair, (20..30).map(payload), 30).await;
    // Moves requested while messages are in flight both ways, back and forth.
    for i in 30..330u16 {
        pair.client.send(pair.server.id, payload(i));
        if i % 25 == 0 {
            let to = if i % 50 == 0 { &side } else { &home };
            pair.inbound.descriptor.move_to(to.clone());
        }
    }
    eventually("every echo", || {
        pair.client.handler.received_from(&pair.server.id).len() == 330
    })
    .await;

    let sent: Vec<Vec<u8>> = (0..330).map(payload).collect();
    assert_eq!(pair.server.handler.received_from(&pair.client.id), sent);
    assert_eq!(pair.client.handler.received_from(&pair.server.id), sent);
    let handled_on = pair.server.handler.handled_on.lock().unwrap().clone();
    let on_side = |range: std::ops::Range<usize>| {
        handled_on[range]
            .iter()
            .map(|(thread, _)| thread.as_deref() == Some("moved-to"))
            .collect::<Vec<_>>()
    };
    assert_eq!(on_side(0..10), [false; 10], "read where it was spawned");
    assert_eq!(
        on_side(10..20),
        [true; 10],
        "read on the runtime it moved to"
    );
    assert_eq!(on_side(20..30), [false; 10], "read back home");
    // Every message names the connection it came by.
    let id = pair.inbound.descriptor.connection_id();
    assert!(handled_on.iter().all(|(_, conn)| *conn == Some(id)));
    assert_eq!(reading_connection(), None, "only inside read_event");
    assert_eq!(pair.server.peer_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_connection_ends_once_when_the_peer_leaves_or_its_runtime_stops() {
    // The peer disconnects while its connection is on the other runtime: the connection's
    // future, still where it was spawned, ends as the socket closed.
    let pair = connected_pair(true, None).await;
    let (side, _stop) = side_runtime("moved-to");
    pair.inbound.descriptor.move_to(side);
    round_trip(&pair, std::iter::once(vec![1]), 1).await;
    pair.client.pm.disconnect_by_node_id(pair.server.id);
    assert_eq!(pair.inbound.closed.await.unwrap(), Closed::ByPeer);
    assert_eq!(
        *pair.server.handler.disconnected.lock().unwrap(),
        [pair.client.id]
    );
    assert_eq!(pair.server.peer_count(), 0);

    // The runtime it moved to stops: the socket went with it; LDK is told, the client sees
    // the close.
    let pair = connected_pair(true, None).await;
    let (side, stop) = side_runtime("moved-to");
    pair.inbound.descriptor.move_to(side);
    round_trip(&pair, std::iter::once(vec![2]), 1).await;
    drop(stop);
    assert_eq!(pair.inbound.closed.await.unwrap(), Closed::ByPeer);
    assert_eq!(pair.dialled.closed.await.unwrap(), Closed::ByPeer);
    assert_eq!(pair.server.peer_count(), 0);
    assert_eq!(pair.client.peer_count(), 0);
}

//! How BOLT8 requests are scheduled so that no peer's load delays another peer's request.
//!
//! Without this, every request was answered inline in its connection's task, and those tasks
//! share the runtime's worker threads first come, first served. A hundred peers flooding
//! `lsps2.get_info` then kept about two hundred runnable tasks in the queue, and a
//! well-behaved peer's `lsps1.create_order` waited behind the whole queue at each of its
//! half-dozen hops (read, plan, store, commit, reply): 4–11× its idle p99.
//!
//! Two lanes instead:
//! - **Reads** (everything that is not a write, including bad input) go into a [`FairQueue`]
//!   keyed by peer and are answered by one task ([`read_lane_task`]) in round-robin order, one
//!   request per peer per turn, a bounded batch per wake-up. A peer's pipelined backlog waits
//!   in its own queue, behind none of its own requests, and delays another peer's read by at
//!   most one turn. A peer with [`max_queued`](FairQueue::new) reads already queued gets the
//!   next one answered at once with code 1 `client_rejected` (never silence). While a flooding
//!   peer waits for its answer it sends nothing, so the backlog sits in this queue and not in
//!   the runtime's task queue, where a write's hops would wait behind it.
//! - **Writes** (`lsps1.create_order`, `lsps2.buy`) are planned inline as they arrive (the
//!   dispatcher's own limits bound them) and completed on [`WriteRuntime`]: a single-thread
//!   runtime on its own OS thread that also runs the SQLite writer and sends the reply itself
//!   (`process_events`), so no step of a write waits behind another peer's reads.
//! - **Writes go first** ([`WritesInFlight`]): while a write is between its arrival and its
//!   reply, the read lane holds its next batch, for at most [`MAX_READ_DEFERRAL`]. A write's
//!   steps hop between threads (the write thread, sqlx's SQLite thread, the reply); with both
//!   cores busy answering reads each hop waited for the OS to give it a core (measured: the
//!   store step's p99 went from 5 to 22 ms under the flood). Holding the reads leaves the cores
//!   to the write; the deferral bound keeps reads served (at least one batch per bound) even
//!   under a stream of writes.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Per-key FIFO queues served round-robin: [`pop`](Self::pop) takes the oldest item of the
/// key whose turn it is, then moves that key to the back of the rotation.
#[derive(Debug)]
pub struct FairQueue<K, T> {
    queues: HashMap<K, VecDeque<T>>,
    /// Keys with at least one queued item, in the order they are served.
    turn: VecDeque<K>,
    max_queued: usize,
    len: usize,
}

/// [`FairQueue::push`] refused the item: its key already has `max_queued` items waiting.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueFull<T>(pub T);

impl<K: Hash + Eq + Clone, T> FairQueue<K, T> {
    /// An empty queue holding at most `max_queued` items per key (at least 1).
    pub fn new(max_queued: usize) -> Self {
        Self {
            queues: HashMap::new(),
            turn: VecDeque::new(),
            max_queued: max_queued.max(1),
            len: 0,
        }
    }

    /// Queue `item` behind `key`'s earlier items, or give it back if `key` is at its bound.
    pub fn push(&mut self, key: K, item: T) -> Result<(), QueueFull<T>> {
        let queue = self.queues.entry(key.clone()).or_default();
        if queue.len() >= self.max_queued {
            return Err(QueueFull(item));
        }
        if queue.is_empty() {
            self.turn.push_back(key);
        }
        queue.push_back(item);
        self.len += 1;
        Ok(())
    }

    /// The next item in round-robin order over keys.
    pub fn pop(&mut self) -> Option<(K, T)> {
        let key = self.turn.pop_front()?;
        let queue = self.queues.get_mut(&key)?;
        let item = queue.pop_front()?;
        if queue.is_empty() {
            self.queues.remove(&key);
        } else {
            self.turn.push_back(key.clone());
        }
        self.len -= 1;
        Some((key, item))
    }

    /// Items queued over all keys.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forget every item of `key` (its connection closed).
    pub fn remove_key(&mut self, key: &K) {
        if let Some(queue) = self.queues.remove(key) {
            self.len -= queue.len();
            self.turn.retain(|k| k != key);
        }
    }
}

/// The read lane: a [`FairQueue`] of raw payloads by peer, and the wake-up of its task.
pub struct ReadLane<K> {
    queue: Mutex<FairQueue<K, Vec<u8>>>,
    wake: tokio::sync::Notify,
}

/// How many reads the lane task answers per wake-up before it sends the replies and yields,
/// so the connection tasks (and a write's first hop) get the worker between batches.
pub const READ_BATCH: usize = 8;

impl<K: Hash + Eq + Clone> ReadLane<K> {
    /// A lane holding at most `max_queued` reads per peer.
    pub fn new(max_queued: usize) -> Self {
        Self {
            queue: Mutex::new(FairQueue::new(max_queued)),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Queue one read of `peer`; `Err` gives it back when the peer is at its bound (or the
    /// lane is unusable), to be answered with a refusal.
    pub fn push(&self, peer: K, payload: Vec<u8>) -> Result<(), QueueFull<Vec<u8>>> {
        let Ok(mut queue) = self.queue.lock() else {
            return Err(QueueFull(payload));
        };
        queue.push(peer, payload)?;
        drop(queue);
        self.wake.notify_one();
        Ok(())
    }

    /// Up to `max` reads in round-robin order.
    pub fn take_batch(&self, max: usize) -> Vec<(K, Vec<u8>)> {
        let Ok(mut queue) = self.queue.lock() else {
            return Vec::new();
        };
        std::iter::from_fn(|| queue.pop()).take(max).collect()
    }

    /// Drop the queued reads of a peer that disconnected.
    pub fn forget(&self, peer: &K) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.remove_key(peer);
        }
    }

    /// Wait until something may have been queued.
    pub async fn notified(&self) {
        self.wake.notified().await;
    }
}

/// The longest the read lane holds its next batch while writes are in flight.
pub const MAX_READ_DEFERRAL: Duration = Duration::from_millis(5);

/// How many writes are between their arrival and their reply; the read lane waits for none
/// (see the module doc).
#[derive(Debug, Default)]
pub struct WritesInFlight {
    count: AtomicUsize,
    none_left: tokio::sync::Notify,
}

/// One write in flight; dropping it (reply sent, or the write abandoned) ends it.
#[derive(Debug)]
pub struct WriteInFlight(std::sync::Arc<WritesInFlight>);

impl Drop for WriteInFlight {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.none_left.notify_waiters();
        }
    }
}

impl WritesInFlight {
    /// Count one write until the returned guard is dropped.
    pub fn begin(self: &std::sync::Arc<Self>) -> WriteInFlight {
        self.count.fetch_add(1, Ordering::AcqRel);
        WriteInFlight(self.clone())
    }

    /// Writes in flight now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Return once no write is in flight, or after `max` at the latest.
    pub async fn none_or_after(&self, max: Duration) {
        let deadline = tokio::time::Instant::now() + max;
        loop {
            let none_left = self.none_left.notified();
            tokio::pin!(none_left);
            // Registered before the check, so a write ending in between is not missed.
            none_left.as_mut().enable();
            if self.count() == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, none_left).await.is_err() {
                return;
            }
        }
    }
}

/// The read lane's task: answers queued reads in batches of [`READ_BATCH`] through `answer`,
/// calls `flush` (the `PeerManager`'s `process_events`) after each batch, and yields between
/// batches. Before each batch it lets the writes in flight finish, for at most
/// `max_deferral` ([`MAX_READ_DEFERRAL`] in the server). Ends when `shutdown` flips.
pub async fn read_lane_task<K: Hash + Eq + Clone>(
    lane: std::sync::Arc<ReadLane<K>>,
    writes: std::sync::Arc<WritesInFlight>,
    max_deferral: Duration,
    answer: impl Fn(K, Vec<u8>),
    flush: impl Fn(),
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = lane.notified() => {}
            _ = shutdown.changed() => return,
        }
        loop {
            tokio::select! {
                _ = writes.none_or_after(max_deferral) => {}
                _ = shutdown.changed() => return,
            }
            let batch = lane.take_batch(READ_BATCH);
            if batch.is_empty() {
                break;
            }
            for (peer, payload) in batch {
                answer(peer, payload);
            }
            flush();
            tokio::task::yield_now().await;
        }
    }
}

/// A single-thread tokio runtime on its own OS thread for the write path (completing a write,
/// the SQLite writer, sending the reply). Stops when dropped; tasks still on it are dropped
/// with it (a write's row is either durable or not, as at a crash).
pub struct WriteRuntime {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WriteRuntime {
    /// Start the runtime's thread (named `lsps-writes`).
    pub fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lsps-writes".into())
            .spawn(move || {
                // Either a stop or the sender dropped ends it.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Self {
            handle,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where write tasks are spawned.
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.handle.clone()
    }
}

impl Drop for WriteRuntime {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The runtime is dropped on its own thread (dropping it inside an async context
            // would panic); joining is quick, its block_on has returned.
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_peers_backlog_delays_another_peers_request_by_one_turn_at_most() {
        let mut queue = FairQueue::new(1_000);
        for i in 0..500 {
            queue.push("flooder", i).unwrap();
        }
        queue.push("polite", 0).unwrap();
        let order: Vec<&str> = std::iter::from_fn(|| queue.pop())
            .take(3)
            .map(|(k, _)| k)
            .collect();
        // First come, first served would answer the polite peer 501st.
        assert_eq!(order, ["flooder", "polite", "flooder"]);
        assert_eq!(queue.len(), 498);
    }

    #[test]
    fn peers_are_served_in_rotation_and_each_in_its_own_order() {
        let mut queue = FairQueue::new(10);
        for i in 0..3 {
            queue.push('a', i).unwrap();
            queue.push('b', i).unwrap();
        }
        queue.push('c', 0).unwrap();
        let served: Vec<(char, i32)> = std::iter::from_fn(|| queue.pop()).collect();
        assert_eq!(
            served,
            [
                ('a', 0),
                ('b', 0),
                ('c', 0),
                ('a', 1),
                ('b', 1),
                ('a', 2),
                ('b', 2)
            ]
        );
        assert!(queue.is_empty());
    }

    #[test]
    fn a_peer_at_its_bound_is_refused_and_others_are_not() {
        let mut queue = FairQueue::new(2);
        queue.push("a", 1).unwrap();
        queue.push("a", 2).unwrap();
        assert_eq!(queue.push("a", 3), Err(QueueFull(3)));
        queue.push("b", 1).unwrap();
        // Served one: room for one more.
        assert_eq!(queue.pop(), Some(("a", 1)));
        queue.push("a", 4).unwrap();
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn a_disconnected_peers_reads_are_dropped() {
        let mut queue = FairQueue::new(5);
        queue.push("gone", 1).unwrap();
        queue.push("gone", 2).unwrap();
        queue.push("here", 1).unwrap();
        queue.remove_key(&"gone");
        assert_eq!(queue.len(), 1);
        assert_eq!(queue.pop(), Some(("here", 1)));
        assert_eq!(queue.pop(), None);
    }

    #[tokio::test]
    async fn the_lane_task_answers_in_rotation_and_flushes_per_batch() {
        let lane = std::sync::Arc::new(ReadLane::new(100));
        for i in 0..40u8 {
            lane.push('a', vec![i]).unwrap();
        }
        lane.push('b', vec![0]).unwrap();
        let answered = std::sync::Arc::new(Mutex::new(Vec::new()));
        let flushes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(read_lane_task(
            lane.clone(),
            std::sync::Arc::new(WritesInFlight::default()),
            MAX_READ_DEFERRAL,
            {
                let answered = answered.clone();
                move |peer, payload: Vec<u8>| answered.lock().unwrap().push((peer, payload[0]))
            },
            {
                let flushes = flushes.clone();
                move || {
                    flushes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            },
            stopped,
        ));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while answered.lock().unwrap().len() < 41 {
            assert!(tokio::time::Instant::now() < deadline, "lane stalled");
            tokio::task::yield_now().await;
        }
        let _ = stop.send(true);
        task.await.unwrap();
        let answered = answered.lock().unwrap();
        assert_eq!(answered[1], ('b', 0));
        assert!(
            answered
                .iter()
                .filter(|(p, _)| *p == 'a')
                .map(|(_, i)| *i)
                .eq(0..40)
        );
        // 41 reads in batches of READ_BATCH, each followed by one flush.
        assert_eq!(
            flushes.load(std::sync::atomic::Ordering::SeqCst),
            41usize.div_ceil(READ_BATCH)
        );
    }

    /// A lane task over `'a'` reads whose answers land in the returned list.
    #[allow(clippy::type_complexity)]
    fn lane_with_reads(
        reads: u8,
        writes: std::sync::Arc<WritesInFlight>,
        max_deferral: Duration,
    ) -> (
        std::sync::Arc<Mutex<Vec<u8>>>,
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let lane = std::sync::Arc::new(ReadLane::new(100));
        for i in 0..reads {
            lane.push('a', vec![i]).unwrap();
        }
        let answered = std::sync::Arc::new(Mutex::new(Vec::new()));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(read_lane_task(
            lane,
            writes,
            max_deferral,
            {
                let answered = answered.clone();
                move |_, payload: Vec<u8>| answered.lock().unwrap().push(payload[0])
            },
            || {},
            stopped,
        ));
        (answered, stop, task)
    }

    const DEADLINE: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn reads_wait_while_a_write_is_in_flight_and_go_when_it_ends() {
        let writes = std::sync::Arc::new(WritesInFlight::default());
        let write = writes.begin();
        // A deferral bound far longer than the test, so only the write's end can free them.
        let (answered, stop, task) = lane_with_reads(3, writes.clone(), DEADLINE * 100);
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            answered.lock().unwrap().is_empty(),
            "a read went before the write"
        );
        drop(write);
        let started = tokio::time::Instant::now();
        while answered.lock().unwrap().len() < 3 {
            assert!(started.elapsed() < DEADLINE, "reads stayed held");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = stop.send(true);
        task.await.unwrap();
    }

    #[tokio::test]
    async fn a_write_that_never_ends_holds_reads_only_for_the_deferral_bound() {
        let max_deferral = Duration::from_millis(50);
        let writes = std::sync::Arc::new(WritesInFlight::default());
        let _stuck = writes.begin();
        let started = tokio::time::Instant::now();
        let (answered, stop, task) = lane_with_reads(3, writes.clone(), max_deferral);
        while answered.lock().unwrap().len() < 3 {
            assert!(
                started.elapsed() < DEADLINE,
                "reads starved behind a stuck write"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(
            started.elapsed() >= max_deferral,
            "reads did not wait for the write"
        );
        assert_eq!(writes.count(), 1);
        let _ = stop.send(true);
        task.await.unwrap();
    }
}

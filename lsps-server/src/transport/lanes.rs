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

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;

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

/// The read lane's task: answers queued reads in batches of [`READ_BATCH`] through `answer`,
/// calls `flush` (the `PeerManager`'s `process_events`) after each batch, and yields between
/// batches. Ends when `shutdown` flips.
pub async fn read_lane_task<K: Hash + Eq + Clone>(
    lane: std::sync::Arc<ReadLane<K>>,
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
}

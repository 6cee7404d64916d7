//! ChannelMonitor persistence ordered behind the ChannelManager.
//!
//! At start-up LDK force-closes every channel whose stored ChannelManager is older than its
//! stored ChannelMonitor (LDK logs "A ChannelManager is stale compared to the current
//! ChannelMonitor!"). Writing monitors synchronously, as LDK's stock `Persist` for a KVStore
//! does, leaves exactly that state on disk between a monitor update (a claim, a new commitment)
//! and the next ChannelManager write — a window in which a `kill -9` costs the channel.
//!
//! [`MonitorPersister`] closes the window with LDK's asynchronous persistence: it answers every
//! write with `InProgress` and hands it to a thread of its own that, for each batch,
//! 1. writes the ChannelManager, which then records the batch's updates as in flight, and the
//!    monitors, in one transaction of the node's [`SqliteStore`],
//! 2. tells the ChainMonitor the updates completed (only then does LDK send the messages or
//!    broadcast the transactions that depend on them).
//!
//! A crash at any point therefore leaves a ChannelManager at least as new as every monitor: the
//! updates it recorded in flight are replayed into the monitors at the next start, and a channel
//! whose first monitor never reached the disk is dropped before its funding was broadcast.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use lightning::chain::ChannelMonitorUpdateStatus;
use lightning::chain::chainmonitor::Persist;
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::ln::types::ChannelId;
use lightning::sign::InMemorySigner;
use lightning::util::persist::{
    CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE, CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
    CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE, MonitorName,
};
use lightning::util::ser::Writeable;

use crate::kv::{KvWrite, SqliteStore};
use crate::node::{ChainMonitor, ChannelManager};

/// How long a failed write waits before it is tried again. A monitor write is never reported
/// complete before it is on disk, so the writer retries for as long as the node lives (LDK keeps
/// the channel paused meanwhile).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Writes the ChannelManager, one snapshot at a time, so snapshots reach the disk in the order
/// they were taken (the event loop, the monitor writer and an app's own persist may race).
///
/// Every snapshot clears LDK's "needs persistence" flag before it serializes the manager, so a
/// change made meanwhile sets it again, and the event loop does not write again what the monitor
/// writer has just written. The flag is only cleared under the write lock: whoever finds it
/// clear, once holding the lock, knows the snapshot that cleared it is on disk.
pub struct ManagerStore {
    store: Arc<SqliteStore>,
    /// How many snapshots were begun: each takes the next number before it serializes.
    begun: AtomicU64,
    /// Held while a snapshot is serialized and written.
    written: Mutex<Written>,
}

/// What the disk holds, as [`ManagerStore`] knows it.
#[derive(Default)]
struct Written {
    /// The number of the newest snapshot on disk.
    newest: u64,
    /// The last write failed: the "needs persistence" flag it cleared is owed to the disk.
    owed: bool,
}

impl ManagerStore {
    /// A writer into `store`.
    pub fn new(store: Arc<SqliteStore>) -> Self {
        Self {
            store,
            begun: AtomicU64::new(0),
            written: Mutex::new(Written::default()),
        }
    }

    /// Serialize `manager` and write it.
    pub fn write(&self, manager: &ChannelManager) -> Result<(), lightning::io::Error> {
        let mut written = self.lock();
        self.write_locked(&mut written, manager, std::iter::empty())
    }

    /// Write `manager` if LDK says it changed since the last snapshot; when it returns, every
    /// change made before the call is on disk. True if this call wrote.
    pub fn write_if_changed(&self, manager: &ChannelManager) -> Result<bool, lightning::io::Error> {
        let mut written = self.lock();
        if !manager.get_and_clear_needs_persistence() && !written.owed {
            return Ok(false);
        }
        self.write_locked(&mut written, manager, std::iter::empty())?;
        Ok(true)
    }

    /// The number of snapshots begun so far: any snapshot numbered higher serializes the
    /// manager as it is after this call.
    fn snapshots_begun(&self) -> u64 {
        self.begun.load(Ordering::SeqCst)
    }

    /// Write `monitors` behind a snapshot numbered above `begun_before`: in one transaction with
    /// a new snapshot, or alone when such a snapshot is on disk already.
    fn write_behind_snapshot<'a>(
        &self,
        manager: &ChannelManager,
        begun_before: u64,
        monitors: impl Iterator<Item = KvWrite<'a>>,
    ) -> Result<(), lightning::io::Error> {
        let mut written = self.lock();
        if written.newest > begun_before {
            return self.store.write_all(monitors);
        }
        self.write_locked(&mut written, manager, monitors)
    }

    fn write_locked<'a>(
        &self,
        written: &mut Written,
        manager: &ChannelManager,
        monitors: impl Iterator<Item = KvWrite<'a>>,
    ) -> Result<(), lightning::io::Error> {
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        // Cleared before serializing: what changes from here on sets it again.
        let _ = manager.get_and_clear_needs_persistence();
        written.owed = true;
        let manager_bytes = manager.encode();
        self.store.write_all(
            std::iter::once(KvWrite {
                primary: CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
                secondary: CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
                key: CHANNEL_MANAGER_PERSISTENCE_KEY,
                value: &manager_bytes,
            })
            // (re-borrowed to the manager bytes' shorter lifetime)
            .chain(monitors.map(|write| KvWrite { ..write })),
        )?;
        *written = Written {
            newest: number,
            owed: false,
        };
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Written> {
        self.written.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One job of the monitor writer.
enum MonitorJob {
    /// Store a serialized monitor; `completes` is the update to report done afterwards (none for
    /// LDK's chain-sync writes, which it does not track).
    Write {
        key: String,
        bytes: Vec<u8>,
        completes: Option<(ChannelId, u64)>,
        /// [`ManagerStore::snapshots_begun`] when queued: a later snapshot knows the update.
        snapshots_begun: u64,
    },
    /// Move a fully resolved channel's monitor out of the live namespace.
    Archive { name: MonitorName },
}

/// The ChainMonitor's persister: every write is queued for the monitor writer thread (see the
/// module docs). Start that thread with [`MonitorPersister::start_writer`] once the
/// ChannelManager and ChainMonitor exist; jobs queued before wait for it.
pub struct MonitorPersister {
    store: Arc<SqliteStore>,
    manager_store: Arc<ManagerStore>,
    jobs: Sender<MonitorJob>,
    waiting: Mutex<Option<Receiver<MonitorJob>>>,
}

impl MonitorPersister {
    /// A persister writing monitors into `store`, behind the snapshots of `manager_store`.
    pub fn new(store: Arc<SqliteStore>, manager_store: Arc<ManagerStore>) -> Self {
        let (jobs, waiting) = channel();
        Self {
            store,
            manager_store,
            jobs,
            waiting: Mutex::new(Some(waiting)),
        }
    }

    /// Start the writer thread. It holds the manager and the chain monitor weakly and stops when
    /// they are gone (the ChainMonitor owns this persister, and so the queue's sender). Starting
    /// twice is a no-op.
    pub fn start_writer(
        &self,
        manager: Weak<ChannelManager>,
        chain_monitor: Weak<ChainMonitor>,
    ) -> std::io::Result<()> {
        let Some(jobs) = self
            .waiting
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            return Ok(());
        };
        let store = self.store.clone();
        let manager_store = self.manager_store.clone();
        std::thread::Builder::new()
            .name("ldk-monitor-writer".into())
            .spawn(move || {
                let writer = MonitorWriter {
                    store,
                    manager_store,
                    manager,
                    chain_monitor,
                };
                while let Ok(first) = jobs.recv() {
                    let batch: Vec<MonitorJob> =
                        std::iter::once(first).chain(jobs.try_iter()).collect();
                    if !writer.write_batch(batch) {
                        break;
                    }
                }
            })
            .map(drop)
    }

    fn queue(&self, job: MonitorJob) -> ChannelMonitorUpdateStatus {
        // The receiver lives as long as the ChainMonitor (it stops only when the manager or the
        // chain monitor is gone): a send can fail only while the node is being dropped, when the
        // update stays in flight in the ChannelManager and is replayed at the next start.
        if self.jobs.send(job).is_err() {
            tracing::warn!("monitor writer stopped; the update is replayed at the next start");
        }
        ChannelMonitorUpdateStatus::InProgress
    }
}

impl Persist<InMemorySigner> for MonitorPersister {
    fn persist_new_channel(
        &self,
        monitor_name: MonitorName,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        self.queue(MonitorJob::Write {
            key: monitor_name.to_string(),
            bytes: monitor.encode(),
            completes: Some((monitor.channel_id(), monitor.get_latest_update_id())),
            snapshots_begun: self.manager_store.snapshots_begun(),
        })
    }

    fn update_persisted_channel(
        &self,
        monitor_name: MonitorName,
        monitor_update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        // Chain-sync writes (no update) go through the queue too: the monitor handed here already
        // holds every update applied so far, so writing it directly could put a monitor newer
        // than the stored ChannelManager on disk.
        self.queue(MonitorJob::Write {
            key: monitor_name.to_string(),
            bytes: monitor.encode(),
            completes: monitor_update.map(|update| (monitor.channel_id(), update.update_id)),
            snapshots_begun: self.manager_store.snapshots_begun(),
        })
    }

    fn archive_persisted_channel(&self, monitor_name: MonitorName) {
        // Queued behind the channel's pending writes, which would otherwise bring it back.
        self.queue(MonitorJob::Archive { name: monitor_name });
    }
}

/// The writer thread's state.
struct MonitorWriter {
    store: Arc<SqliteStore>,
    manager_store: Arc<ManagerStore>,
    manager: Weak<ChannelManager>,
    chain_monitor: Weak<ChainMonitor>,
}

impl MonitorWriter {
    /// Write one batch in the module's order. False when the node is gone.
    ///
    /// The monitor writes up to the batch's first archive go behind a ChannelManager snapshot
    /// begun after every one of them was queued (in one transaction with it, or alone when the
    /// event loop already wrote one); writes after an archive follow in their own transaction,
    /// behind that same snapshot.
    fn write_batch(&self, batch: Vec<MonitorJob>) -> bool {
        let (Some(manager), Some(chain_monitor)) =
            (self.manager.upgrade(), self.chain_monitor.upgrade())
        else {
            return false;
        };
        let superseded = superseded_writes(&batch);
        let begun_before = batch
            .iter()
            .map(|job| match job {
                MonitorJob::Write {
                    snapshots_begun, ..
                } => *snapshots_begun,
                MonitorJob::Archive { .. } => 0,
            })
            .max()
            .unwrap_or(0);
        let mut completed = Vec::new();
        let mut behind_snapshot = false;
        let mut jobs = batch.into_iter().enumerate().peekable();
        while jobs.peek().is_some() {
            let mut writes = Vec::new();
            while let Some((
                index,
                MonitorJob::Write {
                    key,
                    bytes,
                    completes,
                    ..
                },
            )) = jobs.next_if(|(_, job)| matches!(job, MonitorJob::Write { .. }))
            {
                completed.extend(completes);
                if !superseded.contains(&index) {
                    writes.push((key, bytes));
                }
            }
            let monitors = || {
                writes.iter().map(|(key, bytes)| KvWrite {
                    primary: CHANNEL_MONITOR_PERSISTENCE_PRIMARY_NAMESPACE,
                    secondary: CHANNEL_MONITOR_PERSISTENCE_SECONDARY_NAMESPACE,
                    key,
                    value: bytes,
                })
            };
            if behind_snapshot {
                if !writes.is_empty() {
                    until_written("channel monitors", || self.store.write_all(monitors()));
                }
            } else {
                until_written("channel manager and monitors", || {
                    self.manager_store
                        .write_behind_snapshot(&manager, begun_before, monitors())
                });
                behind_snapshot = true;
            }
            if let Some((_, MonitorJob::Archive { name })) = jobs.next() {
                <SqliteStore as Persist<InMemorySigner>>::archive_persisted_channel(
                    &self.store,
                    name,
                );
            }
        }
        for (channel_id, update_id) in completed {
            if let Err(e) = chain_monitor.channel_monitor_updated(channel_id, update_id) {
                tracing::error!("monitor update {update_id} of {channel_id}: {e:?}");
            }
        }
        true
    }
}

/// Indexes of writes a later write of the same monitor in the batch replaces (a monitor is
/// written whole, so only the newest needs the disk; an archive in between keeps both).
fn superseded_writes(batch: &[MonitorJob]) -> HashSet<usize> {
    let mut newer = HashSet::new();
    let mut superseded = HashSet::new();
    for (index, job) in batch.iter().enumerate().rev() {
        match job {
            MonitorJob::Write { key, .. } => {
                if !newer.insert(key.as_str()) {
                    superseded.insert(index);
                }
            }
            MonitorJob::Archive { .. } => newer.clear(),
        }
    }
    superseded
}

fn until_written(what: &str, mut write: impl FnMut() -> Result<(), lightning::io::Error>) {
    while let Err(e) = write() {
        tracing::error!("writing {what}: {e}; retrying in {RETRY_AFTER:?}");
        std::thread::sleep(RETRY_AFTER);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(key: &str) -> MonitorJob {
        MonitorJob::Write {
            key: key.into(),
            bytes: Vec::new(),
            completes: None,
            snapshots_begun: 0,
        }
    }

    #[test]
    fn only_the_newest_write_of_a_monitor_in_a_batch_reaches_the_disk() {
        let batch = [write("a"), write("b"), write("a"), write("a")];
        assert_eq!(superseded_writes(&batch), HashSet::from([0, 2]));
    }

    #[test]
    fn an_archive_between_two_writes_keeps_both() {
        let name = MonitorName::V1Channel(lightning::chain::transaction::OutPoint {
            txid: bitcoin::hashes::Hash::from_byte_array([7; 32]),
            index: 0,
        });
        let batch = [write("a"), MonitorJob::Archive { name }, write("a")];
        assert!(superseded_writes(&batch).is_empty());
    }
}

//! The node's LDK state in one SQLite file: the ChannelManager, the ChannelMonitors and whatever
//! other LDK components keep beside them (lightning-liquidity, manual funding transactions).
//!
//! Why SQLite and not LDK's `FilesystemStore`: the monitor writer ([`crate::persist`]) stores a
//! ChannelManager and then the monitors of each batch, and every monitor update of every channel
//! waits for that. A `FilesystemStore` write is a temporary file, its fsync, a rename and the
//! directory's fsync, so a batch cost four fsyncs in a row (≈ 3.5 ms each here), and a JIT
//! payment has about ten such batches one after the other on its critical path.
//! [`SqliteStore::write_all`] puts a batch in one transaction: one fsync of the write-ahead
//! log, and the manager and its monitors reach the disk together or not at all, which is
//! stronger than the write order the monitor writer needs. ldk-node keeps the same state in
//! SQLite by default.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use lightning::io::{Error, ErrorKind};
use lightning::util::persist::{KVStoreSync, MigratableKVStore};
use lightning_persister::fs_store::FilesystemStore;
use rusqlite::{Connection, OptionalExtension, params};

/// One key's new value, for [`SqliteStore::write_all`].
pub struct KvWrite<'a> {
    /// LDK's primary namespace.
    pub primary: &'a str,
    /// LDK's secondary namespace.
    pub secondary: &'a str,
    /// The key.
    pub key: &'a str,
    /// The value.
    pub value: &'a [u8],
}

/// LDK's `KVStoreSync` over one SQLite database (WAL, `synchronous=FULL`: a committed write
/// survives a power cut, not only a `kill -9`).
pub struct SqliteStore {
    connection: Mutex<Connection>,
}

impl SqliteStore {
    /// Open (or create) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let connection = Connection::open(path).map_err(sql_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 CREATE TABLE IF NOT EXISTS ldk_kv (
                     primary_namespace TEXT NOT NULL,
                     secondary_namespace TEXT NOT NULL,
                     key TEXT NOT NULL,
                     value BLOB NOT NULL,
                     PRIMARY KEY (primary_namespace, secondary_namespace, key)
                 ) WITHOUT ROWID;",
            )
            .map_err(sql_error)?;
        Ok(Self {
            connection: Mutex::new(connection),
        })
    }

    /// Open the store at `path`; a node whose LDK state is still in the `FilesystemStore`
    /// directory `legacy_dir` (nodes created before the store moved to SQLite) has it copied in
    /// first, in one transaction, and the directory renamed so it is never read again (a crash
    /// before the rename leaves the directory, and the next start copies it again).
    pub fn open_migrating(path: &Path, legacy_dir: &Path) -> Result<Self, Error> {
        let store = Self::open(path)?;
        if legacy_dir.is_dir() {
            let legacy = FilesystemStore::new(legacy_dir.to_owned());
            let entries = legacy
                .list_all_keys()?
                .into_iter()
                .map(|(primary, secondary, key)| {
                    let value = legacy.read(&primary, &secondary, &key)?;
                    Ok((primary, secondary, key, value))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            store.write_all(
                entries
                    .iter()
                    .map(|(primary, secondary, key, value)| KvWrite {
                        primary,
                        secondary,
                        key,
                        value,
                    }),
            )?;
            std::fs::rename(legacy_dir, migrated_dir(legacy_dir))?;
        }
        Ok(store)
    }

    /// Write every value of `writes` in one transaction: all of them reach the disk, or none.
    pub fn write_all<'a>(
        &self,
        writes: impl IntoIterator<Item = KvWrite<'a>>,
    ) -> Result<(), Error> {
        let mut connection = self.lock();
        let transaction = connection.transaction().map_err(sql_error)?;
        {
            let mut upsert = transaction
                .prepare_cached(
                    "INSERT INTO ldk_kv (primary_namespace, secondary_namespace, key, value)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (primary_namespace, secondary_namespace, key)
                     DO UPDATE SET value = excluded.value",
                )
                .map_err(sql_error)?;
            for write in writes {
                upsert
                    .execute(params![
                        write.primary,
                        write.secondary,
                        write.key,
                        write.value
                    ])
                    .map_err(sql_error)?;
            }
        }
        transaction.commit().map_err(sql_error)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// LDK's `FilesystemStore` over a data dir's legacy directory (what nodes created before the
/// SQLite store wrote; tests recreate such a node with it).
pub fn legacy_store(data_dir: &Path) -> FilesystemStore {
    FilesystemStore::new(crate::node::legacy_ldk_dir(data_dir))
}

/// Where a migrated `FilesystemStore` directory is kept (as a backup; nothing reads it).
pub fn migrated_dir(legacy_dir: &Path) -> PathBuf {
    let mut name = legacy_dir.as_os_str().to_owned();
    name.push(".migrated-to-sqlite");
    PathBuf::from(name)
}

impl KVStoreSync for SqliteStore {
    fn read(&self, primary: &str, secondary: &str, key: &str) -> Result<Vec<u8>, Error> {
        self.lock()
            .prepare_cached(
                "SELECT value FROM ldk_kv
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2 AND key = ?3",
            )
            .and_then(|mut select| {
                select
                    .query_row(params![primary, secondary, key], |row| row.get(0))
                    .optional()
            })
            .map_err(sql_error)?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("no value at {primary}/{secondary}/{key}"),
                )
            })
    }

    fn write(&self, primary: &str, secondary: &str, key: &str, buf: Vec<u8>) -> Result<(), Error> {
        self.write_all([KvWrite {
            primary,
            secondary,
            key,
            value: &buf,
        }])
    }

    fn remove(&self, primary: &str, secondary: &str, key: &str, _lazy: bool) -> Result<(), Error> {
        // Never lazy: one indexed delete costs no more than remembering it.
        self.lock()
            .prepare_cached(
                "DELETE FROM ldk_kv
                 WHERE primary_namespace = ?1 AND secondary_namespace = ?2 AND key = ?3",
            )
            .and_then(|mut delete| delete.execute(params![primary, secondary, key]))
            .map(drop)
            .map_err(sql_error)
    }

    fn list(&self, primary: &str, secondary: &str) -> Result<Vec<String>, Error> {
        self.lock()
            .prepare_cached(
                "SELECT key FROM ldk_kv WHERE primary_namespace = ?1 AND secondary_namespace = ?2",
            )
            .and_then(|mut select| {
                select
                    .query_map(params![primary, secondary], |row| row.get(0))?
                    .collect()
            })
            .map_err(sql_error)
    }
}

impl MigratableKVStore for SqliteStore {
    fn list_all_keys(&self) -> Result<Vec<(String, String, String)>, Error> {
        self.lock()
            .prepare_cached("SELECT primary_namespace, secondary_namespace, key FROM ldk_kv")
            .and_then(|mut select| {
                select
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                    .collect()
            })
            .map_err(sql_error)
    }
}

fn sql_error(e: rusqlite::Error) -> Error {
    Error::new(ErrorKind::Other, e)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write<'a>(key: &'a str, value: &'a [u8]) -> KvWrite<'a> {
        KvWrite {
            primary: "monitors",
            secondary: "",
            key,
            value,
        }
    }

    #[test]
    fn reads_lists_overwrites_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("ldk.sqlite")).unwrap();
        assert_eq!(
            store.read("monitors", "", "a").unwrap_err().kind(),
            ErrorKind::NotFound
        );
        store.write("monitors", "", "a", vec![1]).unwrap();
        store.write("monitors", "", "a", vec![2]).unwrap();
        store.write("monitors", "x", "b", vec![3]).unwrap();
        assert_eq!(store.read("monitors", "", "a").unwrap(), vec![2]);
        assert_eq!(store.list("monitors", "").unwrap(), vec!["a".to_owned()]);
        store.remove("monitors", "", "a", true).unwrap();
        store.remove("monitors", "", "a", false).unwrap();
        assert!(store.list("monitors", "").unwrap().is_empty());
        assert_eq!(store.list_all_keys().unwrap().len(), 1);
    }

    #[test]
    fn a_failed_batch_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ldk.sqlite");
        let store = SqliteStore::open(&path).unwrap();
        store.write_all([write("a", &[1])]).unwrap();
        // A trigger that refuses one key makes the batch fail after its first write landed.
        store
            .lock()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON ldk_kv WHEN NEW.key = 'bad'
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .unwrap();
        store
            .write_all([write("a", &[2]), write("bad", &[3])])
            .unwrap_err();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(reopened.read("monitors", "", "a").unwrap(), vec![1]);
    }

    #[test]
    fn a_filesystem_store_is_migrated_once() {
        let dir = tempfile::tempdir().unwrap();
        let legacy = dir.path().join("ldk");
        FilesystemStore::new(legacy.clone())
            .write("monitors", "", "a", vec![9])
            .unwrap();
        let path = dir.path().join("ldk.sqlite");
        let store = SqliteStore::open_migrating(&path, &legacy).unwrap();
        assert_eq!(store.read("monitors", "", "a").unwrap(), vec![9]);
        assert!(!legacy.exists());
        assert!(migrated_dir(&legacy).is_dir());
        store.write("monitors", "", "a", vec![10]).unwrap();
        drop(store);
        let reopened = SqliteStore::open_migrating(&path, &legacy).unwrap();
        assert_eq!(reopened.read("monitors", "", "a").unwrap(), vec![10]);
    }
}

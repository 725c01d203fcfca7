//! The file store: one machine's processes share tokens through a folder.
//!
//! Per entry, named by its opaque record name: `<name>.tok` holds the sealed
//! record (and `<name>.fail` the last failure, `failure.rs`), each written atomically (a temporary file in the same folder, then a
//! rename, so a reader sees the old record or the new one, never half);
//! `<name>.lock` carries the entry's fleet lock, an advisory lock (`flock`
//! through std's `File::try_lock`) that the kernel releases when its
//! process dies, so a crashed holder never blocks the others; it is held
//! for a whole token request. `<name>.rec` carries a second, short lock that
//! only orders changes to the records: a write (rename) and a
//! compare-and-delete each hold it for one file operation, so an
//! invalidation never waits for a request in flight (a busy entry is not a
//! broken store) and still cannot slip between another process's read and
//! rename; `<name>.ev` is a short log of
//! messages, which other processes poll (files have no pub/sub: see
//! `file_messages.rs`), made only once there is one to tell (a failed
//! request or an invalidation: a written record is found by polling it).
//! The folder is made 0700 and every file 0600; a folder that another
//! user owns or others can write is refused (`private_folder.rs`).
//!
//! File calls block, so they run on Tokio's blocking pool, where a slow
//! disk cannot stall the runtime and the caller's timeout still holds.

use super::backend::{Backend, HeldLock, Slot, StoreFailure, StoreFuture, StoreResult};
use super::events::EventHub;
use super::file_messages::{self, Delivered};
use super::private_folder::{ensure_private, open_lock_file, read_small, write_atomically};
use super::record::MAX_RECORD_BYTES;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often other processes' messages are looked for: invalidations must
/// reach every process within a second.
const MESSAGE_POLL: Duration = Duration::from_millis(250);
/// How often a waiting process re-checks the lock and the record: a file
/// lock is free the moment its holder dies, so this is the takeover delay.
const WAITER_RECHECK: Duration = Duration::from_millis(50);

pub struct FileBackend {
    dir: PathBuf,
}

impl FileBackend {
    pub fn new(dir: PathBuf) -> FileBackend {
        FileBackend { dir }
    }

    fn path(&self, name: &str, extension: &str) -> PathBuf {
        self.dir.join(format!("{name}.{extension}"))
    }

    /// The folder, the record in `slot`, and the short lock that orders
    /// changes to the entry's records.
    fn record_paths(&self, name: &str, slot: Slot) -> (PathBuf, PathBuf, PathBuf) {
        (
            self.dir.clone(),
            self.path(name, slot.suffix()),
            self.path(name, "rec"),
        )
    }
}

/// Runs a blocking file operation off the runtime's workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> StoreResult<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        _ => Err(StoreFailure),
    }
}

/// Holds `path`'s record lock until the file is dropped. Its holders keep
/// it for one file operation, so waiting for it is short.
fn lock_record(dir: &Path, path: &Path) -> std::io::Result<File> {
    let file = open_lock_file(dir, path)?;
    file.lock()?;
    Ok(file)
}

/// Some(file holding the lock) if it was free.
fn try_lock_file(dir: &Path, path: &Path) -> std::io::Result<Option<File>> {
    let file = open_lock_file(dir, path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

impl Backend for FileBackend {
    fn read<'a>(&'a self, name: &'a str, slot: Slot) -> StoreFuture<'a, Option<Vec<u8>>> {
        let (dir, path) = (self.dir.clone(), self.path(name, slot.suffix()));
        Box::pin(blocking(move || {
            ensure_private(&dir)?;
            read_small(&path, MAX_RECORD_BYTES as u64)
        }))
    }

    fn write<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        sealed: Vec<u8>,
        _ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let (dir, path, record_lock) = self.record_paths(name, slot);
        Box::pin(blocking(move || {
            let _order = lock_record(&dir, &record_lock)?;
            write_atomically(&dir, &path, &sealed)
        }))
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        _ttl: Duration,
    ) -> StoreFuture<'a, Option<Box<dyn HeldLock>>> {
        let (dir, path) = (self.dir.clone(), self.path(name, "lock"));
        Box::pin(async move {
            let file = blocking(move || try_lock_file(&dir, &path)).await?;
            Ok(file.map(|file| Box::new(FileLock { file }) as Box<dyn HeldLock>))
        })
    }

    fn delete_if_equals<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        expected: Vec<u8>,
    ) -> StoreFuture<'a, bool> {
        let (dir, path, record_lock) = self.record_paths(name, slot);
        Box::pin(blocking(move || {
            // The record's own short lock, not the entry's fleet lock: no
            // rename can land between the comparison and the unlink, and a
            // request in flight (which holds the fleet lock) is not waited for.
            let _order = lock_record(&dir, &record_lock)?;
            match read_small(&path, MAX_RECORD_BYTES as u64)? {
                Some(current) if current == expected => {
                    fs::remove_file(&path)?;
                    Ok(true)
                }
                _ => Ok(false),
            }
        }))
    }

    fn publish<'a>(&'a self, name: &'a str, message: Vec<u8>) -> StoreFuture<'a, ()> {
        let (dir, path) = (self.dir.clone(), self.path(name, "ev"));
        Box::pin(blocking(move || {
            file_messages::append(&dir, &path, &message)
        }))
    }

    fn start_events(self: Arc<Self>, hub: Weak<EventHub>) {
        tokio::spawn(watch_messages(self, hub));
    }

    fn recheck_interval(&self, _messages_live: bool) -> Duration {
        WAITER_RECHECK
    }

    /// Waiters see a new record within `WAITER_RECHECK`, well before the
    /// next `MESSAGE_POLL`: a `Written` line would only cost every fetch a
    /// file write and leave a log beside each record.
    fn announces_writes(&self) -> bool {
        false
    }
}

/// Polls the message logs of the entries this process follows and
/// delivers what is new, until the store is dropped.
async fn watch_messages(backend: Arc<FileBackend>, hub: Weak<EventHub>) {
    let mut delivered = Delivered::default();
    loop {
        tokio::time::sleep(MESSAGE_POLL).await;
        let Some(hub_now) = hub.upgrade() else {
            return;
        };
        let followed = hub_now.watched();
        drop(hub_now);
        delivered.retain(&followed);
        let paths: Vec<(String, u64, PathBuf)> = followed
            .into_iter()
            .map(|(name, since)| {
                let path = backend.path(&name, "ev");
                (name, since, path)
            })
            .collect();
        let Ok(logs) = blocking(move || {
            Ok(paths
                .into_iter()
                .filter_map(|(name, since, path)| {
                    let log = read_small(&path, file_messages::MAX_LOG_BYTES * 2).ok()??;
                    Some((name, since, log))
                })
                .collect::<Vec<_>>())
        })
        .await
        else {
            continue;
        };
        let Some(hub_now) = hub.upgrade() else {
            return;
        };
        for (name, since, log) in &logs {
            for message in delivered.news(name, *since, log) {
                hub_now.deliver(name, message);
            }
        }
    }
}

/// A held `flock`: released when the file is closed, by us or by the
/// kernel when this process dies.
struct FileLock {
    file: File,
}

impl HeldLock for FileLock {
    fn renew(&self, _ttl: Duration) -> StoreFuture<'_, bool> {
        Box::pin(async { Ok(true) })
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        let file = self.file;
        Box::pin(async move {
            let _ = file.unlock();
            drop(file);
            Ok(())
        })
    }

    fn needs_renewal(&self) -> bool {
        false
    }
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;

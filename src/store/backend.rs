//! The one small trait every shared store implements (files, Redis, Redis
//! Cluster): primitive operations on sealed records, named by their opaque
//! record name. The fleet protocol (`fleet.rs`) is written once on top of
//! it, so every kind gets the same single flight, refresh and invalidation.
//!
//! Backends know nothing of tokens or keys: they move opaque bytes.

use super::events::EventHub;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A store operation failed (unreachable, refused, timed out, I/O error).
/// It carries no text: driver errors may quote what they were sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreFailure;

pub type StoreResult<T> = Result<T, StoreFailure>;
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// The records an entry has, each sealed under the entry's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// The token the fleet shares.
    Token,
    /// The last failed request and its rate-limit window (`failure.rs`).
    Failure,
}

impl Slot {
    /// How the slot ends a record's name (file extension, Redis key suffix).
    pub fn suffix(self) -> &'static str {
        match self {
            Slot::Token => "tok",
            Slot::Failure => "fail",
        }
    }
}

pub trait Backend: Send + Sync + 'static {
    /// The sealed record stored in `slot` under `name`, if any.
    fn read<'a>(&'a self, name: &'a str, slot: Slot) -> StoreFuture<'a, Option<Vec<u8>>>;

    /// Stores `sealed` in `slot` under `name`, replacing any record; `ttl`
    /// is how long it is worth keeping (a store may drop it after that).
    fn write<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;

    /// Takes the entry's fleet-wide lock if nobody holds it. `ttl` bounds
    /// how long a holder that died keeps it (a lock that dies with its
    /// process may ignore it).
    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<Box<dyn HeldLock>>>;

    /// Deletes the record in `slot` under `name` only if it is still
    /// exactly `expected`.
    fn delete_if_equals<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        expected: Vec<u8>,
    ) -> StoreFuture<'a, bool>;

    /// Tells every process watching `name` about `message` (see `events.rs`).
    fn publish<'a>(&'a self, name: &'a str, message: Vec<u8>) -> StoreFuture<'a, ()>;

    /// Starts delivering other processes' messages to `hub` until it is gone.
    fn start_events(self: Arc<Self>, hub: Weak<EventHub>);

    /// How often a process waiting on another's request re-checks the
    /// record and the lock, besides being woken by messages.
    fn recheck_interval(&self, messages_live: bool) -> Duration;

    /// Whether a written record is worth a `Written` message: not when
    /// waiters re-check the record sooner than a message would reach them.
    fn announces_writes(&self) -> bool {
        true
    }
}

/// A fleet lock this process holds.
pub trait HeldLock: Send + Sync {
    /// Extends the lock while its request is still running; false if it
    /// was lost (expired and taken by another process).
    fn renew(&self, ttl: Duration) -> StoreFuture<'_, bool>;

    /// Releases the lock if this process still holds it.
    fn release(self: Box<Self>) -> StoreFuture<'static, ()>;

    /// Whether the lock expires unless renewed (Redis), or lives exactly as
    /// long as its holder (a file lock).
    fn needs_renewal(&self) -> bool;
}

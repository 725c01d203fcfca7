//! The process-wide registry of tokens: one entry per cache key, one token
//! request in flight per entry, refresh ahead of expiry, and a bound on the
//! number of entries.
//!
//! Every caller on every thread goes through the same `TokenCache`, so
//! concurrent callers of one entry share one request (single flight) and an
//! invalidation is seen by all. Fetches run as tasks on the shared runtime,
//! owned by no caller: a caller that goes away (a terminated worker thread)
//! cannot leave its entry waiting forever.
//!
//! Each change to a token (new token, failed refresh, invalidation) bumps a
//! generation number and tells the `on_change` listener, so that faster
//! per-thread views of the cache (see the binding) know to read it again.

use crate::error::{ErrorCode, TokenError};
use crate::options::{CacheKey, TokenRequest};
use crate::token::{now_ms, Token};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::oneshot;

pub const DEFAULT_MAX_ENTRIES: usize = 10_000;
/// After a failed background refresh, wait at least this long before the next one.
const MIN_REFRESH_COOLDOWN_MS: u64 = 1_000;
const MAX_REFRESH_COOLDOWN_MS: u64 = 30_000;

pub type Outcome = Result<Arc<Token>, TokenError>;
pub type FetchFuture = Pin<Box<dyn Future<Output = Result<Token, TokenError>> + Send>>;

/// Gets one token for a request; `Counters::requests` counts its HTTP attempts.
pub trait Fetcher: Send + Sync + 'static {
    fn fetch(&self, request: Arc<TokenRequest>, counters: Arc<Counters>) -> FetchFuture;
}

#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub refreshes: AtomicU64,
}

/// A token as one caller may use it, with the generation it was read at.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub token: Arc<Token>,
    pub usable_until_ms: u64,
    /// `u64::MAX` while a refresh is in flight or cooling down past usability.
    pub refresh_at_ms: u64,
    /// `None` when the token was already replaced or dropped as it was read.
    pub generation: Option<u32>,
}

#[derive(Debug)]
pub struct Acquired {
    pub snapshot: Snapshot,
    /// True when the caller did not wait on a token request.
    pub from_cache: bool,
}

struct Entry {
    state: Mutex<EntryState>,
}

#[derive(Default)]
struct EntryState {
    token: Option<Arc<Token>>,
    /// Callers waiting on the request in flight; `Some` while one is.
    flight: Option<Vec<oneshot::Sender<Outcome>>>,
    /// No background refresh before this instant (after one failed).
    refresh_not_before_ms: u64,
    /// The server's `Retry-After` window: fail fast until then.
    rate_limited_until_ms: u64,
}

type ChangeListener = Box<dyn Fn(u32) + Send + Sync>;

pub struct TokenCache {
    entries: Mutex<HashMap<CacheKey, Arc<Entry>>>,
    fetcher: Arc<dyn Fetcher>,
    runtime: tokio::runtime::Handle,
    counters: Arc<Counters>,
    generation: AtomicU32,
    on_change: RwLock<Option<ChangeListener>>,
    max_entries: usize,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere must not make the cache unusable for everyone else.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl TokenCache {
    pub fn new(
        fetcher: Arc<dyn Fetcher>,
        runtime: tokio::runtime::Handle,
        max_entries: usize,
    ) -> Arc<TokenCache> {
        Arc::new(TokenCache {
            entries: Mutex::new(HashMap::new()),
            fetcher,
            runtime,
            counters: Arc::new(Counters::default()),
            generation: AtomicU32::new(1),
            on_change: RwLock::new(None),
            max_entries: max_entries.max(1),
        })
    }

    pub fn set_change_listener(&self, listener: ChangeListener) {
        *self.on_change.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached token if it is usable now, without waiting; starts a
    /// background refresh when one is due.
    pub fn peek(self: &Arc<Self>, request: &Arc<TokenRequest>) -> Option<Snapshot> {
        // Read the generation before the state: a change racing with this
        // read then leaves the snapshot looking stale, never the reverse.
        let generation = self.generation();
        let entry = lock(&self.entries).get(&request.key).cloned()?;
        let mut state = lock(&entry.state);
        let now = now_ms();
        let token = state
            .token
            .clone()
            .filter(|t| t.is_usable_at(now, request.policy.leeway_ms))?;
        self.refresh_if_due(&entry, &mut state, request, &token, now);
        Some(snapshot(&state, token, request, Some(generation)))
    }

    /// Starts a background refresh if the cached token is past its
    /// refresh-ahead point and none is in flight or cooling down.
    pub fn refresh_ahead(self: &Arc<Self>, request: &Arc<TokenRequest>) {
        let Some(entry) = lock(&self.entries).get(&request.key).cloned() else {
            return;
        };
        let mut state = lock(&entry.state);
        let now = now_ms();
        if let Some(token) = state.token.clone() {
            if token.is_usable_at(now, request.policy.leeway_ms) {
                self.refresh_if_due(&entry, &mut state, request, &token, now);
            }
        }
    }

    /// A usable token: from the cache at once, else from the request in
    /// flight for this entry, else from a new request.
    pub async fn acquire(
        self: &Arc<Self>,
        request: Arc<TokenRequest>,
    ) -> Result<Acquired, TokenError> {
        let entry = self.entry_for(&request);
        let waiting = {
            let mut state = lock(&entry.state);
            let now = now_ms();
            if let Some(token) = state.token.clone() {
                if token.is_usable_at(now, request.policy.leeway_ms) {
                    self.refresh_if_due(&entry, &mut state, &request, &token, now);
                    let generation = self.generation_if_current(&request.key, &entry);
                    return Ok(Acquired {
                        snapshot: snapshot(&state, token, &request, generation),
                        from_cache: true,
                    });
                }
            }
            if now < state.rate_limited_until_ms && state.flight.is_none() {
                return Err(rate_limited_fast(state.rate_limited_until_ms - now));
            }
            let (tx, rx) = oneshot::channel();
            match &mut state.flight {
                Some(waiters) => waiters.push(tx),
                None => {
                    state.flight = Some(vec![tx]);
                    self.spawn_flight(entry.clone(), request.clone(), false);
                }
            }
            rx
        };
        let token = waiting.await.unwrap_or_else(|_| {
            Err(TokenError::new(
                ErrorCode::Network,
                "token request was abandoned",
            ))
        })?;
        let state = lock(&entry.state);
        let generation = self.generation_if_current(&request.key, &entry);
        Ok(Acquired {
            snapshot: snapshot(&state, token, &request, generation),
            from_cache: false,
        })
    }

    /// Drops the entry for `key`; true if there was one.
    pub fn invalidate(&self, key: &CacheKey) -> bool {
        let removed = lock(&self.entries).remove(key).is_some();
        if removed {
            self.changed();
        }
        removed
    }

    pub fn clear(&self) {
        lock(&self.entries).clear();
        self.changed();
    }

    /// The current generation if `entry` is still the one registered for
    /// `key` (read under the entry's lock, so its token cannot change meanwhile).
    fn generation_if_current(&self, key: &CacheKey, entry: &Arc<Entry>) -> Option<u32> {
        let generation = self.generation();
        let current = lock(&self.entries)
            .get(key)
            .is_some_and(|e| Arc::ptr_eq(e, entry));
        current.then_some(generation)
    }

    fn entry_for(&self, request: &TokenRequest) -> Arc<Entry> {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(&request.key) {
            return entry.clone();
        }
        if entries.len() >= self.max_entries {
            evict(&mut entries, self.max_entries - 1);
        }
        let entry = Arc::new(Entry {
            state: Mutex::new(EntryState::default()),
        });
        entries.insert(request.key, entry.clone());
        entry
    }

    fn refresh_if_due(
        self: &Arc<Self>,
        entry: &Arc<Entry>,
        state: &mut EntryState,
        request: &Arc<TokenRequest>,
        token: &Token,
        now: u64,
    ) {
        let due = now >= token.schedule(request.policy.leeway_ms).refresh_at_ms
            && now >= state.refresh_not_before_ms
            && now >= state.rate_limited_until_ms;
        if due && state.flight.is_none() {
            state.flight = Some(Vec::new());
            self.counters.refreshes.fetch_add(1, Ordering::Relaxed);
            self.spawn_flight(entry.clone(), request.clone(), true);
        }
    }

    fn spawn_flight(
        self: &Arc<Self>,
        entry: Arc<Entry>,
        request: Arc<TokenRequest>,
        background: bool,
    ) {
        let cache = self.clone();
        let fetch = self.fetcher.fetch(request.clone(), self.counters.clone());
        self.runtime.spawn(async move {
            let result = fetch.await.map(Arc::new);
            cache.land_flight(&entry, &request, result, background);
        });
    }

    /// Records a finished request and answers everyone who waited on it.
    fn land_flight(
        &self,
        entry: &Entry,
        request: &TokenRequest,
        result: Outcome,
        background: bool,
    ) {
        let now = now_ms();
        let waiters = {
            let mut state = lock(&entry.state);
            match &result {
                Ok(token) => {
                    state.token = Some(token.clone());
                    state.refresh_not_before_ms = 0;
                    state.rate_limited_until_ms = 0;
                }
                Err(error) => {
                    if let (ErrorCode::RateLimited, Some(secs)) = (error.code, error.retry_after) {
                        state.rate_limited_until_ms = now + secs * 1000;
                    }
                    if background {
                        state.refresh_not_before_ms =
                            now + refresh_cooldown_ms(state.token.as_deref(), request, now);
                    }
                }
            }
            if state.token.is_none() && now >= state.rate_limited_until_ms {
                // Nothing worth keeping: no token, no window to enforce.
                // Still under the entry's lock, so no new flight can start
                // on the entry being dropped.
                let mut entries = lock(&self.entries);
                if entries
                    .get(&request.key)
                    .is_some_and(|e| std::ptr::eq(Arc::as_ptr(e), entry))
                {
                    entries.remove(&request.key);
                }
            }
            state.flight.take().unwrap_or_default()
        };
        self.changed();
        for waiter in waiters {
            // A waiter that went away (its thread ended) needs no answer.
            let _ = waiter.send(result.clone());
        }
    }

    fn changed(&self) {
        let generation = self
            .generation
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1);
        if let Some(listener) = &*self.on_change.read().unwrap_or_else(|e| e.into_inner()) {
            listener(generation);
        }
    }
}

fn snapshot(
    state: &EntryState,
    token: Arc<Token>,
    request: &TokenRequest,
    generation: Option<u32>,
) -> Snapshot {
    let schedule = token.schedule(request.policy.leeway_ms);
    let refresh_at_ms = if state.flight.is_some() {
        u64::MAX
    } else {
        schedule
            .refresh_at_ms
            .max(state.refresh_not_before_ms)
            .max(state.rate_limited_until_ms)
    };
    Snapshot {
        token,
        usable_until_ms: schedule.usable_until_ms,
        refresh_at_ms,
        generation,
    }
}

/// A tenth of what remains usable, within [1 s, 30 s]: retries soon enough
/// to get a new token before the old one runs out, never in a tight loop.
fn refresh_cooldown_ms(token: Option<&Token>, request: &TokenRequest, now: u64) -> u64 {
    let remaining = token
        .map(|t| {
            t.schedule(request.policy.leeway_ms)
                .usable_until_ms
                .saturating_sub(now)
        })
        .unwrap_or(0);
    (remaining / 10).clamp(MIN_REFRESH_COOLDOWN_MS, MAX_REFRESH_COOLDOWN_MS)
}

fn rate_limited_fast(remaining_ms: u64) -> TokenError {
    let secs = remaining_ms.div_ceil(1000);
    let mut error = TokenError::new(
        ErrorCode::RateLimited,
        format!("token endpoint asked us to wait; not retrying for another {secs} s"),
    )
    .with_status(429);
    error.retry_after = Some(secs);
    error
}

/// Makes room: idle entries without a usable token go first, then any idle ones.
fn evict(entries: &mut HashMap<CacheKey, Arc<Entry>>, target: usize) {
    let now = now_ms();
    // try_lock: callers may hold an entry's lock while they look at the map,
    // so waiting here could deadlock; a busy entry is not idle anyway.
    let idle = |entry: &Arc<Entry>, want_expired: bool| {
        let Ok(state) = entry.state.try_lock() else {
            return false;
        };
        state.flight.is_none()
            && (!want_expired || state.token.as_ref().is_none_or(|t| t.expires_at_ms <= now))
    };
    for want_expired in [true, false] {
        let victims: Vec<CacheKey> = entries
            .iter()
            .filter(|(_, e)| idle(e, want_expired))
            .map(|(k, _)| *k)
            .take(entries.len().saturating_sub(target))
            .collect();
        for key in victims {
            entries.remove(&key);
        }
        if entries.len() <= target {
            return;
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;

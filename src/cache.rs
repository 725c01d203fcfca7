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
//! generation number, and each invalidation (eviction included) bumps an
//! invalidation epoch; both go to the `on_change` listener, so that faster
//! per-thread views of the cache (see the binding) know to read it again,
//! and waits that began before an invalidation are not joined after it.
//!
//! Rate-limit windows are kept per key beside the entries (`rate_limit.rs`),
//! so that dropping an entry never reopens a window: inside one, a caller
//! that needs a new token is refused at once and nothing is sent.
//!
//! Time is read from the cache's `Clock`, so tests can drive it.
//!
//! Lock order, for the whole module: the `entries` map first, then one
//! entry's `state`, then the windows' table (a leaf). Code holding an
//! entry's state never takes the map (it asks the entry's `detached` flag
//! instead of looking itself up), and no
//! lock is held while calling out: flights are spawned, the listener told
//! and waiters answered only after every lock is released. Another
//! process's invalidation (`drop_if`, on a runtime thread) may therefore
//! run at any moment against callers starting flights on any thread.

use crate::clock::{Clock, SystemClock};
use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{FetchContext, FetchReason, Fetched, Fetcher, TokenSource};
use crate::key::CacheKey;
use crate::options::TokenRequest;
use crate::rate_limit::{refusal, Windows};
use crate::rate_window::Window;
use crate::secret::Secret;
use crate::token::Token;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Instant;
use tokio::sync::oneshot;

pub use crate::fetcher::Counters;

pub const DEFAULT_MAX_ENTRIES: usize = crate::bounded::MAX_ENTRIES;
/// After a failed background refresh, wait at least this long before the next one.
const MIN_REFRESH_COOLDOWN_MS: u64 = 1_000;
const MAX_REFRESH_COOLDOWN_MS: u64 = 30_000;

pub type Outcome = Result<Arc<Token>, TokenError>;

/// How one flight (one fetch through the fetcher) ended.
#[derive(Debug, Clone)]
pub struct FlightReport {
    pub outcome: Outcome,
    pub source: TokenSource,
    /// HTTP attempts this flight made (0 when the store answered).
    pub attempts: u32,
    pub duration_ms: f64,
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

/// What a caller gets at once: a token, or a place in a flight.
pub enum Begin {
    Ready(Result<Acquired, TokenError>),
    Wait(Waiting),
}

/// A caller's place in an entry's flight.
pub struct Waiting {
    entry: Arc<Entry>,
    answer: oneshot::Receiver<FlightReport>,
    /// True when this caller's call started the flight.
    pub started: bool,
}

struct Entry {
    state: Mutex<EntryState>,
    /// Set (before the generation is bumped) once the entry has left the
    /// map: its token may no longer be handed out as current, and no new
    /// flight starts on it.
    detached: AtomicBool,
}

impl Entry {
    fn new() -> Arc<Entry> {
        Arc::new(Entry {
            state: Mutex::new(EntryState::default()),
            detached: AtomicBool::new(false),
        })
    }

    fn is_detached(&self) -> bool {
        self.detached.load(Ordering::SeqCst)
    }
}

/// A flight decided under an entry's lock, started once the lock is released.
struct FlightToStart {
    entry: Arc<Entry>,
    reason: FetchReason,
    current: Option<Arc<Token>>,
}

#[derive(Default)]
struct EntryState {
    token: Option<Arc<Token>>,
    /// Callers waiting on the request in flight; `Some` while one is.
    flight: Option<Vec<oneshot::Sender<FlightReport>>>,
    /// No background refresh before this instant (after one failed).
    refresh_not_before_ms: u64,
}

/// What the listener is told on every change.
#[derive(Clone, Copy, Debug)]
pub struct Change {
    pub generation: u32,
    pub invalidations: u32,
}

type ChangeListener = Box<dyn Fn(Change) + Send + Sync>;

pub struct TokenCache {
    entries: Mutex<HashMap<CacheKey, Arc<Entry>>>,
    fetcher: Arc<dyn Fetcher>,
    runtime: tokio::runtime::Handle,
    counters: Arc<Counters>,
    generation: AtomicU32,
    invalidations: AtomicU32,
    on_change: RwLock<Option<ChangeListener>>,
    max_entries: usize,
    windows: Windows,
    clock: Arc<dyn Clock>,
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
        Self::with_clock(fetcher, runtime, max_entries, Arc::new(SystemClock))
    }

    pub fn with_clock(
        fetcher: Arc<dyn Fetcher>,
        runtime: tokio::runtime::Handle,
        max_entries: usize,
        clock: Arc<dyn Clock>,
    ) -> Arc<TokenCache> {
        Arc::new(TokenCache {
            entries: Mutex::new(HashMap::new()),
            fetcher,
            runtime,
            counters: Arc::new(Counters::default()),
            generation: AtomicU32::new(1),
            invalidations: AtomicU32::new(1),
            on_change: RwLock::new(None),
            max_entries: max_entries.max(1),
            windows: Windows::new(max_entries.max(1)),
            clock,
        })
    }

    pub fn set_change_listener(&self, listener: ChangeListener) {
        *self.on_change.write().unwrap_or_else(|e| e.into_inner()) = Some(listener);
    }

    pub fn generation(&self) -> u32 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn invalidations(&self) -> u32 {
        self.invalidations.load(Ordering::Acquire)
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }

    pub fn len(&self) -> usize {
        lock(&self.entries).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cached token if it is usable now, without waiting. A refresh
    /// that is due is the caller's to start (`refresh_ahead`), so that the
    /// thread that starts it can report it.
    pub fn peek(self: &Arc<Self>, request: &Arc<TokenRequest>) -> Option<Snapshot> {
        // Read the generation before the state: a change racing with this
        // read then leaves the snapshot looking stale, never the reverse.
        let generation = self.generation();
        let entry = lock(&self.entries).get(&request.key).cloned()?;
        let state = lock(&entry.state);
        let now = self.now_ms();
        let token = state
            .token
            .clone()
            .filter(|t| t.is_usable_at(now, request.policy.leeway_ms))?;
        let window = self.windows.open_at(&request.key, now);
        Some(snapshot(&state, token, request, Some(generation), window))
    }

    /// Starts a background refresh if the cached token is past its
    /// refresh-ahead point and none is in flight or cooling down. With
    /// `want_report`, the returned receiver hears how the refresh ended.
    pub fn refresh_ahead(
        self: &Arc<Self>,
        request: &Arc<TokenRequest>,
        want_report: bool,
    ) -> Option<oneshot::Receiver<FlightReport>> {
        let entry = lock(&self.entries).get(&request.key).cloned()?;
        let mut state = lock(&entry.state);
        let now = self.now_ms();
        let token = state
            .token
            .clone()
            .filter(|t| t.is_usable_at(now, request.policy.leeway_ms))?;
        let window = self.windows.open_at(&request.key, now);
        let flight = self.refresh_if_due(&entry, &mut state, request, &token, now, window)?;
        let report = want_report.then(|| {
            let (tx, rx) = oneshot::channel();
            state.flight.get_or_insert_with(Vec::new).push(tx);
            rx
        });
        drop(state);
        self.launch(request, flight);
        report
    }

    /// A usable token: from the cache at once, else from the request in
    /// flight for this entry, else from a new request.
    pub async fn acquire(
        self: &Arc<Self>,
        request: Arc<TokenRequest>,
    ) -> Result<Acquired, TokenError> {
        match self.begin(&request) {
            Begin::Ready(result) => result,
            Begin::Wait(waiting) => self.finish(&request, waiting).await,
        }
    }

    /// The synchronous half of `acquire`: answers from the cache, or joins
    /// (or starts) the entry's flight. Whatever happened before this call
    /// returned (an invalidation included) is seen by it.
    pub fn begin(self: &Arc<Self>, request: &Arc<TokenRequest>) -> Begin {
        loop {
            let (entry, evicted) = self.entry_for(request);
            if evicted {
                self.invalidated();
            }
            let mut state = lock(&entry.state);
            if entry.is_detached() {
                // Dropped between the lookup and the lock (an invalidation,
                // or a failure that kept nothing): use its successor.
                continue;
            }
            let now = self.now_ms();
            if let Some(token) = state.token.clone() {
                if token.is_usable_at(now, request.policy.leeway_ms) {
                    let window = self.windows.open_at(&request.key, now);
                    let refresh =
                        self.refresh_if_due(&entry, &mut state, request, &token, now, window);
                    let generation = self.generation_if_current(&entry);
                    let snapshot = snapshot(&state, token, request, generation, window);
                    drop(state);
                    if let Some(flight) = refresh {
                        self.launch(request, flight);
                    }
                    return Begin::Ready(Ok(Acquired {
                        snapshot,
                        from_cache: true,
                    }));
                }
            }
            if state.flight.is_none() {
                if let Some(window) = self.windows.open_at(&request.key, now) {
                    // Inside the window nothing is sent: the caller hears
                    // at once how long it has to wait.
                    return Begin::Ready(Err(refusal(window, now)));
                }
            }
            let (tx, rx) = oneshot::channel();
            let started = match &mut state.flight {
                Some(waiters) => {
                    waiters.push(tx);
                    None
                }
                None => {
                    state.flight = Some(vec![tx]);
                    Some(FlightToStart {
                        entry: entry.clone(),
                        reason: FetchReason::Miss,
                        current: state.token.clone(),
                    })
                }
            };
            drop(state);
            let waiting = Waiting {
                entry,
                answer: rx,
                started: started.is_some(),
            };
            if let Some(flight) = started {
                self.launch(request, flight);
            }
            return Begin::Wait(waiting);
        }
    }

    /// The waiting half of `acquire`: the flight's token, judged by this
    /// caller's own leeway.
    pub async fn finish(
        &self,
        request: &TokenRequest,
        waiting: Waiting,
    ) -> Result<Acquired, TokenError> {
        self.finish_reported(request, waiting).await.0
    }

    /// As `finish`, with the flight's report when this caller started it.
    pub async fn finish_reported(
        &self,
        request: &TokenRequest,
        waiting: Waiting,
    ) -> (Result<Acquired, TokenError>, Option<FlightReport>) {
        let Waiting {
            entry,
            answer,
            started,
        } = waiting;
        let Ok(report) = answer.await else {
            let abandoned = TokenError::new(ErrorCode::Network, "token request was abandoned");
            return (Err(abandoned), None);
        };
        let result = report.outcome.clone().and_then(|token| {
            if !token.is_usable_at(self.now_ms(), request.policy.leeway_ms) {
                return Err(within_leeway(&token, request));
            }
            let state = lock(&entry.state);
            let generation = self.generation_if_current(&entry);
            let window = self.windows.open_at(&request.key, self.now_ms());
            Ok(Acquired {
                snapshot: snapshot(&state, token, request, generation, window),
                // A token read from a shared store cost no token request.
                from_cache: report.source == TokenSource::Store,
            })
        });
        (result, started.then_some(report))
    }

    /// Drops the entry for `request` process-wide (and in its store); true
    /// if this process had one.
    pub fn invalidate(&self, request: &Arc<TokenRequest>) -> bool {
        let removed = detach(&mut lock(&self.entries), &request.key);
        let dropped = removed
            .as_ref()
            .and_then(|entry| lock(&entry.state).token.clone());
        self.invalidated();
        self.fetcher.invalidated(request, dropped);
        removed.is_some()
    }

    /// Compare and drop: drops the entry for `request` only while it still
    /// holds `access_token` (one a server just refused, say with a 401), so
    /// that a newer token another caller already got is kept; true if it
    /// was dropped. When this process holds no token for the entry, the
    /// store is still told to drop that token if it holds it, so that no
    /// process takes the refused token from the store again.
    pub fn invalidate_token(&self, request: &Arc<TokenRequest>, access_token: &str) -> bool {
        let tell_store = || {
            let refused = Token::new(
                Secret::new(access_token.to_owned()),
                String::new(),
                None,
                0,
                0,
            );
            self.fetcher.invalidated(request, Some(Arc::new(refused)));
        };
        let held = {
            // Map, then entry (the module's lock order): the token cannot
            // change between the comparison and the removal.
            let mut entries = lock(&self.entries);
            let held = entries
                .get(&request.key)
                .and_then(|entry| lock(&entry.state).token.clone());
            match held {
                Some(token) if token.access_token.expose() == access_token => {
                    detach(&mut entries, &request.key);
                    Some(token)
                }
                Some(_) => return false,
                None => None,
            }
        };
        let Some(token) = held else {
            tell_store();
            return false;
        };
        self.invalidated();
        self.fetcher.invalidated(request, Some(token));
        true
    }

    /// Drops the entry for `key` if it holds a token that `is_stale` says
    /// was invalidated elsewhere (another process sharing a store).
    pub fn drop_if(&self, key: &CacheKey, is_stale: &dyn Fn(&Token) -> bool) -> bool {
        let stale = {
            let mut entries = lock(&self.entries);
            // Map, then entry: the module's one lock order.
            let stale = entries
                .get(key)
                .is_some_and(|entry| lock(&entry.state).token.as_deref().is_some_and(is_stale));
            stale && detach(&mut entries, key).is_some()
        };
        if stale {
            self.invalidated();
        }
        stale
    }

    pub fn clear(&self) {
        for (_, entry) in lock(&self.entries).drain() {
            entry.detached.store(true, Ordering::SeqCst);
        }
        self.invalidated();
    }

    /// The current generation if `entry` is still the one registered for
    /// its key. Needs no map lock: detaching happens before the generation
    /// moves on, so a generation read first is stale if the entry left.
    fn generation_if_current(&self, entry: &Entry) -> Option<u32> {
        let generation = self.generation();
        (!entry.is_detached()).then_some(generation)
    }

    /// The entry for `request`, made if need be; true when making room
    /// evicted others.
    fn entry_for(&self, request: &TokenRequest) -> (Arc<Entry>, bool) {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(&request.key) {
            return (entry.clone(), false);
        }
        let evicted = entries.len() >= self.max_entries;
        if evicted {
            evict(&mut entries, self.max_entries - 1, self.now_ms());
        }
        let entry = Entry::new();
        entries.insert(request.key, entry.clone());
        (entry, evicted)
    }

    /// Claims the entry's flight for a refresh if one is due; the caller
    /// launches it once the entry's lock is released.
    fn refresh_if_due(
        &self,
        entry: &Arc<Entry>,
        state: &mut EntryState,
        request: &TokenRequest,
        token: &Arc<Token>,
        now: u64,
        window: Option<Window>,
    ) -> Option<FlightToStart> {
        // No refresh inside a rate-limit window: it would only be refused.
        let due = now >= token.schedule(request.policy.leeway_ms).refresh_at_ms
            && now >= state.refresh_not_before_ms
            && window.is_none();
        if !due || state.flight.is_some() {
            return None;
        }
        state.flight = Some(Vec::new());
        self.counters.refreshes.fetch_add(1, Ordering::Relaxed);
        Some(FlightToStart {
            entry: entry.clone(),
            reason: FetchReason::Refresh,
            current: Some(token.clone()),
        })
    }

    /// Runs a claimed flight on the runtime. Called with no lock held.
    fn launch(self: &Arc<Self>, request: &Arc<TokenRequest>, flight: FlightToStart) {
        let FlightToStart {
            entry,
            reason,
            current,
        } = flight;
        let cache = self.clone();
        let request = request.clone();
        let attempts = Arc::new(AtomicU32::new(0));
        let context = FetchContext {
            reason,
            current,
            attempts: attempts.clone(),
            window: self.windows.last(&request.key),
        };
        let fetch = self
            .fetcher
            .fetch(request.clone(), self.counters.clone(), context);
        self.runtime.spawn(async move {
            let started = Instant::now();
            let result = fetch.await;
            let (outcome, source) = match result {
                Ok(Fetched { token, source }) => (Ok(Arc::new(token)), source),
                Err(error) => (Err(error), TokenSource::Endpoint),
            };
            let report = FlightReport {
                outcome,
                source,
                attempts: attempts.load(Ordering::Relaxed),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            };
            cache.land_flight(&entry, &request, report, reason == FetchReason::Refresh);
        });
    }

    /// Records a finished request and answers everyone who waited on it.
    fn land_flight(
        &self,
        entry: &Arc<Entry>,
        request: &TokenRequest,
        report: FlightReport,
        background: bool,
    ) {
        let now = self.now_ms();
        // Windows first, before any entry lock (it is a leaf): a caller that
        // sees the flight gone sees the window it left.
        match &report.outcome {
            Ok(token) => match Window::after_token(token.obtained_at_ms, token.quota.as_ref()) {
                Some(window) => self.windows.record(request.key, window),
                None => self.windows.clear(&request.key),
            },
            Err(error) => {
                if let Some(window) = error.window() {
                    self.windows.record(request.key, window);
                }
            }
        }
        let (waiters, worth_keeping, report) = {
            let mut state = lock(&entry.state);
            let report = match &report.outcome {
                Ok(token) if !is_better(token, state.token.as_deref()) => {
                    // Never worse (guarantee 4): the held token stays, and
                    // this counts as a failed refresh, so that a server
                    // that keeps answering worse tokens is not asked on
                    // every hit. Waiters get the held token, judged by
                    // their own leeway: the answer is no better for them.
                    state.refresh_not_before_ms =
                        now + refresh_cooldown_ms(state.token.as_deref(), request, now);
                    FlightReport {
                        outcome: Ok(state.token.clone().unwrap_or_else(|| token.clone())),
                        ..report
                    }
                }
                Ok(token) => {
                    state.token = Some(token.clone());
                    state.refresh_not_before_ms = 0;
                    report
                }
                Err(_) => {
                    if background {
                        state.refresh_not_before_ms =
                            now + refresh_cooldown_ms(state.token.as_deref(), request, now);
                    }
                    report
                }
            };
            let waiters = state.flight.take().unwrap_or_default();
            (waiters, worth_keeping(&state), report)
        };
        if !worth_keeping {
            self.drop_if_worthless(&request.key, entry);
        }
        self.changed(false);
        for waiter in waiters {
            // A waiter that went away (its thread ended) needs no answer.
            let _ = waiter.send(report.clone());
        }
    }

    /// Forgets an entry with no token, unless a caller started a new
    /// flight on it since its lock was released.
    fn drop_if_worthless(&self, key: &CacheKey, entry: &Arc<Entry>) {
        let mut entries = lock(&self.entries);
        let still_worthless = entries.get(key).is_some_and(|e| {
            Arc::ptr_eq(e, entry) && {
                let state = lock(&e.state);
                state.flight.is_none() && !worth_keeping(&state)
            }
        });
        if still_worthless {
            detach(&mut entries, key);
        }
    }

    fn invalidated(&self) {
        self.changed(true);
    }

    fn changed(&self, invalidation: bool) {
        let invalidations = if invalidation {
            self.invalidations
                .fetch_add(1, Ordering::AcqRel)
                .wrapping_add(1)
        } else {
            self.invalidations()
        };
        let generation = self
            .generation
            .fetch_add(1, Ordering::AcqRel)
            .wrapping_add(1);
        if let Some(listener) = &*self.on_change.read().unwrap_or_else(|e| e.into_inner()) {
            listener(Change {
                generation,
                invalidations,
            });
        }
    }
}

/// Removes `key`'s entry from the map and marks it detached.
fn detach(entries: &mut HashMap<CacheKey, Arc<Entry>>, key: &CacheKey) -> Option<Arc<Entry>> {
    let entry = entries.remove(key)?;
    entry.detached.store(true, Ordering::SeqCst);
    Some(entry)
}

/// Whether `answer` may replace `held`: only by expiring later. An entry
/// that was invalidated holds nothing, so any new token wins there.
fn is_better(answer: &Token, held: Option<&Token>) -> bool {
    held.is_none_or(|held| answer.expires_at_ms > held.expires_at_ms)
}

/// Whether an entry holds anything (its window, if any, is kept apart).
fn worth_keeping(state: &EntryState) -> bool {
    state.token.is_some()
}

fn snapshot(
    state: &EntryState,
    token: Arc<Token>,
    request: &TokenRequest,
    generation: Option<u32>,
    window: Option<Window>,
) -> Snapshot {
    let schedule = token.schedule(request.policy.leeway_ms);
    let refresh_at_ms = if state.flight.is_some() {
        u64::MAX
    } else {
        schedule
            .refresh_at_ms
            .max(state.refresh_not_before_ms)
            .max(window.map_or(0, |w| w.until_ms))
    };
    Snapshot {
        token,
        usable_until_ms: schedule.usable_until_ms,
        refresh_at_ms,
        generation,
    }
}

fn within_leeway(token: &Token, request: &TokenRequest) -> TokenError {
    let lifetime_s = token.expires_at_ms.saturating_sub(token.obtained_at_ms) / 1000;
    TokenError::invalid_response(format!(
        "token expires in {} s, within leewaySeconds ({} s): it could never be used",
        lifetime_s,
        request.policy.leeway_ms / 1000
    ))
    .with_status(200)
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

/// Makes room, least useful first: idle entries without a usable token,
/// then idle ones, then (the bound holds whatever happens) entries with a
/// request in flight, whose waiting callers still get that request's
/// answer; it just is not kept.
fn evict(entries: &mut HashMap<CacheKey, Arc<Entry>>, target: usize, now: u64) {
    // try_lock: an entry busy right now is not idle anyway.
    let idle = |entry: &Arc<Entry>, want_expired: bool| {
        let Ok(state) = entry.state.try_lock() else {
            return false;
        };
        state.flight.is_none()
            && (!want_expired || state.token.as_ref().is_none_or(|t| t.expires_at_ms <= now))
    };
    // Passes: idle and expired, idle, any.
    for (want_idle, want_expired) in [(true, true), (true, false), (false, false)] {
        let victims: Vec<CacheKey> = entries
            .iter()
            .filter(|(_, e)| !want_idle || idle(e, want_expired))
            .map(|(k, _)| *k)
            .take(entries.len().saturating_sub(target))
            .collect();
        for key in victims {
            detach(entries, &key);
        }
        if entries.len() <= target {
            return;
        }
    }
}

#[cfg(test)]
#[path = "cache_lock_order_tests.rs"]
mod lock_order_tests;
#[cfg(test)]
#[path = "cache_model_reference.rs"]
mod model;
#[cfg(test)]
#[path = "cache_model_tests.rs"]
mod model_tests;
#[cfg(test)]
#[path = "cache_never_worse_tests.rs"]
mod never_worse_tests;
#[cfg(test)]
#[path = "cache_rate_limit_tests.rs"]
mod rate_limit_tests;
#[cfg(test)]
#[path = "cache_test_support.rs"]
mod test_support;
#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;

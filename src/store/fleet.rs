//! The fleet protocol, written once for every kind of store: at most one
//! token request per entry in flight across all the processes sharing a
//! store, one refresh ahead per fleet, and invalidation that reaches them
//! all.
//!
//! A flight (one per entry per process: the cache's single flight calls
//! this) reads the record and takes a usable token from it. Else it tries
//! the entry's lock; the holder re-reads (someone may just have written),
//! fetches from the endpoint, writes the sealed record, releases the lock
//! and wakes the others. A process that did not get the lock waits for that
//! wake-up, subscribed before it re-checks so none is lost, re-checking now
//! and then to take the lock over from a holder that died (a file lock dies
//! with its process; a Redis lock expires unless its live holder renews it).
//!
//! A holder whose request fails writes the failure, sealed, beside the
//! record (`failure.rs`) before it releases the lock and wakes the others:
//! a process that waited on that request receives its error instead of
//! sending a request of its own, and a rate-limit window in it closes the
//! entry for the whole fleet until it ends (no request is sent inside one).
//!
//! Any store failure, and any wait past a bound, ends in a request of our
//! own: the store may save requests, never cost a caller its token.

use super::backend::{HeldLock, Slot};
use super::events::{Message, Watched};
use super::failure::Failure;
use super::handle::{Budget, StoreHandle};
use super::seal::EntrySeal;
use super::tombstones;
use super::RemoteInvalidation;
use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{Counters, FetchContext, FetchReason, Fetched, Fetcher, TokenSource};
use crate::options::{Policy, TokenRequest};
use crate::rate_limit::{refusal, WAIT_BUDGET_PER_CALL};
use crate::rate_window::Window;
use crate::token::{now_ms, Token};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A dead holder's Redis lock is taken over at most this long after its
/// last renewal (and sooner with short timeouts: see `lock_ttl`).
const MAX_LOCK_TTL: Duration = Duration::from_secs(10);
/// A failure record outlives its window by this much, so that the next 429
/// still counts as one more in a row (the longest back-off is 60 s).
const FAILURE_KEPT_AFTER_WINDOW: Duration = Duration::from_secs(60);

/// How long a dead holder keeps its lock: short enough that another process
/// takes over within `timeoutMs` × (`retries` + 1) plus a second, long
/// enough that a live holder renewing it every third of it never loses it.
fn lock_ttl(policy: &Policy) -> Duration {
    (request_time(policy) + Duration::from_millis(500)).min(MAX_LOCK_TTL)
}

/// `timeoutMs` × (`retries` + 1): the longest a request's attempts take.
fn request_time(policy: &Policy) -> Duration {
    policy.timeout * (policy.retries + 1)
}

/// How long to wait on another process's request before sending our own:
/// its attempts, its waits between them, and a second.
fn wait_bound(policy: &Policy) -> Duration {
    request_time(policy) + WAIT_BUDGET_PER_CALL + Duration::from_secs(1)
}

/// One flight of one entry through a shared store.
pub struct Flight {
    store: Arc<StoreHandle>,
    endpoint: Arc<dyn Fetcher>,
    request: Arc<TokenRequest>,
    counters: Arc<Counters>,
    reason: FetchReason,
    current: Option<Arc<Token>>,
    attempts: Arc<AtomicU32>,
    seal: Arc<EntrySeal>,
    watched: Arc<Watched>,
    budget: Budget,
    /// A bad record is counted once per flight, however often it is re-read.
    bad_record_counted: bool,
    /// The entry's rate-limit window as this flight knows it (the cache's,
    /// or the fleet's if the store's is later): for the back-off.
    window: Option<Window>,
    /// The failure record found on the first look, sealed: a failure with
    /// another id arrived while this flight waited.
    failure_at_start: Option<(String, Vec<u8>)>,
    /// The expiry of the live record this flight last read (0 if none): a
    /// token that expires no later is never written over it.
    stored_expiry_ms: u64,
}

impl Flight {
    pub fn new(
        store: Arc<StoreHandle>,
        endpoint: Arc<dyn Fetcher>,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
        on_remote_invalidation: &RemoteInvalidation,
    ) -> Flight {
        let seal = EntrySeal::of(&request);
        let watched = store.hub.watch(&seal, request.key, on_remote_invalidation);
        Flight {
            store,
            endpoint,
            request,
            counters,
            reason: context.reason,
            current: context.current,
            attempts: context.attempts,
            seal,
            watched,
            budget: Budget::new(),
            bad_record_counted: false,
            window: context.window,
            failure_at_start: None,
            stored_expiry_ms: 0,
        }
    }

    pub async fn run(mut self) -> Result<Fetched, TokenError> {
        if self.store.is_down() {
            return self.fetch_alone().await;
        }
        let give_up_at = Instant::now() + wait_bound(&self.request.policy);
        let watched = self.watched.clone();
        let mut first_look = true;
        #[cfg(test)]
        let mut waiting = false;
        loop {
            // Subscribed before the re-check: a wake-up in between is kept.
            let woken = watched.woken();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.read_wanted().await {
                Err(()) => return self.fetch_alone().await,
                Ok(Some(token)) => return Ok(self.adopt(token)),
                Ok(None) => {}
            }
            match self.read_failure(first_look).await {
                Err(()) => return self.fetch_alone().await,
                Ok(Some(error)) => return Err(error),
                Ok(None) => {}
            }
            // A holder that failed but could not write its failure record
            // released the lock all the same: the next process to take it
            // sends one request, still one at a time for the fleet.
            first_look = false;
            let ttl = lock_ttl(&self.request.policy);
            let backend = self.store.backend.clone();
            let name = self.seal.name().to_string();
            let lock = self
                .store
                .run(
                    &mut self.budget,
                    Some(&self.counters),
                    backend.try_lock(&name, ttl),
                )
                .await;
            match lock {
                Err(_) => return self.fetch_alone().await,
                Ok(Some(lock)) => return self.holding_the_lock(lock).await,
                Ok(None) => {}
            }
            #[cfg(test)]
            if !std::mem::replace(&mut waiting, true) {
                watched.began_waiting();
            }
            let now = Instant::now();
            if now >= give_up_at {
                return self.without_the_fleet().await;
            }
            let recheck = self
                .store
                .backend
                .recheck_interval(self.store.hub.is_live());
            let _ = tokio::time::timeout(recheck.min(give_up_at - now), woken).await;
        }
    }

    /// What the entry's failure record says to this flight: a refusal while
    /// its window is open; the failure itself if it arrived after
    /// `first_look` (the request this flight waited on failed); else
    /// nothing. `Err` when the store failed.
    async fn read_failure(&mut self, first_look: bool) -> Result<Option<TokenError>, ()> {
        let Some(sealed) = self.read_slot(Slot::Failure).await? else {
            return Ok(None);
        };
        let Ok(failure) = self.seal.open_failure(&sealed) else {
            self.count_bad_record();
            return Ok(None);
        };
        if let Some(window) = failure.window {
            if self
                .window
                .is_none_or(|known| window.until_ms >= known.until_ms)
            {
                self.window = Some(window);
            }
            let now = now_ms();
            if window.is_open_at(now) {
                return Ok(Some(refusal(window, now)));
            }
        }
        if first_look {
            self.failure_at_start = Some((failure.id, sealed));
            return Ok(None);
        }
        let seen_before = self
            .failure_at_start
            .as_ref()
            .is_some_and(|(id, _)| *id == failure.id);
        Ok(if seen_before { None } else { failure.error() })
    }

    /// The record's token if it is one this flight wants; `Err` when the
    /// store failed.
    async fn read_wanted(&mut self) -> Result<Option<Token>, ()> {
        self.stored_expiry_ms = 0;
        let Some(sealed) = self.read_slot(Slot::Token).await? else {
            return Ok(None);
        };
        match self.seal.open(&sealed) {
            Ok(token) => {
                if !tombstones::is_buried(&self.seal, &token) {
                    self.stored_expiry_ms = token.expires_at_ms;
                }
                Ok(self.wants(&token).then_some(token))
            }
            Err(_) => {
                // Ignored and replaced by our own fetch; counted, never handed out.
                self.count_bad_record();
                Ok(None)
            }
        }
    }

    /// The entry's sealed record in `slot`, if any; `Err` when the store failed.
    async fn read_slot(&mut self, slot: Slot) -> Result<Option<Vec<u8>>, ()> {
        let backend = self.store.backend.clone();
        let read = backend.read(self.seal.name(), slot);
        self.store
            .run(&mut self.budget, Some(&self.counters), read)
            .await
            .map_err(|_| ())
    }

    /// A record that does not open is counted once per flight, however
    /// often it is re-read.
    fn count_bad_record(&mut self) {
        if !self.bad_record_counted {
            self.bad_record_counted = true;
            Counters::count(&self.counters.store_errors);
        }
    }

    /// Usable for this caller and, for a refresh, newer than the token held.
    fn wants(&self, token: &Token) -> bool {
        if !token.is_usable_at(now_ms(), self.request.policy.leeway_ms)
            || tombstones::is_buried(&self.seal, token)
        {
            return false;
        }
        match (&self.reason, &self.current) {
            (FetchReason::Refresh, Some(current)) => {
                token.access_token != current.access_token
                    && token.expires_at_ms > current.expires_at_ms
            }
            _ => true,
        }
    }

    fn adopt(&self, token: Token) -> Fetched {
        Counters::count(&self.counters.store_hits);
        Fetched {
            token,
            source: TokenSource::Store,
        }
    }

    /// This process holds the entry's lock: fetch, write, release, wake.
    async fn holding_the_lock(mut self, lock: Box<dyn HeldLock>) -> Result<Fetched, TokenError> {
        match self.read_wanted().await {
            Ok(Some(token)) => {
                self.release(lock).await;
                return Ok(self.adopt(token));
            }
            Err(()) => {
                drop(lock);
                return self.fetch_alone().await;
            }
            Ok(None) => {}
        }
        // The holder before us may have failed, or opened a window, while
        // this flight waited for the lock.
        match self.read_failure(false).await {
            Ok(Some(error)) => {
                self.release(lock).await;
                return Err(error);
            }
            Err(()) => {
                drop(lock);
                return self.fetch_alone().await;
            }
            Ok(None) => {}
        }
        let fetched = self.fetch_holding(&*lock).await;
        let mut failed = fetched.is_err();
        match &fetched {
            Ok(fetched) if fetched.token.expires_at_ms <= self.stored_expiry_ms => {
                // Never worse: the better record stays. Processes waiting
                // on this request hear that it brought nothing better, as
                // they would hear of a failure, instead of each sending
                // its own; this process's cache keeps what it holds.
                failed = true;
                let worse = worse_answer();
                self.write_failure(Failure::new(Some(&worse), None)).await
            }
            Ok(fetched) => {
                self.write(&fetched.token).await;
                self.after_token(&fetched.token).await;
            }
            Err(error) => {
                self.write_failure(Failure::new(Some(error), error.window()))
                    .await
            }
        }
        self.release(lock).await;
        if failed {
            self.publish(Message::Failed).await;
        } else if self.store.backend.announces_writes() {
            self.publish(Message::Written).await;
        }
        fetched
    }

    /// A token arrived: the fleet's 429s in a row are over, unless its
    /// quota bucket is empty, which closes the entry until the bucket resets.
    async fn after_token(&mut self, token: &Token) {
        if let Some(window) = Window::after_token(token.obtained_at_ms, token.quota.as_ref()) {
            return self.write_failure(Failure::new(None, Some(window))).await;
        }
        let Some((_, sealed)) = self.failure_at_start.take() else {
            return;
        };
        let backend = self.store.backend.clone();
        let delete = backend.delete_if_equals(self.seal.name(), Slot::Failure, sealed);
        let _ = self
            .store
            .run(&mut self.budget, Some(&self.counters), delete)
            .await;
    }

    async fn write_failure(&mut self, failure: Failure) {
        let window_left = failure.window.map_or(0, |w| w.remaining_ms(now_ms()));
        let ttl = Duration::from_millis(window_left) + FAILURE_KEPT_AFTER_WINDOW;
        let sealed = self.seal.seal_failure(&failure);
        let backend = self.store.backend.clone();
        let write = backend.write(self.seal.name(), Slot::Failure, sealed, ttl);
        let _ = self
            .store
            .run(&mut self.budget, Some(&self.counters), write)
            .await;
    }

    /// The endpoint's answer, renewing the lock meanwhile so that a request
    /// that legitimately takes long (retries, `Retry-After`) keeps it.
    async fn fetch_holding(&self, lock: &dyn HeldLock) -> Result<Fetched, TokenError> {
        let fetch =
            self.endpoint
                .fetch(self.request.clone(), self.counters.clone(), self.context());
        if !lock.needs_renewal() {
            return fetch.await;
        }
        let ttl = lock_ttl(&self.request.policy);
        let renew = async {
            loop {
                tokio::time::sleep(ttl / 3).await;
                // A lost or failed renewal changes nothing for this request:
                // at worst another process sends one too.
                let _ = tokio::time::timeout(ttl / 3, lock.renew(ttl)).await;
            }
        };
        tokio::select! {
            fetched = fetch => fetched,
            never = renew => never,
        }
    }

    async fn write(&mut self, token: &Token) {
        let lifetime = token.expires_at_ms.saturating_sub(now_ms());
        if lifetime == 0 {
            return;
        }
        let sealed = self.seal.seal(token);
        let backend = self.store.backend.clone();
        let write = backend.write(
            self.seal.name(),
            Slot::Token,
            sealed,
            Duration::from_millis(lifetime),
        );
        let _ = self
            .store
            .run(&mut self.budget, Some(&self.counters), write)
            .await;
    }

    async fn release(&mut self, lock: Box<dyn HeldLock>) {
        // A store that is down is not asked: a Redis lock then expires by
        // itself, and a file lock is released when the box is dropped.
        let _ = self
            .store
            .run(&mut self.budget, Some(&self.counters), lock.release())
            .await;
    }

    async fn publish(&mut self, message: Message) {
        let backend = self.store.backend.clone();
        let publish = backend.publish(self.seal.name(), message.encode());
        let _ = self
            .store
            .run(&mut self.budget, Some(&self.counters), publish)
            .await;
    }

    /// The process that held the lock failed, or took too long: a caller
    /// that needs a token sends its own request; a refresh whose token is
    /// still usable stops here, and the cache retries after its cool-down.
    async fn without_the_fleet(self) -> Result<Fetched, TokenError> {
        let still_usable = self
            .current
            .as_ref()
            .is_some_and(|t| t.is_usable_at(now_ms(), self.request.policy.leeway_ms));
        if self.reason == FetchReason::Refresh && still_usable {
            return Err(TokenError::new(
                ErrorCode::Network,
                "another process's token request for this entry failed; refreshing again later",
            ));
        }
        self.fetch_alone().await
    }

    /// As with the memory store: our own request, nothing shared.
    async fn fetch_alone(self) -> Result<Fetched, TokenError> {
        self.endpoint
            .fetch(self.request.clone(), self.counters.clone(), self.context())
            .await
    }

    fn context(&self) -> FetchContext {
        FetchContext {
            reason: self.reason,
            current: self.current.clone(),
            attempts: self.attempts.clone(),
            window: self.window,
        }
    }
}

/// What processes that waited on a request hear when its answer expired no
/// later than a token the fleet already had.
fn worse_answer() -> TokenError {
    TokenError::invalid_response(
        "the token endpoint answered a token that expires no later than the one already held; \
         the held token is kept",
    )
    .with_status(200)
}

/// Removes the entry's record if it still holds `dropped` (any record when
/// this process held none), then tells every process to drop that token.
pub async fn invalidate(
    store: &StoreHandle,
    seal: &EntrySeal,
    dropped: Option<Arc<Token>>,
    counters: Option<&Counters>,
) {
    let mut budget = Budget::new();
    let backend = store.backend.clone();
    let Ok(stored) = store
        .run(
            &mut budget,
            counters,
            backend.read(seal.name(), Slot::Token),
        )
        .await
    else {
        return;
    };
    let mut fingerprint = dropped
        .as_ref()
        .map(|t| seal.fingerprint(t.access_token.expose()));
    if let Some(sealed) = stored {
        let delete = match (seal.open(&sealed), &dropped) {
            (Ok(stored), Some(dropped)) => stored.access_token == dropped.access_token,
            (Ok(stored), None) => {
                fingerprint = Some(seal.fingerprint(stored.access_token.expose()));
                true
            }
            // A record that does not open is worth nothing to anyone.
            (Err(_), _) => true,
        };
        if delete {
            let delete = backend.delete_if_equals(seal.name(), Slot::Token, sealed);
            let _ = store.run(&mut budget, counters, delete).await;
        }
    }
    if let Some(fingerprint) = fingerprint {
        let message = Message::Invalidated(fingerprint).encode();
        let _ = store
            .run(&mut budget, counters, backend.publish(seal.name(), message))
            .await;
    }
}

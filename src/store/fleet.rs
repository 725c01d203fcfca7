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
//! Any store failure, and any wait past a bound, ends in a request of our
//! own: the store may save requests, never cost a caller its token.

use super::backend::HeldLock;
use super::events::{Message, Watched};
use super::handle::{Budget, StoreHandle};
use super::seal::EntrySeal;
use super::tombstones;
use super::RemoteInvalidation;
use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{Counters, FetchContext, FetchReason, Fetched, Fetcher, TokenSource};
use crate::options::{Policy, TokenRequest};
use crate::token::{now_ms, Token};
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A dead holder's Redis lock is taken over at most this long after its
/// last renewal (and sooner with short timeouts: see `lock_ttl`).
const MAX_LOCK_TTL: Duration = Duration::from_secs(10);
/// Longest pause between two attempts of one request (see `fetch.rs`).
const BACKOFF_BOUND: Duration = Duration::from_secs(2);

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
/// its attempts, its back-offs, and a second.
fn wait_bound(policy: &Policy) -> Duration {
    request_time(policy) + BACKOFF_BOUND * policy.retries + Duration::from_secs(1)
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
        let seal = Arc::new(EntrySeal::derive(request.auth.key_material(), &request.key));
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
        }
    }

    pub async fn run(mut self) -> Result<Fetched, TokenError> {
        if self.store.is_down() {
            return self.fetch_alone().await;
        }
        let failures_before = self.watched.failures();
        let give_up_at = Instant::now() + wait_bound(&self.request.policy);
        let watched = self.watched.clone();
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
            if watched.failures() != failures_before {
                return self.without_the_fleet().await;
            }
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

    /// The record's token if it is one this flight wants; `Err` when the
    /// store failed.
    async fn read_wanted(&mut self) -> Result<Option<Token>, ()> {
        let backend = self.store.backend.clone();
        let read = backend.read(self.seal.name());
        let sealed = self
            .store
            .run(&mut self.budget, Some(&self.counters), read)
            .await
            .map_err(|_| ())?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        match self.seal.open(&sealed) {
            Ok(token) => Ok(self.wants(&token).then_some(token)),
            Err(_) => {
                // Ignored and replaced by our own fetch; counted, never handed out.
                if !self.bad_record_counted {
                    self.bad_record_counted = true;
                    Counters::count(&self.counters.store_errors);
                }
                Ok(None)
            }
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
        let fetched = self.fetch_holding(&*lock).await;
        if let Ok(fetched) = &fetched {
            self.write(&fetched.token).await;
        }
        self.release(lock).await;
        if fetched.is_err() {
            self.publish(Message::Failed).await;
        } else if self.store.backend.announces_writes() {
            self.publish(Message::Written).await;
        }
        fetched
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
        let write = backend.write(self.seal.name(), sealed, Duration::from_millis(lifetime));
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
        }
    }
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
        .run(&mut budget, counters, backend.read(seal.name()))
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
            let delete = backend.delete_if_equals(seal.name(), sealed);
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

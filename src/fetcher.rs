//! The seam between the cache and whatever gets tokens: the cache asks a
//! `Fetcher` for one token per flight and knows nothing of HTTP or stores.
//! The process's fetcher is the shared store (`store::StoreFetcher`) in
//! front of the token endpoint (`fetch::HttpFetcher`).

use crate::error::TokenError;
use crate::options::TokenRequest;
use crate::rate_window::Window;
use crate::token::Token;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

/// Process-wide counts that `stats()` reports.
#[derive(Debug, Default)]
pub struct Counters {
    /// HTTP attempts sent to token endpoints, retries included.
    pub requests: AtomicU64,
    pub refreshes: AtomicU64,
    /// Tokens taken from a shared store instead of a request.
    pub store_hits: AtomicU64,
    /// Store operations that failed, timed out, or read a bad record.
    pub store_errors: AtomicU64,
}

impl Counters {
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchReason {
    /// Callers are waiting: the cache holds nothing usable.
    Miss,
    /// Refresh ahead: the cache still holds `current`, usable for a while.
    Refresh,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    Endpoint,
    Store,
}

impl TokenSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Endpoint => "endpoint",
            TokenSource::Store => "store",
        }
    }
}

pub struct FetchContext {
    pub reason: FetchReason,
    /// The token the entry holds now, if any (usable or not).
    pub current: Option<Arc<Token>>,
    /// Incremented once per HTTP attempt of this flight (with `requests`).
    pub attempts: Arc<AtomicU32>,
    /// The entry's last rate-limit window, ended or not: a 429 now counts
    /// as one more in a row, and its back-off doubles.
    pub window: Option<Window>,
}

impl FetchContext {
    pub fn count_attempt(&self, counters: &Counters) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        Counters::count(&counters.requests);
    }
}

pub struct Fetched {
    pub token: Token,
    pub source: TokenSource,
}

pub type FetchFuture = Pin<Box<dyn Future<Output = Result<Fetched, TokenError>> + Send>>;

/// Gets one token for a request.
pub trait Fetcher: Send + Sync + 'static {
    fn fetch(
        &self,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture;

    /// The cache dropped `request`'s entry on `invalidate()`; `dropped` is
    /// the token it held, if any. Runs on the caller's thread: must not block.
    fn invalidated(&self, _request: &Arc<TokenRequest>, _dropped: Option<Arc<Token>>) {}
}

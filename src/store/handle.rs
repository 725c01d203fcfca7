//! One shared store as this process uses it: its backend, the messages it
//! receives, and whether it is healthy.
//!
//! A store must never become a dependency: every operation runs under a
//! timeout drawn from the calling flight's budget (500 ms in all), a failure
//! counts in `storeErrors` and marks the store down for a short back-off,
//! during which calls skip it at no cost, and after which it is tried again
//! (so a store that comes back is used again without a restart).

use super::backend::{Backend, StoreFailure, StoreResult};
use super::events::EventHub;
use crate::fetcher::Counters;
use crate::token::now_ms;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// All store waits of one call, beyond the token request itself.
pub const CALL_BUDGET: Duration = Duration::from_millis(500);
/// No single operation may take more than this of the budget.
const OPERATION_TIMEOUT: Duration = Duration::from_millis(250);
/// After a failure, the store is skipped for this long.
const DOWN_BACKOFF_MS: u64 = 1_000;

pub struct StoreHandle {
    pub backend: Arc<dyn Backend>,
    pub hub: Arc<EventHub>,
    down_until_ms: AtomicU64,
}

/// What is left of one call's allowance for store operations.
#[derive(Debug)]
pub struct Budget {
    left: Duration,
}

impl Budget {
    pub fn new() -> Budget {
        Budget { left: CALL_BUDGET }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

impl StoreHandle {
    pub fn new(backend: Arc<dyn Backend>) -> Arc<StoreHandle> {
        let hub = Arc::new(EventHub::default());
        backend.clone().start_events(Arc::downgrade(&hub));
        Arc::new(StoreHandle {
            backend,
            hub,
            down_until_ms: AtomicU64::new(0),
        })
    }

    pub fn is_down(&self) -> bool {
        now_ms() < self.down_until_ms.load(Ordering::Acquire)
    }

    /// Runs one store operation within the budget. A failure or timeout is
    /// counted and marks the store down; a store already down is skipped.
    pub async fn run<T>(
        &self,
        budget: &mut Budget,
        counters: Option<&Counters>,
        operation: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        if self.is_down() {
            return Err(StoreFailure);
        }
        let allowed = budget.left.min(OPERATION_TIMEOUT);
        let started = Instant::now();
        let outcome = if allowed.is_zero() {
            Err(StoreFailure)
        } else {
            tokio::time::timeout(allowed, operation)
                .await
                .unwrap_or(Err(StoreFailure))
        };
        budget.left = budget.left.saturating_sub(started.elapsed());
        if outcome.is_err() {
            self.failed(counters);
        }
        outcome
    }

    /// Counts a failure and skips the store for a while.
    pub fn failed(&self, counters: Option<&Counters>) {
        if let Some(counters) = counters {
            Counters::count(&counters.store_errors);
        }
        self.down_until_ms
            .store(now_ms() + DOWN_BACKOFF_MS, Ordering::Release);
    }
}

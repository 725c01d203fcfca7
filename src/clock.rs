//! Wall-clock time as the cache reads it, behind a trait so that tests can
//! drive it: a rate-limit window of 30 s, or a token's leeway, is then
//! checked at its exact edges without waiting for real seconds to pass.
//!
//! Production code uses `SystemClock`, the same clock as `Date.now()` on the
//! JavaScript side (see `token.rs`).

use std::sync::atomic::{AtomicU64, Ordering};

pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::token::now_ms()
    }
}

/// A clock that moves only when told to.
pub struct ManualClock {
    now_ms: AtomicU64,
}

impl ManualClock {
    pub fn starting_now() -> ManualClock {
        ManualClock {
            now_ms: AtomicU64::new(crate::token::now_ms()),
        }
    }

    pub fn advance_ms(&self, ms: u64) {
        self.now_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }
}

//! Rate-limit windows per entry, as the cache keeps them (see
//! `rate_window.rs` for what opens one).
//!
//! Windows live apart from the cache's entries on purpose: `invalidate()`
//! and `clearCache()` drop entries, and must not reopen an entry the server
//! closed. A window stays recorded after it ends, until a token arrives,
//! so that the next 429 knows how many came in a row.
//!
//! Lock: one mutex, a leaf: nothing is called while it is held.

use crate::bounded::BoundedMap;
use crate::error::{ErrorCode, TokenError};
use crate::key::CacheKey;
use crate::rate_window::Window;
use std::sync::Mutex;
use std::time::Duration;

/// All the waiting one call does between attempts (back-offs and short
/// `Retry-After`s together); a longer wait fails the call at once.
pub const WAIT_BUDGET_PER_CALL: Duration = Duration::from_secs(2);

pub struct Windows {
    by_entry: Mutex<BoundedMap<CacheKey, Window>>,
}

impl Windows {
    pub fn new(capacity: usize) -> Windows {
        Windows {
            by_entry: Mutex::new(BoundedMap::new(capacity)),
        }
    }

    /// The entry's window if it has not ended at `now_ms`.
    pub fn open_at(&self, key: &CacheKey, now_ms: u64) -> Option<Window> {
        self.last(key).filter(|w| w.is_open_at(now_ms))
    }

    /// The entry's last window, ended or not.
    pub fn last(&self, key: &CacheKey) -> Option<Window> {
        self.lock().peek(key).copied()
    }

    pub fn record(&self, key: CacheKey, window: Window) {
        self.lock().insert(key, window);
    }

    /// A token arrived: the 429s in a row are over.
    pub fn clear(&self, key: &CacheKey) {
        self.lock().remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BoundedMap<CacheKey, Window>> {
        self.by_entry.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a call refused inside a window is told: the seconds left.
pub fn refusal(window: Window, now_ms: u64) -> TokenError {
    let secs = window.remaining_secs(now_ms).max(1);
    let mut error = TokenError::new(
        ErrorCode::RateLimited,
        format!("token endpoint is rate limiting this client: no new request for another {secs} s"),
    )
    .with_status(429);
    error.retry_after = Some(secs);
    error.with_window(Some(window))
}

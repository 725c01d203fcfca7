//! A rate-limit window: until when an entry sends no token request, and how
//! many 429s in a row opened it (the back-off doubles with each).
//!
//! A window comes from a 429's `Retry-After`, else from an empty Auth0 quota
//! bucket's reset, else from an exponential back-off (1 s, doubling, at most
//! 60 s). A token answer whose quota bucket is empty (`r=0`) opens one too,
//! with no strike: the token is good, the next request would not be.
//! Times are wall-clock ms since the epoch, so that a window written to a
//! shared store means the same instant to every process reading it.

use crate::quota::{Bucket, Quota};
use serde::{Deserialize, Serialize};

/// The longest wait taken from a server (a day): a `Retry-After` of 2e16 s
/// or u64::MAX still opens a window, of this length, and never overflows.
pub const MAX_WAIT_SECS: u64 = 86_400;
const BACKOFF_FIRST_MS: u64 = 1_000;
const BACKOFF_MAX_MS: u64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub until_ms: u64,
    /// 429s in a row, this one included; 0 for an empty quota bucket.
    pub strikes: u32,
}

impl Window {
    /// The window a 429 opens. `strikes_before`: 429s in a row before it.
    pub fn after_429(
        now_ms: u64,
        retry_after_secs: Option<u64>,
        quota: Option<&Quota>,
        strikes_before: u32,
    ) -> Window {
        let strikes = strikes_before.saturating_add(1);
        let wait_ms = match retry_after_secs.or_else(|| quota.and_then(empty_bucket_reset)) {
            Some(secs) => secs.min(MAX_WAIT_SECS) * 1000,
            None => backoff_ms(strikes),
        };
        Window {
            until_ms: now_ms.saturating_add(wait_ms),
            strikes,
        }
    }

    /// The window a token answer opens when its quota bucket is empty.
    pub fn after_token(now_ms: u64, quota: Option<&Quota>) -> Option<Window> {
        let secs = quota.and_then(empty_bucket_reset)?;
        (secs > 0).then(|| Window {
            until_ms: now_ms.saturating_add(secs.min(MAX_WAIT_SECS) * 1000),
            strikes: 0,
        })
    }

    pub fn is_open_at(&self, now_ms: u64) -> bool {
        now_ms < self.until_ms
    }

    pub fn remaining_ms(&self, now_ms: u64) -> u64 {
        self.until_ms.saturating_sub(now_ms)
    }

    /// Seconds left, rounded up: a caller told 0 would retry too soon.
    pub fn remaining_secs(&self, now_ms: u64) -> u64 {
        self.remaining_ms(now_ms).div_ceil(1000)
    }
}

/// 1 s for the first 429 without a known wait, doubling, at most 60 s.
pub fn backoff_ms(strikes: u32) -> u64 {
    let doublings = strikes.saturating_sub(1).min(16);
    (BACKOFF_FIRST_MS << doublings).min(BACKOFF_MAX_MS)
}

/// The latest reset among the quota's empty buckets, if one is empty.
fn empty_bucket_reset(quota: &Quota) -> Option<u64> {
    [quota.client, quota.organization]
        .into_iter()
        .flatten()
        .flat_map(|buckets| [buckets.per_hour, buckets.per_day])
        .flatten()
        .filter(|bucket: &Bucket| bucket.remaining == 0)
        .map(|bucket| bucket.reset_after)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::parse_buckets;

    fn quota(header: &str) -> Quota {
        Quota {
            client: parse_buckets(header),
            organization: None,
        }
    }

    #[test]
    fn retry_after_sets_the_window_and_absurd_values_are_capped() {
        let w = Window::after_429(1_000, Some(30), None, 0);
        assert_eq!((w.until_ms, w.strikes), (31_000, 1));
        for absurd in [20_000_000_000_000_000, u64::MAX] {
            let w = Window::after_429(1_000, Some(absurd), None, 0);
            assert_eq!(w.until_ms, 1_000 + MAX_WAIT_SECS * 1000);
            assert_eq!(w.remaining_secs(1_000), MAX_WAIT_SECS);
        }
        let w = Window::after_429(u64::MAX - 5, Some(30), None, 0);
        assert_eq!(w.until_ms, u64::MAX);
    }

    #[test]
    fn without_retry_after_an_empty_bucket_then_the_back_off_decides() {
        let q = quota("b=per_hour;q=10;r=0;t=90,b=per_day;q=50;r=3;t=4000");
        assert_eq!(Window::after_429(0, None, Some(&q), 0).until_ms, 90_000);
        let waits: Vec<u64> = (0..9)
            .map(|before| Window::after_429(0, None, None, before).until_ms)
            .collect();
        assert_eq!(
            waits,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(backoff_ms(u32::MAX), 60_000);
    }

    #[test]
    fn a_token_with_an_empty_bucket_opens_a_window_without_a_strike() {
        let empty = quota("b=per_hour;q=10;r=0;t=5");
        assert_eq!(
            Window::after_token(10, Some(&empty)),
            Some(Window {
                until_ms: 5_010,
                strikes: 0
            })
        );
        let left = quota("b=per_hour;q=10;r=1;t=5");
        assert_eq!(Window::after_token(10, Some(&left)), None);
        assert_eq!(Window::after_token(10, None), None);
    }

    #[test]
    fn a_window_is_closed_until_its_last_millisecond_and_never_after() {
        let w = Window {
            until_ms: 2_000,
            strikes: 1,
        };
        assert!(w.is_open_at(1_999));
        assert!(!w.is_open_at(2_000));
        assert_eq!(w.remaining_secs(1_001), 1);
        assert_eq!(w.remaining_secs(999), 2);
        assert_eq!(w.remaining_secs(5_000), 0);
    }
}

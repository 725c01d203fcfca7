//! Rate-limit windows as the cache enforces them, on a clock the tests
//! drive: each window is checked at its last millisecond and its first
//! after, without waiting for real seconds.

use super::test_support::{clocked, request};
use super::*;
use crate::scripted_fetcher::Step;
use std::time::Duration;

/// No leeway: a token is usable to its last millisecond.
const NO_LEEWAY: f64 = 0.0;

async fn retry_after(cache: &Arc<TokenCache>, request: &Arc<TokenRequest>) -> Option<u64> {
    match cache.acquire(request.clone()).await {
        Ok(_) => None,
        Err(error) => {
            assert_eq!(error.code, ErrorCode::RateLimited, "{error}");
            error.retry_after
        }
    }
}

#[tokio::test]
async fn a_window_closes_the_entry_until_its_last_millisecond_and_not_one_more() {
    let (cache, fetcher, clock) = clocked(
        vec![Step::TooMany(Some(30)), Step::Token(3_600_000)],
        Duration::ZERO,
    );
    let req = request("window-edges", NO_LEEWAY);
    assert_eq!(retry_after(&cache, &req).await, Some(30));
    clock.advance_ms(29_999);
    assert_eq!(retry_after(&cache, &req).await, Some(1), "1 ms left is 1 s");
    assert_eq!(fetcher.calls(), 1, "nothing sent inside the window");
    clock.advance_ms(1);
    assert_eq!(
        retry_after(&cache, &req).await,
        None,
        "the window has ended"
    );
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test]
async fn invalidate_and_clear_do_not_reopen_a_window() {
    let (cache, fetcher, clock) = clocked(vec![Step::TooMany(Some(30))], Duration::ZERO);
    let req = request("window-kept", NO_LEEWAY);
    assert_eq!(retry_after(&cache, &req).await, Some(30));
    assert!(!cache.invalidate(&req), "a failure leaves no entry to drop");
    cache.clear();
    clock.advance_ms(10_000);
    assert_eq!(retry_after(&cache, &req).await, Some(20));
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn without_retry_after_the_back_off_doubles_and_a_token_resets_it() {
    let (cache, fetcher, clock) = clocked(
        vec![
            Step::TooMany(None),
            Step::TooMany(None),
            Step::TooMany(None),
            Step::TooMany(None),
            Step::Token(60_000),
            Step::TooMany(None),
        ],
        Duration::ZERO,
    );
    let req = request("back-off", NO_LEEWAY);
    let mut windows = Vec::new();
    for _ in 0..4 {
        let secs = retry_after(&cache, &req).await.unwrap();
        windows.push(secs);
        clock.advance_ms(secs * 1000 - 1);
        assert_eq!(retry_after(&cache, &req).await, Some(1), "still closed");
        clock.advance_ms(1);
    }
    assert_eq!(windows, [1, 2, 4, 8]);
    assert_eq!(fetcher.calls(), 4);
    assert_eq!(retry_after(&cache, &req).await, None, "a token at last");
    cache.invalidate(&req);
    assert_eq!(
        retry_after(&cache, &req).await,
        Some(1),
        "the count starts over"
    );
}

#[tokio::test]
async fn an_empty_quota_bucket_hands_out_the_token_then_closes_the_entry_until_its_reset() {
    let (cache, fetcher, clock) = clocked(
        vec![
            Step::TokenFromEmptyBucket {
                lifetime_ms: 100_000,
                reset_secs: 600,
            },
            Step::Token(3_600_000),
        ],
        Duration::ZERO,
    );
    let req = request("empty-bucket", NO_LEEWAY);
    assert_eq!(
        retry_after(&cache, &req).await,
        None,
        "the token is handed out"
    );
    // Past the refresh-ahead point (90 % of 100 s): still a hit, and no
    // refresh is started inside the window.
    clock.advance_ms(95_000);
    assert_eq!(retry_after(&cache, &req).await, None);
    assert!(cache.refresh_ahead(&req, false).is_none());
    assert_eq!(fetcher.calls(), 1);
    cache.invalidate(&req);
    assert_eq!(retry_after(&cache, &req).await, Some(505));
    clock.advance_ms(505_000);
    assert_eq!(retry_after(&cache, &req).await, None);
    assert_eq!(fetcher.calls(), 2);
}

use super::test_support::{clocked, request};
use super::*;
use crate::options::RawOptions;
use crate::scripted_fetcher::{ScriptedFetcher, Step};
use crate::secret::Secret;
use std::time::Duration;

/// A cache in front of a scripted endpoint: `Ok(lifetime_ms)` is a token,
/// `Err(code)` a failure (a 429 with `Retry-After: 60` for `RateLimited`).
fn cache_with(
    script: Vec<Result<u64, ErrorCode>>,
    delay_ms: u64,
) -> (Arc<TokenCache>, Arc<ScriptedFetcher>) {
    let steps = script
        .into_iter()
        .map(|step| match step {
            Ok(lifetime_ms) => Step::Token(lifetime_ms),
            Err(ErrorCode::RateLimited) => Step::TooMany(Some(60)),
            Err(code) => Step::Fail(code),
        })
        .collect();
    let fetcher = Arc::new(ScriptedFetcher::new(steps).delayed(Duration::from_millis(delay_ms)));
    let cache = TokenCache::new(
        fetcher.clone(),
        tokio::runtime::Handle::current(),
        DEFAULT_MAX_ENTRIES,
    );
    (cache, fetcher)
}

fn token_text(a: &Acquired) -> &str {
    a.snapshot.token.access_token.expose()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_request() {
    let (cache, fetcher) = cache_with(vec![Ok(3_600_000)], 50);
    let req = request("single-flight", 60.0);
    let calls: Vec<_> = (0..500)
        .map(|_| {
            tokio::spawn({
                let (cache, req) = (cache.clone(), req.clone());
                async move { cache.acquire(req).await.unwrap() }
            })
        })
        .collect();
    for call in calls {
        let acquired = call.await.unwrap();
        assert_eq!(token_text(&acquired), "token-1");
        assert!(!acquired.from_cache);
    }
    assert_eq!(fetcher.calls(), 1);
    let hit = cache.acquire(req.clone()).await.unwrap();
    assert!(hit.from_cache);
    assert!(cache.peek(&req).is_some());
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn errors_are_shared_but_not_cached() {
    let (cache, fetcher) = cache_with(vec![Err(ErrorCode::HttpStatus), Ok(3_600_000)], 20);
    let req = request("errors", 60.0);
    let (a, b) = tokio::join!(cache.acquire(req.clone()), cache.acquire(req.clone()));
    assert_eq!(a.unwrap_err().code, ErrorCode::HttpStatus);
    assert_eq!(b.unwrap_err().code, ErrorCode::HttpStatus);
    assert_eq!(fetcher.calls(), 1);
    assert!(cache.peek(&req).is_none());
    assert!(cache.is_empty(), "a failed fetch leaves no entry behind");
    assert_eq!(token_text(&cache.acquire(req).await.unwrap()), "token-2");
}

#[tokio::test]
async fn invalidation_makes_the_next_call_fetch_anew() {
    let (cache, fetcher) = cache_with(vec![Ok(3_600_000)], 0);
    let req = request("invalidate", 60.0);
    let before = cache.generation();
    cache.acquire(req.clone()).await.unwrap();
    assert!(cache.invalidate(&req));
    assert!(!cache.invalidate(&req));
    assert!(cache.generation() > before);
    assert!(cache.peek(&req).is_none());
    assert_eq!(
        token_text(&cache.acquire(req.clone()).await.unwrap()),
        "token-2"
    );
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hit_past_the_refresh_point_is_answered_at_once_and_refreshes_once() {
    // 1.2 s lifetime, no leeway: refresh from 1.08 s on
    let (cache, fetcher, clock) = clocked(
        vec![Step::Token(1_200), Step::Token(3_600_000)],
        Duration::from_millis(100),
    );
    let req = request("refresh-ahead", 0.0);
    cache.acquire(req.clone()).await.unwrap();
    clock.advance_ms(1_079);
    let hit = cache.peek(&req).expect("usable");
    assert!(hit.refresh_at_ms > clock.now_ms(), "not yet due");
    assert!(cache.refresh_ahead(&req, false).is_none());
    assert_eq!(cache.counters().refreshes.load(Ordering::Relaxed), 0);
    clock.advance_ms(1);
    let hit = cache.peek(&req).expect("still usable");
    assert!(hit.refresh_at_ms <= clock.now_ms(), "a refresh is due");
    assert!(
        cache.refresh_ahead(&req, false).is_none(),
        "started, unreported"
    );
    let hit = cache.peek(&req).expect("still usable");
    assert_eq!(hit.token.access_token.expose(), "token-1");
    assert_eq!(hit.refresh_at_ms, u64::MAX, "a refresh is in flight");
    assert!(
        cache.refresh_ahead(&req, true).is_none(),
        "only one at a time"
    );
    assert!(cache.peek(&req).is_some());
    assert_eq!(cache.counters().refreshes.load(Ordering::Relaxed), 1);
    // The refresh's request takes 100 ms of (paused) Tokio time.
    tokio::time::sleep(Duration::from_millis(101)).await;
    assert_eq!(
        cache.peek(&req).unwrap().token.access_token.expose(),
        "token-2"
    );
    assert_eq!(fetcher.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_keeps_the_usable_token_and_cools_down() {
    let (cache, fetcher, clock) = clocked(
        vec![
            Step::Token(1_500),
            Step::Fail(ErrorCode::Network),
            Step::Token(3_600_000),
        ],
        Duration::from_millis(10),
    );
    let req = request("refresh-fails", 0.0);
    cache.acquire(req.clone()).await.unwrap();
    clock.advance_ms(1_360); // past 90 % of 1.5 s
    assert!(cache.peek(&req).is_some());
    cache.refresh_ahead(&req, false); // starts the refresh, which fails
    tokio::time::sleep(Duration::from_millis(11)).await;
    let after = cache.peek(&req).expect("old token still usable");
    assert_eq!(after.token.access_token.expose(), "token-1");
    // A tenth of the 140 ms left, within [1 s, 30 s]: 1 s.
    assert_eq!(after.refresh_at_ms, clock.now_ms() + 1_000);
    assert!(cache.refresh_ahead(&req, false).is_none(), "cooling down");
    tokio::time::sleep(Duration::from_millis(11)).await;
    assert_eq!(fetcher.calls(), 2, "not retrying at once");
}

#[tokio::test]
async fn a_rate_limit_window_fails_fast_without_requests() {
    let (cache, fetcher) = cache_with(vec![Err(ErrorCode::RateLimited)], 0);
    let req = request("rate-limited", 60.0);
    assert_eq!(
        cache.acquire(req.clone()).await.unwrap_err().code,
        ErrorCode::RateLimited
    );
    let fast = cache.acquire(req.clone()).await.unwrap_err();
    assert_eq!(fast.code, ErrorCode::RateLimited);
    assert!(fast.retry_after.is_some_and(|s| s > 0 && s <= 60));
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn a_wrong_secret_never_gets_the_right_secrets_token() {
    let (cache, _) = cache_with(vec![Ok(3_600_000)], 0);
    let right = request("same-id", 60.0);
    let wrong = Arc::new(
        TokenRequest::from_options(RawOptions {
            token_url: Some("http://127.0.0.1:1/oauth/token".into()),
            client_id: Some("same-id".into()),
            client_secret: Some(Secret::new("wrong".into())),
            ..RawOptions::default()
        })
        .unwrap(),
    );
    cache.acquire(right).await.unwrap();
    assert!(cache.peek(&wrong).is_none());
}

#[tokio::test]
async fn the_number_of_entries_is_bounded() {
    let fetcher = ScriptedFetcher::tokens(Duration::ZERO);
    let cache = TokenCache::new(fetcher, tokio::runtime::Handle::current(), 3);
    for i in 0..10 {
        cache
            .acquire(request(&format!("bounded-{i}"), 60.0))
            .await
            .unwrap();
    }
    assert_eq!(cache.len(), 3);
}

#[tokio::test]
async fn every_change_is_announced_with_its_generation() {
    let (cache, _) = cache_with(vec![Ok(3_600_000)], 0);
    let seen = Arc::new(AtomicU32::new(0));
    let sink = seen.clone();
    cache.set_change_listener(Box::new(move |c: Change| {
        sink.store(c.generation, Ordering::SeqCst)
    }));
    let req = request("listener", 60.0);
    let acquired = cache.acquire(req.clone()).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), cache.generation());
    assert_eq!(acquired.snapshot.generation, Some(cache.generation()));
    cache.invalidate(&req);
    assert_eq!(seen.load(Ordering::SeqCst), cache.generation());
}

#[tokio::test]
async fn invalidations_and_evictions_bump_the_epoch_but_new_tokens_do_not() {
    let (cache, _) = cache_with(vec![Ok(3_600_000)], 0);
    let req = request("epoch", 60.0);
    let start = cache.invalidations();
    cache.acquire(req.clone()).await.unwrap();
    assert_eq!(
        cache.invalidations(),
        start,
        "a new token is no invalidation"
    );
    cache.invalidate(&req);
    assert_eq!(cache.invalidations(), start.wrapping_add(1));
    cache.clear();
    assert_eq!(cache.invalidations(), start.wrapping_add(2));
}

#[tokio::test]
async fn the_bound_holds_while_every_entry_waits_on_a_request() {
    let fetcher = ScriptedFetcher::tokens(Duration::from_millis(200));
    let cache = TokenCache::new(fetcher, tokio::runtime::Handle::current(), 5);
    let epoch = cache.invalidations();
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.acquire(request(&format!("busy-{i}"), 60.0)).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(cache.len() <= 5, "{} entries", cache.len());
    assert_ne!(cache.invalidations(), epoch, "eviction is an invalidation");
    for call in calls {
        // an evicted entry's callers still get their request's answer
        assert!(call.await.unwrap().is_ok());
    }
    assert!(cache.len() <= 5);
}

#[tokio::test]
async fn each_caller_is_judged_by_its_own_leeway() {
    // a 100 s token, shared by callers with leeway 0 s and 200 s
    for order in [[0.0, 200.0], [200.0, 0.0]] {
        let (cache, fetcher) = cache_with(vec![Ok(100_000)], 50);
        let id = format!("leeway-{}", order[0]);
        let (a, b) = (request(&id, order[0]), request(&id, order[1]));
        let (ra, rb) = tokio::join!(cache.acquire(a), cache.acquire(b));
        for (leeway, result) in [(order[0], ra), (order[1], rb)] {
            if leeway == 0.0 {
                assert!(result.is_ok(), "the 0 s caller gets the 100 s token");
            } else {
                assert_eq!(result.unwrap_err().code, ErrorCode::InvalidResponse);
            }
        }
        assert_eq!(fetcher.calls(), 1, "one shared request");
    }
}

#[tokio::test]
async fn compare_and_drop_keeps_a_newer_token() {
    let (cache, fetcher) = cache_with(vec![Ok(3_600_000)], 0);
    let req = request("compare-and-drop", 60.0);
    cache.acquire(req.clone()).await.unwrap(); // token-0
    let epoch = cache.invalidations();
    assert!(!cache.invalidate_token(&req, "some-other-token"));
    assert_eq!(
        cache.invalidations(),
        epoch,
        "nothing dropped, nothing announced"
    );
    assert!(cache.peek(&req).is_some());
    assert!(cache.invalidate_token(&req, "token-1"));
    assert_eq!(cache.invalidations(), epoch.wrapping_add(1));
    assert!(cache.peek(&req).is_none());
    assert_eq!(
        token_text(&cache.acquire(req.clone()).await.unwrap()),
        "token-2"
    );
    // A late 401 for the old token must not drop the new one.
    assert!(!cache.invalidate_token(&req, "token-1"));
    assert_eq!(
        token_text(&cache.acquire(req.clone()).await.unwrap()),
        "token-2"
    );
    assert_eq!(fetcher.calls(), 2);
}

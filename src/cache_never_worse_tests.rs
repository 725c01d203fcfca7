//! Guarantee 4's "never worse" rule: an answer that expires no later than
//! the token the entry holds does not replace it, whoever started the
//! request, and the held token is handed out until its own cut-off.

use super::test_support::{clocked, request};
use super::*;
use crate::scripted_fetcher::Step;
use std::time::Duration;

const DELAY: Duration = Duration::from_millis(10);

fn held(cache: &Arc<TokenCache>, req: &Arc<TokenRequest>) -> Option<String> {
    cache
        .peek(req)
        .map(|s| s.token.access_token.expose().to_owned())
}

/// A 4 s token with a 1 s leeway is usable 3 s and due for refresh at
/// 2.7 s; the refresh answers `worse_ms`.
async fn refresh_answering(worse_ms: u64) {
    let (cache, fetcher, clock) = clocked(vec![Step::Token(4_000), Step::Token(worse_ms)], DELAY);
    let req = request("never-worse", 1.0);
    cache.acquire(req.clone()).await.unwrap();
    clock.advance_ms(2_700);
    assert!(cache.acquire(req.clone()).await.unwrap().from_cache);
    tokio::time::sleep(DELAY * 2).await; // the refresh lands
    assert_eq!(fetcher.calls(), 2, "the refresh was sent");
    clock.advance_ms(299); // 2.999 s: the first token is still usable
    let hit = cache.acquire(req.clone()).await.unwrap();
    assert_eq!(hit.snapshot.token.access_token.expose(), "token-1");
    assert!(
        hit.from_cache,
        "no caller waits while a usable token is held"
    );
    assert_eq!(
        hit.snapshot.usable_until_ms,
        clock.now_ms() + 1,
        "handed out until its own cut-off"
    );
    tokio::time::sleep(DELAY * 2).await;
    assert_eq!(
        fetcher.calls(),
        2,
        "the failed-refresh cool-down applies to a worse answer"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refresh_answering_a_shorter_life_keeps_the_held_token() {
    // expires at 2.7 + 1.2 = 3.9 s, before the held token's 4 s
    refresh_answering(1_200).await;
}

#[tokio::test(start_paused = true)]
async fn a_refresh_answering_inside_the_leeway_keeps_the_held_token() {
    refresh_answering(1_000).await;
}

#[tokio::test(start_paused = true)]
async fn a_better_refresh_answer_still_replaces_the_held_token() {
    let (cache, _, clock) = clocked(vec![Step::Token(4_000), Step::Token(4_000)], DELAY);
    let req = request("better", 1.0);
    cache.acquire(req.clone()).await.unwrap();
    clock.advance_ms(2_700);
    cache.acquire(req.clone()).await.unwrap();
    tokio::time::sleep(DELAY * 2).await;
    assert_eq!(held(&cache, &req).as_deref(), Some("token-2"));
}

#[tokio::test(start_paused = true)]
async fn a_caller_with_a_larger_leeway_never_costs_a_smaller_one_its_token() {
    // One entry, leeways 0 s and 2 s. At 2.5 s of a 4 s token the 2 s
    // caller needs a new one and starts a request, which answers a 1 s
    // token: no use to it, and worse than what the 0 s caller holds.
    let (cache, fetcher, clock) = clocked(vec![Step::Token(4_000), Step::Token(1_000)], DELAY);
    let (small, large) = (request("leeways", 0.0), request("leeways", 2.0));
    cache.acquire(small.clone()).await.unwrap();
    clock.advance_ms(2_500);
    let refused = cache.acquire(large.clone()).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::InvalidResponse);
    assert_eq!(fetcher.calls(), 2);
    let hit = cache.acquire(small.clone()).await.unwrap();
    assert_eq!(hit.snapshot.token.access_token.expose(), "token-1");
    assert!(hit.from_cache);
}

#[tokio::test(start_paused = true)]
async fn after_invalidation_any_new_token_wins() {
    let (cache, _, _) = clocked(vec![Step::Token(3_600_000), Step::Token(10_000)], DELAY);
    let req = request("invalidated", 1.0);
    cache.acquire(req.clone()).await.unwrap();
    cache.invalidate(&req);
    let next = cache.acquire(req.clone()).await.unwrap();
    assert_eq!(next.snapshot.token.access_token.expose(), "token-2");
}

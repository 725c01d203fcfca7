//! Stress of the cache's lock order: another process's invalidation
//! (`drop_if`, run on a runtime thread by the store's subscriber) against
//! callers that start, join and land flights on other threads. A deadlock
//! fails the test through a watchdog instead of hanging `cargo test`.

use super::test_support::request;
use super::*;
use crate::scripted_fetcher::{ScriptedFetcher, Step};
use std::sync::mpsc;
use std::time::Duration;

/// How long the threads race.
const STRESS: Duration = Duration::from_secs(3);
const WATCHDOG: Duration = Duration::from_secs(10);

#[test]
fn remote_invalidations_never_deadlock_callers_starting_flights() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Succeeds and fails in turn, at once: flights land as fast as they
    // start, so landing (with and without a token to keep) races everything.
    let fetcher = Arc::new(
        ScriptedFetcher::new(vec![Step::Token(3_600_000), Step::Fail(ErrorCode::Network)])
            .cycling(),
    );
    let cache = TokenCache::new(fetcher.clone(), runtime.handle().clone(), 10_000);
    let req = request("lock-order", 60.0);
    let (done, finished) = mpsc::channel::<&'static str>();

    // Two caller threads: hits (which read the generation under the
    // entry's lock), misses that start flights, and clears that force them.
    for name in ["caller-1", "caller-2"] {
        let (cache, req, done) = (cache.clone(), req.clone(), done.clone());
        std::thread::spawn(move || {
            let end = Instant::now() + STRESS;
            for i in 0u64.. {
                if Instant::now() >= end {
                    break;
                }
                if i.is_multiple_of(4) {
                    cache.clear();
                }
                match cache.begin(&req) {
                    Begin::Ready(_) => {}
                    // Waiting is not the point; the flight lands anyway.
                    Begin::Wait(waiting) => drop(waiting),
                }
            }
            let _ = done.send(name);
        });
    }
    // The remote invalidations, delivered as the store's subscriber does:
    // from a runtime thread.
    {
        let (cache, key, done) = (cache.clone(), req.key, done.clone());
        runtime.spawn_blocking(move || {
            let end = Instant::now() + STRESS;
            while Instant::now() < end {
                cache.drop_if(&key, &|_| true);
            }
            let _ = done.send("drop_if");
        });
    }
    drop(done);

    let mut ended = Vec::new();
    while ended.len() < 3 {
        match finished.recv_timeout(WATCHDOG) {
            Ok(name) => ended.push(name),
            Err(_) => {
                // The stuck threads cannot be joined: leave them behind.
                runtime.shutdown_background();
                panic!("deadlock: only {ended:?} finished within {WATCHDOG:?}");
            }
        }
    }
    assert!(fetcher.calls() > 0, "the stress started flights");
    // Still usable afterwards: a flight starts and lands.
    cache.clear();
    let answer = runtime.block_on(cache.acquire(req.clone()));
    assert!(answer.is_ok() || answer.unwrap_err().code == ErrorCode::Network);
}

//! The fleet protocol against real stores: files in a private folder, and
//! a real `redis-server` where one is installed. Each `StoreFetcher` plays
//! one process (the protocol does not care that they share one here: file
//! locks and Redis locks exclude other handles of the same process too).

use super::seal::EntrySeal;
use super::test_support::*;
use crate::error::TokenError;
use crate::fetcher::{Counters, FetchReason, Fetched, Fetcher, TokenSource};
use crate::options::TokenRequest;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs one scenario as two tests: on a file store in a private folder, and
/// on a real `redis-server` (skipped where none is installed).
macro_rules! on_file_and_redis {
    ($scenario:ident: $file_test:ident, $redis_test:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $file_test() {
            let temp = TempDir::new(stringify!($file_test));
            $scenario(&temp.store()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $redis_test() {
            let Some(redis) = RedisServer::start() else {
                return;
            };
            $scenario(&redis.url()).await;
        }
    };
}

/// `processes` flights of one miss, spawned at once: each plays a process
/// (its own `StoreFetcher`) racing the others for the entry.
async fn race(
    processes: usize,
    endpoint: &Arc<ScriptedFetcher>,
    request: &Arc<TokenRequest>,
    counters: &Arc<Counters>,
) -> Vec<Result<Fetched, TokenError>> {
    let flights: Vec<_> = (0..processes)
        .map(|_| {
            let (fetcher, _) = fetcher(endpoint, "none");
            tokio::spawn(fetcher.fetch(
                request.clone(),
                counters.clone(),
                context(FetchReason::Miss, None),
            ))
        })
        .collect();
    let mut results = Vec::new();
    for flight in flights {
        results.push(flight.await.unwrap());
    }
    results
}

async fn fetch_many(
    store: &str,
    processes: usize,
    endpoint: &Arc<ScriptedFetcher>,
) -> Vec<(String, TokenSource)> {
    let request = request(store, "fleet-secret");
    let counters = Arc::new(Counters::default());
    race(processes, endpoint, &request, &counters)
        .await
        .into_iter()
        .map(|fetched| {
            let fetched = fetched.unwrap();
            (
                fetched.token.access_token.expose().to_string(),
                fetched.source,
            )
        })
        .collect()
}

async fn one_request_for_many_processes(store: &str) {
    let endpoint = ScriptedFetcher::tokens(Duration::from_millis(100));
    let answers = fetch_many(store, 8, &endpoint).await;
    assert_eq!(endpoint.calls(), 1, "one request for the fleet");
    assert!(answers.iter().all(|(token, _)| token == "token-1"));
    let from_store = answers
        .iter()
        .filter(|(_, s)| *s == TokenSource::Store)
        .count();
    assert_eq!(from_store, 7);
    // a process that comes later takes the token from the store
    let later = fetch_many(store, 1, &endpoint).await;
    assert_eq!(later, vec![("token-1".to_string(), TokenSource::Store)]);
    assert_eq!(endpoint.calls(), 1);
}

on_file_and_redis!(one_request_for_many_processes: file_store_one_request_for_many_processes, redis_store_one_request_for_many_processes);

/// Four processes start at once against an endpoint that answers 429
/// (`Retry-After: 30`): one request, every process refused with the window,
/// and a process that asks later is refused from the store, sending nothing.
async fn a_429_window_is_shared_by_the_fleet(store: &str) {
    let endpoint = Arc::new(
        ScriptedFetcher::new(vec![Step::TooMany(Some(30))]).delayed(Duration::from_millis(100)),
    );
    let request = request(store, "window-secret");
    let counters = Arc::new(Counters::default());
    let refused = |result: Result<Fetched, TokenError>| {
        let Err(error) = result else {
            panic!("a process got a token inside the window");
        };
        assert_eq!(error.code, ErrorCode::RateLimited, "{error}");
        let window = error.window().expect("the window travels with the error");
        assert!(window.remaining_secs(crate::token::now_ms()) >= 29);
    };
    for result in race(4, &endpoint, &request, &counters).await {
        refused(result);
    }
    assert_eq!(endpoint.calls(), 1, "one request for the fleet");
    let (later, _) = fetcher(&endpoint, "none");
    refused(
        later
            .fetch(request, counters, context(FetchReason::Miss, None))
            .await,
    );
    assert_eq!(endpoint.calls(), 1, "nothing sent inside the window");
}

on_file_and_redis!(a_429_window_is_shared_by_the_fleet: file_store_shares_a_429_window, redis_store_shares_a_429_window);

async fn a_bad_record_is_counted_ignored_and_replaced(
    store: &str,
    corrupt: impl Fn(&str, Vec<u8>),
) {
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(store, "fleet-secret");
    let seal = EntrySeal::derive(request.auth.key_material(), &request.key);
    // a record sealed under another credential, moved to this entry's name
    let foreign =
        EntrySeal::derive(b"another-secret", &request.key).seal(&token("stolen", 3_600_000));
    corrupt(seal.name(), foreign);
    let counters = Arc::new(Counters::default());
    let (first_process, _) = fetcher(&endpoint, "none");
    let fetched = first_process
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    assert_eq!(fetched.token.access_token.expose(), "token-1");
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
    // replaced: the next process takes the good record
    let (next_process, _) = fetcher(&endpoint, "none");
    let next = next_process
        .fetch(request, counters.clone(), context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert_eq!(next.source, TokenSource::Store);
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn file_store_ignores_and_replaces_bad_records() {
    let temp = TempDir::new("fleet-bad");
    let dir = temp.path().to_path_buf();
    a_bad_record_is_counted_ignored_and_replaced(&temp.store(), |name, foreign| {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.tok")), foreign).unwrap();
    })
    .await;
    // truncated and junk files too
    for junk in [&b""[..], b"\x01short", b"not a record at all"] {
        let temp = TempDir::new("fleet-junk");
        let dir = temp.path().to_path_buf();
        let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
        let request = request(&temp.store(), "fleet-secret");
        let name = EntrySeal::derive(request.auth.key_material(), &request.key)
            .name()
            .to_string();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.tok")), junk).unwrap();
        let counters = Arc::new(Counters::default());
        let (fetcher, _) = fetcher(&endpoint, "none");
        let fetched = fetcher
            .fetch(request, counters.clone(), context(FetchReason::Miss, None))
            .await
            .unwrap();
        assert_eq!(fetched.source, TokenSource::Endpoint);
        assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
    }
}

#[tokio::test]
async fn nothing_in_the_file_store_names_the_client_or_holds_the_token() {
    let temp = TempDir::new("fleet-scan");
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&temp.store(), "fleet-secret");
    let (fetcher, _) = fetcher(&endpoint, "none");
    let counters = Arc::new(Counters::default());
    fetcher
        .fetch(request.clone(), counters, context(FetchReason::Miss, None))
        .await
        .unwrap();
    fetcher.invalidated(&request, Some(Arc::new(token("token-1", 1))));
    super::flush_pending().await;
    let mut scanned = 0;
    for entry in std::fs::read_dir(temp.path()).unwrap() {
        let entry = entry.unwrap();
        let text = format!(
            "{} {}",
            entry.file_name().to_string_lossy(),
            String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap())
        );
        for needle in [
            "store-test-client",
            "urn:store-test",
            "fleet-secret",
            "token-1",
            "Bearer",
        ] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
        scanned += 1;
    }
    assert!(scanned >= 2, "the lock and message files at least");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_store_costs_a_short_bound_and_is_counted() {
    // A port nobody listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&format!("redis://127.0.0.1:{port}"), "fleet-secret");
    let counters = Arc::new(Counters::default());
    let (fetcher, _) = fetcher(&endpoint, "none");
    let started = Instant::now();
    let fetched = fetcher
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fetched.source, TokenSource::Endpoint);
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
    // while it is marked down, calls skip it: fast, and not counted again
    let started = Instant::now();
    fetcher
        .fetch(request, counters.clone(), context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
    assert_eq!(endpoint.calls(), 2);
}

async fn invalidation_deletes_only_the_dropped_token_and_tells_everyone(store: &str) {
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(store, "invalidation-secret");
    let counters = Arc::new(Counters::default());
    let (first, _) = fetcher(&endpoint, "none");
    let (other, heard) = fetcher(&endpoint, "token-1");
    // the other process follows the entry once it used it
    other
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    assert_eq!(endpoint.calls(), 1);

    // a process holding an older token does not delete the stored one
    first.invalidated(&request, Some(Arc::new(token("token-0", 1))));
    super::flush_pending().await;
    let kept = first
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    assert_eq!(kept.source, TokenSource::Store);

    // invalidating the stored token deletes it, and every process hears it
    first.invalidated(&request, Some(Arc::new(token("token-1", 1))));
    super::flush_pending().await;
    let deadline = Instant::now() + Duration::from_secs(1);
    while !heard
        .lock()
        .unwrap()
        .iter()
        .any(|(key, stale)| *key == request.key && *stale)
    {
        assert!(Instant::now() < deadline, "not told within a second");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = first
        .fetch(request.clone(), counters, context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert_eq!(fresh.source, TokenSource::Endpoint);
    assert_eq!(fresh.token.access_token.expose(), "token-2");
}

on_file_and_redis!(invalidation_deletes_only_the_dropped_token_and_tells_everyone: file_store_invalidation, redis_store_invalidation);

async fn refresh_is_done_once_and_adopted(store: &str) {
    let endpoint = ScriptedFetcher::tokens(Duration::from_millis(50));
    let request = request(store, "fleet-secret");
    let counters = Arc::new(Counters::default());
    let (first, _) = fetcher(&endpoint, "none");
    let held = Arc::new(
        first
            .fetch(
                request.clone(),
                counters.clone(),
                context(FetchReason::Miss, None),
            )
            .await
            .unwrap()
            .token,
    );
    // several processes hold token-1 and refresh at once: one request
    let refreshes: Vec<_> = (0..4)
        .map(|_| {
            let (fetcher, _) = fetcher(&endpoint, "none");
            tokio::spawn(fetcher.fetch(
                request.clone(),
                counters.clone(),
                context(FetchReason::Refresh, Some(held.clone())),
            ))
        })
        .collect();
    for refresh in refreshes {
        let fetched = refresh.await.unwrap().unwrap();
        assert_eq!(fetched.token.access_token.expose(), "token-2");
    }
    assert_eq!(endpoint.calls(), 2);
    // a process still holding token-1 adopts token-2 without a request
    let (late, _) = fetcher(&endpoint, "none");
    let adopted = late
        .fetch(request, counters, context(FetchReason::Refresh, Some(held)))
        .await
        .unwrap();
    assert_eq!(adopted.source, TokenSource::Store);
    assert_eq!(endpoint.calls(), 2);
}

on_file_and_redis!(refresh_is_done_once_and_adopted: file_store_refresh_once, redis_store_refresh_once);

/// Never worse, for the fleet: a refresh whose answer expires before the
/// record does is not written over it, and the processes refreshing at the
/// same time hear so instead of each asking the endpoint again.
async fn a_worse_refresh_answer_never_replaces_the_record(store: &str) {
    let endpoint = Arc::new(
        ScriptedFetcher::new(vec![Step::Token(3_600_000), Step::Token(60_000)])
            .delayed(Duration::from_millis(50)),
    );
    let request = request(store, "fleet-secret");
    let counters = Arc::new(Counters::default());
    let (first, _) = fetcher(&endpoint, "none");
    let miss = context(FetchReason::Miss, None);
    let held = first.fetch(request.clone(), counters.clone(), miss);
    let held = Arc::new(held.await.unwrap().token);
    let refreshes: Vec<_> = (0..3)
        .map(|_| {
            let (fetcher, _) = fetcher(&endpoint, "none");
            let refresh = context(FetchReason::Refresh, Some(held.clone()));
            tokio::spawn(fetcher.fetch(request.clone(), counters.clone(), refresh))
        })
        .collect();
    for refresh in refreshes {
        // the holder's flight returns the worse answer (its cache keeps
        // what it holds); the others hear that it brought nothing better
        match refresh.await.unwrap() {
            Ok(fetched) => assert_eq!(fetched.token.access_token.expose(), "token-2"),
            Err(error) => assert_eq!(error.code, ErrorCode::InvalidResponse),
        }
    }
    assert_eq!(endpoint.calls(), 2, "one refresh request for the fleet");
    // a process that starts now adopts the better record, token-1
    let (fresh, _) = fetcher(&endpoint, "none");
    let miss = context(FetchReason::Miss, None);
    let adopted = fresh.fetch(request, counters, miss).await.unwrap();
    assert_eq!(adopted.token.access_token.expose(), "token-1");
    assert_eq!(adopted.source, TokenSource::Store);
}

on_file_and_redis!(a_worse_refresh_answer_never_replaces_the_record: file_store_keeps_the_better_record, redis_store_keeps_the_better_record);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_is_shared_with_the_waiters() {
    let temp = TempDir::new("fleet-fail");
    let failing = Arc::new(
        ScriptedFetcher::new(vec![Step::Fail(ErrorCode::Network)])
            .delayed(Duration::from_millis(100)),
    );
    let request = request(&temp.store(), "fleet-secret");
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    for result in race(3, &failing, &request, &counters).await {
        assert!(result.is_err());
    }
    // everyone had the holder's answer well before the wait bound, and
    // nobody sent a request of its own after it
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(failing.calls(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_one_request_and_invalidation() {
    let Some(cluster) = RedisCluster::start() else {
        return;
    };
    one_request_for_many_processes(&cluster.url()).await;
    invalidation_deletes_only_the_dropped_token_and_tells_everyone(&cluster.url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_hangs_costs_at_most_the_budget() {
    // Accepted but never answered (the backlog accepts for us).
    let (_listener, port) = silent_server();
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&format!("redis://127.0.0.1:{port}"), "fleet-secret");
    let counters = Arc::new(Counters::default());
    let (process, _) = fetcher(&endpoint, "none");
    let started = Instant::now();
    let fetched = process
        .fetch(request, counters.clone(), context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fetched.source, TokenSource::Endpoint);
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_in_redis_names_the_client_or_holds_the_token() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&server.url(), "fleet-secret");
    let (process, _) = fetcher(&endpoint, "none");
    let counters = Arc::new(Counters::default());
    process
        .fetch(request, counters, context(FetchReason::Miss, None))
        .await
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "the record only: the lock was released");
    let channels: Vec<String> = redis::cmd("PUBSUB")
        .arg("CHANNELS")
        .query_async(&mut connection)
        .await
        .unwrap();
    for key in &keys {
        let value: Vec<u8> = redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let text = format!("{key} {} {channels:?}", String::from_utf8_lossy(&value));
        for needle in [
            "store-test-client",
            "urn:store-test",
            "fleet-secret",
            "token-1",
            "Bearer",
        ] {
            assert!(!text.contains(needle), "{needle} in {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_after_invalidate_the_dropped_token_is_never_taken_back() {
    let temp = TempDir::new("fleet-tomb");
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&temp.store(), "tombstone-secret");
    let counters = Arc::new(Counters::default());
    let (process, _) = fetcher(&endpoint, "none");
    let first = process
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    process.invalidated(&request, Some(Arc::new(first.token)));
    // no flush: the record may still be in the store
    let next = process
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    assert_eq!(next.token.access_token.expose(), "token-2");
    // with no token in memory, whatever was stored before is refused
    process.invalidated(&request, None);
    let after = process
        .fetch(request, counters, context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert_eq!(after.token.access_token.expose(), "token-3");
    super::flush_pending().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_comes_back_is_used_again() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let port = server.port;
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&server.url(), "comeback-secret");
    let counters = Arc::new(Counters::default());
    let miss = || context(FetchReason::Miss, None);
    let (process, _) = fetcher(&endpoint, "none");
    process
        .fetch(request.clone(), counters.clone(), miss())
        .await
        .unwrap();
    drop(server);
    let (down, _) = fetcher(&endpoint, "none");
    let fetched = down
        .fetch(request.clone(), counters.clone(), miss())
        .await
        .unwrap();
    assert_eq!(fetched.source, TokenSource::Endpoint);
    assert!(counters.store_errors.load(Ordering::SeqCst) >= 1);
    let Some(_restarted) = RedisServer::start_on(port) else {
        return;
    };
    // Past the back-off (and once the connection has come back, which
    // takes as long as the client's reconnect schedule), a token written by
    // one process is read by the next.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (writer, _) = fetcher(&endpoint, "none");
        let written = writer
            .fetch(request.clone(), counters.clone(), miss())
            .await
            .unwrap();
        let (reader, _) = fetcher(&endpoint, "none");
        let read = reader
            .fetch(request.clone(), counters.clone(), miss())
            .await
            .unwrap();
        if read.source == TokenSource::Store {
            assert_eq!(
                read.token.access_token.expose(),
                written.token.access_token.expose()
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted store was not used again within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn an_unwritable_folder_is_a_store_error_not_a_failure() {
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request("file:/proc/m2m-token-cannot-be-here", "unwritable-secret");
    let counters = Arc::new(Counters::default());
    let (process, _) = fetcher(&endpoint, "none");
    let fetched = process
        .fetch(request, counters.clone(), context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert_eq!(fetched.source, TokenSource::Endpoint);
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rediss_trusts_node_extra_ca_certs() {
    let Some((server, _dir, ca)) = start_tls_redis() else {
        return;
    };
    // The only TLS test of this binary: the roots are read once per process.
    std::env::set_var("NODE_EXTRA_CA_CERTS", &ca);
    let store = format!("rediss://localhost:{}", server.port);
    let endpoint = ScriptedFetcher::tokens(Duration::ZERO);
    let request = request(&store, "tls-secret");
    let counters = Arc::new(Counters::default());
    let (writer, _) = fetcher(&endpoint, "none");
    writer
        .fetch(
            request.clone(),
            counters.clone(),
            context(FetchReason::Miss, None),
        )
        .await
        .unwrap();
    let (reader, _) = fetcher(&endpoint, "none");
    let read = reader
        .fetch(request, counters.clone(), context(FetchReason::Miss, None))
        .await
        .unwrap();
    assert_eq!(
        read.source,
        TokenSource::Store,
        "store errors: {:?}",
        counters.store_errors
    );
    assert_eq!(counters.store_errors.load(Ordering::SeqCst), 0);
}

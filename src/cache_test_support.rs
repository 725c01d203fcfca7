//! What the cache's test modules share: a request for a client id, and a
//! cache in front of the scripted endpoint on a clock the test moves.

use super::*;
use crate::clock::ManualClock;
use crate::options::RawOptions;
use crate::scripted_fetcher::{ScriptedFetcher, Step};
use crate::secret::Secret;
use std::time::Duration;

pub fn request(client_id: &str, leeway_seconds: f64) -> Arc<TokenRequest> {
    Arc::new(
        TokenRequest::from_options(RawOptions {
            token_url: Some("http://127.0.0.1:1/oauth/token".into()),
            client_id: Some(client_id.into()),
            client_secret: Some(Secret::new("secret".into())),
            leeway_seconds: Some(leeway_seconds),
            ..RawOptions::default()
        })
        .unwrap(),
    )
}

/// The cache and the endpoint read `clock`; the endpoint answers after
/// `delay` of Tokio time (paused by tests that want no real waiting).
pub fn clocked(
    script: Vec<Step>,
    delay: Duration,
) -> (Arc<TokenCache>, Arc<ScriptedFetcher>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let fetcher = Arc::new(
        ScriptedFetcher::new(script)
            .delayed(delay)
            .with_clock(clock.clone()),
    );
    let cache = TokenCache::with_clock(
        fetcher.clone(),
        tokio::runtime::Handle::current(),
        DEFAULT_MAX_ENTRIES,
        clock.clone(),
    );
    (cache, fetcher, clock)
}

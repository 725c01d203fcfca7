//! The one `TokenCache` of the process, and the module-level exports that
//! act on all of it.

use super::thread_slot;
use crate::cache::{TokenCache, DEFAULT_MAX_ENTRIES};
use crate::fetch::HttpFetcher;
use napi_derive::napi;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

pub fn cache() -> &'static Arc<TokenCache> {
    static CACHE: OnceLock<Arc<TokenCache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = TokenCache::new(
            Arc::new(HttpFetcher),
            crate::runtime::handle().clone(),
            DEFAULT_MAX_ENTRIES,
        );
        cache.set_change_listener(Box::new(thread_slot::publish_generation));
        cache
    })
}

#[napi(object)]
pub struct Stats {
    pub hits: f64,
    pub misses: f64,
    pub requests: f64,
    pub refreshes: f64,
    pub errors: f64,
    pub entries: f64,
}

#[napi]
pub fn stats() -> Stats {
    let cache = cache();
    let calls = thread_slot::call_totals();
    Stats {
        hits: calls.hits,
        misses: calls.misses,
        errors: calls.errors,
        requests: cache.counters().requests.load(Ordering::Relaxed) as f64,
        refreshes: cache.counters().refreshes.load(Ordering::Relaxed) as f64,
        entries: cache.len() as f64,
    }
}

#[napi]
pub fn clear_cache() {
    cache().clear();
}

//! The one `TokenCache` of the process, and the module-level exports that
//! act on all of it.

use super::thread_slot;
use crate::cache::{Change, TokenCache, DEFAULT_MAX_ENTRIES};
use crate::fetch::HttpFetcher;
use crate::store::{RemoteInvalidation, StoreFetcher};
use napi::bindgen_prelude::{ArrayBuffer, Object};
use napi::Env;
use napi_derive::napi;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

pub fn cache() -> &'static Arc<TokenCache> {
    static CACHE: OnceLock<Arc<TokenCache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        // Another process invalidated an entry this one may hold.
        let on_remote_invalidation: RemoteInvalidation = Arc::new(|key, is_stale| {
            cache().drop_if(key, is_stale);
        });
        let fetcher = StoreFetcher::new(Arc::new(HttpFetcher), on_remote_invalidation);
        let cache = TokenCache::new(
            Arc::new(fetcher),
            crate::runtime::handle().clone(),
            DEFAULT_MAX_ENTRIES,
        );
        cache.set_change_listener(Box::new(thread_slot::publish_generation));
        cache
    })
}

/// The calling JavaScript thread's shared block (see `thread_slot.rs`),
/// seeded with the cache's current generation and epoch.
#[napi]
pub fn attach_thread(env: &Env) -> napi::Result<ArrayBuffer<'_>> {
    thread_slot::attach(env, || {
        let cache = cache();
        Change {
            generation: cache.generation(),
            invalidations: cache.invalidations(),
        }
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
    pub store_hits: f64,
    pub store_errors: f64,
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
        store_hits: cache.counters().store_hits.load(Ordering::Relaxed) as f64,
        store_errors: cache.counters().store_errors.load(Ordering::Relaxed) as f64,
    }
}

#[napi]
pub fn clear_cache() {
    cache().clear();
}

/// Settles once this process's background store work (an invalidation's
/// delete and message) is done, within half a second. For short-lived
/// processes such as the command line, which exit right after.
#[napi(ts_return_type = "Promise<void>")]
pub fn flush_store(env: &Env) -> napi::Result<Object<'_>> {
    type Resolve = Box<dyn FnOnce(Env) -> napi::Result<()> + Send>;
    let (deferred, promise) = env.create_deferred::<(), Resolve>()?;
    crate::runtime::handle().spawn(async move {
        crate::store::flush_pending().await;
        deferred.resolve(Box::new(|_env| Ok(())));
    });
    Ok(promise)
}

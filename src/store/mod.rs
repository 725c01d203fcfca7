//! Shared stores: one token per entry for every process that shares one.
//!
//! The store sits behind the fetch seam (`fetcher::Fetcher`), not inside the
//! cache: on a memory miss the cache's single flight calls `StoreFetcher`
//! once per process, and it reads the shared record before asking the
//! token endpoint (through the `HttpFetcher` it wraps). A cache hit never
//! comes here, so a store costs hits nothing.
//!
//! The `store` option is parsed in `crate::store_spec`.
//!
//! - `seal`, `record`: what makes a record unreadable and unforgeable
//!   without the credential.
//! - `backend`: the small trait each kind implements (`file`, with
//!   `file_messages` and `private_folder`; `redis_store`, with its keys,
//!   commands, lock, subscriber, cluster connection and `redis_sentinel`).
//! - `fleet`: the one protocol on top of it (single flight, refresh ahead,
//!   invalidation, rate-limit windows); `events`: the messages between
//!   processes; `failure`: a failed request as the fleet shares it.
//! - `handle`, `registry`: one instance per store URL, with timeouts,
//!   a budget per call and a back-off when the store is down.
//! - `pending`: background work a short-lived process may wait for;
//!   `tombstones`: what this process invalidated and must not take back.

mod backend;
mod events;
mod failure;
mod file;
mod file_messages;
mod fleet;
mod handle;
mod pending;
mod private_folder;
mod record;
mod redis_cluster;
mod redis_commands;
mod redis_keys;
mod redis_lock;
mod redis_sentinel;
mod redis_store;
mod redis_subscriber;
mod redis_timeouts;
mod registry;
mod seal;
mod tombstones;

pub use crate::store_spec::StoreSpec;
pub use pending::flush_pending;

use crate::fetcher::{Counters, FetchContext, FetchFuture, Fetcher};
use crate::key::CacheKey;
use crate::options::TokenRequest;
use crate::token::Token;
use std::sync::{Arc, OnceLock};

/// Told when another process invalidated an entry: drop it from memory if
/// `is_stale` says the token held is the one invalidated.
pub type RemoteInvalidation = Arc<dyn Fn(&CacheKey, &dyn Fn(&Token) -> bool) + Send + Sync>;

/// The process's fetcher: the request's store, then the token endpoint.
pub struct StoreFetcher {
    endpoint: Arc<dyn Fetcher>,
    on_remote_invalidation: RemoteInvalidation,
    /// The cache's counters, kept from its first fetch so that background
    /// invalidations can count store errors too.
    counters: OnceLock<Arc<Counters>>,
}

impl StoreFetcher {
    pub fn new(endpoint: Arc<dyn Fetcher>, on_remote_invalidation: RemoteInvalidation) -> Self {
        StoreFetcher {
            endpoint,
            on_remote_invalidation,
            counters: OnceLock::new(),
        }
    }
}

impl Fetcher for StoreFetcher {
    fn fetch(
        &self,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture {
        if request.store == StoreSpec::Memory {
            return self.endpoint.fetch(request, counters, context);
        }
        self.counters.get_or_init(|| counters.clone());
        let endpoint = self.endpoint.clone();
        let on_remote_invalidation = self.on_remote_invalidation.clone();
        Box::pin(async move {
            match registry::store_for(&request.store, request.ca.as_deref()) {
                Ok(store) => {
                    fleet::Flight::new(
                        store,
                        endpoint,
                        request,
                        counters,
                        context,
                        &on_remote_invalidation,
                    )
                    .run()
                    .await
                }
                Err(_) => {
                    Counters::count(&counters.store_errors);
                    endpoint.fetch(request, counters, context).await
                }
            }
        })
    }

    fn invalidated(&self, request: &Arc<TokenRequest>, dropped: Option<Arc<Token>>) {
        if request.store == StoreSpec::Memory {
            return;
        }
        // Before returning: no later flight of this process may take the
        // dropped token from the store, even before the store forgets it.
        let seal = seal::EntrySeal::of(request);
        tombstones::bury(&seal, dropped.as_deref());
        let request = request.clone();
        let counters = self.counters.get().cloned();
        pending::spawn(async move {
            if let Ok(store) = registry::store_for(&request.store, request.ca.as_deref()) {
                fleet::invalidate(&store, &seal, dropped, counters.as_deref()).await;
            }
        });
    }
}

#[cfg(test)]
#[path = "fleet_model_reference.rs"]
mod fleet_model;
#[cfg(test)]
#[path = "fleet_model_harness.rs"]
mod fleet_model_harness;
#[cfg(test)]
#[path = "fleet_model_tests.rs"]
mod fleet_model_tests;
#[cfg(test)]
#[path = "fleet_tests.rs"]
mod fleet_tests;
#[cfg(test)]
mod test_support;

//! One store instance per store URL per process, shared by every thread:
//! one Redis connection (plus one subscription) per URL however many
//! clients and threads use it.
//!
//! Keyed by a hash of the whole spec (password included, so two URLs that
//! differ only by credentials are two stores) and, for `rediss://`, of the
//! requests' `ca`: a TLS connection trusts what its requests' token
//! endpoint trusts, so requests with another `ca` get a connection of their
//! own (one per distinct URL and `ca`). Bounded: a process that cycles
//! through many URLs drops the least recently used instance, whose
//! background tasks end once no flight holds it any more.

use super::backend::{Backend, StoreFailure, StoreResult};
use super::file::FileBackend;
use super::handle::StoreHandle;
use super::redis_store::RedisBackend;
use crate::bounded::BoundedMap;
use crate::key::KeyHasher;
use crate::store_spec::StoreSpec;
use std::sync::{Arc, LazyLock, Mutex};

const MAX_STORES: usize = 16;

/// The process's instance for `spec` (and `ca`, for a TLS Redis), made on
/// first use. Must run inside the Tokio runtime (a store starts its
/// message listener there).
pub fn store_for(spec: &StoreSpec, ca: Option<&str>) -> StoreResult<Arc<StoreHandle>> {
    static STORES: LazyLock<Mutex<BoundedMap<[u8; 32], Arc<StoreHandle>>>> =
        LazyLock::new(|| Mutex::new(BoundedMap::new(MAX_STORES)));
    // Only a TLS connection depends on `ca`: the others are shared by all.
    let ca = match spec {
        StoreSpec::Redis(redis) if redis.tls => ca,
        _ => None,
    };
    let key = registry_key(spec, ca);
    let mut stores = STORES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(store) = stores.get(&key) {
        return Ok(store.clone());
    }
    let backend: Arc<dyn Backend> = match spec {
        StoreSpec::Memory => return Err(StoreFailure),
        StoreSpec::File(file) => Arc::new(FileBackend::new(file.dir.clone())),
        StoreSpec::Redis(redis) => Arc::new(RedisBackend::new(redis, ca)?),
    };
    let store = StoreHandle::new(backend);
    stores.insert(key, store.clone());
    Ok(store)
}

/// Length-prefixed parts, so no spec and `ca` pair can mimic another.
fn registry_key(spec: &StoreSpec, ca: Option<&str>) -> [u8; 32] {
    KeyHasher::new()
        .text(spec.key_material())
        .optional_text(ca)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("../../__test__/fixtures/ca.pem");

    #[tokio::test]
    async fn a_tls_redis_connection_is_per_url_and_ca_the_others_per_url() {
        // Nothing listens there: connections are made lazily, never here.
        let plain = StoreSpec::parse("redis://127.0.0.1:1/3").unwrap();
        let tls = StoreSpec::parse("rediss://127.0.0.1:1/3").unwrap();
        let other_ca = CA.replace("\n", "\r\n");
        let same = |a: &Arc<StoreHandle>, b: &Arc<StoreHandle>| Arc::ptr_eq(a, b);

        let plain_a = store_for(&plain, Some(CA)).unwrap();
        assert!(same(&plain_a, &store_for(&plain, None).unwrap()));
        assert!(same(&plain_a, &store_for(&plain, Some(&other_ca)).unwrap()));

        let tls_a = store_for(&tls, Some(CA)).unwrap();
        assert!(same(&tls_a, &store_for(&tls, Some(CA)).unwrap()));
        assert!(!same(&tls_a, &store_for(&tls, None).unwrap()));
        assert!(!same(&tls_a, &store_for(&tls, Some(&other_ca)).unwrap()));
        assert!(!same(&tls_a, &plain_a));
    }
}

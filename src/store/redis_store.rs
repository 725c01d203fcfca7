//! The Redis store (one server, a Redis Cluster, or the master that Redis
//! Sentinels name): a fleet shares tokens.
//!
//! Per entry, named by its opaque record name: `m2m:{<name>}:tok` holds the
//! sealed record (expiring with its token), `m2m:{<name>}:fail` the last
//! failure and its rate-limit window, `m2m:{<name>}:lock` the fleet
//! lock (`SET NX PX` with a random owner, released and renewed by Lua
//! compare-and-act scripts, so a process never touches a lock it lost), and
//! `m2m:{<name>}:ev` is the entry's pub/sub channel. The braces are a hash
//! tag: in a cluster, an entry's keys share one slot.
//!
//! One multiplexed connection per store URL carries every command of the
//! process (`redis_commands.rs`), reconnecting by itself; one more,
//! `PSUBSCRIBE m2m:*`, receives messages for every entry
//! (`redis_subscriber.rs`), so no entry needs a subscription of its own;
//! the lock is `redis_lock.rs`. Behind Sentinels,
//! both run on the master `redis_sentinel.rs` names and move with it.

use super::backend::{Backend, HeldLock, Slot, StoreFailure, StoreFuture, StoreResult};
use super::events::EventHub;
use super::redis_cluster::LazyCluster;
use super::redis_commands::Commands;
use super::redis_keys::{channel, lock_key, record_key};
use super::redis_lock::{random_owner, RedisLock, DELETE_IF_EQUALS};
use super::redis_sentinel::SentinelMaster;
use super::redis_subscriber::{follow_messages, Subscribers};
use super::redis_timeouts::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::store_spec::RedisSpec;
use crate::tls::roots_bundle;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo,
    RedisConnectionInfo, TlsCertificates,
};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Waiters re-check this often besides being woken: to see a dead holder's
/// lock expire. Faster while messages are not being received.
const RECHECK_WITH_MESSAGES: Duration = Duration::from_millis(250);
const RECHECK_WITHOUT_MESSAGES: Duration = Duration::from_millis(100);

pub struct RedisBackend {
    commands: Commands,
    subscribers: Subscribers,
}

impl RedisBackend {
    /// Sets up the clients; connections are made on first use, in the
    /// background, so a dead server costs no caller more than its budget.
    /// `ca`: the requests' extra TLS roots, trusted as the endpoint trusts
    /// them (see `tls.rs`).
    pub fn new(spec: &RedisSpec, ca: Option<&str>) -> StoreResult<RedisBackend> {
        let roots = if spec.tls { roots_bundle(ca) } else { None };
        if spec.sentinel_master.is_some() {
            let config = AsyncConnectionConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT));
            let master = Arc::new(SentinelMaster::new(spec, roots, config)?);
            return Ok(RedisBackend {
                commands: Commands::Sentinel(master.clone()),
                subscribers: Subscribers::Sentinel(master),
            });
        }
        let infos: Vec<ConnectionInfo> = spec
            .nodes
            .iter()
            .map(|(host, port)| connection_info(spec, host, *port))
            .collect::<Result<_, _>>()?;
        let subscribers = infos
            .iter()
            .map(|info| client(info.clone(), roots.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let commands = if spec.cluster {
            Commands::Cluster(Arc::new(LazyCluster::new(spec, infos, roots)?))
        } else {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            let manager = ConnectionManager::new_lazy_with_config(subscribers[0].clone(), config)
                .map_err(|_| StoreFailure)?;
            Commands::Single(manager)
        };
        Ok(RedisBackend {
            commands,
            subscribers: Subscribers::Nodes(subscribers),
        })
    }
}

fn connection_info(spec: &RedisSpec, host: &str, port: u16) -> StoreResult<ConnectionInfo> {
    let addr = if spec.tls {
        ConnectionAddr::TcpTls {
            host: host.to_string(),
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host.to_string(), port)
    };
    let mut redis = RedisConnectionInfo::default().set_db(spec.db);
    if let Some(user) = &spec.username {
        redis = redis.set_username(user);
    }
    if let Some(password) = &spec.password {
        redis = redis.set_password(password.expose());
    }
    Ok(addr
        .into_connection_info()
        .map_err(|_| StoreFailure)?
        .set_redis_settings(redis))
}

fn client(info: ConnectionInfo, roots: Option<Vec<u8>>) -> StoreResult<Client> {
    let built = match roots {
        Some(roots) => Client::build_with_tls(
            info,
            TlsCertificates {
                client_tls: None,
                root_cert: Some(roots),
            },
        ),
        None => Client::open(info),
    };
    built.map_err(|_| StoreFailure)
}

impl Backend for RedisBackend {
    fn read<'a>(&'a self, name: &'a str, slot: Slot) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.commands
                .run(redis::cmd("GET").arg(record_key(name, slot)))
                .await
        })
    }

    fn write<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        sealed: Vec<u8>,
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let ttl_ms = ttl.as_millis().max(1) as u64;
            let command = redis::cmd("SET")
                .arg(record_key(name, slot))
                .arg(sealed)
                .arg("PX")
                .arg(ttl_ms)
                .clone();
            self.commands.run::<()>(&command).await
        })
    }

    fn try_lock<'a>(
        &'a self,
        name: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, Option<Box<dyn HeldLock>>> {
        Box::pin(async move {
            let owner = random_owner();
            let key = lock_key(name);
            let command = redis::cmd("SET")
                .arg(&key)
                .arg(&owner)
                .arg("NX")
                .arg("PX")
                .arg(ttl.as_millis().max(1) as u64)
                .clone();
            let taken: Option<String> = self.commands.run(&command).await?;
            Ok(taken.map(|_| {
                Box::new(RedisLock {
                    commands: self.commands.clone(),
                    key,
                    owner,
                }) as Box<dyn HeldLock>
            }))
        })
    }

    fn delete_if_equals<'a>(
        &'a self,
        name: &'a str,
        slot: Slot,
        expected: Vec<u8>,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let deleted = self
                .commands
                .script(&DELETE_IF_EQUALS, &record_key(name, slot), &[&expected])
                .await?;
            Ok(deleted > 0)
        })
    }

    fn publish<'a>(&'a self, name: &'a str, message: Vec<u8>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let command = redis::cmd("PUBLISH")
                .arg(channel(name))
                .arg(message)
                .clone();
            self.commands.run::<i64>(&command).await.map(|_| ())
        })
    }

    fn start_events(self: Arc<Self>, hub: Weak<EventHub>) {
        tokio::spawn(follow_messages(self.subscribers.clone(), hub));
    }

    fn recheck_interval(&self, messages_live: bool) -> Duration {
        if messages_live {
            RECHECK_WITH_MESSAGES
        } else {
            RECHECK_WITHOUT_MESSAGES
        }
    }
}

#[cfg(test)]
#[path = "redis_store_tests.rs"]
mod tests;

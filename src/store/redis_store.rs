//! The Redis store (one server, a Redis Cluster, or the master that Redis
//! Sentinels name): a fleet shares tokens.
//!
//! Per entry, named by its opaque record name: `m2m:{<name>}:tok` holds the
//! sealed record (expiring with its token), `m2m:{<name>}:lock` the fleet
//! lock (`SET NX PX` with a random owner, released and renewed by Lua
//! compare-and-act scripts, so a process never touches a lock it lost), and
//! `m2m:{<name>}:ev` is the entry's pub/sub channel. The braces are a hash
//! tag: in a cluster, an entry's keys share one slot.
//!
//! One multiplexed connection per store URL carries every command of the
//! process (redis-rs's `ConnectionManager`, or its cluster connection),
//! reconnecting by itself; one more connection, `PSUBSCRIBE m2m:*`, receives
//! messages for every entry (classic pub/sub reaches every node of a
//! cluster), so no entry needs a subscription of its own. Behind Sentinels,
//! both run on the master `redis_sentinel.rs` names and move with it.

use super::backend::{Backend, HeldLock, StoreFailure, StoreFuture, StoreResult};
use super::events::EventHub;
use super::redis_sentinel::{Master, SentinelMaster};
use crate::hex::hex;
use crate::store_spec::RedisSpec;
use crate::tls::roots_bundle;
use futures_util::StreamExt;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, Client, Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo,
    RedisConnectionInfo, Script, TlsCertificates,
};
use ring::rand::{SecureRandom, SystemRandom};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Weak};
use std::time::Duration;
use tokio::sync::watch;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
const MESSAGE_PATTERN: &str = "m2m:*";
/// Waiters re-check this often besides being woken: to see a dead holder's
/// lock expire. Faster while messages are not being received.
const RECHECK_WITH_MESSAGES: Duration = Duration::from_millis(250);
const RECHECK_WITHOUT_MESSAGES: Duration = Duration::from_millis(100);
const SUBSCRIBE_RETRY_MIN: Duration = Duration::from_millis(250);
const SUBSCRIBE_RETRY_MAX: Duration = Duration::from_secs(2);
/// How often an idle subscriber checks that its store is still in use.
const SUBSCRIBER_IDLE_CHECK: Duration = Duration::from_secs(5);

/// Deletes KEYS[1] only if it holds ARGV[1]: lock release, and the
/// invalidation that must not delete a newer record.
static DELETE_IF_EQUALS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end",
    )
});
/// Extends KEYS[1] to ARGV[2] ms only if it holds ARGV[1].
static EXTEND_IF_OWNER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end",
    )
});

fn record_key(name: &str) -> String {
    format!("m2m:{{{name}}}:tok")
}

fn lock_key(name: &str) -> String {
    format!("m2m:{{{name}}}:lock")
}

fn channel(name: &str) -> String {
    format!("m2m:{{{name}}}:ev")
}

/// The record name in a channel name, if it is one of ours.
fn name_of_channel(channel: &str) -> Option<&str> {
    channel.strip_prefix("m2m:{")?.strip_suffix("}:ev")
}

pub struct RedisBackend {
    commands: Commands,
    subscribers: Subscribers,
}

#[derive(Clone)]
enum Commands {
    Single(ConnectionManager),
    Cluster(Arc<LazyCluster>),
    Sentinel(Arc<SentinelMaster>),
}

/// Where the message subscription connects.
#[derive(Clone)]
enum Subscribers {
    /// One client per node, tried in turn.
    Nodes(Vec<Client>),
    /// Whichever master the Sentinels name.
    Sentinel(Arc<SentinelMaster>),
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

impl Commands {
    async fn run<T: redis::FromRedisValue>(&self, command: &Cmd) -> StoreResult<T> {
        match self {
            Commands::Single(manager) => command.query_async(&mut manager.clone()).await,
            Commands::Cluster(cluster) => command.query_async(&mut cluster.get().await?).await,
            Commands::Sentinel(master) => {
                return master
                    .run(|mut connection| async move {
                        command
                            .query_async(&mut connection)
                            .await
                            .map_err(|_| StoreFailure)
                    })
                    .await
            }
        }
        .map_err(|_| StoreFailure)
    }

    async fn script(&self, script: &Script, key: &str, args: &[&[u8]]) -> StoreResult<i64> {
        async fn invoke(
            script: &Script,
            key: &str,
            args: &[&[u8]],
            connection: &mut impl ConnectionLike,
        ) -> StoreResult<i64> {
            let mut invocation = script.key(key);
            for arg in args {
                invocation.arg(*arg);
            }
            invocation
                .invoke_async(connection)
                .await
                .map_err(|_| StoreFailure)
        }
        match self {
            Commands::Single(manager) => invoke(script, key, args, &mut manager.clone()).await,
            Commands::Cluster(cluster) => {
                invoke(script, key, args, &mut cluster.get().await?).await
            }
            Commands::Sentinel(master) => {
                master
                    .run(|mut connection| async move {
                        invoke(script, key, args, &mut connection).await
                    })
                    .await
            }
        }
    }
}

impl Backend for RedisBackend {
    fn read<'a>(&'a self, name: &'a str) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            self.commands
                .run(redis::cmd("GET").arg(record_key(name)))
                .await
        })
    }

    fn write<'a>(&'a self, name: &'a str, sealed: Vec<u8>, ttl: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let ttl_ms = ttl.as_millis().max(1) as u64;
            let command = redis::cmd("SET")
                .arg(record_key(name))
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

    fn delete_if_equals<'a>(&'a self, name: &'a str, expected: Vec<u8>) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let deleted = self
                .commands
                .script(&DELETE_IF_EQUALS, &record_key(name), &[&expected])
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

fn random_owner() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("m2m-token: the system random source failed");
    hex(&bytes)
}

impl Subscribers {
    /// The node to subscribe on at this `attempt`, and for a Sentinel
    /// master, the master itself (to see it move or forget it).
    async fn node(&self, attempt: usize) -> Option<(Client, Option<Arc<Master>>)> {
        match self {
            Subscribers::Nodes(nodes) => Some((nodes[attempt % nodes.len()].clone(), None)),
            Subscribers::Sentinel(master) => {
                let found = master.master().await.ok()?;
                Some((found.client.clone(), Some(found)))
            }
        }
    }

    /// Resolves when the subscription should move (the Sentinels named
    /// another master); never for fixed nodes.
    async fn moved(&self, from: Option<&Master>) {
        match (self, from) {
            (Subscribers::Sentinel(master), Some(from)) => master.moved_from(&from.address).await,
            _ => std::future::pending().await,
        }
    }

    /// The subscription failed on `node`: for a Sentinel master, look it
    /// up again next time.
    fn failed(&self, node: Option<&Master>) {
        if let (Subscribers::Sentinel(master), Some(node)) = (self, node) {
            master.forget(node);
        }
    }
}

/// Receives every entry's messages on one subscription, reconnecting (to
/// the next node, for a cluster; to the current master, behind Sentinels)
/// when it drops, until the store is dropped.
async fn follow_messages(subscribers: Subscribers, hub: Weak<EventHub>) {
    let mut retry = SUBSCRIBE_RETRY_MIN;
    // Behind Sentinels: the master last subscribed on, or tried.
    let mut last: Option<Arc<Master>> = None;
    for attempt in 0usize.. {
        if hub.strong_count() == 0 {
            return;
        }
        if let Some((node, master)) = subscribers.node(attempt).await {
            if master.is_some() {
                last = master;
            }
            let subscribed = tokio::time::timeout(CONNECT_TIMEOUT * 2, async {
                let mut pubsub = node.get_async_pubsub().await?;
                pubsub.psubscribe(MESSAGE_PATTERN).await?;
                Ok::<_, redis::RedisError>(pubsub)
            })
            .await;
            if let Ok(Ok(pubsub)) = subscribed {
                retry = SUBSCRIBE_RETRY_MIN;
                if !relay(pubsub, &subscribers, last.as_deref(), &hub).await {
                    return;
                }
            }
            // Failed, gone (a dead master) or moved: only a master still
            // current is forgotten, so the next try asks the Sentinels again.
            subscribers.failed(last.as_deref());
        }
        // Sooner if the commands' lookup names a new master meanwhile.
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = subscribers.moved(last.as_deref()) => {}
        }
        retry = (retry * 2).min(SUBSCRIBE_RETRY_MAX);
    }
}

/// Hands the subscription's messages to `hub` until it drops or the
/// Sentinels name another master; false once the store is gone.
async fn relay(
    pubsub: redis::aio::PubSub,
    subscribers: &Subscribers,
    master: Option<&Master>,
    hub: &Weak<EventHub>,
) -> bool {
    // Keep the sink: dropping it may end the connection.
    let (_sink, mut stream) = pubsub.split();
    if let Some(hub) = hub.upgrade() {
        hub.set_live(true);
    }
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = subscribers.moved(master) => None,
            _ = tokio::time::sleep(SUBSCRIBER_IDLE_CHECK) => {
                if hub.strong_count() == 0 { return false; }
                continue;
            }
        };
        let Some(message) = message else {
            break;
        };
        let Some(hub) = hub.upgrade() else {
            return false;
        };
        if let Some(name) = name_of_channel(message.get_channel_name()) {
            hub.deliver(name, message.get_payload_bytes());
        }
    }
    if let Some(hub) = hub.upgrade() {
        hub.set_live(false);
    }
    true
}

/// A lock this process took with `SET NX PX`.
struct RedisLock {
    commands: Commands,
    key: String,
    owner: String,
}

impl HeldLock for RedisLock {
    fn renew(&self, ttl: Duration) -> StoreFuture<'_, bool> {
        Box::pin(async move {
            let ttl_ms = (ttl.as_millis().max(1) as u64).to_string();
            let extended = self
                .commands
                .script(
                    &EXTEND_IF_OWNER,
                    &self.key,
                    &[self.owner.as_bytes(), ttl_ms.as_bytes()],
                )
                .await?;
            Ok(extended > 0)
        })
    }

    fn release(self: Box<Self>) -> StoreFuture<'static, ()> {
        Box::pin(async move {
            self.commands
                .script(&DELETE_IF_EQUALS, &self.key, &[self.owner.as_bytes()])
                .await
                .map(|_| ())
        })
    }

    fn needs_renewal(&self) -> bool {
        true
    }
}

/// The cluster connection, made in the background on first use and then
/// kept (it follows the cluster's topology and reconnects by itself).
struct LazyCluster {
    client: redis::cluster::ClusterClient,
    connection: watch::Sender<Option<ClusterConnection>>,
    connecting: AtomicBool,
}

impl LazyCluster {
    fn new(
        spec: &RedisSpec,
        nodes: Vec<ConnectionInfo>,
        roots: Option<Vec<u8>>,
    ) -> StoreResult<LazyCluster> {
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(CONNECT_TIMEOUT)
            .response_timeout(RESPONSE_TIMEOUT)
            .retries(1);
        if let Some(user) = &spec.username {
            builder = builder.username(user);
        }
        if let Some(password) = &spec.password {
            builder = builder.password(password.expose());
        }
        if spec.tls {
            builder = builder.tls(redis::TlsMode::Secure);
            if let Some(roots) = roots {
                builder = builder.certs(TlsCertificates {
                    client_tls: None,
                    root_cert: Some(roots),
                });
            }
        }
        Ok(LazyCluster {
            client: builder.build().map_err(|_| StoreFailure)?,
            connection: watch::Sender::new(None),
            connecting: AtomicBool::new(false),
        })
    }

    async fn get(self: &Arc<Self>) -> StoreResult<ClusterConnection> {
        if let Some(connection) = self.connection.borrow().clone() {
            return Ok(connection);
        }
        let mut ready = self.connection.subscribe();
        if !self.connecting.swap(true, Ordering::AcqRel) {
            // Not tied to this caller: a slow first connection still
            // completes for the next one.
            let this = self.clone();
            tokio::spawn(async move {
                let connected =
                    tokio::time::timeout(CONNECT_TIMEOUT * 2, this.client.get_async_connection())
                        .await;
                if let Ok(Ok(connection)) = connected {
                    this.connection.send_replace(Some(connection));
                }
                this.connecting.store(false, Ordering::Release);
            });
        }
        let connection = ready
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreFailure)?;
        connection.clone().ok_or(StoreFailure)
    }
}

#[cfg(test)]
#[path = "redis_store_tests.rs"]
mod tests;

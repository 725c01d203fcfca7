//! The master of a Redis behind Sentinels (`redis+sentinel://`), found with
//! redis-rs's own Sentinel client and followed through failovers.
//!
//! The Redis store (`redis_store.rs`) runs its commands and its subscription
//! on whatever master this names; everything else (keys, Lua scripts,
//! messages) is the same as for one server.
//!
//! How a failover is followed: the master found is kept with one
//! multiplexed connection to it. A command that fails on that connection
//! (refused, reset, `READONLY` from a demoted master), or that its caller
//! gave up on (a hung master), makes this forget it; the next use asks the
//! Sentinels again, in the background, so a caller waits at most its own
//! store budget. While the Sentinels still name the dead master, or none,
//! a lookup fails fast and the store is skipped for its back-off (see
//! `handle.rs`); once they name the new master, the next lookup finds it.
//! The subscription moves when a lookup names another master.
//!
//! Credentials in the URL are the master's (and its replicas'); the
//! Sentinels are asked without them, as they usually run without
//! `requirepass`. With `rediss+sentinel://` both the Sentinels and the
//! master are reached over TLS, trusting what `tls.rs` says.
//!
//! Lock order: `sentinels` is the only lock, never held across an await.

use super::backend::{StoreFailure, StoreResult};
use crate::store_spec::RedisSpec;
use redis::aio::MultiplexedConnection;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, TlsCertificates, TlsMode};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A whole lookup: asking the Sentinels, checking the master's `ROLE`,
/// connecting to it. Runs in the background; callers wait less.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// A master the Sentinels named, with a connection to it.
#[derive(Clone)]
pub struct Master {
    pub client: Client,
    pub connection: MultiplexedConnection,
    /// `host:port`, to tell a new master from the same one found again.
    pub address: String,
    generation: u64,
}

#[derive(Clone)]
enum State {
    /// Not looked up yet, or forgotten after a failure.
    Unknown,
    Found(Arc<Master>),
    /// The last lookup found no usable master.
    Failed,
}

pub struct SentinelMaster {
    /// Kept between lookups for its connections to the Sentinels; taken out
    /// by the one lookup running (and rebuilt if that lookup was dropped).
    sentinels: Mutex<Option<SentinelClient>>,
    spec: RedisSpec,
    roots: Option<Vec<u8>>,
    connection_config: AsyncConnectionConfig,
    state: watch::Sender<State>,
    looking_up: AtomicBool,
    generations: AtomicU64,
}

impl SentinelMaster {
    /// Nothing is contacted here: the first use looks the master up.
    pub fn new(
        spec: &RedisSpec,
        roots: Option<Vec<u8>>,
        connection_config: AsyncConnectionConfig,
    ) -> StoreResult<SentinelMaster> {
        let sentinels = sentinel_client(spec, roots.as_deref())?;
        Ok(SentinelMaster {
            sentinels: Mutex::new(Some(sentinels)),
            spec: spec.clone(),
            roots,
            connection_config,
            state: watch::Sender::new(State::Unknown),
            looking_up: AtomicBool::new(false),
            generations: AtomicU64::new(0),
        })
    }

    /// The current master, looked up first if need be. Fails at once when
    /// the lookup finds none.
    pub async fn master(self: &Arc<Self>) -> StoreResult<Arc<Master>> {
        let mut changes = self.state.subscribe();
        if let State::Found(master) = &*changes.borrow_and_update() {
            return Ok(master.clone());
        }
        if !self.looking_up.swap(true, Ordering::AcqRel) {
            // Not tied to this caller: a lookup its caller gave up on still
            // completes for the next one.
            tokio::spawn(self.clone().look_up());
        }
        changes.changed().await.map_err(|_| StoreFailure)?;
        let state = changes.borrow().clone();
        match state {
            State::Found(master) => Ok(master),
            State::Unknown | State::Failed => Err(StoreFailure),
        }
    }

    /// Runs `operation` on the master's connection. If it fails, or its
    /// caller drops it (a master that hangs), the master is forgotten and
    /// looked up again on next use.
    pub async fn run<T, F, Fut>(self: &Arc<Self>, operation: F) -> StoreResult<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = StoreResult<T>>,
    {
        let master = self.master().await?;
        let mut guard = ForgetUnlessDone {
            owner: self,
            generation: master.generation,
            done: false,
        };
        let outcome = operation(master.connection.clone()).await;
        guard.done = outcome.is_ok();
        outcome
    }

    /// Forgets the master of `generation`, if it is still the current one.
    pub fn forget(&self, master: &Master) {
        self.forget_generation(master.generation);
    }

    fn forget_generation(&self, generation: u64) {
        self.state.send_if_modified(|state| match state {
            State::Found(master) if master.generation == generation => {
                *state = State::Unknown;
                true
            }
            _ => false,
        });
    }

    /// Resolves once a lookup names a master other than `address`.
    pub async fn moved_from(&self, address: &str) {
        let mut changes = self.state.subscribe();
        let moved = changes
            .wait_for(|state| matches!(state, State::Found(m) if m.address != address))
            .await
            .is_ok();
        if !moved {
            std::future::pending::<()>().await;
        }
    }

    async fn look_up(self: Arc<Self>) {
        let taken = self.lock_sentinels().take();
        let mut sentinels = match taken {
            Some(sentinels) => Some(sentinels),
            None => sentinel_client(&self.spec, self.roots.as_deref()).ok(),
        };
        let found = match sentinels.as_mut() {
            Some(sentinels) => tokio::time::timeout(LOOKUP_TIMEOUT, async {
                let client = sentinels.async_get_client().await?;
                let connection = client
                    .get_multiplexed_async_connection_with_config(&self.connection_config)
                    .await?;
                Ok::<_, redis::RedisError>((client, connection))
            })
            .await
            .ok()
            .and_then(Result::ok),
            None => None,
        };
        *self.lock_sentinels() = sentinels;
        let state = match found {
            Some((client, connection)) => State::Found(Arc::new(Master {
                address: client.get_connection_info().addr().to_string(),
                client,
                connection,
                generation: self.generations.fetch_add(1, Ordering::Relaxed) + 1,
            })),
            None => State::Failed,
        };
        // Cleared before the result is sent: a caller that sees the old
        // state after this starts a lookup of its own rather than waiting
        // for a result that was already sent.
        self.looking_up.store(false, Ordering::Release);
        self.state.send_replace(state);
    }

    fn lock_sentinels(&self) -> std::sync::MutexGuard<'_, Option<SentinelClient>> {
        self.sentinels.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct ForgetUnlessDone<'a> {
    owner: &'a SentinelMaster,
    generation: u64,
    done: bool,
}

impl Drop for ForgetUnlessDone<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.owner.forget_generation(self.generation);
        }
    }
}

fn sentinel_client(spec: &RedisSpec, roots: Option<&[u8]>) -> StoreResult<SentinelClient> {
    let master_name = spec.sentinel_master.as_deref().ok_or(StoreFailure)?;
    let addresses = spec.nodes.iter().map(|(host, port)| {
        if spec.tls {
            ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.clone(), *port)
        }
    });
    let mut builder =
        SentinelClientBuilder::new(addresses, master_name, SentinelServerType::Master)
            .map_err(|_| StoreFailure)?
            .set_client_to_redis_db(spec.db);
    if let Some(user) = &spec.username {
        builder = builder.set_client_to_redis_username(user);
    }
    if let Some(password) = &spec.password {
        builder = builder.set_client_to_redis_password(password.expose());
    }
    if spec.tls {
        builder = builder.set_client_to_redis_tls_mode(TlsMode::Secure);
        if let Some(roots) = roots {
            let certificates = || TlsCertificates {
                client_tls: None,
                root_cert: Some(roots.to_vec()),
            };
            builder = builder
                .set_client_to_redis_certificates(certificates())
                .set_client_to_sentinel_certificates(certificates());
        }
    }
    builder.build().map_err(|_| StoreFailure)
}

//! The commands connection of a Redis store: one multiplexed connection
//! per store URL carries every command of the process, to one server
//! (redis-rs's `ConnectionManager`), a cluster (`redis_cluster.rs`), or
//! the master the Sentinels name (`redis_sentinel.rs`).

use super::backend::{StoreFailure, StoreResult};
use super::redis_cluster::LazyCluster;
use super::redis_sentinel::SentinelMaster;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, Script};
use std::sync::Arc;

#[derive(Clone)]
pub enum Commands {
    Single(ConnectionManager),
    Cluster(Arc<LazyCluster>),
    Sentinel(Arc<SentinelMaster>),
}

impl Commands {
    pub async fn run<T: redis::FromRedisValue>(&self, command: &Cmd) -> StoreResult<T> {
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

    pub async fn script(&self, script: &Script, key: &str, args: &[&[u8]]) -> StoreResult<i64> {
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

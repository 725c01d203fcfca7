//! The Redis Cluster connection of a store, made in the background on
//! first use so that a dead cluster costs no caller more than its budget.

use super::backend::{StoreFailure, StoreResult};
use super::redis_timeouts::{CONNECT_TIMEOUT, RESPONSE_TIMEOUT};
use crate::store_spec::RedisSpec;
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{ConnectionInfo, TlsCertificates};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// The cluster connection, made in the background on first use and then
/// kept (it follows the cluster's topology and reconnects by itself).
pub struct LazyCluster {
    client: redis::cluster::ClusterClient,
    connection: watch::Sender<Option<ClusterConnection>>,
    connecting: AtomicBool,
}

impl LazyCluster {
    pub fn new(
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

    pub async fn get(self: &Arc<Self>) -> StoreResult<ClusterConnection> {
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

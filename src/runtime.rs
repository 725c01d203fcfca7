//! The one Tokio runtime and the HTTP clients of the process.
//!
//! Both live in statics and are never dropped: the addon is loaded once per
//! process and shared by every worker thread, so no single thread's exit may
//! tear them down. Their threads hold no handle on any Node event loop, so a
//! request in flight never keeps a script alive.

use crate::error::{ErrorCode, TokenError};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime};

pub fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("m2m-token")
                .enable_all()
                .build()
                .expect("m2m-token: cannot start its Tokio runtime")
        })
        .handle()
}

/// The client for requests trusting the built-in roots, `NODE_EXTRA_CA_CERTS`
/// and the given extra roots. One per distinct `ca`, so connections are
/// pooled and TLS configuration is parsed once.
pub fn http_client(ca: Option<&str>) -> Result<reqwest::Client, TokenError> {
    static CLIENTS: OnceLock<Mutex<HashMap<[u8; 32], reqwest::Client>>> = OnceLock::new();
    let key: [u8; 32] = Sha256::digest(ca.unwrap_or("").as_bytes()).into();
    let clients = CLIENTS.get_or_init(Default::default);
    if let Some(client) = clients.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(client.clone());
    }
    let client = build_client(ca)?;
    clients
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, client.clone());
    Ok(client)
}

fn build_client(ca: Option<&str>) -> Result<reqwest::Client, TokenError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        // Credentials go to the configured endpoint and nowhere else.
        .redirect(reqwest::redirect::Policy::none())
        // Like Node's own fetch: proxies from the environment are not used.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("m2m-token/", env!("CARGO_PKG_VERSION")));
    for cert in node_extra_ca_certs() {
        builder = builder.add_root_certificate(cert);
    }
    if let Some(pem) = ca {
        let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| {
            TokenError::new(
                ErrorCode::InvalidOptions,
                "ca is not a valid PEM certificate bundle",
            )
        })?;
        if certs.is_empty() {
            return Err(TokenError::invalid_options("ca holds no PEM certificate"));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|_| {
        TokenError::new(
            ErrorCode::Network,
            "cannot set up TLS for the token endpoint",
        )
    })
}

/// Node users put private roots in `NODE_EXTRA_CA_CERTS`; honour it as Node
/// does: read once, on first use, with an unreadable file ignored.
fn node_extra_ca_certs() -> Vec<reqwest::Certificate> {
    static EXTRA: OnceLock<Vec<reqwest::Certificate>> = OnceLock::new();
    EXTRA
        .get_or_init(|| {
            std::env::var_os("NODE_EXTRA_CA_CERTS")
                .and_then(|path| std::fs::read(path).ok())
                .and_then(|pem| reqwest::Certificate::from_pem_bundle(&pem).ok())
                .unwrap_or_default()
        })
        .clone()
}

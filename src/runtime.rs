//! The one Tokio runtime and the HTTP clients of the process.
//!
//! Both live in statics and are never dropped: the addon is loaded once per
//! process and shared by every worker thread, so no single thread's exit may
//! tear them down. Their threads hold no handle on any Node event loop, so a
//! request in flight never keeps a script alive.

use crate::error::{ErrorCode, TokenError};
use crate::key::KeyHasher;
use crate::proxy::ProxyUrl;
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

/// At most this many HTTP clients (each with its TLS roots and connection
/// pool) are kept; a process using more distinct `ca`/proxy pairs than
/// this rebuilds the least recently used one when it comes back.
const MAX_HTTP_CLIENTS: usize = 16;

/// The client for requests trusting the built-in roots, `NODE_EXTRA_CA_CERTS`
/// and the given extra roots, through the given proxy. Shared per distinct
/// (`ca`, proxy), so connections are pooled and TLS configuration is parsed
/// once, and bounded, so memory is too.
pub fn http_client(
    ca: Option<&str>,
    proxy: Option<&ProxyUrl>,
) -> Result<reqwest::Client, TokenError> {
    static CLIENTS: Mutex<Vec<([u8; 32], reqwest::Client)>> = Mutex::new(Vec::new());
    let mut key = KeyHasher::new();
    key.optional_text(ca);
    if let Some(proxy) = proxy {
        key.text(&proxy.address);
        if let Some((user, password)) = &proxy.credentials {
            key.text(user.expose()).text(password.expose());
        }
    }
    let key = key.finish();
    let lock = || CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    {
        let mut clients = lock();
        if let Some(i) = clients.iter().position(|(k, _)| *k == key) {
            // Most recently used last.
            let found = clients.remove(i);
            let client = found.1.clone();
            clients.push(found);
            return Ok(client);
        }
    }
    let client = build_client(ca, proxy)?;
    let mut clients = lock();
    if !clients.iter().any(|(k, _)| *k == key) {
        if clients.len() >= MAX_HTTP_CLIENTS {
            clients.remove(0);
        }
        clients.push((key, client.clone()));
    }
    Ok(client)
}

/// Checks that `ca` holds PEM certificates, without building a client.
pub fn validate_ca(pem: &str) -> Result<(), TokenError> {
    parse_ca(pem).map(|_| ())
}

fn parse_ca(pem: &str) -> Result<Vec<reqwest::Certificate>, TokenError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|_| {
        TokenError::new(
            ErrorCode::InvalidOptions,
            "ca is not a valid PEM certificate bundle",
        )
    })?;
    if certs.is_empty() {
        return Err(TokenError::invalid_options("ca holds no PEM certificate"));
    }
    Ok(certs)
}

fn build_client(ca: Option<&str>, proxy: Option<&ProxyUrl>) -> Result<reqwest::Client, TokenError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        // Credentials go to the configured endpoint and nowhere else.
        .redirect(reqwest::redirect::Policy::none())
        // The proxy was chosen already (see `proxy.rs`); reqwest must not
        // read the environment on its own.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("m2m-token/", env!("CARGO_PKG_VERSION")));
    for cert in node_extra_ca_certs() {
        builder = builder.add_root_certificate(cert);
    }
    if let Some(pem) = ca {
        for cert in parse_ca(pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(proxy) = proxy {
        let mut forward = reqwest::Proxy::all(&proxy.address)
            .map_err(|_| TokenError::invalid_options("proxy is not a usable URL"))?;
        if let Some((user, password)) = &proxy.credentials {
            forward = forward.basic_auth(user.expose(), password.expose());
        }
        builder = builder.proxy(forward);
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

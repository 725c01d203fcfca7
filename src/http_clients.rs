//! The HTTP clients of the process, one per distinct (`ca`, proxy, client
//! certificate), so connections are pooled and TLS roots parsed once per
//! combination, and bounded, so memory is too. A client certificate is part
//! of the key because it is part of every handshake: a connection made
//! with one certificate must never carry another client's request. Clients
//! live in a static: like the runtime, they are shared by every worker
//! thread and outlive any one of them.

use crate::bounded::BoundedMap;
use crate::client_identity::ClientIdentity;
use crate::error::{ErrorCode, TokenError};
use crate::key::KeyHasher;
use crate::proxy::ProxyUrl;
use crate::tls;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// At most this many HTTP clients (each with its TLS roots and connection
/// pool) are kept; a process using more distinct `ca`/proxy pairs than
/// this rebuilds the least recently used one when it comes back.
/// (A client certificate counts as a distinct combination.)
const MAX_HTTP_CLIENTS: usize = 16;

/// The client for requests trusting the built-in roots, `NODE_EXTRA_CA_CERTS`
/// and the given extra roots, through the given proxy, presenting the given
/// client certificate to servers that ask for one. Shared per distinct
/// (`ca`, proxy, certificate), so connections are pooled and TLS
/// configuration is parsed once, and bounded, so memory is too.
pub fn http_client(
    ca: Option<&str>,
    proxy: Option<&ProxyUrl>,
    identity: Option<&ClientIdentity>,
) -> Result<reqwest::Client, TokenError> {
    static CLIENTS: LazyLock<Mutex<BoundedMap<[u8; 32], reqwest::Client>>> =
        LazyLock::new(|| Mutex::new(BoundedMap::new(MAX_HTTP_CLIENTS)));
    let mut key = KeyHasher::new();
    let credentials = proxy.and_then(|p| p.credentials.as_ref());
    key.optional_text(ca)
        .optional_text(proxy.map(|p| p.address.as_str()))
        .optional_text(credentials.map(|(user, _)| user.expose()))
        .optional_text(credentials.map(|(_, password)| password.expose()))
        .field(identity.map(|i| &i.pool_key()[..]));
    let key = key.finish();
    let lock = || CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(client) = lock().get(&key) {
        return Ok(client.clone());
    }
    // Built outside the lock: reading roots and TLS setup take a while.
    let client = build_client(ca, proxy, identity)?;
    lock().insert(key, client.clone());
    Ok(client)
}

fn build_client(
    ca: Option<&str>,
    proxy: Option<&ProxyUrl>,
    identity: Option<&ClientIdentity>,
) -> Result<reqwest::Client, TokenError> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        // Credentials go to the configured endpoint and nowhere else.
        .redirect(reqwest::redirect::Policy::none())
        // The proxy was chosen already (see `proxy.rs`); reqwest must not
        // read the environment on its own.
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
        .user_agent(concat!("m2m-token/", env!("CARGO_PKG_VERSION")));
    for cert in tls::node_extra_ca_certs() {
        builder = builder.add_root_certificate(cert);
    }
    if let Some(pem) = ca {
        for cert in tls::parse_ca(pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(identity) = identity {
        builder = builder.identity(identity.reqwest_identity()?);
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

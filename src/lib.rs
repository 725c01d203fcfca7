//! m2m-token: OAuth 2.0 client-credentials tokens from one process-wide cache.
//!
//! The core (everything but `binding`) knows nothing of Node: it validates
//! options, fetches tokens and keeps them. `binding` is the thin napi layer
//! that JavaScript calls.

// napi registers exports only outside `cfg(test)`; the core is tested without Node.
#[cfg(not(test))]
mod binding;
pub mod bounded;
pub mod cache;
pub mod client_auth;
pub mod client_identity;
pub mod clock;
pub mod endpoint;
pub mod error;
pub mod fetch;
pub mod fetcher;
pub mod hex;
pub mod http_clients;
pub mod key;
pub mod options;
pub mod private_key;
pub mod proxy;
pub mod quota;
pub mod rate_limit;
pub mod rate_window;
pub mod response;
pub mod runtime;
#[cfg(test)]
pub mod scripted_fetcher;
pub mod secret;
pub mod store;
pub mod store_spec;
#[cfg(test)]
pub mod test_certificates;
pub mod tls;
pub mod token;
pub mod token_binding;

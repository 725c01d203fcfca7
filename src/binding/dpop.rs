//! DPoP nonces a resource server sent, handed to the core's per-origin book.

use napi_derive::napi;

/// Keeps `nonce`, sent by the server at `url`, for the next proof to that
/// origin; false (and nothing kept) when either is malformed.
#[napi]
pub fn remember_dpop_nonce(url: String, nonce: String) -> bool {
    match crate::dpop::htu::target(&url) {
        Ok(target) => crate::dpop::nonces::NONCES.remember(&target.origin, &nonce),
        Err(_) => false,
    }
}

//! DPoP (RFC 9449): tokens bound to a key the client proves it holds on
//! every request, so a token copied out of a log or a proxy is useless.
//!
//! - `key`: the proof key, either derived from the client's credential (so
//!   every process of a fleet holds the same key and can share one bound
//!   token through a store) or read from a PEM file; its public JWK and
//!   RFC 7638 thumbprint.
//! - `proof`: one signed proof JWT per HTTP request.
//! - `htu`: the request URL as a proof names it.
//! - `nonces`: the last `DPoP-Nonce` each origin sent, bounded.
//!
//! The private key never leaves this module: nothing here prints, exports
//! or stores it.

pub mod htu;
pub mod key;
pub mod nonces;
pub mod proof;

pub use key::ProofKey;

use crate::error::TokenError;
use crate::secret::Secret;

/// Where the `dpop` option says the proof key comes from.
#[derive(Debug)]
pub enum KeySource {
    /// `dpop: true`: derived from the client's credential.
    Derived,
    /// `dpop: { privateKey }`.
    Pem(Secret),
}

impl KeySource {
    /// The proof key; `credential` is the client's key material.
    pub fn load(&self, credential: &[u8]) -> Result<ProofKey, TokenError> {
        match self {
            KeySource::Derived => ProofKey::derive(credential),
            KeySource::Pem(pem) => ProofKey::from_pem(pem),
        }
    }
}

//! One DPoP proof (RFC 9449 §4.2): a JWT signed by the proof key, naming
//! one HTTP request. A new one for every request and every resend: each
//! has its own `jti` (128 random bits), so a server that remembers them
//! never sees one twice.

use super::htu::{self, Target};
use super::key::ProofKey;
use super::nonces::NONCES;
use crate::error::TokenError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SecureRandom;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

const JTI_BYTES: usize = 16;

#[derive(Serialize)]
struct Claims<'a> {
    jti: &'a str,
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

/// What one proof names.
pub struct Request<'a> {
    pub method: &'a str,
    pub htu: &'a str,
    /// Set on requests to a resource server: the proof then carries `ath`.
    pub access_token: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub now_secs: u64,
}

/// The proof for `request`, as the value of a `DPoP` header.
pub fn sign(key: &ProofKey, request: &Request) -> Result<String, TokenError> {
    let mut jti = [0u8; JTI_BYTES];
    ring::rand::SystemRandom::new()
        .fill(&mut jti)
        .map_err(|_| TokenError::invalid_options("the system random source failed"))?;
    let jti = URL_SAFE_NO_PAD.encode(jti);
    let ath = request
        .access_token
        .map(|token| URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())));
    let claims = Claims {
        jti: &jti,
        htm: request.method,
        htu: request.htu,
        iat: request.now_secs,
        ath: ath.as_deref(),
        nonce: request.nonce,
    };
    let claims = serde_json::to_vec(&claims)
        .map_err(|_| TokenError::invalid_options("a DPoP proof could not be encoded"))?;
    let mut jwt = String::with_capacity(key.header_prefix().len() + claims.len() * 4 / 3 + 100);
    jwt.push_str(key.header_prefix());
    URL_SAFE_NO_PAD.encode_string(&claims, &mut jwt);
    let signature = key.sign(jwt.as_bytes())?;
    jwt.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut jwt);
    Ok(jwt)
}

/// The proof for a request to `url` with `method`, carrying the last nonce
/// that URL's origin sent, if any.
pub fn for_url(
    key: &ProofKey,
    method: &str,
    url: &str,
    access_token: Option<&str>,
    now_secs: u64,
) -> Result<String, TokenError> {
    let method = method_name(method)?;
    let Target { htu, origin } = htu::target(url).map_err(|_| {
        TokenError::invalid_options("a DPoP proof needs an absolute http: or https: URL")
    })?;
    let nonce = NONCES.current(&origin);
    sign(
        key,
        &Request {
            method: &method,
            htu: &htu,
            access_token,
            nonce: nonce.as_deref(),
            now_secs,
        },
    )
}

/// The method as `fetch` sends it: an HTTP token, the six standard names
/// upper-cased whatever their case, any other name as given.
pub fn method_name(method: &str) -> Result<Cow<'_, str>, TokenError> {
    const NORMALIZED: [&str; 6] = ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    let is_token = !method.is_empty()
        && method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !is_token {
        return Err(TokenError::invalid_options(
            "the method of a DPoP-protected request must be an HTTP method name",
        ));
    }
    Ok(
        match NORMALIZED.iter().find(|m| m.eq_ignore_ascii_case(method)) {
            Some(standard) => Cow::Borrowed(standard),
            None => Cow::Borrowed(method),
        },
    )
}

#[cfg(test)]
#[path = "proof_tests.rs"]
mod tests;

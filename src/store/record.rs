//! What a store record holds once opened: the token and what the cache
//! needs to judge it. Serialised as JSON only inside the seal (`seal.rs`);
//! the plaintext buffer is zeroed when dropped.

use crate::quota::Quota;
use crate::secret::Secret;
use crate::token::Token;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A record larger than this is not ours: real ones are a few KiB at most.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

#[derive(Serialize, Deserialize)]
struct Record {
    access_token: String,
    token_type: String,
    scope: Option<String>,
    obtained_at_ms: u64,
    expires_at_ms: u64,
    quota: Option<Quota>,
}

impl Drop for Record {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
    }
}

/// The token as record plaintext.
pub fn encode(token: &Token) -> Zeroizing<Vec<u8>> {
    let record = Record {
        access_token: token.access_token.expose().to_string(),
        token_type: token.token_type.clone(),
        scope: token.scope.clone(),
        obtained_at_ms: token.obtained_at_ms,
        expires_at_ms: token.expires_at_ms,
        quota: token.quota,
    };
    // Serialising plain strings and numbers cannot fail.
    Zeroizing::new(serde_json::to_vec(&record).unwrap_or_default())
}

/// The token in record plaintext, if it is a well-formed record.
pub fn decode(plaintext: &[u8]) -> Option<Token> {
    let mut record: Record = serde_json::from_slice(plaintext).ok()?;
    if record.access_token.is_empty() || record.expires_at_ms < record.obtained_at_ms {
        return None;
    }
    let access_token = Secret::new(std::mem::take(&mut record.access_token));
    Some(Token {
        access_token,
        token_type: std::mem::take(&mut record.token_type),
        scope: record.scope.take(),
        obtained_at_ms: record.obtained_at_ms,
        expires_at_ms: record.expires_at_ms,
        quota: record.quota,
    })
}

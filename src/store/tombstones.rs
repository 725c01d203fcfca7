//! Tokens this process invalidated, which none of its flights may take
//! from a store.
//!
//! `invalidate()` returns at once and removes the store's record in the
//! background; a call that starts right after it must still never be handed
//! the invalidated token (guarantee 6), even if it reads the record before
//! the removal lands. So `invalidate()` leaves a tombstone here first:
//! the dropped token's fingerprint, or, when this process held no token,
//! the moment of the invalidation (any token obtained before it is refused).
//! A refused record only costs a request of our own.

use super::seal::{EntrySeal, Fingerprint};
use crate::bounded::BoundedMap;
use crate::token::{now_ms, Token};
use std::sync::{LazyLock, Mutex};

/// Bounded: the oldest tombstones go first, by then long acted upon.
const MAX_TOMBSTONES: usize = 1024;

enum Tombstone {
    Token(Fingerprint),
    ObtainedBefore(u64),
}

static TOMBSTONES: LazyLock<Mutex<BoundedMap<String, Tombstone>>> =
    LazyLock::new(|| Mutex::new(BoundedMap::new(MAX_TOMBSTONES)));

/// Records that the entry named by `seal` was invalidated, holding
/// `dropped` (if any).
pub fn bury(seal: &EntrySeal, dropped: Option<&Token>) {
    let tombstone = match dropped {
        Some(token) => Tombstone::Token(seal.fingerprint(token.access_token.expose())),
        None => Tombstone::ObtainedBefore(now_ms()),
    };
    TOMBSTONES
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(seal.name().to_string(), tombstone);
}

/// Whether this process invalidated `token` (read from `seal`'s record).
pub fn is_buried(seal: &EntrySeal, token: &Token) -> bool {
    let graveyard = TOMBSTONES.lock().unwrap_or_else(|e| e.into_inner());
    match graveyard.peek(&seal.name().to_string()) {
        None => false,
        Some(Tombstone::Token(fingerprint)) => {
            seal.fingerprint(token.access_token.expose()) == *fingerprint
        }
        Some(Tombstone::ObtainedBefore(at_ms)) => token.obtained_at_ms <= *at_ms,
    }
}

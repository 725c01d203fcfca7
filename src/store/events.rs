//! Messages between the processes sharing a store, and where they land.
//!
//! A process that wrote a record wakes the processes waiting for it; one
//! whose request failed tells them to stop waiting; one that invalidated an
//! entry tells everyone to drop that token from memory. Messages name the
//! entry only by its opaque record name and a token only by its
//! fingerprint (an HMAC under the entry's name key), so they show nothing.
//!
//! The hub keeps the entries this process has used (bounded): it maps a
//! record name back to the cache key and seal needed to act on a message.

use super::seal::{EntrySeal, Fingerprint};
use super::RemoteInvalidation;
use crate::bounded::BoundedMap;
use crate::hex::{from_hex, hex};
use crate::key::CacheKey;
use crate::token::now_ms;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Entries whose messages this process follows; the least recently used
/// is forgotten first (it then only misses remote invalidations until used
/// again).
const MAX_WATCHED: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// A new record was written: waiters take it.
    Written,
    /// The lock holder's request failed: waiters stop waiting.
    Failed,
    /// The token with this fingerprint was invalidated.
    Invalidated(Fingerprint),
}

impl Message {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Written => b"w".to_vec(),
            Message::Failed => b"f".to_vec(),
            Message::Invalidated(fingerprint) => format!("i{}", hex(fingerprint)).into_bytes(),
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<Message> {
        match bytes {
            b"w" => Some(Message::Written),
            b"f" => Some(Message::Failed),
            [b'i', hex_text @ ..] => from_hex(hex_text).map(Message::Invalidated),
            _ => None,
        }
    }
}

/// One entry this process follows.
pub struct Watched {
    cache_key: CacheKey,
    seal: Arc<EntrySeal>,
    on_invalidation: RemoteInvalidation,
    /// When this process started following it (wall clock, ms): a file
    /// store's older messages are not news.
    pub since_ms: u64,
    wake: Notify,
    failures: AtomicU64,
    /// Flights that found the lock taken and began to wait (tests order
    /// the flights of a step by it).
    #[cfg(test)]
    waiters: AtomicU64,
}

impl Watched {
    /// Resolves on the next message for this entry. Call `enable` on it
    /// before re-checking the store, so a message in between is not lost.
    pub fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// How many `Failed` messages arrived so far (the fleet needs only the
    /// wake-up: what failed is read from the entry's failure record).
    #[cfg(test)]
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Acquire)
    }

    /// How many flights found the entry's lock taken and began to wait.
    #[cfg(test)]
    pub fn waiters(&self) -> u64 {
        self.waiters.load(Ordering::Acquire)
    }

    #[cfg(test)]
    pub fn began_waiting(&self) {
        self.waiters.fetch_add(1, Ordering::AcqRel);
    }
}

pub struct EventHub {
    /// The followed entries by record name.
    watched: Mutex<BoundedMap<String, Arc<Watched>>>,
    /// True while messages are being received (a Redis subscription is up).
    live: AtomicBool,
}

impl Default for EventHub {
    fn default() -> EventHub {
        EventHub {
            watched: Mutex::new(BoundedMap::new(MAX_WATCHED)),
            live: AtomicBool::new(false),
        }
    }
}

impl EventHub {
    pub fn watch(
        &self,
        seal: &Arc<EntrySeal>,
        cache_key: CacheKey,
        on_invalidation: &RemoteInvalidation,
    ) -> Arc<Watched> {
        let mut followed = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let name = seal.name().to_string();
        if let Some(watched) = followed.get(&name) {
            return watched.clone();
        }
        let watched = Arc::new(Watched {
            cache_key,
            seal: seal.clone(),
            on_invalidation: on_invalidation.clone(),
            since_ms: now_ms(),
            wake: Notify::new(),
            failures: AtomicU64::new(0),
            #[cfg(test)]
            waiters: AtomicU64::new(0),
        });
        followed.insert(name, watched.clone());
        watched
    }

    /// The followed entries, for a store that has to look for messages.
    pub fn watched(&self) -> Vec<(String, u64)> {
        let guard = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .iter()
            .map(|(name, w)| (name.clone(), w.since_ms))
            .collect()
    }

    pub fn set_live(&self, live: bool) {
        self.live.store(live, Ordering::Release);
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Acts on a message another process (or this one) published.
    pub fn deliver(&self, name: &str, payload: &[u8]) {
        let Some(message) = Message::decode(payload) else {
            return;
        };
        let watched = {
            let guard = self.watched.lock().unwrap_or_else(|e| e.into_inner());
            guard.peek(&name.to_string()).cloned()
        };
        let Some(watched) = watched else {
            return;
        };
        match message {
            Message::Written => {}
            Message::Failed => {
                watched.failures.fetch_add(1, Ordering::AcqRel);
            }
            Message::Invalidated(fingerprint) => {
                let seal = &watched.seal;
                (watched.on_invalidation)(&watched.cache_key, &|token| {
                    seal.fingerprint(token.access_token.expose()) == fingerprint
                });
            }
        }
        watched.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_junk_is_ignored() {
        for message in [
            Message::Written,
            Message::Failed,
            Message::Invalidated([0xab; 32]),
        ] {
            assert_eq!(Message::decode(&message.encode()), Some(message));
        }
        for junk in [&b""[..], b"x", b"i00", b"wf", &[b'i'; 65]] {
            assert_eq!(Message::decode(junk), None);
        }
    }
}

//! The last `DPoP-Nonce` each origin sent (RFC 9449 §8 and §9), for the
//! next proof to that origin, whether a token endpoint or a resource
//! server sent it.
//!
//! A server chooses these values, so the book is bounded: a nonce is kept
//! only if it is a well-formed RFC 9449 nonce (`1*NQCHAR`) of at most
//! `MAX_NONCE_LEN` bytes, and at most `MAX_ORIGINS` origins are kept, the
//! least recently used going first. Anything else a server sends is
//! ignored, never an error: a proof without a nonce is still a proof, and
//! the server says so if it wants one.
//!
//! Lock order: the book's one mutex, held for a lookup or an insert only.

use crate::bounded::BoundedMap;
use std::sync::{LazyLock, Mutex};

pub const MAX_ORIGINS: usize = 1_000;
pub const MAX_NONCE_LEN: usize = 512;
/// Origins are built from URLs the caller gives; a longer one is not kept.
const MAX_ORIGIN_LEN: usize = 512;

pub struct NonceBook(Mutex<BoundedMap<String, String>>);

/// The process's book: nonces are the server's, whichever client reads them.
pub static NONCES: LazyLock<NonceBook> = LazyLock::new(|| NonceBook::new(MAX_ORIGINS));

/// RFC 9449 §8.1: `nonce = 1*NQCHAR`, NQCHAR = %x21 / %x23-5B / %x5D-7E.
pub fn is_valid_nonce(nonce: &str) -> bool {
    !nonce.is_empty()
        && nonce.len() <= MAX_NONCE_LEN
        && nonce
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl NonceBook {
    pub fn new(max_origins: usize) -> NonceBook {
        NonceBook(Mutex::new(BoundedMap::new(max_origins)))
    }

    /// Keeps `nonce` for `origin` if it is well formed; says whether it was kept.
    pub fn remember(&self, origin: &str, nonce: &str) -> bool {
        if !is_valid_nonce(nonce) || origin.len() > MAX_ORIGIN_LEN {
            return false;
        }
        let mut book = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if book.peek(&origin.to_owned()).map(String::as_str) != Some(nonce) {
            book.insert(origin.to_owned(), nonce.to_owned());
        }
        true
    }

    pub fn current(&self, origin: &str) -> Option<String> {
        let mut book = self.0.lock().unwrap_or_else(|e| e.into_inner());
        book.get(&origin.to_owned()).cloned()
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_nonce_per_origin_is_kept() {
        let book = NonceBook::new(10);
        assert_eq!(book.current("https://a"), None);
        assert!(book.remember("https://a", "n1"));
        assert!(book.remember("https://b", "m1"));
        assert!(book.remember("https://a", "n2"));
        assert_eq!(book.current("https://a").as_deref(), Some("n2"));
        assert_eq!(book.current("https://b").as_deref(), Some("m1"));
    }

    #[test]
    fn malformed_or_oversized_nonces_are_ignored() {
        let book = NonceBook::new(10);
        assert!(book.remember("https://a", "good"));
        let too_long = "x".repeat(MAX_NONCE_LEN + 1);
        for bad in [
            "",
            "has space",
            "quote\"",
            "back\\slash",
            "new\nline",
            "é",
            too_long.as_str(),
        ] {
            assert!(!book.remember("https://a", bad), "{bad:?}");
        }
        assert_eq!(book.current("https://a").as_deref(), Some("good"));
        assert!(book.remember("https://a", &"x".repeat(MAX_NONCE_LEN)));
        assert!(!book.remember(&"o".repeat(MAX_ORIGIN_LEN + 1), "n"));
    }

    #[test]
    fn a_hostile_server_cannot_grow_the_book() {
        let book = NonceBook::new(100);
        for i in 0..10_000 {
            book.remember(&format!("https://h{i}.example"), &"n".repeat(MAX_NONCE_LEN));
        }
        assert_eq!(book.len(), 100);
        assert_eq!(book.current("https://h0.example"), None);
        assert!(book.current("https://h9999.example").is_some());
    }
}

//! What names an entry, and how the crate hashes several texts into one
//! key: each field length-prefixed (and marked present or absent), so no
//! two different lists of fields can run together into the same bytes.
//! Used for the cache key, the credential's fingerprint, and the keys of
//! the shared HTTP clients and store connections.

use sha2::{Digest, Sha256};

/// The cache key of an entry: a hash, never the fields themselves (the
/// credential is one of them).
pub type CacheKey = [u8; 32];

#[derive(Default)]
pub struct KeyHasher(Sha256);

impl KeyHasher {
    pub fn new() -> KeyHasher {
        KeyHasher::default()
    }

    /// One field, present or absent.
    pub fn field(&mut self, value: Option<&[u8]>) -> &mut KeyHasher {
        match value {
            Some(bytes) => {
                self.0.update([1]);
                self.0.update((bytes.len() as u64).to_be_bytes());
                self.0.update(bytes);
            }
            None => self.0.update([0]),
        }
        self
    }

    pub fn text(&mut self, value: &str) -> &mut KeyHasher {
        self.field(Some(value.as_bytes()))
    }

    pub fn optional_text(&mut self, value: Option<&str>) -> &mut KeyHasher {
        self.field(value.map(str::as_bytes))
    }

    pub fn finish(&mut self) -> [u8; 32] {
        std::mem::take(&mut self.0).finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_never_run_together() {
        let ab_c = KeyHasher::new().text("ab").text("c").finish();
        let a_bc = KeyHasher::new().text("a").text("bc").finish();
        let absent = KeyHasher::new().optional_text(None).text("c").finish();
        let empty = KeyHasher::new().text("").text("c").finish();
        assert_ne!(ab_c, a_bc);
        assert_ne!(absent, empty);
        assert_eq!(ab_c, KeyHasher::new().text("ab").text("c").finish());
    }
}

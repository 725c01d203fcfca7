//! Sealing: what makes a store useless to anyone without the credential.
//!
//! Per entry, HKDF-SHA256 over the credential (client secret or private
//! key), with a fixed label as salt and the entry's cache key as info,
//! gives two keys: a name key, whose HMACs name the record (Redis keys,
//! channels, file names) and fingerprint tokens in invalidation messages,
//! and an AES-256-GCM key that seals the record. The record name is the
//! AEAD's associated data, so a record copied under another name (another
//! entry, another credential) does not open. All of it is `ring`: no
//! hand-written cryptography.
//!
//! The derived keys live inside `ring`'s key types and are never held as
//! plain bytes here; `ring` does not zero them on drop.

use super::failure::Failure;
use super::record;
use crate::bounded::{BoundedMap, MAX_ENTRIES};
use crate::hex::hex;
use crate::key::CacheKey;
use crate::options::TokenRequest;
use crate::token::Token;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf::{self, Salt, HKDF_SHA256};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};
use zeroize::Zeroizing;

/// Changing anything in the derivation or the format means a new label.
const SALT_LABEL: &[u8] = b"m2m-token store v1";
const NAME_KEY_INFO: &[u8] = b"name key";
const SEAL_KEY_INFO: &[u8] = b"seal key";
const NAME_LABEL: &[u8] = b"record name";
const FINGERPRINT_LABEL: &[u8] = b"token fingerprint\0";
const FAILURE_LABEL: &[u8] = b"\0failure";
/// First byte of every sealed record: the format.
const FORMAT_V1: u8 = 1;

pub type Fingerprint = [u8; 32];

/// The keys and name of one entry in a store.
pub struct EntrySeal {
    /// Hex HMAC of a label: the same for every process with the same
    /// credential and entry, and unlinkable to either without the credential.
    name: String,
    name_key: hmac::Key,
    seal_key: LessSafeKey,
}

/// Why a record was refused; nothing more is said about it.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRecord;

/// Seals already derived, per cache key: one derivation per entry, not one
/// per flight. The key covers the credential (guarantee 1), so a key names
/// exactly one seal. Bounded like the cache.
static DERIVED: LazyLock<Mutex<BoundedMap<CacheKey, Arc<EntrySeal>>>> =
    LazyLock::new(|| Mutex::new(BoundedMap::new(MAX_ENTRIES)));

impl EntrySeal {
    /// The seal of `request`'s entry, derived on first use.
    pub fn of(request: &TokenRequest) -> Arc<EntrySeal> {
        let mut derived = DERIVED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(seal) = derived.get(&request.key) {
            return seal.clone();
        }
        let seal = Arc::new(EntrySeal::derive(request.auth.key_material(), &request.key));
        derived.insert(request.key, seal.clone());
        seal
    }

    pub fn derive(credential: &[u8], cache_key: &CacheKey) -> EntrySeal {
        let prk = Salt::new(HKDF_SHA256, SALT_LABEL).extract(credential);
        let name_key: hmac::Key = expand(&prk, NAME_KEY_INFO, cache_key, hmac::HMAC_SHA256);
        let seal_key: UnboundKey = expand(&prk, SEAL_KEY_INFO, cache_key, &AES_256_GCM);
        let seal_key = LessSafeKey::new(seal_key);
        let name = hex(hmac::sign(&name_key, NAME_LABEL).as_ref());
        EntrySeal {
            name,
            name_key,
            seal_key,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token sealed as the entry's record.
    pub fn seal(&self, token: &Token) -> Vec<u8> {
        self.seal_bytes(&record::encode(token), self.name.as_bytes())
    }

    /// The token in a sealed record, if it authenticates under this entry's
    /// key and name and holds a well-formed record.
    pub fn open(&self, sealed: &[u8]) -> Result<Token, BadRecord> {
        let plaintext = self.open_bytes(sealed, self.name.as_bytes())?;
        record::decode(&plaintext).ok_or(BadRecord)
    }

    /// The entry's last failure, sealed. Its associated data names the slot
    /// too, so a failure record never opens as a token record or the reverse.
    pub fn seal_failure(&self, failure: &Failure) -> Vec<u8> {
        self.seal_bytes(&failure.encode(), &self.failure_aad())
    }

    pub fn open_failure(&self, sealed: &[u8]) -> Result<Failure, BadRecord> {
        let plaintext = self.open_bytes(sealed, &self.failure_aad())?;
        Failure::decode(&plaintext).ok_or(BadRecord)
    }

    fn failure_aad(&self) -> Vec<u8> {
        [self.name.as_bytes(), FAILURE_LABEL].concat()
    }

    /// `format ‖ nonce ‖ ciphertext+tag`, with a fresh random nonce.
    fn seal_bytes(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("m2m-token: the system random source failed");
        let mut sealed =
            Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
        sealed.push(FORMAT_V1);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plaintext);
        let tag = self
            .seal_key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut sealed[1 + NONCE_LEN..],
            )
            .expect("m2m-token: a record is far below AES-GCM's size limit");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// The plaintext of a sealed record, zeroed when dropped.
    fn open_bytes(&self, sealed: &[u8], aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, BadRecord> {
        if sealed.len() > record::MAX_RECORD_BYTES
            || sealed.len() < 1 + NONCE_LEN + AES_256_GCM.tag_len()
            || sealed[0] != FORMAT_V1
        {
            return Err(BadRecord);
        }
        let nonce =
            Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN]).map_err(|_| BadRecord)?;
        let mut buffer = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let plaintext_len = self
            .seal_key
            .open_in_place(nonce, Aad::from(aad), &mut buffer)
            .map_err(|_| BadRecord)?
            .len();
        buffer.truncate(plaintext_len);
        Ok(buffer)
    }

    /// Names a token in invalidation messages without revealing it.
    pub fn fingerprint(&self, access_token: &str) -> Fingerprint {
        let mut context = hmac::Context::with_key(&self.name_key);
        context.update(FINGERPRINT_LABEL);
        context.update(access_token.as_bytes());
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(context.sign().as_ref());
        fingerprint
    }
}

impl fmt::Debug for EntrySeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntrySeal")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// HKDF-Expand into a key type, with the entry's cache key in the info.
fn expand<L, K>(prk: &hkdf::Prk, label: &[u8], cache_key: &CacheKey, algorithm: L) -> K
where
    L: hkdf::KeyType,
    K: for<'a> From<hkdf::Okm<'a, L>>,
{
    let info = [label, cache_key.as_slice()];
    // `expand` only fails for outputs longer than 255 hashes.
    K::from(
        prk.expand(&info, algorithm)
            .expect("m2m-token: HKDF output fits"),
    )
}

#[cfg(test)]
#[path = "seal_tests.rs"]
mod tests;

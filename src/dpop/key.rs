//! The proof key: what signs DPoP proofs, and the public JWK and RFC 7638
//! thumbprint that name it.
//!
//! Two sources. `derive` turns the client's credential into an EC P-256
//! key: HKDF-SHA256 under a label of its own (never the store seal's, so
//! neither key says anything about the other), then `p256`'s own check of
//! a candidate scalar (`SecretKey::from_slice`: non-zero and below the
//! group order), trying the next HKDF block in the rare case it is not.
//! Every process holding the credential thus holds the same key, and a
//! fleet can share one DPoP-bound token without storing any key. Whoever
//! holds the credential can mint tokens anyway, so deriving the key from
//! it gives away nothing. `from_pem` reads a key the user gives: EC P-256
//! (ES256), EC P-384 (ES384) or Ed25519 (EdDSA).
//!
//! Signing is `ring`'s (its P-256 and P-384 are assembly on common CPUs);
//! `p256`/`p384` only parse and derive. The protected header, which holds
//! the public JWK, is encoded once per key, as it is the same in every proof.

use crate::error::TokenError;
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hkdf::{self, Salt, HKDF_SHA256};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Changing anything in the derivation means a new label (and new keys).
const DERIVATION_SALT: &[u8] = b"m2m-token dpop key v1";
const DERIVATION_INFO: &[u8] = b"P-256 scalar";
/// A candidate fails with probability below 2^-32; 16 in a row never happen.
const DERIVATION_ATTEMPTS: u8 = 16;

pub struct ProofKey {
    signer: Signer,
    algorithm: &'static str,
    thumbprint: String,
    /// base64url of `{"typ":"dpop+jwt","alg":…,"jwk":…}` and a dot.
    header_prefix: String,
}

enum Signer {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for ProofKey {
    /// The algorithm and the public thumbprint only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProofKey")
            .field("algorithm", &self.algorithm)
            .field("thumbprint", &self.thumbprint)
            .finish()
    }
}

fn random() -> &'static SystemRandom {
    static RANDOM: std::sync::OnceLock<SystemRandom> = std::sync::OnceLock::new();
    RANDOM.get_or_init(SystemRandom::new)
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl ProofKey {
    /// The EC P-256 key every holder of `credential` derives alike.
    pub fn derive(credential: &[u8]) -> Result<ProofKey, TokenError> {
        let prk = Salt::new(HKDF_SHA256, DERIVATION_SALT).extract(credential);
        for attempt in 0..DERIVATION_ATTEMPTS {
            let info = [DERIVATION_INFO, &[attempt]];
            let mut candidate = Zeroizing::new([0u8; 32]);
            prk.expand(&info, Len(32))
                .and_then(|okm| okm.fill(candidate.as_mut()))
                .map_err(|_| TokenError::invalid_options("the DPoP key could not be derived"))?;
            if let Ok(secret) = p256::SecretKey::from_slice(candidate.as_ref()) {
                return ProofKey::p256(&secret);
            }
        }
        Err(TokenError::invalid_options(
            "the DPoP key could not be derived",
        ))
    }

    /// A P-256, P-384 or Ed25519 private key in PEM (PKCS#8, or SEC1 for EC).
    pub fn from_pem(pem_text: &Secret) -> Result<ProofKey, TokenError> {
        let invalid = || {
            TokenError::invalid_options(
                "dpop.privateKey must be an EC P-256, EC P-384 or Ed25519 private key in PEM form",
            )
        };
        let (tag, der) = crate::private_key::first_block(pem_text, invalid)?;
        match tag.as_str() {
            "EC PRIVATE KEY" => {
                if let Ok(key) = p256::SecretKey::from_sec1_der(&der) {
                    return ProofKey::p256(&key);
                }
                if let Ok(key) = p384::SecretKey::from_sec1_der(&der) {
                    return ProofKey::p384(&key);
                }
                Err(invalid())
            }
            "PRIVATE KEY" => {
                use p256::pkcs8::DecodePrivateKey;
                if let Ok(key) = p256::SecretKey::from_pkcs8_der(&der) {
                    return ProofKey::p256(&key);
                }
                if let Ok(key) = p384::SecretKey::from_pkcs8_der(&der) {
                    return ProofKey::p384(&key);
                }
                if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der) {
                    return Ok(ProofKey::ed25519(pair));
                }
                Err(invalid())
            }
            "ENCRYPTED PRIVATE KEY" => Err(TokenError::invalid_options(
                "dpop.privateKey is encrypted: give the key decrypted (openssl pkey -in key.pem -out plain.pem)",
            )),
            _ => Err(invalid()),
        }
    }

    fn p256(secret: &p256::SecretKey) -> Result<ProofKey, TokenError> {
        let private = Zeroizing::new(secret.to_bytes());
        let public = secret.public_key().to_sec1_bytes();
        ProofKey::ecdsa(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            "ES256",
            "P-256",
            &private,
            &public,
        )
    }

    fn p384(secret: &p384::SecretKey) -> Result<ProofKey, TokenError> {
        let private = Zeroizing::new(secret.to_bytes());
        let public = secret.public_key().to_sec1_bytes();
        ProofKey::ecdsa(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            "ES384",
            "P-384",
            &private,
            &public,
        )
    }

    /// `public` is the uncompressed SEC1 point: 0x04, x, y.
    fn ecdsa(
        signing: &'static signature::EcdsaSigningAlgorithm,
        algorithm: &'static str,
        curve: &str,
        private: &[u8],
        public: &[u8],
    ) -> Result<ProofKey, TokenError> {
        let pair =
            EcdsaKeyPair::from_private_key_and_public_key(signing, private, public, random())
                .map_err(|_| {
                    TokenError::invalid_options("the DPoP key was refused by the signer")
                })?;
        let coordinate_len = (public.len() - 1) / 2;
        let x = URL_SAFE_NO_PAD.encode(&public[1..1 + coordinate_len]);
        let y = URL_SAFE_NO_PAD.encode(&public[1 + coordinate_len..]);
        let jwk = canonical_jwk(&[("crv", curve), ("kty", "EC"), ("x", &x), ("y", &y)]);
        Ok(ProofKey::assemble(Signer::Ecdsa(pair), algorithm, jwk))
    }

    fn ed25519(pair: Ed25519KeyPair) -> ProofKey {
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let jwk = canonical_jwk(&[("crv", "Ed25519"), ("kty", "OKP"), ("x", &x)]);
        ProofKey::assemble(Signer::Ed25519(pair), "EdDSA", jwk)
    }

    fn assemble(signer: Signer, algorithm: &'static str, jwk: String) -> ProofKey {
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()));
        let header = format!(r#"{{"typ":"dpop+jwt","alg":"{algorithm}","jwk":{jwk}}}"#);
        let header_prefix = format!("{}.", URL_SAFE_NO_PAD.encode(header));
        ProofKey {
            signer,
            algorithm,
            thumbprint,
            header_prefix,
        }
    }

    /// `ES256`, `ES384` or `EdDSA`.
    pub fn algorithm(&self) -> &'static str {
        self.algorithm
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url: what a
    /// bound token's `cnf.jkt` holds.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The encoded protected header followed by a dot: the start of every proof.
    pub(super) fn header_prefix(&self) -> &str {
        &self.header_prefix
    }

    /// The JWS signature of `signing_input` (fixed-size r‖s for ECDSA).
    pub(super) fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.signer {
            Signer::Ecdsa(pair) => pair
                .sign(random(), signing_input)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|_| TokenError::invalid_options("a DPoP proof could not be signed")),
            Signer::Ed25519(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
        }
    }
}

/// RFC 7638 §3: the required members only, sorted by name, no whitespace.
pub fn canonical_jwk(members: &[(&str, &str)]) -> String {
    let mut sorted = members.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let body = sorted
        .iter()
        .map(|(name, value)| {
            format!(
                "{}:{}",
                serde_json::Value::from(*name),
                serde_json::Value::from(*value)
            )
        })
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{body}}}")
}

#[cfg(test)]
#[path = "key_tests.rs"]
pub(crate) mod tests;

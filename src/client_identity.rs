//! A client certificate and its private key, for mutual TLS (RFC 8705).
//!
//! Parsed and checked once, when the client is made, so that a certificate
//! without its key, PEM that does not parse or a key that does not match
//! the certificate fails then, and not at the first token request. What
//! the rest of the crate needs of it:
//! - the certificate's SHA-256 thumbprint (`x5t#S256`, what a server puts
//!   in a bound token's `cnf`), which names the cache entry;
//! - a hash of certificate and key, which names the shared HTTP client
//!   that presents them;
//! - the key's bytes, from which a store derives its seal when the
//!   certificate is the client's only credential;
//! - the identity in the form reqwest presents in the handshake.
//!
//! The private key lives in `Secret`s only; `Debug` shows the thumbprint.

use crate::error::TokenError;
use crate::key::KeyHasher;
use crate::secret::Secret;
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

pub struct ClientIdentity {
    /// Base64url SHA-256 of the end-entity certificate's DER (`x5t#S256`).
    thumbprint: String,
    /// Hash of the chain and the key: the shared HTTP clients' key.
    pool_key: [u8; 32],
    /// The key's DER bytes: seal material when no other credential exists.
    key_der: Zeroizing<Vec<u8>>,
    /// The key as given, kept only to scrub it from anything reported.
    key_pem: Secret,
    /// The chain, then the key, as reqwest's `Identity::from_pem` reads them.
    identity_pem: Secret,
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl ClientIdentity {
    /// `cert`: PEM, the client's certificate first, then any chain. `key`:
    /// its private key, PKCS#8, PKCS#1 (RSA) or SEC1 (EC), in PEM.
    pub fn from_pem(cert: &str, key: Secret) -> Result<ClientIdentity, TokenError> {
        let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| TokenError::invalid_options("cert is not valid PEM"))?;
        let Some(end_entity) = chain.first() else {
            return Err(TokenError::invalid_options(
                "cert holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            ));
        };
        let thumbprint = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(end_entity.as_ref()));
        if key
            .expose()
            .contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        {
            return Err(TokenError::invalid_options(
                "key is encrypted with a passphrase; give it decrypted (openssl pkey -in key.pem -out plain.pem)",
            ));
        }
        let key_der = PrivateKeyDer::from_pem_slice(key.expose().as_bytes()).map_err(|_| {
            TokenError::invalid_options(
                "key is not a PKCS#8, PKCS#1 (RSA) or SEC1 (EC) private key in PEM form",
            )
        })?;
        let key_bytes = Zeroizing::new(key_der.secret_der().to_vec());
        let signing_key =
            rustls::crypto::ring::sign::any_supported_type(&key_der).map_err(|_| {
                TokenError::invalid_options("key is not a usable RSA or EC private key")
            })?;
        let mut pool_key = KeyHasher::new();
        for cert in &chain {
            pool_key.field(Some(cert.as_ref()));
        }
        let pool_key = pool_key.field(Some(&key_bytes)).finish();
        match CertifiedKey::new(chain, signing_key).keys_match() {
            Ok(()) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(TokenError::invalid_options(
                    "key does not match the certificate in cert",
                ))
            }
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(_) => {
                return Err(TokenError::invalid_options(
                    "cert is not a valid X.509 v3 certificate",
                ))
            }
        }
        let identity_pem = Secret::new(format!(
            "{}\n{}\n",
            cert.trim_end(),
            key.expose().trim_end()
        ));
        let identity = ClientIdentity {
            thumbprint,
            pool_key,
            key_der: key_bytes,
            key_pem: key,
            identity_pem,
        };
        // What the HTTP client will read, read once now so it cannot fail later.
        identity.reqwest_identity()?;
        Ok(identity)
    }

    /// The certificate's `x5t#S256` thumbprint (base64url, no padding).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// Names the shared HTTP client that presents this identity.
    pub fn pool_key(&self) -> &[u8; 32] {
        &self.pool_key
    }

    /// The private key's bytes, for deriving a store's seal.
    pub fn key_material(&self) -> &[u8] {
        &self.key_der
    }

    /// The key as the user gave it: never to appear in anything reported.
    pub fn key_pem(&self) -> &Secret {
        &self.key_pem
    }

    /// The identity as reqwest presents it in a TLS handshake.
    pub fn reqwest_identity(&self) -> Result<reqwest::Identity, TokenError> {
        reqwest::Identity::from_pem(self.identity_pem.expose().as_bytes())
            .map_err(|_| TokenError::invalid_options("cert and key cannot be used for TLS"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_certificates::{self_signed, traditional};

    #[test]
    fn every_key_encoding_of_rsa_and_p256_is_read_and_matched() {
        for kind in ["rsa", "ec"] {
            let Some((cert, key)) = self_signed(kind) else {
                return;
            };
            let pkcs8 = ClientIdentity::from_pem(&cert, Secret::new(key.clone())).unwrap();
            let old = traditional(&key);
            assert!(old.contains(if kind == "rsa" {
                "RSA PRIVATE"
            } else {
                "EC PRIVATE"
            }));
            let other = ClientIdentity::from_pem(&cert, Secret::new(old)).unwrap();
            assert_eq!(pkcs8.thumbprint(), other.thumbprint(), "{kind}");
            assert_eq!(pkcs8.thumbprint().len(), 43, "base64url of 32 bytes");
            pkcs8.reqwest_identity().unwrap();
            other.reqwest_identity().unwrap();
        }
    }

    #[test]
    fn a_key_of_another_certificate_or_bad_pem_is_refused_without_showing_the_key() {
        let (Some((cert, key)), Some((_, other_key))) = (self_signed("ec"), self_signed("ec"))
        else {
            return;
        };
        let refused = |cert: &str, key: &str| {
            let err = ClientIdentity::from_pem(cert, Secret::new(key.into())).unwrap_err();
            assert_eq!(err.code, crate::error::ErrorCode::InvalidOptions);
            assert!(!err.message.contains("PRIVATE"), "{}", err.message);
            err.message
        };
        assert!(refused(&cert, &other_key).contains("does not match"));
        assert!(refused("not pem", &key).contains("cert"));
        assert!(refused(&key, &key).contains("cert"));
        assert!(refused(&cert, "not pem").contains("key"));
        assert!(refused(&cert, &cert).contains("key"));
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(refused(&cert, encrypted).contains("passphrase"));
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(refused(garbled, &key).contains("cert"));
    }

    #[test]
    fn debug_shows_the_thumbprint_and_never_the_key() {
        let Some((cert, key)) = self_signed("rsa") else {
            return;
        };
        let identity = ClientIdentity::from_pem(&cert, Secret::new(key.clone())).unwrap();
        let shown = format!("{identity:?}");
        assert!(shown.contains(identity.thumbprint()));
        let body = key.lines().nth(1).unwrap();
        assert!(!shown.contains(body));
    }
}

//! How the client proves who it is: a shared secret in the form body
//! (`client_secret_post`), in an HTTP Basic header (`client_secret_basic`),
//! a signed RFC 7523 client assertion (`private_key_jwt`), or the client
//! certificate presented in the TLS handshake (RFC 8705 `tls_client_auth`
//! and `self_signed_tls_client_auth`: the form carries `client_id` alone).
//!
//! The credential also names the cache entry (by hash): a caller holding a
//! wrong secret or key must never be handed a token fetched with the right one.

use crate::client_identity::ClientIdentity;
use crate::error::TokenError;
use crate::key::KeyHasher;
use crate::secret::Secret;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::Serialize;
use std::sync::Arc;

/// Lifetime of a client assertion; short because it is a bearer credential.
const ASSERTION_LIFETIME_SECS: u64 = 60;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

#[derive(Debug)]
pub enum ClientAuth {
    SecretPost(Secret),
    SecretBasic(Secret),
    PrivateKeyJwt(AssertionSigner),
    /// The certificate is the credential, checked by the server against a
    /// CA it trusts (`tls_client_auth`) or against the one registered for
    /// the client (`self_signed_tls_client_auth`).
    Tls {
        self_signed: bool,
        identity: Arc<ClientIdentity>,
    },
}

/// What authentication adds to one token request.
pub struct Credentials {
    pub form: Vec<(&'static str, Secret)>,
    pub authorization: Option<Secret>,
}

/// The client authentication the options ask for: `authMethod` (by
/// default `private_key_jwt` when a `privateKey` is given, else
/// `client_secret_post` when a secret is, else `tls_client_auth` when a
/// client certificate is) with exactly the credential that method uses.
/// A certificate beside a secret or key is presented all the same (for
/// binding), but does not authenticate.
pub fn from_options(
    method: Option<&str>,
    secret: Option<Secret>,
    private_key: Option<Secret>,
    algorithm: Option<&str>,
    key_id: Option<String>,
    assertion_audience: String,
    certificate: Option<&Arc<ClientIdentity>>,
) -> Result<ClientAuth, TokenError> {
    if let Some(name) = algorithm {
        // Checked whatever the method, so a typo never passes silently.
        parse_algorithm(name)?;
    }
    let method = method.unwrap_or(if private_key.is_some() {
        "private_key_jwt"
    } else if secret.is_none() && certificate.is_some() {
        "tls_client_auth"
    } else {
        "client_secret_post"
    });
    let need_secret = |secret: Option<Secret>| match secret {
        Some(s) if !s.expose().is_empty() => Ok(s),
        _ => Err(TokenError::invalid_options(format!(
            "clientSecret is required for authMethod '{method}'"
        ))),
    };
    let secret_method = method == "client_secret_post" || method == "client_secret_basic";
    if secret_method && private_key.is_some() {
        return Err(TokenError::invalid_options(format!(
            "privateKey is only used with authMethod 'private_key_jwt', not '{method}'"
        )));
    }
    match method {
        "client_secret_post" => Ok(ClientAuth::SecretPost(need_secret(secret)?)),
        "client_secret_basic" => Ok(ClientAuth::SecretBasic(need_secret(secret)?)),
        "private_key_jwt" => {
            if secret.is_some() {
                return Err(TokenError::invalid_options(
                    "clientSecret is not used with authMethod 'private_key_jwt'; give privateKey only",
                ));
            }
            let key = private_key.ok_or_else(|| {
                TokenError::invalid_options("privateKey is required for authMethod 'private_key_jwt'")
            })?;
            Ok(ClientAuth::PrivateKeyJwt(AssertionSigner::new(
                key,
                algorithm.unwrap_or("RS256"),
                key_id,
                assertion_audience,
            )?))
        }
        "tls_client_auth" | "self_signed_tls_client_auth" => {
            if secret.is_some() || private_key.is_some() {
                return Err(TokenError::invalid_options(format!(
                    "authMethod '{method}' authenticates with the certificate alone; leave out clientSecret and privateKey"
                )));
            }
            let identity = certificate.cloned().ok_or_else(|| {
                TokenError::invalid_options(format!(
                    "cert and key (a client certificate) are required for authMethod '{method}'"
                ))
            })?;
            Ok(ClientAuth::Tls {
                self_signed: method == "self_signed_tls_client_auth",
                identity,
            })
        }
        other => Err(TokenError::invalid_options(format!(
            "authMethod must be 'client_secret_post', 'client_secret_basic', 'private_key_jwt', 'tls_client_auth' or 'self_signed_tls_client_auth', not '{}'",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

impl ClientAuth {
    pub fn method_name(&self) -> &'static str {
        match self {
            ClientAuth::SecretPost(_) => "client_secret_post",
            ClientAuth::SecretBasic(_) => "client_secret_basic",
            ClientAuth::PrivateKeyJwt(_) => "private_key_jwt",
            ClientAuth::Tls {
                self_signed: false, ..
            } => "tls_client_auth",
            ClientAuth::Tls {
                self_signed: true, ..
            } => "self_signed_tls_client_auth",
        }
    }

    /// A hash of the credential, for the cache key. Never the credential itself.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut key = KeyHasher::new();
        key.text(self.method_name());
        match self {
            ClientAuth::SecretPost(s) | ClientAuth::SecretBasic(s) => key.text(s.expose()),
            ClientAuth::PrivateKeyJwt(signer) => key
                .text(signer.key_pem.expose())
                .text(signer.algorithm_name())
                .optional_text(signer.key_id.as_deref())
                .text(&signer.audience),
            // The thumbprint names the certificate; the pool key adds the key.
            ClientAuth::Tls { identity, .. } => key
                .text(identity.thumbprint())
                .field(Some(identity.pool_key())),
        };
        key.finish()
    }

    /// Every form in which this module sends the credential (raw,
    /// form-urlencoded, percent-encoded, the Basic header value and its
    /// base64 part): none may appear in anything we report, even when a
    /// server echoes the request back.
    pub fn secret_texts(&self, client_id: &str) -> Vec<Secret> {
        match self {
            ClientAuth::SecretPost(s) | ClientAuth::SecretBasic(s) => {
                let raw = s.expose();
                let form = form_urlencoded::byte_serialize(raw.as_bytes()).collect::<String>();
                let percent = form.replace('+', "%20");
                let header = basic_authorization(client_id, raw);
                let base64 = header.expose().trim_start_matches("Basic ").to_owned();
                vec![
                    s.clone(),
                    Secret::new(form),
                    Secret::new(percent),
                    Secret::new(base64),
                    header,
                ]
            }
            ClientAuth::PrivateKeyJwt(signer) => vec![signer.key_pem.clone()],
            ClientAuth::Tls { identity, .. } => vec![identity.key_pem().clone()],
        }
    }

    /// The credential's bytes, from which a shared store derives its keys.
    pub fn key_material(&self) -> &[u8] {
        match self {
            ClientAuth::SecretPost(s) | ClientAuth::SecretBasic(s) => s.expose().as_bytes(),
            ClientAuth::PrivateKeyJwt(signer) => signer.key_pem.expose().as_bytes(),
            ClientAuth::Tls { identity, .. } => identity.key_material(),
        }
    }

    /// The credentials for one request: a private_key_jwt assertion is
    /// signed anew each time, with a fresh `jti`, so retries are not replays.
    pub fn credentials(&self, client_id: &str, now_secs: u64) -> Result<Credentials, TokenError> {
        Ok(match self {
            ClientAuth::SecretPost(secret) => Credentials {
                form: vec![("client_secret", secret.clone())],
                authorization: None,
            },
            ClientAuth::SecretBasic(secret) => Credentials {
                form: vec![],
                authorization: Some(basic_authorization(client_id, secret.expose())),
            },
            ClientAuth::PrivateKeyJwt(signer) => Credentials {
                form: vec![
                    ("client_assertion_type", Secret::new(ASSERTION_TYPE.into())),
                    ("client_assertion", signer.sign(client_id, now_secs)?),
                ],
                authorization: None,
            },
            // The handshake did it: the form carries client_id alone.
            ClientAuth::Tls { .. } => Credentials {
                form: vec![],
                authorization: None,
            },
        })
    }
}

/// RFC 6749 §2.3.1: id and secret are form-urlencoded before base64, so `:`,
/// `+`, `%` and non-ASCII characters survive the round trip.
fn basic_authorization(client_id: &str, secret: &str) -> Secret {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = Secret::new(format!("{}:{}", encode(client_id), encode(secret)));
    let b64 = base64::engine::general_purpose::STANDARD.encode(pair.expose());
    Secret::new(format!("Basic {b64}"))
}

/// Signs RFC 7523 client assertions with one private key.
pub struct AssertionSigner {
    /// PKCS#8 or PKCS#1 PEM as given (a SEC1 EC key is converted to PKCS#8).
    key_pem: Secret,
    /// Parsed once, when the client is created: signing is per request.
    encoding_key: EncodingKey,
    algorithm: Algorithm,
    key_id: Option<String>,
    audience: String,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("key_pem", &self.key_pem)
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.key_id)
            .field("audience", &self.audience)
            .finish()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: String,
    iat: u64,
    exp: u64,
}

impl AssertionSigner {
    /// Parses the key now, so a bad key fails when the client is created
    /// rather than at its first token request.
    pub fn new(
        key_pem: Secret,
        algorithm: &str,
        key_id: Option<String>,
        audience: String,
    ) -> Result<Self, TokenError> {
        let algorithm = parse_algorithm(algorithm)?;
        let key_pem = crate::private_key::normalize(&key_pem)?;
        let invalid = || {
            TokenError::invalid_options(format!(
                "privateKey is not a valid {} private key in PEM form",
                key_family(algorithm)
            ))
        };
        let pem = key_pem.expose().as_bytes();
        let encoding_key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .map_err(|_| invalid())?;
        let signer = AssertionSigner {
            key_pem,
            encoding_key,
            algorithm,
            key_id,
            audience,
        };
        // A key of the wrong kind for the algorithm parses but cannot sign.
        signer.sign("probe", 0).map_err(|_| invalid())?;
        Ok(signer)
    }

    fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::RS384 => "RS384",
            Algorithm::PS256 => "PS256",
            Algorithm::ES256 => "ES256",
            _ => "RS256",
        }
    }

    pub fn sign(&self, client_id: &str, now_secs: u64) -> Result<Secret, TokenError> {
        let failed =
            || TokenError::invalid_options("privateKey could not sign the client assertion");
        let mut header = Header::new(self.algorithm);
        header.kid = self.key_id.clone();
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: &self.audience,
            jti: random_jti(),
            iat: now_secs,
            exp: now_secs + ASSERTION_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding_key)
            .map(Secret::new)
            .map_err(|_| failed())
    }
}

fn key_family(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "EC P-256",
        _ => "RSA",
    }
}

/// The algorithms a client assertion may be signed with.
pub fn parse_algorithm(name: &str) -> Result<Algorithm, TokenError> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "RS384" => Ok(Algorithm::RS384),
        "PS256" => Ok(Algorithm::PS256),
        "ES256" => Ok(Algorithm::ES256),
        other => Err(TokenError::invalid_options(format!(
            "signingAlgorithm must be 'RS256', 'RS384', 'PS256' or 'ES256', not '{}'",
            other.chars().take(20).collect::<String>()
        ))),
    }
}

fn random_jti() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    crate::hex::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_form_encodes_before_base64() {
        let header = basic_authorization("id:1", "p+s&%é:x");
        let b64 = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "id%3A1:p%2Bs%26%25%C3%A9%3Ax"
        );
    }

    #[test]
    fn fingerprints_differ_by_credential_and_method_but_hide_it() {
        let a = ClientAuth::SecretPost(Secret::new("secret-a".into()));
        let b = ClientAuth::SecretPost(Secret::new("secret-b".into()));
        let a_basic = ClientAuth::SecretBasic(Secret::new("secret-a".into()));
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), a_basic.fingerprint());
        assert_eq!(
            a.fingerprint(),
            ClientAuth::SecretPost(Secret::new("secret-a".into())).fingerprint()
        );
        assert!(!format!("{a:?}").contains("secret-a"));
    }

    #[test]
    fn post_sends_the_secret_in_the_form_and_basic_in_a_header() {
        let post = ClientAuth::SecretPost(Secret::new("s".into()))
            .credentials("id", 0)
            .unwrap();
        assert_eq!(post.form[0].0, "client_secret");
        assert!(post.authorization.is_none());
        let basic = ClientAuth::SecretBasic(Secret::new("s".into()))
            .credentials("id", 0)
            .unwrap();
        assert!(basic.form.is_empty());
        assert!(basic.authorization.is_some());
    }

    #[test]
    fn a_bad_key_or_algorithm_is_refused_at_construction() {
        let bad = AssertionSigner::new(
            Secret::new("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".into()),
            "RS256",
            None,
            "https://x/".into(),
        );
        assert_eq!(
            bad.unwrap_err().code,
            crate::error::ErrorCode::InvalidOptions
        );
        let alg = AssertionSigner::new(Secret::new("x".into()), "HS256", None, "a".into());
        assert!(alg.unwrap_err().message.contains("signingAlgorithm"));
    }

    #[test]
    fn the_certificate_alone_authenticates_names_the_entry_and_keys_the_seal() {
        use crate::test_certificates::self_signed;
        let (Some((cert, key)), Some((other_cert, other_key))) =
            (self_signed("ec"), self_signed("ec"))
        else {
            return;
        };
        let identity = |cert: &str, key: &str| {
            Arc::new(ClientIdentity::from_pem(cert, Secret::new(key.into())).unwrap())
        };
        let tls = |method: Option<&str>, secret: Option<&str>, identity: &Arc<ClientIdentity>| {
            from_options(
                method,
                secret.map(|s| Secret::new(s.into())),
                None,
                None,
                None,
                "https://as/".into(),
                Some(identity),
            )
        };
        let one = identity(&cert, &key);
        let auth = tls(None, None, &one).unwrap();
        assert_eq!(auth.method_name(), "tls_client_auth");
        let sent = auth.credentials("id", 0).unwrap();
        assert!(sent.form.is_empty() && sent.authorization.is_none());
        assert_eq!(auth.key_material(), one.key_material());
        let self_signed_auth = tls(Some("self_signed_tls_client_auth"), None, &one).unwrap();
        assert_ne!(auth.fingerprint(), self_signed_auth.fingerprint());
        let two = identity(&other_cert, &other_key);
        assert_ne!(
            auth.fingerprint(),
            tls(None, None, &two).unwrap().fingerprint()
        );
        // With a secret, the secret authenticates (and seals); the certificate is presented.
        assert_eq!(
            tls(None, Some("s"), &one).unwrap().method_name(),
            "client_secret_post"
        );
        assert!(tls(Some("tls_client_auth"), Some("s"), &one).is_err());
    }
}

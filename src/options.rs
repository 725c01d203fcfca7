//! Options as the user wrote them, checked once, into a `TokenRequest`:
//! everything a fetch needs, plus the cache key that names its entry.

use crate::client_auth::ClientAuth;
use crate::client_identity::ClientIdentity;
use crate::endpoint::{self, Endpoint};
use crate::error::TokenError;
use crate::key::{CacheKey, KeyHasher};
use crate::proxy::{ProxyChoice, ProxyOption};
use crate::secret::Secret;
use crate::store_spec::StoreSpec;
use crate::token_binding::TokenBinding;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_LEEWAY_SECONDS: f64 = 60.0;
pub const DEFAULT_TIMEOUT_MS: f64 = 10_000.0;
pub const DEFAULT_RETRIES: u32 = 2;
/// Far beyond any sane setting; keeps arithmetic on user numbers finite.
const MAX_LEEWAY_SECONDS: f64 = 365.0 * 86_400.0;
const MAX_TIMEOUT_MS: f64 = 3_600_000.0;
const MAX_RETRIES: f64 = 10.0;

/// Form fields the protocol owns; `extraParams` may not override them.
const RESERVED_PARAMS: [&str; 7] = [
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "audience",
    "scope",
];

/// Options with JavaScript types already checked (by the binding), values not yet.
#[derive(Debug, Default)]
pub struct RawOptions {
    pub domain: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub extra_params: Vec<(String, String)>,
    pub auth_method: Option<String>,
    pub private_key: Option<Secret>,
    pub key_id: Option<String>,
    pub signing_algorithm: Option<String>,
    pub assertion_audience: Option<String>,
    pub leeway_seconds: Option<f64>,
    pub timeout_ms: Option<f64>,
    pub retries: Option<f64>,
    pub ca: Option<String>,
    /// Client certificate (PEM, then its chain) for mutual TLS.
    pub cert: Option<String>,
    /// The private key of `cert`.
    pub key: Option<Secret>,
    pub store: Option<String>,
    pub proxy: Option<ProxyOption>,
}

/// How one caller wants its requests made; not part of the cache key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub leeway_ms: u64,
    pub timeout: Duration,
    pub retries: u32,
}

#[derive(Debug)]
pub struct TokenRequest {
    pub token_url: String,
    pub client_id: String,
    pub auth: ClientAuth,
    pub audience: Option<String>,
    pub scope: Option<String>,
    /// Sorted by name so that equal options give equal keys.
    pub extra_params: Vec<(String, String)>,
    pub ca: Option<String>,
    /// What the token is bound to (a client certificate), if anything.
    pub binding: TokenBinding,
    pub store: StoreSpec,
    pub proxy: ProxyChoice,
    /// `token_url` parsed once, for choosing a proxy on every request.
    pub endpoint_url: Option<url::Url>,
    pub policy: Policy,
    pub key: CacheKey,
}

impl TokenRequest {
    pub fn from_options(raw: RawOptions) -> Result<TokenRequest, TokenError> {
        let endpoint = match (&raw.domain, &raw.token_url) {
            (Some(d), None) => endpoint::from_domain(d)?,
            (None, Some(u)) => endpoint::from_token_url(u)?,
            (Some(_), Some(_)) => {
                return Err(TokenError::invalid_options(
                    "give exactly one of domain and tokenUrl, not both",
                ))
            }
            (None, None) => {
                return Err(TokenError::invalid_options(
                    "domain (an Auth0 tenant) or tokenUrl is required",
                ))
            }
        };
        let client_id = match raw.client_id {
            Some(id) if !id.is_empty() => id,
            _ => return Err(TokenError::invalid_options("clientId is required")),
        };
        let policy = policy(raw.leeway_seconds, raw.timeout_ms, raw.retries)?;
        let binding = TokenBinding {
            certificate: client_identity(raw.cert.as_deref(), raw.key)?.map(Arc::new),
        };
        // Auth0 answers mutual TLS at its `mtls.` alias of the (custom) domain.
        let endpoint = match (&binding.certificate, raw.domain.is_some()) {
            (Some(_), true) => endpoint.with_mtls_alias(),
            _ => endpoint,
        };
        let auth = crate::client_auth::from_options(
            raw.auth_method.as_deref(),
            raw.client_secret,
            raw.private_key,
            raw.signing_algorithm.as_deref(),
            raw.key_id,
            raw.assertion_audience
                .unwrap_or_else(|| endpoint.default_assertion_audience.clone()),
            binding.certificate.as_ref(),
        )?;
        let extra_params = extra_params(raw.extra_params)?;
        if let Some(ca) = &raw.ca {
            // Parsed now, so a bad `ca` fails here and not at first use.
            crate::tls::validate_ca(ca)?;
        }
        let store = StoreSpec::parse(raw.store.as_deref().unwrap_or("memory"))?;
        let proxy = ProxyChoice::from_option(raw.proxy)?;
        let Endpoint {
            token_url,
            default_audience,
            ..
        } = endpoint;
        let endpoint_url = url::Url::parse(&token_url).ok();
        let mut request = TokenRequest {
            token_url,
            endpoint_url,
            client_id,
            auth,
            audience: raw.audience.or(default_audience),
            scope: raw.scope,
            extra_params,
            ca: raw.ca,
            binding,
            store,
            proxy,
            policy,
            key: [0; 32],
        };
        request.key = request.compute_key();
        Ok(request)
    }

    /// Everything that decides which token the server would issue, and the
    /// credential by hash; length-prefixed so fields cannot run together.
    fn compute_key(&self) -> CacheKey {
        let mut key = KeyHasher::new();
        key.text(&self.token_url)
            .text(&self.client_id)
            .optional_text(self.audience.as_deref())
            .optional_text(self.scope.as_deref())
            .text(self.auth.method_name());
        for (name, value) in &self.extra_params {
            key.text(name).text(value);
        }
        key.optional_text(self.ca.as_deref());
        self.binding.hash_into(&mut key);
        key.text(self.store.key_material())
            .text(&self.proxy.key_material())
            .field(Some(&self.auth.fingerprint()))
            .finish()
    }

    /// Texts to scrub from anything the server sends back to us.
    pub fn secret_texts(&self) -> Vec<Secret> {
        let mut texts = self.auth.secret_texts(&self.client_id);
        if let Some(identity) = &self.binding.certificate {
            texts.push(identity.key_pem().clone());
        }
        texts
    }
}

/// `cert` and `key` go together: one without the other is a mistake.
fn client_identity(
    cert: Option<&str>,
    key: Option<Secret>,
) -> Result<Option<ClientIdentity>, TokenError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => ClientIdentity::from_pem(cert, key).map(Some),
        (Some(_), None) => Err(TokenError::invalid_options(
            "cert needs its private key: give key as well",
        )),
        (None, Some(_)) => Err(TokenError::invalid_options(
            "key is the private key of a client certificate: give cert as well",
        )),
    }
}

fn policy(
    leeway_seconds: Option<f64>,
    timeout_ms: Option<f64>,
    retries: Option<f64>,
) -> Result<Policy, TokenError> {
    let leeway = leeway_seconds.unwrap_or(DEFAULT_LEEWAY_SECONDS);
    if !(leeway.is_finite() && (0.0..=MAX_LEEWAY_SECONDS).contains(&leeway)) {
        return Err(TokenError::invalid_options(
            "leewaySeconds must be a finite number ≥ 0",
        ));
    }
    let timeout = timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    if !(timeout.is_finite() && timeout > 0.0 && timeout <= MAX_TIMEOUT_MS) {
        return Err(TokenError::invalid_options(
            "timeoutMs must be a finite number > 0 (at most one hour)",
        ));
    }
    let retries = retries.unwrap_or(DEFAULT_RETRIES as f64);
    if !(retries.fract() == 0.0 && (0.0..=MAX_RETRIES).contains(&retries)) {
        return Err(TokenError::invalid_options(
            "retries must be an integer from 0 to 10",
        ));
    }
    Ok(Policy {
        leeway_ms: (leeway * 1000.0) as u64,
        timeout: Duration::from_micros((timeout * 1000.0) as u64),
        retries: retries as u32,
    })
}

fn extra_params(mut params: Vec<(String, String)>) -> Result<Vec<(String, String)>, TokenError> {
    for (name, _) in &params {
        if name.is_empty() {
            return Err(TokenError::invalid_options(
                "extraParams names must not be empty",
            ));
        }
        if RESERVED_PARAMS.contains(&name.as_str()) {
            return Err(TokenError::invalid_options(format!(
                "extraParams may not set '{name}'; use the option of that name instead"
            )));
        }
    }
    params.sort();
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth0(secret: &str) -> RawOptions {
        RawOptions {
            domain: Some("contoso.auth0.com".into()),
            client_id: Some("abc".into()),
            client_secret: Some(Secret::new(secret.into())),
            ..RawOptions::default()
        }
    }

    #[test]
    fn domain_client_id_and_secret_are_enough_for_the_management_api() {
        let r = TokenRequest::from_options(auth0("s")).unwrap();
        assert_eq!(r.token_url, "https://contoso.auth0.com/oauth/token");
        assert_eq!(
            r.audience.as_deref(),
            Some("https://contoso.auth0.com/api/v2/")
        );
        assert_eq!(r.auth.method_name(), "client_secret_post");
        assert_eq!(
            r.policy,
            Policy {
                leeway_ms: 60_000,
                timeout: Duration::from_secs(10),
                retries: 2
            }
        );
    }

    #[test]
    fn the_key_covers_the_credential_and_what_the_token_is_for() {
        let key = |raw: RawOptions| TokenRequest::from_options(raw).unwrap().key;
        let base = key(auth0("right"));
        assert_eq!(base, key(auth0("right")));
        assert_ne!(base, key(auth0("wrong")));
        assert_ne!(
            base,
            key(RawOptions {
                scope: Some("read:users".into()),
                ..auth0("right")
            })
        );
        assert_ne!(
            base,
            key(RawOptions {
                audience: Some("urn:x".into()),
                ..auth0("right")
            })
        );
        assert_ne!(
            base,
            key(RawOptions {
                extra_params: vec![("organization".into(), "o".into())],
                ..auth0("right")
            })
        );
        // policy is not identity: callers with other timeouts share the token
        assert_eq!(
            base,
            key(RawOptions {
                timeout_ms: Some(5.0),
                ..auth0("right")
            })
        );
    }

    #[test]
    fn extra_params_are_order_independent_and_cannot_override_the_protocol() {
        let with = |params: &[(&str, &str)]| {
            TokenRequest::from_options(RawOptions {
                extra_params: params
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                ..auth0("s")
            })
        };
        assert_eq!(
            with(&[("a", "1"), ("b", "2")]).unwrap().key,
            with(&[("b", "2"), ("a", "1")]).unwrap().key
        );
        assert!(with(&[("grant_type", "password")]).is_err());
        assert!(with(&[("client_id", "other")]).is_err());
    }

    #[test]
    fn every_bad_value_names_its_option() {
        let cases: Vec<(RawOptions, &str)> = vec![
            (
                RawOptions {
                    client_id: None,
                    ..auth0("s")
                },
                "clientId",
            ),
            (
                RawOptions {
                    client_secret: None,
                    ..auth0("s")
                },
                "clientSecret",
            ),
            (
                RawOptions {
                    token_url: Some("https://x/t".into()),
                    ..auth0("s")
                },
                "domain",
            ),
            (
                RawOptions {
                    leeway_seconds: Some(-1.0),
                    ..auth0("s")
                },
                "leewaySeconds",
            ),
            (
                RawOptions {
                    leeway_seconds: Some(f64::NAN),
                    ..auth0("s")
                },
                "leewaySeconds",
            ),
            (
                RawOptions {
                    timeout_ms: Some(0.0),
                    ..auth0("s")
                },
                "timeoutMs",
            ),
            (
                RawOptions {
                    timeout_ms: Some(f64::INFINITY),
                    ..auth0("s")
                },
                "timeoutMs",
            ),
            (
                RawOptions {
                    retries: Some(1.5),
                    ..auth0("s")
                },
                "retries",
            ),
            (
                RawOptions {
                    retries: Some(-1.0),
                    ..auth0("s")
                },
                "retries",
            ),
            (
                RawOptions {
                    auth_method: Some("none".into()),
                    ..auth0("s")
                },
                "authMethod",
            ),
            (
                RawOptions {
                    ca: Some("not pem".into()),
                    ..auth0("s")
                },
                "ca",
            ),
            (
                RawOptions {
                    auth_method: Some("private_key_jwt".into()),
                    client_secret: None,
                    ..auth0("s")
                },
                "privateKey",
            ),
        ];
        for (raw, option) in cases {
            let err = TokenRequest::from_options(raw).unwrap_err();
            assert!(err.message.contains(option), "{option}: {}", err.message);
        }
    }
}

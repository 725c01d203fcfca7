//! Values crossing the boundary: options in, snapshots and errors out.

use crate::cache::{Acquired, Snapshot};
use crate::error::TokenError;
use crate::options::RawOptions;
use crate::secret::Secret;
use napi_derive::napi;
use std::collections::HashMap;

/// Options after `lib/options.js` has checked their JavaScript types.
#[napi(object)]
pub struct JsOptions {
    pub domain: Option<String>,
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub extra_params: Option<HashMap<String, String>>,
    pub auth_method: Option<String>,
    pub private_key: Option<String>,
    pub key_id: Option<String>,
    pub signing_algorithm: Option<String>,
    pub assertion_audience: Option<String>,
    pub leeway_seconds: Option<f64>,
    pub timeout_ms: Option<f64>,
    pub retries: Option<f64>,
    pub ca: Option<String>,
}

impl From<JsOptions> for RawOptions {
    fn from(js: JsOptions) -> RawOptions {
        RawOptions {
            domain: js.domain,
            token_url: js.token_url,
            client_id: js.client_id,
            // Moved, not copied, into zeroing containers.
            client_secret: js.client_secret.map(Secret::new),
            audience: js.audience,
            scope: js.scope,
            extra_params: js.extra_params.unwrap_or_default().into_iter().collect(),
            auth_method: js.auth_method,
            private_key: js.private_key.map(Secret::new),
            key_id: js.key_id,
            signing_algorithm: js.signing_algorithm,
            assertion_audience: js.assertion_audience,
            leeway_seconds: js.leeway_seconds,
            timeout_ms: js.timeout_ms,
            retries: js.retries,
            ca: js.ca,
        }
    }
}

/// What a thread's view of one entry needs; see `lib/thread-view.js`.
#[napi(object)]
pub struct JsSnapshot {
    pub access_token: String,
    pub token_type: String,
    pub scope: Option<String>,
    pub expires_at: f64,
    pub usable_until: f64,
    /// Infinity while a refresh is in flight.
    pub refresh_at: f64,
    /// -1 when the view must not be reused (the entry changed as it was read).
    pub generation: i32,
}

impl From<Snapshot> for JsSnapshot {
    fn from(s: Snapshot) -> JsSnapshot {
        JsSnapshot {
            access_token: s.token.access_token.expose().to_owned(),
            token_type: s.token.token_type.clone(),
            scope: s.token.scope.clone(),
            expires_at: s.token.expires_at_ms as f64,
            usable_until: s.usable_until_ms as f64,
            refresh_at: if s.refresh_at_ms == u64::MAX {
                f64::INFINITY
            } else {
                s.refresh_at_ms as f64
            },
            generation: s.generation.map_or(-1, |g| (g & 0x7fff_ffff) as i32),
        }
    }
}

/// The fields of a `TokenError`; `lib/token-error.js` builds the class.
#[napi(object)]
pub struct JsTokenError {
    pub code: String,
    pub message: String,
    pub status: Option<u32>,
    pub oauth_error: Option<String>,
    pub oauth_error_description: Option<String>,
    pub retry_after: Option<f64>,
}

impl From<TokenError> for JsTokenError {
    fn from(e: TokenError) -> JsTokenError {
        JsTokenError {
            code: e.code.as_str().to_owned(),
            message: e.message,
            status: e.status.map(u32::from),
            oauth_error: e.oauth_error,
            oauth_error_description: e.oauth_error_description,
            retry_after: e.retry_after.map(|s| s as f64),
        }
    }
}

/// An acquire settles with one of these instead of rejecting, so every
/// field of the error reaches JavaScript intact.
#[napi(object)]
pub struct JsOutcome {
    pub token: Option<JsSnapshot>,
    pub error: Option<JsTokenError>,
    pub from_cache: bool,
}

impl From<Result<Acquired, TokenError>> for JsOutcome {
    fn from(result: Result<Acquired, TokenError>) -> JsOutcome {
        match result {
            Ok(acquired) => JsOutcome {
                token: Some(acquired.snapshot.into()),
                error: None,
                from_cache: acquired.from_cache,
            },
            Err(error) => JsOutcome {
                token: None,
                error: Some(error.into()),
                from_cache: false,
            },
        }
    }
}

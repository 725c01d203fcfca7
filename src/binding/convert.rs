//! Values crossing the boundary: options in, snapshots and errors out.

use crate::cache::FlightReport;
use crate::cache::{Acquired, Snapshot};
use crate::error::TokenError;
use crate::options::RawOptions;
use crate::proxy::ProxyOption;
use crate::quota::{Bucket, Buckets, Quota};
use crate::secret::Secret;
use napi::bindgen_prelude::Either;
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
    pub cert: Option<String>,
    pub key: Option<String>,
    pub store: Option<String>,
    /// A URL, or `false` (checked in `lib/options.js`; `true` never gets here).
    pub proxy: Option<Either<String, bool>>,
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
            cert: js.cert,
            key: js.key.map(Secret::new),
            store: js.store,
            proxy: js.proxy.map(|p| match p {
                Either::A(url) => ProxyOption::Url(Secret::new(url)),
                Either::B(_) => ProxyOption::Off,
            }),
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
    pub quota: Option<JsQuota>,
}

#[napi(object)]
pub struct JsBucket {
    pub quota: f64,
    pub remaining: f64,
    pub reset_after: f64,
}

#[napi(object)]
pub struct JsBuckets {
    pub per_hour: Option<JsBucket>,
    pub per_day: Option<JsBucket>,
}

#[napi(object)]
pub struct JsQuota {
    pub client: Option<JsBuckets>,
    pub organization: Option<JsBuckets>,
}

fn js_bucket(b: Bucket) -> JsBucket {
    JsBucket {
        quota: b.quota as f64,
        remaining: b.remaining as f64,
        reset_after: b.reset_after as f64,
    }
}

fn js_buckets(b: Buckets) -> JsBuckets {
    JsBuckets {
        per_hour: b.per_hour.map(js_bucket),
        per_day: b.per_day.map(js_bucket),
    }
}

impl From<Quota> for JsQuota {
    fn from(q: Quota) -> JsQuota {
        JsQuota {
            client: q.client.map(js_buckets),
            organization: q.organization.map(js_buckets),
        }
    }
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
            quota: s.token.quota.map(JsQuota::from),
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
    pub quota: Option<JsQuota>,
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
            quota: e.quota.map(|q| JsQuota::from(*q)),
        }
    }
}

/// How a flight this thread started ended, for `m2m-token:fetch:end`.
#[napi(object)]
pub struct JsReport {
    pub source: String,
    pub attempts: u32,
    pub duration_ms: f64,
    /// The new token's expiry and quota, when the flight got one.
    pub expires_at: Option<f64>,
    pub quota: Option<JsQuota>,
}

impl From<&FlightReport> for JsReport {
    fn from(r: &FlightReport) -> JsReport {
        let token = r.outcome.as_ref().ok();
        JsReport {
            source: r.source.as_str().to_owned(),
            attempts: r.attempts,
            duration_ms: r.duration_ms,
            expires_at: token.map(|t| t.expires_at_ms as f64),
            quota: token.and_then(|t| t.quota).map(JsQuota::from),
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
    /// Only for the caller whose call started the flight.
    pub report: Option<JsReport>,
}

impl JsOutcome {
    pub fn new(result: Result<Acquired, TokenError>, report: Option<&FlightReport>) -> JsOutcome {
        let report = report.map(JsReport::from);
        match result {
            Ok(acquired) => JsOutcome {
                token: Some(acquired.snapshot.into()),
                error: None,
                from_cache: acquired.from_cache,
                report,
            },
            Err(error) => JsOutcome {
                token: None,
                error: Some(error.into()),
                from_cache: false,
                report,
            },
        }
    }

    /// How a refresh ahead ended: its report, never the token itself (a
    /// hit already answered every caller).
    pub fn refreshed(report: &FlightReport) -> JsOutcome {
        JsOutcome {
            token: None,
            error: report.outcome.clone().err().map(JsTokenError::from),
            from_cache: false,
            report: Some(JsReport::from(report)),
        }
    }
}

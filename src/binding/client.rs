//! `NativeClient`: one validated token request, as JavaScript holds it.

use super::convert::{JsOptions, JsOutcome, JsSnapshot};
use super::process_cache::cache;
use crate::cache::Begin;
use crate::error::{ErrorCode, TokenError};
use crate::options::{RawOptions, TokenRequest};
use napi::bindgen_prelude::Object;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use std::sync::Arc;

#[napi]
pub struct NativeClient {
    request: Arc<TokenRequest>,
}

/// The non-secret description `util.inspect` and `JSON.stringify` show.
#[napi(object)]
pub struct ClientDescription {
    pub token_url: String,
    pub client_id: String,
    pub audience: Option<String>,
    pub scope: Option<String>,
    pub auth_method: String,
}

fn invalid_options(error: TokenError) -> Error {
    // The JavaScript side turns this into TokenError ERR_INVALID_OPTIONS.
    Error::new(Status::InvalidArg, error.message)
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(options: JsOptions) -> Result<NativeClient> {
        let request =
            TokenRequest::from_options(RawOptions::from(options)).map_err(invalid_options)?;
        Ok(NativeClient {
            request: Arc::new(request),
        })
    }

    /// Hex of the cache key (a hash; the credential is one of its inputs).
    #[napi(getter)]
    pub fn key(&self) -> String {
        crate::hex::hex(&self.request.key)
    }

    #[napi]
    pub fn describe(&self) -> ClientDescription {
        let r = &self.request;
        ClientDescription {
            token_url: r.token_url.clone(),
            client_id: r.client_id.clone(),
            audience: r.audience.clone(),
            scope: r.scope.clone(),
            auth_method: r.auth.method_name().to_owned(),
        }
    }

    /// The cached token if usable now, synchronously; starts a due refresh.
    #[napi]
    pub fn peek(&self) -> Option<JsSnapshot> {
        cache().peek(&self.request).map(JsSnapshot::from)
    }

    /// Joins or starts the wait for a usable token: `{ started, promise }`,
    /// `started` true when this call started a flight (a token request or
    /// a store read). The promise settles once, with a token or an error.
    #[napi(ts_return_type = "{ started: boolean, promise: Promise<JsOutcome> }")]
    pub fn acquire<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        let (deferred, promise) = env.create_deferred::<JsOutcome, Resolve>()?;
        let mut acquiring = Object::new(env)?;
        let waiting = match cache().begin(&self.request) {
            Begin::Ready(result) => {
                let outcome = JsOutcome::new(result, None);
                deferred.resolve(Box::new(move |_env| Ok(outcome)));
                acquiring.set("started", false)?;
                acquiring.set("promise", promise)?;
                return Ok(acquiring);
            }
            Begin::Wait(waiting) => waiting,
        };
        acquiring.set("started", waiting.started)?;
        acquiring.set("promise", promise)?;
        let request = self.request.clone();
        let runtime = crate::runtime::handle();
        // The wait runs as its own task so that even a panic in it (a bug)
        // still settles the promise: an unsettled one would keep the
        // caller's event loop alive forever.
        let finishing = runtime.spawn(async move {
            let (result, report) = cache().finish_reported(&request, waiting).await;
            JsOutcome::new(result, report.as_ref())
        });
        runtime.spawn(async move {
            let outcome = finishing.await.unwrap_or_else(|_| internal_error());
            deferred.resolve(Box::new(move |_env| Ok(outcome)));
        });
        Ok(acquiring)
    }

    /// Starts a due refresh ahead; with `want_report` (someone listens on
    /// the diagnostics channels) a promise of how it ended, else null.
    #[napi(ts_return_type = "Promise<JsOutcome> | null")]
    pub fn refresh_ahead<'env>(
        &self,
        env: &'env Env,
        want_report: bool,
    ) -> Result<Option<Object<'env>>> {
        let Some(answer) = cache().refresh_ahead(&self.request, want_report) else {
            return Ok(None);
        };
        let (deferred, promise) = env.create_deferred::<JsOutcome, Resolve>()?;
        crate::runtime::handle().spawn(async move {
            let outcome = match answer.await {
                Ok(report) => JsOutcome::refreshed(&report),
                Err(_) => internal_error(),
            };
            deferred.resolve(Box::new(move |_env| Ok(outcome)));
        });
        Ok(Some(promise))
    }

    #[napi]
    pub fn invalidate(&self) -> bool {
        cache().invalidate(&self.request)
    }

    /// A fresh DPoP proof for one request to `url` with `method`, bound to
    /// `access_token` (its `ath`), or null when the client has no proof key.
    /// Synchronous on purpose: a proof costs a few microseconds, an async
    /// napi call many more.
    #[napi]
    pub fn dpop_proof(
        &self,
        method: String,
        url: String,
        access_token: Option<String>,
    ) -> Result<Option<String>> {
        let Some(key) = self.request.binding.proof_key.as_deref() else {
            return Ok(None);
        };
        let now_secs = crate::token::now_ms() / 1000;
        crate::dpop::proof::for_url(key, &method, &url, access_token.as_deref(), now_secs)
            .map(Some)
            .map_err(invalid_options)
    }

    /// Compare and drop: only while the entry holds `access_token`.
    #[napi]
    pub fn invalidate_token(&self, access_token: String) -> bool {
        cache().invalidate_token(&self.request, &access_token)
    }
}

type Resolve = Box<dyn FnOnce(Env) -> Result<JsOutcome> + Send>;

fn internal_error() -> JsOutcome {
    JsOutcome::new(
        Err(TokenError::new(
            ErrorCode::Network,
            "m2m-token: internal error while getting the token",
        )),
        None,
    )
}

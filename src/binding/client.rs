//! `NativeClient`: one validated token request, as JavaScript holds it.

use super::convert::{JsOptions, JsOutcome, JsSnapshot};
use super::process_cache::cache;
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
        if request.ca.is_some() {
            // Parse the roots now, so a bad `ca` fails here and not at first use.
            crate::runtime::http_client(request.ca.as_deref()).map_err(invalid_options)?;
        }
        Ok(NativeClient {
            request: Arc::new(request),
        })
    }

    /// Hex of the cache key (a hash; the credential is one of its inputs).
    #[napi(getter)]
    pub fn key(&self) -> String {
        self.request
            .key
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
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

    /// Waits for a usable token. Settles once, with a token or an error.
    #[napi]
    pub fn acquire<'env>(&self, env: &'env Env) -> Result<Object<'env>> {
        type Resolve = Box<dyn FnOnce(Env) -> Result<JsOutcome> + Send>;
        let (deferred, promise) = env.create_deferred::<JsOutcome, Resolve>()?;
        let request = self.request.clone();
        let runtime = crate::runtime::handle();
        // The acquire runs as its own task so that even a panic in it (a
        // bug) still settles the promise: an unsettled one would keep the
        // caller's event loop alive forever.
        let acquiring = runtime.spawn(async move { cache().acquire(request).await });
        runtime.spawn(async move {
            let outcome = match acquiring.await {
                Ok(result) => JsOutcome::from(result),
                Err(_) => JsOutcome::from(Err(TokenError::new(
                    ErrorCode::Network,
                    "m2m-token: internal error while getting the token",
                ))),
            };
            deferred.resolve(Box::new(move |_env| Ok(outcome)));
        });
        Ok(promise)
    }

    #[napi]
    pub fn refresh_ahead(&self) {
        cache().refresh_ahead(&self.request);
    }

    #[napi]
    pub fn invalidate(&self) -> bool {
        cache().invalidate(&self.request.key)
    }
}

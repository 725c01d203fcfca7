//! One token request, with its retries: the form body for the client's auth
//! method, a timeout per attempt, backoff, `Retry-After`, and a body read
//! that stops at 1 MiB because the server is not trusted.
//!
//! A call waits at most `WAIT_BUDGET_PER_CALL` between attempts in all. A
//! 429 opens a rate-limit window (`rate_window.rs`); one that ends within
//! what is left of that budget is waited out and retried, a longer one
//! fails the call at once with the window, which the cache (and the store)
//! then enforce for every caller.

use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{Counters, FetchContext, FetchFuture, Fetched, Fetcher, TokenSource};
use crate::options::TokenRequest;
use crate::quota::Quota;
use crate::rate_limit::WAIT_BUDGET_PER_CALL;
use crate::rate_window::{Window, MAX_WAIT_SECS};
use crate::response::{self, TokenResponse};
use crate::secret::Secret;
use crate::token::{now_ms, Token};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

pub const MAX_BODY_BYTES: usize = 1024 * 1024;
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// The fetcher behind every store: real HTTP through the shared clients.
pub struct HttpFetcher;

impl Fetcher for HttpFetcher {
    fn fetch(
        &self,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture {
        Box::pin(async move {
            let token = fetch_token(&request, context.window, &|| {
                context.count_attempt(&counters)
            })
            .await?;
            Ok(Fetched {
                token,
                source: TokenSource::Endpoint,
            })
        })
    }
}

/// What one attempt ended in, and whether another attempt could help.
enum Attempt {
    Done(Result<Token, TokenError>),
    Retryable {
        error: TokenError,
        /// For a 429: the server's wait (`Retry-After`), if it gave one.
        wait: Option<Duration>,
    },
}

/// Fetches a token, counting every HTTP attempt with `on_attempt`.
/// `window`: the entry's last rate-limit window (ended), for the back-off.
pub async fn fetch_token(
    request: &TokenRequest,
    window: Option<Window>,
    on_attempt: &(dyn Fn() + Send + Sync),
) -> Result<Token, TokenError> {
    let proxy = request
        .endpoint_url
        .as_ref()
        .and_then(|endpoint| request.proxy.for_endpoint(endpoint));
    let client = crate::http_clients::http_client(
        request.ca.as_deref(),
        proxy.as_ref(),
        request.binding.certificate.as_deref(),
    )?;
    let mut retries_left = request.policy.retries;
    let mut attempt_number = 0u32;
    let mut strikes = window.map_or(0, |w| w.strikes);
    let mut wait_left = WAIT_BUDGET_PER_CALL;
    loop {
        on_attempt();
        let attempt = match tokio::time::timeout(
            request.policy.timeout,
            attempt_once(&client, request),
        )
        .await
        {
            Ok(attempt) => attempt,
            Err(_) => Attempt::Retryable {
                error: TokenError::new(
                    ErrorCode::Timeout,
                    format!(
                        "token request took longer than timeoutMs ({} ms)",
                        request.policy.timeout.as_millis()
                    ),
                ),
                wait: None,
            },
        };
        let (error, delay) = match attempt {
            Attempt::Done(result) => return result.map_err(|e| redact(e, request)),
            Attempt::Retryable { mut error, wait } if error.code == ErrorCode::RateLimited => {
                let now = now_ms();
                let window = Window::after_429(
                    now,
                    wait.map(|w| w.as_secs()),
                    error.quota.as_deref(),
                    strikes,
                );
                strikes = window.strikes;
                let secs = window.remaining_secs(now);
                error.message = format!(
                    "token endpoint is rate limiting this client (HTTP 429): no new request for {secs} s"
                );
                error.retry_after = Some(secs);
                error.window = Some(Box::new(window));
                let wait = Duration::from_millis(window.remaining_ms(now));
                if wait > wait_left {
                    // Not waited out inside the call: the window is the answer.
                    return Err(redact(error, request));
                }
                (error, wait)
            }
            Attempt::Retryable { error, .. } => {
                let delay = backoff(attempt_number).min(wait_left);
                (error, delay)
            }
        };
        if retries_left == 0 {
            return Err(redact(error, request));
        }
        retries_left -= 1;
        attempt_number += 1;
        wait_left -= delay;
        tokio::time::sleep(delay).await;
    }
}

fn redact(error: TokenError, request: &TokenRequest) -> TokenError {
    let secrets = request.secret_texts();
    error.redact(&secrets.iter().map(Secret::expose).collect::<Vec<_>>())
}

/// Exponential backoff with full jitter: a random wait up to a doubling bound.
fn backoff(attempt_number: u32) -> Duration {
    let bound = BACKOFF_BASE
        .saturating_mul(1u32 << attempt_number.min(16))
        .min(BACKOFF_CAP);
    bound.mul_f64(rand::thread_rng().gen::<f64>())
}

async fn attempt_once(client: &reqwest::Client, request: &TokenRequest) -> Attempt {
    let (body, authorization) = match encode_request(request) {
        Ok(encoded) => encoded,
        Err(e) => return Attempt::Done(Err(e)),
    };
    let mut builder = client
        .post(&request.token_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body.expose().to_owned());
    if let Some(authorization) = &authorization {
        builder = builder.header("authorization", authorization.expose());
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(e) => {
            return Attempt::Retryable {
                error: transport_error(&e),
                wait: None,
            }
        }
    };
    let status = response.status().as_u16();
    let retry_after = retry_after_secs(response.headers());
    let quota = crate::quota::from_headers(response.headers());
    let body = match read_capped(&mut response).await {
        Ok(body) => body,
        Err(e) => {
            return match e.code {
                ErrorCode::Network => Attempt::Retryable {
                    error: e,
                    wait: None,
                },
                _ => Attempt::Done(Err(e.with_status(status))),
            }
        }
    };
    with_quota(classify(status, retry_after, &body), quota)
}

/// Auth0 reports the tenant's token quota on every answer, errors included.
fn with_quota(attempt: Attempt, quota: Option<Quota>) -> Attempt {
    match attempt {
        Attempt::Done(Ok(token)) => Attempt::Done(Ok(token.with_quota(quota))),
        Attempt::Done(Err(error)) => Attempt::Done(Err(error.with_quota(quota))),
        Attempt::Retryable { error, wait } => Attempt::Retryable {
            error: error.with_quota(quota),
            wait,
        },
    }
}

/// Turns a complete answer into a token, a final error, or a retry.
fn classify(status: u16, retry_after: Option<u64>, body: &[u8]) -> Attempt {
    match status {
        200..=299 => {
            let obtained_at_ms = now_ms();
            Attempt::Done(
                response::parse_success(status, body, obtained_at_ms).map(|r| {
                    let TokenResponse {
                        access_token,
                        token_type,
                        scope,
                        lifetime_ms,
                    } = r;
                    Token::new(access_token, token_type, scope, obtained_at_ms, lifetime_ms)
                }),
            )
        }
        429 => {
            let mut error = response::parse_failure(status, body);
            error.code = ErrorCode::RateLimited;
            // The message and `retry_after` are final once the loop in
            // `fetch_token` knows the window this 429 opens.
            error.message = "token endpoint is rate limiting this client (HTTP 429)".to_owned();
            error.retry_after = retry_after;
            Attempt::Retryable {
                error,
                wait: retry_after.map(Duration::from_secs),
            }
        }
        500..=599 => Attempt::Retryable {
            error: response::parse_failure(status, body),
            wait: None,
        },
        _ => Attempt::Done(Err(response::parse_failure(status, body))),
    }
}

/// The urlencoded form and the Authorization header, each inside a zeroing
/// string because they carry the credential.
fn encode_request(request: &TokenRequest) -> Result<(Secret, Option<Secret>), TokenError> {
    let credentials = request
        .auth
        .credentials(&request.client_id, now_ms() / 1000)?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "client_credentials");
    if credentials.authorization.is_none() {
        form.append_pair("client_id", &request.client_id);
    }
    for (name, value) in &credentials.form {
        form.append_pair(name, value.expose());
    }
    if let Some(audience) = &request.audience {
        form.append_pair("audience", audience);
    }
    if let Some(scope) = &request.scope {
        form.append_pair("scope", scope);
    }
    for (name, value) in &request.extra_params {
        form.append_pair(name, value);
    }
    Ok((Secret::new(form.finish()), credentials.authorization))
}

/// Reads the body, refusing (without buffering) anything over `MAX_BODY_BYTES`.
async fn read_capped(response: &mut reqwest::Response) -> Result<Vec<u8>, TokenError> {
    let too_large = || {
        TokenError::invalid_response(format!(
            "token endpoint answered with a body over {MAX_BODY_BYTES} bytes"
        ))
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(transport_error(&e)),
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date, in whole seconds from
/// now, at most `MAX_WAIT_SECS`: any run of digits is a wait, however long
/// (2e16 s or beyond u64 is a day, not an overflow or no wait at all).
fn retry_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(value.parse::<u64>().unwrap_or(u64::MAX).min(MAX_WAIT_SECS));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let wait = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).min(MAX_WAIT_SECS))
}

/// A transport failure in our words. reqwest's own text names the URL and
/// its causes; we keep only what tells the user what to fix.
fn transport_error(error: &reqwest::Error) -> TokenError {
    if error.is_timeout() {
        return TokenError::new(ErrorCode::Timeout, "token request timed out");
    }
    if let Some(alert) = crate::tls::refused_client_certificate(error) {
        let message = if alert == "certificate_required" {
            format!("the token endpoint requires a client certificate (TLS alert {alert}): give cert and key")
        } else {
            format!("the token endpoint refused the client certificate (TLS alert {alert}): check cert, key and how the certificate is registered")
        };
        return TokenError::new(ErrorCode::Network, message);
    }
    let mut causes = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        causes.push_str(&e.to_string().to_lowercase());
        causes.push(' ');
        source = e.source();
    }
    if causes.contains("proxy authentication required")
        || causes.contains("proxy authorization required")
        || causes.contains(" 407")
    {
        return TokenError::new(
            ErrorCode::HttpStatus,
            "the proxy refused the request: proxy authentication required (HTTP 407)",
        )
        .with_status(407);
    }
    let message = if causes.contains("tunnel") || causes.contains("proxy") {
        "the proxy could not reach the token endpoint"
    } else if causes.contains("certificate") || causes.contains("unknownissuer") {
        "TLS certificate problem: the token endpoint's certificate is not trusted (pass the `ca` option or set NODE_EXTRA_CA_CERTS)"
    } else if causes.contains("dns") || causes.contains("resolve") || causes.contains("lookup") {
        "cannot resolve the token endpoint's host name"
    } else if error.is_connect() || causes.contains("connection refused") {
        "cannot connect to the token endpoint"
    } else if causes.contains("tls") || causes.contains("handshake") {
        "TLS handshake with the token endpoint failed"
    } else {
        "network error while talking to the token endpoint"
    };
    TokenError::new(ErrorCode::Network, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(a: Attempt) -> Result<Token, TokenError> {
        match a {
            Attempt::Done(r) => r,
            Attempt::Retryable { .. } => panic!("expected a final answer"),
        }
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_capped_bound() {
        for n in 0..20 {
            let bound = BACKOFF_BASE.saturating_mul(1 << n.min(16)).min(BACKOFF_CAP);
            assert!(backoff(n) <= bound);
        }
    }

    #[test]
    fn server_errors_and_429_are_retried_but_oauth_errors_are_not() {
        assert!(matches!(
            classify(503, None, b""),
            Attempt::Retryable { .. }
        ));
        match classify(429, Some(3), b"") {
            Attempt::Retryable { error, wait } => {
                assert_eq!(error.code, ErrorCode::RateLimited);
                assert_eq!(error.retry_after, Some(3));
                assert_eq!(wait, Some(Duration::from_secs(3)));
            }
            _ => panic!("429 must be retryable"),
        }
        let err = done(classify(401, None, br#"{"error":"invalid_client"}"#)).unwrap_err();
        assert_eq!(err.code, ErrorCode::OAuth);
    }

    #[test]
    fn quota_headers_ride_on_tokens_and_errors() {
        let quota = crate::quota::parse_buckets("b=per_hour;q=10;r=7;t=3540").map(|b| Quota {
            client: Some(b),
            organization: None,
        });
        let ok = classify(200, None, br#"{"access_token":"t","expires_in":90}"#);
        let token = done(with_quota(ok, quota)).unwrap();
        assert_eq!(token.quota, quota);
        match with_quota(classify(429, None, b""), quota) {
            Attempt::Retryable { error, .. } => assert_eq!(error.quota.map(|q| *q), quota),
            _ => panic!("429 must be retryable"),
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after_secs(&headers), Some(7));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            "retry-after",
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let secs = retry_after_secs(&headers).unwrap();
        assert!((118..=121).contains(&secs), "{secs}");
        for absurd in [
            "20000000000000000",
            "18446744073709551615",
            "99999999999999999999999",
        ] {
            headers.insert("retry-after", absurd.parse().unwrap());
            assert_eq!(retry_after_secs(&headers), Some(MAX_WAIT_SECS), "{absurd}");
        }
        headers.insert("retry-after", "-5".parse().unwrap());
        assert_eq!(retry_after_secs(&headers), None);
    }
}

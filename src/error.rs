//! The one error type of the core and its stable `code`s.
//!
//! Messages are written here and in `fetch.rs` only, from our own words and
//! the server's OAuth error fields; they never quote a request body, so a
//! client secret, private key or access token cannot reach them.

use crate::quota::Quota;
use crate::rate_window::Window;
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidOptions,
    OAuth,
    HttpStatus,
    RateLimited,
    Timeout,
    Network,
    InvalidResponse,
}

impl ErrorCode {
    /// The `code` users see on `TokenError`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidOptions => "ERR_INVALID_OPTIONS",
            ErrorCode::OAuth => "ERR_OAUTH",
            ErrorCode::HttpStatus => "ERR_HTTP_STATUS",
            ErrorCode::RateLimited => "ERR_RATE_LIMITED",
            ErrorCode::Timeout => "ERR_TIMEOUT",
            ErrorCode::Network => "ERR_NETWORK",
            ErrorCode::InvalidResponse => "ERR_INVALID_RESPONSE",
        }
    }

    /// The code named by `as_str`, e.g. from another process's failure.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    const ALL: [ErrorCode; 7] = [
        ErrorCode::InvalidOptions,
        ErrorCode::OAuth,
        ErrorCode::HttpStatus,
        ErrorCode::RateLimited,
        ErrorCode::Timeout,
        ErrorCode::Network,
        ErrorCode::InvalidResponse,
    ];
}

#[derive(Clone, Debug, PartialEq)]
pub struct TokenError {
    pub code: ErrorCode,
    pub message: String,
    pub status: Option<u16>,
    pub oauth_error: Option<String>,
    pub oauth_error_description: Option<String>,
    /// Seconds the server asked us to wait (429 `Retry-After`).
    pub retry_after: Option<u64>,
    /// Auth0's quota headers, when the failing answer carried them.
    /// Boxed: errors travel in `Result`s everywhere, and most have none.
    pub quota: Option<Box<Quota>>,
    /// The rate-limit window this error opened or was refused inside
    /// (internal: users see `retry_after`). Boxed, as `quota` is.
    pub window: Option<Box<Window>>,
}

impl TokenError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        TokenError {
            code,
            message: message.into(),
            status: None,
            oauth_error: None,
            oauth_error_description: None,
            retry_after: None,
            quota: None,
            window: None,
        }
    }

    pub fn invalid_options(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidOptions, message)
    }

    pub fn invalid_response(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidResponse, message)
    }

    pub fn with_quota(mut self, quota: Option<Quota>) -> Self {
        self.quota = quota.map(Box::new);
        self
    }

    pub fn with_window(mut self, window: Option<Window>) -> Self {
        self.window = window.map(Box::new);
        self
    }

    /// The rate-limit window this error carries, if any.
    pub fn window(&self) -> Option<Window> {
        self.window.as_deref().copied()
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Replaces every occurrence of each secret in the server-provided
    /// fields: a server may echo what it was sent, and what it was sent
    /// includes the credential.
    pub fn redact(mut self, secrets: &[&str]) -> Self {
        // Longest first: a short form may be part of a longer one (the base64
        // credentials inside the whole header value).
        let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| s.len() >= 4).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        for secret in secrets {
            for field in [
                Some(&mut self.message),
                self.oauth_error.as_mut(),
                self.oauth_error_description.as_mut(),
            ]
            .into_iter()
            .flatten()
            {
                if field.contains(secret) {
                    *field = field.replace(secret, "[redacted]");
                }
            }
        }
        self
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for TokenError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_contract_names() {
        assert_eq!(ErrorCode::OAuth.as_str(), "ERR_OAUTH");
        assert_eq!(ErrorCode::RateLimited.as_str(), "ERR_RATE_LIMITED");
        assert_eq!(ErrorCode::InvalidResponse.as_str(), "ERR_INVALID_RESPONSE");
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_name("ERR_NOPE"), None);
    }

    #[test]
    fn redact_scrubs_echoed_secrets_from_server_text() {
        let mut err = TokenError::new(ErrorCode::OAuth, "server said: bad hunter22");
        err.oauth_error_description = Some("secret hunter22 is wrong".into());
        let err = err.redact(&["hunter22"]);
        assert!(!err.message.contains("hunter22"));
        assert_eq!(
            err.oauth_error_description.as_deref(),
            Some("secret [redacted] is wrong")
        );
    }
}

//! An entry's last failed request, as the fleet shares it: the error (so
//! that processes waiting on that request receive it instead of sending
//! their own), and the rate-limit window it opened (so that every process
//! honours it). Serialised as JSON inside the seal, like a token record.
//!
//! `id` tells one failure from the next: a waiter takes a failure only if
//! its id changed while it waited, so a failure from before its wait never
//! answers it, whatever the clocks of the machines say.

use crate::error::{ErrorCode, TokenError};
use crate::hex::random_hex;
use crate::quota::Quota;
use crate::rate_window::Window;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub id: String,
    /// None for a window opened by a token answer (an empty quota bucket).
    pub error: Option<SharedError>,
    pub window: Option<Window>,
}

/// A `TokenError` as it travels between processes; its texts are already
/// redacted (they never held a secret: see `error.rs`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SharedError {
    code: String,
    message: String,
    status: Option<u16>,
    oauth_error: Option<String>,
    oauth_error_description: Option<String>,
    quota: Option<Quota>,
}

impl Failure {
    pub fn new(error: Option<&TokenError>, window: Option<Window>) -> Failure {
        Failure {
            id: random_hex(16),
            error: error.map(SharedError::from),
            window,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        // Plain strings and numbers: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(plaintext: &[u8]) -> Option<Failure> {
        serde_json::from_slice(plaintext).ok()
    }

    /// The error as this process's callers receive it.
    pub fn error(&self) -> Option<TokenError> {
        let shared = self.error.as_ref()?;
        let code = ErrorCode::from_name(&shared.code)?;
        let mut error = TokenError::new(code, shared.message.clone()).with_quota(shared.quota);
        error.status = shared.status;
        error.oauth_error = shared.oauth_error.clone();
        error.oauth_error_description = shared.oauth_error_description.clone();
        Some(error.with_window(self.window))
    }
}

impl From<&TokenError> for SharedError {
    fn from(error: &TokenError) -> SharedError {
        SharedError {
            code: error.code.as_str().to_owned(),
            message: error.message.clone(),
            status: error.status,
            oauth_error: error.oauth_error.clone(),
            oauth_error_description: error.oauth_error_description.clone(),
            quota: error.quota.as_deref().copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_survives_the_trip_between_processes() {
        let mut error = TokenError::new(ErrorCode::OAuth, "token endpoint refused: bad client")
            .with_status(401);
        error.oauth_error = Some("invalid_client".into());
        let window = Window {
            until_ms: 42,
            strikes: 2,
        };
        let failure = Failure::new(Some(&error), Some(window));
        let back = Failure::decode(&failure.encode()).unwrap();
        assert_eq!(back, failure);
        let received = back.error().unwrap();
        assert_eq!(received.code, ErrorCode::OAuth);
        assert_eq!(received.status, Some(401));
        assert_eq!(received.oauth_error.as_deref(), Some("invalid_client"));
        assert_eq!(received.window(), Some(window));
        assert_ne!(Failure::new(None, None).id, Failure::new(None, None).id);
        assert_eq!(Failure::decode(b"{}"), None);
    }
}

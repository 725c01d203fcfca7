//! Reading a token endpoint's answer, which is untrusted input.
//!
//! Only well-formed answers become tokens: anything else is an error with a
//! code that tells the caller whether to blame the server's status, its OAuth
//! error, or the shape of its body. A body is never quoted in a message: it
//! may hold a token.

use crate::error::{ErrorCode, TokenError};
use crate::secret::Secret;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// Used when the server says nothing about expiry and the token is not a JWT.
pub const DEFAULT_LIFETIME_MS: u64 = 300_000;

/// What a successful answer says, before the leeway is applied.
#[derive(Debug)]
pub struct TokenResponse {
    pub access_token: Secret,
    pub token_type: String,
    pub scope: Option<String>,
    pub lifetime_ms: u64,
}

#[derive(Deserialize)]
struct RawSuccess {
    access_token: Option<Value>,
    token_type: Option<Value>,
    expires_in: Option<Value>,
    scope: Option<Value>,
    error: Option<Value>,
    error_description: Option<Value>,
}

/// Parses a 2xx body.
pub fn parse_success(status: u16, body: &[u8], now_ms: u64) -> Result<TokenResponse, TokenError> {
    let raw: RawSuccess = serde_json::from_slice(body).map_err(|_| {
        TokenError::invalid_response(
            "token endpoint answered with a body that is not a JSON object",
        )
        .with_status(status)
    })?;
    if let Some(Value::String(error)) = &raw.error {
        return Err(oauth_error(status, error, raw.error_description.as_ref()));
    }
    let access_token = match raw.access_token {
        Some(Value::String(t)) if !t.is_empty() && is_vschar(&t) => Secret::new(t),
        _ => {
            return Err(TokenError::invalid_response(
                "token endpoint answered without a usable access_token",
            )
            .with_status(status))
        }
    };
    let lifetime_ms = match raw.expires_in {
        None | Some(Value::Null) => {
            jwt_lifetime_ms(access_token.expose(), now_ms).unwrap_or(DEFAULT_LIFETIME_MS)
        }
        Some(value) => expires_in_ms(&value).ok_or_else(|| {
            TokenError::invalid_response("expires_in is not a non-negative number of seconds")
                .with_status(status)
        })?,
    };
    let token_type = match raw.token_type {
        // RFC 9449 §5: the type is case-insensitive; one spelling for callers.
        Some(Value::String(t)) if t.eq_ignore_ascii_case("DPoP") => "DPoP".to_owned(),
        Some(Value::String(t)) if !t.is_empty() && is_vschar(&t) => t,
        // Goes into an Authorization header: refused rather than mended.
        Some(Value::String(t)) if !t.is_empty() => {
            return Err(TokenError::invalid_response(
                "token endpoint answered with a token_type that cannot go in a header",
            )
            .with_status(status))
        }
        _ => "Bearer".to_owned(),
    };
    let scope = match raw.scope {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    Ok(TokenResponse {
        access_token,
        token_type,
        scope,
        lifetime_ms,
    })
}

/// Classifies a non-2xx answer that will not be retried (or whose retries ran out).
pub fn parse_failure(status: u16, body: &[u8]) -> TokenError {
    if (300..400).contains(&status) {
        return TokenError::new(
            ErrorCode::HttpStatus,
            format!("token endpoint answered HTTP {status}; redirects are not followed"),
        )
        .with_status(status);
    }
    #[derive(Deserialize)]
    struct RawError {
        error: Option<Value>,
        error_description: Option<Value>,
    }
    if let Ok(RawError {
        error: Some(Value::String(error)),
        error_description,
    }) = serde_json::from_slice::<RawError>(body)
    {
        return oauth_error(status, &error, error_description.as_ref());
    }
    TokenError::new(
        ErrorCode::HttpStatus,
        format!("token endpoint answered HTTP {status}"),
    )
    .with_status(status)
}

fn oauth_error(status: u16, error: &str, description: Option<&Value>) -> TokenError {
    let description = match description {
        Some(Value::String(d)) => Some(d.clone()),
        _ => None,
    };
    let message = match &description {
        Some(d) => format!("token endpoint refused the request: {error} ({d})"),
        None => format!("token endpoint refused the request: {error}"),
    };
    let mut err = TokenError::new(ErrorCode::OAuth, message).with_status(status);
    err.oauth_error = Some(error.to_owned());
    err.oauth_error_description = description;
    err
}

/// RFC 6749 appendix A.12: an access token is 1*VSCHAR (%x20-7E), so
/// nothing in it can break the `Authorization` header it goes into (CR,
/// LF, NUL, other controls, anything beyond ASCII).
fn is_vschar(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// `expires_in` as a JSON number or a numeric string, in milliseconds.
fn expires_in_ms(value: &Value) -> Option<u64> {
    let seconds = match value {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some((seconds * 1000.0) as u64)
}

/// The remaining lifetime from a JWT's `exp` claim. The token is not
/// verified: we only read when it says it expires, to avoid holding it
/// longer than its issuer meant.
fn jwt_lifetime_ms(token: &str, now_ms: u64) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp_ms = claims.get("exp")?.as_f64()? * 1000.0;
    if !exp_ms.is_finite() {
        return None;
    }
    Some((exp_ms as u64).saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt_with_exp(exp: u64) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            enc.encode(br#"{"alg":"none"}"#),
            enc.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    #[test]
    fn expires_in_may_be_a_number_or_a_numeric_string() {
        let a = parse_success(200, br#"{"access_token":"t","expires_in":86400}"#, 0).unwrap();
        let b = parse_success(200, br#"{"access_token":"t","expires_in":"86400"}"#, 0).unwrap();
        assert_eq!(a.lifetime_ms, 86_400_000);
        assert_eq!(b.lifetime_ms, 86_400_000);
        assert_eq!(a.token_type, "Bearer");
    }

    #[test]
    fn a_dpop_token_type_in_any_case_is_dpop_and_others_are_taken_at_their_word() {
        for (sent, kept) in [
            ("DPoP", "DPoP"),
            ("dpop", "DPoP"),
            ("DPOP", "DPoP"),
            ("Bearer", "Bearer"),
            ("bearer", "bearer"),
            ("N_A", "N_A"),
        ] {
            let body = format!(r#"{{"access_token":"t","token_type":"{sent}"}}"#);
            let response = parse_success(200, body.as_bytes(), 0).unwrap();
            assert_eq!(response.token_type, kept, "{sent}");
        }
    }

    #[test]
    fn bad_expires_in_is_an_invalid_response() {
        for body in [
            r#"{"access_token":"t","expires_in":"abc"}"#,
            r#"{"access_token":"t","expires_in":-5}"#,
            r#"{"access_token":"t","expires_in":true}"#,
        ] {
            let err = parse_success(200, body.as_bytes(), 0).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidResponse, "{body}");
        }
    }

    #[test]
    fn missing_expiry_falls_back_to_jwt_exp_then_300_seconds() {
        let now_ms = 1_700_000_000_000;
        let body = format!(r#"{{"access_token":"{}"}}"#, jwt_with_exp(1_700_000_600));
        let from_jwt = parse_success(200, body.as_bytes(), now_ms).unwrap();
        assert_eq!(from_jwt.lifetime_ms, 600_000);
        let opaque = parse_success(200, br#"{"access_token":"opaque"}"#, now_ms).unwrap();
        assert_eq!(opaque.lifetime_ms, DEFAULT_LIFETIME_MS);
    }

    #[test]
    fn unusable_bodies_are_invalid_responses_that_do_not_quote_the_body() {
        for body in [
            "<html>oops</html>",
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":42}"#,
            "[]",
        ] {
            let err = parse_success(200, body.as_bytes(), 0).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidResponse, "{body}");
            assert!(!err.message.contains("oops"));
        }
    }

    #[test]
    fn tokens_outside_vschar_are_invalid_responses() {
        for token in [
            "a\\rb",
            "a\\nb",
            "a\\u0000b",
            "a\\tb",
            "caf\\u00e9",
            "a\\u007fb",
        ] {
            let body = format!(r#"{{"access_token":"{token}","expires_in":60}}"#);
            let err = parse_success(200, body.as_bytes(), 0).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidResponse, "{token}");
        }
        let body = r#"{"access_token":"t","token_type":"Bearer\r\nX-Injected: 1"}"#;
        let err = parse_success(200, body.as_bytes(), 0).unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidResponse);
        let fine = r#"{"access_token":" !~azAZ09-._~+/=","expires_in":60}"#;
        assert!(parse_success(200, fine.as_bytes(), 0).is_ok());
    }

    #[test]
    fn absurd_lifetimes_are_clamped_to_a_valid_date() {
        let now = 1_700_000_000_000;
        for expires_in in [
            "1e308",
            "9007199254740993",
            "18446744073709551615",
            "\"1e300\"",
        ] {
            let body = format!(r#"{{"access_token":"t","expires_in":{expires_in}}}"#);
            let response = parse_success(200, body.as_bytes(), now).unwrap();
            let token = crate::token::Token::new(
                response.access_token,
                response.token_type,
                None,
                now,
                response.lifetime_ms,
            );
            assert_eq!(token.expires_at_ms, now + crate::token::MAX_LIFETIME_MS);
            assert!((token.expires_at_ms as f64) <= 8.64e15, "{expires_in}");
            assert_eq!(token.expires_at_ms as f64 as u64, token.expires_at_ms);
        }
    }

    #[test]
    fn oauth_error_bodies_keep_their_fields() {
        let err = parse_failure(
            401,
            br#"{"error":"invalid_client","error_description":"Unauthorized"}"#,
        );
        assert_eq!(err.code, ErrorCode::OAuth);
        assert_eq!(err.status, Some(401));
        assert_eq!(err.oauth_error.as_deref(), Some("invalid_client"));
        assert_eq!(err.oauth_error_description.as_deref(), Some("Unauthorized"));
    }

    #[test]
    fn other_failures_are_http_status_errors() {
        let html = parse_failure(502, b"<html>Bad Gateway</html>");
        assert_eq!(html.code, ErrorCode::HttpStatus);
        assert_eq!(html.status, Some(502));
        let redirect = parse_failure(302, br#"{"error":"x"}"#);
        assert_eq!(redirect.code, ErrorCode::HttpStatus);
    }
}

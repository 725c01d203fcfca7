//! A token and its expiry arithmetic.
//!
//! Times are wall-clock milliseconds since the Unix epoch because the
//! JavaScript side compares them with `Date.now()` on every cache hit; both
//! sides must read the same clock.

use crate::quota::Quota;
use crate::secret::Secret;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Share of the usable lifetime after which a hit starts a background refresh.
const REFRESH_AHEAD_FRACTION: f64 = 0.9;
/// The longest lifetime a token is taken to have (100 years): an absurd
/// `expires_in` (1e308, 2^53 + 1) is clamped to it, so that `expiresAt`
/// stays an exact integer and a valid JavaScript `Date` (at most 8.64e15 ms).
pub const MAX_LIFETIME_MS: u64 = 100 * 365 * 24 * 3600 * 1000;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub struct Token {
    pub access_token: Secret,
    pub token_type: String,
    pub scope: Option<String>,
    pub obtained_at_ms: u64,
    pub expires_at_ms: u64,
    /// Auth0's quota headers as they came with this token.
    pub quota: Option<Quota>,
}

/// When a token may be handed out, for one caller's leeway. Callers with
/// different `leewaySeconds` share one token, each with its own cut-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// No caller receives the token at or after this instant (expiry − leeway).
    pub usable_until_ms: u64,
    /// The first hit at or after this instant starts one background refresh.
    pub refresh_at_ms: u64,
}

impl Token {
    /// A token obtained at `obtained_at_ms` that lives `lifetime_ms`.
    /// Whether it is usable is judged per caller, by each caller's leeway.
    pub fn new(
        access_token: Secret,
        token_type: String,
        scope: Option<String>,
        obtained_at_ms: u64,
        lifetime_ms: u64,
    ) -> Token {
        Token {
            access_token,
            token_type,
            scope,
            obtained_at_ms,
            expires_at_ms: obtained_at_ms.saturating_add(lifetime_ms.min(MAX_LIFETIME_MS)),
            quota: None,
        }
    }

    pub fn with_quota(mut self, quota: Option<Quota>) -> Token {
        self.quota = quota;
        self
    }

    pub fn schedule(&self, leeway_ms: u64) -> Schedule {
        let usable_until_ms = self.expires_at_ms.saturating_sub(leeway_ms);
        let usable_ms = usable_until_ms.saturating_sub(self.obtained_at_ms) as f64;
        Schedule {
            usable_until_ms,
            refresh_at_ms: self.obtained_at_ms + (usable_ms * REFRESH_AHEAD_FRACTION) as u64,
        }
    }

    pub fn is_usable_at(&self, now_ms: u64, leeway_ms: u64) -> bool {
        now_ms < self.schedule(leeway_ms).usable_until_ms
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("scope", &self.scope)
            .field("obtained_at_ms", &self.obtained_at_ms)
            .field("expires_at_ms", &self.expires_at_ms)
            .field("quota", &self.quota)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(lifetime_ms: u64, leeway_ms: u64) -> Option<Token> {
        let t = Token::new(
            Secret::new("tok".into()),
            "Bearer".into(),
            None,
            1_000_000,
            lifetime_ms,
        );
        t.is_usable_at(t.obtained_at_ms, leeway_ms).then_some(t)
    }

    #[test]
    fn usable_until_is_expiry_minus_leeway() {
        let t = token(3_600_000, 60_000).unwrap();
        assert_eq!(t.expires_at_ms, 4_600_000);
        assert_eq!(t.schedule(60_000).usable_until_ms, 4_540_000);
        assert!(t.is_usable_at(4_539_999, 60_000));
        assert!(!t.is_usable_at(4_540_000, 60_000));
        // a caller with a larger leeway stops using the same token earlier
        assert!(!t.is_usable_at(4_539_999, 120_000));
    }

    #[test]
    fn refresh_ahead_starts_at_ninety_percent_of_usable_lifetime() {
        let t = token(110_000, 10_000).unwrap();
        // usable for 100 s, so refresh from 90 s after it was obtained
        assert_eq!(t.schedule(10_000).refresh_at_ms, 1_090_000);
    }

    #[test]
    fn a_lifetime_within_the_leeway_is_never_usable() {
        assert!(token(60_000, 60_000).is_none());
        assert!(token(0, 0).is_none());
        assert!(token(60_001, 60_000).is_some());
    }

    #[test]
    fn debug_hides_the_access_token() {
        let t = Token::new(
            Secret::new("eyJsecret-token".into()),
            "Bearer".into(),
            None,
            0,
            10_000,
        );
        assert!(!format!("{t:?}").contains("eyJsecret"));
    }
}

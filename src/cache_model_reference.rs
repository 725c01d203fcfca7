//! A small reference model of what the cache promises for one entry
//! (api.md's guarantees 2, 3, 4, 6, 8 and 9, and the rate-limit rules),
//! written from the contract rather than from `cache.rs`: which callers
//! are answered at once, which wait on a request, which are refused inside
//! a window, whether a request is sent, and what each waiter receives.
//! The model-based test (`cache_model_tests.rs`) runs the same operations
//! on a real `TokenCache` and compares every step.

use crate::error::ErrorCode;
use crate::scripted_fetcher::Step;

/// The callers of the entry: one entry, three `leewaySeconds` (guarantee 8).
pub const LEEWAYS_MS: [u64; 3] = [0, 1_000, 5_000];
/// A failed or worse refresh waits a tenth of what remains usable, within these.
const COOLDOWN_MS: (u64, u64) = (1_000, 30_000);
/// The back-off of 429s without `Retry-After`: 1 s, doubling, at most 60 s.
const BACKOFF_MS: (u64, u64) = (1_000, 60_000);

#[derive(Clone, Debug, PartialEq)]
pub struct ModelToken {
    pub name: String,
    pub obtained_ms: u64,
    pub expires_ms: u64,
}

impl ModelToken {
    fn usable_until(&self, leeway_ms: u64) -> u64 {
        self.expires_ms.saturating_sub(leeway_ms)
    }

    pub fn is_usable(&self, now: u64, leeway_ms: u64) -> bool {
        now < self.usable_until(leeway_ms)
    }

    /// 90 % of the usable lifetime (guarantee 4), for one caller's leeway.
    fn refresh_at(&self, leeway_ms: u64) -> u64 {
        let usable = self
            .usable_until(leeway_ms)
            .saturating_sub(self.obtained_ms);
        self.obtained_ms + (usable as f64 * 0.9) as u64
    }
}

/// What a caller gets when its call begins.
#[derive(Clone, Debug, PartialEq)]
pub enum Begun {
    /// Answered at once from the cache with this token.
    Hit(String),
    /// Waits on the entry's request.
    Waits,
    /// Refused at once inside a rate-limit window, nothing sent.
    Refused,
}

/// The request one step sends, if any, and for whom.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flight {
    pub background: bool,
    /// The leeway of the caller that started it.
    pub leeway_ms: u64,
}

/// What a waiter receives: a token's name, or an error's code.
pub type Received = Result<String, ErrorCode>;

#[derive(Debug, Default)]
pub struct Model {
    pub now: u64,
    pub held: Option<ModelToken>,
    window_until: u64,
    strikes: u32,
    refresh_not_before: u64,
    /// Tokens dropped by an invalidation or an eviction: never handed out again.
    pub gone: Vec<String>,
}

impl Model {
    pub fn starting_at(now: u64) -> Model {
        Model {
            now,
            ..Model::default()
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    fn window_is_open(&self) -> bool {
        self.now < self.window_until
    }

    /// Callers that begin together (in this order) before any request ends.
    pub fn begin(&self, callers: &[usize]) -> (Vec<Begun>, Option<Flight>) {
        let mut flight = None;
        let begun = callers
            .iter()
            .map(|&caller| {
                let leeway_ms = LEEWAYS_MS[caller];
                match &self.held {
                    Some(held) if held.is_usable(self.now, leeway_ms) => {
                        let due = self.now >= held.refresh_at(leeway_ms)
                            && self.now >= self.refresh_not_before
                            && !self.window_is_open();
                        if due && flight.is_none() {
                            flight = Some(Flight {
                                background: true,
                                leeway_ms,
                            });
                        }
                        Begun::Hit(held.name.clone())
                    }
                    _ if flight.is_some() => Begun::Waits,
                    _ if self.window_is_open() => Begun::Refused,
                    _ => {
                        flight = Some(Flight {
                            background: false,
                            leeway_ms,
                        });
                        Begun::Waits
                    }
                }
            })
            .collect();
        (begun, flight)
    }

    /// The flight's answer arrives; `issued` names the token it carried.
    /// Returns what its waiters receive before each is judged by its leeway.
    pub fn land(&mut self, flight: Flight, answer: Step, issued: Option<&str>) -> Received {
        let now = self.now;
        let token = |lifetime_ms: u64| ModelToken {
            name: issued.unwrap_or_default().to_owned(),
            obtained_ms: now,
            expires_ms: now + lifetime_ms,
        };
        let received = match answer {
            Step::Token(lifetime_ms) => {
                self.close_window();
                self.keep_the_better(token(lifetime_ms), flight)
            }
            Step::TokenFromEmptyBucket {
                lifetime_ms,
                reset_secs,
            } => {
                self.close_window();
                self.window_until = now + reset_secs * 1000;
                self.keep_the_better(token(lifetime_ms), flight)
            }
            Step::TooMany(retry_after) => {
                self.strikes += 1;
                let backoff = (BACKOFF_MS.0 << (self.strikes - 1).min(16)).min(BACKOFF_MS.1);
                self.window_until = now + retry_after.map_or(backoff, |s| s * 1000);
                Err(ErrorCode::RateLimited)
            }
            Step::Fail(code) => Err(code),
        };
        if received.is_err() && flight.background {
            self.cool_down(flight);
        }
        received
    }

    /// Guarantee 4: only a token that expires later replaces the held one.
    fn keep_the_better(&mut self, answer: ModelToken, flight: Flight) -> Received {
        match &self.held {
            Some(held) if answer.expires_ms <= held.expires_ms => {
                let kept = held.name.clone();
                self.cool_down(flight);
                Ok(kept)
            }
            _ => {
                let name = answer.name.clone();
                self.held = Some(answer);
                self.refresh_not_before = 0;
                Ok(name)
            }
        }
    }

    fn cool_down(&mut self, flight: Flight) {
        let remaining = self.held.as_ref().map_or(0, |held| {
            held.usable_until(flight.leeway_ms).saturating_sub(self.now)
        });
        self.refresh_not_before = self.now + (remaining / 10).clamp(COOLDOWN_MS.0, COOLDOWN_MS.1);
    }

    fn close_window(&mut self) {
        self.window_until = 0;
        self.strikes = 0;
    }

    /// What one waiter with `leeway_ms` receives (guarantees 3 and 8).
    pub fn judge(&self, received: &Received, leeway_ms: u64) -> Received {
        let name = received.clone()?;
        let usable = [self.held.as_ref()]
            .into_iter()
            .flatten()
            .any(|t| t.name == name && t.is_usable(self.now, leeway_ms));
        // A token that was not kept was worse than the held one, and went to
        // nobody; the name a waiter receives is always the held token's.
        if usable {
            Ok(name)
        } else {
            Err(ErrorCode::InvalidResponse)
        }
    }

    /// `invalidate()`, `clearCache()`, an eviction: the entry is dropped;
    /// its window stays (rate-limit rule 5).
    pub fn drop_entry(&mut self) {
        if let Some(held) = self.held.take() {
            self.gone.push(held.name);
        }
        self.refresh_not_before = 0;
    }
}

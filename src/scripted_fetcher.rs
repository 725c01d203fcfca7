//! The one fake token endpoint of the Rust tests: it answers from a script
//! (then repeats the last step, or starts over when cycling), counts its
//! calls, and reads time from the clock it is given, so that tests of the
//! cache, of the lock order and of the fleet protocol share one fake.
//!
//! Tokens are named `token-1`, `token-2`, … in call order. A 429 opens the
//! window the real endpoint code (`fetch.rs`) would.

use crate::clock::{Clock, SystemClock};
use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{Counters, FetchContext, FetchFuture, Fetched, Fetcher, TokenSource};
use crate::options::TokenRequest;
use crate::quota::{parse_buckets, Quota};
use crate::rate_window::Window;
use crate::secret::Secret;
use crate::token::Token;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// A token that lives this many ms.
    Token(u64),
    /// A token whose Auth0 quota bucket is empty, resetting in this many s.
    TokenFromEmptyBucket {
        lifetime_ms: u64,
        reset_secs: u64,
    },
    Fail(ErrorCode),
    /// A 429, with this `Retry-After` (seconds) if any.
    TooMany(Option<u64>),
}

pub struct ScriptedFetcher {
    calls: AtomicUsize,
    delay: Duration,
    script: Vec<Step>,
    cycle: bool,
    clock: Arc<dyn Clock>,
}

impl ScriptedFetcher {
    pub fn new(script: Vec<Step>) -> ScriptedFetcher {
        assert!(!script.is_empty(), "a script needs a step");
        ScriptedFetcher {
            calls: AtomicUsize::new(0),
            delay: Duration::ZERO,
            script,
            cycle: false,
            clock: Arc::new(SystemClock),
        }
    }

    /// Tokens of an hour, each after `delay`.
    pub fn tokens(delay: Duration) -> Arc<ScriptedFetcher> {
        Arc::new(Self::new(vec![Step::Token(3_600_000)]).delayed(delay))
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Starts the script over after its last step.
    pub fn cycling(mut self) -> Self {
        self.cycle = true;
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn step(&self, n: usize) -> Step {
        let last = self.script.len() - 1;
        self.script[if self.cycle {
            n % self.script.len()
        } else {
            n.min(last)
        }]
    }
}

impl Fetcher for ScriptedFetcher {
    fn fetch(
        &self,
        _request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        context.count_attempt(&counters);
        let (step, delay, clock) = (self.step(n), self.delay, self.clock.clone());
        Box::pin(async move {
            if delay.is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(delay).await;
            }
            answer(step, &format!("token-{}", n + 1), clock.now_ms(), &context)
        })
    }
}

/// What the endpoint answers for `step` at `now`: a token named `name`, or
/// the failure (a 429 opens the window the real endpoint code would).
pub fn answer(
    step: Step,
    name: &str,
    now: u64,
    context: &FetchContext,
) -> Result<Fetched, TokenError> {
    let token = |lifetime_ms, quota| {
        let token = Token::new(
            Secret::new(name.to_owned()),
            "Bearer".into(),
            None,
            now,
            lifetime_ms,
        );
        Ok(Fetched {
            token: token.with_quota(quota),
            source: TokenSource::Endpoint,
        })
    };
    match step {
        Step::Token(lifetime_ms) => token(lifetime_ms, None),
        Step::TokenFromEmptyBucket {
            lifetime_ms,
            reset_secs,
        } => token(lifetime_ms, Some(empty_bucket(reset_secs))),
        Step::Fail(code) => Err(TokenError::new(code, "scripted failure")),
        Step::TooMany(retry_after) => {
            let strikes = context.window.map_or(0, |w| w.strikes);
            let window = Window::after_429(now, retry_after, None, strikes);
            let mut error = TokenError::new(ErrorCode::RateLimited, "scripted 429")
                .with_status(429)
                .with_window(Some(window));
            error.retry_after = Some(window.remaining_secs(now));
            Err(error)
        }
    }
}

fn empty_bucket(reset_secs: u64) -> Quota {
    Quota {
        client: parse_buckets(&format!("b=per_hour;q=10;r=0;t={reset_secs}")),
        organization: None,
    }
}

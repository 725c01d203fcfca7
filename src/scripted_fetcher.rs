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
use std::sync::{Arc, Mutex};
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

/// The endpoint of the model-based tests: it answers whatever the running
/// step programmed (`answer_next`), notes the client id and the name of
/// every token it issues, and can hold its answers back (`hold`) until the
/// test has started every flight of a step, so that which flight reaches it
/// first is the test's choice, not the scheduler's.
pub struct ProgrammedEndpoint {
    next: Mutex<(Step, u64)>,
    issued: Mutex<Vec<(String, Option<String>)>>,
    clock: Arc<dyn Clock>,
    delay: Duration,
    timeout: Duration,
    open: Arc<tokio::sync::watch::Sender<bool>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: AtomicUsize,
}

impl ProgrammedEndpoint {
    /// Answers after `delay`, or after `timeout` for a `Step::Fail(Timeout)`
    /// (Tokio time: paused in tests that want no real waiting).
    pub fn new(clock: Arc<dyn Clock>, delay: Duration, timeout: Duration) -> ProgrammedEndpoint {
        ProgrammedEndpoint {
            next: Mutex::new((Step::Token(60_000), 0)),
            issued: Mutex::new(Vec::new()),
            clock,
            delay,
            timeout,
            open: Arc::new(tokio::sync::watch::Sender::new(true)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    /// What every request answers from now on.
    pub fn answer_next(&self, step: Step) {
        self.answer_next_aged(step, 0);
    }

    /// As `answer_next`, with tokens obtained `age_ms` ago: a token already
    /// past its refresh point, as a record written long ago would be.
    pub fn answer_next_aged(&self, step: Step, age_ms: u64) {
        *lock(&self.next) = (step, age_ms);
    }

    /// For each request of `client_id` so far, the name of the token it
    /// was answered with (`None` for a failure).
    pub fn requests_for(&self, client_id: &str) -> Vec<Option<String>> {
        let issued = lock(&self.issued);
        let mine = issued.iter().filter(|(id, _)| id == client_id);
        mine.map(|(_, name)| name.clone()).collect()
    }

    /// Requests received so far, answered or held.
    pub fn received(&self) -> usize {
        lock(&self.issued).len()
    }

    /// Requests received from now on wait for `release`.
    pub fn hold(&self) {
        self.open.send_replace(false);
    }

    pub fn release(&self) {
        self.open.send_replace(true);
    }

    /// The most requests that were ever in flight at once.
    pub fn most_in_flight(&self) -> usize {
        self.most_in_flight.load(Ordering::SeqCst)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Counts a request out of flight when its answer is dropped, answered or not.
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Fetcher for ProgrammedEndpoint {
    fn fetch(
        &self,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture {
        context.count_attempt(&counters);
        let (step, age_ms) = *lock(&self.next);
        let now = self.clock.now_ms();
        let result = {
            let mut issued = lock(&self.issued);
            let name = format!("token-{}", issued.len() + 1);
            let obtained = match step {
                Step::Token(_) | Step::TokenFromEmptyBucket { .. } => now.saturating_sub(age_ms),
                _ => now,
            };
            let result = answer(step, &name, obtained, &context);
            let token_name = result.as_ref().ok().map(|_| name);
            issued.push((request.client_id.clone(), token_name));
            result
        };
        let delay = match step {
            Step::Fail(ErrorCode::Timeout) => self.timeout,
            _ => self.delay,
        };
        let in_flight = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(in_flight, Ordering::SeqCst);
        let counted = InFlight(self.in_flight.clone());
        let mut open = self.open.subscribe();
        Box::pin(async move {
            let _counted = counted;
            let _ = open.wait_for(|open| *open).await;
            tokio::time::sleep(delay).await;
            result
        })
    }
}

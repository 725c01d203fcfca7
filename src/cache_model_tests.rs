//! Model-based test of the cache: proptest generates sequences of calls
//! (alone or several at once, from callers with different leeways), the
//! endpoint's answer to each request (good, shorter, inside a leeway, an
//! OAuth error, a 5xx, a 429 with and without `Retry-After`, an empty quota
//! bucket, a hang until timeout), clock steps, invalidations, `clear()` and
//! evictions past the bound, runs them on a real `TokenCache` with a driven
//! clock, and checks every step against the reference model
//! (`cache_model_reference.rs`). A failing sequence shrinks to a minimal
//! one. `PROPTEST_CASES=N` runs more cases than CI's default (see
//! CONTRIBUTING, "The cache's model").

use super::model::{Begun, Model, Received, LEEWAYS_MS};
use super::test_support::request;
use super::*;
use crate::clock::ManualClock;
use crate::scripted_fetcher::{ProgrammedEndpoint, Step};
use proptest::prelude::*;
use proptest::sample::select;
use std::time::Duration;

const ENTRY: &str = "model";
const MAX_ENTRIES: usize = 3;
const DELAY: Duration = Duration::from_millis(10);
/// A request that hangs until its timeout takes this long to fail.
const TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
enum Op {
    /// Callers (indexes into `LEEWAYS_MS`) that call at once; a request,
    /// if one is sent, is answered with `answer`.
    Call {
        callers: Vec<usize>,
        answer: Step,
    },
    Advance(u64),
    Invalidate,
    /// `invalidate(token)` with the token the entry holds.
    InvalidateHeld,
    /// `invalidate(token)` with a token the entry no longer holds.
    InvalidateStale,
    Clear,
    /// A call for another entry (one of four), which may evict this one.
    Crowd(usize),
}

fn answers() -> impl Strategy<Value = Step> {
    let lifetimes = || select(vec![800u64, 1_500, 3_000, 6_000, 20_000, 60_000]);
    prop_oneof![
        5 => lifetimes().prop_map(Step::Token),
        1 => (lifetimes(), 1..=5u64).prop_map(|(lifetime_ms, reset_secs)| {
            Step::TokenFromEmptyBucket { lifetime_ms, reset_secs }
        }),
        1 => Just(Step::Fail(ErrorCode::OAuth)),
        1 => Just(Step::Fail(ErrorCode::HttpStatus)),
        1 => Just(Step::Fail(ErrorCode::Timeout)),
        1 => proptest::option::of(1..=5u64).prop_map(Step::TooMany),
    ]
}

fn ops() -> impl Strategy<Value = Op> {
    let steps = [
        100u64, 300, 1_000, 1_400, 2_000, 2_700, 5_000, 15_000, 61_000,
    ];
    prop_oneof![
        8 => (proptest::collection::vec(0..LEEWAYS_MS.len(), 1..=3), answers())
            .prop_map(|(callers, answer)| Op::Call { callers, answer }),
        5 => select(steps.to_vec()).prop_map(Op::Advance),
        1 => Just(Op::Invalidate),
        1 => Just(Op::InvalidateHeld),
        1 => Just(Op::InvalidateStale),
        1 => Just(Op::Clear),
        1 => (0..4usize).prop_map(Op::Crowd),
    ]
}

struct Harness {
    cache: Arc<TokenCache>,
    endpoint: Arc<ProgrammedEndpoint>,
    clock: Arc<ManualClock>,
    callers: Vec<Arc<TokenRequest>>,
    model: Model,
}

impl Harness {
    fn new() -> Harness {
        let clock = Arc::new(ManualClock::starting_now());
        let endpoint = Arc::new(ProgrammedEndpoint::new(clock.clone(), DELAY, TIMEOUT));
        let cache = TokenCache::with_clock(
            endpoint.clone(),
            tokio::runtime::Handle::current(),
            MAX_ENTRIES,
            clock.clone(),
        );
        let callers = LEEWAYS_MS
            .iter()
            .map(|ms| request(ENTRY, *ms as f64 / 1000.0))
            .collect();
        let model = Model::starting_at(clock.now_ms());
        Harness {
            cache,
            endpoint,
            clock,
            callers,
            model,
        }
    }

    async fn run(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Call { callers, answer } => self.call(callers, *answer).await?,
            Op::Advance(ms) => {
                self.clock.advance_ms(*ms);
                self.model.advance(*ms);
            }
            Op::Invalidate => {
                let dropped = self.cache.invalidate(&self.callers[0]);
                self.expect_dropped(dropped)?;
            }
            Op::InvalidateHeld => {
                if let Some(held) = self.model.held.clone() {
                    let dropped = self.cache.invalidate_token(&self.callers[0], &held.name);
                    check(dropped, "invalidate(held token) drops the entry")?;
                    self.model.drop_entry();
                }
            }
            Op::InvalidateStale => {
                let stale = self.model.gone.last().cloned().unwrap_or("never".into());
                let dropped = self.cache.invalidate_token(&self.callers[0], &stale);
                check(!dropped, "invalidate(stale token) keeps the entry")?;
            }
            Op::Clear => {
                self.cache.clear();
                self.model.drop_entry();
            }
            Op::Crowd(other) => self.crowd(*other).await?,
        }
        self.check_state()
    }

    /// One or several callers call at once; the request, if any, lands.
    async fn call(&mut self, callers: &[usize], step: Step) -> Result<(), String> {
        self.endpoint.answer_next(step);
        let sent_before = self.endpoint.requests_for(ENTRY).len();
        let (expected, flight) = self.model.begin(callers);
        let mut waiting = Vec::new();
        for (&caller, expected) in callers.iter().zip(&expected) {
            match (self.cache.begin(&self.callers[caller]), expected) {
                (Begin::Ready(Ok(hit)), Begun::Hit(name)) => {
                    let got = hit.snapshot.token.access_token.expose();
                    check(
                        got == name,
                        &format!("caller {caller} hit {got}, not {name}"),
                    )?;
                    check(hit.from_cache, "a hit is from the cache")?;
                }
                (Begin::Ready(Err(error)), Begun::Refused) => {
                    check(error.code == ErrorCode::RateLimited, "refused: 429")?;
                    check(error.retry_after.is_some(), "refused with retryAfter")?;
                }
                (Begin::Wait(wait), Begun::Waits) => waiting.push((caller, wait)),
                (Begin::Ready(got), _) => {
                    return Err(format!("caller {caller}: {got:?}, model: {expected:?}"));
                }
                (Begin::Wait(_), _) => {
                    return Err(format!("caller {caller} waits, model: {expected:?}"));
                }
            }
        }
        let mut answers = Vec::new();
        for (caller, wait) in waiting {
            let got = self.cache.finish(&self.callers[caller], wait).await;
            answers.push((caller, got));
        }
        // A background refresh nobody waits on lands too.
        tokio::time::sleep(TIMEOUT + DELAY).await;
        let sent = self.endpoint.requests_for(ENTRY);
        let sent = &sent[sent_before..];
        check(
            sent.len() == usize::from(flight.is_some()),
            &format!("{} requests sent, model: {flight:?}", sent.len()),
        )?;
        let Some(flight) = flight else {
            return Ok(());
        };
        let received = self.model.land(flight, step, sent[0].as_deref());
        for (caller, got) in answers {
            let expected = self.model.judge(&received, LEEWAYS_MS[caller]);
            let got: Received = match got {
                Ok(acquired) => Ok(acquired.snapshot.token.access_token.expose().into()),
                Err(error) => Err(error.code),
            };
            check(
                got == expected,
                &format!("waiter {caller} got {got:?}, model: {expected:?}"),
            )?;
            if let Ok(name) = &got {
                check(!self.model.gone.contains(name), "an invalidated token")?;
            }
        }
        Ok(())
    }

    /// Another entry's call: the bound may evict this entry (an
    /// invalidation), which the model learns from the cache.
    async fn crowd(&mut self, other: usize) -> Result<(), String> {
        self.endpoint.answer_next(Step::Token(3_600_000));
        let held_before = self.holds();
        let other = request(&format!("crowd-{other}"), 60.0);
        check(self.cache.acquire(other).await.is_ok(), "a crowd call")?;
        if held_before && !self.holds() {
            self.model.drop_entry();
        }
        Ok(())
    }

    fn expect_dropped(&mut self, dropped: bool) -> Result<(), String> {
        if self.model.held.is_some() {
            check(dropped, "invalidate() drops a held token")?;
        }
        self.model.drop_entry();
        Ok(())
    }

    /// The name of the token the cache holds for this test's entry.
    fn held_by_cache(&self) -> Option<String> {
        let entries = lock(&self.cache.entries);
        let entry = entries.get(&self.callers[0].key)?;
        let token = lock(&entry.state).token.clone()?;
        Some(token.access_token.expose().to_owned())
    }

    fn holds(&self) -> bool {
        self.held_by_cache().is_some()
    }

    /// After every step: the same token held as in the model, and the bound.
    fn check_state(&self) -> Result<(), String> {
        let held = self.held_by_cache();
        let model = self.model.held.as_ref().map(|t| t.name.clone());
        check(
            held == model,
            &format!("cache holds {held:?}, model {model:?}"),
        )?;
        let len = self.cache.len();
        check(len <= MAX_ENTRIES, &format!("{len} entries"))
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    ok.then_some(()).ok_or_else(|| what.to_owned())
}

fn run_sequence(ops: &[Op]) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut harness = Harness::new();
        for (i, op) in ops.iter().enumerate() {
            harness
                .run(op)
                .await
                .map_err(|failure| format!("step {i} {op:?}: {failure}"))?;
        }
        Ok(())
    })
}

proptest! {
    // 256 cases by default (seconds); PROPTEST_CASES runs more. A failing
    // case's seed is saved under proptest-regressions/ and replayed first.
    #[test]
    fn model_the_cache_keeps_its_guarantees(ops in proptest::collection::vec(ops(), 1..40)) {
        let outcome = run_sequence(&ops);
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

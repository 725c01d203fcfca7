//! The harness of the fleet's model-based test (`fleet_model_tests.rs`):
//! three real `TokenCache`s, each in front of its own `StoreFetcher` (one
//! "process" each), on one store and one programmed token endpoint. It
//! runs one generated operation at a time on them and on the reference
//! model (`fleet_model_reference.rs`), and checks every step against the
//! model and against the fleet's promises directly: store before request,
//! fleet single flight, never worse (in memory and in the store),
//! invalidation, shared windows and shared failures.
//!
//! The fleet reads the real clock, so no clock is driven: tokens live
//! minutes or hours (no refresh point or cut-off is crossed while a case
//! runs, and a failed refresh cools down for 30 s, longer than a case may
//! take), a 429's window lasts 60 s, and each case has a store of its own.
//! Within a step, the harness starts the flights in the order the step
//! names their processes and lets each reach the store before the next
//! starts; the endpoint holds its answer until all have, so the step's
//! outcome does not depend on the scheduler.

use super::backend::Slot;
use super::events::Watched;
use super::fleet_model::{Answer, Begun, Model, Received, Settled, PROCESSES};
use super::handle::StoreHandle;
use super::registry;
use super::seal::EntrySeal;
use super::test_support::request;
use super::{flush_pending, RemoteInvalidation, StoreFetcher};
use crate::cache::{Acquired, Begin, TokenCache, Waiting};
use crate::clock::SystemClock;
use crate::error::{ErrorCode, TokenError};
use crate::fetcher::{Counters, FetchContext, FetchFuture, Fetcher};
use crate::options::TokenRequest;
use crate::scripted_fetcher::{ProgrammedEndpoint, Step};
use crate::token::Token;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

/// Each answer takes this long, so that two tokens issued one after the
/// other never share a millisecond (never worse compares expiries).
const DELAY: Duration = Duration::from_millis(3);
/// A refresh that failed cools down for 30 s: a case must end before.
const CASE_BOUND: Duration = Duration::from_secs(25);
/// How long a flight may take to reach the store, or all to land.
const SETTLE_BOUND: Duration = Duration::from_secs(10);
/// Stores promise 4: every process drops an invalidated token within a second.
const TOLD_BOUND: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub enum Op {
    /// Calls begun together, on these processes in this order; each
    /// request sent is answered with `answer`.
    Call {
        on: Vec<usize>,
        answer: Answer,
    },
    Invalidate(usize),
    /// `invalidate(token)` on the first process, with the token the second
    /// holds (`PROCESSES`: the store's; more: the last one invalidated).
    InvalidateToken(usize, usize),
    Clear(usize),
}

/// One process's fetcher: its own `StoreFetcher`, counting the flights
/// that began and ended (the test waits on them).
struct ProcessFetcher {
    store: StoreFetcher,
    began: AtomicUsize,
    ended: Arc<AtomicUsize>,
}

impl Fetcher for ProcessFetcher {
    fn fetch(
        &self,
        request: Arc<TokenRequest>,
        counters: Arc<Counters>,
        context: FetchContext,
    ) -> FetchFuture {
        self.began.fetch_add(1, Ordering::SeqCst);
        let flight = self.store.fetch(request, counters, context);
        let ended = self.ended.clone();
        Box::pin(async move {
            let fetched = flight.await;
            ended.fetch_add(1, Ordering::SeqCst);
            fetched
        })
    }

    fn invalidated(&self, request: &Arc<TokenRequest>, dropped: Option<Arc<Token>>) {
        self.store.invalidated(request, dropped);
    }
}

struct Process {
    cache: Arc<TokenCache>,
    fetcher: Arc<ProcessFetcher>,
}

/// What the test watches change while a flight finds its way.
#[derive(Clone, Copy, PartialEq)]
struct Marks {
    requests: usize,
    waiters: u64,
    ended: usize,
}

struct Harness {
    processes: Vec<Process>,
    endpoint: Arc<ProgrammedEndpoint>,
    request: Arc<TokenRequest>,
    store: Arc<StoreHandle>,
    seal: Arc<EntrySeal>,
    watched: Arc<Watched>,
    model: Model,
    began: Instant,
    /// The store's record's expiry, and each process's token's, after the
    /// last step (never worse).
    stored_expiry: Option<u64>,
    held_expiry: Vec<Option<u64>>,
}

impl Harness {
    fn new(store: &str) -> Harness {
        let endpoint = Arc::new(ProgrammedEndpoint::new(Arc::new(SystemClock), DELAY, DELAY));
        // A credential of its own: a case shares nothing with the last one,
        // even on a store that outlives it.
        let secret = format!("fleet-model-{}", crate::hex::random_hex(8));
        let request = request(store, &secret);
        // Every process hears every invalidation (a process hears its own
        // too); the test's processes share one binary, so one listener
        // tells all three caches.
        let caches: Arc<OnceLock<Vec<Weak<TokenCache>>>> = Arc::default();
        let listeners = caches.clone();
        let on_remote: RemoteInvalidation = Arc::new(move |key, is_stale| {
            for cache in listeners.get().into_iter().flatten() {
                if let Some(cache) = cache.upgrade() {
                    cache.drop_if(key, is_stale);
                }
            }
        });
        let processes: Vec<Process> = (0..PROCESSES)
            .map(|_| {
                let fetcher = Arc::new(ProcessFetcher {
                    store: StoreFetcher::new(endpoint.clone(), on_remote.clone()),
                    began: AtomicUsize::new(0),
                    ended: Arc::default(),
                });
                let runtime = tokio::runtime::Handle::current();
                let cache = TokenCache::new(fetcher.clone(), runtime, 16);
                Process { cache, fetcher }
            })
            .collect();
        let _ = caches.set(processes.iter().map(|p| Arc::downgrade(&p.cache)).collect());
        let store = registry::store_for(&request.store, None).expect("the store");
        let seal = EntrySeal::of(&request);
        let watched = store.hub.watch(&seal, request.key, &on_remote);
        Harness {
            processes,
            endpoint,
            request,
            store,
            seal,
            watched,
            model: Model::default(),
            began: Instant::now(),
            stored_expiry: None,
            held_expiry: vec![None; PROCESSES],
        }
    }

    async fn run(&mut self, op: &Op) -> Result<(), String> {
        let dropping = match op {
            Op::Call { on, answer } => {
                self.call(on, *answer).await?;
                false
            }
            Op::Invalidate(p) => {
                let (expected, told) = self.model.invalidate(*p);
                let got = self.processes[*p].cache.invalidate(&self.request);
                // A call refused inside a window leaves an entry with no
                // token, which invalidate() drops too: only a token
                // dropped is certain.
                check(got || !expected, "invalidate() returned false")?;
                self.after_invalidation(&told).await?;
                true
            }
            Op::InvalidateToken(p, target) => {
                let model = &self.model;
                let name = match *target {
                    q if q < PROCESSES => model.processes[q].held.as_ref().map(|t| &t.name),
                    q if q == PROCESSES => model.store.as_ref().map(|t| &t.name),
                    _ => model.gone.last(),
                };
                let Some(name) = name.cloned() else {
                    return Ok(());
                };
                let (expected, told) = self.model.invalidate_token(*p, &name);
                let got = self.processes[*p]
                    .cache
                    .invalidate_token(&self.request, &name);
                check(
                    got == expected,
                    &format!("invalidate({name}) returned {got}"),
                )?;
                self.after_invalidation(&told).await?;
                true
            }
            Op::Clear(p) => {
                self.processes[*p].cache.clear();
                self.model.clear(*p);
                true
            }
        };
        self.check_state(dropping).await
    }

    /// Calls begun together: each flight is let reach the store before the
    /// next call begins, and the endpoint answers once all have.
    async fn call(&mut self, on: &[usize], answer: Answer) -> Result<(), String> {
        let answer = self.model.effective(answer);
        let (step, age_ms) = match answer {
            Answer::Token(kind) => {
                let (lifetime_ms, age_ms) = kind.lifetime_and_age_ms();
                (Step::Token(lifetime_ms), age_ms)
            }
            Answer::Fail(code) => (Step::Fail(code), 0),
            Answer::TooMany => (Step::TooMany(Some(60)), 0),
        };
        self.endpoint.answer_next_aged(step, age_ms);
        self.endpoint.hold();
        self.model.begin_step(answer);
        let mut waiting: Vec<(usize, Waiting)> = Vec::new();
        for &p in on {
            let (expected, settled) = self.model.call(p);
            let marks = self.marks(p);
            match (self.processes[p].cache.begin(&self.request), &expected) {
                (Begin::Ready(Ok(hit)), Begun::Hit(name)) => {
                    let got = hit.snapshot.token.access_token.expose();
                    check(got == name, &format!("process {p} hit {got}, not {name}"))?;
                    self.not_gone(got)?;
                }
                (Begin::Ready(Err(error)), Begun::Refused) => {
                    check(
                        error.code == ErrorCode::RateLimited && error.retry_after.is_some(),
                        &format!("process {p} refused with {error:?}"),
                    )?;
                }
                (Begin::Wait(wait), Begun::Waits) => waiting.push((p, wait)),
                (Begin::Ready(got), _) => {
                    return Err(format!("process {p}: {got:?}, model: {expected:?}"));
                }
                (Begin::Wait(_), _) => {
                    return Err(format!("process {p} waits, model: {expected:?}"));
                }
            }
            if let Some(settled) = settled {
                self.settle(p, settled, marks, &mut waiting).await?;
            }
        }
        self.endpoint.release();
        let mut answers = Vec::new();
        for (p, wait) in waiting {
            answers.push((p, self.processes[p].cache.finish(&self.request, wait).await));
        }
        self.until_landed(&[0, 1, 2]).await?;
        self.model.release();
        for (p, got) in answers {
            self.compare_received(p, got)?;
        }
        Ok(())
    }

    fn marks(&self, p: usize) -> Marks {
        Marks {
            requests: self.endpoint.received(),
            waiters: self.watched.waiters(),
            ended: self.processes[p].fetcher.ended.load(Ordering::SeqCst),
        }
    }

    /// Waits until the flight process `p` just started sent its request,
    /// began to wait for another's, or ended (it took the record, or was
    /// refused), and checks that against the model. A flight that ended
    /// has landed before the next call begins.
    async fn settle(
        &mut self,
        p: usize,
        expected: Settled,
        before: Marks,
        waiting: &mut Vec<(usize, Waiting)>,
    ) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_BOUND;
        let seen = loop {
            let now = self.marks(p);
            if now.requests > before.requests {
                break Settled::Sends;
            }
            if now.waiters > before.waiters {
                break Settled::Waits;
            }
            if now.ended > before.ended {
                break expected; // took the record or was refused: told apart below
            }
            check(
                Instant::now() < deadline,
                &format!("process {p}'s flight did not reach the store"),
            )?;
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        let took_turns = seen == expected
            || (matches!(seen, Settled::Adopted | Settled::Refused)
                && matches!(expected, Settled::Adopted | Settled::Refused));
        check(
            took_turns,
            &format!("process {p}'s flight: {seen:?}, model: {expected:?}"),
        )?;
        if matches!(seen, Settled::Adopted | Settled::Refused) {
            let mine: Vec<_> = waiting.extract_if(.., |(q, _)| *q == p).collect();
            for (_, wait) in mine {
                let got = self.processes[p].cache.finish(&self.request, wait).await;
                self.compare_received(p, got)?;
            }
            self.until_landed(&[p]).await?;
        }
        Ok(())
    }

    /// Until every flight of these processes has ended and landed.
    async fn until_landed(&self, processes: &[usize]) -> Result<(), String> {
        let deadline = Instant::now() + SETTLE_BOUND;
        loop {
            let busy = processes.iter().any(|&p| {
                let process = &self.processes[p];
                let fetcher = &process.fetcher;
                let ended = fetcher.ended.load(Ordering::SeqCst);
                let in_flight = process.cache.peek(&self.request).is_some_and(|s| {
                    // A flight in progress shows as no refresh point at all.
                    s.refresh_at_ms == u64::MAX
                });
                fetcher.began.load(Ordering::SeqCst) != ended || in_flight
            });
            if !busy {
                return Ok(());
            }
            check(Instant::now() < deadline, "flights still running")?;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn compare_received(&self, p: usize, got: Result<Acquired, TokenError>) -> Result<(), String> {
        let got: Received = match got {
            Ok(acquired) => Ok(acquired.snapshot.token.access_token.expose().into()),
            Err(error) => Err(error.code),
        };
        let expected = self.model.processes[p].received.clone();
        check(
            Some(&got) == expected.as_ref(),
            &format!("a caller on process {p} got {got:?}, model: {expected:?}"),
        )?;
        if let Ok(name) = &got {
            self.not_gone(name)?;
        }
        Ok(())
    }

    /// After `invalidate()`: the store's removal done, and the processes
    /// the model says hear of it have dropped the token (a bounded wait:
    /// the message travels asynchronously).
    async fn after_invalidation(&self, told: &[usize]) -> Result<(), String> {
        flush_pending().await;
        let deadline = Instant::now() + TOLD_BOUND;
        while told
            .iter()
            .any(|&q| self.processes[q].cache.peek(&self.request).is_some())
        {
            check(
                Instant::now() < deadline,
                &format!("processes {told:?} not told within a second"),
            )?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // A token issued from now on is obtained strictly after this
        // invalidation's tombstone.
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(())
    }

    fn not_gone(&self, name: &str) -> Result<(), String> {
        let gone = self.model.gone.iter().any(|gone| gone == name);
        check(
            !gone,
            &format!("{name} was handed out after its invalidation"),
        )
    }

    async fn stored(&self) -> Result<Option<Token>, String> {
        let backend = self.store.backend.clone();
        let sealed = backend
            .read(self.seal.name(), Slot::Token)
            .await
            .map_err(|_| "the store could not be read".to_string())?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let token = self.seal.open(&sealed);
        token
            .map(Some)
            .map_err(|_| "the store's record does not open".into())
    }

    /// After every step: memory and store as the model says, the counters
    /// too, one request in flight at most, and nothing worse than before.
    async fn check_state(&mut self, dropping: bool) -> Result<(), String> {
        let stored = self.stored().await?;
        let name = stored.as_ref().map(|t| t.access_token.expose().to_owned());
        let expiry = stored.as_ref().map(|t| t.expires_at_ms);
        if !dropping {
            check(
                expiry >= self.stored_expiry,
                &format!(
                    "the store's record {name:?} expires earlier than the one before \
                     ({expiry:?} < {:?})",
                    self.stored_expiry
                ),
            )?;
        }
        self.stored_expiry = expiry;
        let model = self.model.store.as_ref().map(|t| t.name.clone());
        check(
            name == model,
            &format!("the store holds {name:?}, model {model:?}"),
        )?;
        if let Some(name) = &name {
            self.not_gone(name)?;
        }
        for (p, process) in self.processes.iter().enumerate() {
            let snapshot = process.cache.peek(&self.request);
            let held = snapshot
                .as_ref()
                .map(|s| s.token.access_token.expose().to_owned());
            let expiry = snapshot.map(|s| s.token.expires_at_ms);
            if !dropping {
                check(
                    expiry >= self.held_expiry[p],
                    &format!(
                        "process {p}'s token {held:?} expires earlier than the one before \
                         ({expiry:?} < {:?})",
                        self.held_expiry[p]
                    ),
                )?;
            }
            self.held_expiry[p] = expiry;
            let model = self.model.processes[p]
                .held
                .as_ref()
                .map(|t| t.name.clone());
            check(
                held == model,
                &format!("process {p} holds {held:?}, model {model:?}"),
            )?;
            let counters = process.cache.counters();
            let requests = counters.requests.load(Ordering::SeqCst);
            let store_hits = counters.store_hits.load(Ordering::SeqCst);
            let store_errors = counters.store_errors.load(Ordering::SeqCst);
            let modelled = &self.model.processes[p];
            check(
                (requests, store_hits) == (modelled.requests, modelled.store_hits),
                &format!(
                    "process {p} sent {requests} requests and took {store_hits} records, \
                     model {} and {}",
                    modelled.requests, modelled.store_hits
                ),
            )?;
            check(
                store_errors == 0,
                &format!("process {p}: {store_errors} store errors (a store this slow?)"),
            )?;
        }
        let most = self.endpoint.most_in_flight();
        check(most <= 1, &format!("{most} requests in flight at once"))?;
        check(
            self.began.elapsed() < CASE_BOUND,
            "the case outlasted a refresh cool-down: too slow for its real-time margins",
        )
    }
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    ok.then_some(()).ok_or_else(|| what.to_owned())
}

pub fn run_case(runtime: &tokio::runtime::Runtime, store: &str, ops: &[Op]) -> Result<(), String> {
    runtime.block_on(async {
        let mut harness = Harness::new(store);
        for (i, op) in ops.iter().enumerate() {
            // proptest shrinks by deleting steps before simplifying them,
            // so a minimal input may keep steps after the failing one: the
            // message names the sequence that matters.
            harness.run(op).await.map_err(|failure| {
                format!(
                    "step {i}: {failure}\nthe sequence up to it: {:?}",
                    &ops[..=i]
                )
            })?;
        }
        Ok(())
    })
}

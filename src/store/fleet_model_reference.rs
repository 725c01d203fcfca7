//! A small reference model of what a fleet of processes sharing a store
//! promises for one entry (api.md's Stores 1–4, Rate limits 2–3 and
//! guarantee 4's "never worse"), written from the contract rather than
//! from `fleet.rs`: which flight of a step takes a record from the store,
//! which is refused inside a window, which sends the step's one request and
//! which waits for it, what every process then holds, and what the store
//! holds. The model-based test (`fleet_model_tests.rs`) runs the same
//! operations on three real caches sharing one store and compares every
//! step.
//!
//! Every caller has the same `leewaySeconds` (each caller's own leeway is
//! the cache model's concern), so a token in memory is always usable and a
//! flight is either a miss (nothing in memory) or a refresh ahead.

use crate::error::ErrorCode;

pub const PROCESSES: usize = 3;
const MINUTE_MS: u64 = 60_000;

/// The tokens the endpoint issues, far (minutes) from every refresh point
/// and cut-off, since the fleet reads the real clock: a case lasts seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Lives 5 minutes.
    Short,
    /// Lived 200 of its 220 minutes when it arrives: past its refresh
    /// point (90 % of 219 usable minutes), usable for 19 more, as a record
    /// written long ago would be.
    Due,
    /// Lives 30 minutes.
    Mid,
    /// Lives 2 hours.
    Long,
}

impl Kind {
    /// (lifetime, age when issued), in ms.
    pub fn lifetime_and_age_ms(self) -> (u64, u64) {
        match self {
            Kind::Short => (5 * MINUTE_MS, 0),
            Kind::Due => (220 * MINUTE_MS, 200 * MINUTE_MS),
            Kind::Mid => (30 * MINUTE_MS, 0),
            Kind::Long => (120 * MINUTE_MS, 0),
        }
    }

    /// Minutes left when issued: tokens of two kinds expire minutes apart,
    /// two of one kind in the order they were issued.
    fn minutes_left(self) -> u64 {
        let (lifetime, age) = self.lifetime_and_age_ms();
        (lifetime - age) / MINUTE_MS
    }
}

/// What the endpoint answers during one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    Token(Kind),
    Fail(ErrorCode),
    /// A 429 with `Retry-After: 60`: its window outlasts the case.
    TooMany,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelToken {
    pub name: String,
    pub kind: Kind,
    /// Issue order.
    seq: usize,
}

impl ModelToken {
    /// Expires later than `other` (guarantee 4's "better").
    pub fn outlasts(&self, other: &ModelToken) -> bool {
        (self.kind.minutes_left(), self.seq) > (other.kind.minutes_left(), other.seq)
    }
}

/// What a caller gets when its call begins.
#[derive(Clone, Debug, PartialEq)]
pub enum Begun {
    /// Answered at once from memory with this token.
    Hit(String),
    /// Waits on its process's flight.
    Waits,
    /// Refused at once inside a window its process knows, nothing sent.
    Refused,
}

/// How a flight that just started goes on, before any answer arrives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Took the store's record: no request (Stores 1 and 3).
    Adopted,
    /// Refused by the window in the store: no request (Rate limits 2).
    Refused,
    /// Sends the step's request (Stores 2).
    Sends,
    /// Waits for that request (Stores 2).
    Waits,
}

/// What a waiter receives: a token's name, or an error's code.
pub type Received = Result<String, ErrorCode>;

#[derive(Clone, Debug, Default)]
pub struct Process {
    pub held: Option<ModelToken>,
    /// A refresh failed or brought nothing better: no refresh ahead until
    /// a better token arrives or the entry is dropped (the cool-down, at
    /// least 30 s for these tokens, outlasts the case).
    cooling: bool,
    /// This process knows the rate-limit window.
    window: bool,
    /// This step's flight: `Some(current)` for a refresh ahead.
    flight: Option<Option<ModelToken>>,
    /// What this step's flight brought its waiters, once it landed.
    pub received: Option<Received>,
    pub requests: u64,
    pub store_hits: u64,
}

#[derive(Debug, Default)]
pub struct Model {
    pub processes: [Process; PROCESSES],
    pub store: Option<ModelToken>,
    /// A 429's window, written to the store.
    window: bool,
    requests: usize,
    answer: Option<Answer>,
    /// The process sending this step's request, and those waiting for it.
    sender: Option<usize>,
    waiting: Vec<usize>,
    /// The last invalidation left a time, not a token, as its tombstone
    /// (see `effective`).
    time_tombstone: bool,
    /// Tokens dropped by an invalidation: never handed out again.
    pub gone: Vec<String>,
}

impl Model {
    /// The answer as the endpoint gives it. While this process's last
    /// tombstone is a time (an `invalidate()` with nothing in memory), a
    /// record obtained before it is refused; a `Due` token, obtained long
    /// ago by construction, would be, though issued after it: the test
    /// asks for a `Mid` token instead. (The three processes of the test
    /// share one binary, hence one set of tombstones.)
    pub fn effective(&self, answer: Answer) -> Answer {
        match answer {
            Answer::Token(Kind::Due) if self.time_tombstone => Answer::Token(Kind::Mid),
            other => other,
        }
    }

    pub fn begin_step(&mut self, answer: Answer) {
        self.answer = Some(answer);
        self.sender = None;
        self.waiting.clear();
        for process in &mut self.processes {
            process.flight = None;
            process.received = None;
        }
    }

    /// A call begins on process `p`: what it gets at once, and how the
    /// flight it started (if any) goes on.
    pub fn call(&mut self, p: usize) -> (Begun, Option<Settled>) {
        let process = &mut self.processes[p];
        if let Some(held) = process.held.clone() {
            let due = held.kind == Kind::Due && !process.cooling && !process.window;
            if !due || process.flight.is_some() {
                return (Begun::Hit(held.name), None);
            }
            process.flight = Some(Some(held.clone()));
            return (Begun::Hit(held.name), Some(self.settle(p)));
        }
        if process.flight.is_some() {
            return (Begun::Waits, None);
        }
        if process.window {
            return (Begun::Refused, None);
        }
        process.flight = Some(None);
        (Begun::Waits, Some(self.settle(p)))
    }

    /// A flight's first look at the store: its record if wanted, else the
    /// window, else the entry's lock (taken by the step's first sender).
    fn settle(&mut self, p: usize) -> Settled {
        let current = self.processes[p].flight.clone().flatten();
        if let Some(record) = self.store.clone().filter(|r| wants(r, current.as_ref())) {
            self.processes[p].store_hits += 1;
            self.land(p, Ok(record), false);
            return Settled::Adopted;
        }
        if self.window {
            self.land(p, Err(ErrorCode::RateLimited), true);
            return Settled::Refused;
        }
        if self.sender.is_some() {
            self.waiting.push(p);
            return Settled::Waits;
        }
        self.sender = Some(p);
        Settled::Sends
    }

    /// The step's request is answered; its waiters act on it. A waiter
    /// whose refresh wants better than the answer sends a request of its
    /// own (one at a time), answered alike.
    pub fn release(&mut self) {
        let Some(sender) = self.sender else {
            return;
        };
        let answer = self.answer.expect("a step's answer");
        let waiting = std::mem::take(&mut self.waiting);
        match answer {
            Answer::Token(kind) => {
                let token = self.issue(sender, kind);
                let worse = self.store.as_ref().is_some_and(|r| !token.outlasts(r));
                // The sender's cache judges the answer against its memory.
                self.land(sender, Ok(token.clone()), false);
                if worse {
                    for w in waiting {
                        self.land(w, Err(ErrorCode::InvalidResponse), false);
                    }
                    return;
                }
                self.store = Some(token.clone());
                let mut asking_again = Vec::new();
                for w in waiting {
                    let current = self.processes[w].flight.clone().flatten();
                    if wants(&token, current.as_ref()) {
                        self.processes[w].store_hits += 1;
                        self.land(w, Ok(token.clone()), false);
                    } else {
                        asking_again.push(w);
                    }
                }
                for w in asking_again {
                    let again = self.issue(w, kind);
                    self.store = Some(again.clone());
                    self.land(w, Ok(again), false);
                }
            }
            Answer::Fail(code) => {
                self.requests += 1;
                self.processes[sender].requests += 1;
                for p in std::iter::once(sender).chain(waiting) {
                    self.land(p, Err(code), false);
                }
            }
            Answer::TooMany => {
                self.requests += 1;
                self.processes[sender].requests += 1;
                self.window = true;
                for p in std::iter::once(sender).chain(waiting) {
                    self.land(p, Err(ErrorCode::RateLimited), true);
                }
            }
        }
    }

    fn issue(&mut self, p: usize, kind: Kind) -> ModelToken {
        self.requests += 1;
        self.processes[p].requests += 1;
        ModelToken {
            name: format!("token-{}", self.requests),
            kind,
            seq: self.requests,
        }
    }

    /// A flight of process `p` ends: its cache keeps the better token
    /// (guarantee 4); its waiters receive what it then holds, or the error.
    fn land(&mut self, p: usize, outcome: Result<ModelToken, ErrorCode>, window: bool) {
        let process = &mut self.processes[p];
        let background = matches!(process.flight, Some(Some(_)));
        process.received = Some(match outcome {
            Ok(token) => {
                process.window = false;
                match &process.held {
                    Some(held) if !token.outlasts(held) => {
                        process.cooling = true;
                        Ok(held.name.clone())
                    }
                    _ => {
                        process.cooling = false;
                        process.held = Some(token.clone());
                        Ok(token.name)
                    }
                }
            }
            Err(code) => {
                process.window |= window;
                process.cooling |= background;
                Err(code)
            }
        });
        process.flight = None;
    }

    /// `invalidate()` on `p`: true if it held a token. Returns that, and
    /// the processes that drop a token on hearing of it.
    pub fn invalidate(&mut self, p: usize) -> (bool, Vec<usize>) {
        match self.drop_entry(p) {
            Some(dropped) => (true, self.invalidated_in_store(dropped)),
            None => {
                self.time_tombstone = true;
                let Some(record) = self.store.take() else {
                    return (false, Vec::new());
                };
                (false, self.told(&record.name))
            }
        }
    }

    /// `invalidate(name)` on `p`: compare and drop, in memory and in the
    /// store. Returns what it returns, and who drops the token on hearing.
    pub fn invalidate_token(&mut self, p: usize, name: &str) -> (bool, Vec<usize>) {
        match &self.processes[p].held {
            Some(held) if held.name == name => {
                let dropped = self.drop_entry(p).expect("held");
                (true, self.invalidated_in_store(dropped))
            }
            Some(_) => (false, Vec::new()),
            None => {
                let stored = self.store.clone().filter(|r| r.name == name);
                match stored {
                    Some(record) => (false, self.invalidated_in_store(record)),
                    None => {
                        self.time_tombstone = false;
                        (false, self.told(name))
                    }
                }
            }
        }
    }

    /// `clearCache()` on `p`: memory only.
    pub fn clear(&mut self, p: usize) {
        let process = &mut self.processes[p];
        process.held = None;
        process.cooling = false;
    }

    fn drop_entry(&mut self, p: usize) -> Option<ModelToken> {
        let process = &mut self.processes[p];
        process.cooling = false;
        let dropped = process.held.take()?;
        self.gone.push(dropped.name.clone());
        Some(dropped)
    }

    /// `dropped` was invalidated: the store forgets it if it still holds
    /// it (a newer record is kept), and every process hears of it.
    fn invalidated_in_store(&mut self, dropped: ModelToken) -> Vec<usize> {
        self.time_tombstone = false;
        if self.store.as_ref() == Some(&dropped) {
            self.store = None;
        }
        self.told(&dropped.name)
    }

    /// Every process holding `name` drops it (Stores 4).
    fn told(&mut self, name: &str) -> Vec<usize> {
        if !self.gone.iter().any(|gone| gone == name) {
            self.gone.push(name.to_owned());
        }
        let mut droppers = Vec::new();
        for (q, process) in self.processes.iter_mut().enumerate() {
            if process.held.as_ref().is_some_and(|t| t.name == name) {
                process.held = None;
                process.cooling = false;
                droppers.push(q);
            }
        }
        droppers
    }
}

/// Whether a flight takes `record`: a miss takes any (every token is
/// usable); a refresh only one that expires later than what it holds.
fn wants(record: &ModelToken, current: Option<&ModelToken>) -> bool {
    current.is_none_or(|current| record.outlasts(current))
}

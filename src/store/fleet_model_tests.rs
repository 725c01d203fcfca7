//! Model-based test of the fleet: proptest generates sequences of calls
//! (alone or several begun together, on any of three processes), the
//! endpoint's answer to each request (a token of one of four lifetimes, one
//! already past its refresh point, an error, a 429 with `Retry-After: 60`),
//! `invalidate()`, `invalidate(token)` and `clearCache()`, and runs them on
//! three caches sharing one file store, and one Redis where installed
//! (`fleet_model_harness.rs`), step by step against the reference model
//! (`fleet_model_reference.rs`). A failing sequence shrinks to a minimal
//! one.
//!
//! CI runs `CI_CASES` cases per store kind; `PROPTEST_CASES=N` runs N. A
//! failing case's seed is saved under `proptest-regressions/` and replayed
//! first.

use super::fleet_model::{Answer, Kind, PROCESSES};
use super::fleet_model_harness::{run_case, Op};
use super::test_support::{RedisServer, TempDir};
use crate::error::ErrorCode;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};

/// Cases per store kind in CI, where `PROPTEST_CASES` is not set: seconds.
const CI_CASES: u32 = 32;

fn answers() -> impl Strategy<Value = Answer> {
    let kinds = vec![Kind::Short, Kind::Due, Kind::Mid, Kind::Long];
    prop_oneof![
        12 => select(kinds).prop_map(Answer::Token),
        2 => select(vec![ErrorCode::OAuth, ErrorCode::HttpStatus]).prop_map(Answer::Fail),
        1 => Just(Answer::TooMany),
    ]
}

fn ops() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (proptest::collection::vec(0..PROCESSES, 1..=4), answers())
            .prop_map(|(on, answer)| Op::Call { on, answer }),
        1 => (0..PROCESSES).prop_map(Op::Invalidate),
        1 => (0..PROCESSES, 0..PROCESSES + 2).prop_map(|(p, t)| Op::InvalidateToken(p, t)),
        1 => (0..PROCESSES).prop_map(Op::Clear),
    ]
}
/// `CI_CASES` cases, unless `PROPTEST_CASES` says otherwise: proptest
/// reads that variable only in `Config::default()`, so it is used as is
/// when the variable is set.
fn config() -> Config {
    let mut config = if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default()
    } else {
        Config::with_cases(CI_CASES)
    };
    config.source_file = Some(file!());
    config
}

/// Runs the model on `store` (made afresh per case by `store`).
fn run_model(store: impl Fn() -> (String, Option<TempDir>)) {
    // One runtime for every case: a store's message listener runs on it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(config());
    let sequences = proptest::collection::vec(ops(), 1..20);
    let result = runner.run(&sequences, |ops| {
        let (url, _folder) = store();
        let outcome = run_case(&runtime, &url, &ops);
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
}

#[test]
fn fleet_model_on_a_file_store() {
    run_model(|| {
        let folder = TempDir::new("fleet-model");
        (folder.store(), Some(folder))
    });
}

#[test]
fn fleet_model_on_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    run_model(|| (redis.url(), None));
}

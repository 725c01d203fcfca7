//! Per-thread shared memory between Rust and one JavaScript thread.
//!
//! A cache hit is answered in JavaScript from a per-thread view of the
//! Rust cache, so it never crosses into Rust. Two things make that safe and
//! exact, and both live in one small block of Rust memory per thread that
//! the thread sees as an ArrayBuffer:
//! - the cache generation, written by Rust on every change, so a view that
//!   is out of date is noticed on the next hit with one memory read;
//! - the thread's call counters (hits, misses, errors), written by that
//!   thread alone and summed by Rust, so `stats()` counts every thread's
//!   calls without a call into Rust per hit.
//!
//! Each thread gets its own block (one writer per counter, no sharing of
//! an ArrayBuffer's memory between isolates).

use crate::cache::Change;
use napi::bindgen_prelude::ArrayBuffer;
use napi::{Env, Result};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// Layout shared with `lib/thread-view.js`: three f64 counters, then the
/// generation and the invalidation epoch as i32s.
#[repr(C, align(8))]
struct ThreadSlot {
    calls: [AtomicU64; 3],
    generation: AtomicU32,
    invalidations: AtomicU32,
}

const HITS: usize = 0;
const MISSES: usize = 1;
const ERRORS: usize = 2;

/// Addresses of the live slots (as usize: raw pointers are not `Send`).
static LIVE_SLOTS: Mutex<Vec<usize>> = Mutex::new(Vec::new());
/// Counts of threads that have gone, so `stats()` never loses calls.
static RETIRED: Mutex<[f64; 3]> = Mutex::new([0.0; 3]);

fn js_generation(generation: u32) -> u32 {
    // JavaScript reads it as an Int32; keep it positive.
    generation & 0x7fff_ffff
}

fn read_calls(slot: &ThreadSlot) -> [f64; 3] {
    // JavaScript writes these as float64 values with plain stores.
    slot.calls
        .each_ref()
        .map(|c| f64::from_bits(c.load(Ordering::Relaxed)))
}

/// The change listener of the process cache: tells every thread.
pub fn publish_generation(change: Change) {
    let live = LIVE_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    for &address in live.iter() {
        // SAFETY: addresses stay in LIVE_SLOTS only while their slot is
        // allocated; `retire` removes them under this lock before freeing.
        let slot = unsafe { &*(address as *const ThreadSlot) };
        // The epoch first: a thread that sees the new generation then
        // also sees that an invalidation happened.
        slot.invalidations
            .store(js_generation(change.invalidations), Ordering::Release);
        slot.generation
            .store(js_generation(change.generation), Ordering::Release);
    }
}

pub struct CallTotals {
    pub hits: f64,
    pub misses: f64,
    pub errors: f64,
}

pub fn call_totals() -> CallTotals {
    let live = LIVE_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let mut totals = *RETIRED.lock().unwrap_or_else(|e| e.into_inner());
    for &address in live.iter() {
        // SAFETY: as in `publish_generation`.
        let calls = read_calls(unsafe { &*(address as *const ThreadSlot) });
        for (total, count) in totals.iter_mut().zip(calls) {
            *total += count;
        }
    }
    CallTotals {
        hits: totals[HITS],
        misses: totals[MISSES],
        errors: totals[ERRORS],
    }
}

fn retire(address: usize) {
    let mut live = LIVE_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    live.retain(|&a| a != address);
    // SAFETY: created by Box::into_raw in `attach_thread`, removed from
    // LIVE_SLOTS above, and finalized exactly once by the engine.
    let slot = unsafe { Box::from_raw(address as *mut ThreadSlot) };
    let mut retired = RETIRED.lock().unwrap_or_else(|e| e.into_inner());
    for (total, count) in retired.iter_mut().zip(read_calls(&slot)) {
        *total += count;
    }
}

/// Gives the calling JavaScript thread its slot, freed when the engine
/// drops the ArrayBuffer (at the latest when the thread's environment ends).
/// `current` is read under the lock that `publish_generation` takes, so no
/// change can fall between the seed and the slot's first update.
pub fn attach(env: &Env, current: impl FnOnce() -> Change) -> Result<ArrayBuffer<'_>> {
    let mut live = LIVE_SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    let change = current();
    let slot = Box::new(ThreadSlot {
        calls: Default::default(),
        generation: AtomicU32::new(js_generation(change.generation)),
        invalidations: AtomicU32::new(js_generation(change.invalidations)),
    });
    let address = Box::into_raw(slot) as usize;
    live.push(address);
    drop(live);
    // SAFETY: the memory is valid until the finalizer runs `retire`.
    unsafe {
        ArrayBuffer::from_external(
            env,
            address as *mut u8,
            std::mem::size_of::<ThreadSlot>(),
            address,
            |_env, address| retire(address),
        )
    }
}

'use strict'

// This thread's window on the process-wide Rust cache (see
// src/binding/thread_slot.rs): the cache generation, which Rust updates on
// every change anywhere in the process, the invalidation epoch, which it
// updates on every invalidation (evictions included), and this thread's
// call counters, which Rust sums for stats(). Reading the generation is one
// memory load, which is what lets a cache hit stay in JavaScript.

const native = require('../binding.js')

const slot = native.attachThread()
const calls = new Float64Array(slot, 0, 3)
// [GENERATION, INVALIDATIONS]
const generation = new Int32Array(slot, 24, 2)

const HIT = 0
const MISS = 1
const ERROR = 2
const INVALIDATIONS = 1

module.exports = { native, calls, generation, HIT, MISS, ERROR, INVALIDATIONS }

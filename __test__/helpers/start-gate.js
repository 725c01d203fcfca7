'use strict';

// A start gate for threads that must call at the same moment: two Int32
// slots over a SharedArrayBuffer, [go, armed]. Each thread arms and blocks;
// the test releases them all at once when every one has armed.
//
//   test:    const sab = startGate(); ...start n workers with sab...; await release(sab, n);
//   thread:  armAndWait(sab); ...call...

const { waitFor } = require('./wait');

const GO = 0;
const ARMED = 1;

/** A new gate, closed, nobody armed. */
const startGate = () => new SharedArrayBuffer(8);

/** In a thread: counts itself armed, then blocks until the gate opens. */
function armAndWait(sab) {
  const flags = new Int32Array(sab);
  Atomics.add(flags, ARMED, 1);
  Atomics.wait(flags, GO, 0);
}

/** Resolves once `count` threads have armed, and opens the gate for all of them. */
async function release(sab, count, timeoutMs = 10000) {
  const flags = new Int32Array(sab);
  await waitFor(() => Atomics.load(flags, ARMED) >= count, `${count} threads to arm`, timeoutMs);
  Atomics.store(flags, GO, 1);
  Atomics.notify(flags, GO);
}

module.exports = { startGate, armAndWait, release };

'use strict';

// The callback forms of the API, as promises a test can await.

const assert = require('node:assert/strict');

/**
 * How long a callback is watched after its first call for a wrong second
 * one. Nothing signals that a call will never come: a repeated call would
 * come from the same answer (a tick, a promise continuation, a native
 * thread's call), which an idle event loop runs within a few milliseconds.
 */
const SETTLE_MS = 30;

/**
 * Calls `start(callback)`; resolves with the value, rejects with the error
 * the callback got. Calls after the first change nothing but `onAgain()`.
 */
function viaCallback(start, onAgain = () => {}) {
  return new Promise((resolve, reject) => {
    let calls = 0;
    start((err, value) => {
      if (++calls > 1) return onAgain();
      if (err) reject(err); else resolve(value);
    });
  });
}

/** Calls `start(callback)`; resolves with the callback's arguments. `start` must return undefined. */
function callbackArgs(start) {
  return new Promise((resolve) => {
    const ret = start((...args) => resolve(args));
    assert.equal(ret, undefined, 'the callback form returns undefined');
  });
}

/**
 * Calls `start(callback)` and watches the callback: resolves with
 * { args, calls, sync, ret } (the first call's arguments, how many calls,
 * whether one came before `start` returned, what `start` returned) once it
 * has been called and SETTLE_MS more have passed. Rejects when `start`
 * throws, or when the callback is not called within `timeoutMs`.
 */
function observeCallback(start, { timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    let returned = false;
    let sync = false;
    let calls = 0;
    let args;
    let ret;
    const never = setTimeout(() => reject(new Error('callback never called')), timeoutMs);
    try {
      ret = start((...a) => {
        calls++;
        if (!returned) sync = true;
        if (calls === 1) {
          clearTimeout(never);
          args = a;
          setTimeout(() => resolve({ args, calls, sync, ret }), SETTLE_MS);
        }
      });
    } catch (err) {
      clearTimeout(never);
      reject(new Error(`threw synchronously: ${err && err.message}`));
      return;
    }
    returned = true;
  });
}

module.exports = { viaCallback, callbackArgs, observeCallback, SETTLE_MS };

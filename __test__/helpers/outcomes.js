'use strict';

// A call's outcome as a value, so a test can compare outcomes of many calls.

/** Resolves with { value } or { err }: never rejects. */
const settle = (promise) => Promise.resolve(promise).then((value) => ({ value }), (err) => ({ err }));

/** Runs `fn`; resolves with { value, ms } or { err, ms } (ms from the start, fractional). */
async function timed(fn) {
  const started = performance.now();
  const outcome = await settle(Promise.resolve().then(fn));
  return { ...outcome, ms: performance.now() - started };
}

module.exports = { settle, timed };

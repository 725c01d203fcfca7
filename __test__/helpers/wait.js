'use strict';

// Waiting for a condition instead of sleeping for a guessed time.

const assert = require('node:assert/strict');

/**
 * Resolves once `predicate()` holds, checking every 5 ms (after `poll()`,
 * awaited, when given); fails naming `what` after `timeoutMs`.
 */
async function waitFor(predicate, what, timeoutMs = 5000, poll = async () => {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    await poll();
    if (predicate()) return;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

module.exports = { waitFor };

'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): a script that
// got a token, in the main thread or in a worker, or whose request failed,
// exits by itself.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { withServer } = require('../helpers/token-server');
const { runModeChild, assertExited } = require('../helpers/child');

const EXIT_BOUND_MS = 5000; // "exits promptly", with margin for a slow machine
const KILL_AFTER_MS = 30000;
const child = path.join(__dirname, 'fixtures', 'exit-child.js');

async function run(server, mode) {
  const r = await runModeChild(child, server, mode, { timeoutMs: KILL_AFTER_MS });
  return { ...r, stdout: r.stdout.trim() };
}

for (const mode of ['promise', 'worker']) {
  test(`a script that got a token (${mode}) exits by itself`, () => withServer({}, async (server) => {
    const r = await run(server, mode);
    assertExited(r, EXIT_BOUND_MS);
    assert.equal(r.stdout, server.issued[0]);
  }));
}

test('a script whose token request failed exits by itself', () => withServer({
  respond: () => ({ status: 401, body: { error: 'access_denied' } }),
}, async (server) => {
  const r = await run(server, 'error');
  assertExited(r, EXIT_BOUND_MS);
  assert.equal(r.stdout, 'ERR_OAUTH');
}));

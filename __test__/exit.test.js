'use strict';

// No hang: a script that got a token exits by itself, promptly, even while a
// refresh ahead is still in flight.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const { withServer } = require('./helpers/token-server');
const { runModeChild, assertExited } = require('./helpers/child');

const EXIT_BOUND_MS = 5000; // generous: "exits promptly", not a speed test
const child = path.join(__dirname, 'fixtures-scripts', 'exit-child.js');

/** Runs the child script; its exit code, output and run time. Killed after 40 s. */
const run = (server, mode) => runModeChild(child, server, mode, { timeoutMs: 40000 });

test('a script that got a token (promise) exits by itself', () => withServer({}, async (server) => {
  const r = await run(server, 'promise');
  assertExited(r, EXIT_BOUND_MS);
  assert.equal(r.stdout.trim(), server.issued[0]);
}));

test('a script that got a token (callback) exits by itself', () => withServer({}, async (server) => {
  const r = await run(server, 'callback');
  assertExited(r, EXIT_BOUND_MS);
  assert.equal(r.stdout.trim(), server.issued[0]);
}));

test('a script whose token request failed exits by itself', () => withServer({
  respond: () => ({ status: 401, body: { error: 'access_denied' } }),
}, async (server) => {
  const r = await run(server, 'error');
  assertExited(r, EXIT_BOUND_MS);
  assert.equal(r.stdout.trim(), 'error ERR_OAUTH');
}));

test('a script exits while a refresh ahead is in flight (the server holds it 30 s)', () => withServer({
  expiresIn: 62, // usable 2 s with leeway 60
  respond: (ctx) => (ctx.n >= 2 ? { ...ctx.defaultResponse(), delayMs: 30000 } : undefined),
}, async (server) => {
  const r = await run(server, 'refresh');
  // The child's own work takes ~2 s (1820 ms + 200 ms of waits).
  assertExited(r, 2020 + EXIT_BOUND_MS);
  const [first, second] = r.stdout.trim().split('\n');
  assert.equal(first, server.issued[0]);
  assert.equal(second, `${server.issued[0]} true`, 'the hit was answered from the cache');
  assert.equal(server.count, 2, 'the background refresh was sent');
}));

test('a script that got a token in a worker thread exits by itself', () => withServer({}, async (server) => {
  const r = await run(server, 'worker');
  assertExited(r, EXIT_BOUND_MS);
  assert.equal(r.stdout.trim(), server.issued[0]);
}));

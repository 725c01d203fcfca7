'use strict';

// Threads and shutdown: worker threads terminated while
// their token request is pending neither crash the process nor wedge the
// cache entry for other threads; a process exiting with a request in flight
// exits cleanly.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const m2m = require('..');
const { withServer, uid } = require('./helpers/token-server');
const { waitFor } = require('./helpers/wait');
const { runNode } = require('./helpers/child');

const WORKER = path.join(__dirname, 'fixtures-scripts', 'pending-worker.js');
const ROOT = path.join(__dirname, '..');

/** Resolves within `ms` or rejects naming `what`. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

test('40 workers terminated mid-request: the process is fine and the main thread still gets tokens', () => withServer({ delayMs: 200 }, async (server) => {
  const shared = { tokenUrl: server.url, clientId: uid('shared'), clientSecret: 'secret', retries: 0 };
  const errors = [];
  const answered = [];
  const exits = [];
  const ownIds = [];
  const t0 = Date.now();
  const sharedRequests = () => server.requests.filter((r) => r.form.client_id === shared.clientId).length;
  let sharedStarted = 0;

  for (let i = 0; i < 40; i++) {
    // Even workers share one entry with the main thread (each invalidates it
    // first, so each starts a request); odd workers have an entry of their own.
    const own = i % 2 === 1;
    const options = own ? { ...shared, clientId: uid('own') } : shared;
    if (own) ownIds.push(options.clientId);
    const w = new Worker(WORKER, { workerData: { options, invalidateFirst: !own, callbackStyle: i % 4 >= 2 } });
    w.on('error', (err) => errors.push(err));
    w.on('message', (m) => { if (m !== 'calling') answered.push({ i, m }); });
    await within(new Promise((resolve) => w.on('message', (m) => { if (m === 'calling') resolve(); })), 10000, `worker ${i} start`);
    // Terminate once its request is at the server, unanswered (answers take 200 ms).
    const k = own ? 0 : ++sharedStarted;
    const atServer = own ? () => server.requests.some((r) => r.form.client_id === options.clientId) : () => sharedRequests() >= k;
    exits.push(waitFor(atServer, `worker ${i}'s request at the server`).then(() => w.terminate()));
  }
  const codes = await within(Promise.all(exits), 20000, 'terminating the workers');
  const loopMs = Date.now() - t0;

  assert.deepEqual(errors, [], 'worker errors');
  for (const c of codes) assert.equal(typeof c, 'number');
  // Mid-request: the odd workers' requests reached the server and most were
  // terminated before the 200 ms answer.
  const seen = new Set(server.requests.map((r) => r.form.client_id));
  for (const id of ownIds) assert.ok(seen.has(id), `the request of ${id} was sent`);
  assert.ok(answered.length <= 10, `${answered.length} of 40 workers got an answer before being terminated (loop took ${loopMs} ms)`);

  // The shared entry is not wedged: the main thread gets a token, cached or fresh.
  const s1 = Date.now();
  const token = await within(m2m.getToken({ ...shared }), 5000, 'getToken (shared entry)');
  assert.equal(typeof token, 'string');
  assert.ok(server.issued.includes(token));
  assert.ok(Date.now() - s1 < 5000);

  // And a fresh fetch for that entry works.
  m2m.invalidate(shared);
  const before = server.count;
  const info = await within(m2m.getTokenInfo({ ...shared }), 5000, 'getTokenInfo after invalidate');
  assert.equal(info.fromCache, false);
  assert.ok(server.count > before);

  // Every other entry a terminated worker started works from the main thread too.
  const others = await within(Promise.all(ownIds.map((clientId) => m2m.getToken({ ...shared, clientId }))), 5000, 'getToken (workers\' own entries)');
  for (const t of others) assert.ok(server.issued.includes(t));

  // A new worker still works end to end.
  const fresh = new Worker(WORKER, { workerData: { options: { ...shared, clientId: uid('fresh') }, invalidateFirst: false, callbackStyle: false } });
  const got = await within(new Promise((resolve, reject) => {
    fresh.on('error', reject);
    fresh.on('message', (m) => { if (m !== 'calling') resolve(m); });
  }), 5000, 'a new worker\'s getToken');
  assert.ok(got.got, `new worker: ${JSON.stringify(got)}`);
  await fresh.terminate();

  const st = m2m.stats();
  for (const k of ['hits', 'misses', 'requests', 'refreshes', 'errors', 'entries']) assert.equal(typeof st[k], 'number', k);
}));

/**
 * Runs `code` in a child whose token server holds every request; the child
 * is told to go on (a line on its stdin) once `requests` requests are at
 * the server.
 */
async function runHeldChild(requests, code) {
  let child;
  let held = 0;
  return withServer({
    respond: () => {
      if (++held === requests) child.stdin.write('go\n');
      return { hang: true };
    },
  }, async (server) => ({ server, ...await runNode(['-e', code(server)], { timeoutMs: 30000, cwd: __dirname, spawned: (c) => { child = c; } }) }));
}

/** The child exited by itself, promptly, with code 0 and nothing printed. */
function assertCleanExit(r) {
  assert.equal(r.killed, false, `the child hung (${r.ms} ms)`);
  assert.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}; stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout, '');
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
}

test('process.exit(0) with a request in flight exits with code 0 and nothing on stderr', async () => {
  const r = await runHeldChild(2, (server) => `
    const m2m = require(${JSON.stringify(ROOT)});
    m2m.getToken({ tokenUrl: ${JSON.stringify(server.url)}, clientId: 'exit-main', clientSecret: 's', timeoutMs: 60000 })
      .then(() => console.log('resolved?'), (e) => console.log('rejected', e.code));
    m2m.getToken({ tokenUrl: ${JSON.stringify(server.url)}, clientId: 'exit-main-cb', clientSecret: 's', timeoutMs: 60000 }, () => console.log('called back?'));
    process.stdin.once('data', () => process.exit(0)); // both requests are at the server
  `);
  assertCleanExit(r);
  assert.equal(r.server.count, 2, 'both requests were in flight at exit');
});

test('process.exit(0) while a worker thread has a request in flight exits with code 0 and nothing on stderr', async () => {
  const r = await runHeldChild(1, (server) => `
    const { Worker } = require('node:worker_threads');
    const w = new Worker(${JSON.stringify(WORKER)}, { workerData: { options: { tokenUrl: ${JSON.stringify(server.url)}, clientId: 'exit-worker', clientSecret: 's', timeoutMs: 60000 } } });
    w.on('message', (m) => { if (m !== 'calling') console.log('answered?', m); });
    process.stdin.once('data', () => process.exit(0)); // the worker's request is at the server
  `);
  assertCleanExit(r);
  assert.equal(r.server.count, 1, 'the request was in flight at exit');
});

'use strict';

// Guarantee 6: a call that starts, on any thread, after invalidate() or
// clearCache() has returned is never handed a token that the server sent
// before that invalidation started — even when this thread's wait for the
// entry began before the invalidation and the token already reached the
// native cache while the thread was busy.

const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const m2m = require('..');
const { withServer, uid } = require('./helpers/token-server');

const ROOT = path.join(__dirname, '..');
const LANDING_MS = 200; // ample for a token sent on loopback to reach the native cache

beforeEach(() => m2m.clearCache());

const options = (server) => ({ tokenUrl: server.url, clientId: uid('inv'), clientSecret: 's' });

/** Blocks this thread (the event loop included) for `ms`. */
function busyWait(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Ways to drop the entry, and ways to call after it; each pair is tried.
const invalidations = {
  'invalidate(options)': (o) => m2m.invalidate(o),
  'client.invalidate()': (o) => new m2m.TokenClient(o).invalidate(),
  'clearCache()': () => m2m.clearCache(),
};
const laterCalls = {
  'getToken(options)': (o) => m2m.getToken(o),
  'client.getToken()': (o) => new m2m.TokenClient(o).getToken(),
  'getTokenInfo(options)': (o) => m2m.getTokenInfo(o).then((i) => i.accessToken),
  'client.getToken(callback)': (o) => new Promise((resolve, reject) => {
    new m2m.TokenClient(o).getToken((err, token) => (err ? reject(err) : resolve(token)));
  }),
};

for (const [invalidation, invalidate] of Object.entries(invalidations)) {
  for (const [later, callLater] of Object.entries(laterCalls)) {
    test(`same thread: ${invalidation} while this thread's wait is pending and the token has landed, then ${later}`, async () => {
      let afterInvalidation;
      let o;
      await withServer({
        respond: (ctx) => {
          if (ctx.n !== 1) return undefined;
          // Runs once the first token is written: keep this thread busy
          // while the token lands in the native cache, then invalidate and
          // start a new call, all before the pending wait can settle.
          setImmediate(() => {
            busyWait(LANDING_MS);
            invalidate(o);
            afterInvalidation = callLater(o);
          });
          return undefined;
        },
      }, async (server) => {
        o = options(server);
        const first = await m2m.getToken(o);
        assert.equal(first, server.issued[0]);
        assert.ok(afterInvalidation, 'the later call did not start');
        const token = await afterInvalidation;
        assert.notEqual(token, server.issued[0], 'a call started after the invalidation got the dropped token');
        assert.equal(token, server.issued[1]);
      });
    });
  }
}

/**
 * Starts a worker running `source` (with `m2m`, `workerData`, `shared` in
 * scope); resolves with its one message.
 */
function runInWorker(source, workerData) {
  const body = `
    const { parentPort, workerData } = require('node:worker_threads');
    const m2m = require(workerData.root);
    const shared = new Int32Array(workerData.sab);
    (async () => { ${source} })().then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e) }));`;
  const worker = new Worker(body, { eval: true, workerData: { root: ROOT, ...workerData } });
  return new Promise((resolve, reject) => {
    worker.once('message', (msg) => { worker.terminate(); resolve(msg); });
    worker.once('error', reject);
  });
}

test('across threads: a worker waiting on the entry is busy while the token lands; the main thread invalidates; the worker\'s next call must not get the dropped token', async () => {
  let o;
  let shared;
  await withServer({
    respond: (ctx) => {
      if (ctx.n !== 1) return undefined;
      setImmediate(async () => {
        // The worker is blocked in Atomics.wait; let the token land, then
        // invalidate here and release it.
        await new Promise((resolve) => setTimeout(resolve, LANDING_MS));
        m2m.invalidate(o);
        Atomics.store(shared, 0, 1);
        Atomics.notify(shared, 0);
      });
      return undefined;
    },
  }, async (server) => {
    o = options(server);
    const sab = new SharedArrayBuffer(8);
    shared = new Int32Array(sab);
    const result = await runInWorker(`
      const first = m2m.getToken(workerData.options);
      Atomics.wait(shared, 0, 0, 10000); // busy until the main thread has invalidated
      const later = m2m.getToken(workerData.options);
      return { first: await first, later: await later };`, { options: o, sab });
    assert.equal(result.error, undefined, result.error);
    assert.equal(result.first, server.issued[0]);
    assert.notEqual(result.later, server.issued[0], 'the worker\'s later call got the dropped token');
    assert.equal(result.later, server.issued[1]);
  });
});

test('across threads: the main thread is busy while its token lands; a worker invalidates; the main thread\'s next call must not get the dropped token', async () => {
  let later;
  let o;
  let shared;
  await withServer({
    respond: (ctx) => {
      if (ctx.n !== 1) return undefined;
      setImmediate(() => {
        Atomics.store(shared, 0, 1); // tell the worker the token is on its way
        Atomics.notify(shared, 0);
        // Blocked until the worker has invalidated (after the token landed).
        Atomics.wait(shared, 1, 0, 10000);
        later = m2m.getToken(o);
      });
      return undefined;
    },
  }, async (server) => {
    o = options(server);
    const sab = new SharedArrayBuffer(8);
    shared = new Int32Array(sab);
    const worker = runInWorker(`
      Atomics.wait(shared, 0, 0, 10000);
      await new Promise((resolve) => setTimeout(resolve, ${LANDING_MS}));
      const dropped = m2m.invalidate(workerData.options);
      Atomics.store(shared, 1, 1);
      Atomics.notify(shared, 1);
      return { dropped };`, { options: o, sab });
    const first = await m2m.getToken(o);
    const { dropped } = await worker;
    assert.equal(first, server.issued[0]);
    assert.equal(dropped, true);
    const token = await later;
    assert.notEqual(token, server.issued[0], 'the main thread\'s later call got the dropped token');
    assert.equal(token, server.issued[1]);
  });
});

// The load test: CALLERS workers × CALLS calls in five styles while this
// thread invalidates about every millisecond and CLEARERS workers loop
// clearCache() + getToken(). Every token's request number is in it; the
// number of invalidations started is noted right after each token is sent.
// A call that started after d invalidations had returned must get a token
// sent after invalidation #d started.
// CI runs a size that takes seconds; the full-scale run (48 callers + 2
// clearers = 50 workers, 10,000 calls each) is
//   INVALIDATION_LOAD_WORKERS=48 INVALIDATION_LOAD_CALLS=10000 node --test __test__/hardening-invalidation.test.js
const CALLERS = Number(process.env.INVALIDATION_LOAD_WORKERS || 16);
const CALLS = Number(process.env.INVALIDATION_LOAD_CALLS || 3000);
const CONCURRENCY = 4;
const CLEARERS = 2;
const CLEAR_CALLS = 500;

test(`load: ${CALLERS} workers x ${CALLS} calls, invalidation every ms from the main thread and clearCache() loops in ${CLEARERS} workers`, { timeout: 900000 }, async () => {
  const sab = new SharedArrayBuffer(12);
  const shared = new Int32Array(sab);
  const startedAtSend = new Map(); // request number -> invalidations started once its token was sent
  await withServer({
    respond: (ctx) => {
      setImmediate(() => startedAtSend.set(ctx.n, Atomics.load(shared, 0))); // after the write: an upper bound
      return undefined;
    },
  }, async (server) => {
    const o = options(server);
    const before = m2m.stats();
    const script = path.join(__dirname, 'fixtures-scripts', 'hardening-invalidation-worker.js');
    const start = (mode, calls) => new Promise((resolve, reject) => {
      const worker = new Worker(script, { workerData: { root: ROOT, options: o, sab, mode, calls, concurrency: CONCURRENCY } });
      worker.once('message', (msg) => { worker.terminate(); resolve(msg); });
      worker.once('error', reject);
      worker.once('exit', (code) => { if (code !== 0 && code !== 1) reject(new Error(`worker exited with ${code}`)); });
    });
    const results = [
      ...Array.from({ length: CALLERS }, () => start('call', CALLS)),
      ...Array.from({ length: CLEARERS }, () => start('clear', CLEAR_CALLS)),
    ];
    await new Promise((resolve) => setTimeout(resolve, 200)); // let the workers load the addon
    let invalidating = true;
    let mainInvalidations = 0;
    const invalidator = setInterval(() => {
      if (!invalidating) return;
      Atomics.add(shared, 0, 1);
      m2m.invalidate(o);
      Atomics.add(shared, 1, 1);
      mainInvalidations++;
    }, 1);
    Atomics.store(shared, 2, 1);
    Atomics.notify(shared, 2);
    const reports = await Promise.all(results);
    invalidating = false;
    clearInterval(invalidator);
    await new Promise((resolve) => setImmediate(resolve));

    let calls = 0;
    let stale = 0;
    const examples = [];
    const errors = [];
    let doubles = 0;
    for (const report of reports) {
      calls += report.calls;
      doubles += report.doubles;
      errors.push(...report.errors);
      for (const [returnedBefore, token] of report.records) {
        const n = Number(/^tok-(\d+)-/.exec(token)?.[1]);
        const sentAfter = startedAtSend.get(n);
        assert.ok(sentAfter !== undefined, `a token the server never sent: ${token}`);
        if (returnedBefore > sentAfter) {
          stale++;
          if (examples.length < 5) examples.push({ token: n, sentAfterInvalidationsStarted: sentAfter, callStartedAfterReturned: returnedBefore });
        }
      }
    }
    const after = m2m.stats();
    const answered = (after.hits - before.hits) + (after.misses - before.misses) + (after.errors - before.errors);
    assert.ok(mainInvalidations > 50, `only ${mainInvalidations} invalidations from the main thread`);
    assert.deepEqual(errors.slice(0, 5), [], `${errors.length} calls failed`);
    assert.equal(doubles, 0, 'a callback was called twice');
    assert.equal(calls, CALLERS * CALLS + CLEARERS * CLEAR_CALLS);
    assert.equal(answered, calls, 'stats(): hits + misses + errors != calls made');
    assert.equal(stale, 0, `${stale} of ${calls} calls got a token sent before an invalidation that had returned when they started: ${JSON.stringify(examples)}`);
  });
});

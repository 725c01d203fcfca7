'use strict';

// One cache per process, across worker threads: single flight, hits,
// invalidation and stats seen from every thread.

const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const m2m = require('..');
const { withServer } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');
const { startGate, release } = require('./helpers/start-gate');

const opts = clientOptions('w');

const { startCommandWorker } = require('./helpers/command-worker');

const workerScript = path.join(__dirname, 'fixtures-scripts', 'worker.js');

/** Starts a worker; resolves once it has loaded the addon. `call(cmd, args)` runs a command in it. */
const startWorker = () => startCommandWorker(workerScript);

/** Starts `n` workers, runs `fn(workers)`, then terminates them. */
async function withWorkers(n, fn) {
  const workers = await Promise.all(Array.from({ length: n }, startWorker));
  try {
    return await fn(workers);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

beforeEach(() => m2m.clearCache());

test('single flight across threads: 8 workers x 500 cold concurrent callers, one request', () => withServer({ delayMs: 200 }, async (server) => {
  await withWorkers(8, async (workers) => {
    const o = opts(server);
    const sab = startGate();
    const before = m2m.stats();
    const bursts = workers.map((w) => w.call('burst', { options: o, n: 500, sab }));
    await release(sab, workers.length);
    const results = await Promise.all(bursts);

    assert.equal(server.count, 1);
    for (const r of results) assert.deepEqual(r.tokens, [server.issued[0]]);
    const after = m2m.stats();
    assert.equal(after.requests - before.requests, 1);
    assert.equal((after.hits - before.hits) + (after.misses - before.misses), 8 * 500);
    assert.equal(after.errors - before.errors, 0);
  });
}));

test('a token fetched in the main thread is a cache hit in a new worker', () => withServer({}, async (server) => {
  const o = opts(server);
  const token = await m2m.getToken(o);
  await withWorkers(1, async ([worker]) => {
    const info = await worker.call('info', { options: o });
    assert.equal(info.accessToken, token);
    assert.equal(info.fromCache, true);
    assert.equal(server.count, 1);
  });
}));

test('invalidate() in one worker: the main thread and another worker fetch anew, with one request', () => withServer({ delayMs: 50 }, async (server) => {
  const o = opts(server);
  const old = await m2m.getToken(o);
  await withWorkers(2, async ([w1, w2]) => {
    for (const w of [w1, w2]) {
      const info = await w.call('info', { options: o });
      assert.equal(info.accessToken, old);
      assert.equal(info.fromCache, true);
    }
    assert.equal((await m2m.getTokenInfo(o)).fromCache, true); // main thread's view is warm

    assert.equal(await w1.call('invalidate', { options: o }), true);
    const [mainInfo, w2Info] = await Promise.all([m2m.getTokenInfo(o), w2.call('info', { options: o })]);
    assert.equal(server.count, 2, 'exactly one new request');
    assert.equal(mainInfo.accessToken, server.issued[1]);
    assert.equal(w2Info.accessToken, server.issued[1]);
    assert.notEqual(mainInfo.accessToken, old);
    assert.ok(!mainInfo.fromCache || !w2Info.fromCache, 'one of them waited on the new request');

    const w1Info = await w1.call('info', { options: o });
    assert.equal(w1Info.accessToken, server.issued[1]);
    assert.equal(w1Info.fromCache, true);
  });
}));

test('clearCache() in the main thread: a worker fetches anew', () => withServer({}, async (server) => {
  const o = opts(server);
  await withWorkers(1, async ([worker]) => {
    const first = await worker.call('info', { options: o });
    assert.equal((await worker.call('info', { options: o })).fromCache, true);
    m2m.clearCache();
    const next = await worker.call('info', { options: o });
    assert.equal(next.fromCache, false);
    assert.notEqual(next.accessToken, first.accessToken);
    assert.equal(server.count, 2);
  });
}));

test('stats() in the main thread counts calls made in workers exactly, also after they exit', () => withServer({}, async (server) => {
  const o = opts(server);
  await m2m.getToken(o);
  const before = m2m.stats();
  const [a, b] = await Promise.all([startWorker(), startWorker()]);
  const [ta, tb] = await Promise.all([a.call('hits', { options: o, n: 1000 }), b.call('hits', { options: o, n: 600 })]);
  assert.deepEqual(ta, [server.issued[0]]);
  assert.deepEqual(tb, [server.issued[0]]);
  await a.call('invalid', { n: 3 });

  const expected = { hits: 1600, misses: 0, requests: 0, refreshes: 0, errors: 3, entries: 0, storeHits: 0, storeErrors: 0 };
  const delta = (now) => Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]));
  assert.deepEqual(delta(m2m.stats()), expected);
  assert.deepEqual(delta(await b.call('stats')), expected, 'the same process-wide numbers from a worker');

  // Both workers end by themselves (nothing keeps their loops alive), and
  // their calls stay counted.
  await Promise.all([a.call('exit'), b.call('exit')]);
  let timer;
  const timeout = new Promise((resolve) => { timer = setTimeout(resolve, 5000, 'timeout'); });
  const outcome = await Promise.race([Promise.all([a.exited, b.exited]), timeout]);
  clearTimeout(timer);
  assert.deepEqual(outcome, [0, 0], 'both workers exited by themselves with code 0');
  assert.deepEqual(delta(m2m.stats()), expected);
}));

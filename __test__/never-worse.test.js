'use strict';

// Guarantee 4, "a refresh never makes things worse": when the refresh ahead
// of a token is answered with one that expires no later (inside the leeway,
// a shorter life, a JWT exp without expires_in), the cached token is kept
// and handed out until its own cut-off. Callers keep calling from the main
// thread and two worker threads, then from three processes sharing a file
// store and a Redis store: none may fail, wait on the network, or be handed
// the worse token before the cut-off.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const m2m = require('..');
const { startTokenServer, uid, expiringIn } = require('./helpers/token-server');
const { callUntil } = require('./helpers/call-loop');
const { forkFleet } = require('./helpers/fleet');
const { startRedis } = require('./helpers/redis-server');

const limits = { timeout: 30000 };
const LEEWAY_S = 1;
const FIRST_S = 4; // usable 3 s with the leeway: a refresh is due at 2.7 s
// A call that starts this close to the cut-off may be judged just after it.
const EDGE_MS = 30;

/** A JWT (unsigned: only its exp is read) that expires `seconds` from now. */
function jwtExpiringIn(seconds) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + seconds;
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ sub: 'never-worse', exp, jti: uid('jti') })}.`;
}

/** Each way a refresh answer can be worse than the 4 s token it refreshes. */
const worseAnswers = {
  'inside the leeway (expires_in 1)': (ctx) => expiringIn(ctx, 1),
  'a shorter life (expires_in 1.2)': (ctx) => expiringIn(ctx, 1.2),
  'a JWT exp without expires_in': () => ({ status: 200, body: { access_token: jwtExpiringIn(1), token_type: 'Bearer' } }),
};

/** The first request gets a 4 s token (as its kind says); every later one `worse`. */
function serverAnsweringWorse(worse, jwt = false) {
  return startTokenServer({
    respond: (ctx) => {
      if (ctx.n > 1) return worse(ctx);
      if (jwt) return { status: 200, body: { access_token: jwtExpiringIn(FIRST_S), token_type: 'Bearer' } };
      return expiringIn(ctx, FIRST_S);
    },
  });
}

function loopInWorker(options, untilMs) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'fixtures-scripts', 'call-loop-worker.js'), { workerData: { options, untilMs } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

/**
 * Every call before `cutoff` was answered from the cache with `first`, or
 * with a better token (one that expires later), never a worse one.
 */
function assertKeptUntil(calls, first, cutoff, who) {
  const before = calls.filter((c) => c.at < cutoff - EDGE_MS);
  assert.ok(before.length > 20, `${who}: only ${before.length} calls before the cut-off`);
  const failed = before.filter((c) => c.error);
  assert.deepEqual(failed.slice(0, 3), [], `${who}: ${failed.length} of ${before.length} calls failed before the cut-off`);
  const worse = before.filter((c) => c.token !== first.accessToken && !(c.expiresAt > first.expiresAt));
  assert.equal(worse.length, 0, `${who}: ${worse.length} of ${before.length} calls were handed a worse token before the cut-off`);
  assert.ok(before.every((c) => c.fromCache), `${who}: a call waited on the network while a usable token was cached`);
}

beforeEach(() => m2m.clearCache());

for (const [name, worse] of Object.entries(worseAnswers)) {
  test(`a refresh answering ${name} keeps the cached token until its cut-off: main thread and two workers`, limits, async () => {
    const server = await serverAnsweringWorse(worse, name.includes('JWT'));
    try {
      const options = { tokenUrl: server.url, clientId: uid('never-worse'), clientSecret: 's', leewaySeconds: LEEWAY_S };
      const first = await m2m.getTokenInfo(options);
      const cutoff = first.expiresAt - LEEWAY_S * 1000;
      const untilMs = cutoff;
      const [main, ...workers] = await Promise.all([
        callUntil(m2m, options, untilMs),
        loopInWorker(options, untilMs),
        loopInWorker(options, untilMs),
      ]);
      assertKeptUntil(main, first, cutoff, 'main thread');
      workers.forEach((calls, i) => assertKeptUntil(calls, first, cutoff, `worker ${i + 1}`));
      assert.equal(server.count, 2, 'the first request and one refresh (then the failed-refresh cool-down)');
    } finally {
      await server.close();
    }
  });
}

test('callers with different leeways sharing the entry each keep the token until their own cut-off', limits, async () => {
  const server = await serverAnsweringWorse(worseAnswers['a shorter life (expires_in 1.2)']);
  try {
    const shared = { tokenUrl: server.url, clientId: uid('never-worse-leeways'), clientSecret: 's' };
    const strict = { ...shared, leewaySeconds: LEEWAY_S };
    const lax = { ...shared, leewaySeconds: 0 };
    const first = await m2m.getTokenInfo(strict);
    const cutoff = first.expiresAt - LEEWAY_S * 1000;
    // The strict caller's refresh (due at 2.7 s) answers a token that
    // expires at 3.9 s: worse for the lax caller too, whose own cut-off is 4 s.
    const [strictCalls, laxCalls, laxWorker] = await Promise.all([
      callUntil(m2m, strict, cutoff),
      callUntil(m2m, lax, first.expiresAt),
      loopInWorker(lax, first.expiresAt),
    ]);
    assertKeptUntil(strictCalls, first, cutoff, 'leeway 1 s');
    assertKeptUntil(laxCalls, first, first.expiresAt, 'leeway 0 s');
    assertKeptUntil(laxWorker, first, first.expiresAt, 'leeway 0 s, in a worker');
  } finally {
    await server.close();
  }
});

let redis;
before(async () => { redis = await startRedis(); });
after(async () => { if (redis) await redis.close(); });

const fleetStores = {
  'a file store': () => `file:${fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-never-worse-'))}`,
  'a Redis store': () => redis.url(),
};

for (const [name, storeFor] of Object.entries(fleetStores)) {
  test(`three processes on ${name}: a worse refresh answer is never adopted nor written over the better record`, limits, async () => {
    const server = await serverAnsweringWorse(worseAnswers['a shorter life (expires_in 1.2)']);
    const fleet = await forkFleet(3);
    try {
      const options = { tokenUrl: server.url, clientId: uid('never-worse-fleet'), clientSecret: 's', leewaySeconds: LEEWAY_S, store: storeFor() };
      const first = await m2m.getTokenInfo(options); // written to the store
      const cutoff = first.expiresAt - LEEWAY_S * 1000;
      const results = await fleet.all('callUntil', { options, untilMs: cutoff });
      results.forEach((calls, i) => assertKeptUntil(calls, first, cutoff, `process ${i + 1}`));
      // One refresh at most per process, each then cooling down; the
      // processes that waited on another's refresh send none.
      assert.ok(server.count >= 2 && server.count <= 1 + fleet.length, `${server.count} requests`);
      // A process with nothing in memory still finds the better token in the store.
      await fleet[0].call('clearCache');
      const late = await fleet[0].call('info', { options: { ...options, leewaySeconds: 0 } });
      assert.equal(late.calls[0].value?.accessToken ?? late.calls[0].error?.code, first.accessToken);
    } finally {
      await fleet.close();
      await server.close();
    }
  });
}

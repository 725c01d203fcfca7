'use strict';

// Rate limits (api.md, "Rate limits: one request per window for the whole
// fleet"): a 429 closes the entry until its window ends, for every thread and
// every process sharing a store; no call waits out a long Retry-After; the
// processes waiting on another's request receive its failure; an empty Auth0
// quota bucket closes the entry for its next request; invalidate() and
// clearCache() do not reopen it. Real token servers, real redis-server
// processes (single and cluster), a real file store, real forked processes.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const diagnostics = require('node:diagnostics_channel');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');
const { startRedis, startRedisCluster } = require('./helpers/redis-server');
const { forkFleet } = require('./helpers/fleet');
const { storeOptions } = require('./helpers/options');
const { timed } = require('./helpers/outcomes');
const { viaCallback } = require('./helpers/callbacks');

const limits = { timeout: 60000 };
// api.md: a call never takes longer than timeoutMs × (retries + 1) plus 2 s of
// back-off; refused or failed at once, it takes far less. Scheduling slack
// for a loaded 2-core machine running 12 processes.
const FAST_MS = 2000;

let redis;
let cluster;
const dirs = [];
before(async () => { [redis, cluster] = await Promise.all([startRedis(), startRedisCluster()]); });
after(async () => {
  await Promise.all([redis && redis.close(), cluster && cluster.stop()]);
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function fileStore() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-rate-'));
  dirs.push(dir);
  return `file:${path.join(dir, 'store')}`;
}

const STORES = {
  redis: () => redis.url(),
  'Redis Cluster': () => cluster.url(),
  'file store': fileStore,
};

const optionsFor = storeOptions('rate');

const tooMany = (headers = {}) => ({ status: 429, headers, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } });

/** Every call of `info` results (one per process). */
const callsOf = (results) => results.flatMap((r) => r.calls);

function assertAllRefused(calls, { maxRetryAfter, minRetryAfter = 1 }) {
  for (const call of calls) {
    assert.ok(call.error, `a call got a token: ${JSON.stringify(call.value)}`);
    assert.equal(call.error.code, 'ERR_RATE_LIMITED', call.error.message);
    assert.ok(call.error.retryAfter >= minRetryAfter && call.error.retryAfter <= maxRetryAfter,
      `retryAfter ${call.error.retryAfter} not in [${minRetryAfter}, ${maxRetryAfter}]`);
    assert.ok(call.ms < FAST_MS, `a call took ${Math.round(call.ms)} ms`);
  }
}


for (const [kind, storeUrl] of Object.entries(STORES)) {
  test(`${kind}: 12 processes × 5 callers against an endpoint that always answers 429 (Retry-After: 30) send 1 request; a round 2 s later sends none`, limits, async () => {
    const server = await startTokenServer({ respond: () => tooMany({ 'retry-after': '30' }) });
    const fleet = await forkFleet(12);
    try {
      const options = optionsFor(server, storeUrl());
      const first = await fleet.all('info', { options, n: 5 });
      assert.equal(callsOf(first).length, 60);
      assertAllRefused(callsOf(first), { minRetryAfter: 27, maxRetryAfter: 30 });
      assert.equal(server.count, 1, 'one request for the whole fleet');

      await new Promise((resolve) => setTimeout(resolve, 2000)); // the second round the contract names
      const second = await fleet.all('info', { options, n: 5 });
      assertAllRefused(callsOf(second), { minRetryAfter: 25, maxRetryAfter: 28 });
      assert.equal(server.count, 1, 'nothing is sent inside the window');
    } finally {
      await fleet.close();
      await server.close();
    }
  });

  test(`${kind}: processes waiting on another's request receive its failure (ERR_OAUTH) instead of sending their own`, limits, async () => {
    const server = await startTokenServer({
      respond: () => ({ status: 401, delayMs: 400, body: { error: 'invalid_client', error_description: 'Unknown client' } }),
    });
    const fleet = await forkFleet(4);
    try {
      const options = optionsFor(server, storeUrl());
      const results = await fleet.all('info', { options, n: 3 });
      for (const call of callsOf(results)) {
        assert.equal(call.error && call.error.code, 'ERR_OAUTH', JSON.stringify(call));
        assert.match(call.error.message, /invalid_client|Unknown client/);
      }
      assert.equal(server.count, 1, 'the failure was shared, not repeated by each waiter');
      // Not a window: the next call asks again (once for the fleet).
      await fleet.all('info', { options });
      assert.equal(server.count, 2);
    } finally {
      await fleet.close();
      await server.close();
    }
  });
}

test('redis: a window that ends lets exactly one request through for the fleet', limits, async () => {
  let closed = true;
  const server = await startTokenServer({ respond: () => (closed ? tooMany({ 'retry-after': '3' }) : undefined) });
  const fleet = await forkFleet(4);
  try {
    const options = optionsFor(server, redis.url());
    const first = await fleet.all('info', { options, n: 5 });
    assertAllRefused(callsOf(first), { minRetryAfter: 2, maxRetryAfter: 3 });
    assert.equal(server.count, 1);
    closed = false;
    const windowEndsAt = server.requests[0].at + 3000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEndsAt - Date.now()) + 200));
    const second = await fleet.all('info', { options, n: 5 });
    const tokens = new Set(callsOf(second).map((c) => {
      assert.ok(c.value, `a call failed after the window: ${JSON.stringify(c.error)}`);
      return c.value.accessToken;
    }));
    assert.equal(tokens.size, 1);
    assert.equal(server.count, 2, 'one request after the window, for the whole fleet');
  } finally {
    await fleet.close();
    await server.close();
  }
});

test('redis: a token answer with an empty quota bucket (r=0) is handed out and closes the entry until the reset, in every process', limits, async () => {
  const server = await startTokenServer({
    respond: (ctx) => {
      const r = ctx.defaultResponse();
      return ctx.n === 1 ? { ...r, headers: { 'auth0-client-quota-limit': 'b=per_hour;q=10;r=0;t=3' } } : r;
    },
  });
  const fleet = await forkFleet(3);
  try {
    const options = optionsFor(server, redis.url());
    const [a] = await fleet[0].call('info', { options }).then((r) => r.calls);
    assert.ok(a.value, JSON.stringify(a.error));
    const [b] = await fleet[1].call('info', { options }).then((r) => r.calls);
    assert.equal(b.value && b.value.accessToken, a.value.accessToken, 'the second process takes the token from the store');
    assert.equal(server.count, 1);

    // Both drop the token; the next calls need a new one, which the empty bucket forbids.
    await fleet[0].call('invalidate', { options });
    await fleet[1].call('invalidate', { options });
    for (const child of fleet) { // fleet[2] never saw the token: it learns of the window from the store
      const { calls } = await child.call('info', { options });
      assertAllRefused(calls, { maxRetryAfter: 3 });
    }
    assert.equal(server.count, 1, 'nothing is sent before the bucket resets');

    const resetAt = server.requests[0].at + 3000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetAt - Date.now()) + 200));
    const after = callsOf(await fleet.all('info', { options }));
    assert.ok(after.every((c) => c.value && c.value.accessToken !== a.value.accessToken), JSON.stringify(after));
    assert.equal(server.count, 2);
  } finally {
    await fleet.close();
    await server.close();
  }
});

test('memory: 50 callers → 1 request; inside the window calls fail fast, send nothing, publish no fetch:start, and invalidate()/clearCache() do not reopen it', limits, async () => {
  const server = await startTokenServer({ respond: () => tooMany({ 'retry-after': '30' }) });
  const starts = [];
  const onStart = (message) => starts.push(message);
  try {
    const options = optionsFor(server, 'memory');
    const first = await Promise.all(Array.from({ length: 50 }, () => timed(() => m2m.getToken(options))));
    for (const r of first) {
      assert.equal(r.err && r.err.code, 'ERR_RATE_LIMITED');
      assert.ok(r.err.retryAfter >= 29 && r.err.retryAfter <= 30, String(r.err.retryAfter));
      assert.ok(r.ms < FAST_MS, `${r.ms} ms`);
    }
    assert.equal(server.count, 1);

    diagnostics.subscribe('m2m-token:fetch:start', onStart);
    const errorsBefore = m2m.stats().errors;
    const client = new m2m.TokenClient(options);
    client.invalidate();
    m2m.clearCache();
    const inside = await timed(() => client.getToken());
    assert.equal(inside.err && inside.err.code, 'ERR_RATE_LIMITED');
    assert.ok(inside.err.retryAfter >= 28 && inside.err.retryAfter <= 30);
    assert.equal(inside.err.status, 429);
    const byCallback = await timed(() => viaCallback((done) => m2m.getToken(options, done)));
    assert.equal(byCallback.err && byCallback.err.code, 'ERR_RATE_LIMITED');
    assert.equal(server.count, 1, 'nothing sent inside the window');
    assert.deepEqual(starts, [], 'a refused call starts no fetch');
    assert.equal(m2m.stats().errors, errorsBefore + 2, 'each refused call counts as an error');
  } finally {
    diagnostics.unsubscribe('m2m-token:fetch:start', onStart);
    await server.close();
  }
});

test('a short Retry-After (1 s) is waited out inside the call; a longer one (3 s) fails it at once', limits, async () => {
  let answer = 0;
  const server = await startTokenServer({
    respond: (ctx) => {
      answer++;
      if (ctx.form.client_id.startsWith('short') && answer === 1) return tooMany({ 'retry-after': '1' });
      if (ctx.form.client_id.startsWith('long')) return tooMany({ 'retry-after': '3' });
      return undefined;
    },
  });
  try {
    const short = await timed(() => m2m.getToken(optionsFor(server, 'memory', { clientId: uid('short') })));
    assert.ok(short.value, short.err && short.err.message);
    assert.ok(short.ms >= 900 && short.ms < 1000 + FAST_MS, `${short.ms} ms`);
    assert.equal(server.count, 2);

    const long = await timed(() => m2m.getToken(optionsFor(server, 'memory', { clientId: uid('long') })));
    assert.equal(long.err && long.err.code, 'ERR_RATE_LIMITED');
    assert.equal(long.err.retryAfter, 3);
    assert.ok(long.ms < 900, `a 3 s Retry-After must not be waited out (${long.ms} ms)`);
    assert.equal(server.count, 3, 'no retry inside the call');
  } finally {
    await server.close();
  }
});

test('an absurd Retry-After (2e16 s, beyond u64) opens a window of a day, never an overflow or none', limits, async () => {
  for (const value of ['20000000000000000', '18446744073709551615', '99999999999999999999999']) {
    const server = await startTokenServer({ respond: () => tooMany({ 'retry-after': value }) });
    try {
      const options = optionsFor(server, 'memory');
      const first = await timed(() => m2m.getToken(options));
      assert.equal(first.err && first.err.code, 'ERR_RATE_LIMITED');
      assert.equal(first.err.retryAfter, 86400, value);
      const again = await timed(() => m2m.getToken(options));
      assert.equal(again.err && again.err.retryAfter, 86400, 'the window is open');
      assert.equal(server.count, 1, value);
    } finally {
      await server.close();
    }
  }
});

test('a 429 without Retry-After opens a back-off window: 1 s (waited out in the call), then 2 s, then 4 s', limits, async () => {
  const server = await startTokenServer({ respond: () => tooMany() });
  try {
    const options = optionsFor(server, 'memory');
    const first = await timed(() => m2m.getToken(options));
    assert.equal(first.err && first.err.code, 'ERR_RATE_LIMITED');
    assert.equal(first.err.retryAfter, 2, 'second 429 in a row: 2 s');
    assert.ok(first.ms >= 900 && first.ms < 1000 + FAST_MS, `the 1 s window was waited out once (${first.ms} ms)`);
    assert.equal(server.count, 2);

    const inside = await timed(() => m2m.getToken(options));
    assert.equal(inside.err && inside.err.code, 'ERR_RATE_LIMITED');
    assert.equal(server.count, 2, 'nothing sent inside the 2 s window');

    const windowEndsAt = server.requests[1].at + 2000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, windowEndsAt - Date.now()) + 200));
    const third = await timed(() => m2m.getToken(options));
    assert.equal(third.err && third.err.retryAfter, 4, 'third 429 in a row: 4 s, longer than the call may wait');
    assert.ok(third.ms < 900, `${third.ms} ms`);
    assert.equal(server.count, 3);
  } finally {
    await server.close();
  }
});

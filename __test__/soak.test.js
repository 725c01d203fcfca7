'use strict';

// A bounded soak: ~15 s of 50 concurrent callers on the
// main thread and on each of 3 workers, over tokens that live 2 s (leeway
// 1 s), with invalidate() and clearCache() at random moments. Every token
// carries its expiry; none may be handed out inside the leeway. Zero errors,
// zero double callbacks, zero unhandled rejections, bounded RSS growth.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { setTimeout: sleep } = require('node:timers/promises');

const m2m = require('..');
const { withServer, uid } = require('./helpers/token-server');

const ROOT = path.join(__dirname, '..');
const RUN_MS = 14000;
const WARMUP_MS = 2000;
const WORKERS = 3;
const CALLERS = 50;
const LEEWAY_MS = 1000;
const TOLERANCE_MS = 50;
const RSS_BOUND = 64 * 1024 * 1024;

/**
 * The load loop, run as is on the main thread and (via its source) in each
 * worker. Self-contained: it must not use anything from this module's scope.
 * Resolves with counts once `deadline` has passed and every call settled.
 */
async function soakLoop({ root, url, clientIdA, clientIdB, deadline, callers, leewayMs, toleranceMs }) {
  // eslint-disable-next-line global-require
  const m2m = require(root);
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const A = { tokenUrl: url, clientId: clientIdA, clientSecret: 's', leewaySeconds: leewayMs / 1000 };
  const B = { ...A, clientId: clientIdB, scope: 'read:soak' };
  const client = new m2m.TokenClient(A);
  const r = {
    calls: 0, ok: 0, errors: 0, errorCodes: {}, violations: 0, minMargin: Infinity, badTokens: 0,
    doubles: 0, syncCallbacks: 0, unhandled: 0, invalidates: 0, clears: 0, stuck: 0,
  };
  const onUnhandled = () => { r.unhandled++; };
  process.on('unhandledRejection', onUnhandled);

  const check = (token) => {
    const m = /^exp-(\d+)-\d+$/.exec(token);
    if (!m) { r.badTokens++; return; }
    const margin = Number(m[1]) - Date.now();
    if (margin < r.minMargin) r.minMargin = margin;
    if (margin <= leewayMs - toleranceMs) r.violations++;
  };
  const viaCallback = (start) => new Promise((resolve) => {
    let n = 0;
    let returned = false;
    start((err, value) => {
      n++;
      if (!returned) r.syncCallbacks++;
      if (n > 1) { r.doubles++; return; }
      resolve(err ? { err } : { value });
    });
    returned = true;
  });
  const asResult = (p) => p.then((value) => ({ value }), (err) => ({ err }));
  const tokenOf = (res) => (res.value && typeof res.value === 'object' ? res.value.accessToken : res.value);

  let pending = 0;
  async function caller(i) {
    let k = i;
    while (Date.now() < deadline) {
      const o = k % 3 === 0 ? B : A;
      r.calls++;
      pending++;
      let res;
      switch (k % 6) {
        case 0: res = await asResult(m2m.getToken(o)); break;
        case 1: res = await asResult(m2m.getTokenInfo({ ...o })); break;
        case 2: res = await viaCallback((cb) => m2m.getToken(o, cb)); break;
        case 3: res = await viaCallback((cb) => m2m.getTokenInfo(o, cb)); break;
        case 4: res = await asResult(client.getToken()); break;
        default: res = await viaCallback((cb) => client.getTokenInfo(cb));
      }
      pending--;
      if (res.err) {
        r.errors++;
        const code = (res.err && res.err.code) || String(res.err);
        r.errorCodes[code] = (r.errorCodes[code] || 0) + 1;
      } else {
        r.ok++;
        check(tokenOf(res));
      }
      k++;
      await pause(Math.random() * 10); // yields to timers and I/O (the token server may be on this thread)
    }
  }
  // Entry A is dropped often; B only by clearCache, so B's tokens live long
  // enough for refresh ahead (90 % of the 1 s usable lifetime) to happen.
  async function invalidator() {
    for (;;) {
      await pause(300 + Math.random() * 1200);
      if (Date.now() >= deadline) break;
      const x = Math.random();
      if (x < 0.1) { m2m.clearCache(); r.clears++; } else if (x < 0.4) { m2m.invalidate(A); r.invalidates++; } else if (x < 0.6) { client.invalidate(); r.invalidates++; }
    }
  }
  const all = Promise.all([...Array.from({ length: callers }, (_, i) => caller(i)), invalidator()]);
  let watchdog;
  const settled = await Promise.race([
    all.then(() => true),
    new Promise((resolve) => { watchdog = setTimeout(() => resolve(false), deadline - Date.now() + 10000); }),
  ]);
  clearTimeout(watchdog);
  if (!settled) r.stuck = pending;
  await pause(100); // late second callbacks would show up here
  process.off('unhandledRejection', onUnhandled);
  return r;
}

test('soak: main thread + 3 workers, 50 callers each, 2 s tokens, random invalidation', { timeout: 60000 }, () => withServer({
  expiresIn: 2,
  respond: (ctx) => ({ body: { access_token: `exp-${Date.now() + 2000}-${ctx.n}`, token_type: 'Bearer', expires_in: 2 } }),
}, async (server) => {
  m2m.clearCache();
  const t0 = Date.now();
  const config = {
    root: ROOT,
    url: server.url,
    clientIdA: uid('soak-a'),
    clientIdB: uid('soak-b'),
    deadline: t0 + RUN_MS,
    callers: CALLERS,
    leewayMs: LEEWAY_MS,
    toleranceMs: TOLERANCE_MS,
  };
  const before = m2m.stats();
  let unhandledMain = 0;
  const onUnhandled = () => { unhandledMain++; };
  process.on('unhandledRejection', onUnhandled);

  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const soakLoop = ${soakLoop.toString()};
    soakLoop(workerData).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ fatal: String(e && e.stack) }));
  `;
  const workerErrors = [];
  const workerResults = Array.from({ length: WORKERS }, () => {
    const w = new Worker(source, { eval: true, workerData: config });
    return new Promise((resolve) => {
      let result;
      w.on('message', (m) => { result = m; });
      w.on('error', (err) => workerErrors.push(err));
      w.on('exit', (code) => resolve({ result, code }));
    });
  });

  const mainResult = soakLoop(config);
  await sleep(Math.max(0, t0 + WARMUP_MS - Date.now()));
  const rssWarm = process.memoryUsage().rss;

  const main = await mainResult;
  const workers = await Promise.all(workerResults);
  const rssEnd = process.memoryUsage().rss;
  process.off('unhandledRejection', onUnhandled);
  const after = m2m.stats();

  assert.deepEqual(workerErrors, [], 'worker errors');
  for (const [i, w] of workers.entries()) {
    assert.equal(w.code, 0, `worker ${i} exit code`);
    assert.ok(w.result && !w.result.fatal, `worker ${i}: ${w.result && w.result.fatal}`);
  }
  const results = [main, ...workers.map((w) => w.result)];
  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  const minMargin = Math.min(...results.map((r) => r.minMargin));
  const summary = {
    seconds: ((Date.now() - t0) / 1000).toFixed(1),
    calls: sum('calls'),
    callsPerThread: results.map((r) => r.calls),
    tokenRequests: server.count,
    invalidates: sum('invalidates'),
    clears: sum('clears'),
    minMarginMs: minMargin,
    violations: sum('violations'),
    errors: sum('errors'),
    doubles: sum('doubles'),
    unhandled: sum('unhandled') + unhandledMain,
    rssGrowthMiB: ((rssEnd - rssWarm) / 1048576).toFixed(1),
    stats: Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])),
  };
  console.log('soak', JSON.stringify(summary));

  for (const [i, r] of results.entries()) {
    const who = i === 0 ? 'main thread' : `worker ${i}`;
    assert.ok(r.calls > 500, `${who}: only ${r.calls} calls`);
    assert.equal(r.stuck, 0, `${who}: ${r.stuck} calls never settled`);
    assert.equal(r.badTokens, 0, `${who}: tokens not from the server`);
    assert.equal(r.violations, 0, `${who}: ${r.violations} tokens handed out within the leeway (min margin ${r.minMargin} ms)`);
    assert.equal(r.errors, 0, `${who}: errors ${JSON.stringify(r.errorCodes)}`);
    assert.equal(r.doubles, 0, `${who}: double callbacks`);
    assert.equal(r.syncCallbacks, 0, `${who}: synchronous callbacks`);
    assert.equal(r.unhandled, 0, `${who}: unhandled rejections`);
    assert.ok(r.invalidates + r.clears >= 3, `${who}: invalidation happened`);
  }
  assert.equal(unhandledMain, 0, 'unhandled rejections (main process handler)');
  assert.ok(server.count > 20, `tokens were refreshed and refetched (${server.count} requests)`);
  assert.ok(minMargin > LEEWAY_MS - TOLERANCE_MS, `min margin ${minMargin} ms`);
  assert.ok(summary.stats.refreshes > 0, 'refresh ahead happened during the soak');
  const d = summary.stats;
  assert.equal(d.hits + d.misses + d.errors, summary.calls, 'stats: hits + misses + errors = calls');
  assert.equal(d.requests, server.count, 'stats: requests = requests the server received');
  assert.ok(rssEnd - rssWarm < RSS_BOUND, `RSS grew ${summary.rssGrowthMiB} MiB after warm-up`);
}));

'use strict';

// Never hang: a process that keeps starting flights on four threads while
// other processes invalidate the same entry through the shared store.
// Every remote invalidation is delivered on a runtime thread of the first
// process, against its callers; a lock-order inversion there stops a
// thread for good. A process that does not finish by itself, or a main
// thread whose timers stop for seconds, fails the test (a watchdog kills
// what is left), instead of stalling the suite.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startTokenServer, uid } = require('./helpers/token-server');
const { startRedis } = require('./helpers/redis-server');
const { runNode, childEnv } = require('./helpers/child');

const child = path.join(__dirname, 'fixtures-scripts', 'remote-invalidation-child.js');
const STRESS_SECONDS = 8;
const INVALIDATORS = 4;
const WATCHDOG_MS = (STRESS_SECONDS + 15) * 1000;
const MAX_TIMER_GAP_MS = 3000;

async function run(role, options) {
  const r = await runNode([child, role, JSON.stringify(options), String(STRESS_SECONDS)],
    { env: childEnv(), timeoutMs: WATCHDOG_MS, killSignal: 'SIGKILL' });
  return { role, hung: r.killed, code: r.code, stdout: r.stdout, stderr: r.stderr };
}

async function stress(store) {
  const server = await startTokenServer();
  try {
    const options = { tokenUrl: server.url, clientId: uid('never-hang'), clientSecret: 'never-hang-secret', store };
    const results = await Promise.all([
      run('victim', options),
      ...Array.from({ length: INVALIDATORS }, () => run('invalidator', options)),
    ]);
    for (const r of results) {
      assert.ok(!r.hung, `the ${r.role} process hung (killed after ${WATCHDOG_MS} ms); stderr:\n${r.stderr}`);
      assert.equal(r.code, 0, `the ${r.role} process failed:\n${r.stderr}`);
    }
    const victim = JSON.parse(results[0].stdout);
    assert.equal(victim.loops.length, 4, 'the main thread and all three workers finished their loops');
    for (const n of victim.loops) assert.ok(n > 0, `a thread made no call: ${victim.loops}`);
    assert.ok(victim.maxTimerGapMs < MAX_TIMER_GAP_MS,
      `the main thread stopped for ${Math.round(victim.maxTimerGapMs)} ms`);
    for (const r of results.slice(1)) assert.ok(JSON.parse(r.stdout).loops > 0);
    return { victim, requests: server.count };
  } finally {
    await server.close();
  }
}

test('remote invalidations through Redis never stop a process starting flights on four threads', { timeout: WATCHDOG_MS + 10000 }, async () => {
  const redis = await startRedis();
  try {
    await stress(redis.url());
  } finally {
    await redis.close();
  }
});

test('remote invalidations through a file store never stop a process starting flights on four threads', { timeout: WATCHDOG_MS + 10000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-never-hang-'));
  try {
    await stress(`file:${path.join(root, 'store')}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

'use strict';

// A store is never a dependency: unreachable, hanging, killed or unwritable,
// calls still succeed as with 'memory', each delayed by at most 500 ms, the
// failures are counted in storeErrors, and the store is used again once it
// is back, without restarting the process.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startTokenServer } = require('./helpers/token-server');
const { storeOptions } = require('./helpers/options');
const { startRedis, startBlackhole, freePort } = require('./helpers/redis-server');
const { withFleet, runExitChild, tokensOf, slowestCall } = require('./helpers/fleet');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };
// The token server answers at once, so a call's time is the store's delay;
// the contract allows 500 ms, the rest is margin for a loaded machine.
const CALL_BOUND_MS = 500 + 300;
const EXIT_BOUND_MS = 2000;
const RECOVERY_DEADLINE_MS = 5000;

const optionsFor = storeOptions('resilience');

/** Each process gets its own token, as with 'memory', quickly, and counts store errors. */
async function assertAsMemory(server, fleet, options) {
  const results = await fleet.all('info', { options, n: 4 });
  assert.equal(tokensOf(results).length, fleet.length, 'every call succeeded; each process fetched its own token');
  assert.equal(server.count, fleet.length);
  assert.ok(slowestCall(results) < CALL_BOUND_MS, `the slowest call took ${slowestCall(results)} ms`);
  for (const r of results) {
    assert.equal(r.stats.storeHits, 0);
    assert.ok(r.stats.storeErrors >= 1, `store errors counted (stats ${JSON.stringify(r.stats)})`);
  }
  for (const p of fleet) {
    const inv = await p.call('invalidate', { options });
    assert.equal(inv.value, true);
    assert.ok(inv.ms < CALL_BOUND_MS, `invalidate took ${inv.ms} ms`);
  }
}

test('Redis unreachable (nothing listens on the port): calls go on as with memory', limits, () =>
  withFleet({ processes: 2 }, async ({ server, fleet }) => {
    const port = await freePort();
    await assertAsMemory(server, fleet, optionsFor(server, `redis://127.0.0.1:${port}`));
  }));

test('Redis that accepts connections and never answers: calls go on as with memory', limits, () =>
  withFleet({ processes: 2 }, async ({ server, fleet }) => {
    const blackhole = await startBlackhole();
    try {
      await assertAsMemory(server, fleet, optionsFor(server, blackhole.url()));
      assert.ok(blackhole.connections >= 1, 'the store did try the server');
    } finally {
      await blackhole.close();
    }
  }));

/**
 * Gets a token in `p` after dropping its memory copy, until the store holds
 * a record (checked by `stored()`); resolves with that token. The store is
 * allowed a moment to reconnect, not a restart.
 */
async function fetchUntilStored(p, options, stored) {
  const deadline = Date.now() + RECOVERY_DEADLINE_MS;
  for (;;) {
    await p.call('clearCache');
    const r = await p.call('info', { options });
    const [token] = tokensOf(r);
    if (await stored()) return token;
    if (Date.now() > deadline) assert.fail(`the store was not used again within ${RECOVERY_DEADLINE_MS} ms (stats ${JSON.stringify(r.stats)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('Redis killed mid-run: calls go on as with memory; restarted on the same port, the store is used again', limits, async () => {
  const redis = await startRedis();
  try {
    await withFleet({ processes: 2 }, async ({ server, fleet }) => {
      const [p1, p2] = fleet;
      const options = optionsFor(server, redis.url());
      tokensOf(await p1.call('info', { options }));
      assert.ok(Number(await redis.cli(['DBSIZE'])) >= 1, 'stored while Redis was up');

      await redis.kill();
      const during = await p2.call('info', { options, n: 3 });
      assert.deepEqual(tokensOf(during), [server.issued[1]], 'p2 fetched its own token');
      assert.ok(slowestCall(during) < CALL_BOUND_MS, `the slowest call took ${slowestCall(during)} ms`);
      assert.ok(during.stats.storeErrors >= 1);
      const inv = await p1.call('invalidate', { options }); // its connection is broken now
      assert.equal(inv.value, true);
      assert.ok(inv.ms < CALL_BOUND_MS, `invalidate took ${inv.ms} ms`);
      const again = await p1.call('info', { options });
      assert.deepEqual(tokensOf(again), [server.issued[2]]);
      assert.ok(slowestCall(again) < CALL_BOUND_MS, `the call took ${slowestCall(again)} ms`);

      await redis.restart(); // same port, empty
      const stored = await fetchUntilStored(p1, options, async () => Number(await redis.cli(['DBSIZE'])) >= 1);
      const requestsBefore = server.count;
      await p2.call('clearCache');
      const back = await p2.call('info', { options });
      assert.deepEqual(tokensOf(back), [stored], 'p2 took the token p1 stored after the restart');
      assert.equal(server.count, requestsBefore, 'with no request');
      assert.equal(back.stats.storeHits, 1);
    });
  } finally {
    await redis.close();
  }
});

test('a file store that cannot be written: calls go on as with memory; once writable, it is used again', limits, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-file-resilience-'));
  // A path under a regular file cannot be created, even by root.
  const blocker = path.join(root, 'afile');
  fs.writeFileSync(blocker, 'not a directory');
  const dir = path.join(blocker, 'sub');
  try {
    await withFleet({ processes: 2 }, async ({ server, fleet }) => {
      const options = optionsFor(server, `file:${dir}`);
      await assertAsMemory(server, fleet, options);

      fs.rmSync(blocker);
      fs.mkdirSync(blocker, { mode: 0o700 });
      const [p1, p2] = fleet;
      const stored = await fetchUntilStored(p1, options, async () => fs.existsSync(dir) && fs.readdirSync(dir).length >= 1);
      const requestsBefore = server.count;
      await p2.call('clearCache');
      const back = await p2.call('info', { options });
      assert.deepEqual(tokensOf(back), [stored], 'p2 took the token p1 stored');
      assert.equal(server.count, requestsBefore);
      assert.equal(back.stats.storeHits, 1);
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a script whose Redis never answers still exits by itself right after its token', limits, async () => {
  const server = await startTokenServer();
  const blackhole = await startBlackhole();
  try {
    const r = await runExitChild(optionsFor(server, blackhole.url()));
    assert.equal(r.killed, false, 'the child hung');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.token, server.issued[0]);
    assert.ok(r.msAfterToken < EXIT_BOUND_MS, `exited ${r.msAfterToken} ms after its token`);
  } finally {
    await blackhole.close();
    await server.close();
  }
});

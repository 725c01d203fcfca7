'use strict';

// The Redis Cluster store (`store: 'redis+cluster://host:port,…'`) against a
// real 3-master cluster: fleet single flight, every key of an entry in one
// hash slot, invalidation across processes; and `rediss+cluster://` against
// a cluster that speaks TLS only, trusted through `ca` or not at all.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startTokenServer } = require('./helpers/token-server');
const { storeOptions } = require('./helpers/options');
const { startRedisCluster } = require('./helpers/redis-server');
const { forkFleet, forkChild, tokensOf } = require('./helpers/fleet');
const { ca } = require('./helpers/tls-fixtures');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };
const INVALIDATION_BOUND_MS = 1000 + 300; // "within a second", plus IPC and scheduling
const STORE_BOUND_MS = 500 + 250; // a failing store delays a call 500 ms at most, plus the request and scheduling

let cluster;
before(async () => { cluster = await startRedisCluster(); });
after(async () => { if (cluster) await cluster.stop(); });

const storeOptionsFor = storeOptions('cluster');
/** Options for the shared cluster (`extra.store` may name another). */
const optionsFor = (server, extra) => storeOptionsFor(server, cluster.url(), extra);

/** Every key on every master of `c` (each node scans only its own slots). */
async function allKeys(c) {
  const perNode = await Promise.all(c.ports.map((port) => c.cli(port, ['--scan'])));
  return perNode.flatMap((out) => out.split('\n').filter((k) => k.length > 0));
}

const slotOf = async (c, key) => Number(await c.cli(c.ports[0], ['CLUSTER', 'KEYSLOT', key]));

/**
 * 4 forked processes × 5 cold callers of one entry on cluster `c`: one token
 * request for the fleet, and every key the entry has in flight and after
 * lives in one hash slot; a process started later takes the token from the store.
 */
async function fleetShareOneRequest(c, extraOptions) {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let firstArrived;
  const arrived = new Promise((resolve) => { firstArrived = resolve; });
  // The first request is held until the test has looked at the keys in flight (the fleet lock).
  const server = await startTokenServer({ respond: async (ctx) => { if (ctx.n === 1) { firstArrived(); await gate; } } });
  const fleet = await forkFleet(4);
  try {
    assert.deepEqual(await allKeys(c), [], 'the cluster starts empty');
    const options = optionsFor(server, extraOptions);
    const calls = fleet.all('info', { options, n: 5 });
    await Promise.race([arrived, calls]); // (calls settle first only when none reached the server)
    const inFlight = await allKeys(c);
    release();
    const results = await calls;
    const afterwards = await allKeys(c);

    assert.equal(server.count, 1, `one token request for the fleet (stats ${JSON.stringify(results.map((r) => r.stats))})`);
    assert.deepEqual(tokensOf(results), [server.issued[0]]);
    for (const r of results) assert.equal(r.stats.storeErrors, 0, `no store errors (stats ${JSON.stringify(r.stats)})`);
    assert.ok(inFlight.length >= 1, 'a fleet lock key exists while the request is in flight');
    assert.ok(afterwards.length >= 1, 'the record is stored');
    const keys = [...new Set([...inFlight, ...afterwards])];
    const slots = new Set(await Promise.all(keys.map((key) => slotOf(c, key))));
    assert.equal(slots.size, 1, `the entry's keys ${JSON.stringify(keys)} span slots ${[...slots]}`);

    const late = await forkChild();
    try {
      const r = await late.call('info', { options });
      assert.deepEqual(tokensOf(r), [server.issued[0]]);
      assert.equal(r.stats.storeHits, 1);
      assert.equal(r.stats.requests, 0);
    } finally {
      await late.kill();
    }
  } finally {
    release();
    await fleet.close();
    await server.close();
  }
}

test('4 processes × 5 cold callers: one token request; every key of the entry lives in one hash slot', limits, () =>
  fleetShareOneRequest(cluster));

/**
 * invalidate() in one of 3 processes on cluster `c` removes the record, and
 * the other two (told over pub/sub) drop the token within a second.
 */
async function invalidationReachesFleet(c, extraOptions) {
  const server = await startTokenServer();
  const fleet = await forkFleet(3);
  try {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server, extraOptions);
    const first = tokensOf(await p1.call('info', { options }));
    assert.deepEqual(tokensOf(await p2.call('info', { options })), first);
    assert.deepEqual(tokensOf(await p3.call('info', { options })), first);

    assert.equal((await p1.call('invalidate', { options })).value, true);
    const started = Date.now();
    const polls = await Promise.all([p2, p3].map((p) =>
      p.call('pollUntilChange', { options, from: first[0], intervalMs: 20, timeoutMs: 3000 })));
    const ms = Date.now() - started;
    assert.ok(polls.every((p) => p.changed), 'both dropped the invalidated token (they kept handing it out for 3 s)');
    assert.ok(ms < INVALIDATION_BOUND_MS, `they dropped it within ${ms} ms`);
    assert.equal(server.count, 2, 'one new token for the fleet: the record was gone');
    for (const p of polls) assert.equal(p.last.value.accessToken, server.issued[1]);
  } finally {
    await fleet.close();
    await server.close();
  }
}

test('invalidate() in one process removes the record; the others drop the token within a second', limits, () =>
  invalidationReachesFleet(cluster));

describe('rediss+cluster:// (a Redis Cluster over TLS)', () => {
  let tlsCluster;
  before(async () => { tlsCluster = await startRedisCluster({ tls: true }); });
  after(async () => { if (tlsCluster) await tlsCluster.stop(); });

  test('trusting the test CA through `ca`: 4 processes × 5 cold callers, one token request, the entry in one slot', limits, () =>
    fleetShareOneRequest(tlsCluster, { store: tlsCluster.tlsUrl(), ca }));

  test('trusting the test CA through `ca`: invalidate() in one process reaches the others within a second', limits, () =>
    invalidationReachesFleet(tlsCluster, { store: tlsCluster.tlsUrl(), ca }));

  test('without the CA trusted: the store is not used (store errors counted) and every call still succeeds', limits, async () => {
    const server = await startTokenServer();
    const fleet = await forkFleet(2);
    try {
      const options = optionsFor(server, { store: tlsCluster.tlsUrl() });
      const keysBefore = await allKeys(tlsCluster);
      const results = [];
      for (const p of fleet) results.push(await p.call('info', { options, n: 3 }));
      assert.equal(tokensOf(results).length, 2, 'each process fetched a token of its own');
      assert.equal(server.count, 2);
      for (const r of results) {
        assert.equal(r.stats.storeHits, 0);
        assert.ok(r.stats.storeErrors >= 1, `the untrusted certificate counted as a store error (stats ${JSON.stringify(r.stats)})`);
        for (const call of r.calls) assert.ok(call.ms < STORE_BOUND_MS, `a call took ${Math.round(call.ms)} ms with the store failing its handshake`);
      }
      assert.deepEqual((await allKeys(tlsCluster)).sort(), keysBefore.sort(), 'nothing was written to the cluster');
    } finally {
      await fleet.close();
      await server.close();
    }
  });
});


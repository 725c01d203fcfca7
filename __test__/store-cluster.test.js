'use strict';

// The Redis Cluster store (`store: 'redis+cluster://host:port,…'`) against a
// real 3-master cluster: fleet single flight, every key of an entry in one
// hash slot, invalidation across processes.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { startTokenServer, uid } = require('./helpers/token-server');
const { startRedisCluster } = require('./helpers/redis-server');
const { forkFleet, forkChild, tokensOf } = require('./helpers/fleet');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };
const INVALIDATION_BOUND_MS = 1000 + 300; // "within a second", plus IPC and scheduling

let cluster;
before(async () => { cluster = await startRedisCluster(); });
after(async () => { if (cluster) await cluster.stop(); });

const optionsFor = (server, extra = {}) => ({
  tokenUrl: server.url, clientId: uid('cluster-client'), clientSecret: `cluster-secret-${crypto.randomBytes(8).toString('hex')}`,
  store: cluster.url(), ...extra,
});

/** Every key on every master (each node scans only its own slots). */
async function allKeys() {
  const perNode = await Promise.all(cluster.ports.map((port) => cluster.cli(port, ['--scan'])));
  return perNode.flatMap((out) => out.split('\n').filter((k) => k.length > 0));
}

const slotOf = async (key) => Number(await cluster.cli(cluster.ports[0], ['CLUSTER', 'KEYSLOT', key]));

test('4 processes × 5 cold callers: one token request; every key of the entry lives in one hash slot', limits, async () => {
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let firstArrived;
  const arrived = new Promise((resolve) => { firstArrived = resolve; });
  // The first request is held until the test has looked at the keys in flight (the fleet lock).
  const server = await startTokenServer({ respond: async (ctx) => { if (ctx.n === 1) { firstArrived(); await gate; } } });
  const fleet = await forkFleet(4);
  try {
    assert.deepEqual(await allKeys(), [], 'the cluster starts empty');
    const options = optionsFor(server);
    const calls = fleet.all('info', { options, n: 5 });
    await Promise.race([arrived, calls]); // (calls settle first only when none reached the server)
    const inFlight = await allKeys();
    release();
    const results = await calls;
    const afterwards = await allKeys();

    assert.equal(server.count, 1, 'one token request for the fleet');
    assert.deepEqual(tokensOf(results), [server.issued[0]]);
    assert.ok(inFlight.length >= 1, 'a fleet lock key exists while the request is in flight');
    assert.ok(afterwards.length >= 1, 'the record is stored');
    const keys = [...new Set([...inFlight, ...afterwards])];
    const slots = new Set(await Promise.all(keys.map(slotOf)));
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
});

test('invalidate() in one process removes the record; the others drop the token within a second', limits, async () => {
  const server = await startTokenServer();
  const fleet = await forkFleet(3);
  try {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server);
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
});

'use strict';

// The Redis Sentinel store (`store: 'redis+sentinel://s1,s2,s3/<master>'`)
// through a real failover: a master, a replica and three Sentinels; the
// master is killed with SIGKILL while a fleet of 4 processes keeps calling.
// During the failover no call fails and none waits past the store's bound;
// once the Sentinels name the new master, the same processes (no restart)
// share one token request per entry again, and invalidation reaches all of
// them. The test prints the failover's timeline. And `rediss+sentinel://`
// against Sentinels and a master that speak TLS only, with a password.

const { test, describe, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { startTokenServer, uid } = require('./helpers/token-server');
const { startRedisSentinel } = require('./helpers/redis-server');
const { forkFleet, tokensOf } = require('./helpers/fleet');
const { ca } = require('./helpers/tls-fixtures');

// Starting the topology takes ~5 s (Sentinels find each other every 2 s),
// the failover a few more: a hang still fails the test, not the run.
const limits = { timeout: 60000 };
// The token server answers at once, so a call's time is the store's delay;
// the contract allows 500 ms, the rest is margin for a loaded machine.
const CALL_BOUND_MS = 500 + 300;
const INVALIDATION_BOUND_MS = 1000 + 300; // "within a second", plus IPC and scheduling
// Sentinels notice the death after down-after-milliseconds (1 s here),
// then elect a leader and promote the replica.
const FAILOVER_DEADLINE_MS = 20000;
// "Longer than usual" in the timeline: a cold call with a healthy store takes a few ms.
const SLOW_CALL_MS = 50;

let sentinel;
let server;
let fleet;
before(async () => {
  [sentinel, server, fleet] = await Promise.all([startRedisSentinel(), startTokenServer(), forkFleet(4)]);
});
after(async () => {
  if (fleet) await fleet.close();
  if (server) await server.close();
  if (sentinel) await sentinel.stop();
});

const freshOptions = () => ({
  tokenUrl: server.url, clientId: uid('sentinel-client'), clientSecret: `sentinel-secret-${crypto.randomBytes(8).toString('hex')}`,
  store: sentinel.url(),
});
const requestsFor = (options) => server.requests.filter((r) => r.form.client_id === options.clientId).length;
const storeErrors = async () => (await fleet.all('stats')).reduce((sum, s) => sum + s.storeErrors, 0);
const dbSize = async (port) => Number(await sentinel.cli(port, ['DBSIZE']));
/** Connections on the node at `port` with a pattern subscription (each process has one). */
const patternSubscribers = async (port) =>
  (await sentinel.cli(port, ['CLIENT', 'LIST'])).split('\n').filter((line) => / psub=[1-9]/.test(line)).length;
/** `4 4 4 1 1` as `4×3 1×2`. */
const runs = (values) => values.reduce((acc, v) => {
  const lastRun = acc[acc.length - 1];
  if (lastRun && lastRun.v === v) lastRun.n++;
  else acc.push({ v, n: 1 });
  return acc;
}, []).map(({ v, n }) => `${v}×${n}`).join(' ');

/** 4 processes × `n` cold callers of a new entry: the results and the entry's token requests. */
async function round(n) {
  const options = freshOptions();
  const results = await fleet.all('info', { options, n });
  return { options, results, requests: requestsFor(options) };
}

test('a master killed with SIGKILL: calls go on during the failover, then the fleet shares the new master, with no restart', limits, async () => {
  const pids = fleet.map((p) => p.pid);

  // Before: one request for the fleet, the record on the master.
  const firstMaster = await sentinel.masterPort();
  const initial = await round(5);
  assert.equal(tokensOf(initial.results).length, 1, 'every caller got the same token');
  assert.equal(initial.requests, 1, 'one token request for 4 processes × 5 callers');
  assert.ok(await dbSize(firstMaster) >= 1, 'the record is on the master');
  const errorsBefore = await storeErrors();

  // Kill the master; keep calling (rounds of new entries, so every call
  // needs the store) until the Sentinels named a new master and a round
  // shared one request again, then a few rounds more.
  const killedAt = Date.now();
  await sentinel.killMaster();
  let namedAt;
  let newMaster;
  const watching = (async () => {
    while (!namedAt && Date.now() - killedAt < FAILOVER_DEADLINE_MS) {
      const port = await sentinel.masterPort();
      if (port !== undefined && port !== firstMaster) { namedAt = Date.now(); newMaster = port; return; }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  const rounds = [];
  let storeBackAt;
  let roundsAfter = 0;
  while (roundsAfter < 3) {
    assert.ok(Date.now() - killedAt < FAILOVER_DEADLINE_MS,
      `the store was not used again within ${FAILOVER_DEADLINE_MS} ms (Sentinels named ${newMaster ?? 'nothing new'})`);
    const startedAt = Date.now();
    const r = await round(2);
    rounds.push({ ...r, startedAt });
    if (storeBackAt) roundsAfter++;
    else if (namedAt && r.requests === 1) storeBackAt = Date.now();
  }
  await watching;

  const calls = rounds.flatMap((r) => r.results.flatMap((res, i) =>
    res.calls.map((c) => ({ process: i, atMs: r.startedAt - killedAt, ms: Math.round(c.ms), error: c.error }))));
  const slow = calls.filter((c) => c.ms > SLOW_CALL_MS);
  const storeErrorsDuring = (await storeErrors()) - errorsBefore;
  const numpatDeadline = Date.now() + 3000;
  let subscribers = 0;
  while (subscribers < fleet.length && Date.now() < numpatDeadline) {
    subscribers = await patternSubscribers(newMaster);
    if (subscribers < fleet.length) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const subscribedAt = Date.now();
  const timeline = [
    `master 127.0.0.1:${firstMaster} killed (SIGKILL) at t=0`,
    `Sentinels named 127.0.0.1:${newMaster} at t=${namedAt - killedAt} ms`,
    `store used again (a round of 4 processes × 2 callers with one token request) at t=${storeBackAt - killedAt} ms`,
    `all 4 subscriptions on the new master by t=${subscribedAt - killedAt} ms (checked after the rounds)`,
    `${rounds.length} rounds, ${calls.length} calls, slowest ${Math.max(...calls.map((c) => c.ms))} ms, ${storeErrorsDuring} store errors counted`,
    `calls over ${SLOW_CALL_MS} ms: ${slow.length ? slow.map((c) => `${c.ms} ms at t=${c.atMs} (process ${c.process})`).join(', ') : 'none'}`,
    `token requests per round (value×rounds): ${runs(rounds.map((r) => r.requests))}`,
  ];
  console.log(`failover timeline:\n  ${timeline.join('\n  ')}`);

  assert.ok(namedAt, 'the Sentinels named a new master');
  assert.deepEqual(calls.filter((c) => c.error), [], 'no call failed during the failover');
  assert.ok(calls.every((c) => c.ms < CALL_BOUND_MS), `a call waited past the bound: ${slow.map((c) => c.ms).join(', ')} ms`);
  assert.ok(storeErrorsDuring >= 1, 'the dead master was noticed (store errors counted), so calls did go on without it');
  assert.equal(subscribers, fleet.length, 'every process subscribed on the new master');

  // After: a new entry is fetched once for the fleet, stored on the new master.
  const keysBefore = await dbSize(newMaster);
  const later = await round(5);
  const [token] = tokensOf(later.results);
  assert.equal(tokensOf(later.results).length, 1);
  assert.equal(later.requests, 1, 'one token request for 4 processes × 5 callers on the new master');
  assert.ok(await dbSize(newMaster) > keysBefore, 'the record is on the new master');

  // Invalidation reaches every other process again.
  const [p1, ...others] = fleet;
  assert.equal((await p1.call('invalidate', { options: later.options })).value, true);
  const started = Date.now();
  const polls = await Promise.all(others.map((p) =>
    p.call('pollUntilChange', { options: later.options, from: token, intervalMs: 20, timeoutMs: 3000 })));
  const ms = Date.now() - started;
  assert.ok(polls.every((p) => p.changed), 'every process dropped the invalidated token (they kept handing it out for 3 s)');
  assert.ok(ms < INVALIDATION_BOUND_MS, `they dropped it within ${ms} ms`);
  assert.equal(requestsFor(later.options), 2, 'one new token for the fleet after the invalidation');

  assert.deepEqual(fleet.map((p) => p.pid), pids, 'the same processes throughout');
});

describe('rediss+sentinel:// (Sentinels and a master over TLS, the master with a password)', () => {
  let tlsSentinel;
  before(async () => { tlsSentinel = await startRedisSentinel({ tls: true, password: `sentinel-pw-${crypto.randomBytes(6).toString('hex')}` }); });
  after(async () => { if (tlsSentinel) await tlsSentinel.stop(); });

  const tlsOptions = (extra) => ({ ...freshOptions(), store: tlsSentinel.url(), ...extra });

  test('trusting the test CA through `ca`: one token request for the fleet, stored on the master; invalidation reaches every process', limits, async () => {
    // A process's first TLS lookup (three handshakes, and loading the
    // system's roots for the bundle) may outlast the first call's store
    // budget on a loaded machine; that call then goes on as with 'memory'.
    // Rounds of new entries until the fleet shares one request, bounded.
    const deadline = Date.now() + 5000;
    const warmUp = [];
    for (;;) {
      const warm = tlsOptions({ ca });
      const r = await fleet.all('info', { options: warm, n: 1 });
      tokensOf(r); // throws if a call failed
      warmUp.push(requestsFor(warm));
      if (warmUp[warmUp.length - 1] === 1) break;
      assert.ok(Date.now() < deadline, `the TLS store was never shared (requests per round: ${warmUp.join(' ')})`);
    }
    console.log(`rediss+sentinel: token requests per warm-up round (value×rounds): ${runs(warmUp)}`);
    const options = tlsOptions({ ca });
    const results = await fleet.all('info', { options, n: 5 });
    const [token] = tokensOf(results);
    assert.equal(tokensOf(results).length, 1, 'every caller got the same token');
    assert.equal(requestsFor(options), 1, 'one token request for 4 processes × 5 callers');
    const master = await tlsSentinel.masterPort();
    assert.ok(Number(await tlsSentinel.cli(master, ['DBSIZE'])) >= 1, 'the record is on the master');

    const [p1, ...others] = fleet;
    assert.equal((await p1.call('invalidate', { options })).value, true);
    const started = Date.now();
    const polls = await Promise.all(others.map((p) =>
      p.call('pollUntilChange', { options, from: token, intervalMs: 20, timeoutMs: 3000 })));
    const ms = Date.now() - started;
    assert.ok(polls.every((p) => p.changed), 'every process dropped the invalidated token');
    assert.ok(ms < INVALIDATION_BOUND_MS, `they dropped it within ${ms} ms`);
    assert.equal(requestsFor(options), 2);
  });

  test('without `ca` the certificates are not trusted: calls go on as with memory, nothing is stored', limits, async () => {
    const master = await tlsSentinel.masterPort();
    const keysBefore = Number(await tlsSentinel.cli(master, ['DBSIZE']));
    const errorsBefore = await storeErrors();
    const options = tlsOptions();
    const results = await fleet.all('info', { options, n: 2 });
    assert.equal(tokensOf(results).length, fleet.length, 'each process fetched its own token');
    assert.equal(requestsFor(options), fleet.length);
    assert.ok(results.every((r) => r.calls.every((c) => c.ms < CALL_BOUND_MS)), 'no call waited past the bound');
    assert.ok(await storeErrors() > errorsBefore, 'the untrusted store was counted in storeErrors');
    assert.equal(Number(await tlsSentinel.cli(master, ['DBSIZE'])), keysBefore, 'nothing was stored');
  });
});

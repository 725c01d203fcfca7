'use strict';

// The Redis store (`store: 'redis://…'`, `'rediss://…'`): one token request per
// entry for a fleet of real processes, refresh ahead and invalidation
// coordinated across them, takeover when the requesting process dies,
// credentials and db index from the URL, TLS, one connection per process.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startTokenServer, uid, expiringIn } = require('./helpers/token-server');
const { storeOptions, hex } = require('./helpers/options');
const { startRedis, tlsFiles } = require('./helpers/redis-server');
const { ca } = require('./helpers/tls-fixtures');
const { forkChild, withFleet, runExitChild, tokensOf } = require('./helpers/fleet');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };
const INVALIDATION_BOUND_MS = 1000 + 300; // "within a second", plus IPC and scheduling
const EXIT_BOUND_MS = 2000;


let redis; // one plain server for the tests that need nothing special; each test uses its own client ids
before(async () => { redis = await startRedis(); });
after(async () => { if (redis) await redis.close(); });

const optionsFor = storeOptions('redis');

test('6 processes × 5 cold callers at once: one token request; a later process takes it from the store', limits, () =>
  withFleet({ processes: 6, server: { delayMs: 400 } }, async ({ server, fleet }) => {
    const options = optionsFor(server, redis.url());
    const results = await fleet.all('info', { options, n: 5 });
    assert.equal(server.count, 1, 'one token request for the fleet');
    assert.deepEqual(tokensOf(results), [server.issued[0]]);
    assert.equal(results.filter((r) => r.stats.requests > 0).length, 1, 'exactly one process sent the request');
    for (const r of results.filter((x) => x.stats.requests === 0)) {
      assert.ok(r.stats.storeHits >= 1, `a waiting process took the token from the store (stats ${JSON.stringify(r.stats)})`);
      assert.equal(r.stats.storeErrors, 0);
    }

    const late = await forkChild();
    try {
      const r = await late.call('info', { options });
      assert.deepEqual(tokensOf(r), [server.issued[0]]);
      assert.equal(r.stats.requests, 0);
      assert.equal(r.stats.storeHits, 1);
    } finally {
      await late.kill();
    }
  }));

test('refresh ahead is done once for the fleet, over two lifetimes; the others adopt and never wait', limits, () =>
  // Tokens live 3 s with a 1 s leeway: usable 2 s, refresh ahead from 1.8 s.
  withFleet({ processes: 4, server: { expiresIn: 3 } }, async ({ server, fleet }) => {
    const options = optionsFor(server, redis.url(), { leewaySeconds: 1 });
    const first = await fleet.all('info', { options });
    assert.deepEqual(tokensOf(first), [server.issued[0]]);

    for (const [from, to] of [[0, 1], [1, 2]]) {
      // Every process hits every 20 ms through the refresh point.
      const polls = await fleet.all('pollUntilChange', { options, from: server.issued[from], intervalMs: 20, timeoutMs: 4000 });
      for (const p of polls) {
        assert.ok(p.changed, 'the token was refreshed before the poll gave up');
        assert.equal(p.last.value.accessToken, server.issued[to], 'every process moved to the one refreshed token');
        assert.equal(p.last.value.fromCache, true, 'the caller did not wait on the refresh');
      }
      assert.equal(server.count, to + 1, `one refresh request for the fleet (lifetime ${to})`);
    }
    const stats = await fleet.all('stats');
    assert.equal(stats.reduce((n, s) => n + s.requests, 0), 3);
    for (const s of stats) {
      // Each process had three tokens: each one came either from its own request or from the store.
      assert.ok(s.requests + s.storeHits >= 3, `the others adopted from the store (stats ${JSON.stringify(s)})`);
    }
  }));

test('invalidate() in one process removes the record; the others drop the token within a second', limits, () =>
  withFleet({ processes: 3 }, async ({ server, fleet }) => {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server, redis.url());
    const first = tokensOf(await p1.call('info', { options }));
    assert.deepEqual(tokensOf(await p2.call('info', { options })), first, 'p2 took the same token');
    assert.deepEqual(tokensOf(await p3.call('info', { options })), first, 'p3 took the same token');

    const inv = await p1.call('invalidate', { options });
    assert.equal(inv.value, true);
    const started = Date.now();
    const [poll2, poll3] = await Promise.all([p2, p3].map((p) =>
      p.call('pollUntilChange', { options, from: first[0], intervalMs: 20, timeoutMs: 3000 })));
    const ms = Date.now() - started;
    assert.ok(poll2.changed && poll3.changed, 'both dropped the invalidated token (they kept handing it out for 3 s)');
    assert.ok(ms < INVALIDATION_BOUND_MS, `they dropped it within ${ms} ms`);
    // Had the record stayed, they would have taken the old token from it again.
    assert.equal(server.count, 2, 'one new token for the fleet: the record was gone, and the fleet single flight held');
    assert.equal(poll2.last.value.accessToken, server.issued[1]);
    assert.equal(poll3.last.value.accessToken, server.issued[1]);
  }));

test('invalidate() with a stale token keeps the newer record another process wrote (compare-and-delete)', limits, () =>
  withFleet({
    processes: 3,
    // The first token expires in 60 s, later ones in an hour: a caller with a
    // 100 s leeway cannot use the first one and fetches a newer one, while
    // the first process (leeway 10 s) keeps its own in memory.
    server: { respond: (ctx) => (ctx.n === 1 ? expiringIn(ctx, 60) : undefined) },
  }, async ({ server, fleet }) => {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server, redis.url(), { leewaySeconds: 10 });
    const stale = tokensOf(await p1.call('info', { options }));
    const newer = tokensOf(await p2.call('info', { options: { ...options, leewaySeconds: 100 } }));
    assert.notDeepEqual(newer, stale);
    assert.equal(server.count, 2);

    assert.equal((await p1.call('invalidate', { options })).value, true, 'p1 dropped its own entry');
    const r3 = await p3.call('info', { options });
    assert.deepEqual(tokensOf(r3), newer, 'the newer record is still in the store');
    assert.equal(r3.stats.requests, 0);
    assert.equal(server.count, 2);
  }));

test('user, password and db index come from the URL (ACL user, requirepass, percent-encoding)', limits, async () => {
  const adminPassword = `admin-pw-${hex()}`;
  const userPassword = `fleet/pw:${hex()}@x`; // needs percent-encoding in a URL
  const secured = await startRedis({ password: adminPassword, users: [{ name: 'fleet', password: userPassword }] });
  try {
    await withFleet({ processes: 4 }, async ({ server, fleet }) => {
      const asUser = optionsFor(server, `redis://fleet:${encodeURIComponent(userPassword)}@127.0.0.1:${secured.port}/3`);
      tokensOf(await fleet[0].call('info', { options: asUser }));
      assert.ok(Number(await secured.cli(['DBSIZE'], { db: 3 })) >= 1, 'the record is in db 3');
      assert.equal(Number(await secured.cli(['DBSIZE'], { db: 0 })), 0, 'nothing in db 0');
      const r = await fleet[1].call('info', { options: asUser });
      assert.deepEqual(tokensOf(r), [server.issued[0]]);
      assert.equal(r.stats.storeHits, 1);
      assert.equal(r.stats.storeErrors, 0);

      const asDefault = optionsFor(server, `redis://:${adminPassword}@127.0.0.1:${secured.port}/5`);
      tokensOf(await fleet[2].call('info', { options: asDefault }));
      assert.ok(Number(await secured.cli(['DBSIZE'], { db: 5 })) >= 1, 'the record is in db 5');
      const r2 = await fleet[3].call('info', { options: asDefault });
      assert.equal(r2.stats.storeHits, 1);
      assert.equal(server.count, 2);
    });
  } finally {
    await secured.close();
  }
});

test('a wrong Redis password never fails a call and never shows in any output', limits, async () => {
  const secured = await startRedis({ password: `admin-pw-${hex()}` });
  const wrong = `wrong-pw-${hex()}`;
  try {
    await withFleet({
      processes: 2,
      server: { respond: (ctx) => (ctx.form.client_id.startsWith('rejected') ? { status: 401, body: { error: 'access_denied' } } : undefined) },
    }, async ({ server, fleet }) => {
      const options = optionsFor(server, `redis://:${wrong}@127.0.0.1:${secured.port}`);
      const results = await fleet.all('info', { options, n: 2 });
      assert.equal(tokensOf(results).length, 2, 'each process got its own token, as with memory');
      for (const r of results) {
        assert.equal(r.stats.storeHits, 0);
        assert.ok(r.stats.storeErrors >= 1, `store errors counted (stats ${JSON.stringify(r.stats)})`);
      }

      const seen = await fleet[0].call('inspect', { options: { ...options, clientId: uid('rejected') } });
      assert.equal(seen.call.error.code, 'ERR_OAUTH');
      for (const [what, text] of Object.entries({
        'error message': seen.call.error.message, 'error inspect': seen.call.error.inspect, 'client inspect': seen.client,
        'client JSON': seen.clientJson, 'stats inspect': seen.stats, 'stats JSON': seen.statsJson,
        'process output': fleet[0].output + fleet[1].output,
      })) {
        assert.ok(!text.includes(wrong), `${what} shows the password: ${text}`);
      }
    });
  } finally {
    await secured.close();
  }
});

test('rediss:// over TLS, trusting the `ca` option or NODE_EXTRA_CA_CERTS, and nothing else', limits, async () => {
  const tlsRedis = await startRedis({ tls: true });
  try {
    // Trusted through the `ca` option.
    await withFleet({ processes: 2 }, async ({ server, fleet }) => {
      const options = optionsFor(server, tlsRedis.tlsUrl(), { ca });
      tokensOf(await fleet[0].call('info', { options }));
      const r = await fleet[1].call('info', { options });
      assert.equal(r.stats.storeHits, 1, `the second process read the record over TLS (stats ${JSON.stringify(r.stats)})`);
      assert.equal(server.count, 1);
    });
    // Trusted through NODE_EXTRA_CA_CERTS.
    await withFleet({ processes: 2, env: { NODE_EXTRA_CA_CERTS: tlsFiles.ca } }, async ({ server, fleet }) => {
      const options = optionsFor(server, tlsRedis.tlsUrl());
      tokensOf(await fleet[0].call('info', { options }));
      const r = await fleet[1].call('info', { options });
      assert.equal(r.stats.storeHits, 1, `the second process read the record over TLS (stats ${JSON.stringify(r.stats)})`);
      assert.equal(server.count, 1);
    });
    // Not trusted: the store is not used, the calls still succeed.
    await withFleet({ processes: 2 }, async ({ server, fleet }) => {
      const options = optionsFor(server, tlsRedis.tlsUrl());
      const results = [];
      for (const p of fleet) results.push(await p.call('info', { options }));
      assert.equal(tokensOf(results).length, 2);
      assert.equal(server.count, 2);
      for (const r of results) {
        assert.equal(r.stats.storeHits, 0);
        assert.ok(r.stats.storeErrors >= 1, `the untrusted certificate counted as a store error (stats ${JSON.stringify(r.stats)})`);
      }
    });
  } finally {
    await tlsRedis.close();
  }
});

test('the requesting process is SIGKILLed mid-request: another takes over in time and every caller gets an answer', limits, async () => {
  let firstArrived;
  const arrived = new Promise((resolve) => { firstArrived = resolve; });
  const timeoutMs = 1000;
  const retries = 0;
  await withFleet({
    processes: 3,
    server: { respond: (ctx) => { if (ctx.n === 1) { firstArrived(); return { hang: true }; } return undefined; } },
  }, async ({ server, fleet }) => {
    const [holder, b, c] = fleet;
    const options = optionsFor(server, redis.url(), { timeoutMs, retries });
    const held = holder.call('info', { options }).catch(() => {}); // it dies with the request in flight
    await Promise.race([arrived, held]); // the holder has the fleet lock and its request is at the server
    assert.equal(server.count, 1, 'the holder\'s request reached the server');
    const waiting = [b.call('info', { options, n: 3 }), c.call('info', { options, n: 3 })];
    await holder.kill('SIGKILL');
    const killedAt = Date.now();
    const results = await Promise.all(waiting);
    const ms = Date.now() - killedAt;
    const bound = timeoutMs * (retries + 1) + 1000;
    assert.deepEqual(tokensOf(results), [server.issued[0]], 'every surviving caller got the token of the second request');
    assert.equal(server.count, 2, 'one process took over, alone');
    assert.ok(ms < bound + 500, `answered ${ms} ms after the kill (bound ${bound} ms)`);
  });
});

test('one connection per store URL per process, however many threads use it', limits, async () => {
  const own = await startRedis(); // nobody else connects to it
  const connections = async () => (await own.cli(['CLIENT', 'LIST'])).split('\n')
    .filter((line) => line.startsWith('id=') && !/ cmd=client\|list /.test(line)).length;
  try {
    await withFleet({ processes: 1 }, async ({ server, fleet }) => {
      const base = optionsFor(server, own.url());
      tokensOf(await fleet[0].call('info', { options: base }));
      const one = await connections();
      assert.ok(one >= 1 && one <= 2, `connections from one thread: ${one} (commands, and at most one for pub/sub)`);
      // Four threads, each with an entry of its own, so each really uses the store.
      const optionsList = Array.from({ length: 4 }, () => ({ ...base, clientId: uid('redis-thread') }));
      const w = await fleet[0].call('workers', { optionsList });
      assert.deepEqual(w.results.map((r) => r.error), [undefined, undefined, undefined, undefined]);
      assert.equal(server.count, 5);
      assert.equal(await connections(), one, 'the threads share the process\'s connection');
      await fleet[0].call('stopWorkers');
    });
  } finally {
    await own.close();
  }
});

test('a script using a Redis store exits by itself right after its token', limits, async () => {
  const server = await startTokenServer();
  try {
    const r = await runExitChild(optionsFor(server, redis.url()));
    assert.equal(r.killed, false, 'the child hung');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.token, server.issued[0]);
    assert.ok(r.msAfterToken < EXIT_BOUND_MS, `exited ${r.msAfterToken} ms after its token`);
  } finally {
    await server.close();
  }
});

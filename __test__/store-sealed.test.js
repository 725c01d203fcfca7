'use strict';

// Sealed stores: nothing in Redis (keys, values, channels, every command the
// module sends) or in the file store (names, bytes) names the client,
// audience, scope, secret, token URL or token; records are bound to the
// credential, so a record under another secret, or with one byte changed, is
// never handed out; bad store strings are refused without echoing a password.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');
const { hex } = require('./helpers/options');
const { startRedis, scanKeys, readKey } = require('./helpers/redis-server');
const { forkFleet, tokensOf, needlesOf, leaksIn } = require('./helpers/fleet');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };

let redis;
before(async () => { redis = await startRedis(); });
after(async () => { if (redis) await redis.close(); });

/**
 * The two stores seen from outside, the same way: what they hold, and how to
 * copy or damage one record. A record is named by its Redis key or file name.
 */
const backends = {
  redis: {
    async open() {
      await redis.cli(['FLUSHALL']);
      return {
        store: redis.url(),
        async records() {
          const keys = await scanKeys(redis.cli);
          return Promise.all(keys.map(async (key) => ({ name: key, bytes: (await readKey(redis.cli, key)).bytes })));
        },
        async copy(from, to) {
          assert.equal((await redis.cli(['COPY', from, to, 'REPLACE'])).trim(), '1');
        },
        async tamper(name) {
          const type = (await redis.cli(['TYPE', name])).trim();
          assert.equal(type, 'string', `tampering handles string records (this one is a ${type})`);
          const length = Number(await redis.cli(['STRLEN', name]));
          const at = Math.floor(length / 2);
          const byte = (await redis.cli(['GETRANGE', name, String(at), String(at)], { buffer: true }))[0];
          // -x: the new byte goes in as the last argument, from stdin, binary-safe; SETRANGE keeps the TTL.
          await redis.cli(['-x', 'SETRANGE', name, String(at)], { input: Buffer.from([byte ^ 0x01]) });
        },
        close: async () => {},
      };
    },
  },
  file: {
    async open() {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-sealed-'));
      const dir = path.join(root, 'store');
      const full = (name) => path.join(dir, name);
      return {
        store: `file:${dir}`,
        async records() {
          if (!fs.existsSync(dir)) return [];
          return fs.readdirSync(dir).map((name) => ({ name, bytes: fs.readFileSync(full(name)) }));
        },
        async copy(from, to) { fs.copyFileSync(full(from), full(to)); },
        async tamper(name) {
          const bytes = fs.readFileSync(full(name));
          bytes[Math.floor(bytes.length / 2)] ^= 0x01;
          fs.writeFileSync(full(name), bytes);
        },
        close: async () => fs.rmSync(root, { recursive: true, force: true }),
      };
    },
  },
};

/** The largest record that appeared since `before` (a lock, if one is left, is smaller). */
async function newRecord(backend, before) {
  const known = new Set(before.map((r) => r.name));
  const added = (await backend.records()).filter((r) => !known.has(r.name));
  assert.ok(added.length >= 1, 'the fetch stored a record');
  return added.sort((a, b) => b.bytes.length - a.bytes.length)[0];
}

async function withSetup(kind, processes, fn) {
  const server = await startTokenServer();
  const backend = await backends[kind].open();
  const fleet = await forkFleet(processes);
  try {
    return await fn({ server, backend, fleet });
  } finally {
    await fleet.close();
    await server.close();
    await backend.close();
  }
}

const fullOptions = (server, store, extra = {}) => ({
  tokenUrl: server.url,
  clientId: uid('sealed-client'),
  clientSecret: `sealed-secret-${hex()}`,
  audience: `https://api.example.test/sealed-aud-${hex()}`,
  scope: `read:sealed-${hex()} write:sealed-${hex()}`,
  extraParams: { organization: `org_sealed_${hex()}` },
  store,
  ...extra,
});

test('Redis: no key, value, channel or command sent names the client, audience, scope, secret, URL or token', limits, async () => {
  await redis.cli(['FLUSHALL']);
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  let firstArrived;
  const arrived = new Promise((resolve) => { firstArrived = resolve; });
  const server = await startTokenServer({ respond: async (ctx) => { if (ctx.n === 1) { firstArrived(); await gate; } } });
  const fleet = await forkFleet(3);
  const monitor = await redis.monitor();
  try {
    const a = fullOptions(server, redis.url());
    const { scope, ...b } = fullOptions(server, redis.url()); // a second entry, with no scope
    // All three processes cold at once; the request is held while the lock and subscriptions are looked at.
    const calls = fleet.all('info', { options: a, n: 2 });
    await Promise.race([arrived, calls]); // (calls settle first only when none reached the server)
    const seen = [];
    const look = async (when) => {
      for (const key of await scanKeys(redis.cli)) seen.push([`${when}: key ${key}`, Buffer.concat([Buffer.from(key), (await readKey(redis.cli, key)).bytes])]);
      seen.push([`${when}: PUBSUB CHANNELS`, Buffer.from(await redis.cli(['PUBSUB', 'CHANNELS']))]);
      seen.push([`${when}: PUBSUB SHARDCHANNELS`, Buffer.from(await redis.cli(['PUBSUB', 'SHARDCHANNELS']))]);
      seen.push([`${when}: CLIENT LIST`, Buffer.from(await redis.cli(['CLIENT', 'LIST']))]);
    };
    await look('in flight');
    release();
    const [first] = tokensOf(await calls);
    await look('stored');
    // Invalidation (compare-and-delete, publish), a new token, a second entry.
    // Another process drops the token "within a second", not at once: until
    // the message reaches it, it may still answer from memory, so poll.
    await fleet[0].call('invalidate', { options: a });
    const poll = await fleet[1].call('pollUntilChange', { options: a, from: first, intervalMs: 20, timeoutMs: 3000 });
    assert.ok(poll.changed, 'the other process dropped the invalidated token and fetched a new one');
    tokensOf(await fleet[2].call('info', { options: b }));
    await look('after invalidation');
    seen.push(['every command sent (MONITOR)', Buffer.from(await monitor.stop())]);

    assert.ok(server.count >= 3);
    const needles = [...needlesOf(a, server.issued), ...needlesOf(b), ['organization', a.extraParams.organization],
      ['organization', b.extraParams.organization]];
    for (const [what, bytes] of seen) assert.deepEqual(leaksIn(bytes, needles), [], what);
    assert.ok(seen.some(([what]) => what.startsWith('stored: key')), 'something was stored');
  } finally {
    release();
    await monitor.stop();
    await fleet.close();
    await server.close();
  }
});

for (const kind of Object.keys(backends)) {
  test(`${kind}: the same client id with two secrets gets two record names; a record moved under the other secret's name is not accepted`, limits, () =>
    withSetup(kind, 3, async ({ server, backend, fleet }) => {
      const withA = fullOptions(server, backend.store);
      const withB = { ...withA, clientSecret: `sealed-other-secret-${hex()}` };
      const tokenA = tokensOf(await fleet[0].call('info', { options: withA }));
      const recordA = await newRecord(backend, []);
      const rb = await fleet[1].call('info', { options: withB });
      const tokenB = tokensOf(rb);
      assert.notDeepEqual(tokenB, tokenA, 'secret B fetched its own token');
      assert.equal(rb.stats.storeHits, 0);
      assert.equal(server.count, 2);
      const recordB = await newRecord(backend, [recordA]);
      assert.notEqual(recordB.name, recordA.name);

      // Secret A's record under secret B's name.
      await backend.copy(recordA.name, recordB.name);
      const moved = await fleet[2].call('info', { options: withB });
      assert.deepEqual(tokensOf(moved), [server.issued[2]], 'a fresh process with secret B fetched its own token');
      assert.ok(moved.stats.storeErrors >= 1, `the foreign record counted in storeErrors (stats ${JSON.stringify(moved.stats)})`);
      assert.equal(moved.stats.storeHits, 0);
    }));

  test(`${kind}: a record with one byte changed is ignored, never handed out, and replaced`, limits, () =>
    withSetup(kind, 3, async ({ server, backend, fleet }) => {
      const options = fullOptions(server, backend.store);
      const original = tokensOf(await fleet[0].call('info', { options }));
      const record = await newRecord(backend, []);
      await backend.tamper(record.name);

      const second = await fleet[1].call('info', { options });
      assert.notDeepEqual(tokensOf(second), original, 'the tampered record was not handed out');
      assert.deepEqual(tokensOf(second), [server.issued[1]]);
      assert.ok(second.stats.storeErrors >= 1, `counted in storeErrors (stats ${JSON.stringify(second.stats)})`);
      assert.equal(second.stats.storeHits, 0);

      const third = await fleet[2].call('info', { options });
      assert.deepEqual(tokensOf(third), [server.issued[1]], 'the record was replaced');
      assert.equal(third.stats.storeHits, 1);
      assert.equal(server.count, 2);
    }));
}

test('bad store strings are ERR_INVALID_OPTIONS, and no message or inspect shows the password', limits, async () => {
  const password = 'hunter2';
  const bad = [
    'redis:/x', 'file:relative', 'mysql://x', '', 'memory:', 'redis+cluster://',
    `redis://:${password}@127.0.0.1:99999`, `redis://:${password}@127.0.0.1:notaport`,
    `rediss://user:${password}@127.0.0.1:6379/notadb`, `redis://:${password}@`,
  ];
  const server = await startTokenServer();
  try {
    for (const store of [...bad, 42, {}]) {
      const options = { tokenUrl: server.url, clientId: uid('sealed-bad'), clientSecret: 's', store };
      let thrown;
      try {
        new m2m.TokenClient(options); // eslint-disable-line no-new
      } catch (err) {
        thrown = err;
      }
      assert.ok(thrown, `store ${util.inspect(store)} was accepted`);
      assert.equal(thrown.code, 'ERR_INVALID_OPTIONS', `store ${util.inspect(store)}`);
      const rejected = await m2m.getToken(options).then(() => assert.fail(`getToken accepted store ${util.inspect(store)}`), (err) => err);
      assert.equal(rejected.code, 'ERR_INVALID_OPTIONS');
      for (const err of [thrown, rejected]) {
        for (const text of [err.message, err.stack, util.inspect(err), JSON.stringify(err), String(err)]) {
          assert.ok(!String(text).includes(password), `the password shows: ${text}`);
        }
      }
    }
    assert.equal(server.count, 0);
  } finally {
    await server.close();
  }
});

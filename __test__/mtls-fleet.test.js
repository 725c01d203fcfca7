'use strict';

// Mutual TLS with a shared store: processes holding the same certificate
// share one bound token through the file store and through Redis; the
// TLS key, the only credential, seals the records and names, so nothing
// in the store shows the client, the certificate or the key.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startMtlsWorld, claimsOf } = require('./helpers/mtls-world');
const { opensslAvailable } = require('./helpers/certificates');
const { forkFleet } = require('./helpers/fleet');
const { startRedis, redisAvailable, scanKeys, readKey } = require('./helpers/redis-server');
const { requires } = require('./helpers/skip');

const needs = requires(opensslAvailable(), 'openssl is not installed');
const limits = { timeout: 60000, ...needs };

let world;
before(async () => {
  if (opensslAvailable()) world = await startMtlsWorld();
});
after(() => world?.close());

/** Two processes, each asking at once; the tokens they got and the requests the provider saw. */
async function shareThrough(store) {
  const fleet = await forkFleet(2);
  try {
    const { cert, key, thumbprint } = world.certs.ec;
    const options = world.options({ clientId: 'by-ca', cert, key, store });
    const before = world.op.count;
    const results = await fleet.all('info', { options, n: 3 });
    const tokens = new Set(results.flatMap((r) => r.calls.map((c) => c.value?.accessToken ?? JSON.stringify(c.error))));
    return { tokens: [...tokens], requests: world.op.count - before, thumbprint, key };
  } finally {
    await fleet.close();
  }
}

/** What no byte of the store may hold. */
function assertHidden(texts, { key, thumbprint }) {
  const keyBody = key.split('\n')[1];
  for (const text of texts) {
    for (const secret of ['by-ca', thumbprint, keyBody, world.op.tokenUrl]) {
      assert.ok(!text.includes(secret), `the store shows ${secret.slice(0, 12)}…`);
    }
  }
}

test('file store: two processes with the same certificate, one token request, one bound token; the store shows nothing', limits, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-mtls-store-'));
  try {
    const shared = await shareThrough(`file:${dir}`);
    assert.equal(shared.requests, 1);
    assert.equal(shared.tokens.length, 1, shared.tokens.join(' '));
    assert.equal(claimsOf(shared.tokens[0]).cnf['x5t#S256'], shared.thumbprint);
    const texts = fs.readdirSync(dir).flatMap((name) => [name, fs.readFileSync(path.join(dir, name), 'latin1')]);
    assert.ok(texts.length > 0, 'a record was written');
    assertHidden(texts, shared);
    for (const text of texts) assert.ok(!text.includes(shared.tokens[0]), 'the token is sealed');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Redis store: two processes with the same certificate, one token request, one bound token; the store shows nothing', { timeout: 60000, ...needs, ...requires(redisAvailable(), 'redis-server is not installed') }, async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const shared = await shareThrough(redis.url());
  assert.equal(shared.requests, 1);
  assert.equal(shared.tokens.length, 1, shared.tokens.join(' '));
  assert.equal(claimsOf(shared.tokens[0]).cnf['x5t#S256'], shared.thumbprint);
  const keys = await scanKeys(redis.cli);
  assert.ok(keys.length > 0, 'a record was written');
  const values = await Promise.all(keys.map((k) => readKey(redis.cli, k)));
  const texts = [...keys, ...values.map((v) => JSON.stringify(v))];
  assertHidden(texts, shared);
  for (const text of texts) assert.ok(!text.includes(shared.tokens[0]), 'the token is sealed');
});

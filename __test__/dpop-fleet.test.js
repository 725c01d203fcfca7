'use strict';

// One DPoP-bound token for a whole fleet: processes that share a store and
// a client secret derive the same proof key, so one token request serves
// them all, and the resource server (the real express-oauth2-jwt-bearer,
// requiring DPoP) accepts every process's requests. Proofs are captured
// there and checked claim by claim. Nothing about the key is stored, and
// the store holds the token only sealed.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startOidcServer } = require('./helpers/oidc-server');
const { startJwtBearerApi } = require('./helpers/jwt-bearer-api');
const { forkFleet } = require('./helpers/fleet');
const { redisAvailable, startRedis, scanKeys, readKey } = require('./helpers/redis-server');
const { requires } = require('./helpers/skip');
const { checkProof, jwtClaims } = require('./helpers/dpop-proofs');

const RESOURCE = 'urn:api';
const SECRET = 'dpop-fleet-secret-0123456789';
const PROCESSES = 3;

let op;
let api;

before(async () => {
  op = await startOidcServer({
    clients: [{ client_id: 'dpop-fleet', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' }],
  });
  api = await startJwtBearerApi({ issuer: op.issuer, audience: RESOURCE });
});

after(async () => {
  await api.close();
  await op.close();
});

/**
 * Every process of a fleet on `store` sends `n` requests through
 * client.fetch at once: one token request in all, every request accepted,
 * each with its own proof by the one derived key the token is bound to.
 * Returns the token.
 */
async function oneTokenForTheFleet(store, scope) {
  op.reset();
  api.requests.length = 0;
  const options = {
    tokenUrl: op.tokenUrl,
    clientId: 'dpop-fleet',
    clientSecret: SECRET,
    extraParams: { resource: RESOURCE },
    scope,
    dpop: true,
    store,
  };
  const fleet = await forkFleet(PROCESSES);
  try {
    const results = await fleet.all('fetch', { options, url: `${api.origin}/fleet?q=1`, n: 4 });
    for (const { statuses } of results) assert.deepEqual(statuses, [200, 200, 200, 200]);
    assert.equal(op.count, 1, 'one token request for the whole fleet');
    assert.equal(results.reduce((sum, r) => sum + r.stats.requests, 0), 1);
  } finally {
    await fleet.close();
  }
  assert.equal(api.requests.length, PROCESSES * 4);
  const token = api.requests[0].authorization.slice('DPoP '.length);
  const jkt = jwtClaims(token).cnf.jkt;
  const jtis = new Set();
  for (const request of api.requests) {
    assert.equal(request.status, 200);
    assert.equal(request.authorization, `DPoP ${token}`);
    const { claims, thumbprint } = await checkProof(request.dpop, { htm: 'GET', htu: `${api.origin}/fleet`, accessToken: token, alg: 'ES256' });
    assert.equal(thumbprint, jkt, 'every process proves the one key the token is bound to');
    jtis.add(claims.jti);
  }
  assert.equal(jtis.size, api.requests.length, 'every proof has its own jti');
  return token;
}

test('a fleet on a file store shares one DPoP-bound token', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-dpop-fleet-'));
  try {
    const token = await oneTokenForTheFleet(`file:${root}`, 'read:users');
    const stored = fs.readdirSync(root).map((name) => fs.readFileSync(path.join(root, name)));
    assert.ok(stored.length > 0, 'the token went through the store');
    for (const bytes of stored) assert.ok(!bytes.includes(Buffer.from(token)), 'the store holds the token sealed only');
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('a fleet on a Redis store shares one DPoP-bound token', requires(redisAvailable(), 'redis-server is not installed'), async () => {
  const redis = await startRedis();
  try {
    const token = await oneTokenForTheFleet(redis.url(), 'write:users');
    const keys = await scanKeys(redis.cli);
    assert.ok(keys.length > 0, 'the token went through the store');
    for (const key of keys) {
      const { bytes } = await readKey(redis.cli, key);
      assert.ok(!bytes.includes(Buffer.from(token)), 'the store holds the token sealed only');
    }
  } finally {
    await redis.stop();
  }
});

'use strict';

// DPoP (RFC 9449) at the token endpoint: oidc-provider (DPoP on, and a
// variant that requires nonces) issues DPoP-bound JWT access tokens with
// cnf.jkt; every proof the server received is verified with jose and
// checked claim by claim. Proof keys of each kind are made by the tests.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const util = require('node:util');

const m2m = require('..');
const { startOidcServer } = require('./helpers/oidc-server');
const { startTokenServer, uid } = require('./helpers/token-server');
const { makeProofKey, checkProof, jwtClaims } = require('./helpers/dpop-proofs');

const RESOURCE = 'urn:api';
const SECRET_A = 'dpop-secret-A-0123456789';
const SECRET_B = 'dpop-secret-B-0123456789';

let op;
let opNonce;

const oidcClients = [
  { client_id: 'dpop-a', client_secret: SECRET_A, token_endpoint_auth_method: 'client_secret_post' },
  { client_id: 'dpop-b', client_secret: SECRET_B, token_endpoint_auth_method: 'client_secret_post' },
];

before(async () => {
  op = await startOidcServer({ clients: oidcClients });
  opNonce = await startOidcServer({ clients: oidcClients, dpop: { requireNonce: true } });
});

after(async () => {
  m2m.clearCache();
  await op.close();
  await opNonce.close();
});

beforeEach(() => {
  m2m.clearCache();
  op.reset();
  opNonce.reset();
});

function options(server, extra = {}) {
  return {
    tokenUrl: server.tokenUrl,
    clientId: 'dpop-a',
    clientSecret: SECRET_A,
    extraParams: { resource: RESOURCE },
    scope: 'read:users',
    retries: 0,
    dpop: true,
    ...extra,
  };
}

test('dpop: true gets a DPoP-bound token, asked for with a proof checked claim by claim', async () => {
  const info = await m2m.getTokenInfo(options(op));
  assert.equal(info.tokenType, 'DPoP');
  assert.equal(op.count, 1);
  const proof = op.requests[0].headers.dpop;
  const { header, thumbprint } = await checkProof(proof, { htm: 'POST', htu: op.tokenUrl, alg: 'ES256' });
  assert.equal(header.jwk.kty, 'EC');
  assert.equal(header.jwk.crv, 'P-256');
  assert.equal(jwtClaims(info.accessToken).cnf.jkt, thumbprint, 'the token is bound to the proof key');
});

test('every holder of a credential derives the same key; another credential derives another', async () => {
  const first = await m2m.getTokenInfo(options(op));
  // Another entry (another scope) with the same secret: the same key.
  const same = await m2m.getTokenInfo(options(op, { scope: 'write:users' }));
  const other = await m2m.getTokenInfo(options(op, { clientId: 'dpop-b', clientSecret: SECRET_B }));
  assert.equal(op.count, 3);
  const jkt = (info) => jwtClaims(info.accessToken).cnf.jkt;
  assert.equal(jkt(first), jkt(same));
  assert.notEqual(jkt(first), jkt(other));
  // Pinned by the Rust suite too: the key of a credential never changes
  // between versions, so a fleet of mixed versions shares one token.
  assert.match(jkt(first), /^[A-Za-z0-9_-]{43}$/);
});

for (const [alg, format] of [['ES256', 'pkcs8'], ['ES256', 'sec1'], ['ES384', 'pkcs8'], ['EdDSA', 'pkcs8']]) {
  test(`dpop.privateKey: an ${alg} key (${format}) signs the proofs, and the token is bound to it`, async () => {
    const key = await makeProofKey(alg, { format });
    const info = await m2m.getTokenInfo(options(op, { dpop: { privateKey: key.pem } }));
    assert.equal(info.tokenType, 'DPoP');
    const { thumbprint } = await checkProof(op.requests[0].headers.dpop, { htm: 'POST', htu: op.tokenUrl, alg });
    assert.equal(thumbprint, key.thumbprint);
    assert.equal(jwtClaims(info.accessToken).cnf.jkt, key.thumbprint);
  });
}

test('the key is part of the entry: no DPoP, a derived key and a given key never share a token', async () => {
  const key = await makeProofKey('ES256');
  const bearer = await m2m.getTokenInfo(options(op, { dpop: undefined }));
  const derived = await m2m.getTokenInfo(options(op));
  const given = await m2m.getTokenInfo(options(op, { dpop: { privateKey: key.pem } }));
  const otherKey = await makeProofKey('ES256');
  const givenOther = await m2m.getTokenInfo(options(op, { dpop: { privateKey: otherKey.pem } }));
  assert.equal(op.count, 4, 'four entries, four token requests');
  assert.equal(bearer.tokenType, 'Bearer');
  assert.equal(jwtClaims(bearer.accessToken).cnf, undefined);
  const tokens = new Set([bearer, derived, given, givenOther].map((i) => i.accessToken));
  assert.equal(tokens.size, 4);
  // And each is found again by its own options.
  assert.equal((await m2m.getTokenInfo(options(op, { dpop: { privateKey: key.pem } }))).accessToken, given.accessToken);
  assert.equal((await m2m.getTokenInfo(options(op))).accessToken, derived.accessToken);
  assert.equal(op.count, 4);
});

test('a server that requires nonces: use_dpop_nonce is answered by one more request with the nonce, also with retries: 0', async () => {
  const before = m2m.stats().requests;
  const info = await m2m.getTokenInfo(options(opNonce));
  assert.equal(info.tokenType, 'DPoP');
  assert.equal(m2m.stats().requests - before, 2, 'the nonce request is counted in requests');
  const [refused, accepted] = opNonce.requests;
  assert.equal(refused.status, 400);
  assert.equal(typeof refused.nonce, 'string');
  assert.equal(accepted.status, 200);
  await checkProof(refused.headers.dpop, { htm: 'POST', htu: opNonce.tokenUrl });
  const second = await checkProof(accepted.headers.dpop, { htm: 'POST', htu: opNonce.tokenUrl, nonce: refused.nonce });
  const first = await checkProof(refused.headers.dpop, { htm: 'POST', htu: opNonce.tokenUrl });
  assert.notEqual(first.claims.jti, second.claims.jti, 'a fresh proof for the second request');
  assert.equal(jwtClaims(info.accessToken).cnf.jkt, second.thumbprint);
});

test('a DPoP-Nonce is kept for the origin: the next token request carries it at once', async () => {
  await m2m.getTokenInfo(options(opNonce));
  const lastNonce = opNonce.lastNonce;
  assert.equal(typeof lastNonce, 'string');
  opNonce.reset();
  const info = await m2m.getTokenInfo(options(opNonce, { scope: 'write:users' }));
  assert.equal(info.tokenType, 'DPoP');
  assert.equal(opNonce.count, 1, 'no second use_dpop_nonce round trip');
  await checkProof(opNonce.requests[0].headers.dpop, { htm: 'POST', htu: opNonce.tokenUrl, nonce: lastNonce });
});

test('a server that declines DPoP and answers Bearer is taken at its word', async () => {
  const server = await startTokenServer();
  try {
    const client = new m2m.TokenClient({ tokenUrl: server.url, clientId: uid('bearer'), clientSecret: 's', dpop: true });
    const info = await client.getTokenInfo();
    assert.equal(info.tokenType, 'Bearer');
    assert.equal(typeof server.requests[0].headers.dpop, 'string', 'it was asked for DPoP');
    const headers = await client.getRequestHeaders(`${server.origin}/api`);
    assert.deepEqual(headers, { authorization: `Bearer ${info.accessToken}` });
  } finally {
    await server.close();
  }
});

test('token_type DPoP in any case is tokenType "DPoP"', async () => {
  const server = await startTokenServer({
    respond: (ctx) => {
      const r = ctx.defaultResponse();
      return { ...r, body: { ...r.body, token_type: 'dpop' } };
    },
  });
  try {
    const info = await m2m.getTokenInfo({ tokenUrl: server.url, clientId: uid('case'), clientSecret: 's', dpop: true });
    assert.equal(info.tokenType, 'DPoP');
  } finally {
    await server.close();
  }
});

test('use_dpop_nonce never loops: a malformed nonce gets no second request, a fresh one each time gets exactly one', async () => {
  const refusal = (nonce) => ({
    status: 400,
    headers: nonce === undefined ? {} : { 'dpop-nonce': nonce },
    body: { error: 'use_dpop_nonce', error_description: 'nonce required' },
  });
  const cases = [
    { nonce: () => 'has spaces "and quotes"', requests: 1 },
    { nonce: () => 'x'.repeat(5000), requests: 1 },
    { nonce: () => undefined, requests: 1 },
    { nonce: () => crypto.randomBytes(16).toString('base64url'), requests: 2 },
  ];
  for (const { nonce, requests } of cases) {
    for (const retries of [0, 2]) {
      const server = await startTokenServer({ respond: () => refusal(nonce()) });
      try {
        const err = await m2m.getToken({ tokenUrl: server.url, clientId: uid('loop'), clientSecret: 's', dpop: true, retries })
          .then(() => null, (e) => e);
        assert.equal(err?.code, 'ERR_OAUTH');
        assert.equal(err.oauthError, 'use_dpop_nonce');
        assert.equal(server.count, requests, `retries: ${retries}`);
      } finally {
        await server.close();
      }
    }
  }
});

test('bad dpop options are ERR_INVALID_OPTIONS, and no message shows the key', async () => {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  const p521 = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  const cases = [
    ['yes', /dpop must be true or an object/],
    [1, /dpop must be true or an object/],
    [null, /dpop must be true or an object/],
    [{ privateKey: 42 }, /dpop\.privateKey must be a PEM string/],
    [{ privateKey: 'not a key' }, /dpop\.privateKey must be an EC P-256, EC P-384 or Ed25519 private key/],
    [{ privateKey: rsa }, /dpop\.privateKey must be an EC P-256, EC P-384 or Ed25519 private key/],
    [{ privateKey: p521 }, /dpop\.privateKey must be an EC P-256, EC P-384 or Ed25519 private key/],
  ];
  for (const [dpop, message] of cases) {
    const make = () => new m2m.TokenClient(options(op, { dpop }));
    assert.throws(make, (err) => {
      assert.equal(err.code, 'ERR_INVALID_OPTIONS');
      assert.match(err.message, message);
      const body = typeof dpop?.privateKey === 'string' ? dpop.privateKey.split('\n')[1] : undefined;
      if (body) assert.ok(!util.inspect(err).includes(body));
      return true;
    });
  }
  assert.equal(op.count, 0);
});

test('the proof key never shows: not in inspect, JSON, stats or an error', async () => {
  const key = await makeProofKey('ES256');
  const client = new m2m.TokenClient(options(op, { dpop: { privateKey: key.pem } }));
  const info = await client.getTokenInfo();
  assert.equal(info.tokenType, 'DPoP', 'the key is in use');
  const refused = new m2m.TokenClient(options(op, { dpop: { privateKey: key.pem }, clientSecret: 'wrong-secret' }));
  const err = await refused.getToken().then(() => null, (e) => e);
  assert.equal(err?.code, 'ERR_OAUTH');
  const shown = [
    util.inspect(client, { depth: 10, showHidden: true }),
    JSON.stringify(client),
    util.inspect(refused, { depth: 10, showHidden: true }),
    util.inspect(err, { showHidden: true }),
    JSON.stringify(err),
    util.inspect(m2m.stats()),
  ].join('\n');
  const keyLines = key.pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  for (const line of keyLines) assert.ok(!shown.includes(line), 'no line of the private key');
  assert.ok(!shown.includes('wrong-secret'));
});

'use strict';

// Interop: m2m-token against oidc-provider v9 (a certified OpenID Connect / OAuth 2.0
// server), client_credentials grant with resource indicators. Every token is verified
// with jose against the provider's JWKS.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('..');
const { startOidcServer, generateClientKey } = require('./helpers/oidc-server');

const RESOURCE = 'urn:api';
const BOTH_SCOPES = 'read:users write:users';
// Every character RFC 6749 §2.3.1 form-encoding must protect in a Basic header.
// oidc-provider rejects anything that is not form-encoded before base64 (non-ASCII
// is not allowed by its VSCHAR check, so it is not part of this secret).
const BASIC_SECRET = 'b:a+s&i%c /=?#secret';
const POST_SECRET = 'post-secret-0123456789';

const keys = {
  rs256: generateClientKey('RS256', { kid: 'rs-1' }),
  ps256: generateClientKey('PS256'),
  es256: generateClientKey('ES256', { kid: 'ec-1' }),
  rs256pkcs1: generateClientKey('RS256'),
  ps256pkcs1: generateClientKey('PS256'),
  es256sec1: generateClientKey('ES256', { kid: 'ec-sec1' }),
};

const pkClient = (id, key) => ({
  client_id: id,
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: key.alg,
  jwks: { keys: [key.jwk] },
});

let op;
let jose;
let JWKS;

before(async () => {
  jose = await import('jose');
  op = await startOidcServer({
    clients: [
      { client_id: 'post-client', client_secret: POST_SECRET, token_endpoint_auth_method: 'client_secret_post' },
      { client_id: 'basic-client', client_secret: BASIC_SECRET, token_endpoint_auth_method: 'client_secret_basic' },
      pkClient('pk-rs256', keys.rs256),
      pkClient('pk-ps256', keys.ps256),
      pkClient('pk-es256', keys.es256),
      pkClient('pk-rs256-pkcs1', keys.rs256pkcs1),
      pkClient('pk-ps256-pkcs1', keys.ps256pkcs1),
      pkClient('pk-es256-sec1', keys.es256sec1),
    ],
  });
  JWKS = jose.createRemoteJWKSet(new URL(op.jwksUrl));
});

after(async () => {
  m2m.clearCache();
  await op.close();
});

beforeEach(() => {
  m2m.clearCache();
  op.reset();
});

function base(clientId, extra = {}) {
  return {
    tokenUrl: op.tokenUrl,
    clientId,
    scope: BOTH_SCOPES,
    extraParams: { resource: RESOURCE },
    retries: 0,
    ...extra,
  };
}

// Verifies signature (provider JWKS), issuer, audience = resource, client_id, scope.
async function assertProviderToken(accessToken, clientId, scope = BOTH_SCOPES) {
  const { payload } = await jose.jwtVerify(accessToken, JWKS, {
    issuer: op.issuer,
    audience: RESOURCE,
  });
  assert.equal(payload.client_id, clientId);
  assert.equal(payload.scope, scope);
  return payload;
}

async function assertOAuthError(promise, oauthError) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, 'TokenError');
    assert.equal(err.code, 'ERR_OAUTH');
    assert.equal(err.oauthError, oauthError);
    assert.equal(err.status, 401);
    return true;
  });
}

test('client_secret_post: secret in the form body, token verified against the JWKS', async () => {
  const info = await m2m.getTokenInfo(base('post-client', { clientSecret: POST_SECRET, scope: 'read:users' }));
  assert.equal(op.count, 1);
  assert.equal(op.requests[0].headers.authorization, undefined, 'client_secret_post sends no Authorization header');
  assert.equal(info.tokenType, 'Bearer');
  assert.equal(info.scope, 'read:users');
  assert.equal(info.fromCache, false);
  await assertProviderToken(info.accessToken, 'post-client', 'read:users');
});

test('client_secret_basic: RFC 6749 §2.3.1 encoded Authorization header', async () => {
  const token = await m2m.getToken(base('basic-client', {
    clientSecret: BASIC_SECRET,
    authMethod: 'client_secret_basic',
  }));
  assert.equal(op.count, 1);
  assert.match(op.requests[0].headers.authorization, /^Basic [A-Za-z0-9+/]+=*$/);
  await assertProviderToken(token, 'basic-client');
});

const pkCases = [
  { name: 'RS256, PKCS#8, keyId', clientId: 'pk-rs256', key: keys.rs256, pem: 'pkcs8' },
  { name: 'PS256, PKCS#8', clientId: 'pk-ps256', key: keys.ps256, pem: 'pkcs8' },
  { name: 'ES256, PKCS#8, keyId', clientId: 'pk-es256', key: keys.es256, pem: 'pkcs8' },
  { name: 'RS256, PKCS#1 (BEGIN RSA PRIVATE KEY)', clientId: 'pk-rs256-pkcs1', key: keys.rs256pkcs1, pem: 'traditional' },
  { name: 'PS256, PKCS#1 (BEGIN RSA PRIVATE KEY)', clientId: 'pk-ps256-pkcs1', key: keys.ps256pkcs1, pem: 'traditional' },
  { name: 'ES256, SEC1 (BEGIN EC PRIVATE KEY), keyId', clientId: 'pk-es256-sec1', key: keys.es256sec1, pem: 'traditional' },
];

for (const c of pkCases) {
  test(`private_key_jwt ${c.name}: provider accepts the assertion`, async () => {
    const opts = base(c.clientId, { privateKey: c.key[c.pem] });
    // RS256 is the default algorithm; name it only when it is not.
    if (c.key.alg !== 'RS256') opts.signingAlgorithm = c.key.alg;
    if (c.key.kid) opts.keyId = c.key.kid;
    const token = await m2m.getToken(opts);
    assert.equal(op.count, 1);
    assert.equal(op.requests[0].headers.authorization, undefined);
    await assertProviderToken(token, c.clientId);
  });
}

test('private_key_jwt with authMethod named explicitly', async () => {
  const token = await m2m.getToken(base('pk-es256', {
    authMethod: 'private_key_jwt',
    privateKey: keys.es256.pkcs8,
    signingAlgorithm: 'ES256',
    keyId: 'ec-1',
  }));
  await assertProviderToken(token, 'pk-es256');
});

test('a wrong private key gets ERR_OAUTH invalid_client', async () => {
  const other = generateClientKey('RS256');
  await assertOAuthError(m2m.getToken(base('pk-rs256', { privateKey: other.pkcs8, keyId: 'rs-1' })), 'invalid_client');
  assert.equal(op.count, 1);
});

test('a wrong secret gets ERR_OAUTH invalid_client (post and basic)', async () => {
  await assertOAuthError(m2m.getToken(base('post-client', { clientSecret: 'wrong' })), 'invalid_client');
  await assertOAuthError(m2m.getToken(base('basic-client', {
    clientSecret: 'wrong',
    authMethod: 'client_secret_basic',
  })), 'invalid_client');
  assert.equal(op.count, 2);
});

test('100 concurrent cold callers: the provider receives one token request', async () => {
  const opts = base('post-client', { clientSecret: POST_SECRET });
  const tokens = await Promise.all(Array.from({ length: 100 }, () => m2m.getToken(opts)));
  assert.equal(op.count, 1);
  assert.equal(new Set(tokens).size, 1);
  await assertProviderToken(tokens[0], 'post-client');
});

test('100 concurrent cold private_key_jwt callers: one token request', async () => {
  const client = new m2m.TokenClient(base('pk-es256', {
    privateKey: keys.es256.pkcs8,
    signingAlgorithm: 'ES256',
    keyId: 'ec-1',
  }));
  const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getToken()));
  assert.equal(op.count, 1);
  assert.equal(new Set(tokens).size, 1);
  await assertProviderToken(tokens[0], 'pk-es256');
});

test('private_key_jwt after invalidate(): a fresh assertion (jti) each time, both accepted', async () => {
  // oidc-provider rejects a replayed client assertion (same jti) with invalid_client.
  for (const [clientId, key] of [['pk-rs256', keys.rs256], ['pk-es256', keys.es256]]) {
    op.reset();
    const client = new m2m.TokenClient(base(clientId, {
      privateKey: key.pkcs8,
      signingAlgorithm: key.alg,
      keyId: key.kid,
    }));
    const first = await client.getToken();
    assert.equal(client.invalidate(), true);
    const second = await client.getToken();
    assert.equal(op.count, 2);
    assert.notEqual(first, second);
    await assertProviderToken(first, clientId);
    await assertProviderToken(second, clientId);
  }
});

test('a key that does not fit the algorithm is ERR_INVALID_OPTIONS at construction, no request', () => {
  for (const [privateKey, signingAlgorithm] of [
    [keys.es256.pkcs8, 'RS256'],
    [keys.rs256.pkcs8, 'ES256'],
    ['-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n', 'RS256'],
  ]) {
    assert.throws(
      () => new m2m.TokenClient(base('pk-rs256', { privateKey, signingAlgorithm })),
      (err) => {
        assert.equal(err.name, 'TokenError');
        assert.equal(err.code, 'ERR_INVALID_OPTIONS');
        assert.ok(!err.message.includes(privateKey.split('\n')[1]), 'message does not echo the key');
        return true;
      },
    );
  }
  assert.equal(op.count, 0);
});

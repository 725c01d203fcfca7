'use strict';

// signingAlgorithm 'RS384' for private_key_jwt (api.md Options; Auth0 accepts
// RS256, RS384 and PS256): the client assertion is signed RSASSA-PKCS1-v1_5
// with SHA-384 and says so in its header, and oidc-provider, registered to
// accept only RS384 for the client, issues the token.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { startOidcServer } = require('./helpers/oidc-server');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const RESOURCE = 'urn:api';
const SCOPE = 'read:users write:users';

// An RSA key made at test time; its public JWK registered for RS384.
function rs384Key(kid) {
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), alg: 'RS384', use: 'sig' };
  if (kid) jwk.kid = kid;
  return {
    kid,
    publicKey,
    jwk,
    pkcs8: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    pkcs1: privateKey.export({ format: 'pem', type: 'pkcs1' }),
  };
}

const key = rs384Key('rs384-1');
const keyNoKid = rs384Key();

const decode = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

let server;
let op;
let jose;

before(async () => {
  jose = await import('jose');
  server = await startTokenServer();
  op = await startOidcServer({
    clients: [
      { client_id: 'pk-rs384', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [key.jwk] } },
      { client_id: 'pk-rs384-nokid', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS384', jwks: { keys: [keyNoKid.jwk] } },
    ],
  });
});

after(async () => {
  m2m.clearCache();
  await Promise.all([server.close(), op.close()]);
});

beforeEach(() => {
  m2m.clearCache();
  server.reset();
  op.reset();
});

test('RS384: the assertion header says RS384 and the signature is RSASSA-PKCS1-v1_5 SHA-384', async () => {
  const token = await m2m.getToken({ tokenUrl: server.url, clientId: 'rs384-client', privateKey: key.pkcs8, keyId: key.kid, signingAlgorithm: 'RS384' });
  assert.equal(token, server.issued[0]);
  const { form } = server.requests[0];
  assert.equal(form.client_assertion_type, ASSERTION_TYPE);
  assert.equal(form.client_secret, undefined);
  const [header, payload, signature] = form.client_assertion.split('.');
  assert.equal(decode(header).alg, 'RS384');
  assert.equal(decode(header).kid, 'rs384-1');
  const claims = decode(payload);
  assert.equal(claims.iss, 'rs384-client');
  assert.equal(claims.sub, 'rs384-client');
  assert.equal(claims.aud, server.url);
  const signed = Buffer.from(`${header}.${payload}`);
  const sig = Buffer.from(signature, 'base64url');
  assert.equal(crypto.verify('sha384', signed, key.publicKey, sig), true, 'verifies as SHA-384');
  assert.equal(crypto.verify('sha256', signed, key.publicKey, sig), false, 'not an RS256 signature under another name');
  assert.equal(crypto.verify('sha384', signed, { key: key.publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING }, sig), false, 'not PSS');
});

test('RS384 with a PKCS#1 key (BEGIN RSA PRIVATE KEY)', async () => {
  await m2m.getToken({ tokenUrl: server.url, clientId: 'rs384-pkcs1', privateKey: key.pkcs1, signingAlgorithm: 'RS384' });
  const [header, payload, signature] = server.requests[0].form.client_assertion.split('.');
  assert.equal(decode(header).alg, 'RS384');
  assert.equal(crypto.verify('sha384', Buffer.from(`${header}.${payload}`), key.publicKey, Buffer.from(signature, 'base64url')), true);
});

test('RS384 needs an RSA key: an EC key is ERR_INVALID_OPTIONS', () => {
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
  assert.throws(() => new m2m.TokenClient({ tokenUrl: server.url, clientId: 'c', privateKey: ec, signingAlgorithm: 'RS384' }), { code: 'ERR_INVALID_OPTIONS' });
});

const providerOptions = (clientId, extra) => ({
  tokenUrl: op.tokenUrl,
  clientId,
  scope: SCOPE,
  extraParams: { resource: RESOURCE },
  retries: 0,
  ...extra,
});

test('oidc-provider, client registered for RS384 only: the token is issued and verifies', async () => {
  for (const [clientId, k, pem] of [['pk-rs384', key, 'pkcs8'], ['pk-rs384', key, 'pkcs1'], ['pk-rs384-nokid', keyNoKid, 'pkcs8']]) {
    m2m.clearCache();
    op.reset();
    const options = providerOptions(clientId, { privateKey: k[pem], signingAlgorithm: 'RS384' });
    if (k.kid) options.keyId = k.kid;
    const token = await m2m.getToken(options);
    assert.equal(op.count, 1);
    assert.deepEqual(op.serverErrors, []);
    const { payload } = await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(op.jwksUrl)), { issuer: op.issuer, audience: RESOURCE });
    assert.equal(payload.client_id, clientId);
    assert.equal(payload.scope, SCOPE);
  }
});

test('oidc-provider refuses the same key signing RS256 for that client, so the acceptance above was RS384', async () => {
  await assert.rejects(m2m.getToken(providerOptions('pk-rs384', { privateKey: key.pkcs8, keyId: key.kid, signingAlgorithm: 'RS256' })), (err) => {
    assert.equal(err.code, 'ERR_OAUTH');
    assert.equal(err.oauthError, 'invalid_client');
    return true;
  });
  assert.equal(op.count, 1);
});

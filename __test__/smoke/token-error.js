'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): failures are
// TokenErrors with the contract's codes and fields, and never show the secret.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const util = require('node:util');

const m2m = require('../..');
const { withServer, uid } = require('../helpers/token-server');

const SECRET = 'smoke-secret-d41d8cd9';

/** The TokenError `promise` rejects with (fails if it resolves). */
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

function assertNoSecret(err) {
  for (const text of [err.message, err.stack, util.inspect(err, { depth: 5 }), JSON.stringify(err)]) {
    assert.ok(!String(text).includes(SECRET), `the secret shows in: ${text}`);
  }
}

test('the TokenClient constructor throws TokenError ERR_INVALID_OPTIONS synchronously', () => {
  let thrown;
  try {
    new m2m.TokenClient({ clientId: 'c', clientSecret: SECRET }); // neither domain nor tokenUrl
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof m2m.TokenError);
  assert.ok(thrown instanceof Error);
  assert.equal(thrown.name, 'TokenError');
  assert.equal(thrown.code, 'ERR_INVALID_OPTIONS');
  assertNoSecret(thrown);
});

test('getToken with bad options rejects instead of throwing', async () => {
  let promise;
  assert.doesNotThrow(() => { promise = m2m.getToken({ tokenUrl: 'http://example.com/token', clientId: 'c', clientSecret: SECRET }); });
  const err = await rejection(promise);
  assert.equal(err.code, 'ERR_INVALID_OPTIONS', 'http: is only for loopback hosts');
});

test('an OAuth error body is ERR_OAUTH with status and the OAuth fields', () => withServer({
  respond: () => ({ status: 401, body: { error: 'invalid_client', error_description: 'Unknown client' } }),
}, async (server) => {
  const err = await rejection(m2m.getToken({ tokenUrl: server.url, clientId: uid('smoke-oauth'), clientSecret: SECRET }));
  assert.ok(err instanceof m2m.TokenError);
  assert.equal(err.code, 'ERR_OAUTH');
  assert.equal(err.status, 401);
  assert.equal(err.oauthError, 'invalid_client');
  assert.equal(err.oauthErrorDescription, 'Unknown client');
  assert.equal(server.count, 1, 'an OAuth error is not retried');
  assertNoSecret(err);
}));

test('a 5xx without retries is ERR_HTTP_STATUS with the status', () => withServer({
  respond: () => ({ status: 503, body: 'busy' }),
}, async (server) => {
  const err = await rejection(m2m.getToken({ tokenUrl: server.url, clientId: uid('smoke-503'), clientSecret: SECRET, retries: 0 }));
  assert.equal(err.code, 'ERR_HTTP_STATUS');
  assert.equal(err.status, 503);
  assertNoSecret(err);
}));

test('a 429 is ERR_RATE_LIMITED with retryAfter', () => withServer({
  respond: () => ({ status: 429, headers: { 'retry-after': '7' }, body: { error: 'too_many_requests' } }),
}, async (server) => {
  const err = await rejection(m2m.getToken({ tokenUrl: server.url, clientId: uid('smoke-429'), clientSecret: SECRET, retries: 0 }));
  assert.equal(err.code, 'ERR_RATE_LIMITED');
  assert.equal(err.status, 429);
  assert.equal(err.retryAfter, 7);
}));

test('a refused connection is ERR_NETWORK', async () => {
  // A port that was just free: listen, note it, close.
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  const err = await rejection(m2m.getToken({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: uid('smoke-net'), clientSecret: SECRET, retries: 0 }));
  assert.equal(err.code, 'ERR_NETWORK');
  assertNoSecret(err);
});

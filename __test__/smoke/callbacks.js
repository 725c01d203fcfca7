'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): callbacks are
// called exactly once, never synchronously, as (null, value) or (err), and
// an exception thrown inside one is not swallowed.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const m2m = require('../..');
const { withServer, uid } = require('../helpers/token-server');
const { observeCallback } = require('../helpers/callbacks');
const { runNode } = require('../helpers/child');

test('a callback gets (null, token) once, asynchronously, on a miss and on a hit', () => withServer({}, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-cb'), clientSecret: 's' };
  for (const round of ['miss', 'hit']) {
    const r = await observeCallback((cb) => m2m.getToken(options, cb));
    assert.equal(r.ret, undefined, `${round}: getToken with a callback returns undefined`);
    assert.equal(r.calls, 1, `${round}: called once`);
    assert.equal(r.sync, false, `${round}: never synchronously`);
    assert.deepEqual(r.args, [null, server.issued[0]], `${round}: (null, token)`);
  }
  assert.equal(server.count, 1);
}));

test('getTokenInfo and TokenClient callbacks get (null, value)', () => withServer({}, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-cb-info'), clientSecret: 's', scope: 'read' };
  const info = await observeCallback((cb) => m2m.getTokenInfo(options, cb));
  assert.equal(info.calls, 1);
  const [err, value] = info.args;
  assert.equal(err, null);
  assert.equal(value.accessToken, server.issued[0]);
  assert.equal(value.tokenType, 'Bearer');
  assert.equal(value.scope, 'read');
  assert.equal(value.fromCache, false);
  assert.ok(Number.isFinite(value.expiresAt) && value.expiresAt > Date.now());

  const client = new m2m.TokenClient(options);
  const viaClient = await observeCallback((cb) => client.getToken(cb));
  assert.deepEqual([viaClient.calls, viaClient.sync, ...viaClient.args], [1, false, null, server.issued[0]]);
}));

test('an error reaches the callback once, as (err), asynchronously', () => withServer({
  respond: () => ({ status: 401, body: { error: 'invalid_client' } }),
}, async (server) => {
  const failing = await observeCallback((cb) => m2m.getToken({ tokenUrl: server.url, clientId: uid('smoke-cb-err'), clientSecret: 'wrong' }, cb));
  assert.equal(failing.calls, 1);
  assert.equal(failing.sync, false);
  assert.equal(failing.args.length, 1, 'called as (err)');
  assert.ok(failing.args[0] instanceof m2m.TokenError);
  assert.equal(failing.args[0].code, 'ERR_OAUTH');

  const invalid = await observeCallback((cb) => m2m.getToken({ tokenUrl: server.url }, cb));
  assert.equal(invalid.calls, 1);
  assert.equal(invalid.sync, false, 'bad options are reported asynchronously too');
  assert.equal(invalid.args[0].code, 'ERR_INVALID_OPTIONS');
}));

test('an exception thrown in a callback is not swallowed and causes no second call', () => withServer({}, async (server) => {
  const child = path.join(__dirname, 'fixtures', 'callback-throws.js');
  const r = await runNode([child, server.url, uid('smoke-cb-throw')], { timeoutMs: 20000 });
  assert.notEqual(r.code, 0, 'the process dies of the uncaught exception');
  assert.match(r.stderr, /boom from the callback/);
  assert.equal(r.stdout, 'callback 1: ok\n', 'called once, and nothing after the throw');
}));

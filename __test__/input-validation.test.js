'use strict';

// Options are checked before any request: every bad
// option is ERR_INVALID_OPTIONS with a message naming it. getToken and
// getTokenInfo never throw (they reject, or call back once, asynchronously);
// only `new TokenClient` throws, synchronously. No request ever reaches the
// server.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');
const { observeCallback } = require('./helpers/callbacks');

let server;
before(async () => { server = await startTokenServer(); });
after(() => server.close());

const base = clientOptions('iv');
const withoutKey = (o, key) => { const c = { ...o }; delete c[key]; return c; };

// [name, () => options, pattern the message must match (names the option)]
const invalid = [
  ['options null', () => null, /options/],
  ['options "x"', () => 'x', /options/],
  ['options []', () => [], /options/],
  ['options undefined', () => undefined, /options/],
  ['missing clientId', () => withoutKey(base(server), 'clientId'), /clientId/],
  ['clientId 5', () => ({ ...base(server), clientId: 5 }), /clientId/],
  ['clientId empty', () => ({ ...base(server), clientId: '' }), /clientId/],
  ['both domain and tokenUrl', () => ({ ...base(server), domain: 'x.example.com' }), /domain|tokenUrl/],
  ['neither domain nor tokenUrl', () => withoutKey(base(server), 'tokenUrl'), /domain|tokenUrl/],
  ['domain with a path', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'x.example.com/oauth' }), /domain/],
  ['domain with a query', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'x.example.com?a=b' }), /domain/],
  ['domain with userinfo', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'user:pw@x.example.com' }), /domain/],
  ['domain with whitespace', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'x.example .com' }), /domain/],
  ['domain with surrounding whitespace', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: ' x.example.com ' }), /domain/],
  ['domain http://', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'http://x.example.com' }), /domain/],
  ['domain ftp://', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'ftp://x.example.com' }), /domain/],
  ['domain empty', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: '' }), /domain/],
  ['domain 5', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 5 }), /domain/],
  ['tokenUrl http:// to a non-loopback host', () => ({ ...base(server), tokenUrl: 'http://example.com/t' }), /tokenUrl/],
  ['tokenUrl "not a url"', () => ({ ...base(server), tokenUrl: 'not a url' }), /tokenUrl/],
  ['tokenUrl ftp://', () => ({ ...base(server), tokenUrl: 'ftp://127.0.0.1/t' }), /tokenUrl/],
  ['authMethod "nope"', () => ({ ...base(server), authMethod: 'nope' }), /authMethod/],
  ['client_secret_post without clientSecret', () => ({ ...withoutKey(base(server), 'clientSecret'), authMethod: 'client_secret_post' }), /clientSecret/],
  ['client_secret_basic without clientSecret', () => ({ ...withoutKey(base(server), 'clientSecret'), authMethod: 'client_secret_basic' }), /clientSecret/],
  ['default auth method without clientSecret', () => withoutKey(base(server), 'clientSecret'), /clientSecret/],
  ['private_key_jwt without privateKey', () => ({ ...base(server), authMethod: 'private_key_jwt' }), /privateKey/],
  ['privateKey "garbage"', () => ({ ...withoutKey(base(server), 'clientSecret'), privateKey: 'garbage' }), /privateKey/],
  ['signingAlgorithm "HS256"', () => ({ ...withoutKey(base(server), 'clientSecret'), privateKey: rsaPem, signingAlgorithm: 'HS256' }), /signingAlgorithm/],
  ['leewaySeconds -1', () => ({ ...base(server), leewaySeconds: -1 }), /leewaySeconds/],
  ['leewaySeconds NaN', () => ({ ...base(server), leewaySeconds: NaN }), /leewaySeconds/],
  ['leewaySeconds "60"', () => ({ ...base(server), leewaySeconds: '60' }), /leewaySeconds/],
  ['timeoutMs 0', () => ({ ...base(server), timeoutMs: 0 }), /timeoutMs/],
  ['timeoutMs -1', () => ({ ...base(server), timeoutMs: -1 }), /timeoutMs/],
  ['timeoutMs Infinity', () => ({ ...base(server), timeoutMs: Infinity }), /timeoutMs/],
  ['retries 1.5', () => ({ ...base(server), retries: 1.5 }), /retries/],
  ['retries -1', () => ({ ...base(server), retries: -1 }), /retries/],
  ['extraParams "x"', () => ({ ...base(server), extraParams: 'x' }), /extraParams/],
  ['extraParams {a: 1}', () => ({ ...base(server), extraParams: { a: 1 } }), /extraParams/],
  ['extraParams {grant_type: "password"}', () => ({ ...base(server), extraParams: { grant_type: 'password' } }), /extraParams/],
  ['extraParams {client_id: "x"}', () => ({ ...base(server), extraParams: { client_id: 'x' } }), /extraParams/],
  ['scope 5', () => ({ ...base(server), scope: 5 }), /scope/],
  ['audience {}', () => ({ ...base(server), audience: {} }), /audience/],
  ['ca "not pem"', () => ({ ...base(server), ca: 'not pem' }), /\bca\b/],
];

const rsaPem = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });

function checkError(err, pattern, name) {
  assert.ok(err instanceof m2m.TokenError, `${name}: not a TokenError: ${err}`);
  assert.ok(err instanceof Error, name);
  assert.equal(err.name, 'TokenError', name);
  assert.equal(err.code, 'ERR_INVALID_OPTIONS', `${name}: ${err.code}: ${err.message}`);
  assert.match(err.message, pattern, `${name}: the message does not name the option: ${JSON.stringify(err.message)}`);
}

for (const [name, make, pattern] of invalid) {
  test(`invalid: ${name}`, async () => {
    // getToken / getTokenInfo: never throw, reject.
    for (const [form, fn] of [['getToken', m2m.getToken], ['getTokenInfo', m2m.getTokenInfo]]) {
      let p;
      assert.doesNotThrow(() => { p = fn(make()); }, `${form} threw synchronously`);
      assert.ok(p instanceof Promise, `${form} did not return a promise`);
      const err = await p.then(() => assert.fail(`${form}: resolved`), (e) => e);
      checkError(err, pattern, `${name} (${form} promise)`);
    }

    // Callback forms: called once, asynchronously, with (err); return undefined.
    for (const [form, fn] of [['getToken', m2m.getToken], ['getTokenInfo', m2m.getTokenInfo]]) {
      const r = await observeCallback((cb) => fn(make(), cb));
      assert.equal(r.ret, undefined, `${form} callback form returned something`);
      assert.equal(r.sync, false, `${name} (${form} callback): called synchronously`);
      assert.equal(r.calls, 1, `${name} (${form} callback): called ${r.calls} times`);
      assert.equal(r.args.length, 1, `${name} (${form} callback): called with ${r.args.length} arguments`);
      checkError(r.args[0], pattern, `${name} (${form} callback)`);
    }

    // The constructor throws synchronously.
    let thrown;
    try {
      // eslint-disable-next-line no-new
      new m2m.TokenClient(make());
    } catch (err) {
      thrown = err;
    }
    assert.ok(thrown, `${name}: new TokenClient did not throw`);
    checkError(thrown, pattern, `${name} (new TokenClient)`);
  });
}

test('invalid: a callback that is present but not a function', async () => {
  const err = await m2m.getToken(base(server), 'not a function').then(() => assert.fail('resolved'), (e) => e);
  checkError(err, /callback/, 'callback "x"');
});

// ---- accepted (construction only; no request) ----

const accepted = [
  ['domain "https://x.example.com/"', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'https://x.example.com/' })],
  ['domain "x.example.com"', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'x.example.com' })],
  ['domain "x.example.com:8443"', () => ({ ...withoutKey(base(server), 'tokenUrl'), domain: 'x.example.com:8443' })],
  ['tokenUrl http://127.0.0.1/t', () => ({ ...base(server), tokenUrl: 'http://127.0.0.1/t' })],
  ['tokenUrl http://127.5.5.5/t', () => ({ ...base(server), tokenUrl: 'http://127.5.5.5/t' })],
  ['tokenUrl http://[::1]/t', () => ({ ...base(server), tokenUrl: 'http://[::1]/t' })],
  ['tokenUrl http://localhost/t', () => ({ ...base(server), tokenUrl: 'http://localhost/t' })],
  ['tokenUrl https://example.com/t', () => ({ ...base(server), tokenUrl: 'https://example.com/t' })],
  ['private_key_jwt with a PKCS#8 RSA key', () => ({ ...withoutKey(base(server), 'clientSecret'), privateKey: rsaPem })],
  ['leewaySeconds 0, retries 0, timeoutMs 1', () => ({ ...base(server), leewaySeconds: 0, retries: 0, timeoutMs: 1 })],
];

for (const [name, make] of accepted) {
  test(`accepted: ${name}`, () => {
    let client;
    assert.doesNotThrow(() => { client = new m2m.TokenClient(make()); }, name);
    assert.equal(typeof client.getToken, 'function');
  });
}

test('none of the invalid calls reached the server', () => {
  assert.equal(server.count, 0, `requests: ${server.requests.map((r) => r.rawBody).join(' | ')}`);
});

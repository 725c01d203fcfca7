'use strict';

// The guarantees of api.md that one process can show: cache key, single
// flight, leeway, expiry sources, refresh ahead, callbacks, invalidation.

const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const m2m = require('..');
const { withServer } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');
const { observeCallback } = require('./helpers/callbacks');
const { waitFor } = require('./helpers/wait');
const { runNode } = require('./helpers/child');
const { fetchEnds } = require('./helpers/fetch-ends');

const opts = clientOptions('g');

const near = (actual, expected, tolerance, what) => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} not within ${tolerance} of ${expected}`);
};

const rejectWrongSecret = (ctx) => (ctx.form.client_secret === 'wrong'
  ? { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } }
  : undefined);

beforeEach(() => m2m.clearCache());

// ---- 1. cache key ----

test('cache key includes the credential: a wrong secret never gets the right one\'s token', () => withServer({ respond: rejectWrongSecret }, async (server) => {
  const right = opts(server, { clientSecret: 'right' });
  const wrong = { ...right, clientSecret: 'wrong' };
  const token = await m2m.getToken(right);
  await assert.rejects(m2m.getToken(wrong), { name: 'TokenError', code: 'ERR_OAUTH', status: 401 });
  await assert.rejects(m2m.getTokenInfo(wrong), { code: 'ERR_OAUTH' });
  await assert.rejects(new m2m.TokenClient(wrong).getToken(), { code: 'ERR_OAUTH' });
  assert.equal(server.count, 4, 'every wrong-secret call went to the server');
  assert.equal(await m2m.getToken(right), token);
  assert.equal(server.count, 4);
}));

test('cache key includes the credential: wrong secret first, then the right one', () => withServer({ respond: rejectWrongSecret }, async (server) => {
  const right = opts(server, { clientSecret: 'right' });
  await assert.rejects(m2m.getToken({ ...right, clientSecret: 'wrong' }), { code: 'ERR_OAUTH' });
  assert.equal(await m2m.getToken(right), server.issued[0]);
}));

test('cache key includes the credential: two secrets of one client id get two tokens', () => withServer({}, async (server) => {
  const a = opts(server, { clientSecret: 'secret-a' });
  const b = { ...a, clientSecret: 'secret-b' };
  const [ta, tb] = await Promise.all([m2m.getToken(a), m2m.getToken(b)]);
  assert.notEqual(ta, tb);
  assert.equal(server.count, 2);
  const forB = server.requests.find((r) => r.form.client_secret === 'secret-b');
  assert.equal(tb, server.issued[server.requests.indexOf(forB)]);
  assert.equal(await m2m.getToken(a), ta);
  assert.equal(await m2m.getToken(b), tb);
  assert.equal(server.count, 2);
}));

test('cache key includes audience, scope, extraParams, auth method and token URL', () => withServer({}, async (server) => {
  await withServer({}, async (server2) => {
    const base = opts(server);
    const variants = [
      base,
      { ...base, audience: 'https://a.example.com/' },
      { ...base, audience: 'https://b.example.com/' },
      { ...base, scope: 'read:users' },
      { ...base, scope: 'read:users create:users' },
      { ...base, extraParams: { organization: 'org_1' } },
      { ...base, extraParams: { organization: 'org_2' } },
      { ...base, authMethod: 'client_secret_basic' },
      { ...base, tokenUrl: server2.url },
    ];
    const tokens = [];
    for (const v of variants) tokens.push(await m2m.getToken(v));
    assert.equal(new Set(tokens).size, variants.length, 'one token per variant');
    assert.equal(server.count + server2.count, variants.length);
    for (let i = 0; i < variants.length; i++) {
      const info = await m2m.getTokenInfo({ ...variants[i] });
      assert.equal(info.accessToken, tokens[i]);
      assert.equal(info.fromCache, true);
    }
    assert.equal(server.count + server2.count, variants.length);
    assert.equal(m2m.stats().entries, variants.length);
  });
}));

// ---- 2. single flight ----

test('single flight: 10,000 concurrent cold callers share one request', () => withServer({ delayMs: 50 }, async (server) => {
  const o = opts(server);
  const client = new m2m.TokenClient({ ...o });
  const before = m2m.stats();
  const calls = [];
  for (let i = 0; i < 10000; i++) {
    switch (i % 4) {
      case 0: calls.push(m2m.getToken({ ...o })); break;
      case 1: calls.push(m2m.getTokenInfo(o).then((info) => info.accessToken)); break;
      case 2: calls.push(new Promise((resolve, reject) => m2m.getToken(o, (e, t) => (e ? reject(e) : resolve(t))))); break;
      default: calls.push(client.getToken());
    }
  }
  const tokens = await Promise.all(calls);
  assert.equal(server.count, 1);
  assert.equal(new Set(tokens).size, 1);
  assert.equal(tokens[0], server.issued[0]);
  const after = m2m.stats();
  assert.equal(after.requests - before.requests, 1);
  assert.equal(after.misses - before.misses, 10000);
}));

test('single flight: concurrent callers share one failed request too', () => withServer({ delayMs: 50, respond: rejectWrongSecret }, async (server) => {
  const o = opts(server, { clientSecret: 'wrong' });
  const results = await Promise.allSettled(Array.from({ length: 100 }, () => m2m.getToken(o)));
  assert.equal(server.count, 1);
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.equal(r.reason.code, 'ERR_OAUTH');
  }
}));

// ---- 3. leeway and expiry sources ----

test('leeway: no token is handed out within leewaySeconds of its expiry', () => withServer({ expiresIn: 61 }, async (server) => {
  const o = opts(server, { leewaySeconds: 60 });
  const first = await m2m.getTokenInfo(o);
  const t0 = Date.now();
  assert.equal(first.fromCache, false);
  assert.equal((await m2m.getTokenInfo(o)).fromCache, true);
  // The behaviour: the token (usable 1 s) ages into its leeway; 100 ms of margin.
  await sleep(1100 - (Date.now() - t0));
  const later = await m2m.getTokenInfo(o);
  assert.equal(later.fromCache, false);
  assert.equal(later.accessToken, server.issued[1]);
  assert.notEqual(later.accessToken, first.accessToken);
  assert.equal(server.count, 2);
}));

test('leeway: the default is 60 s', () => withServer({ expiresIn: 61 }, async (server) => {
  const o = opts(server);
  const first = await m2m.getToken(o);
  const t0 = Date.now();
  await sleep(1100 - (Date.now() - t0)); // the behaviour: the token (usable 1 s) ages into the default leeway
  const later = await m2m.getTokenInfo(o);
  assert.equal(later.fromCache, false);
  assert.notEqual(later.accessToken, first);
  assert.equal(server.count, 2);
}));

test('leeway: a token with no usable lifetime is ERR_INVALID_RESPONSE', () => withServer({ expiresIn: 60 }, async (server) => {
  await assert.rejects(m2m.getToken(opts(server, { leewaySeconds: 60 })), { code: 'ERR_INVALID_RESPONSE' });
}));

test('expires_in as a numeric string', () => withServer({ expiresIn: '62' }, async (server) => {
  const o = opts(server, { leewaySeconds: 60 });
  const info = await m2m.getTokenInfo(o);
  near(info.expiresAt, Date.now() + 62000, 2000, 'expiresAt');
  assert.equal(info.accessToken, server.issued[0]);
  assert.equal((await m2m.getTokenInfo(o)).fromCache, true);
  assert.equal(server.count, 1);
}));

test('expires_in absent: the JWT exp claim is used', () => withServer({ expiresIn: null, tokenFormat: 'jwt', jwtExpSeconds: 1234 }, async (server) => {
  const info = await m2m.getTokenInfo(opts(server));
  assert.equal(info.accessToken, server.issued[0]);
  near(info.expiresAt, Date.now() + 1234000, 2000, 'expiresAt');
}));

test('expires_in present wins over the JWT exp claim', () => withServer({ expiresIn: 3600, tokenFormat: 'jwt', jwtExpSeconds: 1234 }, async (server) => {
  const info = await m2m.getTokenInfo(opts(server));
  near(info.expiresAt, Date.now() + 3600000, 2000, 'expiresAt');
}));

test('neither expires_in nor a JWT exp: 300 s', () => withServer({ expiresIn: null }, async (server) => {
  const o = opts(server);
  const info = await m2m.getTokenInfo(o);
  near(info.expiresAt, Date.now() + 300000, 2000, 'expiresAt');
  assert.equal((await m2m.getTokenInfo(o)).fromCache, true);
}));

// ---- 4. refresh ahead ----

test('refresh ahead: after 90 % of the usable lifetime a hit answers at once and starts one background refresh', () => withServer({
  expiresIn: 63, // usable 3 s with leeway 60; refresh ahead from 2.7 s
  respond: (ctx) => (ctx.n >= 2 ? { ...ctx.defaultResponse(), delayMs: 1000 } : undefined),
}, async (server) => {
  const o = opts(server, { leewaySeconds: 60 });
  const old = await m2m.getTokenInfo(o);
  const t0 = Date.now();
  const base = m2m.stats();

  // The behaviour: the token ages, first to half its usable lifetime, then
  // just past the 90 % point (2.7 s) where a hit starts the refresh.
  await sleep(1500);
  assert.equal((await m2m.getTokenInfo(o)).accessToken, old.accessToken);
  await sleep(t0 + 2750 - Date.now());
  assert.equal(server.count, 1, 'no refresh before 90 % of the usable lifetime');

  // At ~2.75 s: the hit answers with the old token and does not wait on the refresh.
  const ends = fetchEnds(o.clientId);
  const started = Date.now();
  const hit = await m2m.getTokenInfo(o);
  assert.ok(Date.now() - started < 500, 'the hit did not wait on the (1 s) refresh');
  assert.equal(hit.accessToken, old.accessToken);
  assert.equal(hit.fromCache, true);

  await waitFor(() => server.count === 2, 'the background refresh');
  const burst = await Promise.all(Array.from({ length: 100 }, () => m2m.getTokenInfo(o)));
  for (const b of burst) assert.equal(b.accessToken, old.accessToken);
  assert.equal(server.count, 2, 'exactly one background request');
  assert.equal(m2m.stats().refreshes - base.refreshes, 1);

  // Once the refresh (held 1 s by the server) has landed, hits answer with the new token.
  await waitFor(() => ends.length === 1, 'the refresh\'s fetch:end', 3000);
  ends.stop();
  assert.equal(ends[0].reason, 'refresh');
  const later = await m2m.getTokenInfo(o);
  assert.equal(later.accessToken, server.issued[1]);
  assert.notEqual(later.accessToken, old.accessToken);
  assert.equal(later.fromCache, true, 'the refreshed token is cached');
  assert.equal(server.count, 2);
}));

// ---- 5. callbacks ----

test('callbacks: exactly once, never synchronous, (null, value) on success', () => withServer({}, async (server) => {
  const o = opts(server);
  const client = new m2m.TokenClient(opts(server));
  const cases = [
    ['getToken cold', (cb) => m2m.getToken(o, cb), 'string'],
    ['getToken hit', (cb) => m2m.getToken(o, cb), 'string'],
    ['getTokenInfo hit', (cb) => m2m.getTokenInfo(o, cb), 'object'],
    ['client.getTokenInfo cold', (cb) => client.getTokenInfo(cb), 'object'],
    ['client.getToken hit', (cb) => client.getToken(cb), 'string'],
  ];
  for (const [name, start, type] of cases) {
    const r = await observeCallback(start);
    assert.equal(r.ret, undefined, name);
    assert.equal(r.sync, false, `${name}: called synchronously`);
    assert.equal(r.calls, 1, `${name}: called ${r.calls} times`);
    assert.equal(r.args.length, 2, name);
    assert.equal(r.args[0], null, name);
    assert.equal(typeof r.args[1], type, name);
  }
}));

test('callbacks: exactly once, never synchronous, (err) on invalid options and on a 401', () => withServer({ respond: rejectWrongSecret }, async (server) => {
  const wrong = opts(server, { clientSecret: 'wrong' });
  const cases = [
    ['getToken invalid options', (cb) => m2m.getToken({ tokenUrl: server.url }, cb), 'ERR_INVALID_OPTIONS'],
    ['getTokenInfo invalid options', (cb) => m2m.getTokenInfo(null, cb), 'ERR_INVALID_OPTIONS'],
    ['getToken 401', (cb) => m2m.getToken(wrong, cb), 'ERR_OAUTH'],
    ['getTokenInfo 401', (cb) => m2m.getTokenInfo(wrong, cb), 'ERR_OAUTH'],
    ['client.getToken 401', (cb) => new m2m.TokenClient(wrong).getToken(cb), 'ERR_OAUTH'],
  ];
  for (const [name, start, code] of cases) {
    const r = await observeCallback(start);
    assert.equal(r.ret, undefined, name);
    assert.equal(r.sync, false, `${name}: called synchronously`);
    assert.equal(r.calls, 1, `${name}: called ${r.calls} times`);
    assert.equal(r.args.length, 1, `${name}: called as (err)`);
    assert.ok(r.args[0] instanceof m2m.TokenError, name);
    assert.equal(r.args[0].code, code, name);
  }
}));

const script = path.join(__dirname, 'fixtures-scripts', 'callback-throws.js');
const runChild = (args) => runNode([script, ...args], { timeoutMs: 15000 });

test('callbacks: an exception thrown in a callback is an uncaughtException, and no second call', () => withServer({ respond: rejectWrongSecret }, async (server) => {
  const cases = [
    ['fetch', 'ok string'],
    ['hit', 'ok string'],
    ['info', 'ok object'],
    ['client', 'ok string'],
    ['oauth-error', 'error ERR_OAUTH'],
    ['invalid-options', 'error ERR_INVALID_OPTIONS'],
  ];
  const results = await Promise.all(cases.map(([mode]) => runChild([server.url, mode, 'handler'])));
  cases.forEach(([mode, outcome], i) => {
    const r = results[i];
    assert.equal(r.code, 0, `${mode}: exit code (stderr: ${r.stderr})`);
    assert.deepEqual(r.stdout.trim().split('\n'), [`callback 1: ${outcome}`, 'uncaught: boom 1', 'done'], mode);
  });
}));

test('callbacks: without a handler, the exception crashes the process (not swallowed)', () => withServer({ respond: rejectWrongSecret }, async (server) => {
  const [ok, failed] = await Promise.all([runChild([server.url, 'fetch']), runChild([server.url, 'oauth-error'])]);
  for (const [r, outcome] of [[ok, 'ok string'], [failed, 'error ERR_OAUTH']]) {
    assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
    assert.match(r.stderr, /Error: boom 1/);
    assert.deepEqual(r.stdout.trim().split('\n'), [`callback 1: ${outcome}`]);
  }
}));

// ---- 6. invalidation ----

test('invalidation takes effect at once, for every client of the entry', () => withServer({}, async (server) => {
  const o = opts(server);
  const client = new m2m.TokenClient(o);
  const a = await client.getToken();
  assert.equal(await client.getToken(), a); // this thread's view now holds the token

  assert.equal(m2m.invalidate({ ...o }), true);
  const b = await client.getTokenInfo();
  assert.equal(b.fromCache, false);
  assert.equal(b.accessToken, server.issued[1]);

  m2m.clearCache();
  const c = await new Promise((resolve, reject) => client.getTokenInfo((e, v) => (e ? reject(e) : resolve(v))));
  assert.equal(c.fromCache, false);
  assert.equal(c.accessToken, server.issued[2]);

  assert.equal(client.invalidate(), true);
  const d = await m2m.getTokenInfo(o);
  assert.equal(d.fromCache, false);
  assert.equal(d.accessToken, server.issued[3]);
  assert.equal(await client.getToken(), d.accessToken);
  assert.equal(server.count, 4);
}));

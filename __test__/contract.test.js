'use strict';

// The exports of api.md and their shapes, and the token request the endpoint
// receives.

const { test, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('..');
const { withServer, uid } = require('./helpers/token-server');
const tls = require('./helpers/tls-fixtures');
const { clientOptions, formEncode } = require('./helpers/options');
const { callbackArgs } = require('./helpers/callbacks');

const opts = clientOptions('contract');

const statsDelta = (before) => {
  const now = m2m.stats();
  return Object.fromEntries(Object.keys(now).map((k) => [k, now[k] - before[k]]));
};

beforeEach(() => m2m.clearCache());

test('exports', () => {
  for (const name of ['getToken', 'getTokenInfo', 'TokenClient', 'invalidate', 'clearCache', 'stats', 'TokenError']) {
    assert.equal(typeof m2m[name], 'function', name);
  }
});

test('TokenError is a class extending Error, named TokenError', async () => {
  assert.ok(m2m.TokenError.prototype instanceof Error);
  assert.equal(m2m.TokenError.prototype.name, 'TokenError');
  const err = await m2m.getToken({ clientSecret: 'x', tokenUrl: 'http://127.0.0.1:1/t' }).then(
    () => assert.fail('should reject'),
    (e) => e,
  );
  assert.ok(err instanceof m2m.TokenError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'TokenError');
  assert.equal(err.code, 'ERR_INVALID_OPTIONS');
  assert.equal(typeof err.message, 'string');
  assert.equal(typeof err.stack, 'string');
});

test('getToken(options): a promise of the access token', () => withServer({}, async (server) => {
  const p = m2m.getToken(opts(server));
  assert.ok(p instanceof Promise);
  const token = await p;
  assert.equal(token, server.issued[0]);
  assert.equal(server.count, 1);
}));

test('getToken(options, callback): returns undefined, callback(null, token)', () => withServer({}, async (server) => {
  const o = opts(server);
  const args = await callbackArgs((cb) => m2m.getToken(o, cb));
  assert.deepEqual(args, [null, server.issued[0]]);
  const hit = await callbackArgs((cb) => m2m.getToken(o, cb));
  assert.deepEqual(hit, [null, server.issued[0]]);
  assert.equal(server.count, 1);
}));

test('getToken with bad options rejects (never throws) with ERR_INVALID_OPTIONS', async () => {
  const bad = [
    undefined,
    null,
    'contoso.auth0.com',
    {},
    { domain: 'contoso.auth0.com', clientSecret: 's' }, // no clientId
    { domain: 'contoso.auth0.com', tokenUrl: 'https://contoso.auth0.com/oauth/token', clientId: 'c', clientSecret: 's' },
    { clientId: 'c', clientSecret: 's' }, // neither domain nor tokenUrl
  ];
  for (const options of bad) {
    let p;
    assert.doesNotThrow(() => { p = m2m.getToken(options); });
    await assert.rejects(p, (e) => e instanceof m2m.TokenError && e.code === 'ERR_INVALID_OPTIONS', JSON.stringify(options));
    let q;
    assert.doesNotThrow(() => { q = m2m.getTokenInfo(options); });
    await assert.rejects(q, (e) => e instanceof m2m.TokenError && e.code === 'ERR_INVALID_OPTIONS');
  }
  const [err, value] = await callbackArgs((cb) => m2m.getToken({}, cb));
  assert.ok(err instanceof m2m.TokenError);
  assert.equal(err.code, 'ERR_INVALID_OPTIONS');
  assert.equal(value, undefined);
});

test('a callback that is not a function: the promise form rejects with ERR_INVALID_OPTIONS', () => withServer({}, async (server) => {
  const o = opts(server);
  const isInvalid = (e) => e instanceof m2m.TokenError && e.code === 'ERR_INVALID_OPTIONS';
  await assert.rejects(m2m.getToken(o, 'nope'), isInvalid);
  await assert.rejects(m2m.getTokenInfo(o, 42), isInvalid);
  await m2m.getToken(o); // also on the hit path
  await assert.rejects(m2m.getToken(o, {}), isInvalid);
  await assert.rejects(new m2m.TokenClient(o).getTokenInfo(null), isInvalid);
}));

test('getTokenInfo: TokenInfo shape, expiresAt from expires_in, fromCache false then true', () => withServer({ expiresIn: 7200 }, async (server) => {
  const o = opts(server);
  const before = Date.now();
  const info = await m2m.getTokenInfo(o);
  const after = Date.now();
  assert.equal(info.accessToken, server.issued[0]);
  assert.equal(info.tokenType, 'Bearer');
  assert.equal(typeof info.expiresAt, 'number');
  assert.ok(info.expiresAt >= before + 7200 * 1000 - 1000 && info.expiresAt <= after + 7200 * 1000 + 1000,
    `expiresAt ${info.expiresAt} should be about now + 7200 s`);
  assert.equal(info.fromCache, false);
  assert.equal(info.scope, undefined);
  for (const key of Object.keys(info)) {
    assert.ok(['accessToken', 'tokenType', 'expiresAt', 'scope', 'fromCache'].includes(key), `unexpected key ${key}`);
  }

  const hit = await m2m.getTokenInfo(o);
  assert.deepEqual(hit, { ...info, fromCache: true });
  assert.equal(server.count, 1);

  const [err, cbInfo] = await callbackArgs((cb) => m2m.getTokenInfo(o, cb));
  assert.equal(err, null);
  assert.deepEqual(cbInfo, { ...info, fromCache: true });
}));

test('getTokenInfo: scope is passed through from the answer', () => withServer({}, async (server) => {
  const echoed = await m2m.getTokenInfo(opts(server, { scope: 'read:users update:users' }));
  assert.equal(echoed.scope, 'read:users update:users');

  await withServer({ respond: (ctx) => ({ body: { ...ctx.defaultResponse().body, scope: 'read:users' } }) }, async (narrowing) => {
    const info = await m2m.getTokenInfo(opts(narrowing, { scope: 'read:users update:users' }));
    assert.equal(info.scope, 'read:users', 'the granted scope, not the requested one');
  });
}));

test('TokenClient: constructor validates synchronously', () => {
  const isInvalid = (e) => e instanceof m2m.TokenError && e.code === 'ERR_INVALID_OPTIONS';
  assert.throws(() => new m2m.TokenClient({ domain: 'contoso.auth0.com', clientSecret: 's' }), isInvalid);
  assert.throws(() => new m2m.TokenClient({ clientId: 'c', clientSecret: 's' }), isInvalid);
  assert.throws(() => new m2m.TokenClient({
    domain: 'contoso.auth0.com', tokenUrl: 'https://contoso.auth0.com/oauth/token', clientId: 'c', clientSecret: 's',
  }), isInvalid);
  assert.throws(() => new m2m.TokenClient(), isInvalid);
  // Valid options construct without a request.
  const client = new m2m.TokenClient({ domain: 'contoso.auth0.com', clientId: 'c', clientSecret: 's' });
  assert.ok(client instanceof m2m.TokenClient);
});

test('TokenClient: getToken / getTokenInfo, promise and callback', () => withServer({ expiresIn: 3600 }, async (server) => {
  const client = new m2m.TokenClient(opts(server));
  const token = await client.getToken();
  assert.equal(token, server.issued[0]);
  assert.deepEqual(await callbackArgs((cb) => client.getToken(cb)), [null, token]);
  const info = await client.getTokenInfo();
  assert.equal(info.accessToken, token);
  assert.equal(info.fromCache, true);
  const [err, cbInfo] = await callbackArgs((cb) => client.getTokenInfo(cb));
  assert.equal(err, null);
  assert.deepEqual(cbInfo, info);
  assert.equal(server.count, 1);
}));

test('TokenClient shares the process-wide entry with getToken(options) and other clients', () => withServer({}, async (server) => {
  const o = opts(server);
  const token = await m2m.getToken(o);
  const a = await new m2m.TokenClient(o).getTokenInfo();
  const b = await new m2m.TokenClient({ ...o }).getTokenInfo();
  assert.equal(a.accessToken, token);
  assert.equal(a.fromCache, true);
  assert.equal(b.accessToken, token);
  assert.equal(server.count, 1);
}));

test('invalidate(options): true when an entry was dropped, false otherwise; next call fetches anew', () => withServer({}, async (server) => {
  const o = opts(server);
  assert.equal(m2m.invalidate(o), false, 'nothing cached yet');
  const first = await m2m.getToken(o);
  assert.equal(m2m.invalidate({ ...o }), true);
  assert.equal(m2m.invalidate(o), false, 'already dropped');
  const info = await m2m.getTokenInfo(o);
  assert.equal(info.fromCache, false);
  assert.equal(info.accessToken, server.issued[1]);
  assert.notEqual(info.accessToken, first);
  assert.equal(server.count, 2);
  assert.equal(m2m.invalidate({ ...o, clientId: uid('other') }), false, 'other entries are not named');
}));

test('client.invalidate(): true when dropped, false otherwise; next call fetches anew', () => withServer({}, async (server) => {
  const o = opts(server);
  const client = new m2m.TokenClient(o);
  assert.equal(client.invalidate(), false);
  const first = await client.getToken();
  assert.equal(client.invalidate(), true);
  assert.equal(client.invalidate(), false);
  const info = await client.getTokenInfo();
  assert.equal(info.fromCache, false);
  assert.notEqual(info.accessToken, first);
  assert.equal(server.count, 2);
  // invalidate(options) names the same entry as the client
  assert.equal(m2m.invalidate(o), true);
  assert.equal((await client.getTokenInfo()).fromCache, false);
  assert.equal(server.count, 3);
}));

test('clearCache(): drops every entry; the next calls fetch anew', () => withServer({}, async (server) => {
  const a = opts(server);
  const b = opts(server);
  await m2m.getToken(a);
  await m2m.getToken(b);
  assert.equal(m2m.stats().entries, 2);
  assert.equal(m2m.clearCache(), undefined);
  assert.equal(m2m.stats().entries, 0);
  assert.equal((await m2m.getTokenInfo(a)).fromCache, false);
  assert.equal((await m2m.getTokenInfo(b)).fromCache, false);
  assert.equal(server.count, 4);
}));

test('stats(): shape and exact counters', () => withServer({
  respond: (ctx) => (ctx.form.client_secret === 'wrong'
    ? { status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } }
    : undefined),
}, async (server) => {
  const s = m2m.stats();
  assert.deepEqual(Object.keys(s).sort(), ['entries', 'errors', 'hits', 'misses', 'refreshes', 'requests', 'storeErrors', 'storeHits']);
  for (const v of Object.values(s)) assert.equal(typeof v, 'number');
  assert.equal(s.entries, 0);

  const o = opts(server);
  let base = m2m.stats();
  await m2m.getToken(o);
  assert.deepEqual(statsDelta(base), { hits: 0, misses: 1, requests: 1, refreshes: 0, errors: 0, entries: 1, storeHits: 0, storeErrors: 0 });

  base = m2m.stats();
  await m2m.getToken(o);
  await m2m.getTokenInfo(o);
  await callbackArgs((cb) => m2m.getToken(o, cb));
  await new m2m.TokenClient(o).getToken();
  assert.deepEqual(statsDelta(base), { hits: 4, misses: 0, requests: 0, refreshes: 0, errors: 0, entries: 0, storeHits: 0, storeErrors: 0 });

  // Five concurrent cold callers: five misses, one request.
  const o2 = opts(server);
  base = m2m.stats();
  await Promise.all([1, 2, 3, 4, 5].map(() => m2m.getToken(o2)));
  assert.deepEqual(statsDelta(base), { hits: 0, misses: 5, requests: 1, refreshes: 0, errors: 0, entries: 1, storeHits: 0, storeErrors: 0 });

  // Invalid options: an error only.
  base = m2m.stats();
  await m2m.getToken({}).catch(() => {});
  await callbackArgs((cb) => m2m.getTokenInfo({ clientId: 'x' }, cb));
  assert.deepEqual(statsDelta(base), { hits: 0, misses: 0, requests: 0, refreshes: 0, errors: 2, entries: 0, storeHits: 0, storeErrors: 0 });

  // A 401: one request (never retried), one error, and no entry kept: it
  // holds no token (nor a rate-limit window). The memory store is never asked.
  base = m2m.stats();
  const sent = server.count;
  await assert.rejects(m2m.getToken(opts(server, { clientSecret: 'wrong' })), { code: 'ERR_OAUTH' });
  assert.equal(server.count - sent, 1, 'the endpoint got one request');
  assert.deepEqual(statsDelta(base), { hits: 0, misses: 0, requests: server.count - sent, refreshes: 0, errors: 1, entries: 0, storeHits: 0, storeErrors: 0 });

  m2m.clearCache();
  assert.equal(m2m.stats().entries, 0);
}));

test('an OAuth error answer is a TokenError with status and oauthError fields', () => withServer({
  respond: () => ({ status: 401, body: { error: 'access_denied', error_description: 'Unauthorized' } }),
}, async (server) => {
  const err = await m2m.getToken(opts(server)).then(() => assert.fail('should reject'), (e) => e);
  assert.ok(err instanceof m2m.TokenError);
  assert.equal(err.name, 'TokenError');
  assert.equal(err.code, 'ERR_OAUTH');
  assert.equal(err.status, 401);
  assert.equal(err.oauthError, 'access_denied');
  assert.equal(err.oauthErrorDescription, 'Unauthorized');
  assert.equal(server.count, 1);
}));

// ---- the request the endpoint receives ----

test('request: POST form, grant_type=client_credentials, client_secret_post by default, nothing unasked', () => withServer({}, async (server) => {
  const o = opts(server, { clientSecret: 's3cr3t' });
  await m2m.getToken(o);
  const [req] = server.requests;
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/oauth/token');
  assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded\b/);
  assert.deepEqual(req.form, { grant_type: 'client_credentials', client_id: o.clientId, client_secret: 's3cr3t' });
  assert.equal(req.headers.authorization, undefined);
}));

test('request: audience, scope and extraParams are sent when given', () => withServer({}, async (server) => {
  const o = opts(server, {
    clientSecret: 'p&ss=word+%',
    audience: 'https://api.example.com/',
    scope: 'read:users create:users',
    extraParams: { organization: 'org_123', resource: 'https://r.example.com/x?y=1&z' },
  });
  await m2m.getToken(o);
  assert.deepEqual(server.requests[0].form, {
    grant_type: 'client_credentials',
    client_id: o.clientId,
    client_secret: 'p&ss=word+%',
    audience: 'https://api.example.com/',
    scope: 'read:users create:users',
    organization: 'org_123',
    resource: 'https://r.example.com/x?y=1&z',
  });
}));

test('request: client_secret_post with explicit authMethod', () => withServer({}, async (server) => {
  const o = opts(server, { authMethod: 'client_secret_post' });
  await m2m.getToken(o);
  assert.equal(server.requests[0].form.client_secret, 'secret');
  assert.equal(server.requests[0].form.client_id, o.clientId);
  assert.equal(server.requests[0].headers.authorization, undefined);
}));

test('request: client_secret_basic sends Authorization: Basic of the form-urlencoded id and secret, no client_secret in the body', () => withServer({}, async (server) => {
  const clientId = `${uid('basic')}:+&%é`;
  const clientSecret = 's:+&%é9';
  await m2m.getToken({ tokenUrl: server.url, clientId, clientSecret, authMethod: 'client_secret_basic' });
  const [req] = server.requests;
  assert.equal(formEncode(clientSecret), 's%3A%2B%26%25%C3%A99');
  const expected = `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64')}`;
  assert.equal(req.headers.authorization, expected);
  // and it decodes back to the credentials (RFC 6749 §2.3.1)
  const [id, secret] = Buffer.from(req.headers.authorization.slice(6), 'base64').toString().split(':')
    .map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
  assert.equal(id, clientId);
  assert.equal(secret, clientSecret);
  assert.equal(req.form.client_secret, undefined);
  assert.equal(req.form.grant_type, 'client_credentials');
  assert.equal(req.method, 'POST');
  assert.match(req.headers['content-type'], /^application\/x-www-form-urlencoded\b/);
}));

test('request: with domain, audience defaults to the Management API v2', () => withServer({ tls: { key: tls.key, cert: tls.cert } }, async (server) => {
  const clientId = uid('domain');
  await m2m.getToken({ domain: server.host, clientId, clientSecret: 's', ca: tls.ca });
  const [req] = server.requests;
  assert.equal(req.path, '/oauth/token');
  assert.deepEqual(req.form, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: 's',
    audience: `https://${server.host}/api/v2/`,
  });
}));

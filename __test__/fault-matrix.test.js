'use strict';

// Fault injection: every way a token endpoint can fail, each case
// against its own server. Each asserts the error code, the number of requests
// the server received and a generous upper bound on how long the call took.
// The `after` hook prints the fault matrix: fault | code | requests.

const { test, beforeEach, after } = require('node:test');
const assert = require('node:assert/strict');
const { setTimeout: sleep } = require('node:timers/promises');

const m2m = require('..');
const { withServer, uid } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');
const { timed } = require('./helpers/outcomes');
const { waitFor } = require('./helpers/wait');
const { freePort } = require('./helpers/ports');
const { fetchEnds } = require('./helpers/fetch-ends');

const opts = clientOptions('fault');

const matrix = [];

/**
 * One fault case: `respond` answers every request, `extra` is merged into the
 * options. Asserts code, server count and elapsed < maxMs; records the row.
 * Returns { err, value, ms, server }.
 */
async function fault(name, { respond, extra = {}, code, count, maxMs, serverOpts = {} }) {
  return withServer({ ...serverOpts, respond }, async (server) => {
    const o = opts(server, extra);
    const r = await timed(() => m2m.getToken(o));
    matrix.push({ fault: name, code: r.err ? r.err.code : 'ok', requests: server.count, ms: r.ms });
    if (code === 'ok') {
      assert.equal(r.err, undefined, `${name}: expected a token, got ${r.err && r.err.code}: ${r.err && r.err.message}`);
      assert.equal(typeof r.value, 'string');
    } else {
      assert.ok(r.err, `${name}: expected ${code}, got a token`);
      assert.ok(r.err instanceof m2m.TokenError, `${name}: not a TokenError`);
      assert.equal(r.err.name, 'TokenError');
      assert.equal(r.err.code, code, `${name}: ${r.err.message}`);
    }
    assert.equal(server.count, count, `${name}: request count`);
    assert.ok(r.ms < maxMs, `${name}: took ${r.ms} ms (bound ${maxMs} ms)`);
    return { ...r, server, options: o };
  });
}

beforeEach(() => m2m.clearCache());

after(() => {
  const w = [
    Math.max(5, ...matrix.map((r) => r.fault.length)),
    Math.max(4, ...matrix.map((r) => r.code.length)),
    Math.max(8, ...matrix.map((r) => String(r.requests).length)),
  ];
  const line = (a, b, c, d) => `${String(a).padEnd(w[0])} | ${String(b).padEnd(w[1])} | ${String(c).padStart(w[2])} | ${String(d).padStart(6)}`;
  const out = ['', 'fault matrix', line('fault', 'code', 'requests', 'ms'), `${'-'.repeat(w[0])}-+-${'-'.repeat(w[1])}-+-${'-'.repeat(w[2])}-+-${'-'.repeat(6)}`];
  for (const r of matrix) out.push(line(r.fault, r.code, r.requests, Math.round(r.ms)));
  console.log(out.join('\n'));
});

// ---- 5xx ----

test('500 then 200: retried, succeeds', () => fault('500 then 200', {
  respond: (ctx) => (ctx.n === 1 ? { status: 500, body: 'Internal Server Error', headers: { 'content-type': 'text/plain' } } : undefined),
  code: 'ok', count: 2, maxMs: 3000,
}));

test('503 forever: ERR_HTTP_STATUS 503 after 3 attempts', async () => {
  const r = await fault('503 forever', { respond: () => ({ status: 503, body: 'Service Unavailable', headers: { 'content-type': 'text/plain' } }), code: 'ERR_HTTP_STATUS', count: 3, maxMs: 6000 });
  assert.equal(r.err.status, 503);
});

test('503 forever, retries 0: one attempt', async () => {
  const r = await fault('503 forever, retries 0', { respond: () => ({ status: 503, body: 'Service Unavailable' }), extra: { retries: 0 }, code: 'ERR_HTTP_STATUS', count: 1, maxMs: 2000 });
  assert.equal(r.err.status, 503);
});

test('HTML 502 from a proxy: ERR_HTTP_STATUS 502', async () => {
  const r = await fault('HTML 502', {
    respond: () => ({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>' }),
    code: 'ERR_HTTP_STATUS', count: 3, maxMs: 6000,
  });
  assert.equal(r.err.status, 502);
});

// ---- 429 ----

test('429 Retry-After: 1 then 200: waits the Retry-After, succeeds', async () => {
  const r = await fault('429 Retry-After 1 then 200', {
    respond: (ctx) => (ctx.n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } } : undefined),
    code: 'ok', count: 2, maxMs: 4000,
  });
  const gap = r.server.requests[1].at - r.server.requests[0].at;
  assert.ok(gap >= 900, `Retry-After honoured: second attempt ${gap} ms after the first`);
});

test('429 forever with Retry-After: 1: ERR_RATE_LIMITED, retryAfter 1, 3 attempts', async () => {
  const r = await fault('429 forever, Retry-After 1', {
    respond: () => ({ status: 429, headers: { 'retry-after': '1' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } }),
    code: 'ERR_RATE_LIMITED', count: 3, maxMs: 8000,
  });
  assert.equal(r.err.retryAfter, 1);
  assert.equal(r.err.status, 429);
});

test('429 with Retry-After as an HTTP date, then 200', async () => {
  const r = await fault('429 Retry-After HTTP date (+2 s) then 200', {
    respond: (ctx) => (ctx.n === 1 ? { status: 429, headers: { 'retry-after': new Date(Date.now() + 2000).toUTCString() }, body: '' } : undefined),
    code: 'ok', count: 2, maxMs: 6000,
  });
  const gap = r.server.requests[1].at - r.server.requests[0].at;
  // The date has a 1 s resolution: the wait is between ~1 s and 2 s.
  assert.ok(gap >= 700, `HTTP-date Retry-After honoured: second attempt ${gap} ms after the first`);
});

test('429 with Retry-After as a far HTTP date: fails at once with retryAfter', async () => {
  const r = await fault('429 Retry-After HTTP date (+120 s)', {
    respond: () => ({ status: 429, headers: { 'retry-after': new Date(Date.now() + 120000).toUTCString() }, body: '' }),
    code: 'ERR_RATE_LIMITED', count: 1, maxMs: 2000,
  });
  assert.ok(r.err.retryAfter >= 100 && r.err.retryAfter <= 121, `retryAfter ${r.err.retryAfter}`);
});

test('429 Retry-After: 120: fails at once; the next call fails fast without a request', () => withServer({
  respond: () => ({ status: 429, headers: { 'retry-after': '120' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } }),
}, async (server) => {
  const o = opts(server);
  const first = await timed(() => m2m.getToken(o));
  matrix.push({ fault: '429 Retry-After 120', code: first.err ? first.err.code : 'ok', requests: server.count, ms: first.ms });
  assert.ok(first.err, 'expected an error');
  assert.equal(first.err.code, 'ERR_RATE_LIMITED');
  assert.ok(first.err.retryAfter >= 119, `retryAfter ${first.err.retryAfter}`);
  assert.equal(server.count, 1);
  assert.ok(first.ms < 2000, `took ${first.ms} ms`);

  const second = await timed(() => m2m.getToken({ ...o }));
  matrix.push({ fault: '  next call inside the window', code: second.err ? second.err.code : 'ok', requests: server.count, ms: second.ms });
  assert.ok(second.err, 'expected an error');
  assert.equal(second.err.code, 'ERR_RATE_LIMITED');
  assert.equal(server.count, 1, 'no request inside the Retry-After window');
  assert.ok(second.ms < 500, `took ${second.ms} ms`);
  await assert.rejects(new m2m.TokenClient(o).getToken(), { code: 'ERR_RATE_LIMITED' });
  assert.equal(server.count, 1);
}));

// ---- untrusted bodies ----

test('garbage body: ERR_INVALID_RESPONSE', () => fault('garbage body', {
  respond: () => ({ status: 200, body: '\u0000\u00ffnot json at all {{{' }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 2000,
}));

test('{}: ERR_INVALID_RESPONSE', () => fault('{}', {
  respond: () => ({ status: 200, body: {} }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 2000,
}));

test('{"access_token":""}: ERR_INVALID_RESPONSE', () => fault('empty access_token', {
  respond: () => ({ status: 200, body: { access_token: '', token_type: 'Bearer', expires_in: 3600 } }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 2000,
}));

test('expires_in "abc": ERR_INVALID_RESPONSE', () => fault('expires_in "abc"', {
  respond: (ctx) => ({ ...ctx.defaultResponse(), body: { access_token: 'tok-abc', token_type: 'Bearer', expires_in: 'abc' } }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 2000,
}));

test('expires_in -5: ERR_INVALID_RESPONSE', () => fault('expires_in -5', {
  respond: () => ({ status: 200, body: { access_token: 'tok-neg', token_type: 'Bearer', expires_in: -5 } }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 2000,
}));

test('5 MiB body: ERR_INVALID_RESPONSE quickly, one request', () => fault('5 MiB body', {
  respond: () => ({ status: 200, bytes: 5 * 1024 * 1024 }),
  code: 'ERR_INVALID_RESPONSE', count: 1, maxMs: 3000,
}));

// ---- stalls ----

test('stalled server, timeoutMs 300, retries 0: ERR_TIMEOUT', () => fault('stall, timeoutMs 300, retries 0', {
  respond: () => ({ hang: true }),
  extra: { timeoutMs: 300, retries: 0 },
  code: 'ERR_TIMEOUT', count: 1, maxMs: 3000,
}));

test('stalled server, timeoutMs 300, retries 1: ERR_TIMEOUT after 2 attempts', () => fault('stall, timeoutMs 300, retries 1', {
  respond: () => ({ hang: true }),
  extra: { timeoutMs: 300, retries: 1 },
  code: 'ERR_TIMEOUT', count: 2, maxMs: 4000,
}));

// ---- redirects ----

test('302 to another server: not followed, ERR_HTTP_STATUS 302', () => withServer({}, async (other) => {
  const r = await fault('302 redirect', {
    respond: () => ({ status: 302, headers: { location: other.url, 'content-type': 'text/plain' }, body: 'Found' }),
    code: 'ERR_HTTP_STATUS', count: 1, maxMs: 2000,
  });
  assert.equal(r.err.status, 302);
  assert.equal(other.count, 0, 'the redirect was followed');
}));

// ---- OAuth errors: no retry ----

test('401 invalid_client: ERR_OAUTH with its details, one request', async () => {
  const r = await fault('401 invalid_client', {
    respond: () => ({ status: 401, body: { error: 'invalid_client', error_description: 'bad' } }),
    code: 'ERR_OAUTH', count: 1, maxMs: 2000,
  });
  assert.equal(r.err.oauthError, 'invalid_client');
  assert.equal(r.err.oauthErrorDescription, 'bad');
  assert.equal(r.err.status, 401);
});

test('400 invalid_grant: ERR_OAUTH, one request', async () => {
  const r = await fault('400 invalid_grant', {
    respond: () => ({ status: 400, body: { error: 'invalid_grant', error_description: 'Grant type not allowed' } }),
    code: 'ERR_OAUTH', count: 1, maxMs: 2000,
  });
  assert.equal(r.err.oauthError, 'invalid_grant');
  assert.equal(r.err.status, 400);
});

test('403 access_denied: ERR_OAUTH, one request', async () => {
  const r = await fault('403 access_denied', {
    respond: () => ({ status: 403, body: { error: 'access_denied', error_description: 'Client has not been granted scopes' } }),
    code: 'ERR_OAUTH', count: 1, maxMs: 2000,
  });
  assert.equal(r.err.oauthError, 'access_denied');
  assert.equal(r.err.status, 403);
});

// ---- network ----

test('connection refused: ERR_NETWORK', async () => {
  const port = await freePort();
  const before = m2m.stats().requests;
  const r = await timed(() => m2m.getToken({ tokenUrl: `http://127.0.0.1:${port}/oauth/token`, clientId: uid('refused'), clientSecret: 'secret' }));
  const attempts = m2m.stats().requests - before;
  matrix.push({ fault: 'connection refused', code: r.err ? r.err.code : 'ok', requests: `n/a (${attempts} attempts)`, ms: r.ms });
  assert.ok(r.err, 'expected an error');
  assert.equal(r.err.code, 'ERR_NETWORK', r.err.message);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
});

test('socket reset (destroy): ERR_NETWORK after 3 attempts', () => fault('socket reset', {
  respond: () => ({ destroy: true }),
  code: 'ERR_NETWORK', count: 3, maxMs: 6000,
}));

// ---- failure does not become a stampede ----

test('200 concurrent callers during 503-forever share one failing request (3 attempts)', () => withServer({
  respond: () => ({ status: 503, body: 'Service Unavailable', delayMs: 20 }),
}, async (server) => {
  const o = opts(server);
  const t0 = Date.now();
  const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 2 ? m2m.getToken({ ...o }) : m2m.getTokenInfo(o))));
  const ms = Date.now() - t0;
  const codes = new Set(results.map((r) => (r.status === 'rejected' ? r.reason.code : 'ok')));
  matrix.push({ fault: '200 callers, 503 forever', code: [...codes].join(','), requests: server.count, ms });
  assert.equal(results.filter((r) => r.status === 'rejected').length, 200, 'all 200 rejected');
  assert.deepEqual([...codes], ['ERR_HTTP_STATUS']);
  for (const r of results) assert.equal(r.reason.status, 503);
  assert.equal(server.count, 3, 'one request and its two retries, for all callers');
  assert.ok(ms < 6000, `took ${ms} ms`);
}));

test('an errored fetch is not cached: the next call fetches and succeeds', () => withServer({
  respond: (ctx) => (ctx.n === 1 ? { status: 500, body: 'boom' } : undefined),
}, async (server) => {
  const o = opts(server, { retries: 0 });
  const first = await timed(() => m2m.getToken(o));
  assert.equal(first.err && first.err.code, 'ERR_HTTP_STATUS');
  assert.equal(server.count, 1);
  const second = await timed(() => m2m.getToken({ ...o }));
  matrix.push({ fault: '500 (retries 0), then next call', code: second.err ? second.err.code : 'ok', requests: server.count, ms: first.ms + second.ms });
  assert.equal(second.err, undefined, second.err && second.err.message);
  assert.equal(second.value, server.issued[0]);
  assert.equal(server.count, 2);
  assert.ok(second.ms < 2000);
}));

test('a failing background refresh keeps serving the cached token', () => withServer({
  expiresIn: 3,
  respond: (ctx) => (ctx.n >= 2 ? { status: 500, body: 'refresh fails' } : undefined),
}, async (server) => {
  const o = opts(server, { leewaySeconds: 0, retries: 0 });
  const old = await m2m.getTokenInfo(o);
  const t0 = Date.now();
  const base = m2m.stats();
  assert.equal(server.count, 1);

  // The refresh's fetch:end says when its 500 has been dealt with.
  const ends = fetchEnds(o.clientId);

  // The behaviour: the token ages to 2.8 s of its 3 s lifetime, past 90 %,
  // still usable. The hit is answered at once from the cache and starts a
  // background refresh, which gets 500.
  await sleep(2800 - (Date.now() - t0));
  const s1 = Date.now();
  const hit = await m2m.getTokenInfo(o);
  const hitMs = Date.now() - s1;
  assert.equal(hit.accessToken, old.accessToken);
  assert.equal(hit.fromCache, true);
  assert.ok(hitMs < 100, `the hit waited ${hitMs} ms`);

  await waitFor(() => ends.length === 1, 'the background refresh\'s fetch:end', 150);
  ends.stop();
  assert.equal(server.count, 2, 'the background refresh was sent');
  assert.equal(ends[0].reason, 'refresh');
  assert.equal(ends[0].error?.code, 'ERR_HTTP_STATUS', 'the refresh got the 500');
  assert.ok(Date.now() - t0 < 2990, 'test too slow to check before expiry');

  const s2 = Date.now();
  const again = await m2m.getTokenInfo(o);
  const againMs = Date.now() - s2;
  matrix.push({ fault: 'background refresh gets 500', code: again.accessToken === old.accessToken ? 'ok (old token)' : 'new token?', requests: server.count, ms: againMs });
  assert.equal(again.accessToken, old.accessToken, 'the failed refresh dropped the cached token');
  assert.equal(again.fromCache, true);
  assert.ok(againMs < 100, `the hit after the failed refresh waited ${againMs} ms`);
  assert.equal(m2m.stats().refreshes - base.refreshes, 1);
  assert.equal(m2m.stats().errors - base.errors, 0, 'no caller saw the refresh error');
}));

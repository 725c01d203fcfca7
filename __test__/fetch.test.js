'use strict';

// client.fetch and compare-and-drop invalidation, against a real token
// server and a real protected API on 127.0.0.1 (helpers/resource-server.js)
// that accepts only the newest token and can revoke it.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Readable } = require('node:stream');

const m2m = require('..');
const native = require('../binding.js');
const { startTokenServer, uid } = require('./helpers/token-server');
const { startResourceServer } = require('./helpers/resource-server');
const { forkFleet } = require('./helpers/fleet');
const { startRedis, redisAvailable } = require('./helpers/redis-server');
const { requires } = require('./helpers/skip');

const limits = { timeout: 30000 }; // a hang fails the test

let server;
let api;
before(async () => {
  server = await startTokenServer();
  api = await startResourceServer(server);
});
after(async () => {
  await api.close();
  await server.close();
});

const clientFor = (extra = {}) => new m2m.TokenClient({ tokenUrl: server.url, clientId: uid('fetch'), clientSecret: 's', ...extra });
const requestsSince = (n) => server.count - n;
const authorizationSeenAt = (path) => api.requests.filter((r) => r.path === path).map((r) => r.authorization);

test('sets Authorization: <tokenType> <accessToken> and returns the Response', limits, async () => {
  const client = clientFor();
  const response = await client.fetch(`${api.origin}/users?page=1`);
  assert.ok(response instanceof Response);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { ok: true, method: 'GET', path: '/users?page=1', body: '' });
  assert.deepEqual(authorizationSeenAt('/users?page=1'), [`Bearer ${await client.getToken()}`]);
});

test('works detached, as SDKs take it: const f = client.fetch; f(url)', limits, async () => {
  const client = clientFor();
  const f = client.fetch;
  assert.equal(client.fetch, f, 'one function per client');
  const response = await f(new URL(`${api.origin}/detached`));
  assert.equal(response.status, 200);
  await response.arrayBuffer();
});

test('after a revoke, 50 concurrent fetches: exactly 1 new token request and 50 × 200', limits, async () => {
  const client = clientFor();
  assert.equal((await client.fetch(`${api.origin}/warm`)).status, 200);
  const old = await client.getToken();
  api.revoke();
  const before = server.count;
  const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => client.fetch(`${api.origin}/storm/${i}`)));
  assert.deepEqual(responses.map((r) => r.status), Array(50).fill(200));
  await Promise.all(responses.map((r) => r.arrayBuffer()));
  assert.equal(requestsSince(before), 1, 'one new token request for 50 refused requests');
  const fresh = await client.getToken();
  assert.notEqual(fresh, old);
  assert.equal(fresh, server.issued.at(-1));
  const stormRequests = api.requests.filter((r) => r.path.startsWith('/storm/'));
  assert.equal(stormRequests.length, 100, 'each request sent twice: refused, then resent');
  assert.equal(stormRequests.filter((r) => r.authorization === `Bearer ${fresh}`).length, 50);
});

test('invalidate(oldToken) after the token changed returns false and keeps the new token', limits, async () => {
  const client = clientFor();
  const first = await client.getToken();
  assert.equal(client.invalidate(first), true, 'the entry held it: dropped');
  const second = await client.getToken();
  assert.notEqual(second, first);
  const before = server.count;
  assert.equal(client.invalidate(first), false, 'the entry holds another token');
  assert.equal(client.invalidate('never-issued'), false);
  const info = await client.getTokenInfo();
  assert.equal(info.accessToken, second);
  assert.equal(info.fromCache, true);
  assert.equal(requestsSince(before), 0, 'nothing was dropped');
});

test('invalidate(accessToken) on another thread\'s client drops it for this thread too', limits, async () => {
  const options = { tokenUrl: server.url, clientId: uid('fetch-threads'), clientSecret: 's' };
  const { Worker } = require('node:worker_threads');
  const here = new m2m.TokenClient(options);
  const token = await here.getToken();
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const m2m = require(${JSON.stringify(require.resolve('..'))});
    const c = new m2m.TokenClient(workerData.options);
    c.getToken().then((t) => parentPort.postMessage({ same: t === workerData.token, dropped: c.invalidate(workerData.token) }));
  `, { eval: true, workerData: { options, token } });
  const answer = await new Promise((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  await worker.terminate();
  assert.deepEqual(answer, { same: true, dropped: true });
  const before = server.count;
  const next = await here.getTokenInfo();
  assert.notEqual(next.accessToken, token, 'this thread\'s view dropped the token');
  assert.equal(next.fromCache, false);
  assert.equal(requestsSince(before), 1);
});

test('invalidate with something other than a string throws ERR_INVALID_OPTIONS', () => {
  const client = clientFor();
  for (const bad of [null, 42, {}, ['t']]) {
    assert.throws(() => client.invalidate(bad), (err) => err instanceof m2m.TokenError && err.code === 'ERR_INVALID_OPTIONS');
  }
});

test('an Authorization set by the caller is replaced, whatever its case and however headers are given', limits, async () => {
  const client = clientFor();
  const expected = `Bearer ${await client.getToken()}`;
  const url = (n) => `${api.origin}/replace/${n}`;
  const calls = [
    client.fetch(url(1), { headers: { AUTHORIZATION: 'Basic Zm9vOmJhcg==', 'x-kept': 'yes' } }),
    client.fetch(url(2), { headers: [['Authorization', 'Bearer caller'], ['x-kept', 'yes']] }),
    client.fetch(url(3), { headers: new Headers({ authorization: 'Bearer caller', 'x-kept': 'yes' }) }),
    client.fetch(new Request(url(4), { headers: { 'AuThOrIzAtIoN': 'Bearer caller', 'x-kept': 'yes' } })),
  ];
  for (const r of await Promise.all(calls)) {
    assert.equal(r.status, 200);
    await r.arrayBuffer();
  }
  for (let n = 1; n <= 4; n++) {
    const seen = api.requests.filter((r) => r.path === `/replace/${n}`);
    assert.equal(seen.length, 1);
    assert.deepEqual(seen[0].authorizationHeaders, [expected], `call ${n}: exactly one Authorization, the client's`);
  }
});

test('a body that can be sent twice is resent after a 401', limits, async () => {
  const client = clientFor();
  await client.getToken();
  api.revoke();
  const response = await client.fetch(`${api.origin}/resend`, { method: 'POST', body: '{"name":"x"}', headers: { 'content-type': 'application/json' } });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).body, '{"name":"x"}');
  assert.deepEqual(api.requests.filter((r) => r.path === '/resend').map((r) => r.body), ['{"name":"x"}', '{"name":"x"}']);
});

test('a streamed body is not resent: the caller gets the 401, after the token was invalidated', limits, async () => {
  const client = clientFor();
  const bodies = {
    'readable-stream': () => ({ body: new Blob(['streamed']).stream(), duplex: 'half' }),
    'async-iterable': () => ({ body: Readable.from([Buffer.from('streamed')]), duplex: 'half' }),
  };
  for (const [name, init] of Object.entries(bodies)) {
    const refused = await client.getToken();
    api.revoke();
    const before = server.count;
    const response = await client.fetch(`${api.origin}/stream/${name}`, { method: 'POST', ...init() });
    assert.equal(response.status, 401, `${name}: the 401 is the answer`);
    await response.arrayBuffer();
    assert.equal(api.requests.filter((r) => r.path === `/stream/${name}`).length, 1, `${name}: sent once`);
    assert.equal(requestsSince(before), 0, `${name}: no token request to resend`);
    assert.notEqual(await client.getToken(), refused, `${name}: the refused token was invalidated`);
  }
  const refused = await client.getToken();
  api.revoke();
  const request = new Request(`${api.origin}/stream/request`, { method: 'POST', body: new Blob(['streamed']).stream(), duplex: 'half' });
  const response = await client.fetch(request);
  assert.equal(response.status, 401, 'a Request with a stream body is not resent');
  await response.arrayBuffer();
  assert.equal(api.requests.filter((r) => r.path === '/stream/request').length, 1);
  assert.notEqual(await client.getToken(), refused);
});

test('the second answer is returned whatever it is', limits, async () => {
  const client = clientFor();
  api.route('/always-401', (req, res) => { res.writeHead(401); res.end('no'); });
  const before = server.count;
  const response = await client.fetch(`${api.origin}/always-401`);
  assert.equal(response.status, 401);
  assert.equal(await response.text(), 'no');
  assert.equal(api.requests.filter((r) => r.path === '/always-401').length, 2, 'sent twice, not more');
  assert.equal(requestsSince(before), 2, 'the first token, then one new token');
});

test('a 302 to another origin never carries the token there', limits, async () => {
  const client = clientFor();
  const elsewhere = [];
  const other = http.createServer((req, res) => {
    elsewhere.push({ path: req.url, authorization: req.headers.authorization ?? null });
    res.writeHead(req.url === '/refuse' ? 401 : 200);
    res.end('elsewhere');
  });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
  // Same host, another port: another origin. And localhost for 127.0.0.1: another host name.
  const targets = [`http://127.0.0.1:${other.address().port}`, `http://localhost:${other.address().port}`];
  try {
    for (const [i, target] of targets.entries()) {
      api.route(`/moved/${i}`, (req, res) => { res.writeHead(302, { location: `${target}/landing/${i}` }); res.end(); });
      const response = await client.fetch(`${api.origin}/moved/${i}`);
      assert.equal(response.status, 200);
      assert.equal(await response.text(), 'elsewhere');
      assert.ok(authorizationSeenAt(`/moved/${i}`)[0].startsWith('Bearer '), 'the first hop carried the token');
    }
    // A 401 from the other origin is not about our token: nothing invalidated.
    const token = await client.getToken();
    api.route('/moved-refuse', (req, res) => { res.writeHead(307, { location: `${targets[0]}/refuse` }); res.end(); });
    const refused = await client.fetch(`${api.origin}/moved-refuse`, { method: 'POST', body: 'x' });
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
    assert.equal(await client.getToken(), token, 'the token was kept');
    assert.ok(elsewhere.length >= 3);
    assert.deepEqual(elsewhere.map((r) => r.authorization), elsewhere.map(() => null), 'no token ever reached the other origin');
  } finally {
    other.closeAllConnections();
    await new Promise((resolve) => other.close(resolve));
  }
});

test('a same-origin redirect keeps the token', limits, async () => {
  const client = clientFor();
  api.route('/here', (req, res) => { res.writeHead(302, { location: '/here-final' }); res.end(); });
  const response = await client.fetch(`${api.origin}/here`);
  assert.equal(response.status, 200);
  await response.arrayBuffer();
  assert.deepEqual(authorizationSeenAt('/here-final'), [`Bearer ${await client.getToken()}`]);
});

test('a token error rejects with that TokenError; nothing is sent', limits, async () => {
  const failing = await startTokenServer({ respond: () => ({ status: 401, body: { error: 'invalid_client', error_description: 'Wrong secret' } }) });
  try {
    const client = new m2m.TokenClient({ tokenUrl: failing.url, clientId: uid('fetch-fail'), clientSecret: 'wrong' });
    const sent = api.requests.length;
    await assert.rejects(client.fetch(`${api.origin}/never`), (err) => err instanceof m2m.TokenError && err.code === 'ERR_OAUTH' && err.oauthError === 'invalid_client');
    assert.equal(api.requests.length, sent);
  } finally {
    await failing.close();
  }
});

test('fetch\'s own errors pass through unchanged', limits, async () => {
  const client = clientFor();
  await client.getToken();
  const closed = http.createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${closed.address().port}/`;
  await new Promise((resolve) => closed.close(resolve));
  const shape = (err) => ({ name: err.name, message: err.message, cause: err.cause && err.cause.code, isTokenError: err instanceof m2m.TokenError });
  const bare = await fetch(url).then(() => null, shape);
  const ours = await client.fetch(url).then(() => null, shape);
  assert.notEqual(bare, null);
  assert.deepEqual(ours, bare, 'the same error as fetch itself');
  const badUrl = await client.fetch('not a url').then(() => null, (e) => e);
  assert.ok(badUrl instanceof TypeError);
  const aborted = await client.fetch(`${api.origin}/x`, { signal: AbortSignal.abort() }).then(() => null, (e) => e);
  assert.equal(aborted.name, 'AbortError');
});

test('a cache hit makes no call into Rust on the request path', limits, async () => {
  const client = clientFor();
  await (await client.fetch(`${api.origin}/prime`)).arrayBuffer();
  const proto = native.NativeClient.prototype;
  const names = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(proto, n).value === 'function');
  assert.ok(names.includes('peek') && names.includes('acquire'));
  const originals = names.map((n) => [n, proto[n]]);
  let crossings = 0;
  for (const [n, fn] of originals) proto[n] = function (...args) { crossings++; return fn.apply(this, args); };
  try {
    for (let i = 0; i < 20; i++) await (await client.fetch(`${api.origin}/hit/${i}`)).arrayBuffer();
  } finally {
    for (const [n, fn] of originals) proto[n] = fn;
  }
  assert.equal(crossings, 0);
  const before = m2m.stats().hits;
  await (await client.fetch(`${api.origin}/hit/counted`)).arrayBuffer();
  assert.equal(m2m.stats().hits, before + 1, 'a hit is still counted');
});

test('4 processes sharing a Redis store, 50 concurrent fetches each after a revoke: 1 new token request for the fleet', { ...limits, ...requires(redisAvailable(), 'redis-server is not installed') }, async () => {
  const redis = await startRedis();
  const fleet = await forkFleet(4);
  try {
    const options = { tokenUrl: server.url, clientId: uid('fetch-fleet'), clientSecret: 'fleet-secret', store: redis.url() };
    const url = `${api.origin}/fleet`;
    const before = server.count;
    const warm = await fleet.all('fetch', { options, url, n: 1 });
    assert.deepEqual(warm.map((r) => r.statuses), [[200], [200], [200], [200]]);
    assert.equal(requestsSince(before), 1, 'one token for the fleet');
    api.revoke();
    const storm = await fleet.all('fetch', { options, url, n: 50 });
    for (const r of storm) assert.deepEqual(r.statuses, Array(50).fill(200));
    assert.equal(requestsSince(before), 2, 'one new token request for 200 refused requests in 4 processes');
  } finally {
    await fleet.close();
    await redis.close();
  }
});

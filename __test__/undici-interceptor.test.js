'use strict';

// m2m-token/undici: the interceptor for undici's Dispatcher.compose(), with
// the real undici package, against the protected API of
// helpers/resource-server.js (only the newest token, revocable).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { Readable } = require('node:stream');
const { Agent, request } = require('undici');

const m2m = require('..');
const { tokenInterceptor } = require('m2m-token/undici');
const { startTokenServer, uid } = require('./helpers/token-server');
const { startResourceServer } = require('./helpers/resource-server');

const limits = { timeout: 30000 };

let server;
let api;
let other; // an origin that is not listed
const elsewhere = [];
before(async () => {
  server = await startTokenServer();
  api = await startResourceServer(server);
  other = http.createServer((req, res) => { elsewhere.push(req.headers.authorization ?? null); res.end('elsewhere'); });
  await new Promise((resolve) => other.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  other.closeAllConnections();
  await new Promise((resolve) => other.close(resolve));
  await api.close();
  await server.close();
});

function setup(extra = {}) {
  const client = new m2m.TokenClient({ tokenUrl: server.url, clientId: uid('undici'), clientSecret: 's', ...extra });
  const dispatcher = new Agent().compose(tokenInterceptor(client, { origins: [api.origin] }));
  return { client, dispatcher };
}

async function call(dispatcher, path, opts = {}) {
  const { statusCode, body } = await request(`${api.origin}${path}`, { dispatcher, ...opts });
  return { statusCode, text: await body.text() };
}

test('sets the token for a listed origin, replacing the caller\'s Authorization', limits, async () => {
  const { client, dispatcher } = setup();
  const r = await call(dispatcher, '/u/replace', { headers: { AUTHORIZATION: 'Basic eA==', 'x-kept': 'yes' } });
  assert.equal(r.statusCode, 200);
  const seen = api.requests.filter((x) => x.path === '/u/replace');
  assert.deepEqual(seen.map((x) => x.authorizationHeaders), [[`Bearer ${await client.getToken()}`]]);
  await dispatcher.close();
});

test('an origin that is not listed never gets the token', limits, async () => {
  const { client, dispatcher } = setup();
  await client.getToken();
  const { body } = await request(`http://127.0.0.1:${other.address().port}/x`, { dispatcher });
  assert.equal(await body.text(), 'elsewhere');
  assert.deepEqual(elsewhere, [null]);
  await dispatcher.close();
});

test('after a revoke, 50 concurrent requests: exactly 1 new token request and 50 × 200', limits, async () => {
  const { dispatcher } = setup();
  assert.equal((await call(dispatcher, '/u/warm')).statusCode, 200);
  api.revoke();
  const before = server.count;
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(dispatcher, `/u/storm/${i}`)));
  assert.deepEqual(results.map((r) => r.statusCode), Array(50).fill(200));
  assert.equal(server.count - before, 1);
  await dispatcher.close();
});

test('a string body is resent after a 401; a stream body is not (the caller gets the 401)', limits, async () => {
  const { client, dispatcher } = setup();
  await client.getToken();
  api.revoke();
  const resent = await call(dispatcher, '/u/post', { method: 'POST', body: 'payload' });
  assert.equal(resent.statusCode, 200);
  assert.deepEqual(api.requests.filter((x) => x.path === '/u/post').map((x) => x.body), ['payload', 'payload']);

  const refused = await client.getToken();
  api.revoke();
  const streamed = await call(dispatcher, '/u/stream', { method: 'POST', body: Readable.from([Buffer.from('streamed')]) });
  assert.equal(streamed.statusCode, 401);
  assert.equal(api.requests.filter((x) => x.path === '/u/stream').length, 1);
  assert.notEqual(await client.getToken(), refused, 'the refused token was invalidated');
  await dispatcher.close();
});

test('a token error reaches the caller as the TokenError, and nothing is sent', limits, async () => {
  const failing = await startTokenServer({ respond: () => ({ status: 400, body: { error: 'invalid_client' } }) });
  try {
    const client = new m2m.TokenClient({ tokenUrl: failing.url, clientId: uid('undici-fail'), clientSecret: 'x' });
    const dispatcher = new Agent().compose(tokenInterceptor(client, { origins: [api.origin] }));
    const sent = api.requests.length;
    await assert.rejects(request(`${api.origin}/u/never`, { dispatcher }), (err) => err instanceof m2m.TokenError && err.code === 'ERR_OAUTH');
    assert.equal(api.requests.length, sent);
    await dispatcher.close();
  } finally {
    await failing.close();
  }
});

test('bad arguments are ERR_INVALID_OPTIONS', () => {
  const { client } = setup();
  for (const bad of [undefined, {}, { origins: [] }, { origins: ['not a url'] }]) {
    assert.throws(() => tokenInterceptor(client, bad), (err) => err.code === 'ERR_INVALID_OPTIONS');
  }
  assert.throws(() => tokenInterceptor({}, { origins: [api.origin] }), (err) => err.code === 'ERR_INVALID_OPTIONS');
});

'use strict';

// client.getRequestHeaders(url[, method]): the headers that authorize one
// request sent by an HTTP client of the caller's own, the same ones
// client.fetch and the undici interceptor send.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { startResourceServer } = require('./helpers/resource-server');
const { clientOptions } = require('./helpers/options');

const limits = { timeout: 30000 };
const options = clientOptions('headers');

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

test('returns { authorization: "<tokenType> <token>" }, which the API accepts', limits, async () => {
  const client = new m2m.TokenClient(options(server));
  const headers = await client.getRequestHeaders(`${api.origin}/users`, 'POST');
  assert.deepEqual(headers, { authorization: `Bearer ${await client.getToken()}` });
  const response = await fetch(`${api.origin}/users`, { method: 'POST', headers });
  assert.equal(response.status, 200);
  await response.arrayBuffer();
});

test('a hit asks nothing of the server and counts as a hit; a URL object and no method are fine', limits, async () => {
  const client = new m2m.TokenClient(options(server));
  await client.getToken();
  const requests = server.count;
  const hits = m2m.stats().hits;
  const headers = await client.getRequestHeaders(new URL(`${api.origin}/a?b=c`));
  assert.equal(headers.authorization, `Bearer ${await client.getToken()}`);
  assert.equal(server.count, requests);
  assert.equal(m2m.stats().hits, hits + 2);
});

test('is the same header client.fetch sends', limits, async () => {
  const client = new m2m.TokenClient(options(server));
  const { authorization } = await client.getRequestHeaders(`${api.origin}/same`);
  await (await client.fetch(`${api.origin}/same`)).arrayBuffer();
  await (await client.fetch(`${api.origin}/same`)).arrayBuffer();
  assert.ok(api.requests.filter((r) => r.path === '/same').every((r) => r.authorization === authorization));
});

test('a bad url or method rejects with ERR_INVALID_OPTIONS and sends nothing', limits, async () => {
  const client = new m2m.TokenClient(options(server));
  const requests = server.count;
  for (const [url, method, words] of [
    ['not a url', undefined, /url/],
    [42, undefined, /url/],
    [`${api.origin}/`, 'GE T', /method/],
    [`${api.origin}/`, 7, /method/],
  ]) {
    await assert.rejects(client.getRequestHeaders(url, method), (err) => {
      assert.equal(err.code, 'ERR_INVALID_OPTIONS');
      assert.match(err.message, words);
      return true;
    });
  }
  assert.equal(server.count, requests);
});

test('no token: rejects with the TokenError', limits, async () => {
  const refusing = await startTokenServer({ respond: () => ({ status: 401, body: { error: 'invalid_client' } }) });
  try {
    const client = new m2m.TokenClient(options(refusing));
    await assert.rejects(client.getRequestHeaders(`${api.origin}/`), (err) => err.code === 'ERR_OAUTH' && err.oauthError === 'invalid_client');
  } finally {
    await refusing.close();
  }
});

'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): concurrent
// callers of one entry share one token request, whatever form they call.

const { test } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('../..');
const { withServer, uid } = require('../helpers/token-server');
const { viaCallback } = require('../helpers/callbacks');


test('50 concurrent callers over every call form share one request', () => withServer({ delayMs: 100 }, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-sf'), clientSecret: 's' };
  const client = new m2m.TokenClient(options);
  const before = m2m.stats();
  const calls = [];
  for (let i = 0; i < 10; i++) {
    calls.push(m2m.getToken(options));
    calls.push(viaCallback((cb) => m2m.getToken({ ...options }, cb)));
    calls.push(m2m.getTokenInfo(options).then((info) => info.accessToken));
    calls.push(client.getToken());
    calls.push(viaCallback((cb) => client.getTokenInfo(cb)).then((info) => info.accessToken));
  }
  const tokens = await Promise.all(calls);
  assert.equal(server.count, 1, 'token requests');
  assert.deepEqual([...new Set(tokens)], [server.issued[0]]);

  const again = await m2m.getTokenInfo(options);
  assert.equal(again.accessToken, server.issued[0]);
  assert.equal(again.fromCache, true);
  assert.equal(server.count, 1, 'a cached token needs no request');

  const after = m2m.stats();
  assert.equal(after.requests - before.requests, 1, 'stats.requests');
  assert.equal(after.misses - before.misses, 50, 'stats.misses');
  assert.equal(after.hits - before.hits, 1, 'stats.hits');
  assert.equal(after.errors - before.errors, 0, 'stats.errors');
}));

test('invalidate() makes the next call fetch a new token', () => withServer({}, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-inv'), clientSecret: 's' };
  const first = await m2m.getToken(options);
  assert.equal(m2m.invalidate(options), true);
  const second = await m2m.getToken(options);
  assert.notEqual(second, first);
  assert.deepEqual(server.issued, [first, second]);
}));

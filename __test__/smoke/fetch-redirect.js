'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): client.fetch
// relies on Node's own fetch to drop Authorization when a redirect leaves
// the origin (the fetch standard's rule; undici has it on every supported
// line). This checks that rule on each line, for Node's fetch and for ours,
// and that a 401 is recovered once.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');

const m2m = require('../..');
const { withServer, uid } = require('../helpers/token-server');

async function listen(handler) {
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

test('a redirect to another origin never carries the token there', () => withServer({}, async (tokens) => {
  const seen = [];
  const other = await listen((req, res) => { seen.push(req.headers.authorization ?? null); res.end('elsewhere'); });
  const api = await listen((req, res) => {
    const codes = { '/301': 301, '/302': 302, '/303': 303, '/307': 307, '/308': 308 };
    res.writeHead(codes[req.url], { location: `${other.origin}/landing` });
    res.end();
  });
  try {
    const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: uid('smoke-redirect'), clientSecret: 's' });
    for (const code of ['/301', '/302', '/303', '/307', '/308']) {
      const bare = await fetch(api.origin + code, { method: 'POST', body: 'x', headers: { Authorization: 'Bearer by-hand' } });
      assert.equal(await bare.text(), 'elsewhere');
      const ours = await client.fetch(api.origin + code, { method: 'POST', body: 'x' });
      assert.equal(await ours.text(), 'elsewhere');
    }
    assert.equal(seen.length, 10);
    assert.deepEqual(seen, Array(10).fill(null), `Node ${process.version} let Authorization cross origins`);
  } finally {
    for (const s of [other.server, api.server]) { s.closeAllConnections(); s.close(); }
  }
}));

test('a 401 invalidates the token and resends once with a new one', () => withServer({}, async (tokens) => {
  let refuseNext = true;
  const api = await listen((req, res) => {
    const ok = req.headers.authorization === `Bearer ${tokens.issued.at(-1)}` && !refuseNext;
    refuseNext = false;
    res.writeHead(ok ? 200 : 401);
    res.end();
  });
  try {
    const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: uid('smoke-401'), clientSecret: 's' });
    const response = await client.fetch(`${api.origin}/x`);
    assert.equal(response.status, 200);
    assert.equal(tokens.count, 2, 'the refused token, then one new token');
  } finally {
    api.server.closeAllConnections();
    api.server.close();
  }
}));

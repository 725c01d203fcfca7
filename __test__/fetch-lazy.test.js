'use strict';

// client.fetch keeps using Node's fetch, Request and Headers as they were
// when the library loaded, yet loading the library does not load Node's
// fetch implementation (on Node 18 and 20 that costs ~25 ms per process,
// paid by every run of the command). Each case runs in a fresh process, so
// that the globals are Node's own when the library loads.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { execFile } = require('node:child_process');

const { startTokenServer, uid } = require('./helpers/token-server');

const ROOT = path.join(__dirname, '..');
const limits = { timeout: 30000 };

let server;
let api;
let apiOrigin;
before(async () => {
  server = await startTokenServer();
  // Answers with the headers the request carried.
  api = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ authorization: req.headers.authorization ?? null, x: req.headers['x-extra'] ?? null }));
  });
  await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiOrigin = `http://127.0.0.1:${api.address().port}`;
});
after(async () => {
  await new Promise((resolve) => {
    api.close(resolve);
    api.closeAllConnections();
  });
  await server.close();
});

/** Runs `script` in a new Node process (ROOT as the library's path); resolves with its parsed JSON output. */
function child(script) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, ROOT, server.url, apiOrigin, uid('lazy')], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

test('loading the library loads no fetch implementation', limits, async () => {
  const r = await child(`
    const fetchModules = () => process.moduleLoadList.filter((m) => /undici|fetch/i.test(m));
    const before = fetchModules();
    require(process.argv[1]);
    console.log(JSON.stringify({ before, after: fetchModules() }));
  `);
  assert.deepEqual(r.after, r.before);
});

test('globals replaced or deleted after loading are left so, and client.fetch still uses Node\'s', limits, async () => {
  const r = await child(`
    const [root, tokenUrl, origin, clientId] = process.argv.slice(1);
    const m2m = require(root);
    class NotHeaders {}
    globalThis.Headers = NotHeaders;
    delete globalThis.Request;
    globalThis.fetch = () => { throw new Error('the replacement fetch was called'); };
    const client = new m2m.TokenClient({ tokenUrl, clientId, clientSecret: 's' });
    client.fetch(origin + '/x', { headers: { 'x-extra': '1' } }).then(async (response) => {
      console.log(JSON.stringify({
        seen: await response.json(),
        headersStill: globalThis.Headers === NotHeaders,
        requestStillDeleted: !('Request' in globalThis),
      }));
    });
  `);
  assert.equal(r.seen.authorization, `Bearer ${server.issued.at(-1)}`);
  assert.equal(r.seen.x, '1');
  assert.equal(r.headersStill, true);
  assert.equal(r.requestStillDeleted, true);
});

test('a Request made from Node\'s class before the library loaded is sent as a Request', limits, async () => {
  const r = await child(`
    const [root, tokenUrl, origin, clientId] = process.argv.slice(1);
    const input = new Request(origin + '/r', { headers: { 'x-extra': '2' } });
    const m2m = require(root);
    const client = new m2m.TokenClient({ tokenUrl, clientId, clientSecret: 's' });
    client.fetch(input).then(async (response) => console.log(JSON.stringify({ seen: await response.json() })));
  `);
  assert.equal(r.seen.authorization, `Bearer ${server.issued.at(-1)}`);
  assert.equal(r.seen.x, '2', 'the headers of the Request input are kept');
});

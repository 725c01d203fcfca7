'use strict';

// Guarantee 8, each caller's own leeway: clients of one entry that differ
// only in leewaySeconds may share a request, but each is judged by its own
// leeway. With a 100 s token, the 200 s caller is never handed it (it gets
// ERR_INVALID_RESPONSE: the token could never be used within its leeway),
// and the 0 s caller always gets it, whichever of them started the request,
// on one thread or two.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');
const { viaCallback } = require('./helpers/callbacks');
const { settle } = require('./helpers/outcomes');
const { startGate, release } = require('./helpers/start-gate');

const ROOT = path.join(__dirname, '..');
const DELAY_MS = 300; // long enough for the second caller to join the first one's request

let server;
before(async () => { server = await startTokenServer({ expiresIn: 100, delayMs: DELAY_MS }); });
after(async () => { m2m.clearCache(); await server.close(); });
beforeEach(() => { m2m.clearCache(); server.reset(); });

/** One entry, two leeways. */
function pair() {
  const shared = { tokenUrl: server.url, clientId: uid('leeway'), clientSecret: 's' };
  return { short: { ...shared, leewaySeconds: 0 }, long: { ...shared, leewaySeconds: 200 } };
}


// Each way to call, resolving to { value } (an access token) or { err }.
const styles = {
  'getToken(options)': (o) => settle(m2m.getToken(o)),
  'getTokenInfo(options)': (o) => settle(m2m.getTokenInfo(o).then((i) => i.accessToken)),
  'client.getToken()': (o) => settle(new m2m.TokenClient(o).getToken()),
  'client.getTokenInfo(callback)': (o) => settle(viaCallback((cb) => new m2m.TokenClient(o).getTokenInfo(cb)).then((i) => i.accessToken)),
  'getToken(options, callback)': (o) => settle(viaCallback((cb) => m2m.getToken(o, cb))),
};

function assertJudgedByOwnLeeway(short, long, where) {
  assert.equal(short.err, undefined, `${where}: the 0 s caller was refused: ${short.err?.code} ${short.err?.message}`);
  assert.ok(server.issued.includes(short.value), `${where}: the 0 s caller got no issued token`);
  assert.equal(long.value, undefined, `${where}: the 200 s caller was handed a 100 s token`);
  assert.equal(long.err?.code, 'ERR_INVALID_RESPONSE', `${where}: ${long.err?.code} ${long.err?.message}`);
}

for (const [style, call] of Object.entries(styles)) {
  test(`${style}: 0 s caller first, 200 s caller joins its request`, async () => {
    const { short, long } = pair();
    const first = call(short);
    const second = call(long);
    assertJudgedByOwnLeeway(await first, await second, style);
  });

  test(`${style}: 200 s caller first, 0 s caller joins its request`, async () => {
    const { short, long } = pair();
    const first = call(long);
    const second = call(short);
    assertJudgedByOwnLeeway(await second, await first, style);
  });
}

test('once cached, the token is still refused to the 200 s caller and served to the 0 s caller', async () => {
  const { short, long } = pair();
  await m2m.getToken(short);
  await assert.rejects(m2m.getToken(long), { code: 'ERR_INVALID_RESPONSE' });
  await assert.rejects(m2m.getTokenInfo(long), { code: 'ERR_INVALID_RESPONSE' });
  // The 200 s caller may have fetched again (each answer is again 100 s);
  // the 0 s caller is served, from the cache, whichever token it holds.
  const token = await m2m.getToken(short);
  assert.ok(server.issued.includes(token));
  const info = await m2m.getTokenInfo(short);
  assert.equal(info.accessToken, token);
  assert.equal(info.fromCache, true);
});

/**
 * Runs getToken(options) in a worker thread once `go` is set; resolves
 * with { value } or { err: { code } }.
 */
function callInWorker(options, sab) {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const m2m = require(workerData.root);
    require(workerData.gate).armAndWait(workerData.sab);
    m2m.getToken(workerData.options).then(
      (value) => parentPort.postMessage({ value }),
      (err) => parentPort.postMessage({ err: { code: err.code, message: err.message } }),
    );`;
  const worker = new Worker(source, { eval: true, workerData: { root: ROOT, gate: require.resolve('./helpers/start-gate'), options, sab } });
  return new Promise((resolve, reject) => {
    worker.once('message', (msg) => { resolve(msg); worker.terminate(); });
    worker.once('error', reject);
  });
}

test('across threads: the 200 s caller in a worker joins the 0 s caller on the main thread', async () => {
  const { short, long } = pair();
  const sab = startGate();
  const inWorker = callInWorker(long, sab);
  await release(sab, 1);
  // The worker starts first; the main thread joins while the request is out.
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS / 3));
  const onMain = await settle(m2m.getToken(short));
  assertJudgedByOwnLeeway(onMain, await inWorker, 'worker long, main short');
});

test('across threads: the 0 s caller in a worker joins the 200 s caller on the main thread', async () => {
  const { short, long } = pair();
  const sab = startGate();
  const inWorker = callInWorker(short, sab);
  const onMain = settle(m2m.getToken(long));
  await release(sab, 1);
  assertJudgedByOwnLeeway(await inWorker, await onMain, 'main long, worker short');
});

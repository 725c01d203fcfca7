'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): worker threads
// and the main thread share one process-wide cache and one token request.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const m2m = require('../..');
const { withServer, uid } = require('../helpers/token-server');
const { startGate, release } = require('../helpers/start-gate');

const WORKERS = 4;
const workerFile = path.join(__dirname, 'fixtures', 'burst-worker.js');

test('four workers and the main thread, released at once, share one request', () => withServer({ delayMs: 150 }, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-workers'), clientSecret: 's' };
  const sab = startGate();
  const before = m2m.stats();

  const workers = Array.from({ length: WORKERS }, () => new Worker(workerFile, { workerData: { options, sab } }));
  const results = workers.map((w) => new Promise((resolve, reject) => {
    let token;
    w.on('message', (m) => { token = m; });
    w.on('error', reject);
    w.on('exit', (code) => (code === 0 ? resolve(token) : reject(new Error(`worker exited with ${code}`))));
  }));

  await release(sab, WORKERS);
  const mine = await m2m.getToken(options);
  const theirs = await Promise.all(results); // each worker ended by itself

  assert.equal(server.count, 1, 'token requests');
  assert.deepEqual([...new Set([mine, ...theirs])], [server.issued[0]]);
  const after = m2m.stats();
  assert.equal(after.requests - before.requests, 1, 'stats.requests counts every thread');
  assert.equal((after.hits + after.misses) - (before.hits + before.misses), WORKERS + 1, 'stats count calls of every thread');
}));

test('a token fetched in the main thread is a hit in a new worker', () => withServer({}, async (server) => {
  const options = { tokenUrl: server.url, clientId: uid('smoke-workers-hit'), clientSecret: 's' };
  const token = await m2m.getToken(options);
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     require(workerData.main).getTokenInfo(workerData.options).then((info) => parentPort.postMessage(info));`,
    { eval: true, workerData: { main: require.resolve('../..'), options } },
  );
  const info = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await new Promise((resolve) => w.once('exit', resolve));
  assert.equal(info.accessToken, token);
  assert.equal(info.fromCache, true);
  assert.equal(server.count, 1);
}));

'use strict';

// Smoke (run on every Node line by scripts/node-matrix.js): a script that
// got a token, in the main thread or in a worker, or whose request failed,
// exits by itself.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');

const { withServer, uid } = require('../helpers/token-server');

const EXIT_BOUND_MS = 5000; // "exits promptly", with margin for a slow machine
const KILL_AFTER_MS = 30000;
const child = path.join(__dirname, 'fixtures', 'exit-child.js');

function run(server, mode) {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(process.execPath, [child, server.url, uid(mode), mode], { timeout: KILL_AFTER_MS }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, killed: Boolean(err && err.killed), stdout: stdout.trim(), stderr, ms: Date.now() - started });
    });
  });
}

function assertExited(r) {
  assert.equal(r.killed, false, `the child hung (killed after ${r.ms} ms)`);
  assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
  assert.ok(r.ms < EXIT_BOUND_MS, `the child took ${r.ms} ms to exit`);
}

for (const mode of ['promise', 'worker']) {
  test(`a script that got a token (${mode}) exits by itself`, () => withServer({}, async (server) => {
    const r = await run(server, mode);
    assertExited(r);
    assert.equal(r.stdout, server.issued[0]);
  }));
}

test('a script whose token request failed exits by itself', () => withServer({
  respond: () => ({ status: 401, body: { error: 'access_denied' } }),
}, async (server) => {
  const r = await run(server, 'error');
  assertExited(r);
  assert.equal(r.stdout, 'ERR_OAUTH');
}));

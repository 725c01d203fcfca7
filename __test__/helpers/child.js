'use strict';

// Node child processes a test runs to the end: a script that must exit by
// itself, die of an uncaught exception, or print its findings.
//
//   const r = await runNode([script, ...args], { timeoutMs: 20000 });
//   assertExited(r, 5000);

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const { uid } = require('./token-server');

/** Variables the module reads as defaults, and the test runner's own. */
const MODULE_ENV = ['M2M_TOKEN_STORE', 'NODE_EXTRA_CA_CERTS', 'NODE_TEST_CONTEXT'];

/** This process's environment without MODULE_ENV nor `drop`, plus `extra`. */
function childEnv(extra = {}, drop = []) {
  const env = { ...process.env };
  for (const name of [...MODULE_ENV, ...drop]) delete env[name];
  return { ...env, ...extra };
}

/**
 * Runs `node ...args`; resolves (never rejects) with { code, signal, killed,
 * stdout, stderr, ms }. After `timeoutMs` the child is killed with
 * `killSignal` (`killed` is then true). `env` and `cwd` as for execFile;
 * `spawned(child)` gets the ChildProcess (to write to its stdin).
 */
function runNode(args, { timeoutMs = 20000, killSignal = 'SIGTERM', env, cwd, spawned = () => {} } = {}) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { timeout: timeoutMs, killSignal, env, cwd }, (err, stdout, stderr) => {
      resolve({
        code: err ? err.code : 0,
        signal: err ? err.signal : null,
        killed: Boolean(err && err.killed),
        stdout,
        stderr,
        ms: Date.now() - started,
      });
    });
    spawned(child);
  });
}

/**
 * Runs `script` with the argv `<tokenUrl> <clientId> <mode>` (the exit-child
 * scripts' own): `server`'s URL and a client id no other run uses.
 */
const runModeChild = (script, server, mode, opts) => runNode([script, server.url, uid(mode), mode], opts);

/** The child exited by itself with code 0, within `boundMs`. */
function assertExited(r, boundMs) {
  assert.equal(r.killed, false, `the child hung (killed after ${r.ms} ms)`);
  assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
  assert.ok(r.ms < boundMs, `the child took ${r.ms} ms to exit (bound ${boundMs} ms)`);
}

module.exports = { runNode, runModeChild, childEnv, assertExited };

'use strict';

// Runs the m2m-token command as a child process, as a shell script would:
//
//   const { runCli } = require('./helpers/cli');
//   const { status, stdout, stderr } = await runCli(['--token-url', url], { env, input });
//
// The child gets this process's environment without any variable the command
// reads as a default (so the machine's own settings never leak into a test),
// plus `env`. A run that has not exited after `timeoutMs` is killed and
// reported with `timedOut: true`: the command must exit promptly by itself.

const { spawn } = require('node:child_process');
const path = require('node:path');
const { childEnv } = require('./child');

const BIN = path.join(__dirname, '..', '..', 'bin', 'm2m-token.js');

const COMMAND_ENV = [
  'AUTH0_DOMAIN', 'AUTH0_CLIENT_ID', 'AUTH0_CLIENT_SECRET',
  'M2M_CLIENT_ID', 'M2M_CLIENT_SECRET', 'M2M_TOKEN_STORE',
  'XDG_CACHE_HOME', 'NODE_EXTRA_CA_CERTS',
];


/** @returns Promise<{ status, signal, stdout, stderr, timedOut }> */
function runCli(args, { env = {}, input, timeoutMs = 15000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: childEnv(env, COMMAND_ENV),
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    const err = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => err.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({
        status,
        signal,
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (input !== undefined) child.stdin.end(input);
  });
}

module.exports = { runCli, BIN };

'use strict';

// Real processes sharing a store: each is a fork of
// fixtures-scripts/store-child.js, driven over IPC.
//
//   const fleet = await forkFleet(4, { env: { XDG_CACHE_HOME: dir } });
//   const results = await fleet.all('info', { options, n: 5 });   // the same command to every process, at once
//   await fleet[0].call('invalidate', { options });
//   fleet[1].kill('SIGKILL'); await fleet.close();
//
// The children start with a clean environment for the module (no inherited
// M2M_TOKEN_STORE or NODE_EXTRA_CA_CERTS) plus `env`.

const { killedAtEnd } = require('./leftovers');
const { childEnv } = require('./child');
const { startTokenServer } = require('./token-server');
const path = require('node:path');
const { fork, execFile } = require('node:child_process');

const script = path.join(__dirname, '..', 'fixtures-scripts', 'store-child.js');
const exitScript = path.join(__dirname, '..', 'fixtures-scripts', 'store-exit.js');

// Children a failed or timed-out test left behind are killed when the file's
// tests end (their IPC channels would keep it running), or at exit.
const live = killedAtEnd();


/** Forks one child; resolves once it has loaded the module. */
function forkChild(env) {
  return new Promise((resolve, reject) => {
    const proc = fork(script, [], { execArgv: [], env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    live.add(proc);
    let seq = 0;
    const pending = new Map();
    let output = '';
    proc.stdout.on('data', (d) => { output += d; });
    proc.stderr.on('data', (d) => { output += d; });
    const exited = new Promise((done) => proc.once('exit', (code, signal) => {
      live.delete(proc);
      for (const { fail } of pending.values()) fail(new Error(`child ${proc.pid} exited (${code ?? signal}); output:\n${output}`));
      pending.clear();
      done({ code, signal });
    }));
    const child = {
      pid: proc.pid,
      exited,
      /** Everything it wrote to stdout and stderr so far. */
      get output() { return output; },
      call(cmd, args = {}) {
        return new Promise((ok, fail) => {
          const id = ++seq;
          pending.set(id, { ok, fail });
          proc.send({ id, cmd, ...args });
        });
      },
      kill(signal = 'SIGKILL') {
        proc.kill(signal);
        return exited;
      },
    };
    proc.on('message', (msg) => {
      if (msg && msg.ready) return resolve(child);
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.error) p.fail(Object.assign(new Error(`child ${proc.pid} ${msg.error.message}`), { code: msg.error.code }));
      else p.ok(msg.result);
    });
    proc.once('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) before it was ready:\n${output}`)));
  });
}

/** Forks `n` children (in parallel) and resolves once every one is ready. */
async function forkFleet(n, { env } = {}) {
  const children = await Promise.all(Array.from({ length: n }, () => forkChild(env)));
  return Object.assign(children, {
    /** Sends one command to every child in the same tick; resolves with their results in order. */
    all: (cmd, args) => Promise.all(children.map((c) => c.call(cmd, args))),
    async close() {
      await Promise.all(children.map((c) => c.kill('SIGKILL')));
    },
  });
}

/**
 * Runs `fn({ server, fleet })` with a token server (started with `server`)
 * and `processes` forked children (with `env`); closes both afterwards.
 */
async function withFleet({ processes = 2, server: serverOpts = {}, env } = {}, fn) {
  const server = await startTokenServer(serverOpts);
  try {
    const fleet = await forkFleet(processes, { env });
    try {
      return await fn({ server, fleet });
    } finally {
      await fleet.close();
    }
  } finally {
    await server.close();
  }
}

/**
 * Runs fixtures-scripts/store-exit.js with `options`: it gets one token and
 * must then exit by itself. Resolves with its output, exit code and how long
 * it took to exit after it had the token. Killed after `timeoutMs`.
 */
function runExitChild(options, { env, timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [exitScript, JSON.stringify(options)], { env: childEnv(env), timeout: timeoutMs }, (err, stdout, stderr) => {
      const exitedAt = Date.now();
      const [token, gotAt] = stdout.trim().split(' ');
      resolve({
        code: err ? err.code : 0,
        killed: Boolean(err && err.killed),
        token,
        stdout,
        stderr,
        msAfterToken: exitedAt - Number(gotAt),
      });
    });
  });
}

/** Every access token the `info` results hold; throws on a call that failed. */
function tokensOf(results) {
  const tokens = new Set();
  for (const r of [].concat(results)) {
    for (const c of r.calls) {
      if (c.error) throw new Error(`a call failed: ${c.error.code} ${c.error.message}`);
      tokens.add(c.value.accessToken);
    }
  }
  return [...tokens];
}

/** The slowest call of `info` results, in ms. */
const slowestCall = (results) => Math.max(...[].concat(results).flatMap((r) => r.calls.map((c) => c.ms)));

/**
 * What a store must never hold in the clear, as labelled needles: the
 * options' client id, secret, audience, scope (each word too), token URL,
 * and the tokens the server issued.
 */
function needlesOf(options, issued = []) {
  const needles = [
    ['clientId', options.clientId],
    ['clientSecret', options.clientSecret],
    ['audience', options.audience],
    ['scope', options.scope],
    ['tokenUrl', options.tokenUrl],
    ...String(options.scope || '').split(' ').filter((w) => w.length >= 8).map((w) => ['scope word', w]),
    ...issued.map((t) => ['access token', t]),
  ];
  return needles.filter(([, v]) => typeof v === 'string' && v.length > 0);
}

/**
 * The needles found in `bytes`, raw or in a common encoding of them (base64,
 * base64url, hex): an encoding is not a seal.
 */
function leaksIn(bytes, needles) {
  const hay = Buffer.from(bytes);
  const found = [];
  for (const [label, value] of needles) {
    const forms = { raw: value, base64: Buffer.from(value).toString('base64').replace(/=+$/, ''), base64url: Buffer.from(value).toString('base64url'), hex: Buffer.from(value).toString('hex') };
    for (const [encoding, form] of Object.entries(forms)) {
      if (hay.includes(form) || hay.includes(form.toUpperCase())) found.push(`${label} (${encoding})`);
    }
  }
  return [...new Set(found)];
}

module.exports = { forkFleet, forkChild, withFleet, runExitChild, tokensOf, slowestCall, needlesOf, leaksIn };

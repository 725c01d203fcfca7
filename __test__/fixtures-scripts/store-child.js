'use strict';

// A forked process of a fleet (see helpers/fleet.js). It loads the module,
// says { ready: true }, then answers { id, cmd, ...args } messages with
// { id, result } (a call that fails is part of the result, never a crash):
//   info { options, n }      n concurrent getTokenInfo calls; their results, the time they took, stats
//   invalidate { options }   invalidate(options): its result, the time it took, stats
//   fetch { options, url, n } n concurrent client.fetch(url) of one client: their statuses, stats
//   clearCache / stats
//   pollUntilChange { options, from, intervalMs, timeoutMs }
//                            calls getTokenInfo every intervalMs until the token is not `from`
//   inspect { options }      util.inspect / JSON.stringify of a client, the stats and a failed call
//   workers { optionsList }  one worker thread per options, each gets a token and stays alive
//   stopWorkers              ends them
//   callUntil { options, untilMs } getTokenInfo every few ms until then (helpers/call-loop.js)
//   exit                     disconnects, so the process can end by itself

const util = require('node:util');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const m2m = require('../..');
const { timed: timedOutcome } = require('../helpers/outcomes');
const { callUntil } = require('../helpers/call-loop');

const plainError = (err) => ({ name: err && err.name, code: err && err.code, message: String(err && err.message), retryAfter: err && err.retryAfter, inspect: util.inspect(err) });

/** { value, ms } or { error (a plain object, for IPC), ms }. */
async function timed(fn) {
  const r = await timedOutcome(fn);
  return 'err' in r ? { error: plainError(r.err), ms: r.ms } : r;
}

const infoOf = (i) => ({ accessToken: i.accessToken, fromCache: i.fromCache, expiresAt: i.expiresAt });

let workers = [];

const commands = {
  async info({ options, n = 1 }) {
    const calls = await Promise.all(Array.from({ length: n }, () => timed(async () => infoOf(await m2m.getTokenInfo(options)))));
    return { calls, stats: m2m.stats() };
  },
  async invalidate({ options }) {
    const call = await timed(() => m2m.invalidate(options));
    return { ...call, stats: m2m.stats() };
  },
  async fetch({ options, url, n = 1 }) {
    const client = new m2m.TokenClient(options);
    const statuses = await Promise.all(Array.from({ length: n }, async () => {
      const response = await client.fetch(url);
      await response.arrayBuffer();
      return response.status;
    }));
    return { statuses, stats: m2m.stats() };
  },
  clearCache() {
    m2m.clearCache();
    return true;
  },
  stats: () => m2m.stats(),
  async pollUntilChange({ options, from, intervalMs = 25, timeoutMs = 5000 }) {
    const started = performance.now();
    let calls = 0;
    let last;
    while (performance.now() - started < timeoutMs) {
      calls++;
      const r = await timed(async () => infoOf(await m2m.getTokenInfo(options)));
      last = r;
      if (r.value && r.value.accessToken !== from) return { changed: true, ms: performance.now() - started, calls, last, stats: m2m.stats() };
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return { changed: false, ms: performance.now() - started, calls, last, stats: m2m.stats() };
  },
  async inspect({ options }) {
    const client = new m2m.TokenClient(options);
    const call = await timed(() => client.getToken());
    return {
      call,
      client: util.inspect(client, { depth: 10, showHidden: true }),
      clientJson: JSON.stringify(client) ?? '',
      stats: util.inspect(m2m.stats()),
      statsJson: JSON.stringify(m2m.stats()),
    };
  },
  async workers({ optionsList }) {
    const script = path.join(__dirname, 'store-worker.js');
    const started = optionsList.map((options) => new Promise((resolve) => {
      const w = new Worker(script, { workerData: options });
      workers.push(w);
      w.once('message', resolve);
      w.once('error', (err) => resolve({ error: plainError(err) }));
    }));
    return { results: await Promise.all(started), stats: m2m.stats() };
  },
  async stopWorkers() {
    const ending = workers.map((w) => new Promise((resolve) => { w.once('exit', resolve); w.postMessage('exit'); }));
    workers = [];
    await Promise.all(ending);
    return true;
  },
  callUntil: ({ options, untilMs }) => callUntil(m2m, options, untilMs),
  exit() {
    setImmediate(() => process.disconnect());
    return true;
  },
};

process.on('message', async ({ id, cmd, ...args }) => {
  try {
    process.send({ id, result: await commands[cmd](args) });
  } catch (err) {
    process.send({ id, error: plainError(err) });
  }
});
process.send({ ready: true });

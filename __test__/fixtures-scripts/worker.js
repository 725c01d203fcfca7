'use strict';

// Worker thread for workers.test.js. Answers { id, cmd, ... } messages with
// { id, result } or { id, error: { code, message } }.
//   burst { options, n, sab }: waits on the shared go flag, then n concurrent getTokenInfo calls
//   info { options } / invalidate { options } / stats
//   hits { options, n }: n calls, each awaited, over the four call forms (all expected hits)
//   invalid { n }: n calls with invalid options
//   exit: closes the port so the thread can end by itself

const { parentPort } = require('node:worker_threads');
const m2m = require('../..');
const { serveCommands } = require('../helpers/command-worker');
const { viaCallback } = require('../helpers/callbacks');
const { armAndWait } = require('../helpers/start-gate');


const commands = {
  async burst({ options, n, sab }) {
    armAndWait(sab);
    const infos = await Promise.all(Array.from({ length: n }, () => m2m.getTokenInfo(options)));
    return { tokens: [...new Set(infos.map((i) => i.accessToken))], fromCache: infos.filter((i) => i.fromCache).length };
  },
  info: ({ options }) => m2m.getTokenInfo(options),
  invalidate: ({ options }) => m2m.invalidate(options),
  stats: () => m2m.stats(),
  async hits({ options, n }) {
    const client = new m2m.TokenClient(options);
    const tokens = new Set();
    for (let i = 0; i < n; i++) {
      switch (i % 4) {
        case 0: tokens.add(await m2m.getToken(options)); break;
        case 1: tokens.add((await m2m.getTokenInfo(options)).accessToken); break;
        case 2: tokens.add(await viaCallback((cb) => m2m.getToken(options, cb))); break;
        default: tokens.add(await client.getToken());
      }
    }
    return [...tokens];
  },
  async invalid({ n }) {
    for (let i = 0; i < n; i++) await m2m.getToken({ clientSecret: 'x' }).catch(() => {});
    return n;
  },
  exit() {
    setImmediate(() => parentPort.close());
    return true;
  },
};

serveCommands(parentPort, commands);

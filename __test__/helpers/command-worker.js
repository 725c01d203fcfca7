'use strict';

// A worker thread driven by commands: the test sends { id, cmd, ...args },
// the worker answers { id, result } or { id, error: { code, message } }.
//
//   test side:    const worker = await startCommandWorker(script); await worker.call('info', { options })
//   worker side:  serveCommands(parentPort, { info: ({ options }) => m2m.getTokenInfo(options) })

const { Worker } = require('node:worker_threads');

/** Starts `script`; resolves once it has loaded and said it is ready. */
function startCommandWorker(script) {
  const worker = new Worker(script);
  const pending = new Map();
  let nextId = 0;
  let exitCode;
  const exited = new Promise((resolve) => worker.once('exit', (code) => { exitCode = code; resolve(code); }));
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (msg) => {
      if (msg.ready) {
        resolve({
          call(cmd, args = {}) {
            const id = ++nextId;
            return new Promise((res, rej) => {
              pending.set(id, { res, rej });
              worker.postMessage({ id, cmd, ...args });
            });
          },
          exited,
          get exitCode() { return exitCode; },
          terminate: () => worker.terminate(),
        });
        return;
      }
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p.rej(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
      else p.res(msg.result);
    });
  });
}

/** In the worker: answers each command with its handler's (awaited) result, then says it is ready. */
function serveCommands(port, commands) {
  port.on('message', async ({ id, cmd, ...args }) => {
    try {
      port.postMessage({ id, result: await commands[cmd](args) });
    } catch (err) {
      port.postMessage({ id, error: { code: err.code, message: err.message } });
    }
  });
  port.postMessage({ ready: true });
}

module.exports = { startCommandWorker, serveCommands };

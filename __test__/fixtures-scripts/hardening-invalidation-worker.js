'use strict';

// Worker thread for hardening-invalidation.test.js. workerData:
//   root, options, sab (Int32Array: [0] invalidations started, [1] invalidations
//   returned, [2] go), mode, calls, concurrency.
// mode 'call': `concurrency` loops make `calls` calls in all, rotating over
//   five call styles; each call notes the invalidations returned just before
//   it started and the token it got.
// mode 'clear': loops clearCache() + getToken(), counting its clearCache()
//   calls as invalidations, until `calls` calls are made.
// Posts { records: [[returnedBefore, token]...], errors: [...], doubles, calls }.

const { parentPort, workerData } = require('node:worker_threads');
const { viaCallback, SETTLE_MS } = require('../helpers/callbacks');

const { root, options, sab, mode, calls, concurrency } = workerData;
const m2m = require(root);
const shared = new Int32Array(sab);
const STARTED = 0;
const RETURNED = 1;
const GO = 2;

const result = { records: [], errors: [], doubles: 0, calls: 0 };
const client = new m2m.TokenClient(options);

/** Resolves with the callback's value, counting a second call as a double. */
const once = (start) => viaCallback(start, () => { result.doubles++; });

const styles = [
  () => client.getToken(),
  () => once((cb) => client.getToken(cb)),
  () => m2m.getToken(options),
  () => m2m.getTokenInfo(options).then((info) => info.accessToken),
  () => once((cb) => client.getTokenInfo(cb)).then((info) => info.accessToken),
];

async function call(style) {
  const returnedBefore = Atomics.load(shared, RETURNED);
  result.calls++;
  try {
    result.records.push([returnedBefore, await styles[style]()]);
  } catch (err) {
    result.errors.push(`${err.code}: ${err.message}`);
  }
}

async function callLoop(first, count) {
  for (let i = 0; i < count; i++) await call((first + i) % styles.length);
}

async function clearLoop(count) {
  for (let i = 0; i < count; i++) {
    Atomics.add(shared, STARTED, 1);
    m2m.clearCache();
    Atomics.add(shared, RETURNED, 1);
    await call(2);
  }
}

async function main() {
  Atomics.wait(shared, GO, 0);
  if (mode === 'clear') await clearLoop(calls);
  else {
    const per = Math.ceil(calls / concurrency);
    await Promise.all(Array.from({ length: concurrency }, (_, i) => callLoop(i, per)));
  }
  // Let any late second callback show up before reporting (see SETTLE_MS).
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  parentPort.postMessage(result);
}

main();

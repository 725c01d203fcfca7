'use strict';

// One process of the remote-invalidation stress (see
// __test__/never-hang.test.js). argv: role, options as JSON, seconds.
//   victim:      getToken() in a loop on the main thread and 3 worker
//                threads, clearing its memory before every 4th call, so it
//                keeps starting flights while invalidations arrive; prints
//                one JSON line { loops, maxTimerGapMs, errors }.
//   invalidator: getToken() then invalidate() in a loop; prints { loops, errors }.
// Either role exits by itself when done: the parent's watchdog counts a
// process that does not as a hang.

const { Worker, isMainThread, workerData, parentPort } = require('node:worker_threads');
const m2m = require('../..');

async function loop(role, options, seconds) {
  const end = Date.now() + seconds * 1000;
  let loops = 0;
  let errors = 0;
  while (Date.now() < end) {
    try {
      if (role === 'victim' && loops % 4 === 0) m2m.clearCache();
      await m2m.getToken(options);
      if (role === 'invalidator') m2m.invalidate(options);
    } catch (err) {
      errors++;
      if (err.code !== 'ERR_NETWORK' && err.code !== 'ERR_HTTP_STATUS') throw err;
    }
    loops++;
  }
  return { loops, errors };
}

if (!isMainThread) {
  loop('victim', workerData.options, workerData.seconds).then((r) => parentPort.postMessage(r));
} else {
  const [role, json, secondsText] = process.argv.slice(2);
  const options = JSON.parse(json);
  const seconds = Number(secondsText);
  (async () => {
    if (role === 'invalidator') {
      console.log(JSON.stringify(await loop(role, options, seconds)));
      return;
    }
    // The main thread's event loop must keep turning: a timer that fires
    // late by seconds means the thread was stuck inside the module.
    let last = performance.now();
    let maxTimerGapMs = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      maxTimerGapMs = Math.max(maxTimerGapMs, now - last);
      last = now;
    }, 20);
    const workers = Array.from({ length: 3 }, () => new Promise((resolve, reject) => {
      const w = new Worker(__filename, { workerData: { options, seconds } });
      w.once('message', resolve);
      w.once('error', reject);
    }));
    const results = await Promise.all([loop(role, options, seconds), ...workers]);
    clearInterval(ticker);
    console.log(JSON.stringify({
      loops: results.map((r) => r.loops),
      errors: results.reduce((n, r) => n + r.errors, 0),
      maxTimerGapMs,
    }));
  })();
}

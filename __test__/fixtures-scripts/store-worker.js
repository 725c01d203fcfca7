'use strict';

// Worker thread for store-child.js: gets one token with workerData as the
// options, posts { accessToken } or { error }, then stays alive (holding
// nothing but its port) until told 'exit'.

const { parentPort, workerData } = require('node:worker_threads');
const m2m = require('../..');

m2m.getTokenInfo(workerData).then(
  (info) => parentPort.postMessage({ accessToken: info.accessToken }),
  (err) => parentPort.postMessage({ error: { code: err.code, message: err.message } }),
);
parentPort.on('message', (msg) => {
  if (msg === 'exit') parentPort.close();
});

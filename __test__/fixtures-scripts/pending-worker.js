'use strict';

// Worker thread for thread-shutdown.test.js: starts a token request and
// reports 'calling'; the test terminates it mid-request. workerData:
//   { options, invalidateFirst, callbackStyle }
// Posts 'calling', then { got: token } or { error: code } if not terminated first.

const { parentPort, workerData } = require('node:worker_threads');
const m2m = require('../..');

const { options, invalidateFirst, callbackStyle } = workerData;
if (invalidateFirst) m2m.invalidate(options);
if (callbackStyle) {
  m2m.getToken(options, (err, token) => parentPort.postMessage(err ? { error: err.code } : { got: token }));
} else {
  m2m.getTokenInfo(options).then(
    (info) => parentPort.postMessage({ got: info.accessToken }),
    (err) => parentPort.postMessage({ error: err.code }),
  );
}
parentPort.postMessage('calling');

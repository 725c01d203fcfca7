'use strict';

// A worker thread that runs helpers/call-loop.js with { options, untilMs }
// from its workerData and posts the calls it recorded.

const { workerData, parentPort } = require('node:worker_threads');
const m2m = require('../..');
const { callUntil } = require('../helpers/call-loop');

callUntil(m2m, workerData.options, workerData.untilMs).then((calls) => parentPort.postMessage(calls));

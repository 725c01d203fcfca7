'use strict';

// Worker thread for diagnostics.test.js: subscribes to the m2m-token
// channels in this thread and answers { id, cmd, options } messages with
// { id, result } or { id, error: { code, message } }.
//   info { options }: getTokenInfo     messages: what this thread saw since the last ask
//   invalidate { options }

const { parentPort } = require('node:worker_threads');
const diagnostics = require('node:diagnostics_channel');
const m2m = require('../..');
const { serveCommands } = require('../helpers/command-worker');

const CHANNELS = ['m2m-token:fetch:start', 'm2m-token:fetch:end', 'm2m-token:invalidate'];
let seen = [];

// Messages cross to the main thread by structured clone: an error becomes
// its fields, with a flag saying it was a TokenError of this thread.
function cloneable(message) {
  const copy = { ...message };
  if (message.error !== undefined) {
    copy.error = { isTokenError: message.error instanceof m2m.TokenError, code: message.error.code, message: message.error.message };
  }
  return copy;
}

for (const name of CHANNELS) {
  diagnostics.subscribe(name, (message) => seen.push({ channel: name, message: cloneable(message) }));
}

const commands = {
  info: ({ options }) => m2m.getTokenInfo(options),
  invalidate: ({ options }) => m2m.invalidate(options),
  messages() {
    const out = seen;
    seen = [];
    return out;
  },
};

serveCommands(parentPort, commands);

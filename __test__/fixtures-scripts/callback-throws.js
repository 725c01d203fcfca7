'use strict';

// Child process for guarantees.test.js: a callback that throws.
// argv: <tokenUrl> <mode> [handler]
//   mode: fetch | hit | info | client | oauth-error | invalid-options
//   handler: 'handler' installs an uncaughtException handler that prints the error.
// Prints one line per callback call and per uncaught exception, then 'done'.

const m2m = require('../..');
const { SETTLE_MS } = require('../helpers/callbacks');

const [url, mode, handler] = process.argv.slice(2);
const options = { tokenUrl: url, clientId: `throws-${mode}`, clientSecret: mode === 'oauth-error' ? 'wrong' : 's' };

if (handler === 'handler') {
  process.on('uncaughtException', (err) => console.log(`uncaught: ${err.message}`));
}

let calls = 0;
function callback(err, value) {
  calls++;
  // 'done' once a wrongly repeated call would have shown (see SETTLE_MS);
  // without a handler the throw below ends the process first.
  if (calls === 1) setTimeout(() => console.log('done'), SETTLE_MS);
  console.log(`callback ${calls}: ${err ? `error ${err.code}` : `ok ${typeof value}`}`);
  throw new Error(`boom ${calls}`);
}

async function main() {
  switch (mode) {
    case 'fetch': m2m.getToken(options, callback); break;
    case 'hit': await m2m.getToken(options); m2m.getToken(options, callback); break;
    case 'info': m2m.getTokenInfo(options, callback); break;
    case 'client': new m2m.TokenClient(options).getToken(callback); break;
    case 'oauth-error': m2m.getToken(options, callback); break;
    case 'invalid-options': m2m.getToken({ tokenUrl: url }, callback); break;
    default: throw new Error(`unknown mode ${mode}`);
  }
}

main();

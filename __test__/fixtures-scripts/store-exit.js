'use strict';

// Child process for the "no hang with a store" tests: gets one token with the
// options given as JSON in argv[2], prints `<token> <Date.now() when it had it>`
// (or `error <code>`), and does nothing else, so it must exit by itself.

const m2m = require('../..');

m2m.getToken(JSON.parse(process.argv[2])).then(
  (token) => console.log(`${token} ${Date.now()}`),
  (err) => console.log(`error ${err.code}`),
);

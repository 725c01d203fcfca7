'use strict';

// Child process for no-leaks.test.js. Runs through failures of every kind
// with the secret and key from the environment, printing each error with
// console.log(err) and console.error(util.inspect(err)), and the client and
// stats too. Ends by throwing the last error uncaught (Node prints it).
//   LEAK_ORIGIN: the token server's origin (routes as in no-leaks.test.js)
//   LEAK_SECRET, LEAK_KEY: the client secret and the PKCS#8 PEM key
//   LEAK_REFUSED_PORT: a port nothing listens on

const util = require('node:util');
const m2m = require('../..');

const { LEAK_ORIGIN: origin, LEAK_SECRET: secret, LEAK_KEY: key, LEAK_REFUSED_PORT: refusedPort } = process.env;

const credentials = [
  { clientSecret: secret },
  { clientSecret: secret, authMethod: 'client_secret_basic' },
  { privateKey: key, keyId: 'k1' },
];
const faults = [
  ['/401', {}], ['/502', {}], ['/429', { retries: 0 }], ['/garbage', {}], ['/badexp', {}], ['/negexp', {}],
  ['/hang', { timeoutMs: 200, retries: 0 }],
];

const show = (err) => {
  console.log(err);
  console.error(util.inspect(err, { showHidden: true, depth: Infinity }));
  console.log(JSON.stringify(err), String(err), err.stack);
};

async function main() {
  let last;
  for (const [i, cred] of credentials.entries()) {
    // A token first, so the module holds one, then failures for that entry.
    const client = new m2m.TokenClient({ tokenUrl: `${origin}/ok`, clientId: `child-ok-${i}`, ...cred });
    await client.getToken();
    console.log(client);
    console.error(util.inspect(client, { showHidden: true, depth: Infinity }), JSON.stringify(client), String(client));
    for (const [route, extra] of faults) {
      const options = { tokenUrl: `${origin}${route}`, clientId: `child${route}-${i}`, ...cred, ...extra };
      try {
        await m2m.getToken(options);
        console.log('unexpected success', route);
      } catch (err) {
        show(err);
        last = err;
      }
      await new Promise((resolve) => m2m.getToken(options, (err) => { if (err) show(err); resolve(); }));
    }
    try {
      await m2m.getToken({ tokenUrl: `http://127.0.0.1:${refusedPort}/t`, clientId: `child-refused-${i}`, retries: 0, ...cred });
    } catch (err) { show(err); }
    for (const bad of [{ authMethod: 'nope' }, { signingAlgorithm: 'HS256', privateKey: key }, { leewaySeconds: -1 }, { tokenUrl: 'http://example.com/t' }]) {
      try {
        new m2m.TokenClient({ tokenUrl: `${origin}/ok`, clientId: 'child-bad', ...cred, ...bad });
      } catch (err) { show(err); }
      await m2m.getToken({ tokenUrl: `${origin}/ok`, clientId: 'child-bad', ...cred, ...bad }).catch(show);
    }
    console.log(m2m.stats());
  }
  for (const bad of [{ privateKey: secret }, { privateKey: key.slice(0, 200) }, { clientSecret: secret, privateKey: 'garbage' }]) {
    await m2m.getToken({ tokenUrl: `${origin}/ok`, clientId: 'child-badkey', ...bad }).catch(show);
  }
  console.log(util.inspect(m2m.stats(), { showHidden: true, depth: Infinity }));
  console.log('child done');
  setImmediate(() => { throw last; });
}

main().catch((err) => { console.error('child failed', err); process.exit(2); });

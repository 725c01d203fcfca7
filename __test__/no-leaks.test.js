'use strict';

// Nothing secret leaks: no TokenError (message, stack,
// own properties, util.inspect with hidden fields, JSON.stringify), no
// client and no stats() output ever contains the client secret, the private
// key or an access token — in this process and in a child printing every
// error with console.log / util.inspect and dying on an uncaught one.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const path = require('node:path');
const util = require('node:util');
const { execFile } = require('node:child_process');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');

const SECRET = `S3CRET-${crypto.randomBytes(12).toString('hex')}`;
const KEY = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
// Pieces of the key body too, so a partial or reformatted key is caught.
const KEY_LINES = KEY.split('\n').filter((l) => l && !l.startsWith('-----'));
const KEY_PIECES = [KEY.trim(), KEY_LINES.join(''), KEY_LINES[2], KEY_LINES[10], KEY_LINES[KEY_LINES.length - 2]];
const BAD_TOKEN = `leaktok-${crypto.randomBytes(12).toString('hex')}`; // inside answers that are refused

let server;
let refusedPort;

// Routes by path: /ok (default), /401 (invalid_client, the secret in the
// description), /502 (HTML), /429 (forever, Retry-After 1), /garbage,
// /badexp and /negexp (a token with a bad expires_in), /hang.
// Answers echo the credential the request carried (a careless server), so
// the module must not pass a body or a description on verbatim.
function sentSecret(ctx) {
  if (ctx.form.client_secret) return ctx.form.client_secret;
  const auth = ctx.headers.authorization || '';
  if (auth.startsWith('Basic ')) {
    const pair = Buffer.from(auth.slice(6), 'base64').toString('utf8');
    return decodeURIComponent(pair.slice(pair.indexOf(':') + 1));
  }
  return ctx.form.client_assertion || 'none';
}

function route(ctx) {
  const p = ctx.path.split('?')[0];
  switch (p) {
    case '/401': return { status: 401, body: { error: 'invalid_client', error_description: `secret ${sentSecret(ctx)} is wrong` } };
    case '/502': return { status: 502, headers: { 'content-type': 'text/html' }, body: `<html><body>502 Bad Gateway ${sentSecret(ctx)}</body></html>` };
    case '/429': return { status: 429, headers: { 'retry-after': '1' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } };
    case '/garbage': return { status: 200, body: `not json ${BAD_TOKEN} ${sentSecret(ctx)}` };
    case '/badexp': return { status: 200, body: { access_token: BAD_TOKEN, token_type: 'Bearer', expires_in: 'abc' } };
    case '/negexp': return { status: 200, body: { access_token: BAD_TOKEN, token_type: 'Bearer', expires_in: -5 } };
    case '/hang': return { hang: true };
    default: return undefined;
  }
}

before(async () => {
  server = await startTokenServer({ respond: route });
  refusedPort = await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
});
after(() => server.close());
beforeEach(() => m2m.clearCache());

const secrets = () => [
  ['the client secret', SECRET],
  ...KEY_PIECES.map((piece, i) => [`the private key (piece ${i})`, piece]),
  ['a refused access token', BAD_TOKEN],
  ...server.issued.map((t, i) => [`issued token #${i + 1}`, t]),
];

function assertClean(text, where) {
  assert.equal(typeof text, 'string', where);
  for (const [what, value] of secrets()) {
    assert.ok(!text.includes(value), `${where} contains ${what}`);
  }
}

const inspectAll = (v) => util.inspect(v, { showHidden: true, depth: Infinity, getters: true });

function assertErrorClean(err, where) {
  assert.ok(err instanceof m2m.TokenError, `${where}: not a TokenError: ${err}`);
  assertClean(String(err.message), `${where}: message`);
  assertClean(String(err.stack), `${where}: stack`);
  assertClean(String(err), `${where}: String(err)`);
  for (const key of Reflect.ownKeys(err)) {
    const value = err[key];
    assertClean(typeof value === 'object' && value !== null ? inspectAll(value) : String(value), `${where}: own property ${String(key)}`);
  }
  assertClean(inspectAll(err), `${where}: util.inspect`);
  assertClean(util.inspect(err), `${where}: util.inspect (default)`);
  assertClean(String(JSON.stringify(err)), `${where}: JSON.stringify`);
  assertClean(util.format('%o %O %s %j', err, err, err, err), `${where}: util.format`);
}

function assertClientClean(client, where) {
  assertClean(inspectAll(client), `${where}: util.inspect(client)`);
  assertClean(util.inspect(client), `${where}: util.inspect(client) (default)`);
  assertClean(String(JSON.stringify(client)), `${where}: JSON.stringify(client)`);
  assertClean(String(client), `${where}: String(client)`);
  for (const key of Reflect.ownKeys(client)) {
    const value = client[key];
    assertClean(typeof value === 'object' && value !== null ? inspectAll(value) : String(value), `${where}: client own property ${String(key)}`);
  }
}

const CREDENTIALS = [
  ['client_secret_post', { clientSecret: SECRET }],
  ['client_secret_basic', { clientSecret: SECRET, authMethod: 'client_secret_basic' }],
  ['private_key_jwt', { privateKey: KEY, keyId: 'k1' }],
];

const FAULTS = [
  ['/401', {}, 'ERR_OAUTH'],
  ['/502', {}, 'ERR_HTTP_STATUS'],
  ['/429', { retries: 0 }, 'ERR_RATE_LIMITED'],
  ['/garbage', {}, 'ERR_INVALID_RESPONSE'],
  ['/badexp', {}, 'ERR_INVALID_RESPONSE'],
  ['/negexp', {}, 'ERR_INVALID_RESPONSE'],
  ['/hang', { timeoutMs: 200, retries: 0 }, 'ERR_TIMEOUT'],
];

const INVALID = [
  { authMethod: 'nope' },
  { signingAlgorithm: 'HS256', privateKey: KEY },
  { leewaySeconds: -1 },
  { timeoutMs: 0 },
  { tokenUrl: 'http://example.com/t' },
  { extraParams: { client_secret: 'x' } },
  { scope: 5 },
];

for (const [method, cred] of CREDENTIALS) {
  test(`${method}: no error of any code, no client, no stats output leaks the secret, key or token`, async () => {
    const seen = new Set();
    const base = { clientId: uid('leak'), ...cred };

    // A token first, so the module and the client hold one.
    const client = new m2m.TokenClient({ tokenUrl: `${server.origin}/ok`, ...base });
    const token = await client.getToken();
    assert.ok(server.issued.includes(token));
    assertClientClean(client, method);
    assert.equal((await client.getTokenInfo()).accessToken, token); // cached
    assertClientClean(client, `${method} (after a hit)`);

    for (const [p, extra, code] of FAULTS) {
      const options = { tokenUrl: `${server.origin}${p}`, ...base, ...extra };
      const err = await m2m.getToken(options).then(() => assert.fail(`${p}: resolved`), (e) => e);
      assert.equal(err.code, code, `${p}: ${err.message}`);
      assertErrorClean(err, `${method} ${p}`);
      seen.add(err.code);
      const c = new m2m.TokenClient(options);
      const err2 = await c.getTokenInfo().then(() => assert.fail(`${p}: resolved`), (e) => e);
      assertErrorClean(err2, `${method} ${p} (client)`);
      assertClientClean(c, `${method} ${p} (client after an error)`);
      const err3 = await new Promise((resolve) => m2m.getToken(options, (e) => resolve(e)));
      assertErrorClean(err3, `${method} ${p} (callback)`);
    }

    const refused = await m2m.getToken({ tokenUrl: `http://127.0.0.1:${refusedPort}/t`, ...base, retries: 0 }).then(() => assert.fail('resolved'), (e) => e);
    assert.equal(refused.code, 'ERR_NETWORK');
    assertErrorClean(refused, `${method} refused`);
    seen.add(refused.code);

    for (const bad of INVALID) {
      const options = { tokenUrl: `${server.origin}/ok`, ...base, ...bad };
      const err = await m2m.getToken(options).then(() => assert.fail(`${JSON.stringify(bad)}: resolved`), (e) => e);
      assert.equal(err.code, 'ERR_INVALID_OPTIONS');
      assertErrorClean(err, `${method} invalid ${Object.keys(bad)[0]}`);
      seen.add(err.code);
      let thrown;
      try { new m2m.TokenClient(options); } catch (e) { thrown = e; } // eslint-disable-line no-new
      assert.ok(thrown, 'TokenClient did not throw');
      assertErrorClean(thrown, `${method} invalid ${Object.keys(bad)[0]} (constructor)`);
    }

    assert.deepEqual([...seen].sort(), ['ERR_HTTP_STATUS', 'ERR_INVALID_OPTIONS', 'ERR_INVALID_RESPONSE', 'ERR_NETWORK', 'ERR_OAUTH', 'ERR_RATE_LIMITED', 'ERR_TIMEOUT']);
    assertClientClean(client, `${method} (at the end)`);
    assertClean(inspectAll(m2m.stats()), 'util.inspect(stats())');
    assertClean(JSON.stringify(m2m.stats()), 'JSON.stringify(stats())');
  });
}

test('invalid options carrying the secret or the key never echo them', async () => {
  const cases = [
    { privateKey: SECRET },
    { privateKey: KEY.slice(0, 300) },
    { privateKey: KEY.replace(`${KEY_LINES[5]}\n`, '') },
    { privateKey: KEY.replace(KEY_LINES[5], KEY_LINES[5].split('').reverse().join('')) },
    { clientSecret: SECRET, privateKey: 'garbage' },
    { clientSecret: SECRET, authMethod: 'nope' },
    { privateKey: KEY, signingAlgorithm: 'HS256' },
    { clientSecret: SECRET, leewaySeconds: -1 },
    { clientSecret: SECRET, ca: 'not pem' },
    { clientSecret: SECRET, ca: KEY }, // a key where a certificate belongs
    { clientSecret: SECRET, extraParams: { client_secret: SECRET } },
    { clientSecret: SECRET, tokenUrl: 'http://example.com/t' },
    { clientSecret: 5, privateKey: KEY, authMethod: 'client_secret_post' },
  ];
  for (const bad of cases) {
    const options = { tokenUrl: `${server.origin}/ok`, clientId: uid('leak-opt'), ...bad };
    const err = await m2m.getToken(options).then(() => assert.fail(`${JSON.stringify(Object.keys(bad))}: resolved`), (e) => e);
    assert.equal(err.code, 'ERR_INVALID_OPTIONS', err.message);
    assertErrorClean(err, `invalid ${Object.keys(bad).join('+')}`);
  }
});

test('an OAuth error description that contains the secret is not passed on with it', async () => {
  const err = await m2m.getToken({ tokenUrl: `${server.origin}/401`, clientId: uid('leak-desc'), clientSecret: SECRET }).then(() => assert.fail('resolved'), (e) => e);
  assert.equal(err.code, 'ERR_OAUTH');
  assert.equal(err.oauthError, 'invalid_client');
  assert.equal(typeof err.oauthErrorDescription, 'string');
  assert.ok(!err.oauthErrorDescription.includes(SECRET), `oauthErrorDescription contains the secret: ${err.oauthErrorDescription}`);
  assert.ok(!err.message.includes(SECRET), `message contains the secret: ${err.message}`);
  assertErrorClean(err, '401 with the secret in error_description');
});

test('a child process printing every error, client and stats never prints the secret, key or a token', async () => {
  const issuedBefore = server.issued.length;
  const { code, stdout, stderr } = await new Promise((resolve) => {
    execFile(process.execPath, [path.join(__dirname, 'fixtures-scripts', 'leak-child.js')], {
      env: { ...process.env, LEAK_ORIGIN: server.origin, LEAK_SECRET: SECRET, LEAK_KEY: KEY, LEAK_REFUSED_PORT: String(refusedPort) },
      timeout: 60000,
      maxBuffer: 64 * 1024 * 1024,
    }, (err, out, errOut) => resolve({ code: err ? err.code : 0, stdout: out, stderr: errOut }));
  });
  assert.ok(stdout.includes('child done'), `the child did not finish: ${stderr.slice(-2000)}`);
  assert.equal(code, 1, 'the child ends on the uncaught error');
  assert.ok(server.issued.length > issuedBefore, 'the child got tokens');
  assert.match(stdout, /TokenError/);
  assert.match(stderr, /ERR_OAUTH|ERR_TIMEOUT|TokenError/);
  assertClean(stdout + stderr, 'the child\'s output');
});

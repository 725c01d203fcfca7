'use strict';

// What the endpoint or the user hands us, taken as Node would take it or
// refused with the right code:
// - an EC private key as people paste it (one trailing newline, CRLF, text
//   after the END line, EC PARAMETERS before it) is accepted wherever
//   Node's crypto.createPrivateKey accepts it, and signs;
// - an access_token with characters outside VSCHAR is ERR_INVALID_RESPONSE;
// - an absurd expires_in gives an expiresAt that is a valid Date;
// - a token read from a shared store is fromCache: true (TokenInfo and the
//   command's --json).

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const m2m = require('..');
const { withServer, startTokenServer, uid } = require('./helpers/token-server');
const { forkFleet } = require('./helpers/fleet');
const { runCli } = require('./helpers/cli');

const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sec1 = privateKey.export({ type: 'sec1', format: 'pem' });
const trimmed = sec1.trimEnd();
const pastedForms = {
  'no trailing newline': trimmed,
  'one trailing newline': `${trimmed}\n`,
  'two trailing newlines': `${trimmed}\n\n`,
  'CRLF line endings': sec1.replace(/\n/g, '\r\n'),
  'text after the END line': `${sec1}comment: from the vault\n`,
  'EC PARAMETERS first (openssl ecparam -genkey)': `-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${sec1}`,
};

/** Verifies an ES256 compact JWS with the test key's public half. */
function verifiesWithPublicKey(jwt) {
  const [header, payload, signature] = jwt.split('.');
  return crypto.verify('sha256', Buffer.from(`${header}.${payload}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
}

for (const [form, pem] of Object.entries(pastedForms)) {
  test(`an EC key with ${form} is taken as Node takes it, and signs`, () => withServer({}, async (server) => {
    assert.doesNotThrow(() => crypto.createPrivateKey(pem), 'Node accepts this form');
    const client = new m2m.TokenClient({
      tokenUrl: server.url, clientId: uid('ec-pasted'), privateKey: pem, signingAlgorithm: 'ES256',
    });
    assert.equal(await client.getToken(), server.issued[0]);
    const assertion = server.requests[0].form.client_assertion;
    assert.ok(verifiesWithPublicKey(assertion), 'the client assertion verifies with the public key');
  }));
}

test('a PEM that is no private key is still ERR_INVALID_OPTIONS', () => {
  const pub = publicKey.export({ type: 'spki', format: 'pem' });
  for (const bad of [pub, 'not a key', `${trimmed.slice(0, 60)}\n-----END EC PRIVATE KEY-----\n`]) {
    assert.throws(() => new m2m.TokenClient({ tokenUrl: 'http://127.0.0.1:1/t', clientId: 'x', privateKey: bad, signingAlgorithm: 'ES256' }),
      (err) => err.code === 'ERR_INVALID_OPTIONS' && !err.message.includes('BEGIN'));
  }
});

for (const [label, accessToken] of [['CR', 'abc\rdef'], ['LF', 'abc\ndef'], ['NUL', 'abc\u0000def'], ['TAB', 'abc\tdef'], ['non-ASCII', 'abcdéf']]) {
  test(`an access_token with ${label} is ERR_INVALID_RESPONSE and never cached`, () => withServer({
    respond: () => ({ status: 200, body: { access_token: accessToken, token_type: 'Bearer', expires_in: 3600 } }),
  }, async (server) => {
    const options = { tokenUrl: server.url, clientId: uid('vschar'), clientSecret: 's', retries: 0 };
    await assert.rejects(m2m.getToken(options), (err) => err.code === 'ERR_INVALID_RESPONSE' && !err.message.includes('abc'));
    await assert.rejects(m2m.getToken(options), { code: 'ERR_INVALID_RESPONSE' });
    assert.equal(server.count, 2, 'nothing was cached');
  }));
}

for (const expiresIn of [1e308, 2 ** 53 + 1, '1e300', Number.MAX_SAFE_INTEGER]) {
  test(`expires_in ${expiresIn} gives an expiresAt that is a valid Date`, () => withServer({
    respond: (ctx) => { const r = ctx.defaultResponse(); return { ...r, body: { ...r.body, expires_in: expiresIn } }; },
  }, async (server) => {
    const info = await m2m.getTokenInfo({ tokenUrl: server.url, clientId: uid('clamp'), clientSecret: 's' });
    assert.ok(Number.isSafeInteger(info.expiresAt), `expiresAt ${info.expiresAt}`);
    assert.ok(!Number.isNaN(new Date(info.expiresAt).getTime()), `expiresAt ${info.expiresAt} is not a valid Date`);
    assert.ok(info.expiresAt > Date.now() + 50 * 365 * 86400e3, 'still a very long-lived token');
  }));
}

test('a token taken from a shared store is fromCache: true', { timeout: 30000 }, async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-from-cache-'));
  const server = await startTokenServer();
  const fleet = await forkFleet(2);
  try {
    const options = { tokenUrl: server.url, clientId: uid('from-cache'), clientSecret: 's', store: `file:${path.join(root, 'store')}` };
    const [first] = (await fleet[0].call('info', { options })).calls;
    assert.equal(first.value.fromCache, false, 'the process that sent the request waited on it');
    const second = await fleet[1].call('info', { options, n: 3 });
    for (const call of second.calls) assert.equal(call.value.fromCache, true, 'a store read is no token request');
    assert.equal(second.stats.storeHits, 1);
    assert.equal(server.count, 1);
  } finally {
    await fleet.close();
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('m2m-token --json answered from the file store says fromCache: true', { timeout: 30000 }, () => withServer({}, async (server) => {
  const cacheHome = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-from-cache-cli-'));
  try {
    const args = ['--token-url', server.url, '--client-id', uid('cli-from-cache'), '--json'];
    const env = { XDG_CACHE_HOME: cacheHome, M2M_CLIENT_SECRET: 'cli-secret' };
    const runs = [await runCli(args, { env }), await runCli(args, { env })];
    for (const r of runs) assert.equal(r.status, 0, r.stderr);
    const [a, b] = runs.map((r) => JSON.parse(r.stdout));
    assert.equal(a.fromCache, false);
    assert.equal(b.fromCache, true);
    assert.equal(b.accessToken, a.accessToken);
    assert.equal(server.count, 1);
  } finally {
    fs.rmSync(cacheHome, { recursive: true, force: true });
  }
}));

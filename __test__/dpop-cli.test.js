'use strict';

// The command with DPoP: --dpop, --dpop-key-file F, and --header --url U
// [--method M], whose two lines curl takes as they are. Tokens come from
// oidc-provider; the API is the real express-oauth2-jwt-bearer requiring DPoP.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const { runCli } = require('./helpers/cli');
const { childEnv } = require('./helpers/child');
const { startOidcServer } = require('./helpers/oidc-server');
const { startJwtBearerApi } = require('./helpers/jwt-bearer-api');
const { makeProofKey, checkProof, jwtClaims } = require('./helpers/dpop-proofs');
const { requires } = require('./helpers/skip');

const RESOURCE = 'urn:api';
const SECRET = 'dpop-cli-secret-0123456789';
const BIN = path.join(__dirname, '..', 'bin', 'm2m-token.js');

let op;
let api;
let dir;

before(async () => {
  op = await startOidcServer({
    clients: [{ client_id: 'dpop-cli', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' }],
    defaultResource: RESOURCE,
  });
  api = await startJwtBearerApi({ issuer: op.issuer, audience: RESOURCE });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-dpop-cli-'));
});

after(async () => {
  await api.close();
  await op.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** This server and client, a file store of the test's own per scope (runs share it). */
const selection = (scope) => ['--token-url', op.tokenUrl, '--client-id', 'dpop-cli', '--scope', scope, '--store', `file:${path.join(dir, scope.replace(':', '-'))}`];
const env = { M2M_CLIENT_SECRET: SECRET };

/** `Authorization: …` and `DPoP: …` lines as a headers object. */
function parseHeaderLines(stdout) {
  const lines = stdout.split('\n');
  assert.equal(lines.at(-1), '', 'ends with a newline');
  return Object.fromEntries(lines.slice(0, -1).map((line) => {
    const at = line.indexOf(': ');
    return [line.slice(0, at).toLowerCase(), line.slice(at + 2)];
  }));
}

function assertOk(r) {
  assert.equal(r.timedOut, false);
  assert.equal(r.stderr, '');
  assert.equal(r.status, 0);
}

test('--header --dpop --url prints Authorization: DPoP and a proof for that request; runs share one token', async () => {
  op.reset();
  const url = `${api.origin}/orders?limit=5`;
  const runs = [];
  for (const method of ['GET', 'patch']) {
    const r = await runCli([...selection('read:users'), '--header', '--dpop', '--url', url, '--method', method], { env });
    assertOk(r);
    assert.match(r.stdout, /^Authorization: DPoP [^\n]+\nDPoP: [^\n]+\n$/);
    runs.push(parseHeaderLines(r.stdout));
  }
  assert.equal(op.count, 1, 'the second run took the token from the file store');
  const token = runs[0].authorization.slice('DPoP '.length);
  assert.equal(runs[1].authorization, runs[0].authorization);
  const first = await checkProof(runs[0].dpop, { htm: 'GET', htu: `${api.origin}/orders`, accessToken: token });
  const second = await checkProof(runs[1].dpop, { htm: 'patch', htu: `${api.origin}/orders`, accessToken: token });
  assert.equal(first.thumbprint, jwtClaims(token).cnf.jkt);
  assert.equal(second.thumbprint, first.thumbprint, 'every run derives the same key');
  const response = await fetch(url, { headers: runs[0] });
  assert.equal(response.status, 200);
});

test('curl -H @<(m2m-token --header --dpop --url "$U") "$U" is accepted', requires(fs.existsSync('/usr/bin/curl') || fs.existsSync('/bin/curl'), 'curl is not installed'), async () => {
  const url = `${api.origin}/reports`;
  const script = `curl -sS -o /dev/null -w '%{http_code}' -H @<("$NODE" "$BIN" ${selection('write:users').map((a) => `'${a}'`).join(' ')} --header --dpop --url "$U") "$U"`;
  const { code, stdout, stderr } = await new Promise((resolve) => {
    const child = spawn('bash', ['-c', script], { env: childEnv({ ...env, NODE: process.execPath, BIN, U: url }) });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  assert.equal(stderr, '');
  assert.equal(code, 0);
  assert.equal(stdout, '200');
  assert.equal(api.requests.at(-1).status, 200);
  assert.match(api.requests.at(-1).authorization, /^DPoP /);
});

test('--dpop-key-file: an Ed25519 key signs the proof, and the token is bound to it', async () => {
  const key = await makeProofKey('EdDSA');
  const file = path.join(dir, 'proof-key.pem');
  fs.writeFileSync(file, key.pem, { mode: 0o600 });
  const url = `${api.origin}/items`;
  const r = await runCli([...selection('read:users'), '--store', 'memory', '--header', '--dpop-key-file', file, '--url', url], { env });
  assertOk(r);
  const headers = parseHeaderLines(r.stdout);
  const token = headers.authorization.slice('DPoP '.length);
  const { thumbprint } = await checkProof(headers.dpop, { htm: 'GET', htu: url, accessToken: token, alg: 'EdDSA' });
  assert.equal(thumbprint, key.thumbprint);
  assert.equal(jwtClaims(token).cnf.jkt, key.thumbprint);
  assert.equal((await fetch(url, { headers })).status, 200);
});

test('DPoP usage mistakes and bad keys exit 2 with one line that never shows the key', async () => {
  const badKey = path.join(dir, 'bad-key.pem');
  fs.writeFileSync(badKey, '-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n', { mode: 0o600 });
  const cases = [
    [['--header', '--dpop'], /--header with --dpop needs --url U/],
    [['--dpop', '--url', 'https://api.example/x'], /--url and --method name the request of --header/],
    [['--header', '--method', 'GET'], /--method goes with --url U/],
    [['--dpop-key-file', path.join(dir, 'missing.pem')], /--dpop-key-file: ENOENT/],
    [['--dpop-key-file', badKey], /--dpop-key-file must be an EC P-256, EC P-384 or Ed25519 private key/],
    [['--header', '--dpop', '--url', 'ftp://example.com/x'], /ERR_INVALID_OPTIONS/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli([...selection('read:users'), '--store', 'memory', ...args], { env });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^m2m-token: ERR_INVALID_OPTIONS: [^\n]+\n$/);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
    assert.ok(!r.stderr.includes('c2VjcmV0'));
  }
});

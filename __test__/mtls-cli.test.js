'use strict';

// The command with a client certificate: --cert-file F and --key-file F
// (a key is never an argument value), against oidc-provider with mTLS.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startMtlsWorld } = require('./helpers/mtls-world');
const { opensslAvailable } = require('./helpers/certificates');
const { runCli } = require('./helpers/cli');
const { requires } = require('./helpers/skip');

const limits = { timeout: 60000, ...requires(opensslAvailable(), 'openssl is not installed') };

let world;
let dir;
const file = (name, text) => {
  fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
  return path.join(dir, name);
};

before(async () => {
  if (!opensslAvailable()) return;
  world = await startMtlsWorld();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-mtls-cli-'));
});
after(async () => {
  await world?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** The command against the provider, trusting the test CA as a user would. */
const run = (args, env = {}) => runCli(['--token-url', world.op.tokenUrl, '--client-id', 'by-ca', '--store', 'memory', ...args], {
  env: { NODE_EXTRA_CA_CERTS: file('ca.pem', world.pki.cert), ...env },
});

test('--cert-file and --key-file: the certificate is presented and authenticates (tls_client_auth); the environment\'s secret is not used', limits, async () => {
  const { cert, traditional, thumbprint } = world.certs.rsa;
  const before = world.op.count;
  const { status, stdout, stderr } = await run(['--cert-file', file('c.pem', cert), '--key-file', file('k.pem', traditional), '--header'],
    { M2M_CLIENT_SECRET: 'not used' });
  assert.equal(status, 0, stderr);
  assert.match(stdout, /^Authorization: Bearer \S+\n$/);
  assert.equal(world.op.count, before + 1);
  const request = world.op.requests.at(-1);
  assert.equal(request.certificate, thumbprint);
  assert.equal(request.headers.authorization, undefined, 'no Basic header: no secret sent');
});

test('one without the other, or a key that does not match: exit 2, the flags named, nothing sent, no key shown', limits, async () => {
  const { cert, key } = world.certs.ec;
  const before = world.op.count;
  const alone = await run(['--cert-file', file('c.pem', cert)]);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /^m2m-token: ERR_INVALID_OPTIONS: give --cert-file and --key-file together/);
  const keyAlone = await run(['--key-file', file('k.pem', key)]);
  assert.equal(keyAlone.status, 2);
  const mismatch = await run(['--cert-file', file('c.pem', cert), '--key-file', file('o.pem', world.certs.other.key)]);
  assert.equal(mismatch.status, 2);
  assert.equal(mismatch.stderr, 'm2m-token: ERR_INVALID_OPTIONS: --key-file does not match the certificate in --cert-file (see m2m-token --help)\n');
  const notAKey = await run(['--cert-file', file('c.pem', cert), '--key-file', file('c2.pem', cert)]);
  assert.match(notAKey.stderr, /--key-file is not a PKCS#8, PKCS#1 \(RSA\) or SEC1 \(EC\) private key in PEM form/);
  const missing = await run(['--cert-file', file('c.pem', cert), '--key-file', path.join(dir, 'absent.pem')]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--key-file: ENOENT/);
  for (const r of [alone, keyAlone, mismatch, notAKey, missing]) assert.ok(!r.stderr.includes(key.split('\n')[1]));
  assert.equal(world.op.count, before);
});

test('--help lists the flags', limits, async () => {
  const { stdout } = await runCli(['--help']);
  assert.match(stdout, /--cert-file F/);
  assert.match(stdout, /--key-file F/);
  assert.match(stdout, /tls_client_auth/);
});

'use strict';

// The m2m-token command, run as a child process the way shell scripts run it,
// against loopback token servers: the three output forms, defaults from the
// environment, the client secret from a file or standard input (never from
// an argument), one line on standard error and the documented exit status
// for every error code, no secret on either stream, and repeated runs
// sharing one token through the file store.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startTokenServer, withServer } = require('./helpers/token-server');
const { runCli } = require('./helpers/cli');
const { freePort } = require('./helpers/ports');
const tls = require('./helpers/tls-fixtures');

const SECRET = `s3cret-${crypto.randomBytes(8).toString('hex')}`;

let tmp; // every store and file of this suite lives under it
// XDG_CACHE_HOME for every run, so the default file store never touches the
// home folder of the machine running the tests.
let cacheHome;
let dirs = 0;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-cli-'));
  cacheHome = fs.mkdtempSync(path.join(tmp, 'cache-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const freshDir = () => fs.mkdtempSync(path.join(tmp, `store-${++dirs}-`));

/** Runs the command with the client secret in the environment. */
function cli(args, { env = {}, input } = {}) {
  return runCli(args, { env: { XDG_CACHE_HOME: cacheHome, M2M_CLIENT_SECRET: SECRET, ...env }, input });
}

/** The usual selection of a test: this server, a memory store. */
const memoryArgs = (server, clientId = 'cli-client') =>
  ['--token-url', server.url, '--client-id', clientId, '--store', 'memory'];

function assertOk(r) {
  assert.equal(r.timedOut, false, 'the command did not exit by itself');
  assert.equal(r.stderr, '', 'nothing on standard error');
  assert.equal(r.status, 0);
}

/** One line `m2m-token: <code>: <message>` on stderr, nothing on stdout, that exit status. */
function assertFails(r, code, status) {
  assert.equal(r.timedOut, false, 'the command did not exit by itself');
  assert.match(r.stderr, new RegExp(`^m2m-token: ${code}: [^\\n]+\\n$`));
  assert.equal(r.stdout, '');
  assert.equal(r.status, status, `exit status for ${code} (stderr: ${r.stderr.trim()})`);
}

// ── output forms ────────────────────────────────────────────────────────

test('get (the default command) prints the access token and one newline, nothing else', async () => {
  await withServer({}, async (server) => {
    const plain = await cli(memoryArgs(server));
    assertOk(plain);
    assert.equal(plain.stdout, `${server.issued[0]}\n`);
    const named = await cli(['get', ...memoryArgs(server)]);
    assertOk(named);
    assert.equal(named.stdout, `${server.issued[1]}\n`);
    assert.equal(server.count, 2);
    assert.equal(server.requests[0].form.grant_type, 'client_credentials');
    assert.equal(server.requests[0].form.client_secret, SECRET);
  });
});

test('--json prints TokenInfo as one line of JSON', async () => {
  await withServer({ expiresIn: 3600 }, async (server) => {
    const t0 = Date.now();
    const r = await cli([...memoryArgs(server), '--scope', 'read:users read:clients', '--json']);
    const t1 = Date.now();
    assertOk(r);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 2, 'one line and its newline');
    assert.equal(lines[1], '');
    const info = JSON.parse(lines[0]);
    assert.equal(info.accessToken, server.issued[0]);
    assert.equal(info.tokenType, 'Bearer');
    assert.equal(info.scope, 'read:users read:clients');
    assert.equal(info.fromCache, false);
    assert.ok(info.expiresAt >= t0 + 3600e3 - 1000 && info.expiresAt <= t1 + 3600e3 + 1000, `expiresAt ${info.expiresAt}`);
    assert.equal(server.requests[0].form.scope, 'read:users read:clients');
  });
});

test('--header prints an Authorization header line for curl -H', async () => {
  await withServer({}, async (server) => {
    const r = await cli([...memoryArgs(server), '--header']);
    assertOk(r);
    assert.equal(r.stdout, `Authorization: Bearer ${server.issued[0]}\n`);
  });
});

test('--audience, --auth-method client_secret_basic and --retries reach the token request', async () => {
  let answered = 0;
  const respond = (ctx) => (++answered === 1 ? { status: 503, body: 'busy' } : undefined);
  await withServer({ respond }, async (server) => {
    const r = await cli([...memoryArgs(server, 'basic-client'), '--audience', 'https://api.example/',
      '--auth-method', 'client_secret_basic', '--retries', '1']);
    assertOk(r);
    assert.equal(server.count, 2, 'one retry after the 503');
    const req = server.requests[1];
    assert.equal(req.form.audience, 'https://api.example/');
    assert.equal(req.form.client_secret, undefined);
    const basic = Buffer.from(`${encodeURIComponent('basic-client')}:${encodeURIComponent(SECRET)}`).toString('base64');
    assert.equal(req.headers.authorization, `Basic ${basic}`);
  });
});

// ── defaults from the environment ───────────────────────────────────────

test('client id: --client-id, else M2M_CLIENT_ID, else AUTH0_CLIENT_ID', async () => {
  await withServer({}, async (server) => {
    const base = ['--token-url', server.url, '--store', 'memory'];
    assertOk(await cli(base, { env: { AUTH0_CLIENT_ID: 'from-auth0' } }));
    assertOk(await cli(base, { env: { AUTH0_CLIENT_ID: 'from-auth0', M2M_CLIENT_ID: 'from-m2m' } }));
    assertOk(await cli([...base, '--client-id', 'from-flag'], { env: { AUTH0_CLIENT_ID: 'from-auth0', M2M_CLIENT_ID: 'from-m2m' } }));
    // An empty variable counts as unset.
    assertOk(await cli(base, { env: { AUTH0_CLIENT_ID: 'from-auth0', M2M_CLIENT_ID: '' } }));
    assert.deepEqual(server.requests.map((r) => r.form.client_id), ['from-auth0', 'from-m2m', 'from-flag', 'from-auth0']);
  });
});

test('client secret: M2M_CLIENT_SECRET, else AUTH0_CLIENT_SECRET', async () => {
  await withServer({}, async (server) => {
    const args = memoryArgs(server);
    assertOk(await runCli(args, { env: { AUTH0_CLIENT_SECRET: 'auth0-secret' } }));
    assertOk(await runCli(args, { env: { AUTH0_CLIENT_SECRET: 'auth0-secret', M2M_CLIENT_SECRET: 'm2m-secret' } }));
    assert.deepEqual(server.requests.map((r) => r.form.client_secret), ['auth0-secret', 'm2m-secret']);
  });
});

test('AUTH0_DOMAIN: https://<domain>/oauth/token with the Management API audience; --domain and --token-url win', async () => {
  const server = await startTokenServer({ tls: { key: tls.key, cert: tls.cert } });
  try {
    const domain = `localhost:${server.port}`;
    const env = { AUTH0_DOMAIN: domain, NODE_EXTRA_CA_CERTS: tls.caPath };
    const r = await cli(['--client-id', 'domain-client', '--store', 'memory'], { env });
    assertOk(r);
    assert.equal(r.stdout, `${server.issued[0]}\n`);
    assert.equal(server.requests[0].path, '/oauth/token');
    assert.equal(server.requests[0].form.audience, `https://${domain}/api/v2/`);

    const elsewhere = { ...env, AUTH0_DOMAIN: 'tenant.invalid' };
    assertOk(await cli(['--domain', domain, '--client-id', 'domain-client', '--store', 'memory'], { env: elsewhere }));
    assertOk(await cli(['--token-url', `https://${domain}/custom/token`, '--client-id', 'domain-client', '--store', 'memory'], { env: elsewhere }));
    assert.deepEqual(server.requests.map((q) => q.path), ['/oauth/token', '/oauth/token', '/custom/token']);
  } finally {
    await server.close();
  }
});

// ── the secret from a file or standard input, never from an argument ───

test('--client-secret-file F reads the secret (one trailing newline dropped) and wins over the environment', async () => {
  const file = path.join(freshDir(), 'secret');
  fs.writeFileSync(file, 'file-secret\n', { mode: 0o600 });
  const crlf = path.join(freshDir(), 'secret');
  fs.writeFileSync(crlf, 'crlf-secret\r\n', { mode: 0o600 });
  await withServer({}, async (server) => {
    assertOk(await cli([...memoryArgs(server), '--client-secret-file', file]));
    assertOk(await cli([...memoryArgs(server), '--client-secret-file', crlf]));
    assert.deepEqual(server.requests.map((r) => r.form.client_secret), ['file-secret', 'crlf-secret']);
  });
});

test('--client-secret-file - reads the secret from standard input', async () => {
  await withServer({}, async (server) => {
    const r = await cli([...memoryArgs(server), '--client-secret-file', '-'], { input: 'stdin-secret\n' });
    assertOk(r);
    assert.equal(r.stdout, `${server.issued[0]}\n`);
    assert.equal(server.requests[0].form.client_secret, 'stdin-secret');
  });
});

test('--client-secret is refused without echoing its value, and nothing is sent', async () => {
  await withServer({}, async (server) => {
    for (const args of [['--client-secret', 'typed-secret-value'], ['--client-secret=typed-secret-value']]) {
      const r = await cli([...memoryArgs(server), ...args]);
      assertFails(r, 'ERR_INVALID_OPTIONS', 2);
      assert.ok(!r.stderr.includes('typed-secret-value'), r.stderr);
      assert.match(r.stderr, /M2M_CLIENT_SECRET/);
      assert.match(r.stderr, /--client-secret-file/);
    }
    // A stray word (a secret pasted in the wrong place) is not echoed either.
    const stray = await cli([...memoryArgs(server), 'typed-secret-value']);
    assertFails(stray, 'ERR_INVALID_OPTIONS', 2);
    assert.ok(!stray.stderr.includes('typed-secret-value'), stray.stderr);
    assert.equal(server.count, 0);
  });
});

test('--private-key-file signs a private_key_jwt assertion (--key-id, --signing-algorithm); an environment secret is not sent', async () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = path.join(freshDir(), 'key.pem');
  fs.writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await withServer({}, async (server) => {
    const r = await cli([...memoryArgs(server, 'jwt-client'), '--private-key-file', keyFile,
      '--key-id', 'key-1', '--signing-algorithm', 'PS256']);
    assertOk(r);
    const { form } = server.requests[0];
    assert.equal(form.client_secret, undefined);
    assert.equal(form.client_assertion_type, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const [h, p, s] = form.client_assertion.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const payload = JSON.parse(Buffer.from(p, 'base64url'));
    assert.equal(header.alg, 'PS256');
    assert.equal(header.kid, 'key-1');
    assert.equal(payload.iss, 'jwt-client');
    assert.equal(payload.sub, 'jwt-client');
    assert.equal(payload.aud, server.url);
    const verified = crypto.verify('sha256', Buffer.from(`${h}.${p}`),
      { key: publicKey, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, Buffer.from(s, 'base64url'));
    assert.ok(verified, 'the assertion is signed with the key from the file');
  });
});

// ── errors: one line on stderr, the documented exit status ─────────────

const ERROR_CASES = [
  {
    name: 'an OAuth error body (401 invalid_client)', code: 'ERR_OAUTH', status: 3,
    respond: () => ({ status: 401, body: { error: 'invalid_client', error_description: 'Unauthorized' } }),
  },
  {
    name: 'a 500 that is not an OAuth error, --retries 0', code: 'ERR_HTTP_STATUS', status: 4, args: ['--retries', '0'],
    respond: () => ({ status: 500, headers: { 'content-type': 'text/html' }, body: '<h1>Internal Server Error</h1>' }),
  },
  {
    name: 'a 429 with Retry-After 120', code: 'ERR_RATE_LIMITED', status: 5, args: ['--retries', '0'],
    respond: () => ({ status: 429, headers: { 'retry-after': '120' }, body: { error: 'too_many_requests' } }),
  },
  {
    name: 'an endpoint that never answers, --timeout-ms 200 --retries 0', code: 'ERR_TIMEOUT', status: 6,
    args: ['--timeout-ms', '200', '--retries', '0'],
    respond: () => ({ hang: true }),
  },
  {
    name: 'a 200 whose body is not JSON', code: 'ERR_INVALID_RESPONSE', status: 8,
    respond: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'not json' }),
  },
];

for (const { name, code, status, args = [], respond } of ERROR_CASES) {
  test(`${name}: exit ${status}, m2m-token: ${code}`, async () => {
    await withServer({ respond }, async (server) => {
      assertFails(await cli([...memoryArgs(server), ...args]), code, status);
      assert.ok(server.count >= 1);
    });
  });
}

test('a closed port: exit 7, m2m-token: ERR_NETWORK', async () => {
  const port = await freePort();
  const r = await cli(['--token-url', `http://127.0.0.1:${port}/oauth/token`, '--client-id', 'c', '--store', 'memory', '--retries', '0']);
  assertFails(r, 'ERR_NETWORK', 7);
});

test('usage errors: exit 2 with a hint, and no request', async () => {
  await withServer({}, async (server) => {
    const base = memoryArgs(server);
    const cases = [
      [...base, '--no-such-flag'],
      [...base, '--client-id'], // a missing value
      [...base, '--audience', '--json'], // a flag where a value belongs
      [...base, '--json=yes'],
      [...base, '--retries', 'two'],
      [...base, '--retries', '1.5'],
      [...base, '--retries=-1'],
      [...base, '--timeout-ms', '0'],
      [...base, '--timeout-ms', '10s'],
      [...base, '--leeway-seconds', 'sixty'],
      [...base, '--json', '--header'],
      [...base, 'fetch'], // no such command
      [...base, 'get', 'invalidate'],
      ['invalidate', ...base, '--json'],
      [...base, '--domain', 'example.auth0.com'], // and --token-url
      [...base, '--client-secret-file', path.join(tmp, 'no-such-file')],
    ];
    for (const args of cases) {
      const r = await cli(args);
      assertFails(r, 'ERR_INVALID_OPTIONS', 2);
      assert.match(r.stderr, /m2m-token --help/, `a hint for ${args.join(' ')}`);
    }
    assert.equal(server.count, 0);
  });
});

test('missing client id, secret or endpoint: exit 2, naming the flag and the variables', async () => {
  await withServer({}, async (server) => {
    const noId = await cli(['--token-url', server.url, '--store', 'memory']);
    assertFails(noId, 'ERR_INVALID_OPTIONS', 2);
    assert.match(noId.stderr, /--client-id/);
    assert.match(noId.stderr, /M2M_CLIENT_ID/);
    const noSecret = await runCli(memoryArgs(server), { env: { XDG_CACHE_HOME: cacheHome } });
    assertFails(noSecret, 'ERR_INVALID_OPTIONS', 2);
    assert.match(noSecret.stderr, /M2M_CLIENT_SECRET/);
    const emptySecret = await cli([...memoryArgs(server), '--client-secret-file', '-'], { input: '\n' });
    assertFails(emptySecret, 'ERR_INVALID_OPTIONS', 2);
    const noEndpoint = await cli(['--client-id', 'c', '--store', 'memory']);
    assertFails(noEndpoint, 'ERR_INVALID_OPTIONS', 2);
    assert.match(noEndpoint.stderr, /AUTH0_DOMAIN/);
    assert.equal(server.count, 0);
  });
});

test('an option the library refuses (http: to a host that is not loopback): exit 2, for get and invalidate', async () => {
  const args = ['--token-url', 'http://example.com/oauth/token', '--client-id', 'c', '--store', 'memory'];
  const r = await cli(args);
  assertFails(r, 'ERR_INVALID_OPTIONS', 2);
  assert.match(r.stderr, /--token-url/, 'named as the flag, not as the library option');
  assertFails(await cli(['invalidate', ...args]), 'ERR_INVALID_OPTIONS', 2);
});

test('a --store that names no store: exit 2, no request', async () => {
  await withServer({}, async (server) => {
    const r = await cli(['--token-url', server.url, '--client-id', 'c', '--store', 'nowhere:at-all']);
    assertFails(r, 'ERR_INVALID_OPTIONS', 2);
    assert.equal(server.count, 0);
  });
});

// ── never a secret on either stream ─────────────────────────────────────

test('no secret on stdout or stderr, even when the server echoes the request', async () => {
  const secret = `p@ss w0rd+/=&é-${crypto.randomBytes(6).toString('hex')}`;
  // Every form the secret travelled in, taken from the requests themselves:
  // raw, form-encoded in the body, inside the Basic credentials, and the
  // base64 of those credentials.
  const forms = new Set([secret, encodeURIComponent(secret), new URLSearchParams({ s: secret }).toString().slice(2)]);
  const seen = { body: false, basic: false };
  const collect = (ctx) => {
    const inBody = /(?:^|&)client_secret=([^&]*)/.exec(ctx.rawBody);
    if (inBody) {
      seen.body = true;
      forms.add(inBody[1]);
    }
    const auth = ctx.headers.authorization ?? '';
    if (auth.startsWith('Basic ')) {
      seen.basic = true;
      const pair = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      forms.add(auth.slice(6));
      forms.add(pair.slice(pair.indexOf(':') + 1));
    }
  };
  const echo = (ctx) => {
    collect(ctx);
    return `${ctx.rawBody} ${ctx.headers.authorization ?? ''}`;
  };
  const responders = {
    'an OAuth error': (ctx) => ({ status: 401, body: { error: 'invalid_client', error_description: echo(ctx) } }),
    'a text error': (ctx) => ({ status: 400, headers: { 'content-type': 'text/plain' }, body: echo(ctx) }),
  };
  const leaks = [];
  for (const [answer, respond] of Object.entries(responders)) {
    await withServer({ respond }, async (server) => {
      for (const method of ['client_secret_post', 'client_secret_basic']) {
        const r = await cli([...memoryArgs(server, 'leak-client'), '--auth-method', method, '--retries', '0'],
          { env: { M2M_CLIENT_SECRET: secret } });
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, /^m2m-token: ERR_[A-Z_]+: [^\n]+\n$/);
        for (const form of forms) {
          if (r.stdout.includes(form) || r.stderr.includes(form)) leaks.push(`${answer}, ${method}: ${r.stderr.trim()}`);
        }
      }
    });
  }
  assert.deepEqual(seen, { body: true, basic: true }, 'the secret was sent in the body and in a Basic header');
  assert.deepEqual(leaks, []);
});

// ── stores: repeated runs share one token ───────────────────────────────

test('the file store: 3 runs send 1 token request and print the same token', async () => {
  await withServer({}, async (server) => {
    const args = ['--token-url', server.url, '--client-id', 'file-client', '--store', `file:${freshDir()}`];
    const outputs = [];
    for (let i = 0; i < 3; i++) {
      const r = await cli(args);
      assertOk(r);
      outputs.push(r.stdout);
    }
    assert.equal(server.count, 1);
    assert.deepEqual(outputs, Array(3).fill(`${server.issued[0]}\n`));
  });
});

test('the default store is the file store under $XDG_CACHE_HOME/m2m-token', async () => {
  const home = freshDir();
  await withServer({}, async (server) => {
    const args = ['--token-url', server.url, '--client-id', 'default-store-client'];
    assertOk(await cli(args, { env: { XDG_CACHE_HOME: home } }));
    assertOk(await cli(args, { env: { XDG_CACHE_HOME: home } }));
    assert.equal(server.count, 1);
    const folder = fs.statSync(path.join(home, 'm2m-token'));
    assert.ok(folder.isDirectory());
    assert.equal(folder.mode & 0o777, 0o700);
  });
});

test('M2M_TOKEN_STORE sets the store; --store wins over it', async () => {
  await withServer({}, async (server) => {
    const args = ['--token-url', server.url, '--client-id', 'env-store-client'];
    const env = { M2M_TOKEN_STORE: `file:${freshDir()}` };
    assertOk(await cli(args, { env }));
    assertOk(await cli(args, { env }));
    assert.equal(server.count, 1, 'two runs share the file store M2M_TOKEN_STORE names');
    assertOk(await cli([...args, '--store', 'memory'], { env }));
    assert.equal(server.count, 2, '--store memory does not read that store');
  });
});

test('--store memory (or M2M_TOKEN_STORE=memory): 2 runs send 2 requests', async () => {
  await withServer({}, async (server) => {
    const home = freshDir(); // the default file store would be here
    assertOk(await cli(memoryArgs(server), { env: { XDG_CACHE_HOME: home } }));
    assertOk(await cli(memoryArgs(server), { env: { XDG_CACHE_HOME: home } }));
    assert.equal(server.count, 2);
    const args = ['--token-url', server.url, '--client-id', 'cli-client'];
    assertOk(await cli(args, { env: { XDG_CACHE_HOME: home, M2M_TOKEN_STORE: 'memory' } }));
    assertOk(await cli(args, { env: { XDG_CACHE_HOME: home, M2M_TOKEN_STORE: 'memory' } }));
    assert.equal(server.count, 4);
  });
});

test('invalidate drops the stored token without a request; the next get fetches a new one', async () => {
  await withServer({}, async (server) => {
    const args = ['--token-url', server.url, '--client-id', 'invalidate-client', '--store', `file:${freshDir()}`];
    const first = await cli(args);
    assertOk(first);
    const dropped = await cli(['invalidate', ...args]);
    assertOk(dropped);
    assert.equal(dropped.stdout, '');
    assert.equal(server.count, 1, 'invalidate took the token from the store, it did not fetch one');
    const next = await cli(args);
    assertOk(next);
    assert.equal(server.count, 2);
    assert.notEqual(next.stdout, first.stdout);
    assert.equal(next.stdout, `${server.issued[1]}\n`);
  });
});

test('invalidate with --store memory: nothing to drop, no request, exit 0', async () => {
  await withServer({}, async (server) => {
    const r = await cli(['invalidate', ...memoryArgs(server)]);
    assertOk(r);
    assert.equal(r.stdout, '');
    assert.equal(server.count, 0);
  });
});

// ── --help and --version ────────────────────────────────────────────────

test('--help lists every flag, the environment variables and the exit statuses', async () => {
  for (const flag of ['--help', '-h']) {
    const r = await runCli([flag]);
    assertOk(r);
    for (const word of ['get', 'invalidate', '--domain', '--token-url', '--client-id', '--audience', '--scope',
      '--auth-method', '--client-secret-file', '--private-key-file', '--key-id', '--signing-algorithm', '--store',
      '--leeway-seconds', '--timeout-ms', '--retries', '--json', '--header', '--version',
      'AUTH0_DOMAIN', 'M2M_CLIENT_ID', 'AUTH0_CLIENT_ID', 'M2M_CLIENT_SECRET', 'AUTH0_CLIENT_SECRET', 'M2M_TOKEN_STORE']) {
      assert.ok(r.stdout.includes(word), `--help mentions ${word}`);
    }
    const statuses = { ERR_INVALID_OPTIONS: 2, ERR_OAUTH: 3, ERR_HTTP_STATUS: 4, ERR_RATE_LIMITED: 5, ERR_TIMEOUT: 6, ERR_NETWORK: 7, ERR_INVALID_RESPONSE: 8 };
    for (const [code, status] of Object.entries(statuses)) assert.match(r.stdout, new RegExp(`\\b${status}\\s+${code}\\b`));
  }
});

test('--version prints the package version', async () => {
  const r = await runCli(['--version']);
  assertOk(r);
  assert.equal(r.stdout, `${require('../package.json').version}\n`);
});

test('standard output closed by its reader: exit 1 and one line naming EPIPE', async () => {
  await withServer({}, async (server) => {
    const { spawn } = require('node:child_process');
    const { BIN } = require('./helpers/cli');
    const env = { ...process.env, XDG_CACHE_HOME: cacheHome };
    for (const name of ['M2M_CLIENT_SECRET', 'AUTH0_CLIENT_SECRET', 'M2M_TOKEN_STORE']) delete env[name];
    // The secret comes from standard input, so the command waits for it: its
    // standard output is closed for certain before it writes the token.
    const child = spawn(process.execPath, [BIN, ...memoryArgs(server), '--client-secret-file', '-'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const err = [];
    child.stderr.on('data', (c) => err.push(c));
    const exited = new Promise((resolve) => child.on('close', (status) => resolve(status)));
    child.stdout.destroy();
    await new Promise((resolve) => child.stdout.once('close', resolve));
    child.stdin.end(`${SECRET}\n`);
    const status = await exited;
    const stderr = Buffer.concat(err).toString('utf8');
    assert.equal(server.count, 1, 'the token was fetched');
    assert.equal(stderr, 'm2m-token: EPIPE: cannot write to standard output: the reader closed it\n');
    assert.equal(status, 1);
  });
});

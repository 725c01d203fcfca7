'use strict';

// Secrets in the forms the module sent them: a hostile or careless token
// endpoint echoes the request into its answer (error_description, an
// error code, a non-OAuth body, a 429 or 5xx body, a broken 200) — the
// form-encoded body, the Authorization header, its base64 part. The client
// secret must not come back in any form the module sent it in: raw,
// percent-encoded, form-urlencoded ('+' for space), inside the base64
// Basic credentials (id and secret each form-urlencoded, RFC 6749
// §2.3.1), or as the whole `Basic …` header value; in no message, stack,
// String(), util.inspect, JSON.stringify, oauthErrorDescription or other
// own property of the TokenError.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const util = require('node:util');

const diagnostics = require('node:diagnostics_channel');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');
const { formEncode } = require('./helpers/options');
const { makeCa, opensslAvailable } = require('./helpers/certificates');
const { requires } = require('./helpers/skip');

// Characters that form-encoding and Basic encoding change: space, +, &, =,
// %, /, :, quotes, non-ASCII (two- and three-byte UTF-8).
const SECRETS = [
  'sp ace+plus&amp=eq%pct/sl:colon"dq\'sq-é€ü-Q1',
  'Zm9v+YmFy/==:%2B%20&x=y "quoted" ü-Q2',
  'only-ascii-but-long-secret-value-Q3',
];

const basicCredentials = (id, secret) => Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64');

// What the endpoint echoes back, from the request it received.
const echoes = {
  body: (ctx) => ctx.rawBody,
  authorization: (ctx) => ctx.headers.authorization ?? '',
  base64: (ctx) => (ctx.headers.authorization ?? '').replace(/^Basic\s+/i, ''),
  decoded: (ctx) => ctx.form.client_secret ?? decodeBasicSecret(ctx.headers.authorization),
  everything: (ctx) => `${ctx.rawBody} | ${ctx.headers.authorization ?? ''} | ${(ctx.headers.authorization ?? '').slice(6)}`,
};

/** The secret out of `Basic base64(formEncode(id):formEncode(secret))`. */
function decodeBasicSecret(authorization = '') {
  const credentials = Buffer.from(authorization.replace(/^Basic\s+/i, ''), 'base64').toString('utf8');
  const encoded = credentials.slice(credentials.indexOf(':') + 1);
  return new URLSearchParams(`v=${encoded}`).get('v') ?? '';
}

// How it puts the echo in its answer, and the error code that answer is.
const answers = {
  oauthDescription: { code: 'ERR_OAUTH', respond: (echo) => ({ status: 400, body: { error: 'invalid_client', error_description: echo } }) },
  oauthError: { code: 'ERR_OAUTH', respond: (echo) => ({ status: 401, body: { error: echo } }) },
  plainStatus: { code: 'ERR_HTTP_STATUS', respond: (echo) => ({ status: 403, headers: { 'content-type': 'text/plain' }, body: echo }) },
  jsonStatus: { code: 'ERR_HTTP_STATUS', respond: (echo) => ({ status: 404, body: { message: echo } }) },
  rateLimited: {
    code: 'ERR_RATE_LIMITED',
    respond: (echo) => ({ status: 429, headers: { 'retry-after': '1', 'content-type': 'text/plain' }, body: echo }),
  },
  serverError: { code: 'ERR_HTTP_STATUS', respond: (echo) => ({ status: 503, body: { error_description: echo, message: echo } }) },
  notJson: { code: 'ERR_INVALID_RESPONSE', respond: (echo) => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: echo }) },
  noToken: { code: 'ERR_INVALID_RESPONSE', respond: (echo) => ({ status: 200, body: { token_type: echo, error_description: echo } }) },
};

let server;
before(async () => {
  server = await startTokenServer({
    respond: (ctx) => {
      const [, kind, what] = ctx.path.split('/');
      if (!answers[kind] || !echoes[what]) return undefined;
      return answers[kind].respond(echoes[what](ctx));
    },
  });
});
after(async () => { m2m.clearCache(); await server.close(); });
beforeEach(() => { m2m.clearCache(); server.reset(); });

/** Every form of the secret this request could have carried it in, as [name, text]. */
function secretForms(secret, clientId, request) {
  const forms = [
    ['raw', secret],
    ['percent-encoded', encodeURIComponent(secret)],
    ['form-urlencoded', formEncode(secret)],
    ['Basic credentials', basicCredentials(clientId, secret)],
    ['Basic header value', `Basic ${basicCredentials(clientId, secret)}`],
    ['unencoded Basic credentials', Buffer.from(`${clientId}:${secret}`).toString('base64')],
    ['percent-encoded Basic credentials', Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')],
  ];
  // And exactly what was sent: the body's client_secret field as it appears
  // in the raw body, and the Authorization header and its credentials.
  const field = /(?:^|&)client_secret=([^&]*)/.exec(request.rawBody);
  if (field && field[1]) forms.push(['client_secret as sent', field[1]]);
  const authorization = request.headers.authorization;
  if (authorization) {
    forms.push(['Authorization as sent', authorization]);
    forms.push(['credentials as sent', authorization.replace(/^Basic\s+/i, '')]);
  }
  return forms.filter(([, text]) => text.length >= 8);
}

/** Every surface of an error a user may print, log or send. */
function surfaces(err) {
  const out = {
    message: err.message,
    stack: err.stack,
    String: String(err),
    inspect: util.inspect(err, { showHidden: true, depth: Infinity }),
    JSON: JSON.stringify(err),
    oauthErrorDescription: err.oauthErrorDescription,
  };
  for (const name of Object.getOwnPropertyNames(err)) {
    const value = err[name];
    out[`property ${name}`] = typeof value === 'string' ? value : util.inspect(value, { depth: Infinity });
  }
  return out;
}

const authMethods = ['client_secret_post', 'client_secret_basic'];

for (const authMethod of authMethods) {
  for (const [kind, { code }] of Object.entries(answers)) {
    test(`${authMethod}, ${kind}: no echoed form of the secret reaches the error`, async () => {
      const leaks = new Set();
      for (const secret of SECRETS) {
        for (const what of Object.keys(echoes)) {
          server.reset();
          const clientId = uid(`echo id:${what}`); // a client id that form-encoding changes too
          const options = {
            tokenUrl: `${server.origin}/${kind}/${what}`, clientId, clientSecret: secret, authMethod, retries: 0,
          };
          const err = await m2m.getToken(options).then(() => assert.fail('resolved'), (e) => e);
          assert.equal(err.code, code, `${kind}/${what}: ${err.message}`);
          assert.equal(server.count, 1);
          // The echo really carried the secret, so the test can fail.
          const forms = secretForms(secret, clientId, server.requests[0]);
          for (const [surface, text] of Object.entries(surfaces(err))) {
            if (typeof text !== 'string') continue;
            for (const [name, form] of forms) {
              if (text.includes(form)) leaks.add(`echo of ${what}: ${surface} holds the secret ${name}`);
            }
          }
        }
      }
      assert.deepEqual([...leaks], []);
    });
  }
}

test('the echo does carry the secret (the endpoint above is hostile enough to catch a leak)', async () => {
  const secret = SECRETS[0];
  const clientId = uid('echo-check');
  for (const authMethod of authMethods) {
    server.reset();
    await m2m.getToken({ tokenUrl: `${server.origin}/oauthDescription/everything`, clientId, clientSecret: secret, authMethod })
      .catch(() => {});
    const request = server.requests[0];
    const sent = `${request.rawBody} ${request.headers.authorization ?? ''}`;
    const carried = secretForms(secret, clientId, request).filter(([, form]) => sent.includes(form));
    assert.ok(carried.length > 0, `${authMethod}: the request carried no known form of the secret`);
  }
});

test('a useful description without the secret is kept (redaction is not erasure)', async () => {
  const err = await m2m.getToken({
    tokenUrl: `${server.origin}/oauthDescription/body`, clientId: uid('echo-keep'), clientSecret: SECRETS[2], retries: 0,
  }).then(() => assert.fail('resolved'), (e) => e);
  assert.equal(err.oauthError, 'invalid_client');
  assert.equal(typeof err.oauthErrorDescription, 'string');
  assert.match(err.oauthErrorDescription, /grant_type=client_credentials/);
});

test('the TLS private key (mutual TLS) is in no error, util.inspect, JSON.stringify or diagnostics message', requires(opensslAvailable(), 'openssl is not installed'), async () => {
  const ca = makeCa();
  const { cert, key, traditional } = ca.issue({ cn: 'secrets', kind: 'rsa' });
  const other = ca.issue({ cn: 'other', kind: 'rsa' });
  const bodies = [key, traditional].map((pem) => pem.split('\n').slice(1, -2).join(''));
  const lines = [key, traditional].flatMap((pem) => pem.split('\n').filter((line) => line.length >= 32 && !line.startsWith('-----')));
  const seen = [];
  const record = (m) => seen.push(util.inspect(m, { depth: Infinity }), JSON.stringify(m));
  const channels = ['m2m-token:fetch:start', 'm2m-token:fetch:end', 'm2m-token:invalidate'];
  for (const channel of channels) diagnostics.subscribe(channel, record);
  try {
    for (const pem of [key, traditional]) {
      const options = { tokenUrl: `${server.origin}/oauthDescription/body`, clientId: uid('tls-key'), clientSecret: 's-tls', cert, key: pem, retries: 0 };
      const client = new m2m.TokenClient(options);
      seen.push(util.inspect(client, { showHidden: true, depth: Infinity }), JSON.stringify(client), JSON.stringify(m2m.stats()));
      const failed = await client.getToken().then(() => assert.fail('resolved'), (e) => e);
      assert.equal(failed.code, 'ERR_OAUTH');
      client.invalidate();
      const refused = (() => { try { return new m2m.TokenClient({ ...options, cert: other.cert }); } catch (e) { return e; } })();
      assert.equal(refused.code, 'ERR_INVALID_OPTIONS');
      for (const err of [failed, refused]) seen.push(...Object.values(surfaces(err)).filter((t) => typeof t === 'string'));
    }
  } finally {
    for (const channel of channels) diagnostics.unsubscribe(channel, record);
  }
  assert.ok(seen.length > 10 && seen.some((text) => text.includes('tls-key')), 'the surfaces were seen');
  for (const text of seen) {
    for (const secret of [...bodies, ...lines]) assert.ok(!text.includes(secret), `a surface holds the key: ${text.slice(0, 200)}`);
  }
});

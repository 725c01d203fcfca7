'use strict';

// Mutual TLS (RFC 8705): a client certificate presented on token requests
// and on the requests that use the token, against oidc-provider with its
// mTLS features behind an HTTPS server that asks for client certificates
// (helpers/oidc-server.js) and an HTTPS API that checks cnf["x5t#S256"]
// (helpers/bound-resource-server.js). Certificates are made as the tests
// run (helpers/certificates.js).

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const https = require('node:https');
const util = require('node:util');
const diagnostics = require('node:diagnostics_channel');

const m2m = require('..');
const { startOidcServer } = require('./helpers/oidc-server');
const { startMtlsWorld, claimsOf, TENANT, SECRET } = require('./helpers/mtls-world');
const { makeCa, opensslAvailable } = require('./helpers/certificates');
const { startStrictTlsServer } = require('./helpers/strict-tls-server');
const { startForwardProxy } = require('./helpers/forward-proxy');
const { requires } = require('./helpers/skip');

const limits = { timeout: 60000, ...requires(opensslAvailable(), 'openssl is not installed') };
let world;
let pki;
let op;
let api;
let certs;
let options;

before(async () => {
  if (!opensslAvailable()) return;
  world = await startMtlsWorld();
  ({ pki, op, api, certs, options } = world);
});

after(() => world?.close());

test('tls_client_auth: RSA and P-256 certificates, keys in PKCS#8, PKCS#1 and SEC1, each get a token bound to that certificate', limits, async () => {
  for (const kind of ['rsa', 'ec']) {
    for (const encoding of ['key', 'traditional']) {
      const { cert, thumbprint } = certs[kind];
      const client = new m2m.TokenClient(options({ clientId: 'by-ca', cert, key: certs[kind][encoding] }));
      const info = await client.getTokenInfo();
      assert.equal(info.fromCache, false, `${kind} ${encoding}`);
      assert.equal(claimsOf(info.accessToken).cnf['x5t#S256'], thumbprint, `${kind} ${encoding}`);
      assert.equal(op.requests.at(-1).certificate, thumbprint);
      assert.equal(op.requests.at(-1).headers.authorization, undefined, 'no secret, no Basic header');
      m2m.clearCache();
    }
  }
});

test('authMethod defaults to tls_client_auth with cert and no secret or privateKey; util.inspect says so', limits, async () => {
  const client = new m2m.TokenClient(options({ clientId: 'by-ca', cert: certs.ec.cert, key: certs.ec.key }));
  assert.match(util.inspect(client), /authMethod: 'tls_client_auth'/);
  const explicit = new m2m.TokenClient(options({ clientId: 'by-ca', authMethod: 'tls_client_auth', cert: certs.ec.cert, key: certs.ec.key }));
  assert.equal(await explicit.getToken(), await client.getToken(), 'the same entry');
});

test('self_signed_tls_client_auth with the registered certificate', limits, async () => {
  const { cert, key, thumbprint } = certs.own;
  const token = await m2m.getToken(options({ clientId: 'self-signed', authMethod: 'self_signed_tls_client_auth', cert, key }));
  assert.equal(claimsOf(token).cnf['x5t#S256'], thumbprint);
});

test('a secret authenticates and the certificate is still presented: the token is bound to it', limits, async () => {
  const { cert, key, thumbprint } = certs.rsa;
  const client = new m2m.TokenClient(options({ clientId: 'secret-bound', clientSecret: SECRET, authMethod: 'client_secret_basic', cert, key }));
  assert.match(util.inspect(client), /authMethod: 'client_secret_basic'/);
  const token = await client.getToken();
  assert.equal(claimsOf(token).cnf['x5t#S256'], thumbprint);
  assert.match(op.requests.at(-1).headers.authorization, /^Basic /);
});

test('a private_key_jwt client presents the certificate too: the assertion authenticates, the token is bound', limits, async () => {
  const { cert, key, thumbprint } = certs.rsa;
  const client = new m2m.TokenClient(options({ clientId: 'key-bound', privateKey: world.signingKey.pkcs8, signingAlgorithm: 'ES256', keyId: 'key-bound-1', cert, key }));
  assert.match(util.inspect(client), /authMethod: 'private_key_jwt'/);
  assert.equal(claimsOf(await client.getToken()).cnf['x5t#S256'], thumbprint);
  assert.equal(op.requests.at(-1).certificate, thumbprint);
});

test('without the certificate the server will not issue a bound token (what the option fixes)', limits, async () => {
  await assert.rejects(
    m2m.getToken(options({ clientId: 'secret-bound', clientSecret: SECRET, authMethod: 'client_secret_basic' })),
    (err) => err.code === 'ERR_OAUTH' && err.oauthError === 'invalid_grant',
  );
});

test('clients with different certificates never share a token', limits, async () => {
  const one = await m2m.getToken(options({ clientId: 'by-ca', cert: certs.rsa.cert, key: certs.rsa.key }));
  const two = await m2m.getToken(options({ clientId: 'by-ca', cert: certs.ec.cert, key: certs.ec.key }));
  assert.notEqual(one, two);
  assert.equal(claimsOf(one).cnf['x5t#S256'], certs.rsa.thumbprint);
  assert.equal(claimsOf(two).cnf['x5t#S256'], certs.ec.thumbprint);
});

test('client.fetch presents the certificate: the bound token is accepted; sent without the certificate it is refused', limits, async () => {
  const client = new m2m.TokenClient(options({ clientId: 'by-ca', cert: certs.ec.cert, key: certs.ec.key }));
  const response = await client.fetch(`${api.origin}/users`);
  assert.equal(response.status, 200, JSON.stringify(api.requests.at(-1)));
  assert.equal((await response.json()).reason, 'bound');
  assert.equal(api.requests.at(-1).certificate, certs.ec.thumbprint);

  const headers = await client.getRequestHeaders(`${api.origin}/users`);
  assert.deepEqual(headers, { authorization: `Bearer ${await client.getToken()}` });
  const without = await new Promise((resolve, reject) => {
    https.get(`${api.origin}/users`, { headers, ca: pki.cert }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', reject);
  });
  assert.equal(without, 401);
  assert.equal(api.requests.at(-1).reason, 'bound token without a certificate');
});

test('the undici interceptor presents the certificate on requests to its origins', limits, async () => {
  const { Agent, request } = require('undici');
  const { tokenInterceptor } = require('m2m-token/undici');
  const client = new m2m.TokenClient(options({ clientId: 'by-ca', cert: certs.rsa.cert, key: certs.rsa.key }));
  const agent = new Agent({ connect: { ca: pki.cert } }).compose(tokenInterceptor(client, { origins: [api.origin] }));
  try {
    const { statusCode, body } = await request(`${api.origin}/orders`, { dispatcher: agent });
    assert.equal(statusCode, 200);
    assert.equal((await body.json()).reason, 'bound');
    assert.equal(api.requests.at(-1).certificate, certs.rsa.thumbprint);
  } finally {
    await agent.close();
  }
});

test('a bad cert or key is ERR_INVALID_OPTIONS when the client is made, and from getToken before any request; no message shows the key', limits, async () => {
  const { cert, key } = certs.ec;
  const keyBody = key.split('\n')[1];
  const cases = [
    [{ cert }, /key/],
    [{ key }, /cert/],
    [{ cert: 'not a certificate', key }, /cert/],
    [{ cert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', key }, /cert/],
    [{ cert: key, key }, /cert/],
    [{ cert, key: 'not a key' }, /key/],
    [{ cert, key: cert }, /key/],
    [{ cert, key: certs.other.key }, /key does not match the certificate/],
    [{ cert: certs.rsa.cert, key: certs.ec.traditional }, /key does not match the certificate/],
    [{ cert, key, authMethod: 'tls_client_auth', clientSecret: 's' }, /certificate alone/],
    [{ authMethod: 'self_signed_tls_client_auth' }, /cert and key/],
    [{ cert: 42, key }, /cert must be a string/],
  ];
  const before = op.count;
  for (const [bad, words] of cases) {
    const opts = options({ clientId: 'by-ca', ...bad });
    const check = (err) => {
      assert.equal(err.code, 'ERR_INVALID_OPTIONS', util.inspect(bad));
      assert.match(err.message, words);
      for (const shown of [err.message, util.inspect(err), JSON.stringify(err)]) {
        assert.ok(!shown.includes(keyBody) && !shown.includes('PRIVATE KEY'), shown);
      }
      return true;
    };
    assert.throws(() => new m2m.TokenClient(opts), check);
    await assert.rejects(m2m.getToken(opts), check);
  }
  assert.equal(op.count, before, 'no request was sent');
});

test('a server that refuses the certificate, or wants one: ERR_NETWORK saying so', limits, async (t) => {
  const stranger = makeCa('another CA');
  const serverCert = pki.issue({ cn: 'strict', ip: ['127.0.0.1'] });
  // Trusts only certificates from another CA, and says so in the handshake.
  const strict = await startStrictTlsServer({ cert: serverCert.cert, key: serverCert.key, trustedCa: stranger.cert });
  t.after(() => strict.close());
  const cases = [
    [{ cert: certs.ec.cert, key: certs.ec.key }, /^the token endpoint refused the client certificate \(TLS alert (unknown_ca|bad_certificate)\)/],
    [{ clientSecret: 'no certificate at all' }, /^the token endpoint requires a client certificate \(TLS alert certificate_required\): give cert and key/],
  ];
  for (const [extra, message] of cases) {
    await assert.rejects(m2m.getToken({ tokenUrl: strict.url, clientId: 'refused', ca: pki.cert, retries: 0, ...extra }), (err) => {
      assert.equal(err.code, 'ERR_NETWORK');
      assert.match(err.message, message);
      return true;
    });
  }
});

test('Auth0: with domain, mtls.<domain>/oauth/token (through a proxy, CONNECT), audience of the domain; util.inspect and fetch:start show that URL', limits, async (t) => {
  // The tenant's name resolves nowhere: only the proxy reaches it.
  const tenant = await startOidcServer({ tls: world.tls, clients: world.clients, tokenPath: '/oauth/token' });
  const proxy = await startForwardProxy({ hosts: { [`mtls.${TENANT}`]: tenant.port } });
  t.after(async () => {
    await proxy.close();
    await tenant.close();
  });
  const domain = `${TENANT}:${tenant.port}`;
  const client = new m2m.TokenClient({ domain, clientId: 'by-ca', cert: certs.ec.cert, key: certs.ec.key, ca: pki.cert, proxy: proxy.url, extraParams: options().extraParams });
  const tokenUrl = `https://mtls.${domain}/oauth/token`;
  const shown = util.inspect(client);
  assert.ok(shown.includes(`tokenUrl: '${tokenUrl}'`), shown);
  assert.ok(shown.includes(`audience: 'https://${domain}/api/v2/'`), shown);
  const starts = [];
  const onStart = (message) => starts.push(message);
  diagnostics.subscribe('m2m-token:fetch:start', onStart);
  try {
    const token = await client.getToken();
    assert.equal(claimsOf(token).cnf['x5t#S256'], certs.ec.thumbprint);
  } finally {
    diagnostics.unsubscribe('m2m-token:fetch:start', onStart);
  }
  assert.deepEqual(starts.map((s) => [s.tokenUrl, s.audience]), [[tokenUrl, `https://${domain}/api/v2/`]]);
  assert.deepEqual(proxy.connects, [`mtls.${domain}`]);
  assert.equal(tenant.requests.at(-1).certificate, certs.ec.thumbprint);
});

test('undici is loaded by the first request of a client with a certificate, never by clients without one; the process still exits by itself', limits, async () => {
  const { execFile } = require('node:child_process');
  const script = `
    const m2m = require(${JSON.stringify(require.resolve('..'))});
    const loaded = () => Object.keys(require.cache).some((f) => f.includes('/node_modules/undici/'));
    const { plain, bound, url } = JSON.parse(process.env.CASE);
    (async () => {
      const seen = [loaded()];
      const client = new m2m.TokenClient(plain);
      await client.fetch(url).catch(() => {});
      await client.getRequestHeaders(url).catch(() => {});
      seen.push(loaded());
      const res = await new m2m.TokenClient(bound).fetch(url);
      seen.push(res.status, loaded());
      console.log(JSON.stringify(seen));
    })();`;
  const env = {
    ...process.env,
    CASE: JSON.stringify({
      plain: options({ clientId: 'secret-bound', clientSecret: SECRET }),
      bound: options({ clientId: 'by-ca', cert: certs.ec.cert, key: certs.ec.key }),
      url: `${api.origin}/lazy`,
    }),
  };
  const stdout = await new Promise((resolve, reject) => {
    // The child must also exit by itself once done: its Agent's idle connections keep nothing alive (killed after 10 s).
    execFile(process.execPath, ['-e', script], { env, timeout: 10000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message} ${errOut}`)) : resolve(out)));
  });
  assert.deepEqual(JSON.parse(stdout), [false, false, 200, true]);
});

'use strict';

// TLS: an HTTPS token server whose certificate (localhost + 127.0.0.1) is signed by a
// private test CA (__test__/fixtures). Trusted through `ca` or NODE_EXTRA_CA_CERTS,
// refused otherwise. Also checks the private_key_jwt client assertion the server sees.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { generateClientKey } = require('./helpers/oidc-server');
const tls = require('./helpers/tls-fixtures');
const { runNode, childEnv } = require('./helpers/child');

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let server;
let jose;
let localhost; // 'localhost:<port>'

before(async () => {
  jose = await import('jose');
  server = await startTokenServer({ tls: { key: tls.key, cert: tls.cert } });
  localhost = `localhost:${server.port}`;
});

after(async () => {
  m2m.clearCache();
  await server.close();
});

beforeEach(() => {
  m2m.clearCache();
  server.reset();
});

test('tokenUrl https://localhost:<port> with ca: token fetched', async () => {
  const token = await m2m.getToken({
    tokenUrl: `https://${localhost}/oauth/token`,
    clientId: 'tls-url',
    clientSecret: 's',
    ca: tls.ca,
  });
  assert.equal(server.count, 1);
  assert.equal(token, server.issued[0]);
  assert.equal(server.requests[0].path, '/oauth/token');
  assert.equal(server.requests[0].form.grant_type, 'client_credentials');
});

test('tokenUrl https://127.0.0.1:<port> with ca: IP SAN accepted', async () => {
  const token = await m2m.getToken({
    tokenUrl: `https://127.0.0.1:${server.port}/oauth/token`,
    clientId: 'tls-ip',
    clientSecret: 's',
    ca: tls.ca,
  });
  assert.equal(token, server.issued[0]);
});

test('domain localhost:<port> with ca: /oauth/token, default Management API audience', async () => {
  const token = await m2m.getToken({
    domain: localhost,
    clientId: 'tls-domain',
    clientSecret: 's',
    ca: tls.ca,
  });
  assert.equal(server.count, 1);
  assert.equal(token, server.issued[0]);
  const req = server.requests[0];
  assert.equal(req.method, 'POST');
  assert.equal(req.path, '/oauth/token');
  assert.equal(req.form.audience, `https://${localhost}/api/v2/`);
  assert.equal(req.form.client_id, 'tls-domain');
  assert.equal(req.form.client_secret, 's');
});

test('without ca: ERR_NETWORK that says it is a certificate problem, no request served', async () => {
  for (const opts of [
    { tokenUrl: `https://${localhost}/oauth/token` },
    { domain: localhost },
  ]) {
    await assert.rejects(
      m2m.getToken({ ...opts, clientId: 'tls-untrusted', clientSecret: 's', retries: 0 }),
      (err) => {
        assert.equal(err.name, 'TokenError');
        assert.equal(err.code, 'ERR_NETWORK');
        assert.match(err.message, /certificate/i);
        return true;
      },
    );
  }
  assert.equal(server.count, 0);
});

// A fresh Node process: NODE_EXTRA_CA_CERTS must be in the environment at start.
async function runChild(extraEnv) {
  const script = `
    const m2m = require(${JSON.stringify(path.join(__dirname, '..'))});
    m2m.getToken({ tokenUrl: ${JSON.stringify(`https://${localhost}/oauth/token`)},
                   clientId: 'tls-extra-ca', clientSecret: 's', retries: 0 })
      .then((token) => console.log(JSON.stringify({ token })),
            (err) => console.log(JSON.stringify({ code: err.code, message: err.message })));
  `;
  const r = await runNode(['-e', script], { env: childEnv(extraEnv), timeoutMs: 20000 });
  if (r.code !== 0 || r.killed) throw new Error(`child failed: code ${r.code} signal ${r.signal}\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('NODE_EXTRA_CA_CERTS (no ca option): trusted in a process started with it', async () => {
  const withEnv = await runChild({ NODE_EXTRA_CA_CERTS: tls.caPath });
  assert.equal(withEnv.code, undefined, `expected a token, got ${withEnv.code}: ${withEnv.message}`);
  assert.equal(withEnv.token, server.issued[0]);
  assert.equal(server.count, 1);

  // Control: the same child without the variable is refused.
  const without = await runChild({});
  assert.equal(without.code, 'ERR_NETWORK');
  assert.match(without.message, /certificate/i);
  assert.equal(server.count, 1);
});

// ---- private_key_jwt: the client assertion as the server receives it ----

function assertions() {
  return server.requests.map((r) => {
    assert.equal(r.form.client_assertion_type, ASSERTION_TYPE);
    assert.equal(r.form.client_secret, undefined);
    assert.equal(r.headers.authorization, undefined);
    assert.equal(r.form.grant_type, 'client_credentials');
    return {
      jwt: r.form.client_assertion,
      header: jose.decodeProtectedHeader(r.form.client_assertion),
      claims: jose.decodeJwt(r.form.client_assertion),
    };
  });
}

async function checkAssertion(a, { clientId, aud, alg, kid, key }) {
  assert.equal(a.header.alg, alg);
  if (kid === undefined) assert.equal('kid' in a.header, false, 'no kid header without keyId');
  else assert.equal(a.header.kid, kid);
  assert.equal(a.claims.iss, clientId);
  assert.equal(a.claims.sub, clientId);
  assert.equal(a.claims.aud, aud);
  assert.equal(typeof a.claims.jti, 'string');
  assert.ok(a.claims.jti.length >= 16, 'jti has enough entropy');
  assert.equal(a.claims.exp - a.claims.iat, 60);
  assert.ok(Math.abs(a.claims.iat - Date.now() / 1000) < 30, 'iat is now');
  // Signed with the given key, under the given algorithm.
  await jose.jwtVerify(a.jwt, key.publicKey, { algorithms: [alg], issuer: clientId, subject: clientId, audience: aud });
}

for (const { alg, kid } of [
  { alg: 'RS256', kid: 'rsa-key-1' },
  { alg: 'PS256', kid: undefined },
  { alg: 'ES256', kid: 'ec-key-1' },
  { alg: 'ES256', kid: undefined },
]) {
  test(`private_key_jwt ${alg}${kid ? ' + keyId' : ''} over HTTPS with domain: aud https://<domain>/, fresh jti`, async () => {
    const key = generateClientKey(alg);
    const clientId = `pkjwt-${alg}-${kid ?? 'nokid'}`;
    const client = new m2m.TokenClient({
      domain: localhost,
      clientId,
      privateKey: key.pkcs8,
      signingAlgorithm: alg,
      ...(kid ? { keyId: kid } : {}),
      ca: tls.ca,
    });
    assert.equal(await client.getToken(), server.issued[0]);
    assert.equal(client.invalidate(), true);
    assert.equal(await client.getToken(), server.issued[1]);
    assert.equal(server.count, 2);
    const [a1, a2] = assertions();
    for (const a of [a1, a2]) {
      await checkAssertion(a, { clientId, aud: `https://${localhost}/`, alg, kid, key });
    }
    assert.notEqual(a1.claims.jti, a2.claims.jti);
    assert.equal(server.requests[0].form.audience, `https://${localhost}/api/v2/`);
  });
}

test('private_key_jwt with tokenUrl: aud defaults to the token URL; assertionAudience overrides', async () => {
  const key = generateClientKey('RS256');
  const tokenUrl = `https://${localhost}/oauth/token`;
  await m2m.getToken({ tokenUrl, clientId: 'pk-url', privateKey: key.pkcs8, ca: tls.ca });
  await m2m.getToken({
    tokenUrl,
    clientId: 'pk-url-aud',
    privateKey: key.pkcs8,
    assertionAudience: 'https://issuer.example/',
    ca: tls.ca,
  });
  const [a1, a2] = assertions();
  await checkAssertion(a1, { clientId: 'pk-url', aud: tokenUrl, alg: 'RS256', kid: undefined, key });
  await checkAssertion(a2, { clientId: 'pk-url-aud', aud: 'https://issuer.example/', alg: 'RS256', kid: undefined, key });
});

test('private_key_jwt retry after a 503: a new jti for the retried request', async () => {
  const key = generateClientKey('ES256');
  const retrying = await startTokenServer({
    tls: { key: tls.key, cert: tls.cert },
    respond: (ctx) => (ctx.n === 1 ? { status: 503, body: 'busy' } : undefined),
  });
  try {
    const token = await m2m.getToken({
      domain: `localhost:${retrying.port}`,
      clientId: 'pk-retry',
      privateKey: key.pkcs8,
      signingAlgorithm: 'ES256',
      retries: 1,
      ca: tls.ca,
    });
    assert.equal(retrying.count, 2);
    assert.equal(token, retrying.issued[0]);
    const [j1, j2] = retrying.requests.map((r) => jose.decodeJwt(r.form.client_assertion).jti);
    assert.ok(j1 && j2);
    assert.notEqual(j1, j2);
  } finally {
    await retrying.close();
  }
});

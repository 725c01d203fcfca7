'use strict';

// Forward proxies (api.md "Proxies"): the `proxy` option, the environment as
// curl reads it (HTTPS_PROXY / https_proxy, HTTP_PROXY / http_proxy,
// NO_PROXY / no_proxy), `proxy: false`, loopback never sent to an
// environment proxy, credentials from the URL, 407 and failing proxies.
//
// The HTTPS token endpoint is named token.m2m-test.invalid, a name that never
// resolves (RFC 6761): only the test proxy maps it to the loopback server, so
// a token that arrives went through the proxy, and a request that went
// direct fails with ERR_NETWORK. Its certificate (for that name) is made at
// test time with the openssl command into a temp dir and trusted through `ca`.
//
// Every call runs in a child process whose environment holds only PATH and
// the proxy variables of the case, so the variables of the machine running
// the tests never count; the child must also exit by itself (guarantee 7).

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const util = require('node:util');
const { execFile, execFileSync } = require('node:child_process');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { startForwardProxy } = require('./helpers/forward-proxy');
const fixtures = require('./helpers/tls-fixtures');
const { requires } = require('./helpers/skip');

const HOST = 'token.m2m-test.invalid';
const URL_443 = `https://${HOST}/oauth/token`;
const URL_8443 = `https://${HOST}:8443/oauth/token`;
const SECRET = 'client-secret-for-proxy-tests';
// Characters that must be percent-encoded in a URL's userinfo.
const USERNAME = 'us@er';
const PASSWORD = `p:ss-${crypto.randomBytes(6).toString('hex')}`;

const ROOT = path.join(__dirname, '..');

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const needsCert = requires(hasOpenssl, 'the openssl command, needed to make a certificate for the test host name, is not installed');

/** A throwaway CA and a certificate for HOST signed by it, in `dir`. */
function makeCertificate(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-sha256',
    '-subj', '/CN=m2m-token proxy test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', `/CN=${HOST}`);
  fs.writeFileSync(path.join(dir, 'server.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    `subjectAltName=DNS:${HOST}`,
  ].join('\n'));
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem',
    '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-out', 'cert.pem', '-days', '2', '-sha256',
    '-extfile', 'server.ext');
  const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8');
  return { ca: read('ca.pem'), key: read('key.pem'), cert: read('cert.pem') };
}

// Runs one getTokenInfo in a fresh process and reports what came back, with
// every text a user could print (client, stats, and the error if any).
const CHILD = `
'use strict';
const util = require('node:util');
const m2m = require(process.argv[1]);
const client = new m2m.TokenClient(JSON.parse(process.argv[2]));
const deep = { showHidden: true, depth: Infinity };
const texts = () => [util.inspect(client, deep), JSON.stringify(client), JSON.stringify(m2m.stats())];
client.getTokenInfo().then(
  (info) => process.stdout.write(JSON.stringify({ info, texts: texts() })),
  (err) => process.stdout.write(JSON.stringify({
    error: { name: err.name, code: err.code, status: err.status, message: err.message },
    texts: [...texts(), err.message, err.stack, util.inspect(err, deep), JSON.stringify(err)],
  })),
);
`;

function runInChild(options, env = {}) {
  const childEnv = { PATH: process.env.PATH, ...env };
  if (process.env.SYSTEMROOT) childEnv.SYSTEMROOT = process.env.SYSTEMROOT;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', CHILD, ROOT, JSON.stringify(options)], { env: childEnv, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? 'did not exit by itself within 20 s' : `failed (${err.code})`;
        return reject(new Error(`child ${why}: ${stderr}`));
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`child printed no result: ${stdout} ${stderr}`));
      }
    });
  });
}

let dir;
let cert;
let remote; // HTTPS token server reachable only as HOST, through a proxy
let local; // plain HTTP token server on 127.0.0.1
let localTls; // HTTPS token server on localhost / 127.0.0.1 (committed fixture certificate)
let proxy; // open proxy, maps HOST to `remote`
let authProxy; // the same, requiring USERNAME / PASSWORD
let refusing; // closes every connection

before(async () => {
  local = await startTokenServer();
  localTls = await startTokenServer({ tls: { key: fixtures.key, cert: fixtures.cert } });
  if (hasOpenssl) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-proxy-'));
    cert = makeCertificate(dir);
    remote = await startTokenServer({ tls: { key: cert.key, cert: cert.cert } });
  }
  const hosts = remote ? { [HOST]: remote.port } : {};
  proxy = await startForwardProxy({ hosts });
  authProxy = await startForwardProxy({ hosts, auth: { username: USERNAME, password: PASSWORD } });
  refusing = await startForwardProxy({ refuse: true });
});

after(async () => {
  m2m.clearCache();
  await Promise.all([local, localTls, remote, proxy, authProxy, refusing].filter(Boolean).map((s) => s.close()));
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  for (const s of [local, localTls, remote, proxy, authProxy, refusing]) if (s) s.reset();
});

const remoteOptions = (extra = {}) => ({
  tokenUrl: URL_443,
  clientId: 'proxy-client',
  clientSecret: SECRET,
  ca: cert.ca,
  retries: 0,
  timeoutMs: 5000,
  ...extra,
});

function assertToken(result, server) {
  assert.equal(result.error, undefined, `expected a token, got ${JSON.stringify(result.error)}`);
  assert.equal(server.count, 1, 'the token server saw the request');
  assert.equal(result.info.accessToken, server.issued[0]);
}

/** The call went direct: the proxy saw nothing, and HOST does not resolve. */
function assertDirect(result, p = proxy) {
  assert.equal(p.count, 0, `the proxy saw ${JSON.stringify([...p.connects, ...p.requests])}`);
  assert.equal(remote.count, 0);
  assert.ok(result.error, 'no token without the proxy');
  assert.equal(result.error.code, 'ERR_NETWORK');
}

// ---- the option ----

test('proxy option: an HTTPS endpoint through CONNECT, its certificate checked against `ca`', needsCert, async () => {
  const result = await runInChild(remoteOptions({ proxy: proxy.url }));
  assertToken(result, remote);
  assert.deepEqual(proxy.connects, [`${HOST}:443`]);
  assert.deepEqual(proxy.requests, [], 'HTTPS is tunnelled, never sent in the clear');
  assert.equal(remote.requests[0].form.client_secret, SECRET);
});

test('proxy option: the tunnel still checks the endpoint certificate (no `ca`: ERR_NETWORK)', needsCert, async () => {
  const options = remoteOptions({ proxy: proxy.url });
  delete options.ca;
  const result = await runInChild(options);
  assert.equal(result.error?.code, 'ERR_NETWORK');
  assert.deepEqual(proxy.connects, [`${HOST}:443`]);
  assert.equal(remote.count, 0, 'no request sent over an untrusted connection');
});

test('proxy option: a port in the URL goes into CONNECT', needsCert, async () => {
  const result = await runInChild(remoteOptions({ tokenUrl: URL_8443, proxy: proxy.url }));
  assertToken(result, remote);
  assert.deepEqual(proxy.connects, [`${HOST}:8443`]);
});

test('proxy option with `domain`: https://<domain>/oauth/token through the proxy', needsCert, async () => {
  const options = remoteOptions({ proxy: proxy.url });
  delete options.tokenUrl;
  options.domain = HOST;
  const result = await runInChild(options);
  assertToken(result, remote);
  assert.deepEqual(proxy.connects, [`${HOST}:443`]);
  assert.equal(remote.requests[0].path, '/oauth/token');
  assert.equal(remote.requests[0].form.audience, `https://${HOST}/api/v2/`);
});

test('proxy option on a loopback http endpoint: forwarded in absolute form', async () => {
  const result = await runInChild({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, retries: 0, proxy: proxy.url });
  assertToken(result, local);
  assert.deepEqual(proxy.requests, [local.url]);
  assert.deepEqual(proxy.connects, []);
});

test('proxy option wins over the environment (HTTPS_PROXY elsewhere, NO_PROXY=*)', needsCert, async () => {
  const result = await runInChild(remoteOptions({ proxy: proxy.url }), {
    HTTPS_PROXY: refusing.url,
    https_proxy: refusing.url,
    NO_PROXY: '*',
    no_proxy: '*',
  });
  assertToken(result, remote);
  assert.deepEqual(proxy.connects, [`${HOST}:443`]);
  assert.equal(refusing.count, 0);
});

// ---- the environment ----

test('no proxy anywhere: the test host does not resolve (ERR_NETWORK)', needsCert, async () => {
  assertDirect(await runInChild(remoteOptions()));
});

for (const name of ['HTTPS_PROXY', 'https_proxy']) {
  test(`${name}: an HTTPS endpoint goes through it`, needsCert, async () => {
    const result = await runInChild(remoteOptions(), { [name]: proxy.url });
    assertToken(result, remote);
    assert.deepEqual(proxy.connects, [`${HOST}:443`]);
  });
}

test('HTTPS_PROXY with `domain` (the Auth0 case)', needsCert, async () => {
  const options = remoteOptions();
  delete options.tokenUrl;
  options.domain = HOST;
  const result = await runInChild(options, { HTTPS_PROXY: proxy.url });
  assertToken(result, remote);
  assert.deepEqual(proxy.connects, [`${HOST}:443`]);
});

test('HTTP_PROXY / http_proxy are not used for an https endpoint', needsCert, async () => {
  assertDirect(await runInChild(remoteOptions(), { HTTP_PROXY: proxy.url, http_proxy: proxy.url }));
});

test('proxy: false ignores HTTPS_PROXY', needsCert, async () => {
  assertDirect(await runInChild(remoteOptions({ proxy: false }), { HTTPS_PROXY: proxy.url, https_proxy: proxy.url }));
});

test('loopback endpoints never use a proxy from the environment', async () => {
  const everyVariable = { HTTPS_PROXY: proxy.url, https_proxy: proxy.url, HTTP_PROXY: proxy.url, http_proxy: proxy.url };
  const cases = [
    [local, `http://127.0.0.1:${local.port}/oauth/token`, undefined],
    [local, `http://localhost:${local.port}/oauth/token`, undefined],
    [localTls, `https://127.0.0.1:${localTls.port}/oauth/token`, fixtures.ca],
    [localTls, `https://localhost:${localTls.port}/oauth/token`, fixtures.ca],
  ];
  for (const [server, tokenUrl, ca] of cases) {
    server.reset();
    const options = { tokenUrl, clientId: 'loop', clientSecret: SECRET, retries: 0 };
    if (ca) options.ca = ca;
    const result = await runInChild(options, everyVariable);
    assertToken(result, server);
    assert.equal(proxy.count, 0, `${tokenUrl} was sent to the proxy`);
  }
});

// NO_PROXY: [value, tokenUrl, proxied?]. A domain matches itself and its
// subdomains (with or without a leading dot), never a mere string suffix.
const noProxyCases = [
  [HOST, URL_443, false],
  ['TOKEN.M2M-TEST.INVALID', URL_443, false],
  ['.m2m-test.invalid', URL_443, false],
  ['m2m-test.invalid', URL_443, false],
  ['*', URL_443, false],
  ['example.com, .m2m-test.invalid', URL_443, false],
  [`${HOST}:8443`, URL_8443, false],
  [`${HOST}:9443`, URL_8443, true],
  ['other.m2m-test.invalid', URL_443, true],
  ['test.invalid', URL_443, true],
  ['example.com,localhost', URL_443, true],
];

for (const [value, tokenUrl, proxied] of noProxyCases) {
  test(`NO_PROXY=${value} with ${new URL(tokenUrl).host}: ${proxied ? 'proxied' : 'direct'}`, needsCert, async () => {
    const result = await runInChild(remoteOptions({ tokenUrl }), { HTTPS_PROXY: proxy.url, NO_PROXY: value });
    if (!proxied) return assertDirect(result);
    assertToken(result, remote);
    assert.deepEqual(proxy.connects, [new URL(tokenUrl).host.replace(/^([^:]+)$/, '$1:443')]);
  });
}

test('no_proxy (lower case) is read too', needsCert, async () => {
  assertDirect(await runInChild(remoteOptions(), { https_proxy: proxy.url, no_proxy: '.m2m-test.invalid' }));
});

// ---- credentials ----

test('proxy credentials from the URL, percent-decoded (option)', needsCert, async () => {
  const url = authProxy.urlWith(USERNAME, PASSWORD);
  assert.match(url, /us%40er:p%3Ass-/);
  const result = await runInChild(remoteOptions({ proxy: url }));
  assertToken(result, remote);
  assert.deepEqual(authProxy.credentials, [{ username: USERNAME, password: PASSWORD }]);
  assertNoPassword(result.texts);
});

test('proxy credentials from HTTPS_PROXY, percent-decoded', needsCert, async () => {
  const result = await runInChild(remoteOptions(), { HTTPS_PROXY: authProxy.urlWith(USERNAME, PASSWORD) });
  assertToken(result, remote);
  assert.deepEqual(authProxy.credentials, [{ username: USERNAME, password: PASSWORD }]);
  assertNoPassword(result.texts);
});

test('proxy credentials on plain HTTP forwarding', async () => {
  const result = await runInChild({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, retries: 0, proxy: authProxy.urlWith(USERNAME, PASSWORD) });
  assertToken(result, local);
  assert.deepEqual(authProxy.credentials, [{ username: USERNAME, password: PASSWORD }]);
});

/** Neither the password nor any encoding of it appears in `texts`. */
function assertNoPassword(texts) {
  const forms = [
    PASSWORD,
    encodeURIComponent(PASSWORD),
    PASSWORD.split(':')[1], // the part after the colon, alone
    Buffer.from(`${USERNAME}:${PASSWORD}`).toString('base64'),
    Buffer.from(`${encodeURIComponent(USERNAME)}:${encodeURIComponent(PASSWORD)}`).toString('base64'),
  ];
  for (const text of texts) {
    for (const form of forms) assert.ok(!String(text).includes(form), `"${form}" shown in: ${text}`);
  }
}

// ---- failures ----

test('proxy answering 407 to CONNECT: ERR_HTTP_STATUS with status 407, password never shown', needsCert, async () => {
  for (const url of [authProxy.urlWith(USERNAME, `${PASSWORD}-wrong`), authProxy.url]) {
    authProxy.reset();
    const result = await runInChild(remoteOptions({ proxy: url }));
    assert.equal(result.error?.code, 'ERR_HTTP_STATUS', JSON.stringify(result.error));
    assert.equal(result.error.status, 407);
    assert.equal(remote.count, 0);
    assert.ok(authProxy.connects.length >= 1);
    assertNoPassword(result.texts);
  }
});

test('proxy answering 407 to a plain HTTP request: ERR_HTTP_STATUS with status 407', async () => {
  const result = await runInChild({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, retries: 0, proxy: authProxy.urlWith(USERNAME, `${PASSWORD}-wrong`) });
  assert.equal(result.error?.code, 'ERR_HTTP_STATUS');
  assert.equal(result.error.status, 407);
  assert.equal(local.count, 0);
  assertNoPassword(result.texts);
});

test('a proxy that closes the connection: ERR_NETWORK', needsCert, async () => {
  const result = await runInChild(remoteOptions({ proxy: refusing.url }));
  assert.equal(result.error?.code, 'ERR_NETWORK');
  const plain = await runInChild({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, retries: 0, proxy: refusing.url });
  assert.equal(plain.error?.code, 'ERR_NETWORK');
  assert.equal(local.count, 0);
});

test('a proxy that cannot reach the endpoint (CONNECT answered 502): ERR_NETWORK', async () => {
  const result = await runInChild({ tokenUrl: 'https://unmapped.m2m-test.invalid/oauth/token', clientId: 'c', clientSecret: SECRET, retries: 0, proxy: proxy.url });
  assert.equal(result.error?.code, 'ERR_NETWORK', JSON.stringify(result.error));
  assert.deepEqual(proxy.connects, ['unmapped.m2m-test.invalid:443']);
});

test('a proxy port nobody listens on: ERR_NETWORK', async () => {
  const closed = await startForwardProxy();
  const url = closed.url;
  await closed.close();
  const result = await runInChild({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, retries: 0, proxy: url });
  assert.equal(result.error?.code, 'ERR_NETWORK');
  assert.equal(local.count, 0);
});

// ---- invalid values ----

test('invalid proxy values: ERR_INVALID_OPTIONS, synchronously from TokenClient, the password never echoed', async () => {
  const hidden = `hunter2-${crypto.randomBytes(4).toString('hex')}`;
  const values = [
    `ftp://user:${hidden}@127.0.0.1:1`,
    `socks9://user:${hidden}@127.0.0.1:1`,
    `http://user:${hidden}@`,
    `http://user:${hidden}@127.0.0.1:notaport`,
    `http://user:${hidden}@bad host:1`,
    `not a url ${hidden}`,
    123,
    true,
    {},
  ];
  for (const value of values) {
    const options = { tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, proxy: value };
    assert.throws(() => new m2m.TokenClient(options), (err) => {
      assert.equal(err.name, 'TokenError');
      assert.equal(err.code, 'ERR_INVALID_OPTIONS', `${JSON.stringify(value)}: ${err.code}`);
      for (const text of [err.message, err.stack, util.inspect(err, { showHidden: true }), JSON.stringify(err)]) {
        assert.ok(!text.includes(hidden), `password shown for ${JSON.stringify(value)}: ${text}`);
      }
      return true;
    }, `proxy ${JSON.stringify(value)} accepted`);
    await assert.rejects(m2m.getToken(options), { code: 'ERR_INVALID_OPTIONS' });
  }
  assert.equal(local.count, 0);
});

test('valid proxy values are accepted: http, https, with credentials, false', () => {
  for (const value of ['http://127.0.0.1:3128', 'https://proxy.example:8443', 'http://u:p@proxy.example:3128', 'http://proxy.example', false]) {
    assert.doesNotThrow(() => new m2m.TokenClient({ tokenUrl: local.url, clientId: 'c', clientSecret: SECRET, proxy: value }), String(value));
  }
});

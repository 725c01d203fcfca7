'use strict';

// Using a DPoP-bound token (RFC 9449): client.fetch, the undici interceptor
// and client.getRequestHeaders against the real express-oauth2-jwt-bearer
// requiring DPoP (tokens from oidc-provider), and against a resource server
// of the tests' own for what that middleware does not do: the nonce
// challenge, invalid_token, and hostile answers. Every proof a server
// received is verified with jose and checked claim by claim.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const m2m = require('..');
const { tokenInterceptor } = require('m2m-token/undici');
const { startOidcServer } = require('./helpers/oidc-server');
const { startJwtBearerApi } = require('./helpers/jwt-bearer-api');
const { startTokenServer, uid } = require('./helpers/token-server');
const { startResourceServer } = require('./helpers/resource-server');
const { makeProofKey, checkProof, jwtClaims } = require('./helpers/dpop-proofs');

const RESOURCE = 'urn:api';
const SECRET = 'dpop-fetch-secret-0123456789';

let op;
let api;

before(async () => {
  op = await startOidcServer({
    clients: [{ client_id: 'dpop-fetch', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_post' }],
  });
  api = await startJwtBearerApi({ issuer: op.issuer, audience: RESOURCE });
});

after(async () => {
  m2m.clearCache();
  await api.close();
  await op.close();
});

beforeEach(() => {
  m2m.clearCache();
  op.reset();
  api.requests.length = 0;
});

function options(extra = {}) {
  return {
    tokenUrl: op.tokenUrl,
    clientId: 'dpop-fetch',
    clientSecret: SECRET,
    extraParams: { resource: RESOURCE },
    scope: 'read:users',
    dpop: true,
    ...extra,
  };
}

for (const alg of ['derived', 'ES384', 'EdDSA']) {
  test(`client.fetch with a DPoP-bound token (${alg} key) is accepted by express-oauth2-jwt-bearer`, async () => {
    const key = alg === 'derived' ? null : await makeProofKey(alg);
    const client = new m2m.TokenClient(options(key === null ? {} : { dpop: { privateKey: key.pem } }));
    const get = await client.fetch(`${api.origin}/things?page=2#top`);
    assert.equal(get.status, 200, JSON.stringify(api.requests.at(-1)));
    const post = await client.fetch(new URL(`${api.origin}/things/1`), { method: 'post', body: 'hello' });
    assert.equal(post.status, 200);
    assert.equal((await post.json()).body, 'hello');
    assert.equal(op.count, 1, 'one token for both requests');
    const token = (await client.getTokenInfo()).accessToken;
    const [first, second] = api.requests;
    assert.equal(first.authorization, `DPoP ${token}`);
    const a = await checkProof(first.dpop, { htm: 'GET', htu: `${api.origin}/things`, accessToken: token });
    const b = await checkProof(second.dpop, { htm: 'POST', htu: `${api.origin}/things/1`, accessToken: token });
    assert.notEqual(a.claims.jti, b.claims.jti);
    assert.equal(a.thumbprint, jwtClaims(token).cnf.jkt);
    if (key !== null) assert.equal(a.thumbprint, key.thumbprint);
  });
}

test('getRequestHeaders gives { authorization, dpop } that another HTTP client can send', async () => {
  const client = new m2m.TokenClient(options());
  const url = `${api.origin}/reports?from=1`;
  const headers = await client.getRequestHeaders(url, 'DELETE');
  assert.deepEqual(Object.keys(headers).sort(), ['authorization', 'dpop']);
  const response = await fetch(url, { method: 'DELETE', headers });
  assert.equal(response.status, 200);
  const again = await client.getRequestHeaders(url); // GET by default, on a hit
  assert.equal(again.authorization, headers.authorization);
  const token = headers.authorization.slice('DPoP '.length);
  const first = await checkProof(headers.dpop, { htm: 'DELETE', htu: `${api.origin}/reports`, accessToken: token });
  const second = await checkProof(again.dpop, { htm: 'GET', htu: `${api.origin}/reports`, accessToken: token });
  assert.notEqual(first.claims.jti, second.claims.jti, 'a fresh proof per call');
  // A proof is for one request: replayed for another method it is refused.
  const replay = await fetch(url, { method: 'GET', headers });
  assert.ok([400, 401].includes(replay.status), `refused: ${replay.status}`);
});

test('a worker thread shares the DPoP-bound token and proves the same key', async () => {
  const { Worker } = require('node:worker_threads');
  const client = new m2m.TokenClient(options());
  const url = `${api.origin}/from-a-worker`;
  const mine = await client.getRequestHeaders(url);
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const m2m = require(workerData.module);
    new m2m.TokenClient(workerData.options).getRequestHeaders(workerData.url, 'PUT')
      .then((headers) => parentPort.postMessage(headers), (err) => parentPort.postMessage({ error: err.code }));
  `, { eval: true, workerData: { module: require.resolve('..'), options: options(), url } });
  const theirs = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  await worker.terminate();
  assert.equal(theirs.authorization, mine.authorization, 'the same token, from the one cache');
  assert.equal(op.count, 1);
  const token = mine.authorization.slice('DPoP '.length);
  const a = await checkProof(mine.dpop, { htm: 'GET', htu: url, accessToken: token });
  const b = await checkProof(theirs.dpop, { htm: 'PUT', htu: url, accessToken: token });
  assert.equal(b.thumbprint, a.thumbprint);
  assert.equal((await fetch(url, { method: 'PUT', headers: theirs })).status, 200);
});

test('getRequestHeaders with a URL no proof can name rejects with ERR_INVALID_OPTIONS', async () => {
  const client = new m2m.TokenClient(options());
  await client.getToken();
  for (const [url, method] of [['ftp://example.com/x', 'GET'], ['not a url', 'GET'], [`${api.origin}/x`, 'GE T'], [42, 'GET']]) {
    const err = await client.getRequestHeaders(url, method).then(() => null, (e) => e);
    assert.equal(err?.code, 'ERR_INVALID_OPTIONS', String(url));
  }
});

test('the undici interceptor sends DPoP with a fresh proof, accepted by express-oauth2-jwt-bearer', async () => {
  const { Agent, request } = require('undici');
  const client = new m2m.TokenClient(options());
  const agent = new Agent().compose(tokenInterceptor(client, { origins: [api.origin] }));
  try {
    for (const method of ['GET', 'PUT']) {
      const res = await request(`${api.origin}/items?x=1`, { method, dispatcher: agent, body: method === 'PUT' ? 'b' : undefined });
      assert.equal(res.statusCode, 200);
      await res.body.text();
    }
    const token = (await client.getTokenInfo()).accessToken;
    await checkProof(api.requests[0].dpop, { htm: 'GET', htu: `${api.origin}/items`, accessToken: token });
    await checkProof(api.requests[1].dpop, { htm: 'PUT', htu: `${api.origin}/items`, accessToken: token });
  } finally {
    await agent.close();
  }
});

// --- a resource server of the tests' own ---------------------------------

/** A token server that answers token_type DPoP, and an API whose answers `answer(record, n)` scripts. */
async function ownServers(answer) {
  const tokens = await startTokenServer({
    respond: (ctx) => {
      const r = ctx.defaultResponse();
      return { ...r, body: { ...r.body, token_type: 'DPoP' } };
    },
  });
  const rs = await startResourceServer(tokens);
  let n = 0;
  rs.route('/data', (req, res, record) => {
    const { status, headers = {} } = answer(record, ++n, tokens);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ status }));
  });
  const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: uid('own'), clientSecret: 's', dpop: true });
  return {
    tokens,
    rs,
    client,
    url: `${rs.origin}/data`,
    async close() {
      await rs.close();
      await tokens.close();
    },
  };
}

const nonceChallenge = (nonce) => ({
  status: 401,
  headers: {
    'www-authenticate': 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
    ...(nonce === undefined ? {} : { 'dpop-nonce': nonce }),
  },
});

const viaFetch = async (s) => {
  const response = await s.client.fetch(s.url, { method: 'POST', body: 'x' });
  await response.arrayBuffer();
  return response.status;
};

const viaInterceptor = async (s) => {
  const { Agent, request } = require('undici');
  const agent = new Agent().compose(tokenInterceptor(s.client, { origins: [s.rs.origin] }));
  try {
    const res = await request(s.url, { method: 'POST', body: 'x', dispatcher: agent });
    await res.body.text();
    return res.statusCode;
  } finally {
    await agent.close();
  }
};

for (const [name, send] of [['client.fetch', viaFetch], ['the undici interceptor', viaInterceptor]]) {
  test(`${name}: a use_dpop_nonce challenge is answered once with the nonce, and the token is kept`, async () => {
    const nonce = crypto.randomBytes(16).toString('base64url');
    const s = await ownServers((record) => {
      const proof = JSON.parse(Buffer.from(record.dpop.split('.')[1], 'base64url'));
      return proof.nonce === nonce ? { status: 200 } : nonceChallenge(nonce);
    });
    try {
      assert.equal(await send(s), 200);
      assert.equal(s.rs.requests.length, 2);
      assert.equal(s.tokens.count, 1, 'the token was not invalidated');
      const token = s.tokens.issued[0];
      const first = await checkProof(s.rs.requests[0].dpop, { htm: 'POST', htu: s.url, accessToken: token });
      const second = await checkProof(s.rs.requests[1].dpop, { htm: 'POST', htu: s.url, accessToken: token, nonce });
      assert.notEqual(first.claims.jti, second.claims.jti);
      // The nonce is kept for the origin: the next request carries it at once.
      assert.equal(await send(s), 200);
      assert.equal(s.rs.requests.length, 3);
      await checkProof(s.rs.requests[2].dpop, { htm: 'POST', htu: s.url, accessToken: token, nonce });
    } finally {
      await s.close();
    }
  });

  test(`${name}: DPoP error="invalid_token" is the 401 recovery: one new token, resent with a new proof`, async () => {
    const s = await ownServers((record, n, tokens) => (record.authorization === `DPoP ${tokens.issued.at(-1)}` && tokens.issued.length === 2
      ? { status: 200 }
      : { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token", algs="ES256"' } }));
    try {
      assert.equal(await send(s), 200);
      assert.equal(s.tokens.count, 2);
      assert.equal(s.rs.requests.length, 2);
      await checkProof(s.rs.requests[1].dpop, { htm: 'POST', htu: s.url, accessToken: s.tokens.issued[1] });
    } finally {
      await s.close();
    }
  });

  test(`${name}: a nonce challenge after a new token is answered too, once`, async () => {
    const nonce = crypto.randomBytes(8).toString('hex');
    const s = await ownServers((record, n) => {
      if (n === 1) return { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } };
      if (n === 2) return nonceChallenge(nonce);
      return { status: 200 };
    });
    try {
      assert.equal(await send(s), 200);
      assert.equal(s.rs.requests.length, 3);
      assert.equal(s.tokens.count, 2);
      await checkProof(s.rs.requests[2].dpop, { htm: 'POST', htu: s.url, accessToken: s.tokens.issued[1], nonce });
    } finally {
      await s.close();
    }
  });

  test(`${name}: hostile nonce answers never loop: at most one nonce resend and one token resend`, async () => {
    const cases = [
      // A malformed nonce is not kept: nothing to resend with.
      { answer: () => nonceChallenge('bad nonce "quoted"'), sends: 1, tokens: 1 },
      { answer: () => nonceChallenge('n'.repeat(10_000)), sends: 1, tokens: 1 },
      { answer: () => nonceChallenge(undefined), sends: 1, tokens: 1 },
      // A fresh nonce every time: one resend, then the 401 is the answer.
      { answer: () => nonceChallenge(crypto.randomBytes(8).toString('hex')), sends: 2, tokens: 1 },
      // Nonce, then invalid_token forever: one nonce resend, one token resend.
      {
        answer: (record, n) => (n === 1 ? nonceChallenge(crypto.randomBytes(8).toString('hex'))
          : { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } }),
        sends: 3,
        tokens: 2,
      },
      // A WWW-Authenticate that is garbage: the ordinary 401 recovery.
      { answer: () => ({ status: 401, headers: { 'www-authenticate': `DPoP ${'"'.repeat(5000)}error=` } }), sends: 2, tokens: 2 },
    ];
    for (const { answer, sends, tokens } of cases) {
      const s = await ownServers(answer);
      try {
        assert.equal(await send(s), 401);
        assert.equal(s.rs.requests.length, sends);
        assert.equal(s.tokens.count, tokens);
      } finally {
        await s.close();
      }
    }
  });
}

test('client.fetch replaces a DPoP header the caller set, and sends none with a Bearer token', async () => {
  const s = await ownServers(() => ({ status: 200 }));
  try {
    const response = await s.client.fetch(s.url, { headers: { DPoP: 'caller-proof', Authorization: 'Bearer caller' } });
    assert.equal(response.status, 200);
    assert.notEqual(s.rs.requests[0].dpop, 'caller-proof');
    await checkProof(s.rs.requests[0].dpop, { htm: 'GET', htu: s.url, accessToken: s.tokens.issued[0] });
  } finally {
    await s.close();
  }
  const bearerTokens = await startTokenServer();
  const rs = await startResourceServer(bearerTokens);
  try {
    const client = new m2m.TokenClient({ tokenUrl: bearerTokens.url, clientId: uid('bearer'), clientSecret: 's', dpop: true });
    const response = await client.fetch(`${rs.origin}/x`, { headers: { dpop: 'caller-proof' } });
    assert.equal(response.status, 200);
    assert.equal(rs.requests[0].authorization, `Bearer ${bearerTokens.issued[0]}`);
    assert.equal(rs.requests[0].dpop, null, 'no proof with a Bearer token');
  } finally {
    await rs.close();
    await bearerTokens.close();
  }
});

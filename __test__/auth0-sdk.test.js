'use strict';

// The auth0 SDK's ManagementClient with `token: () => client.getToken()` and
// `fetch: client.fetch`, against a stand-in of an Auth0 tenant on loopback
// (HTTPS with the test CA: the SDK always builds https://<domain>/api/v2):
// /oauth/token issues tokens, /api/v2/* accepts only the newest one.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');

const { startTokenServer } = require('./helpers/token-server');
const tlsFixtures = require('./helpers/tls-fixtures');
const { killedAtEnd } = require('./helpers/leftovers');

const limits = { timeout: 30000 };
const live = killedAtEnd();

let tenant;
let revoked = null;
const apiCalls = [];

before(async () => {
  tenant = await startTokenServer({
    tls: tlsFixtures,
    respond(ctx) {
      if (!ctx.path.startsWith('/api/v2/')) return undefined; // /oauth/token: the default answer
      const newest = tenant.issued.at(-1);
      const ok = ctx.headers.authorization === `Bearer ${newest}` && newest !== revoked;
      apiCalls.push({ method: ctx.method, path: ctx.path, authorization: ctx.headers.authorization, body: ctx.rawBody });
      if (!ok) return { status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'Invalid token', attributes: { error: 'Invalid token' } } };
      if (ctx.method === 'POST') return { status: 201, body: { client_id: 'new-client', ...JSON.parse(ctx.rawBody) } };
      return { status: 200, body: [{ client_id: 'abc', name: 'Default App' }] };
    },
  });
});
after(() => tenant.close());

function startSdkProcess(domain) {
  const script = path.join(__dirname, 'fixtures-scripts', 'auth0-sdk-child.js');
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: tlsFixtures.caPath };
  delete env.NODE_TEST_CONTEXT;
  delete env.M2M_TOKEN_STORE;
  const proc = fork(script, [domain], { env, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  live.add(proc);
  let seq = 0;
  const pending = new Map();
  const ready = new Promise((resolve, reject) => {
    proc.on('message', (m) => {
      if (m.ready) return resolve();
      pending.get(m.id)(m.result);
      pending.delete(m.id);
    });
    proc.once('exit', (code) => reject(new Error(`SDK process exited with ${code}`)));
  });
  return {
    ready,
    call: (cmd, args = {}) => new Promise((resolve) => {
      const id = ++seq;
      pending.set(id, resolve);
      proc.send({ id, cmd, ...args });
    }),
    kill: () => proc.kill('SIGKILL'),
  };
}

test('ManagementClient with fetch: client.fetch — the first call, and recovery after a revoked token', limits, async () => {
  const sdk = startSdkProcess(tenant.host);
  try {
    await sdk.ready;
    const first = await sdk.call('listClients');
    assert.deepEqual(first, { status: 200, data: [{ client_id: 'abc', name: 'Default App' }] });
    assert.equal(tenant.issued.length, 1, 'one token for the first call');
    const tokenRequest = tenant.requests.find((r) => r.path === '/oauth/token');
    assert.equal(tokenRequest.form.audience, `https://${tenant.host}/api/v2/`, 'the Management API audience');
    assert.equal(apiCalls.at(-1).authorization, `Bearer ${tenant.issued[0]}`);

    revoked = tenant.issued[0];
    const second = await sdk.call('listClients');
    assert.equal(second.status, 200, `recovered after the revoke (${JSON.stringify(second)})`);
    assert.equal(tenant.issued.length, 2, 'one new token');
    assert.deepEqual(apiCalls.slice(-2).map((c) => c.authorization), [`Bearer ${tenant.issued[0]}`, `Bearer ${tenant.issued[1]}`]);

    revoked = tenant.issued[1];
    const created = await sdk.call('createClient', { name: 'made after a revoke' });
    assert.equal(created.status, 201, `a POST with a JSON body recovers too (${JSON.stringify(created)})`);
    assert.deepEqual(created.data, { client_id: 'new-client', name: 'made after a revoke' });
    assert.equal(tenant.issued.length, 3);
    const posts = apiCalls.filter((c) => c.method === 'POST');
    assert.deepEqual(posts.map((c) => c.body), ['{"name":"made after a revoke"}', '{"name":"made after a revoke"}']);
  } finally {
    sdk.kill();
  }
});

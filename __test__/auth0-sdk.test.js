'use strict';

// The auth0 SDK, each major from v4 on, driven exactly as the documentation
// shows it (the examples/auth0-sdk-*.js files, which the code blocks of
// docs/using-the-token.md are: see auth0-sdk-docs.test.js) against a
// stand-in of an Auth0 tenant on
// loopback (HTTPS with the test CA: the SDK always builds
// https://<domain>/api/v2): /oauth/token issues tokens, /api/v2/users accepts
// only the newest token and answers any other with Auth0's 401 body.
//
// Each test loads its example several times in one process (several
// ManagementClient instances, each with its own TokenClient) and makes many
// concurrent calls: one token request for all of them. After a revoke, the
// calls recover inside themselves where README says so (v4, v7, v5/v6
// through `auth0/legacy`, v6's resource clients); where it says they do not
// (v5/v6's own ManagementClient, which deletes `fetch`), the 401 reaches the
// caller; through the global dispatcher, lists recover and a POST does not.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { fork } = require('node:child_process');

const { startTokenServer } = require('./helpers/token-server');
const tlsFixtures = require('./helpers/tls-fixtures');
const { killedAtEnd } = require('./helpers/leftovers');

const limits = { timeout: 60000 };
const live = killedAtEnd();

const INSTANCES = 3;
const CALLS = 30;
const USERS = [{ user_id: 'auth0|1', email: 'ada@example.com' }, { user_id: 'auth0|2', email: 'grace@example.com' }];
const INVALID_TOKEN = { statusCode: 401, error: 'Unauthorized', message: 'Invalid token', attributes: { error: 'Invalid token' } };

const answered = (results) => results.filter((r) => r.users !== undefined).length;
const example = (name) => path.join(__dirname, '..', 'examples', name);

/** A stand-in tenant: the token server's /oauth/token, and /api/v2/users behind the newest, unrevoked token. */
async function startTenant() {
  const revoked = new Set();
  const tenant = await startTokenServer({
    tls: tlsFixtures,
    respond(ctx) {
      if (!ctx.path.startsWith('/api/v2/')) return undefined; // /oauth/token: the default answer
      const newest = tenant.issued.at(-1);
      const ok = ctx.headers.authorization === `Bearer ${newest}` && !revoked.has(newest);
      tenant.apiCalls.push({ method: ctx.method, authorization: ctx.headers.authorization, body: ctx.rawBody, status: ok ? 'ok' : 401 });
      if (!ok) return { status: 401, body: INVALID_TOKEN };
      if (ctx.method === 'POST') return { status: 201, body: { user_id: 'auth0|new', ...JSON.parse(ctx.rawBody) } };
      // As Auth0 answers: a bare array, or a page object with include_totals=true (v5 and later ask for it).
      const url = new URL(ctx.path, tenant.origin);
      if (url.searchParams.get('include_totals') === 'true') return { status: 200, body: { start: 0, limit: 5, length: USERS.length, total: USERS.length, users: USERS } };
      return { status: 200, body: USERS };
    },
  });
  tenant.apiCalls = [];
  tenant.revokeNewest = () => revoked.add(tenant.issued.at(-1));
  tenant.tokenRequests = () => tenant.requests.filter((r) => r.path === '/oauth/token');
  return tenant;
}

/** A process running `exampleFile` `instances` times with `require('auth0')` leading to `sdkPackage`. */
function startSdkProcess(sdkPackage, exampleFile, tenant, instances) {
  const script = path.join(__dirname, 'fixtures-scripts', 'auth0-sdk-child.js');
  const env = {
    ...process.env,
    NODE_EXTRA_CA_CERTS: tlsFixtures.caPath,
    AUTH0_DOMAIN: tenant.host,
    AUTH0_CLIENT_ID: `sdk-${sdkPackage}-${path.basename(exampleFile, '.js')}`,
    AUTH0_CLIENT_SECRET: 'sdk-secret',
  };
  delete env.NODE_TEST_CONTEXT;
  delete env.M2M_TOKEN_STORE;
  const proc = fork(script, [sdkPackage, exampleFile, String(instances)], { env, execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
  const call = (cmd, args = {}) => new Promise((resolve) => {
    const id = ++seq;
    pending.set(id, resolve);
    proc.send({ id, cmd, ...args });
  });
  return { ready, call, kill: () => proc.kill('SIGKILL') };
}

/** Runs `fn(sdk, tenant)`; `sdk.note(line)` reports what happened in the test's output (node:test diagnostics). */
async function withSdk(t, sdkPackage, exampleFile, fn, { instances = INSTANCES } = {}) {
  const tenant = await startTenant();
  const sdk = startSdkProcess(sdkPackage, exampleFile, tenant, instances);
  sdk.note = (line) => t.diagnostic(`${sdkPackage} with ${path.basename(exampleFile)}: ${line}`);
  try {
    await sdk.ready;
    return await fn(sdk, tenant);
  } finally {
    sdk.kill();
    await tenant.close();
  }
}

/** CALLS concurrent calls over the example's instances, all answered with the users, on one token request. */
async function allAnsweredOnOneToken(sdk, tenant) {
  const results = await sdk.call('list', { n: CALLS });
  sdk.note(`${answered(results)} of ${CALLS} calls answered; token requests: ${tenant.tokenRequests().length}`);
  assert.deepEqual(results, Array(CALLS).fill({ users: USERS }), 'every call answered with the users');
  assert.equal(tenant.tokenRequests().length, 1, `one token request for ${CALLS} calls`);
  assert.equal(tenant.tokenRequests()[0].form.audience, `https://${tenant.host}/api/v2/`, 'the Management API audience');
  assert.ok(tenant.apiCalls.every((c) => c.authorization === `Bearer ${tenant.issued[0]}`));
}

const NEW_USER = { email: 'new@example.com', connection: 'Username-Password-Authentication' };

/** After a revoke, CALLS concurrent calls all recover inside the call, on one new token. */
async function revokedTokenRecoveredOnLists(sdk, tenant) {
  tenant.revokeNewest();
  const results = await sdk.call('list', { n: CALLS });
  sdk.note(`after a revoke: ${answered(results)} of ${CALLS} calls answered; token requests: ${tenant.tokenRequests().length}`);
  assert.deepEqual(results, Array(CALLS).fill({ users: USERS }), 'every call recovered inside the call');
  assert.equal(tenant.tokenRequests().length, 2, 'one new token request for all the 401s');
  assert.ok(tenant.apiCalls.some((c) => c.status === 401), 'the API did answer 401 first');
}

/** revokedTokenRecoveredOnLists, then a POST meets a revoked token too and its body is resent. */
async function revokedTokenRecovered(sdk, tenant) {
  await revokedTokenRecoveredOnLists(sdk, tenant);
  tenant.revokeNewest();
  const user = NEW_USER;
  const created = await sdk.call('create', { user });
  sdk.note(`a POST after a revoke: ${created.user ? 'answered' : `failed (${created.error?.statusCode})`}; token requests: ${tenant.tokenRequests().length}`);
  assert.deepEqual(created, { user: { user_id: 'auth0|new', ...user } }, `a POST recovers too (${JSON.stringify(created)})`);
  const posts = tenant.apiCalls.filter((c) => c.method === 'POST');
  assert.deepEqual(posts.map((c) => [c.status, JSON.parse(c.body)]), [[401, user], ['ok', user]], 'the same body sent twice');
  assert.equal(tenant.tokenRequests().length, 3);
}

/** After a revoke, CALLS concurrent calls all fail with the API's 401; the revoked token stays until client.invalidate(). */
async function revokedTokenReachesTheCaller(sdk, tenant) {
  tenant.revokeNewest();
  const results = await sdk.call('list', { n: CALLS });
  sdk.note(`after a revoke: ${answered(results)} of ${CALLS} calls answered; token requests: ${tenant.tokenRequests().length}`);
  for (const r of results) {
    assert.equal(r.error?.statusCode, 401, `the 401 reaches the caller (${JSON.stringify(r)})`);
    assert.match(r.error.message, /Invalid token/);
  }
  assert.equal(tenant.tokenRequests().length, 1, 'no new token: nothing told m2m-token');
  assert.equal(tenant.apiCalls.filter((c) => c.status === 401).length, CALLS, 'each call sent once, with the revoked token');

  assert.equal(await sdk.call('invalidate'), true, 'the caller drops the token');
  const afterInvalidate = await sdk.call('list', { n: CALLS });
  sdk.note(`after client.invalidate(): ${answered(afterInvalidate)} of ${CALLS} calls answered; token requests: ${tenant.tokenRequests().length}`);
  assert.deepEqual(afterInvalidate, Array(CALLS).fill({ users: USERS }));
  assert.equal(tenant.tokenRequests().length, 2, 'one new token after the invalidation');
}

test('auth0 v7 (README): several ManagementClients, one token; a revoked token recovered inside the call', limits, (t) =>
  withSdk(t, 'auth0-v7', example('auth0-sdk-v7.js'), async (sdk, tenant) => {
    await allAnsweredOnOneToken(sdk, tenant);
    await revokedTokenRecovered(sdk, tenant);
  }));

for (const major of ['v5', 'v6']) {
  test(`auth0 ${major} through auth0/legacy (README): one token; a revoked token recovered inside the call`, limits, (t) =>
    withSdk(t, `auth0-${major}`, example('auth0-sdk-v5-v6.js'), async (sdk, tenant) => {
      await allAnsweredOnOneToken(sdk, tenant);
      await revokedTokenRecovered(sdk, tenant);
    }));

  test(`auth0 ${major}: its own ManagementClient, given the v7 code, gets the token supplier only (fetch is deleted)`, limits, (t) =>
    withSdk(t, `auth0-${major}`, example('auth0-sdk-v7.js'), async (sdk, tenant) => {
      await allAnsweredOnOneToken(sdk, tenant);
      await revokedTokenReachesTheCaller(sdk, tenant);
    }));
}

test('auth0 v4 (README): several ManagementClients, one token; a revoked token recovered inside the call', limits, (t) =>
  withSdk(t, 'auth0', example('auth0-sdk-v4.js'), async (sdk, tenant) => {
    await allAnsweredOnOneToken(sdk, tenant);
    await revokedTokenRecovered(sdk, tenant);
  }));

test('auth0 v6 resource clients (createManagementAuth + UsersClient with fetch): one token; a revoked token recovered inside the call', limits, (t) =>
  withSdk(t, 'auth0-v6', example('auth0-sdk-v6-resource-clients.js'), async (sdk, tenant) => {
    await allAnsweredOnOneToken(sdk, tenant);
    await revokedTokenRecovered(sdk, tenant);
  }));

for (const major of ['v5', 'v6']) {
  test(`auth0 ${major} through Node's global dispatcher and m2m-token/undici: lists recovered, a POST's 401 reaches the caller`, limits, (t) =>
    withSdk(t, `auth0-${major}`, example('auth0-sdk-v5-v6-dispatcher.js'), async (sdk, tenant) => {
      await allAnsweredOnOneToken(sdk, tenant);
      await revokedTokenRecoveredOnLists(sdk, tenant);

      tenant.revokeNewest();
      const failed = await sdk.call('create', { user: NEW_USER });
      sdk.note(`a POST after a revoke: ${failed.user ? 'answered' : `failed (${failed.error?.statusCode})`}; token requests: ${tenant.tokenRequests().length}`);
      assert.equal(failed.error?.statusCode, 401, `Node's fetch sends the body as a stream: not resent (${JSON.stringify(failed)})`);
      assert.equal(tenant.tokenRequests().length, 2, 'no token request in the call');
      const created = await sdk.call('create', { user: NEW_USER });
      assert.deepEqual(created, { user: { user_id: 'auth0|new', ...NEW_USER } }, 'the 401 dropped the token: the next call gets a new one');
      assert.equal(tenant.tokenRequests().length, 3);
    }, { instances: 1 })); // the example replaces the process's dispatcher: once per process, as it says
}

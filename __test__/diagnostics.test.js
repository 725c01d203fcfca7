'use strict';

// Diagnostics (api.md "Diagnostics"): m2m-token:fetch:start, :fetch:end and
// :invalidate on node:diagnostics_channel, published on the thread whose
// call started the request (a background refresh: the thread whose hit
// started it), once per request however many callers share it, and never
// carrying a secret, key, token or password.

const { test, before, after, beforeEach, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const diagnostics = require('node:diagnostics_channel');
const path = require('node:path');
const util = require('node:util');
const { setTimeout: sleep, setImmediate: tick } = require('node:timers/promises');

const m2m = require('..');
const { startCommandWorker } = require('./helpers/command-worker');
const { startTokenServer } = require('./helpers/token-server');
const { clientOptions, formEncode } = require('./helpers/options');
const { waitFor } = require('./helpers/wait');
const { freePort } = require('./helpers/ports');
const { startForwardProxy } = require('./helpers/forward-proxy');

const START = 'm2m-token:fetch:start';
const END = 'm2m-token:fetch:end';
const INVALIDATE = 'm2m-token:invalidate';

let server;
// How the server answers the next requests: a function of ctx, or undefined for a token.
let respond;

before(async () => {
  server = await startTokenServer({ respond: (ctx) => (respond ? respond(ctx) : undefined) });
});

after(async () => {
  m2m.clearCache();
  await server.close();
});

let recorders = [];
beforeEach(() => {
  respond = undefined;
  server.reset();
});
afterEach(() => {
  for (const r of recorders) r.stop();
  recorders = [];
});

const opts = clientOptions('diag', { retries: 0 });

/** Subscribes to `channels` on this thread; { start, end, invalidate, all, stop() }. */
function record(channels = [START, END, INVALIDATE]) {
  const r = { start: [], end: [], invalidate: [], all: [] };
  const handlers = channels.map((name) => {
    const fn = (message) => {
      r.all.push(message);
      r[{ [START]: 'start', [END]: 'end', [INVALIDATE]: 'invalidate' }[name]].push(message);
    };
    diagnostics.subscribe(name, fn);
    return [name, fn];
  });
  r.stop = () => {
    for (const [name, fn] of handlers) diagnostics.unsubscribe(name, fn);
  };
  recorders.push(r);
  return r;
}

/**
 * What `r` saw before a probe: one more fetch on this thread, for a client
 * id of its own, whose fetch:end is awaited. Messages of calls that ended
 * before the probe started are published on this thread before its end is,
 * so none can still be on the way: this stands in for "wait and see that
 * nothing more arrives". Returns r's messages without the probe's.
 */
async function beforeProbe(r) {
  const probe = opts(server);
  await m2m.getToken(probe).catch(() => {}); // the probe may fail: its end is what counts
  await waitFor(() => r.end.some((m) => m.clientId === probe.clientId), 'the probe\'s fetch:end');
  const seen = (list) => list.filter((m) => m.clientId !== probe.clientId);
  return { start: seen(r.start), end: seen(r.end), invalidate: seen(r.invalidate), all: seen(r.all) };
}

/** The end message's own fields, checked; returns it without them. */
function assertEndShape(end) {
  assert.equal(typeof end.durationMs, 'number');
  assert.ok(Number.isFinite(end.durationMs) && end.durationMs >= 0, `durationMs ${end.durationMs}`);
  assert.ok(Number.isInteger(end.attempts) && end.attempts >= 1, `attempts ${end.attempts}`);
  assert.ok(['endpoint', 'store'].includes(end.source), `source ${end.source}`);
}

// ---- fetch:start / fetch:end ----

test('a miss publishes start { tokenUrl, clientId, audience, reason: miss } and end with the outcome; hits publish nothing', async () => {
  const r = record();
  const o = opts(server, { audience: 'https://api.example/' });
  const info = await m2m.getTokenInfo(o);
  await waitFor(() => r.end.length === 1, 'fetch:end');
  assert.deepEqual(r.start, [{ tokenUrl: server.url, clientId: o.clientId, audience: 'https://api.example/', reason: 'miss' }]);
  const [end] = r.end;
  assertEndShape(end);
  assert.equal(end.tokenUrl, server.url);
  assert.equal(end.clientId, o.clientId);
  assert.equal(end.audience, 'https://api.example/');
  assert.equal(end.reason, 'miss');
  assert.equal(end.attempts, 1);
  assert.equal(end.source, 'endpoint');
  assert.equal(end.expiresAt, info.expiresAt);
  assert.equal('error' in end, false);
  assert.equal('quota' in end, false, 'no quota headers were sent');
  assert.ok(r.all.indexOf(r.start[0]) < r.all.indexOf(end), 'start before end');

  const client = new m2m.TokenClient(o);
  for (let i = 0; i < 5; i++) {
    await m2m.getToken(o);
    await client.getTokenInfo();
  }
  await tick();
  assert.equal(r.all.length, 2, 'hits publish nothing');
  assert.equal(server.count, 1);
});

test('without an audience option the messages have no audience', async () => {
  const r = record();
  const o = opts(server);
  await m2m.getToken(o);
  await waitFor(() => r.end.length === 1, 'fetch:end');
  assert.deepEqual(r.start, [{ tokenUrl: server.url, clientId: o.clientId, reason: 'miss' }]);
  assert.equal(r.end[0].audience, undefined);
});

test('end carries the quota when the endpoint sent it', async () => {
  respond = (ctx) => ({ ...ctx.defaultResponse(), headers: { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200' } });
  const r = record();
  const info = await m2m.getTokenInfo(opts(server));
  await waitFor(() => r.end.length === 1, 'fetch:end');
  const quota = { client: { perHour: { quota: 10, remaining: 7, resetAfter: 3540 }, perDay: { quota: 50, remaining: 47, resetAfter: 43200 } } };
  assert.deepEqual(r.end[0].quota, quota);
  assert.deepEqual(info.quota, quota);
});

test('end counts every attempt and the time they took', async () => {
  respond = (ctx) => (ctx.n === 1 ? { status: 503, body: 'busy' } : { ...ctx.defaultResponse(), delayMs: 200 });
  const r = record();
  await m2m.getToken(opts(server, { retries: 2 }));
  await waitFor(() => r.end.length === 1, 'fetch:end');
  assert.equal(server.count, 2);
  assert.equal(r.start.length, 1, 'one start for the whole request, retries included');
  assert.equal(r.end[0].attempts, 2);
  assert.ok(r.end[0].durationMs >= 150, `durationMs ${r.end[0].durationMs} covers the 200 ms answer`);
});

test('a failed fetch: end carries the TokenError and no expiresAt', async () => {
  respond = () => ({ status: 401, body: { error: 'invalid_client', error_description: 'Unauthorized' } });
  const r = record();
  const o = opts(server);
  const rejection = await m2m.getToken(o).then(() => assert.fail('resolved'), (err) => err);
  await waitFor(() => r.end.length === 1, 'fetch:end');
  assert.deepEqual(r.start, [{ tokenUrl: server.url, clientId: o.clientId, reason: 'miss' }]);
  const [end] = r.end;
  assertEndShape(end);
  assert.equal(end.reason, 'miss');
  assert.equal(end.attempts, 1);
  assert.ok(end.error instanceof m2m.TokenError, 'error is a TokenError');
  assert.equal(end.error.code, 'ERR_OAUTH');
  assert.equal(end.error.oauthError, 'invalid_client');
  assert.equal(end.error.code, rejection.code);
  assert.equal(end.expiresAt, undefined);
});

test('100 concurrent callers: exactly one start and one end', async () => {
  respond = (ctx) => ({ ...ctx.defaultResponse(), delayMs: 50 });
  const r = record();
  const o = opts(server);
  const client = new m2m.TokenClient(o);
  await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? m2m.getTokenInfo(o) : client.getToken())));
  await waitFor(() => r.end.length >= 1, 'fetch:end');
  assert.equal(server.count, 1);
  const seen = await beforeProbe(r); // a second, wrong, message would be in by then
  assert.equal(server.count, 2, 'no request but the probe\'s since');
  assert.equal(seen.start.length, 1);
  assert.equal(seen.end.length, 1);
});

test('a subscriber to fetch:end alone still gets every end, with the start fields', async () => {
  const r = record([END]);
  const o = opts(server);
  await m2m.getToken(o);
  await waitFor(() => r.end.length === 1, 'fetch:end');
  assert.equal(r.end[0].tokenUrl, server.url);
  assert.equal(r.end[0].clientId, o.clientId);
  assert.equal(r.end[0].reason, 'miss');
});

// ---- refresh ahead ----

// expires_in 63 with leeway 60: usable 3 s, refresh ahead from 2.7 s. A hit
// at 2.85 s is inside the window on either side by 150 ms.
const REFRESH = { expiresIn: 63, leewaySeconds: 60, hitAfterMs: 2850 };

test('refresh ahead: reason refresh, published on this thread after the hit that started it', async () => {
  respond = (ctx) => ({ ...ctx.defaultResponse(), body: { ...ctx.defaultResponse().body, expires_in: REFRESH.expiresIn } });
  const o = opts(server, { leewaySeconds: REFRESH.leewaySeconds });
  const fetchedAt = Date.now();
  await m2m.getToken(o);
  const r = record();
  await sleep(fetchedAt + REFRESH.hitAfterMs - Date.now()); // the behaviour: the token ages into its refresh window
  const hit = await m2m.getTokenInfo(o);
  assert.equal(hit.fromCache, true);
  await waitFor(() => r.end.length === 1, 'the refresh fetch:end');
  assert.equal(server.count, 2);
  assert.deepEqual(r.start, [{ tokenUrl: server.url, clientId: o.clientId, reason: 'refresh' }]);
  assert.equal(r.end[0].reason, 'refresh');
  assert.equal(r.end[0].source, 'endpoint');
  assert.ok(r.end[0].expiresAt > hit.expiresAt, 'the refreshed token expires later');
});

// ---- worker threads ----

const startWorker = () => startCommandWorker(path.join(__dirname, 'fixtures-scripts', 'diag-worker.js'));

/** What the worker's subscribers saw, collected until a fetch:end is among it. */
async function workerMessagesUntilEnd(worker) {
  const seen = [];
  await waitFor(() => seen.some((m) => m.channel === END), 'fetch:end in the worker', 5000, async () => {
    seen.push(...(await worker.call('messages')));
  });
  return seen;
}

async function withWorker(fn) {
  const worker = await startWorker();
  try {
    return await fn(worker);
  } finally {
    await worker.terminate();
  }
}

test('a call in a worker publishes in that worker, not in the main thread', () => withWorker(async (worker) => {
  const r = record();
  const o = opts(server);
  const info = await worker.call('info', { options: o });
  assert.equal(info.fromCache, false);
  const seen = await workerMessagesUntilEnd(worker);
  assert.deepEqual(seen.filter((m) => m.channel === START).map((m) => m.message), [{ tokenUrl: server.url, clientId: o.clientId, reason: 'miss' }]);
  const ends = seen.filter((m) => m.channel === END).map((m) => m.message);
  assert.equal(ends.length, 1);
  assert.equal(ends[0].expiresAt, info.expiresAt);
  assert.deepEqual((await beforeProbe(r)).all, [], 'the main thread saw nothing of the worker\'s fetch');

  // And the other way round: the probe, a miss on the main thread, is not published in the worker.
  assert.equal(r.end.length, 1, 'the probe\'s fetch:end');
  assert.deepEqual(await worker.call('messages'), []);
}));

test('a refresh started by a hit in a worker is published in that worker only', () => withWorker(async (worker) => {
  respond = (ctx) => ({ ...ctx.defaultResponse(), body: { ...ctx.defaultResponse().body, expires_in: REFRESH.expiresIn } });
  const o = opts(server, { leewaySeconds: REFRESH.leewaySeconds });
  const fetchedAt = Date.now();
  await m2m.getToken(o); // the miss on the main thread
  assert.equal((await worker.call('info', { options: o })).fromCache, true); // the worker's view, before the refresh point
  await worker.call('messages');
  const r = record();
  await sleep(fetchedAt + REFRESH.hitAfterMs - Date.now()); // the behaviour: the token ages into its refresh window
  assert.equal((await worker.call('info', { options: o })).fromCache, true);
  const seen = await workerMessagesUntilEnd(worker);
  assert.equal(server.count, 2);
  assert.deepEqual(seen.filter((m) => m.channel === START).map((m) => m.message), [{ tokenUrl: server.url, clientId: o.clientId, reason: 'refresh' }]);
  assert.equal(seen.filter((m) => m.channel === END)[0]?.message.reason, 'refresh');
  assert.deepEqual((await beforeProbe(r)).all, [], 'the main thread did not start the refresh');
}));

// ---- invalidate ----

test('invalidate() publishes { tokenUrl, clientId, audience?, scope: entry }; clearCache() scope all', async () => {
  const o = opts(server, { audience: 'urn:api' });
  const client = new m2m.TokenClient(o);
  await client.getToken();
  const r = record([INVALIDATE]);
  assert.equal(client.invalidate(), true);
  await tick();
  assert.deepEqual(r.invalidate, [{ tokenUrl: server.url, clientId: o.clientId, audience: 'urn:api', scope: 'entry' }]);

  await m2m.getToken(o);
  assert.equal(m2m.invalidate(o), true);
  await tick();
  assert.equal(r.invalidate.length, 2);
  assert.deepEqual(r.invalidate[1], { tokenUrl: server.url, clientId: o.clientId, audience: 'urn:api', scope: 'entry' });

  const plain = opts(server);
  await m2m.getToken(plain);
  m2m.invalidate(plain);
  await tick();
  assert.deepEqual(r.invalidate[2], { tokenUrl: server.url, clientId: plain.clientId, scope: 'entry' });

  m2m.clearCache();
  await tick();
  assert.equal(r.invalidate.length, 4);
  assert.equal(r.invalidate[3].scope, 'all');
});

test('invalidate in a worker publishes in that worker', () => withWorker(async (worker) => {
  const o = opts(server);
  await worker.call('info', { options: o });
  await worker.call('messages');
  const r = record();
  assert.equal(await worker.call('invalidate', { options: o }), true);
  const seen = await worker.call('messages');
  assert.deepEqual(seen, [{ channel: INVALIDATE, message: { tokenUrl: server.url, clientId: o.clientId, scope: 'entry' } }]);
  await tick();
  assert.deepEqual(r.all, []);
}));

// ---- nothing secret ----

/** A port nothing listens on. */
/** Runs each [respond, options] twice through a client, invalidates it; returns the recorder. */
async function publishFrom(calls) {
  const r = record();
  for (const [answer, o] of calls) {
    respond = answer;
    const client = new m2m.TokenClient(o);
    await client.getToken().catch(() => {});
    await client.getToken().catch(() => {});
    client.invalidate();
  }
  m2m.clearCache();
  await waitFor(() => r.end.length >= calls.length, 'every fetch:end');
  return r;
}

/** No message, as JSON or util.inspect, contains any of `forbidden`. */
function assertNoneShown(messages, forbidden) {
  for (const message of messages) {
    for (const text of [JSON.stringify(message), util.inspect(message, { showHidden: true, depth: Infinity })]) {
      for (const bad of forbidden) assert.ok(!text.includes(bad), `"${bad.slice(0, 20)}…" in a message: ${text.slice(0, 500)}`);
    }
  }
}

test('no message carries a client secret, private key, access token or proxy password', async () => {
  const secret = `S3cr+t/=&%-${crypto.randomBytes(8).toString('hex')}`;
  const proxyPassword = `pr:xy@pw-${crypto.randomBytes(6).toString('hex')}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  const keyLines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const proxy = await startForwardProxy({ auth: { username: 'u', password: proxyPassword } });
  // A careless server echoes what it received into its error description.
  const careless = (ctx) => ({ status: 401, body: { error: 'invalid_client', error_description: `bad ${ctx.rawBody} ${ctx.headers.authorization}` } });
  const quota = { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=10;r=7;t=3540' };
  const basicClients = [opts(server, { clientSecret: secret, authMethod: 'client_secret_basic' }), opts(server, { clientSecret: secret, authMethod: 'client_secret_basic' })];
  let r;
  try {
    r = await publishFrom([
      [undefined, opts(server, { clientSecret: secret })],
      [undefined, basicClients[0]],
      [careless, opts(server, { clientSecret: secret })],
      [careless, basicClients[1]],
      [undefined, opts(server, { clientSecret: undefined, privateKey: pem, keyId: 'k1' })],
      [careless, opts(server, { clientSecret: undefined, privateKey: pem })],
      [(ctx) => ({ ...ctx.defaultResponse(), headers: quota }), opts(server, { clientSecret: secret, proxy: proxy.urlWith('u', proxyPassword) })],
      [undefined, opts(server, { clientSecret: secret, proxy: proxy.urlWith('u', `${proxyPassword}-wrong`) })],
    ]);
  } finally {
    await proxy.close();
  }
  assert.ok(r.end.some((m) => m.error), 'some fetches failed');
  assert.ok(proxy.count >= 2, 'the proxy was used');
  assert.ok(server.issued.length >= 3);

  // The Basic credential as RFC 6749 §2.3.1 builds it, whichever form-encoding flavour.
  const basics = basicClients.flatMap(({ clientId }) => [encodeURIComponent, formEncode]
    .map((enc) => Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')));
  assertNoneShown(r.all, [
    secret,
    encodeURIComponent(secret),
    formEncode(secret),
    ...basics,
    pem.trim(),
    keyLines.join(''),
    keyLines[3],
    keyLines[keyLines.length - 2],
    proxyPassword,
    encodeURIComponent(proxyPassword),
    ...server.issued,
  ]);
});

test('no message carries a store password', async () => {
  const storePassword = `st0re-pw-${crypto.randomBytes(6).toString('hex')}`;
  // An unreachable store never fails a call: the token comes from the endpoint.
  const r = await publishFrom([[undefined, opts(server, { store: `redis://user:${storePassword}@127.0.0.1:${await freePort()}` })]]);
  assert.ok(r.end.some((m) => m.expiresAt !== undefined), 'the token was fetched');
  assertNoneShown(r.all, [storePassword, ...server.issued]);
});

// ---- no subscriber ----

test('with no subscriber nothing is published, calls work, and nothing arrives late', async () => {
  for (const name of [START, END, INVALIDATE]) assert.equal(diagnostics.channel(name).hasSubscribers, false, name);
  const o = opts(server);
  const info = await m2m.getTokenInfo(o);
  assert.equal(info.accessToken, server.issued[0]);
  assert.equal(m2m.invalidate(o), true);
  respond = () => ({ status: 500, body: 'down' });
  await assert.rejects(m2m.getToken(opts(server)), { code: 'ERR_HTTP_STATUS' });
  const r = record();
  assert.deepEqual((await beforeProbe(r)).all, []);
});

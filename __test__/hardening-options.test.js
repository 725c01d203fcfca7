'use strict';

// Careless options: options are read from the object's own properties only.
// A polluted Object.prototype (any option key, or a key inside extraParams)
// is never used; an extraParams key `__proto__` (as JSON.parse makes) is
// sent like any other; a throwing getter or a revoked Proxy is a TokenError
// ERR_INVALID_OPTIONS whose `cause` is the original exception. Each case is
// tried through every entry point: new TokenClient, getToken (promise and
// callback), getTokenInfo and invalidate(options).

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');
const { viaCallback } = require('./helpers/callbacks');
const { withPolluted } = require('./helpers/pollution');

const SECRET = 'opt-secret-Zq7';

let server;
before(async () => { server = await startTokenServer({ respond: respondFailing }); });
after(async () => { m2m.clearCache(); await server.close(); });
beforeEach(() => { m2m.clearCache(); server.reset(); });

// /fail answers 500, so a polluted `retries` would show in the attempt count.
function respondFailing(ctx) {
  if (ctx.path === '/fail') return { status: 500, body: 'unavailable' };
  return undefined;
}

const base = clientOptions('opt', { clientSecret: SECRET });

/** The form fields of a request as sent: from the raw body, so nothing inherited shows up. */
const sentForm = (request) => new URLSearchParams(request.rawBody);

/** Every way to ask for a token with these options; each resolves with the access token. */
const callStyles = {
  'new TokenClient().getToken()': (o) => new m2m.TokenClient(o).getToken(),
  'getToken(options)': (o) => m2m.getToken(o),
  'getToken(options, callback)': (o) => viaCallback((cb) => m2m.getToken(o, cb)),
  'getTokenInfo(options)': (o) => m2m.getTokenInfo(o).then((info) => info.accessToken),
  'getTokenInfo(options, callback)': (o) => viaCallback((cb) => m2m.getTokenInfo(o, cb)).then((i) => i.accessToken),
};

/** Runs `fn` while Object.prototype[key] = value (enumerable, as an assignment makes it). */
// Each polluted key with a value that would show if it were used.
const pollutions = [
  ['scope', 'polluted:scope', (r) => assert.equal(sentForm(r).has('scope'), false, 'scope was sent')],
  ['audience', 'https://polluted/', (r) => assert.equal(sentForm(r).has('audience'), false, 'audience was sent')],
  ['extraParams', { resource: 'polluted' }, (r) => assert.equal(sentForm(r).has('resource'), false, 'extraParams were sent')],
  ['authMethod', 'client_secret_basic', (r) => {
    assert.equal(r.headers.authorization, undefined, 'Basic auth was used');
    assert.equal(sentForm(r).get('client_secret'), SECRET);
  }],
  ['ca', 'not a certificate', () => {}], // would be ERR_INVALID_OPTIONS if used
  ['leewaySeconds', 1e7, () => {}], // would refuse the 3600 s token if used
  ['timeoutMs', 0, () => {}], // would be ERR_INVALID_OPTIONS if used
  ['keyId', 'polluted-kid', () => {}],
  ['signingAlgorithm', 'HS256', () => {}],
  ['store', 'not-a-store', () => {}], // would be ERR_INVALID_OPTIONS if used
  ['proxy', 'http://127.0.0.1:1', () => {}], // would be ERR_NETWORK if used
];

for (const [key, value, checkRequest] of pollutions) {
  test(`a polluted Object.prototype.${key} is never used, by any entry point`, async () => {
    await withPolluted(key, value, async () => {
      for (const [style, call] of Object.entries(callStyles)) {
        server.reset();
        const token = await call(base(server)).catch((err) => assert.fail(`${style}: ${err.code} ${err.message}`));
        assert.equal(server.count, 1, style);
        assert.equal(token, server.issued[0], style);
        checkRequest(server.requests[0]);
      }
    });
  });
}

test('a polluted Object.prototype.tokenUrl / clientSecret / clientId never completes missing options', async () => {
  const { tokenUrl, clientSecret, clientId } = base(server);
  const cases = [
    ['tokenUrl', server.url, { clientId, clientSecret }],
    ['clientSecret', SECRET, { tokenUrl, clientId }],
    ['clientId', clientId, { tokenUrl, clientSecret }],
    ['domain', server.host, { clientId, clientSecret }],
  ];
  for (const [key, value, options] of cases) {
    await withPolluted(key, value, async () => {
      assert.throws(() => new m2m.TokenClient(options), { code: 'ERR_INVALID_OPTIONS' }, `new TokenClient, ${key}`);
      for (const [style, call] of Object.entries(callStyles).slice(1)) {
        await assert.rejects(call({ ...options }), { code: 'ERR_INVALID_OPTIONS' }, `${style}, ${key}`);
      }
      assert.throws(() => m2m.invalidate({ ...options }), { code: 'ERR_INVALID_OPTIONS' }, `invalidate, ${key}`);
    });
  }
  assert.equal(server.count, 0);
});

test('a polluted Object.prototype.retries is not used: the default of 2 retries holds', async () => {
  await withPolluted('retries', 0, async () => {
    const err = await m2m.getToken(base(server, { tokenUrl: `${server.origin}/fail` })).then(() => assert.fail('resolved'), (e) => e);
    assert.equal(err.code, 'ERR_HTTP_STATUS');
  });
  assert.equal(server.count, 3);
});

test('a polluted key inside extraParams is never sent (only own enumerable keys are)', async () => {
  await withPolluted('organization', 'org_polluted', async () => {
    for (const [style, call] of Object.entries(callStyles)) {
      server.reset();
      await call(base(server, { extraParams: { resource: 'own' } }));
      const form = sentForm(server.requests[0]);
      assert.equal(form.get('resource'), 'own', style);
      assert.equal(form.has('organization'), false, `${style}: inherited extraParams key was sent`);
    }
  });
});

test('invalidate(options) with a polluted prototype names the same entry as without it', async () => {
  const options = base(server);
  await m2m.getToken(options);
  await withPolluted('scope', 'polluted:scope', async () => {
    assert.equal(m2m.invalidate({ ...options }), true, 'the entry of these options was not the one dropped');
  });
  await m2m.getToken(options);
  assert.equal(server.count, 2);
});

test('the memo of getToken(options) never hands the client of other options because of pollution', async () => {
  // A client with scope A is memoized; then options without a scope, while
  // Object.prototype.scope is A: they must get their own (scope-less) entry.
  const options = base(server);
  await m2m.getToken({ ...options, scope: 'read:a' });
  await withPolluted('scope', 'read:a', async () => {
    await m2m.getToken({ ...options });
  });
  assert.equal(server.count, 2, 'options without a scope reused the scoped client');
  assert.equal(sentForm(server.requests[1]).has('scope'), false);
});

test('an extraParams key __proto__ (as JSON.parse makes) is sent, by every entry point', async () => {
  for (const [style, call] of Object.entries(callStyles)) {
    server.reset();
    const extraParams = JSON.parse('{"__proto__":"proto-value","organization":"org_1"}');
    await call(base(server, { extraParams }));
    const form = sentForm(server.requests[0]);
    assert.equal(form.get('organization'), 'org_1', style);
    assert.equal(form.get('__proto__'), 'proto-value', `${style}: the __proto__ param was dropped`);
  }
});

test('extraParams with and without a __proto__ key are different entries', async () => {
  const options = base(server);
  const a = await m2m.getToken({ ...options, extraParams: { organization: 'o' } });
  const b = await m2m.getToken({ ...options, extraParams: JSON.parse('{"organization":"o","__proto__":"p"}') });
  assert.notEqual(a, b);
  assert.equal(server.count, 2);
});

/** Options whose reading throws, each with the exception it throws. */
function throwingOptionCases() {
  const cases = [];
  for (const key of ['scope', 'clientId', 'clientSecret', 'tokenUrl', 'extraParams']) {
    const thrown = new Error(`getter of ${key} failed`);
    const options = base(server);
    delete options[key];
    Object.defineProperty(options, key, { enumerable: true, get() { throw thrown; } });
    cases.push({ name: `a getter of ${key} that throws`, options, thrown, names: key });
  }
  {
    const thrown = new RangeError('param getter failed');
    const extraParams = {};
    Object.defineProperty(extraParams, 'organization', { enumerable: true, get() { throw thrown; } });
    cases.push({ name: 'a getter inside extraParams that throws', options: base(server, { extraParams }), thrown, names: 'extraParams' });
  }
  {
    const { proxy, revoke } = Proxy.revocable(base(server), {});
    revoke();
    cases.push({ name: 'a revoked Proxy', options: proxy, thrown: TypeError });
  }
  {
    const thrown = new Error('trap failed');
    const options = new Proxy(base(server), { get() { throw thrown; }, getOwnPropertyDescriptor() { throw thrown; } });
    cases.push({ name: 'a Proxy whose traps throw', options, thrown });
  }
  assert.equal(cases.length, THROWING_CASES);
  return cases;
}

/** The TokenError the contract asks for, with the original exception as cause. */
function checkInvalid(err, { thrown, names }, where) {
  assert.equal(err?.name, 'TokenError', `${where}: got ${err?.name}: ${err?.message}`);
  assert.ok(err instanceof m2m.TokenError, where);
  assert.equal(err.code, 'ERR_INVALID_OPTIONS', where);
  if (typeof thrown === 'function') assert.ok(err.cause instanceof thrown, `${where}: cause`);
  else assert.equal(err.cause, thrown, `${where}: cause`);
  if (names) assert.match(err.message, new RegExp(names), `${where}: the message should name the option`);
  assert.ok(!err.message.includes(SECRET), where);
  return true;
}

// Built inside each test: the options need the server's URL.
const THROWING_CASES = 8;
for (let i = 0; i < THROWING_CASES; i++) {
  test(`throwing options #${i + 1}: ERR_INVALID_OPTIONS with the original as cause, from every entry point`, async (t) => {
    const c = throwingOptionCases()[i];
    t.diagnostic(c.name);
    let thrownSync;
    try {
      new m2m.TokenClient(c.options); // eslint-disable-line no-new
    } catch (err) {
      thrownSync = err;
    }
    checkInvalid(thrownSync, c, 'new TokenClient');

    for (const [style, call] of Object.entries(callStyles).slice(1)) {
      const err = await call(c.options).then(() => assert.fail(`${style} resolved`), (e) => e);
      checkInvalid(err, c, style);
    }

    let fromInvalidate;
    try {
      m2m.invalidate(c.options);
    } catch (err) {
      fromInvalidate = err;
    }
    checkInvalid(fromInvalidate, c, 'invalidate(options)');
    assert.equal(server.count, 0);
  });
}

test('a callback with throwing options is called once, asynchronously, with the TokenError', async () => {
  const [c] = throwingOptionCases();
  let calls = 0;
  let sync = true;
  const err = await new Promise((resolve) => {
    m2m.getToken(c.options, (e) => { calls++; assert.equal(sync, false); resolve(e); });
    sync = false;
  });
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 1);
  checkInvalid(err, c, 'callback');
});

test('an own getter is read (own accessors are own properties)', async () => {
  const options = base(server);
  const scope = 'read:getter';
  Object.defineProperty(options, 'scope', { enumerable: true, get: () => scope });
  await m2m.getToken(options);
  assert.equal(sentForm(server.requests[0]).get('scope'), scope);
});

test('store and proxy: type checks (proxy may be a string or false, never true)', async () => {
  for (const bad of [{ proxy: true }, { proxy: 1 }, { proxy: {} }, { store: 1 }, { store: false }, { store: {} }]) {
    assert.throws(() => new m2m.TokenClient(base(server, bad)), { code: 'ERR_INVALID_OPTIONS' }, JSON.stringify(bad));
    await assert.rejects(m2m.getToken(base(server, bad)), { code: 'ERR_INVALID_OPTIONS' }, JSON.stringify(bad));
  }
  // proxy: false ignores the environment; store 'memory' is the default.
  const token = await m2m.getToken(base(server, { proxy: false, store: 'memory' }));
  assert.equal(token, server.issued[0]);
});

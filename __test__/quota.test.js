'use strict';

// Auth0's quota headers (api.md TokenInfo `quota`, TokenError `quota`):
// `Auth0-Client-Quota-Limit` and `Auth0-Organization-Quota-Limit` on a token
// answer become `quota` in TokenInfo, and stay with the token while it is
// cached; on a 429 they are on the TokenError. A malformed or hostile header
// never fails a call and never yields NaN: the bucket is left out.

const { test, before, after, beforeEach } = require('node:test');
const assert = require('node:assert/strict');

const m2m = require('..');
const { startTokenServer } = require('./helpers/token-server');
const { clientOptions } = require('./helpers/options');

const CLIENT_HEADER = 'b=per_hour;q=10;r=7;t=3540,b=per_day;q=50;r=47;t=43200';
const ORGANIZATION_HEADER = 'b=per_hour;q=100;r=90;t=1800,b=per_day;q=1000;r=999;t=80000';
const CLIENT_QUOTA = {
  perHour: { quota: 10, remaining: 7, resetAfter: 3540 },
  perDay: { quota: 50, remaining: 47, resetAfter: 43200 },
};
const ORGANIZATION_QUOTA = {
  perHour: { quota: 100, remaining: 90, resetAfter: 1800 },
  perDay: { quota: 1000, remaining: 999, resetAfter: 80000 },
};

let server;
// Headers the next answers carry, and their status (200 by default).
let answer;

before(async () => {
  server = await startTokenServer({
    respond: (ctx) => {
      const headers = answer.headers;
      if (answer.status === 429) {
        return { status: 429, headers, body: { error: 'too_many_requests', error_description: 'Quota exceeded' } };
      }
      return { ...ctx.defaultResponse(), headers };
    },
  });
});

after(async () => {
  m2m.clearCache();
  await server.close();
});

beforeEach(() => {
  server.reset();
  answer = { headers: {} };
});

const opts = clientOptions('quota', { retries: 0 });

/** Every number a finite, exact, non-negative integer; only the contract's keys. */
function assertWellFormed(quota) {
  assert.equal(typeof quota, 'object');
  assert.ok(Object.keys(quota).length > 0, 'an empty quota object is left out');
  for (const [owner, buckets] of Object.entries(quota)) {
    assert.ok(['client', 'organization'].includes(owner), `unexpected key ${owner}`);
    assert.ok(Object.keys(buckets).length > 0, `${owner}: empty buckets are left out`);
    for (const [kind, bucket] of Object.entries(buckets)) {
      assert.ok(['perHour', 'perDay'].includes(kind), `unexpected bucket ${kind}`);
      assert.deepEqual(Object.keys(bucket).sort(), ['quota', 'remaining', 'resetAfter']);
      for (const [field, value] of Object.entries(bucket)) {
        assert.ok(Number.isSafeInteger(value) && value >= 0, `${owner}.${kind}.${field} = ${value}`);
      }
    }
  }
}

test('both headers: quota.client and quota.organization, per hour and per day', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': CLIENT_HEADER, 'Auth0-Organization-Quota-Limit': ORGANIZATION_HEADER };
  const info = await m2m.getTokenInfo(opts(server));
  assert.equal(info.fromCache, false);
  assert.deepEqual(info.quota, { client: CLIENT_QUOTA, organization: ORGANIZATION_QUOTA });
});

test('header names are case-insensitive', async () => {
  answer.headers = { 'AUTH0-CLIENT-QUOTA-LIMIT': CLIENT_HEADER };
  const info = await m2m.getTokenInfo(opts(server));
  assert.deepEqual(info.quota, { client: CLIENT_QUOTA });
});

test('a cached hit reports the quota that came with its token, on every call form', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': CLIENT_HEADER, 'Auth0-Organization-Quota-Limit': ORGANIZATION_HEADER };
  const o = opts(server);
  const expected = { client: CLIENT_QUOTA, organization: ORGANIZATION_QUOTA };
  await m2m.getTokenInfo(o);
  // Later answers would carry other figures: a hit must not pick them up.
  answer.headers = { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=10;r=1;t=5' };
  const viaOptions = await m2m.getTokenInfo(o);
  assert.equal(viaOptions.fromCache, true);
  assert.deepEqual(viaOptions.quota, expected);
  const viaCallback = await new Promise((resolve, reject) => m2m.getTokenInfo(o, (err, info) => (err ? reject(err) : resolve(info))));
  assert.deepEqual(viaCallback.quota, expected);
  const client = new m2m.TokenClient(o);
  for (let i = 0; i < 3; i++) {
    const hit = await client.getTokenInfo(); // the first from the shared cache, then this thread's view
    assert.equal(hit.fromCache, true);
    assert.deepEqual(hit.quota, expected);
  }
  assert.equal(server.count, 1);
});

test('100 concurrent callers of one fetch all see the quota', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': CLIENT_HEADER };
  const o = opts(server);
  const infos = await Promise.all(Array.from({ length: 100 }, () => m2m.getTokenInfo(o)));
  assert.equal(server.count, 1);
  for (const info of infos) assert.deepEqual(info.quota, { client: CLIENT_QUOTA });
});

test('no headers: no quota key', async () => {
  const o = opts(server);
  const info = await m2m.getTokenInfo(o);
  assert.equal('quota' in info, false);
  assert.equal('quota' in (await m2m.getTokenInfo(o)), false, 'nor on a hit');
  assert.equal('quota' in (await new m2m.TokenClient(o).getTokenInfo()), false);
});

test('the quota belongs to the token: a new token without headers has none, a new one with headers has its own', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': CLIENT_HEADER };
  const client = new m2m.TokenClient(opts(server));
  assert.deepEqual((await client.getTokenInfo()).quota, { client: CLIENT_QUOTA });
  assert.equal(client.invalidate(), true);
  answer.headers = {};
  const second = await client.getTokenInfo();
  assert.equal(second.fromCache, false);
  assert.equal('quota' in second, false);
  assert.equal('quota' in (await client.getTokenInfo()), false);
  assert.equal(client.invalidate(), true);
  answer.headers = { 'Auth0-Organization-Quota-Limit': 'b=per_day;q=5;r=0;t=60' };
  const third = await client.getTokenInfo();
  assert.deepEqual(third.quota, { organization: { perDay: { quota: 5, remaining: 0, resetAfter: 60 } } });
  assert.deepEqual((await client.getTokenInfo()).quota, third.quota);
  assert.equal(server.count, 3);
});

test('only the organization header: no client key', async () => {
  answer.headers = { 'Auth0-Organization-Quota-Limit': ORGANIZATION_HEADER };
  const info = await m2m.getTokenInfo(opts(server));
  assert.deepEqual(info.quota, { organization: ORGANIZATION_QUOTA });
});

test('one bucket only: the other key is left out', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': 'b=per_day;q=50;r=0;t=43200' };
  const info = await m2m.getTokenInfo(opts(server));
  assert.deepEqual(info.quota, { client: { perDay: { quota: 50, remaining: 0, resetAfter: 43200 } } });
});

test('429 with the headers: TokenError carries the quota (and retryAfter)', async () => {
  answer = {
    status: 429,
    headers: { 'retry-after': '7', 'Auth0-Client-Quota-Limit': 'b=per_hour;q=10;r=0;t=7,b=per_day;q=50;r=40;t=43200', 'Auth0-Organization-Quota-Limit': ORGANIZATION_HEADER },
  };
  await assert.rejects(m2m.getTokenInfo(opts(server)), (err) => {
    assert.ok(err instanceof m2m.TokenError);
    assert.equal(err.code, 'ERR_RATE_LIMITED');
    assert.equal(err.status, 429);
    assert.equal(err.retryAfter, 7);
    assert.deepEqual(err.quota, {
      client: { perHour: { quota: 10, remaining: 0, resetAfter: 7 }, perDay: { quota: 50, remaining: 40, resetAfter: 43200 } },
      organization: ORGANIZATION_QUOTA,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(err)).quota, err.quota, 'the quota is in the JSON of the error');
    return true;
  });
});

test('429 after retries: the quota of the last answer', async () => {
  // No Retry-After, so the retry comes after the module's own short back-off.
  answer = { status: 429, headers: { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=10;r=0;t=1' } };
  await assert.rejects(m2m.getToken(opts(server, { retries: 1 })), (err) => {
    assert.equal(err.code, 'ERR_RATE_LIMITED');
    assert.deepEqual(err.quota, { client: { perHour: { quota: 10, remaining: 0, resetAfter: 1 } } });
    return true;
  });
  assert.equal(server.count, 2, 'two attempts');
});

test('errors without the headers have no quota key', async () => {
  answer = { status: 429, headers: {} };
  await assert.rejects(m2m.getToken(opts(server)), (err) => {
    assert.equal(err.code, 'ERR_RATE_LIMITED');
    assert.equal('quota' in err, false);
    return true;
  });
});

// [header, the client buckets expected, or undefined for "no client key";
//  null means any well-formed answer (the contract leaves the pick open)].
const hostile = [
  ['b=per_hour;q=10;r=7', undefined], // a field missing
  ['b=per_hour;q=10;t=5', undefined],
  ['q=10;r=7;t=5', undefined], // no bucket name
  ['b=per_hour;q=10;r=-1;t=5', undefined], // negative
  ['b=per_hour;q=-0;r=1;t=5', null],
  ['b=per_hour;q=NaN;r=1;t=5', undefined],
  ['b=per_hour;q=Infinity;r=1;t=5', undefined],
  ['b=per_hour;q=0x10;r=1;t=5', undefined],
  ['b=per_hour;q=1e3;r=1;t=5', null],
  ['b=per_hour;q=1.5;r=1;t=5', null],
  ['b=per_hour;q=;r=1;t=5', undefined], // empty
  ['b=per_hour;q=99999999999999999999999;r=1;t=5', undefined], // beyond exact integers
  [`b=per_hour;q=${'9'.repeat(400)};r=1;t=5`, undefined],
  ['b=per_week;q=1;r=1;t=1', undefined], // unknown bucket
  ['b=__proto__;q=1;r=1;t=1', undefined],
  ['b=constructor;q=1;r=1;t=1', undefined],
  ['garbage', undefined],
  [';;;,,,===', undefined],
  ['b=;q=;r=;t=', undefined],
  ['b=per_hour;q=10;r=7;t=3540,b=per_day;q=x;r=1;t=1', { perHour: CLIENT_QUOTA.perHour }], // one good, one bad
  ['b=per_week;q=1;r=1;t=1,b=per_day;q=50;r=47;t=43200', { perDay: CLIENT_QUOTA.perDay }],
  ['b=per_hour;q=1;r=1;t=1,b=per_hour;q=2;r=2;t=2', null], // a bucket twice
  ['b=per_hour;q=1;q=2;r=1;t=1', null], // a field twice
  ['b=per_hour;b=per_day;q=1;r=1;t=1', null], // a name twice
  ['b=per_hour;q=10;r=7;t=3540;x=1', null], // an unknown field
  ['b=per_hour;q=\u00ff1;r=1;t=1', undefined], // obs-text bytes
  [`${'b=per_hour;q=1;r=1;t=1,'.repeat(700)}b=per_day;q=2;r=2;t=2`, null], // 16 KiB
];

for (const [header, expected] of hostile) {
  const label = header.length > 60 ? `${header.slice(0, 40)}… (${header.length} chars)` : header;
  test(`hostile Auth0-Client-Quota-Limit "${label}": the call succeeds, no NaN`, async () => {
    answer.headers = { 'Auth0-Client-Quota-Limit': header, 'Auth0-Organization-Quota-Limit': 'b=per_day;q=5;r=4;t=3' };
    const o = opts(server);
    const info = await m2m.getTokenInfo(o);
    assert.equal(info.accessToken, server.issued[0]);
    assertWellFormed(info.quota);
    // The valid organization header next to it is kept.
    assert.deepEqual(info.quota.organization, { perDay: { quota: 5, remaining: 4, resetAfter: 3 } });
    if (expected === undefined) assert.equal('client' in info.quota, false, JSON.stringify(info.quota));
    else if (expected !== null) assert.deepEqual(info.quota.client, expected);
    const hit = await m2m.getTokenInfo(o);
    assert.deepEqual(hit.quota, info.quota);
  });
}

test('hostile headers alone: no quota key at all', async () => {
  answer.headers = { 'Auth0-Client-Quota-Limit': 'garbage', 'Auth0-Organization-Quota-Limit': 'b=per_hour;q=NaN;r=1;t=1' };
  const info = await m2m.getTokenInfo(opts(server));
  assert.equal(info.accessToken, server.issued[0]);
  assert.equal('quota' in info, false, JSON.stringify(info.quota));
});

test('a hostile header on a 429 never hides the error', async () => {
  answer = { status: 429, headers: { 'Auth0-Client-Quota-Limit': 'b=per_hour;q=NaN;r=;t=-1' } };
  await assert.rejects(m2m.getToken(opts(server)), (err) => {
    assert.equal(err.code, 'ERR_RATE_LIMITED');
    assert.equal('quota' in err, false);
    return true;
  });
});

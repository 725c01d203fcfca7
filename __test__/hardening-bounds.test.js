'use strict';

// Guarantee 9, bounded: at most 10,000 cache entries, and an entry the bound
// drops is dropped for good (eviction is an invalidation too: no thread's
// view of it keeps serving its token). The bound holds while entries wait
// on requests, and every caller still gets an answer. HTTP clients are
// shared and bounded: RSS stays flat over 1,600 distinct `ca` strings.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { execFile } = require('node:child_process');

const m2m = require('..');
const { startTokenServer, uid } = require('./helpers/token-server');

const MAX_ENTRIES = 10000;

let server;
before(async () => {
  server = await startTokenServer({
    respond: (ctx) => {
      // /slow429: every attempt is rate limited with a short Retry-After, so
      // each entry spends a while waiting.
      if (ctx.path === '/hang') return { hang: true };
      if (ctx.path === '/slow429') return { status: 429, headers: { 'retry-after': '2' }, body: { error: 'too_many_requests' } };
      return undefined;
    },
  });
});
after(async () => { m2m.clearCache(); await server.close(); });

/** Makes `count` calls for distinct client ids, `concurrency` at a time; resolves with their outcomes. */
async function fill(count, makeOptions, concurrency = 200, onBatch = () => {}) {
  const outcomes = [];
  for (let at = 0; at < count; at += concurrency) {
    const batch = [];
    for (let i = at; i < Math.min(count, at + concurrency); i++) {
      batch.push(m2m.getToken(makeOptions(i)).then((value) => ({ value }), (err) => ({ err })));
    }
    outcomes.push(...await Promise.all(batch));
    onBatch();
  }
  return outcomes;
}

test('entries evicted by the bound are no longer served from any client\'s view', { timeout: 120000 }, async () => {
  m2m.clearCache();
  // 10,000 entries, each fetched through a client that keeps its view.
  const prefix = uid('holder');
  const optionsOf = (i) => ({ tokenUrl: server.url, clientId: `${prefix}-${i}`, clientSecret: 's' });
  const holders = [];
  const originals = [];
  for (let at = 0; at < MAX_ENTRIES; at += 200) {
    const batch = [];
    for (let i = at; i < Math.min(MAX_ENTRIES, at + 200); i++) {
      holders[i] = new m2m.TokenClient(optionsOf(i));
      batch.push(holders[i].getToken().then((token) => { originals[i] = token; }));
    }
    await Promise.all(batch);
  }
  assert.ok(m2m.stats().entries <= MAX_ENTRIES);

  // One more entry, whose request hangs: making room for it drops some
  // entry (which one is the module's choice) before any token lands.
  const newcomer = m2m.getToken({ tokenUrl: `${server.origin}/hang`, clientId: uid('newcomer'), clientSecret: 's', timeoutMs: 3000, retries: 0 })
    .then(() => 'token', (err) => err.code);
  await new Promise((resolve) => setTimeout(resolve, 50));

  // Every holder asks again. Right after each answer, invalidate() tells
  // whether its entry is there: a holder whose entry was dropped must have
  // fetched anew (which registers the entry again), so an entry that is
  // still missing means the holder was served from a view of a dropped
  // entry. Invalidating each checked entry also frees its place, so these
  // checks themselves never make the bound drop another holder.
  const requestsBefore = server.count;
  const stale = [];
  let gone = 0;
  for (let i = 0; i < MAX_ENTRIES; i++) {
    const served = await holders[i].getToken();
    if (m2m.invalidate(optionsOf(i))) continue;
    gone++;
    if (served === originals[i]) stale.push(i);
  }
  assert.ok(server.count > requestsBefore, 'the holder whose entry made room fetched anew');
  assert.equal(stale.length, 0, `${stale.length} entries dropped by the bound were still served from a view (${gone} gone)`);
  assert.ok(typeof await newcomer === 'string');
});

test('an entry evicted by the bound, then invalidated, is no longer served from any client\'s view', { timeout: 120000 }, async () => {
  m2m.clearCache();
  const victim = { tokenUrl: server.url, clientId: uid('victim'), clientSecret: 's' };
  const holderA = new m2m.TokenClient(victim);
  const holderB = new m2m.TokenClient(victim);
  const dropped = await holderA.getToken();
  assert.equal(await holderB.getToken(), dropped); // both now hold a view of the entry

  const prefix = uid('filler');
  let peak = 0;
  const outcomes = await fill(MAX_ENTRIES + 50, (i) => ({ tokenUrl: server.url, clientId: `${prefix}-${i}`, clientSecret: 's' }),
    200, () => { peak = Math.max(peak, m2m.stats().entries); });
  assert.equal(outcomes.filter((o) => o.err).length, 0);
  assert.ok(peak <= MAX_ENTRIES, `entries reached ${peak}`);

  // Evicted or not, after invalidate() no view may serve the dropped token.
  assert.equal(typeof holderA.invalidate(), 'boolean');
  const fromB = await holderB.getToken();
  assert.notEqual(fromB, dropped, 'a view was still served after invalidate()');
  assert.equal(await holderA.getToken(), fromB);
});

test('11,000 entries each waiting out a 429: entries never exceed 10,000, every caller gets an answer', { timeout: 120000 }, async () => {
  m2m.clearCache();
  const prefix = uid('storm');
  const url = `${server.origin}/slow429`;
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, m2m.stats().entries); }, 5);
  const calls = [];
  try {
    // Started in batches (so connections stay few), all within about a
    // second, so every entry is waiting on its Retry-After at once.
    for (let at = 0; at < 11000; at += 500) {
      for (let i = at; i < at + 500; i++) {
        calls.push(m2m.getToken({ tokenUrl: url, clientId: `${prefix}-${i}`, clientSecret: 's', retries: 1 })
          .then(() => 'token', (err) => err.code));
      }
      peak = Math.max(peak, m2m.stats().entries);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const outcomes = await Promise.all(calls);
    peak = Math.max(peak, m2m.stats().entries);
    assert.equal(outcomes.length, 11000);
    assert.ok(outcomes.every((o) => typeof o === 'string'), 'a caller got no answer');
    const codes = {};
    for (const o of outcomes) codes[o] = (codes[o] ?? 0) + 1;
    assert.ok(Object.keys(codes).every((c) => c === 'token' || c.startsWith('ERR_')), JSON.stringify(codes));
  } finally {
    clearInterval(sampler);
  }
  assert.ok(peak <= MAX_ENTRIES, `entries reached ${peak} while waiting`);
  assert.ok(m2m.stats().entries <= MAX_ENTRIES);
});

test('1,600 distinct ca strings: RSS stays flat after warm-up (HTTP clients shared and bounded)', { timeout: 180000 }, async () => {
  const child = path.join(__dirname, 'fixtures-scripts', 'hardening-memory-child.js');
  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', child], { timeout: 170000, maxBuffer: 1 << 20 }, (err, out, errOut) => {
      if (err) reject(new Error(`child failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const { rss, cas, errors } = JSON.parse(stdout.trim().split('\n').pop());
  assert.equal(errors, 0);
  assert.ok(cas >= 1500, `only ${cas} distinct ca strings`);
  // Round 0 warms up (first TLS, allocator arenas); the last rounds may add
  // little over the first warm round however many distinct ca were used.
  const warm = rss[1];
  const last = Math.max(...rss.slice(-3));
  assert.ok(last - warm < 20, `RSS grew ${last - warm} MiB over ${cas} distinct ca strings: ${rss.join(', ')} MiB`);
});

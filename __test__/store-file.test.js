'use strict';

// The file store (`store: 'file:<dir>'`, `'file'`): one token per entry for
// every process of the machine, sealed files, invalidation across processes.
// Real forked processes against real files.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startTokenServer, expiringIn } = require('./helpers/token-server');
const { storeOptions, hex } = require('./helpers/options');
const { forkChild, withFleet: withServerAndFleet, runExitChild, tokensOf, needlesOf, leaksIn } = require('./helpers/fleet');

// A hung store or process fails its test instead of stalling the run.
const limits = { timeout: 30000 };
const INVALIDATION_BOUND_MS = 1000 + 300; // "within a second", plus IPC and scheduling
const EXIT_BOUND_MS = 2000;


/** A temp dir; the store goes in a subfolder the module must create itself. */
function tempStore() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-file-store-'));
  const dir = path.join(root, 'store');
  return { root, dir, store: `file:${dir}`, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

const optionsFor = storeOptions('file');

const filesIn = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).map((name) => {
  const full = path.join(dir, name);
  const st = fs.statSync(full);
  return { name, full, mode: st.mode & 0o777, size: st.size, isFile: st.isFile() };
}) : []);

/** The files holding a record (a lock file, if the store keeps one, is empty). */
const recordFiles = (dir) => filesIn(dir).filter((f) => f.isFile && f.size > 0);

/** Runs `fn(ctx)` with a token server, a store dir and a fleet; cleans all up. */
/** As helpers/fleet withFleet, with a temp store folder too: `fn({ server, tmp, fleet })`. */
async function withFleet(opts, fn) {
  const tmp = tempStore();
  try {
    return await withServerAndFleet(opts, (ctx) => fn({ ...ctx, tmp }));
  } finally {
    tmp.remove();
  }
}

test('4 processes × 5 cold callers at once: one token request; a later process takes the token from the store', limits, () =>
  withFleet({ processes: 4, server: { delayMs: 400 } }, async ({ server, tmp, fleet }) => {
    const options = optionsFor(server, tmp.store);
    const results = await fleet.all('info', { options, n: 5 });
    assert.equal(server.count, 1, 'one token request for the whole machine');
    assert.deepEqual(tokensOf(results), [server.issued[0]]);
    const requesters = results.filter((r) => r.stats.requests > 0);
    assert.equal(requesters.length, 1, 'exactly one process sent the request');
    for (const r of results.filter((x) => x.stats.requests === 0)) {
      assert.ok(r.stats.storeHits >= 1, `a waiting process took the token from the store (stats ${JSON.stringify(r.stats)})`);
    }

    const late = await forkChild();
    try {
      const r = await late.call('info', { options });
      assert.deepEqual(tokensOf(r), [server.issued[0]]);
      assert.equal(r.stats.requests, 0);
      assert.equal(r.stats.storeHits, 1);
      assert.equal(r.stats.storeErrors, 0);
      assert.equal(server.count, 1);
    } finally {
      await late.kill();
    }
  }));

test('folder 0700, files 0600, one record file per entry; no name or byte holds the id, audience, scope, secret, URL or token', limits, () =>
  withFleet({ processes: 1 }, async ({ server, tmp, fleet }) => {
    const a = optionsFor(server, tmp.store, { audience: `https://api.example.test/aud-${hex()}`, scope: `read:fleet-${hex()} write:fleet-${hex()}` });
    const b = optionsFor(server, tmp.store, { extraParams: { organization: `org_${hex()}` } });
    tokensOf(await fleet[0].call('info', { options: a }));
    tokensOf(await fleet[0].call('info', { options: b }));
    assert.equal(server.count, 2);

    assert.equal(fs.statSync(tmp.dir).mode & 0o777, 0o700, 'folder mode');
    const files = filesIn(tmp.dir);
    assert.equal(recordFiles(tmp.dir).length, 2, `one record file per entry (files: ${files.map((f) => f.name)})`);
    // per entry: the record, the fleet lock and the record lock
    assert.ok(files.length <= 6, `no temp files left behind (files: ${files.map((f) => f.name)})`);
    const needles = [...needlesOf(a, server.issued), ...needlesOf(b), ['organization', b.extraParams.organization]];
    for (const f of files) {
      assert.ok(f.isFile, `${f.name} is a regular file`);
      assert.equal(f.mode, 0o600, `${f.name} mode`);
      assert.deepEqual(leaksIn(Buffer.from(f.name), needles), [], `file name ${f.name}`);
      assert.deepEqual(leaksIn(fs.readFileSync(f.full), needles), [], `bytes of ${f.name}`);
    }
  }));

const corruptions = {
  truncated: (bytes) => bytes.subarray(0, Math.floor(bytes.length / 2)),
  'random bytes': (bytes) => crypto.randomBytes(bytes.length),
  'valid-looking JSON': () => Buffer.from(JSON.stringify({
    version: 1, access_token: 'forged-token', accessToken: 'forged-token', token_type: 'Bearer', tokenType: 'Bearer',
    expires_at: Date.now() + 3600e3, expiresAt: Date.now() + 3600e3, obtainedAt: Date.now(),
  })),
  empty: () => Buffer.alloc(0),
};

for (const [kind, corrupt] of Object.entries(corruptions)) {
  test(`a ${kind} record file is ignored (storeErrors), never handed out, and replaced by the next fetch`, limits, () =>
    withFleet({ processes: 3 }, async ({ server, tmp, fleet }) => {
      const options = optionsFor(server, tmp.store);
      tokensOf(await fleet[0].call('info', { options }));
      const [record] = recordFiles(tmp.dir);
      assert.ok(record, 'the first process wrote a record');
      fs.writeFileSync(record.full, corrupt(fs.readFileSync(record.full)));

      const second = await fleet[1].call('info', { options });
      assert.deepEqual(tokensOf(second), [server.issued[1]], 'the second process fetched its own token');
      assert.equal(server.count, 2);
      assert.equal(second.stats.storeHits, 0);
      // An empty file may be read as "no record"; anything else did not authenticate.
      if (kind !== 'empty') assert.ok(second.stats.storeErrors >= 1, `counted in storeErrors (stats ${JSON.stringify(second.stats)})`);

      const third = await fleet[2].call('info', { options });
      assert.deepEqual(tokensOf(third), [server.issued[1]], 'the record was replaced by the second fetch');
      assert.equal(third.stats.storeHits, 1);
      assert.equal(third.stats.requests, 0);
      assert.equal(server.count, 2);
    }));
}

test("store: 'file' uses $XDG_CACHE_HOME/m2m-token; M2M_TOKEN_STORE sets the store with no option", limits, async () => {
  const server = await startTokenServer();
  const xdg = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-xdg-'));
  const envDir = path.join(xdg, 'from-env');
  try {
    const options = optionsFor(server, 'file');
    const first = await forkChild({ XDG_CACHE_HOME: xdg });
    const second = await forkChild({ XDG_CACHE_HOME: xdg });
    try {
      tokensOf(await first.call('info', { options }));
      const dir = path.join(xdg, 'm2m-token');
      assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
      assert.equal(recordFiles(dir).length, 1);
      const r = await second.call('info', { options });
      assert.deepEqual(tokensOf(r), [server.issued[0]]);
      assert.equal(r.stats.storeHits, 1);
    } finally {
      await first.kill();
      await second.kill();
    }

    const { store, ...noStore } = optionsFor(server, undefined);
    const viaEnv = await forkChild({ XDG_CACHE_HOME: xdg, M2M_TOKEN_STORE: `file:${envDir}` });
    try {
      tokensOf(await viaEnv.call('info', { options: noStore }));
      assert.equal(recordFiles(envDir).length, 1, 'M2M_TOKEN_STORE named the store');
    } finally {
      await viaEnv.kill();
    }
  } finally {
    await server.close();
    fs.rmSync(xdg, { recursive: true, force: true });
  }
});

test('invalidate() in one process removes the record; another process holding the token drops it within a second', limits, () =>
  withFleet({ processes: 3 }, async ({ server, tmp, fleet }) => {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server, tmp.store);
    const first = tokensOf(await p1.call('info', { options }));
    assert.deepEqual(tokensOf(await p2.call('info', { options })), first, 'p2 holds the same token');

    const inv = await p1.call('invalidate', { options });
    assert.equal(inv.value, true);
    const started = Date.now();
    const poll = await p2.call('pollUntilChange', { options, from: first[0], intervalMs: 20, timeoutMs: 3000 });
    const ms = Date.now() - started;
    assert.ok(poll.changed, 'p2 dropped the invalidated token (it kept handing it out for 3 s)');
    assert.ok(ms < INVALIDATION_BOUND_MS, `p2 dropped it after ${ms} ms`);
    // Had the record stayed, p2 would have taken the old token from it again.
    assert.equal(server.count, 2, 'p2 fetched a new token: the record was gone');
    assert.equal(poll.last.value.accessToken, server.issued[1]);

    const r3 = await p3.call('info', { options });
    assert.deepEqual(tokensOf(r3), [server.issued[1]]);
    assert.equal(r3.stats.storeHits, 1);
    const again = await p1.call('info', { options });
    assert.deepEqual(tokensOf(again), [server.issued[1]], 'the invalidating process is not handed the old token');
  }));

test('invalidate() with a stale token keeps the newer record another process wrote (compare-and-delete)', limits, () =>
  withFleet({
    processes: 3,
    // The first token expires in 60 s, later ones in an hour: a caller with a
    // 100 s leeway cannot use the first one and fetches a newer one, while
    // the first process (leeway 10 s) keeps its own in memory.
    server: { respond: (ctx) => (ctx.n === 1 ? expiringIn(ctx, 60) : undefined) },
  }, async ({ server, tmp, fleet }) => {
    const [p1, p2, p3] = fleet;
    const options = optionsFor(server, tmp.store, { leewaySeconds: 10 });
    const stale = tokensOf(await p1.call('info', { options }));
    const newer = tokensOf(await p2.call('info', { options: { ...options, leewaySeconds: 100 } }));
    assert.notDeepEqual(newer, stale);
    assert.equal(server.count, 2);

    const inv = await p1.call('invalidate', { options });
    assert.equal(inv.value, true, 'p1 dropped its own entry');
    const r3 = await p3.call('info', { options });
    assert.deepEqual(tokensOf(r3), newer, 'the newer record is still in the store');
    assert.equal(r3.stats.requests, 0);
    assert.equal(server.count, 2);
  }));

test('a script using a file store exits by itself right after its token', limits, async () => {
  const server = await startTokenServer();
  const tmp = tempStore();
  try {
    const r = await runExitChild(optionsFor(server, tmp.store));
    assert.equal(r.killed, false, 'the child hung');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.token, server.issued[0]);
    assert.ok(r.msAfterToken < EXIT_BOUND_MS, `exited ${r.msAfterToken} ms after its token`);
  } finally {
    await server.close();
    tmp.remove();
  }
});

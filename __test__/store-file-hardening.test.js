'use strict';

// The file store under a busy entry and in an unsafe folder:
// - an invalidation while another process holds the entry's lock for a
//   slow request takes effect in the store at once (Stores, promise 4): it
//   is not a store failure, costs no second request, and no process is
//   handed the invalidated token afterwards;
// - a folder others can write, or another user owns, is not used (calls go
//   on as with 'memory', storeErrors counts it), and no file in it is
//   opened through a symbolic link.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { startTokenServer, uid } = require('./helpers/token-server');
const { forkFleet, forkChild } = require('./helpers/fleet');
const { skipOrFail } = require('./helpers/skip');

const limits = { timeout: 30000 };
const SLOW_REQUEST_MS = 2500;
const INVALIDATION_BOUND_MS = 1200; // "within a second", plus scheduling

function tempRoot() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-file-hardening-'));
  return { root, remove: () => fs.rmSync(root, { recursive: true, force: true }) };
}

const only = (r) => {
  assert.equal(r.calls.length, 1);
  if (r.calls[0].error) throw new Error(`${r.calls[0].error.code}: ${r.calls[0].error.message}`);
  return r.calls[0].value;
};

test('an invalidation while another process holds the entry for a slow request takes effect in the store', limits, async () => {
  const { root, remove } = tempRoot();
  let slowStarted;
  const slowRequestArrived = new Promise((resolve) => { slowStarted = resolve; });
  // The first token lives 30 s; later ones an hour, sent slowly.
  const server = await startTokenServer({
    respond: (ctx) => {
      const r = ctx.defaultResponse();
      if (ctx.n === 1) return { ...r, body: { ...r.body, expires_in: 30 } };
      slowStarted();
      return { ...r, delayMs: SLOW_REQUEST_MS };
    },
  });
  const fleet = await forkFleet(2);
  let fresh;
  try {
    const options = { tokenUrl: server.url, clientId: uid('busy'), clientSecret: 'busy-secret', leewaySeconds: 0, store: `file:${path.join(root, 'store')}` };
    const [p1, p2] = fleet;
    const a = only(await p1.call('info', { options }));
    assert.equal(only(await p2.call('info', { options })).accessToken, a.accessToken, 'P2 took A from the store');
    // A is within P1's leeway: P1 holds the entry's lock for its slow request.
    const p1Refetch = p1.call('info', { options: { ...options, leewaySeconds: 60 } });
    await slowRequestArrived;
    const invalidated = await p2.call('invalidate', { options });
    assert.equal(invalidated.value, true);
    const invalidatedAt = Date.now();
    // The store forgets A within the bound, whatever P1 is doing.
    fresh = await forkChild();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, invalidatedAt + INVALIDATION_BOUND_MS - Date.now())));
    const freshAnswer = only(await fresh.call('info', { options }));
    assert.notEqual(freshAnswer.accessToken, a.accessToken, 'a fresh process was handed the invalidated token from the store');
    const p1r = await p1Refetch;
    const b = only(p1r);
    assert.equal(freshAnswer.accessToken, b.accessToken, 'the fresh process waited for P1 and took its token');
    const p2After = await p2.call('info', { options });
    assert.equal(only(p2After).accessToken, b.accessToken, 'P2 waited for P1 instead of sending its own request');
    assert.equal(p2After.stats.storeErrors, 0, 'a busy entry is not a store failure');
    assert.equal(server.count, 2, 'one request for A, one for its successor');
  } finally {
    await fleet.close();
    if (fresh) await fresh.kill();
    await server.close();
    remove();
  }
});

for (const [label, prepare] of [
  ['others can write (0777)', (dir) => fs.chmodSync(dir, 0o777)],
  ['its group can write (0770)', (dir) => fs.chmodSync(dir, 0o770)],
  ['another user owns', (dir) => fs.chownSync(dir, 65534, 65534)],
]) {
  test(`a store folder that ${label} is not used; calls go on as with memory`, limits, async (t) => {
    if (label.includes('another user') && process.getuid() !== 0) {
      skipOrFail(t, 'needs root to give the folder to another user');
      return;
    }
    const { root, remove } = tempRoot();
    const dir = path.join(root, 'store');
    fs.mkdirSync(dir, { mode: 0o700 });
    prepare(dir);
    const server = await startTokenServer();
    const fleet = await forkFleet(2);
    try {
      const options = { tokenUrl: server.url, clientId: uid('loose'), clientSecret: 'loose-secret', store: `file:${dir}` };
      const results = [];
      for (const child of fleet) results.push(await child.call('info', { options }));
      const tokens = results.map((r) => only(r).accessToken);
      assert.notEqual(tokens[0], tokens[1], 'the processes shared nothing through the unsafe folder');
      for (const r of results) assert.ok(r.stats.storeErrors >= 1, `counted in storeErrors: ${JSON.stringify(r.stats)}`);
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing was written into the unsafe folder');
    } finally {
      await fleet.close();
      await server.close();
      remove();
    }
  });
}

test('no file of the store is opened through a symbolic link', limits, async () => {
  const { root, remove } = tempRoot();
  const dir = path.join(root, 'store');
  const server = await startTokenServer();
  const fleet = await forkFleet(1);
  try {
    const options = { tokenUrl: server.url, clientId: uid('linked'), clientSecret: 'linked-secret', store: `file:${dir}` };
    only(await fleet[0].call('info', { options }));
    await fleet[0].call('clearCache');
    // The record moves out of the folder and a link to it takes its place;
    // every other file of the entry becomes a link to a file of the user's.
    const victim = path.join(root, 'precious');
    fs.writeFileSync(victim, 'precious');
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (name.endsWith('.tok')) {
        const moved = path.join(root, name);
        fs.renameSync(file, moved);
        fs.symlinkSync(moved, file);
      } else {
        fs.rmSync(file);
        fs.symlinkSync(victim, file);
      }
    }
    const r = await fleet[0].call('info', { options });
    assert.ok(only(r).accessToken, 'the call still got a token');
    assert.equal(r.stats.storeHits, 0, 'the record was read through a link');
    assert.equal(server.count, 2, 'the call went on as with memory');
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious', 'nothing was written through a link');
  } finally {
    await fleet.close();
    await server.close();
    remove();
  }
});

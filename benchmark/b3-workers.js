'use strict'

// B3: 8 worker threads × 500 cold callers each, released together by one
// Atomics flag. Counts the token requests the whole process sends. A cache
// per isolate (every peer but m2m-token) sends at least one per thread.

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { startTokenServer } = require('./lib/server')
const { startEchoApi } = require('./peers/undici-oidc')
const { median, spread } = require('./lib/stats')
const { table, ours } = require('./lib/report')

const THREADS = 8
const CALLERS = 500
// A peer that opens a connection per caller can stall on connect timeouts;
// past this, the burst is stopped and what the server received is reported.
const CAP_MS = 30_000
const PEERS = ['m2m-token', 'seed rule', 'undici-oidc-interceptor', 'auth0 SDK v7', 'simple-oauth2 v5']
// Peers without single flight send one request per caller: one round shows it.
const ONE_ROUND = new Set(['seed rule', 'simple-oauth2 v5'])

async function burst(peer, round) {
  // JWT tokens (undici-oidc-interceptor reads their exp); a 20 ms answer, so
  // that a peer without single flight shows it even on a fast machine.
  const server = await startTokenServer({ tokenFormat: 'jwt', jwtExpSeconds: 86400, expiresIn: 86400, delayMs: 20 })
  const api = await startEchoApi()
  const start = new SharedArrayBuffer(4)
  const clientId = `b3-${peer.replace(/\W/g, '')}-${round}`
  const workers = Array.from(
    { length: THREADS },
    () =>
      new Worker(path.join(__dirname, 'b3-worker.js'), {
        workerData: { peer, tokenUrl: server.url, apiOrigin: api.origin, callers: CALLERS, clientId, start },
      }),
  )
  await Promise.all(workers.map((w) => new Promise((resolve, reject) => w.once('message', resolve).once('error', reject))))
  let served = 0
  const answered = workers.map(
    (w) => new Promise((resolve, reject) => w.once('message', (n) => resolve((served += n))).once('error', reject)),
  )
  Atomics.store(new Int32Array(start), 0, 1)
  Atomics.notify(new Int32Array(start), 0)
  let timer
  const capped = await Promise.race([
    Promise.all(answered).then(() => false),
    new Promise((resolve) => (timer = setTimeout(resolve, CAP_MS, true))),
  ])
  clearTimeout(timer)
  const requests = server.count
  await Promise.all(workers.map((w) => w.terminate()))
  await api.close()
  await server.close()
  return { requests, served, capped }
}

async function run({ rounds }) {
  const results = {}
  for (const peer of PEERS) {
    results[peer] = []
    const n = ONE_ROUND.has(peer) ? 1 : rounds
    for (let round = 0; round < n; round++) results[peer].push(await burst(peer, round))
  }
  return { rounds, results }
}

function report({ rounds, results }) {
  return [
    `## B3 — ${THREADS} worker threads × ${CALLERS} cold callers`,
    '',
    `Token requests for the whole process, median (min–max) of ${rounds} rounds (1 for peers without single flight); ` +
      'each peer is set up in every worker, ' +
      'then all callers start together. The token endpoint answers in 20 ms. Target: 1 request.',
    '',
    table(
      ['peer', 'token requests', 'calls answered'],
      Object.entries(results).map(([peer, rs]) => [
        ours(peer),
        spread(rs.map((r) => r.requests)) + (rs.some((r) => r.capped) ? ` (a round stopped after ${CAP_MS / 1000} s)` : ''),
        spread(rs.map((r) => r.served)),
      ]),
    ),
    '',
    ...(Object.values(results).some((rs) => rs.some((r) => r.served < THREADS * CALLERS))
      ? [
          `Calls not answered failed: peers without single flight open a connection per caller, ${(THREADS * CALLERS).toLocaleString('en')} ` +
            'at once, and some connects fail under that.',
          '',
        ]
      : []),
  ]
}

function summary({ results }) {
  const rs = results['m2m-token']
  const requests = Math.max(...rs.map((r) => r.requests))
  const peers = Object.entries(results)
    .filter(([name]) => name !== 'm2m-token')
    .map(([name, r]) => `${name} ${median(r.map((x) => x.requests))}`)
  return {
    target: `B3 ${THREADS} threads × ${CALLERS} cold callers`,
    figure: `${requests} request for the process (${peers.join(', ')})`,
    goal: '1',
    met: requests === 1 && rs.every((r) => r.served === THREADS * CALLERS),
  }
}

module.exports = { run, report, summary, burst }

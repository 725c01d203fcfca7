'use strict'

// B3: 8 worker threads × 500 cold callers each, released together. Counts
// the token requests the whole process sends. A cache per isolate (every
// peer but m2m-token) sends at least one per thread.

const path = require('node:path')
const { Worker } = require('node:worker_threads')
const { startTokenServer } = require('./lib/server')
const { startEchoApi } = require('./peers/undici-oidc')

const THREADS = 8
const CALLERS = 500
const PEERS = ['m2m-token', 'seed rule', 'undici-oidc-interceptor', 'auth0 SDK v4']

async function burst(peer, round) {
  // JWT tokens: undici-oidc-interceptor reads their exp.
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
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))))
  const answered = workers.map((w) => new Promise((resolve) => w.once('message', resolve)))
  Atomics.store(new Int32Array(start), 0, 1)
  Atomics.notify(new Int32Array(start), 0)
  const served = (await Promise.all(answered)).reduce((a, b) => a + b, 0)
  const requests = server.count
  await api.close()
  await server.close()
  return { requests, served }
}

async function runB3({ rounds }) {
  const results = {}
  for (const peer of PEERS) {
    results[peer] = []
    for (let round = 0; round < rounds; round++) results[peer].push(await burst(peer, round))
  }
  return results
}

module.exports = { runB3, THREADS, CALLERS }

'use strict'

// B8: a cache hit costs the same with a shared store configured. The memory
// cache is always in front of the store and a hit never touches it, so
// `client.getToken()` on a warm entry should cost what it costs with
// 'memory'. Measured like B1: tinybench samples of BATCH awaited calls, ns per
// call, many short rounds, ratios taken within each round.
//
//   node benchmark/b8-store-hit.js      prints the markdown table (needs redis-server on PATH for the Redis row)

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { startRedis, redisAvailable } = require('../__test__/helpers/redis-server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const BATCH = 1000

const LABELS = {
  floor: 'floor: `await` of a known string (async fn)',
  memory: 'm2m-token `await client.getToken()`, store `\'memory\'`',
  file: 'm2m-token `await client.getToken()`, store `\'file:<dir>\'`',
  redis: 'm2m-token `await client.getToken()`, store `\'redis://127.0.0.1:<port>\'`',
  memoryOptions: 'm2m-token `await getToken(options)`, fresh literal, store `\'memory\'`',
  redisOptions: 'm2m-token `await getToken(options)`, fresh literal, store `\'redis://…\'`',
}

/** A client with a warm entry, or the reason there is none (a store this build refuses, say). */
async function warmClient(options) {
  try {
    const client = new m2m.TokenClient(options)
    await client.getToken()
    return { client }
  } catch (err) {
    return { skipped: `${err.code || err.name}: ${err.message}` }
  }
}

async function run({ rounds = 15 } = {}) {
  const { Bench } = await import('tinybench')
  const server = await startTokenServer({ expiresIn: 86400 })
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-b8-'))
  const redis = redisAvailable() ? await startRedis() : null
  const url = server.url
  const secret = 'b8-secret'
  const stores = {
    memory: 'memory',
    file: `file:${path.join(storeDir, 'store')}`,
    redis: redis ? redis.url() : null,
  }
  const skipped = {}
  const clients = {}
  for (const [name, store] of Object.entries(stores)) {
    if (store === null) {
      skipped[name] = 'redis-server not installed'
      continue
    }
    const warm = await warmClient({ tokenUrl: url, clientId: `b8-${name}`, clientSecret: secret, store })
    if (warm.client) clients[name] = warm.client
    else skipped[name] = warm.skipped
  }
  const known = await clients.memory.getToken()
  const floor = async () => known

  // One loop written out per case (see B1: a shared loop would share one call site's type feedback).
  const memory = clients.memory
  const file = clients.file
  const redisClient = clients.redis
  const cases = {
    floor: async () => {
      for (let i = 0; i < BATCH; i++) await floor()
    },
    memory: async () => {
      for (let i = 0; i < BATCH; i++) await memory.getToken()
    },
    file: async () => {
      for (let i = 0; i < BATCH; i++) await file.getToken()
    },
    redis: async () => {
      for (let i = 0; i < BATCH; i++) await redisClient.getToken()
    },
    memoryOptions: async () => {
      for (let i = 0; i < BATCH; i++) await m2m.getToken({ tokenUrl: url, clientId: 'b8-memory', clientSecret: secret })
    },
    redisOptions: async () => {
      for (let i = 0; i < BATCH; i++) await m2m.getToken({ tokenUrl: url, clientId: 'b8-redis', clientSecret: secret, store: stores.redis })
    },
  }
  if (skipped.file) delete cases.file
  if (skipped.redis) {
    delete cases.redis
    delete cases.redisOptions
  }

  const requestsBefore = server.count
  const perRound = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: 100, warmupTime: 25 })
    for (const [name, fn] of Object.entries(cases)) bench.add(name, fn)
    await bench.run()
    for (const task of bench.tasks) perRound[task.name].push((task.result.latency.p50 * 1e6) / BATCH)
  }
  const requestsDuring = server.count - requestsBefore
  const stats = m2m.stats()

  await server.close()
  if (redis) await redis.close()
  fs.rmSync(storeDir, { recursive: true, force: true })
  return { rounds, perRound, skipped, requestsDuring, storeHits: stats.storeHits, storeErrors: stats.storeErrors }
}

const ratios = (r, name, base) => r[name].map((v, i) => v / r[base][i])

function report({ rounds, perRound: r, skipped, requestsDuring, storeErrors }) {
  const row = (name, base) => {
    const bold = name === 'file' || name === 'redis'
    const label = bold ? `**${LABELS[name]}**` : LABELS[name]
    if (!r[name]) return [label, `n/a (${skipped[name] || skipped[name.replace('Options', '')]})`, '—', '—']
    const rel = name === base ? '1.00' : spread(ratios(r, name, base), 2)
    return [label, spread(r[name], 1), bold ? `**${rel}**` : rel, name === 'floor' ? '1.00' : fixed(median(ratios(r, name, 'floor')), 2)]
  }
  return [
    '## B8 — cache hit with a store configured',
    '',
    `ns per call, median of ${rounds} rounds (min–max); in each round, the median of tinybench samples of ${BATCH.toLocaleString('en')} ` +
      'awaited calls on a warm entry. Ratios are taken within each round, then the median (min–max). ' +
      'Goal: unchanged by the store (a hit never leaves the process).',
    '',
    table(['case', 'ns per call', '÷ same call with `\'memory\'`', '÷ floor'], [
      row('floor', 'memory'), row('memory', 'memory'), row('file', 'memory'), row('redis', 'memory'),
      row('memoryOptions', 'memoryOptions'), row('redisOptions', 'memoryOptions'),
    ]),
    '',
    `Token requests during the timed rounds: ${requestsDuring}; store errors in the run: ${storeErrors ?? 'n/a'}.`,
    '',
  ]
}

function summary({ perRound: r }) {
  const stored = ['file', 'redis'].filter((n) => r[n])
  if (stored.length === 0) return { target: 'B8 hit with a store ÷ without', figure: 'n/a (no store usable in this build)', goal: '≤ 1.1×', met: null }
  const worst = Math.max(...stored.map((n) => median(ratios(r, n, 'memory'))))
  return {
    target: 'B8 `client.getToken()` hit with a store configured ÷ with `\'memory\'`',
    figure: stored.map((n) => `${n} ${fixed(median(ratios(r, n, 'memory')), 2)}× (${fixed(median(r[n]), 1)} ns)`).join(', ') +
      `; memory ${fixed(median(r.memory), 1)} ns`,
    goal: 'unchanged (≤ 1.1×)',
    met: worst <= 1.1,
  }
}

module.exports = { run, report, summary }

if (require.main === module) require('./lib/standalone').runStandalone(module.exports, { rounds: Number(process.env.BENCH_ROUNDS || 5) * 3 })

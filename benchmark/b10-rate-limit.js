'use strict'

// B10: a rate-limited endpoint and a fleet. The token endpoint answers every
// request with 429 and `Retry-After: 30`, as Auth0's does once a tenant is
// over its limit (and every 429 still counts against it). N processes start
// at once, each with CALLERS concurrent callers of one entry; we count the
// requests the endpoint receives and how long the slowest call took.
// Cases, each with a fresh endpoint, in the same run: m2m-token sharing a
// Redis store, m2m-token with 'memory' (one cache per process), and the
// auth0 SDK v7's TokenProvider (one per process, as a ManagementClient has).
//
//   node benchmark/b10-rate-limit.js      prints the markdown table (needs redis-server on PATH)

const path = require('node:path')
const crypto = require('node:crypto')
const { execFile } = require('node:child_process')
const { startTokenServer } = require('./lib/server')
const { startRedis } = require('../__test__/helpers/redis-server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const FLEETS = [6, 12]
const CALLERS = 5
const CHILD = path.join(__dirname, 'lib', 'rate-limit-child.js')

const LABELS = {
  redis: 'm2m-token, store `redis://…` (the fleet shares the window)',
  memory: "m2m-token, store `'memory'` (one window per process)",
  auth0: 'auth0 SDK v7 `TokenProvider`, one per process',
}

function runChild(config) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, JSON.stringify(config)], { timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${config.peer} child failed: ${err.message}\n${stderr}`))
      resolve(JSON.parse(stdout))
    })
  })
}

async function fleetAgainst429(peer, processes, redis) {
  const server = await startTokenServer({
    respond: () => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: 'too_many_requests', error_description: 'Global limit has been reached' } }),
  })
  try {
    const config = {
      peer,
      tokenUrl: server.url,
      clientId: `b10-${peer}-${processes}-${crypto.randomBytes(4).toString('hex')}`,
      clientSecret: 'b10-secret',
      store: peer === 'redis' ? redis.url() : 'memory',
      callers: CALLERS,
    }
    const results = await Promise.all(Array.from({ length: processes }, () => runChild(config)))
    const ms = results.flatMap((r) => r.ms)
    return {
      requests: server.count,
      slowestMs: Math.max(...ms),
      medianMs: median(ms),
      failed: results.flatMap((r) => r.codes).filter((c) => c !== 'ok').length,
      calls: ms.length,
    }
  } finally {
    await server.close()
  }
}

async function run({ rounds = 1 } = {}) {
  const redis = await startRedis()
  try {
    const byFleet = {}
    for (const processes of FLEETS) {
      byFleet[processes] = {}
      for (const peer of Object.keys(LABELS)) {
        byFleet[processes][peer] = []
        for (let i = 0; i < rounds; i++) byFleet[processes][peer].push(await fleetAgainst429(peer, processes, redis))
      }
    }
    return { byFleet, rounds }
  } finally {
    await redis.close()
  }
}

function report({ byFleet, rounds }) {
  const rows = []
  for (const [processes, peers] of Object.entries(byFleet)) {
    for (const [peer, runs] of Object.entries(peers)) {
      rows.push([
        `${processes} × ${CALLERS}`,
        peer === 'redis' ? `**${LABELS[peer]}**` : LABELS[peer],
        spread(runs.map((r) => r.requests), 0),
        `${runs[0].failed} of ${runs[0].calls}`,
        spread(runs.map((r) => r.medianMs), 0),
        spread(runs.map((r) => r.slowestMs), 0),
      ])
    }
  }
  return [
    '## B10 — a rate-limited endpoint and a fleet',
    '',
    `The endpoint answers every request with 429 and \`Retry-After: 30\`. N processes start at once, each with ${CALLERS} ` +
      `concurrent callers of one entry; a fresh endpoint per case; ${rounds} round(s), median (min–max). ` +
      'Every 429 counts against the tenant\'s limit: the fewer requests, the sooner the limit recovers. Goal: 1 request for ' +
      'the fleet on a shared store, and no call waiting out the 30 s.',
    '',
    table(['processes × callers', 'peer', 'requests sent', 'calls failed', 'median call ms', 'slowest call ms'], rows),
    '',
  ]
}

function summary({ byFleet }) {
  const fleets = Object.keys(byFleet)
  const requests = (processes, peer) => fixed(median(byFleet[processes][peer].map((r) => r.requests)), 0)
  const slowest = Math.max(...fleets.map((p) => Math.max(...byFleet[p].redis.map((r) => r.slowestMs))))
  return {
    target: 'B10 requests sent by N processes against an always-429 endpoint (Retry-After: 30)',
    figure: fleets.map((p) => `${p} processes: Redis ${requests(p, 'redis')}, memory ${requests(p, 'memory')}, auth0 SDK v7 ${requests(p, 'auth0')}`).join('; ') +
      `; slowest call on Redis ${fixed(slowest, 0)} ms`,
    goal: '1 request per fleet; no call ≥ 2 s',
    met: fleets.every((p) => byFleet[p].redis.every((r) => r.requests === 1)) && slowest < 2000,
  }
}

module.exports = { run, report, summary }

if (require.main === module) require('./lib/standalone').runStandalone(module.exports, { rounds: Number(process.env.BENCH_ROUNDS || 1) })

'use strict'

// B5: the cost of one cold fetch against the loopback server: m2m-token
// (cache cleared before each call) next to a plain fetch() (undici) of the
// same endpoint that sends the same form and parses the JSON answer. Both
// keep their connection alive between fetches; runs alternate so drift
// hits both alike.

const { performance } = require('node:perf_hooks')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const FETCHES = 200
const WARMUP = 20

async function run() {
  const server = await startTokenServer({ expiresIn: 86400 })
  const options = { tokenUrl: server.url, clientId: 'b5-client', clientSecret: 'b5-secret' }
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'b5-client', client_secret: 'b5-secret' })
  const plainFetch = async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    })
    return (await res.json()).access_token
  }
  const ours = async () => {
    m2m.clearCache()
    return m2m.getToken(options)
  }
  const times = { ours: [], fetch: [] }
  const before = m2m.stats().requests
  for (let i = 0; i < FETCHES + WARMUP; i++) {
    for (const [name, fn] of [['ours', ours], ['fetch', plainFetch]]) {
      const t0 = performance.now()
      await fn()
      if (i >= WARMUP) times[name].push((performance.now() - t0) * 1000) // µs
    }
  }
  const ourRequests = m2m.stats().requests - before
  await server.close()
  return { times, ourRequests }
}

function report({ times, ourRequests }) {
  return [
    '## B5 — one cold fetch against the loopback server',
    '',
    `µs per token fetched: median (min–max) of ${FETCHES} alternating fetches after ${WARMUP} warm-up pairs; ` +
      `our cache is cleared before each call (${ourRequests} token requests for ${FETCHES + WARMUP} calls).`,
    '',
    table(
      ['case', 'µs', '÷ plain fetch'],
      [
        ['**m2m-token** `clearCache()` + `await getToken(options)`', spread(times.ours), `**${fixed(median(times.ours) / median(times.fetch), 2)}**`],
        ['plain `fetch()` (undici) POST + `res.json()`', spread(times.fetch), '1.00'],
      ],
    ),
    '',
  ]
}

function summary({ times }) {
  const ratio = median(times.ours) / median(times.fetch)
  return {
    target: 'B5 one cold fetch',
    figure: `${fixed(median(times.ours))} µs vs plain fetch ${fixed(median(times.fetch))} µs (${fixed(ratio, 2)}×)`,
    goal: 'report',
    met: null,
  }
}

module.exports = { run, report, summary }

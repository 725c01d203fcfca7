'use strict'

// B5: the cost of one cold fetch against the loopback server: m2m-token
// (cache cleared before each call) next to a plain fetch() of the same
// endpoint that parses the JSON answer. Both keep their connections alive.

const { performance } = require('node:perf_hooks')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')

const FETCHES = 60

async function runB5() {
  const server = await startTokenServer({ expiresIn: 86400 })
  const options = { tokenUrl: server.url, clientId: 'b5-client', clientSecret: 'b5-secret' }
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: 'b5-client', client_secret: 'b5-secret' })
  const plainFetch = async () => {
    const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form })
    return (await res.json()).access_token
  }
  const ours = async () => {
    m2m.clearCache()
    return m2m.getToken(options)
  }
  const times = { ours: [], fetch: [] }
  for (let i = 0; i < FETCHES + 5; i++) {
    for (const [name, fn] of [['ours', ours], ['fetch', plainFetch]]) {
      const t0 = performance.now()
      await fn()
      if (i >= 5) times[name].push((performance.now() - t0) * 1000) // µs; first 5 warm up
    }
  }
  await server.close()
  return times
}

module.exports = { runB5, FETCHES }

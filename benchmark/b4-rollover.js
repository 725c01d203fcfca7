'use strict'

// B4: steady load across a token rollover. The token endpoint answers in
// 200 ms; each peer gets a token lifetime that makes it roll over about
// 9–10 s into an 11 s run, under its own expiry policy. A call that took
// 100 ms or more waited on the network.

const { performance } = require('node:perf_hooks')
const { setTimeout: sleep } = require('node:timers/promises')
const m2m = require('..')
const { seedGetToken } = require('./peers/seed-rule')
const { startEchoApi, createUndiciOidcPeer } = require('./peers/undici-oidc')
const { createAuth0Peer } = require('./peers/auth0')
const { startTokenServer } = require('./lib/server')
const { percentile } = require('./lib/stats')

const RUN_MS = 11_000
const LOOPS = 10
const PACE_MS = 2
const WAITED_MS = 100

// Lifetimes chosen so each peer's own policy rolls over at ~9–10 s.
const PEERS = {
  // usable 10 s (leeway 5 s); refresh ahead from 9 s
  'm2m-token': {
    lifetime: 15,
    make: (url) => {
      const c = new m2m.TokenClient({ tokenUrl: url, clientId: 'b4-ours', clientSecret: 's', leewaySeconds: 5 })
      return () => c.getToken()
    },
  },
  // fixed 60 s safe window: cached for 10 s, then every caller refetches
  'seed rule': { lifetime: 70, make: (url) => () => seedGetToken(url, 'b4-seed', 's', 'aud') },
  // refreshes in the background from exp − 30 s, blocks from exp − 10 s
  'undici-oidc-interceptor': {
    lifetime: 40,
    make: (url, api) => {
      const p = createUndiciOidcPeer({ tokenUrl: url, clientId: 'b4-undici', clientSecret: 's', apiOrigin: api.origin })
      return () => p.getToken()
    },
  },
  // 10 s leeway, no refresh ahead
  'auth0 SDK v4': {
    lifetime: 20,
    make: (url) => {
      const p = createAuth0Peer({ tokenUrl: url, clientId: 'b4-auth0', clientSecret: 's', audience: 'aud' })
      return () => p.getToken()
    },
  },
}

async function steadyLoad(name) {
  const { lifetime, make } = PEERS[name]
  const server = await startTokenServer({ delayMs: 200, expiresIn: lifetime, tokenFormat: 'jwt', jwtExpSeconds: lifetime })
  const api = await startEchoApi()
  const getToken = make(server.url, api)
  await getToken() // warm: the first token is not part of the rollover
  const latencies = []
  let failed = 0
  const end = performance.now() + RUN_MS
  const loop = async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      try {
        await getToken()
      } catch {
        failed++
      }
      latencies.push(performance.now() - t0)
      await sleep(PACE_MS)
    }
  }
  await Promise.all(Array.from({ length: LOOPS }, loop))
  const requests = server.count - 1
  await api.close()
  await server.close()
  return {
    calls: latencies.length,
    waited: latencies.filter((ms) => ms >= WAITED_MS).length,
    failed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    requests,
  }
}

async function runB4() {
  const results = {}
  for (const name of Object.keys(PEERS)) results[name] = await steadyLoad(name)
  return results
}

module.exports = { runB4, RUN_MS, LOOPS, PEERS }

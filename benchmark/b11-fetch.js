'use strict'

// B11: using the token.
// 1. Overhead: `client.fetch(url)` on a cache hit against a bare `fetch(url)`
//    with the same Authorization header set by hand, on a loopback API, in
//    the same run. Sequential requests alternate one by one, so drift hits
//    both alike; the ratio is taken within each round.
// 2. The 401 storm: after the API revokes the token, 50 concurrent requests.
//    How many token requests does each make, and how many requests end 200?
//    m2m-token's client.fetch (one process, and 4 processes sharing a Redis
//    store) against undici-oidc-interceptor 0.6 (a composed undici Agent)
//    and the auth0 SDK v7's ManagementClient, with its own token and with
//    m2m-token's (the code docs/using-the-token.md shows).
//
//   node benchmark/b11-fetch.js      prints the markdown tables

const { performance } = require('node:perf_hooks')
const { startApi } = require('./lib/api')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { startResourceServer } = require('../__test__/helpers/resource-server')
const { forkFleet } = require('../__test__/helpers/fleet')
const { startRedis, redisAvailable } = require('../__test__/helpers/redis-server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const BATCH = 200
const STORM = 50
const PROCESSES = 4

async function overhead(rounds) {
  const tokens = await startTokenServer({ expiresIn: 86400 })
  const api = await startApi()
  const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: 'b11-overhead', clientSecret: 's' })
  const header = `Bearer ${await client.getToken()}`
  const url = api.url
  const bare = async () => (await fetch(url, { headers: { authorization: header } })).text()
  const ours = async () => (await client.fetch(url)).text()
  // Requests alternate one by one (which goes first flips each round), so
  // load from elsewhere on the machine lands on both alike.
  async function round(flip) {
    const spent = { bare: 0, ours: 0 }
    for (let i = 0; i < 2 * BATCH; i++) {
      const mine = (i % 2 === 0) !== flip
      const t0 = performance.now()
      if (mine) await ours()
      else await bare()
      spent[mine ? 'ours' : 'bare'] += performance.now() - t0
    }
    return { bare: (spent.bare * 1000) / BATCH, ours: (spent.ours * 1000) / BATCH } // µs per request
  }
  await round(false) // warm-up: connections, JIT
  const requestsBefore = tokens.count
  const perRound = { bare: [], ours: [], ratio: [] }
  for (let r = 0; r < rounds; r++) {
    const t = await round(r % 2 === 1)
    perRound.bare.push(t.bare)
    perRound.ours.push(t.ours)
    perRound.ratio.push(t.ours / t.bare)
  }
  const requestsDuring = tokens.count - requestsBefore
  await api.close()
  await tokens.close()
  return { rounds, perRound, requestsDuring }
}

/** One storm: warm, revoke, STORM concurrent requests; token requests and 200s after the revoke. */
async function storm(rounds, start) {
  const results = []
  for (let round = 0; round < rounds; round++) {
    const tokens = await startTokenServer({ tokenFormat: 'jwt', jwtExpSeconds: 3600, expiresIn: 3600 })
    const api = await startResourceServer(tokens)
    const peer = await start({ tokens, api, round })
    try {
      await peer.send(1)
      api.revoke()
      const before = tokens.count
      const t0 = performance.now()
      const statuses = await peer.send(STORM)
      const ms = performance.now() - t0
      results.push({ tokenRequests: tokens.count - before, ok: statuses.filter((s) => s === 200).length, total: statuses.length, ms })
    } finally {
      await peer.close()
      await api.close()
      await tokens.close()
    }
  }
  return results
}

/**
 * A `fetch` for the auth0 SDK, which always builds `https://<domain>` URLs:
 * /oauth/token goes to the token server, anything else to the API, both on
 * plain-HTTP loopback; `send` is the fetch that carries it.
 */
function sdkFetch(tokens, api, send = fetch) {
  return (url, init) => {
    const { pathname, search } = new URL(String(url))
    return send(pathname === '/oauth/token' ? tokens.url : `${api.origin}${pathname}${search}`, init)
  }
}

/** `management.users.list()` n times at once; the HTTP status each ended with. */
function listUsersStatuses(management, n) {
  return Promise.all(Array.from({ length: n }, () => management.users.list().then(() => 200, (err) => err.statusCode)))
}

const peers = {
  ours: ({ tokens, api, round }) => {
    const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: `b11-storm-${round}`, clientSecret: 's' })
    const url = `${api.origin}/api/v2/users`
    return {
      send: (n) => Promise.all(Array.from({ length: n }, async () => {
        const res = await client.fetch(url)
        await res.arrayBuffer()
        return res.status
      })),
      close: async () => {},
    }
  },
  oidc: ({ tokens, api }) => {
    const { Agent, request } = require('undici')
    const { createOidcInterceptor } = require('undici-oidc-interceptor')
    const dispatcher = new Agent().compose(createOidcInterceptor({ idpTokenUrl: tokens.url, clientId: 'b11-oidc', clientSecret: 's', urls: [api.origin] }))
    return {
      send: (n) => Promise.all(Array.from({ length: n }, async () => {
        const { statusCode, body } = await request(`${api.origin}/api/v2/users`, { dispatcher })
        await body.arrayBuffer()
        return statusCode
      })),
      close: () => dispatcher.close(),
    }
  },
  auth0: ({ tokens, api, round }) => {
    const { ManagementClient } = require('auth0-v7')
    const management = new ManagementClient({
      domain: 'tenant.example', clientId: `b11-auth0-${round}`, clientSecret: 's', telemetry: false, fetch: sdkFetch(tokens, api),
    })
    return { send: (n) => listUsersStatuses(management, n), close: async () => {} }
  },
  auth0WithOurs: ({ tokens, api, round }) => {
    const { ManagementClient } = require('auth0-v7')
    const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId: `b11-auth0-m2m-${round}`, clientSecret: 's' })
    const management = new ManagementClient({
      domain: 'tenant.example', token: () => client.getToken(), telemetry: false, fetch: sdkFetch(tokens, api, client.fetch),
    })
    return { send: (n) => listUsersStatuses(management, n), close: async () => {} }
  },
}

async function fleetPeer(redis) {
  const fleet = await forkFleet(PROCESSES)
  return {
    fleet,
    start: ({ tokens, api, round }) => {
      const options = { tokenUrl: tokens.url, clientId: `b11-fleet-${round}`, clientSecret: 's', store: redis.url() }
      const url = `${api.origin}/api/v2/users`
      return {
        // n concurrent requests in each process, all processes at once
        send: async (n) => (await fleet.all('fetch', { options, url, n })).flatMap((r) => r.statuses),
        close: async () => {},
      }
    },
  }
}

async function run({ rounds = 15 } = {}) {
  const over = await overhead(rounds)
  const stormRounds = 5
  const storms = {
    ours: await storm(stormRounds, peers.ours),
    oidc: await storm(stormRounds, peers.oidc),
    auth0: await storm(stormRounds, peers.auth0),
    auth0WithOurs: await storm(stormRounds, peers.auth0WithOurs),
  }
  let fleetSkipped = null
  if (redisAvailable()) {
    const redis = await startRedis()
    const { fleet, start } = await fleetPeer(redis)
    try {
      storms.fleet = await storm(stormRounds, start)
    } finally {
      await fleet.close()
      await redis.close()
    }
  } else {
    fleetSkipped = 'redis-server not installed'
  }
  return { over, storms, stormRounds, fleetSkipped }
}

const LABELS = {
  ours: 'm2m-token `client.fetch`, 1 process',
  fleet: `m2m-token \`client.fetch\`, ${PROCESSES} processes sharing a Redis store (${STORM} concurrent in each)`,
  oidc: 'undici-oidc-interceptor 0.6 (`Agent().compose(createOidcInterceptor(...))`)',
  auth0: 'auth0 SDK v7 `ManagementClient` with its own token (`clientId`, `clientSecret`): `users.list()`',
  auth0WithOurs: 'auth0 SDK v7 `ManagementClient` with `token: () => client.getToken()`, `fetch: client.fetch` (as docs/using-the-token.md shows it): `users.list()`',
}

function report({ over, storms, stormRounds, fleetSkipped }) {
  const r = over.perRound
  const stormRow = (name) => {
    const s = storms[name]
    if (!s) return [LABELS[name], `n/a (${fleetSkipped})`, '—', '—']
    return [
      name === 'oidc' || name === 'auth0' ? LABELS[name] : `**${LABELS[name]}**`,
      spread(s.map((x) => x.tokenRequests)),
      `${spread(s.map((x) => x.ok))} of ${s[0].total}`,
      spread(s.map((x) => x.ms), 1),
    ]
  }
  return [
    '## B11 — using the token: `client.fetch`',
    '',
    `Overhead on a cache hit: µs per request, median of ${over.rounds} rounds (min–max); each round sends ${BATCH} requests ` +
      'of each case to a loopback API, one at a time and alternating (body read), and the ratio is taken within the round. ' +
      'Goal: ≤ 1.05×.',
    '',
    table(['case', 'µs per request', '÷ bare fetch'], [
      ['bare `fetch(url, { headers: { authorization } })` (header set by hand)', spread(r.bare, 1), '1.00'],
      ['**m2m-token `client.fetch(url)`**', spread(r.ours, 1), `**${spread(r.ratio, 3)}**`],
    ]),
    '',
    `Token requests during the timed rounds: ${over.requestsDuring}.`,
    '',
    `The 401 storm: the API (\`__test__/helpers/resource-server.js\`: only the newest token, revocable) revokes the token, then ` +
      `${STORM} concurrent requests; ${stormRounds} rounds, each with a fresh token server, API and entry; median (min–max).`,
    '',
    table(['peer', 'token requests after the revoke', 'requests answered 200', 'ms for the storm'], [
      stormRow('ours'), stormRow('fleet'), stormRow('auth0WithOurs'), stormRow('oidc'), stormRow('auth0'),
    ]),
    '',
    'The auth0 SDK rows use `https://<domain>` URLs sent over loopback HTTP through its `fetch` option (a function that ' +
      'rewrites the origin, around `fetch` or `client.fetch`). On its own, its `ManagementClient` passes each 401 to the ' +
      'caller and keeps the revoked token until it expires.',
    '',
  ]
}

function summary({ over, storms }) {
  const ratio = median(over.perRound.ratio)
  const tokenRequests = (name) => (storms[name] ? fixed(median(storms[name].map((x) => x.tokenRequests)), 0) : 'n/a')
  const okCalls = (name) => fixed(median(storms[name].map((x) => x.ok)), 0)
  return {
    target: 'B11 `client.fetch` hit ÷ bare fetch with a hand-set header; 401 storm token requests',
    figure: `${fixed(ratio, 3)}× (${fixed(median(over.perRound.ours), 1)} µs vs ${fixed(median(over.perRound.bare), 1)} µs); ` +
      `storm of ${STORM}: ${tokenRequests('ours')} token request (fleet of ${PROCESSES}: ${tokenRequests('fleet')}), ` +
      `undici-oidc-interceptor ${tokenRequests('oidc')}; auth0 SDK v7 on its own ${tokenRequests('auth0')} ` +
      `(${okCalls('auth0')} of ${STORM} answered), with m2m-token ${tokenRequests('auth0WithOurs')} (${okCalls('auth0WithOurs')} of ${STORM})`,
    goal: '≤ 1.05×',
    met: ratio <= 1.05,
  }
}

module.exports = { run, report, summary }

if (require.main === module) require('./lib/standalone').runStandalone(module.exports, { rounds: Number(process.env.BENCH_ROUNDS || 5) * 3 })

'use strict'

// B2: 10,000 concurrent callers on a cold cache. Counts token requests, and
// measures from the moment the server answers (a timestamp taken in its
// respond hook, right before the answer is written) to the moment the last
// caller has its token. Peers without single flight send one request per
// caller, so "last caller after the answer" means nothing for them.

const { performance } = require('node:perf_hooks')
const m2m = require('..')
const { seedGetToken, resetSeedCache } = require('./peers/seed-rule')
const { createAuth0Peer } = require('./peers/auth0')
const { createSimpleOauth2Peer } = require('./peers/simple-oauth2')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table, ours } = require('./lib/report')

const CALLERS = 10_000
// A burst that floods the server with one connection per caller can stall on
// connect timeouts; past this, the server is closed (its sockets destroyed)
// and the requests it received so far are what is reported.
const CAP_MS = 20_000

// name -> { rounds: (ours) => number, make: (tokenUrl, round) => getToken, singleFlight }
const PEERS = {
  'm2m-token': {
    rounds: (r) => r,
    singleFlight: true,
    make: (tokenUrl, round) => {
      m2m.clearCache()
      const options = { tokenUrl, clientId: `b2-${round}`, clientSecret: 'b2-secret' }
      return () => m2m.getToken(options)
    },
  },
  'auth0 SDK v7': {
    rounds: (r) => r,
    singleFlight: true,
    make: (tokenUrl) => {
      const p = createAuth0Peer({ tokenUrl, clientId: 'b2-auth0', clientSecret: 'b2-secret', audience: 'aud' })
      return () => p.getToken()
    },
  },
  // One round is enough to see one request per caller.
  'seed rule': {
    rounds: () => 1,
    singleFlight: false,
    make: (tokenUrl) => {
      resetSeedCache('b2-seed')
      return () => seedGetToken(tokenUrl, 'b2-seed', 'b2-secret', 'aud')
    },
  },
  'simple-oauth2 v5': {
    rounds: () => 1,
    singleFlight: false,
    make: (tokenUrl) => {
      const p = createSimpleOauth2Peer({ tokenUrl, clientId: 'b2-so2', clientSecret: 'b2-secret' })
      return () => p.getToken()
    },
  },
}

async function coldBurst(make, round) {
  let answeredAt = 0
  const server = await startTokenServer({
    expiresIn: 86400,
    respond: (ctx) => {
      answeredAt = performance.now()
      return ctx.defaultResponse()
    },
  })
  const getToken = make(server.url, round)
  let lastAnsweredAt = 0
  const calls = []
  for (let i = 0; i < CALLERS; i++) calls.push(getToken().then(() => (lastAnsweredAt = performance.now())))
  const settled = Promise.allSettled(calls)
  let timer
  const capped = await Promise.race([
    settled.then(() => false),
    new Promise((resolve) => (timer = setTimeout(resolve, CAP_MS, true))),
  ])
  clearTimeout(timer)
  const requests = server.count
  await server.close()
  const rejected = (await settled).filter((r) => r.status === 'rejected')
  const reasons = {}
  for (const { reason } of rejected) {
    const text = String(reason?.message ?? reason).replace(/^Error getting access token: /, '').slice(0, 60)
    reasons[text] = (reasons[text] || 0) + 1
  }
  return { requests, failed: rejected.length, reasons, capped, lastAfterAnswerMs: lastAnsweredAt - answeredAt }
}

async function run({ rounds }) {
  const results = {}
  for (const [name, peer] of Object.entries(PEERS)) {
    results[name] = []
    for (let round = 0; round < peer.rounds(rounds); round++) results[name].push(await coldBurst(peer.make, round))
  }
  return results
}

function failures(results) {
  const lines = []
  for (const [name, rs] of Object.entries(results)) {
    const reasons = {}
    for (const r of rs) for (const [text, n] of Object.entries(r.reasons)) reasons[text] = (reasons[text] || 0) + n
    const list = Object.entries(reasons).map(([text, n]) => `${n} × \`${text}\``)
    if (list.length) lines.push(`- ${name}, failed calls (all rounds): ${list.join('; ')}`)
  }
  if (!lines.length) return []
  return [
    'Why calls failed. A peer without single flight opens a connection per caller; 10,000 at once are more than one ' +
      'loopback server accepts in time, so some of those requests fail (the messages below) — a cost of the peer\'s design, not of the server.',
    '',
    ...lines,
    '',
  ]
}

function report(results) {
  return [
    `## B2 — ${CALLERS.toLocaleString('en')} cold concurrent callers`,
    '',
    'Token requests sent, calls that failed, and the time from the server\'s answer (timestamp taken in its respond hook, ' +
      'right before the answer is written) to the last caller answered. Median (min–max) over the rounds shown. ' +
      'Target: 1 request; every caller answered within 20 ms.',
    '',
    table(
      ['peer', 'rounds', 'token requests', 'failed calls', 'ms from answer to last caller'],
      Object.entries(results).map(([name, rs]) => [
        ours(name),
        String(rs.length),
        spread(rs.map((r) => r.requests)) + (rs.some((r) => r.capped) ? ` (server closed after ${CAP_MS / 1000} s)` : ''),
        spread(rs.map((r) => r.failed)),
        PEERS[name].singleFlight ? spread(rs.map((r) => r.lastAfterAnswerMs), 1) : 'n/a: one request per caller',
      ]),
    ),
    '',
    ...failures(results),
  ]
}

function summary(results) {
  const rs = results['m2m-token']
  const requests = Math.max(...rs.map((r) => r.requests))
  const worst = Math.max(...rs.map((r) => r.lastAfterAnswerMs))
  const seed = results['seed rule'][0]
  return {
    target: `B2 ${CALLERS.toLocaleString('en')} cold callers`,
    figure: `${requests} request (seed rule: ${seed.requests}); last caller ${median(rs.map((r) => r.lastAfterAnswerMs)).toFixed(1)} ms after the answer (worst round ${worst.toFixed(1)} ms)`,
    goal: '1 request; ≤ 20 ms',
    met: requests === 1 && worst <= 20 && rs.every((r) => r.failed === 0),
  }
}

module.exports = { run, report, summary }

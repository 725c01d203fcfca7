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
const { spread } = require('./lib/stats')
const { table, ours } = require('./lib/report')

const CALLERS = 10_000

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
  'auth0 SDK v4': {
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
  const results = await Promise.allSettled(calls)
  const failed = results.filter((r) => r.status === 'rejected').length
  const requests = server.count
  await server.close()
  return { requests, failed, lastAfterAnswerMs: lastAnsweredAt - answeredAt }
}

async function run({ rounds }) {
  const results = {}
  for (const [name, peer] of Object.entries(PEERS)) {
    results[name] = []
    for (let round = 0; round < peer.rounds(rounds); round++) results[name].push(await coldBurst(peer.make, round))
  }
  return results
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
        spread(rs.map((r) => r.requests)),
        spread(rs.map((r) => r.failed)),
        PEERS[name].singleFlight ? spread(rs.map((r) => r.lastAfterAnswerMs), 1) : 'n/a: one request per caller',
      ]),
    ),
    '',
    'Failed calls of the peers without single flight are their own: they open a connection per caller, ' +
      'and 10,000 simultaneous connections to one loopback server are more than it accepts at once.',
    '',
  ]
}

module.exports = { run, report, CALLERS }

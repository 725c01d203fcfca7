'use strict'

// B2: 10,000 concurrent callers on a cold cache. Counts token requests, and
// measures from the moment the server answers (timestamp taken in its
// respond hook) to the moment the last caller has its token.

const { performance } = require('node:perf_hooks')
const m2m = require('..')
const { seedGetToken, resetSeedCache } = require('./peers/seed-rule')
const { startTokenServer } = require('./lib/server')

const CALLERS = 10_000

async function coldBurst(getToken) {
  let answeredAt = 0
  const server = await startTokenServer({
    expiresIn: 86400,
    respond: (ctx) => {
      answeredAt = performance.now()
      return ctx.defaultResponse()
    },
  })
  let lastAnsweredAt = 0
  const calls = []
  for (let i = 0; i < CALLERS; i++) {
    calls.push(getToken(server.url).then(() => (lastAnsweredAt = performance.now())))
  }
  const results = await Promise.allSettled(calls)
  const failed = results.filter((r) => r.status === 'rejected').length
  const requests = server.count
  await server.close()
  return { requests, failed, lastAfterAnswerMs: lastAnsweredAt - answeredAt }
}

async function runB2({ rounds }) {
  const ours = []
  for (let round = 0; round < rounds; round++) {
    m2m.clearCache()
    const clientId = `b2-${round}`
    ours.push(await coldBurst((tokenUrl) => m2m.getToken({ tokenUrl, clientId, clientSecret: 'b2-secret' })))
  }
  resetSeedCache('b2-seed')
  // The seed rule sends one request per caller: one round is enough to see it.
  const seed = await coldBurst((tokenUrl) => seedGetToken(tokenUrl, 'b2-seed', 'b2-secret', 'aud'))
  return { ours, seed }
}

module.exports = { runB2, CALLERS }

'use strict'

// B1: the cost of an awaited cache hit, next to the seed rule's own cache
// read and the floor (awaiting an already-known string), in one process.
// Each tinybench sample runs BATCH awaited calls, so the timer's own cost
// does not swamp a ~100 ns operation; figures are ns per call.

const m2m = require('..')
const { seedCachedRead } = require('./peers/seed-rule')
const { startTokenServer } = require('./lib/server')

const BATCH = 1000

function batch(fn) {
  return async () => {
    for (let i = 0; i < BATCH; i++) await fn()
  }
}

/** Wraps a callback API in a promise per call, so both sides pay the same wrapper. */
const viaCallback = (call) => () => new Promise((resolve) => call((err, value) => resolve(value)))

async function runB1({ rounds }) {
  const { Bench } = await import('tinybench')
  const server = await startTokenServer({ expiresIn: 86400 })
  const options = { tokenUrl: server.url, clientId: 'b1-client', clientSecret: 'b1-secret' }
  const client = new m2m.TokenClient(options)
  const token = await client.getToken()
  global[options.clientId + '_token'] = { accessToken: token, expirationDate: Date.now() + 3_600_000 }
  const known = token
  const floor = async () => known
  const seedCallback = (cb) => {
    const cached = global[options.clientId + '_token']
    if (cached && cached.expirationDate > Date.now()) return process.nextTick(cb, null, cached.accessToken)
  }

  const cases = {
    floor: batch(floor),
    seed: batch(() => seedCachedRead(options.clientId)),
    client: batch(() => client.getToken()),
    freshOptions: batch(() =>
      m2m.getToken({ tokenUrl: options.tokenUrl, clientId: options.clientId, clientSecret: options.clientSecret }),
    ),
    clientCallback: batch(viaCallback((cb) => client.getToken(cb))),
    seedCallback: batch(viaCallback(seedCallback)),
  }
  const perRound = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: 400, warmupTime: 100 })
    for (const [name, fn] of Object.entries(cases)) bench.add(name, fn)
    await bench.run()
    for (const task of bench.tasks) perRound[task.name].push((task.result.latency.p50 * 1e6) / BATCH)
  }
  await server.close()
  return perRound
}

module.exports = { runB1 }

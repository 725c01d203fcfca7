'use strict'

// B1: the cost of an awaited cache hit, next to the seed rule's own cache
// read and the floor (awaiting an already-known string), in one process.
// Each tinybench sample runs BATCH awaited calls, so the timer's own cost
// does not swamp a ~100 ns operation; figures are ns per call.

const m2m = require('..')
const { seedCachedRead } = require('./peers/seed-rule')
const { startTokenServer } = require('./lib/server')

const BATCH = 1000

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

  // One loop written out per case: a shared loop helper would share one call
  // site's type feedback across cases and make every case pay for all.
  const id = options.clientId
  const cases = {
    floor: async () => {
      for (let i = 0; i < BATCH; i++) await floor()
    },
    seed: async () => {
      for (let i = 0; i < BATCH; i++) await seedCachedRead(id)
    },
    client: async () => {
      for (let i = 0; i < BATCH; i++) await client.getToken()
    },
    freshOptions: async () => {
      for (let i = 0; i < BATCH; i++) {
        await m2m.getToken({ tokenUrl: options.tokenUrl, clientId: id, clientSecret: options.clientSecret })
      }
    },
    clientCallback: async () => {
      for (let i = 0; i < BATCH; i++) await new Promise((resolve) => client.getToken((err, token) => resolve(token)))
    },
    seedCallback: async () => {
      for (let i = 0; i < BATCH; i++) await new Promise((resolve) => seedCallback((err, token) => resolve(token)))
    },
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

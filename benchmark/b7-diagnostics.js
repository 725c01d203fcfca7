'use strict'

// B7: what a diagnostics_channel subscriber costs a cache hit. The same hit
// cases as B1, each measured with nobody subscribed and with a subscriber on
// all three m2m-token channels, in the same rounds. A hit sends no request,
// so it has nothing to publish: the goal is that it costs the same either
// way. Figures are ns per call (the tinybench sample median ÷ BATCH);
// ratios are taken within each round, then the median over rounds.
//
//   node benchmark/b7-diagnostics.js        prints the table (BENCH_ROUNDS, default 15)

const diagnostics = require('node:diagnostics_channel')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const BATCH = 1000
const CHANNELS = ['m2m-token:fetch:start', 'm2m-token:fetch:end', 'm2m-token:invalidate']

// What a real subscriber does with a message, kept cheap: count it.
let published = 0
const onMessage = () => {
  published++
}
const subscribe = () => {
  for (const name of CHANNELS) diagnostics.subscribe(name, onMessage)
}
const unsubscribe = () => {
  for (const name of CHANNELS) diagnostics.unsubscribe(name, onMessage)
}

const LABELS = {
  floor: 'floor: `await` of a known string (async fn)',
  client: '`await client.getToken()`',
  info: '`await client.getTokenInfo()`',
  freshOptions: '`await getToken(options)`, a fresh options literal each call',
}

async function run({ rounds }) {
  const { Bench } = await import('tinybench')
  const server = await startTokenServer({ expiresIn: 86400 })
  const url = server.url
  const id = 'b7-client'
  const secret = 'b7-secret'
  const client = new m2m.TokenClient({ tokenUrl: url, clientId: id, clientSecret: secret })
  const known = await client.getToken()
  await m2m.getToken({ tokenUrl: url, clientId: id, clientSecret: secret })
  const floor = async () => known

  // One loop written out per case (as in B1): a shared loop would share one
  // call site's type feedback across cases. The `Sub` cases are the same
  // loops, run while the subscriber is on.
  const cases = {
    floor: async () => {
      for (let i = 0; i < BATCH; i++) await floor()
    },
    client: async () => {
      for (let i = 0; i < BATCH; i++) await client.getToken()
    },
    clientSub: async () => {
      for (let i = 0; i < BATCH; i++) await client.getToken()
    },
    info: async () => {
      for (let i = 0; i < BATCH; i++) await client.getTokenInfo()
    },
    infoSub: async () => {
      for (let i = 0; i < BATCH; i++) await client.getTokenInfo()
    },
    freshOptions: async () => {
      for (let i = 0; i < BATCH; i++) await m2m.getToken({ tokenUrl: url, clientId: id, clientSecret: secret })
    },
    freshOptionsSub: async () => {
      for (let i = 0; i < BATCH; i++) await m2m.getToken({ tokenUrl: url, clientId: id, clientSecret: secret })
    },
  }
  const hooks = (name) => (name.endsWith('Sub') ? { beforeAll: subscribe, afterAll: unsubscribe } : {})
  const perRound = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time: 100, warmupTime: 25 })
    for (const [name, fn] of Object.entries(cases)) bench.add(name, fn, hooks(name))
    await bench.run()
    for (const task of bench.tasks) perRound[task.name].push((task.result.latency.p50 * 1e6) / BATCH)
  }
  unsubscribe()
  const requests = server.count
  await server.close()
  return { rounds, perRound, published, requests }
}

const ratios = (r, name, base) => r[name].map((v, i) => v / r[base][i])

function report({ rounds, perRound: r, published: messages, requests }) {
  const row = (name) => [
    LABELS[name],
    spread(r[name], 1),
    spread(r[`${name}Sub`], 1),
    `**${spread(ratios(r, `${name}Sub`, name), 2)}**`,
    fixed(median(ratios(r, name, 'floor')), 2),
  ]
  return [
    '## B7 — cache hit with a diagnostics_channel subscriber',
    '',
    `ns per call, median of ${rounds} rounds (min–max); in each round, the median of tinybench samples of ${BATCH.toLocaleString('en')} calls each. ` +
      'The subscriber listens on `m2m-token:fetch:start`, `m2m-token:fetch:end` and `m2m-token:invalidate` (it counts messages), ' +
      'and is on only while the "with" case runs. Ratios are taken within each round, then the median (min–max) over rounds. ' +
      `Goal: unchanged (÷ ≈ 1.00). Token requests in the whole run: ${requests}; messages published: ${messages} (a hit has nothing to publish).`,
    '',
    table(
      ['hit', 'ns, no subscriber', 'ns, with subscriber', 'with ÷ without', 'no subscriber ÷ floor'],
      ['client', 'info', 'freshOptions'].map(row),
    ),
    '',
    `Floor (\`await\` of a known string): ${spread(r.floor, 1)} ns.`,
    '',
  ]
}

function summary({ perRound: r }) {
  const ratio = median(ratios(r, 'clientSub', 'client'))
  return {
    target: 'B7 hit with a diagnostics_channel subscriber ÷ without',
    figure: `${fixed(ratio, 2)}× (${fixed(median(r.clientSub), 1)} ns vs ${fixed(median(r.client), 1)} ns, awaited \`client.getToken()\`)`,
    goal: 'unchanged (≤ 1.05×)',
    met: ratio <= 1.05,
  }
}

module.exports = { run, report, summary }

if (require.main === module) require('./lib/standalone').runStandalone(module.exports, { rounds: Number(process.env.BENCH_ROUNDS || 15) })

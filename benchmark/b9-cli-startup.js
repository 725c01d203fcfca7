'use strict'

// B9: the wall time of one `m2m-token` run answered from the file store,
// next to `node -e ""` (a Node process that does nothing) on the same
// machine. Every run of the command is a new process, so this is what a
// shell script or a cron job pays per token once the store holds one.
// For context, the same table shows the bin alone (`--version`, which never
// loads the library), loading the library, and a run with `--store memory`
// (one token request per run, against the loopback server). Then where the
// time of a run from the store goes, phase by phase (b9-profile.js).
//
// Runs are started with an asynchronous spawn (the token server lives in
// this process and must keep answering), one case after the other within a
// round so that drift in CPU speed hits every case alike; ratios are taken
// within each round, then the median (min–max) over rounds is reported.
//
//   node benchmark/b9-cli-startup.js            prints the markdown table
//   BENCH_ROUNDS=3 node benchmark/b9-cli-startup.js

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { performance } = require('node:perf_hooks')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')
const { profile, profileTable } = require('./b9-profile')

const ROOT = path.join(__dirname, '..')
const BIN = path.join(ROOT, 'bin', 'm2m-token.js')
const RUNS_PER_ROUND = 10
const GOAL = 1.3

/** Wall time in ms of `node ...args` from spawn to exit, and what it printed. */
function timeRun(args, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out = []
    const err = []
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => err.push(c))
    child.on('error', reject)
    child.on('close', (status) => {
      const ms = performance.now() - t0
      const stderr = Buffer.concat(err).toString()
      if (status !== 0) return reject(new Error(`node ${args.join(' ')} exited ${status}: ${stderr}`))
      resolve({ ms, stdout: Buffer.concat(out).toString() })
    })
  })
}

async function run({ rounds = Number(process.env.BENCH_ROUNDS || 5) } = {}) {
  const server = await startTokenServer({ expiresIn: 86400 })
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-cli-'))
  const env = { ...process.env, M2M_CLIENT_SECRET: 'b7-secret' }
  for (const name of ['M2M_TOKEN_STORE', 'M2M_CLIENT_ID', 'AUTH0_CLIENT_ID', 'AUTH0_DOMAIN']) delete env[name]
  const command = (clientId, store) => [BIN, '--token-url', server.url, '--client-id', clientId, '--store', store]
  const CASES = {
    node: ['-e', ''],
    version: [BIN, '--version'],
    library: ['-e', `require(${JSON.stringify(ROOT)})`],
    store: command('b7-store', `file:${storeDir}`),
    memory: command('b7-memory', 'memory'),
  }
  try {
    // Fill the store: every later run of the store case should be answered from it.
    const filled = (await timeRun(CASES.store, env)).stdout
    const times = Object.fromEntries(Object.keys(CASES).map((name) => [name, []]))
    let notFromStore = 0
    for (let round = 0; round < rounds; round++) {
      const samples = Object.fromEntries(Object.keys(CASES).map((name) => [name, []]))
      for (let i = 0; i < RUNS_PER_ROUND; i++) {
        for (const [name, args] of Object.entries(CASES)) {
          const { ms, stdout } = await timeRun(args, env)
          samples[name].push(ms)
          if (name === 'store' && stdout !== filled) notFromStore++
        }
      }
      for (const name of Object.keys(CASES)) times[name].push(median(samples[name]))
    }
    const requestsOf = (clientId) => server.requests.filter((r) => r.form.client_id === clientId).length
    return {
      profile: await profile({ runs: rounds * RUNS_PER_ROUND }),
      rounds,
      runs: rounds * RUNS_PER_ROUND,
      times,
      storeRequests: requestsOf('b7-store'),
      memoryRequests: requestsOf('b7-memory'),
      notFromStore,
    }
  } finally {
    await server.close()
    fs.rmSync(storeDir, { recursive: true, force: true })
  }
}

/** Per-round ratios of `name` to `node -e ""`. */
const ratios = (times, name) => times[name].map((ms, round) => ms / times.node[round])

function report(r) {
  const row = (label, name) => [
    label,
    spread(r.times[name], 1),
    name === 'node' ? '1.00' : spread(ratios(r.times, name), 2),
  ]
  const storeRow = row('**`m2m-token`, answered from the file store**', 'store')
  storeRow[2] = `**${storeRow[2]}**`
  return [
    '## B9 — a command-line run answered from the file store',
    '',
    `Wall time of one process, spawn to exit, in ms: per round the median of ${RUNS_PER_ROUND} runs of each case ` +
      `(cases interleaved), then the median (min–max) over ${r.rounds} rounds; ratios are taken within each round. ` +
      `The store was filled by one run first. Target: ≤ ${GOAL}× \`node -e ""\`.`,
    '',
    table(
      ['case', 'ms per run', '÷ `node -e ""`'],
      [
        row('`node -e ""`', 'node'),
        row('`m2m-token --version` (the bin alone, the library not loaded)', 'version'),
        row('`node -e "require(\'m2m-token\')"` (the library and its addon)', 'library'),
        storeRow,
        row('`m2m-token --store memory` (one token request per run)', 'memory'),
      ],
    ),
    '',
    `Token requests: ${r.storeRequests} for the ${r.runs + 1} runs sharing the file store (the fill included)` +
      `${r.notFromStore ? `, ${r.notFromStore} runs printed another token than the fill` : ''}; ` +
      `${r.memoryRequests} for the ${r.runs} runs with \`--store memory\`.`,
    '',
    `Where the time of a run from the store goes: the median of ${r.profile.runs} runs of ` +
      '`node -r benchmark/b9-profile.js bin/m2m-token.js …`, each next to a `node -e ""` ' +
      '(`node benchmark/b9-profile.js` prints this table alone); the preload adds its own loading to the first row. ' +
      `${r.profile.requests} token request${r.profile.requests === 1 ? '' : 's'} for the ${r.profile.runs + 1} runs.`,
    '',
    profileTable(r.profile),
    '',
  ]
}

function summary(r) {
  const ratio = median(ratios(r.times, 'store'))
  return {
    target: 'B9 `m2m-token` run from the file store ÷ `node -e ""`',
    figure: `${fixed(ratio, 2)}× (${fixed(median(r.times.store), 1)} ms vs ${fixed(median(r.times.node), 1)} ms); ` +
      `${r.storeRequests} token request${r.storeRequests === 1 ? '' : 's'} for ${r.runs + 1} runs`,
    goal: `≤ ${GOAL}×; 1 request`,
    met: ratio <= GOAL && r.storeRequests === 1 && r.notFromStore === 0,
  }
}

module.exports = { run, report, summary }

if (require.main === module) {
  run().then(
    (r) => {
      const s = summary(r)
      console.log(report(r).join('\n'))
      console.log(`| ${s.target} | ${s.figure} | ${s.goal} | ${s.met ? 'yes' : '**no**'} |`)
    },
    (err) => {
      console.error(err)
      process.exitCode = 1
    },
  )
}

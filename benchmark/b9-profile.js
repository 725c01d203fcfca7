'use strict'

// Where the time of one `m2m-token` run answered from the file store goes
// (B9). Run as a script, it starts a loopback token server, fills a file
// store, then runs the command RUNS times with this same file preloaded
// (`node -r benchmark/b9-profile.js bin/m2m-token.js …`), and prints the
// median of each phase as a markdown table. Preloaded, it records when the
// bin starts, how long loading the library takes (and the napi loader and
// the addon within it), the token call, process.stdout's creation, and when
// the process emits 'exit'; the parent adds what comes after 'exit' (the
// addon's teardown) from the wall time it measured. B9
// (b9-cli-startup.js) puts the same table in its section of RESULTS.md.
//
//   node benchmark/b9-profile.js          RUNS=40 by default
//   RUNS=100 node benchmark/b9-profile.js

if (require.main === module) {
  profile({ runs: Number(process.env.RUNS || 40) }).then(
    (r) => console.log(`Median of ${r.runs} runs, ms (Node ${process.version}):\n\n${profileTable(r)}`),
    (err) => {
      console.error(err)
      process.exitCode = 1
    },
  )
} else if (process.env.M2M_B9_PROFILE === '1') {
  preloaded() // in a profiled run, preloaded with -r
}

/** In the profiled process: marks, reported on fd 3 as JSON when the process exits. */
function preloaded() {
  const { performance } = require('node:perf_hooks')
  const Module = require('node:module')
  const fs = require('node:fs')
  const marks = { stdout: 0 }
  const load = Module._load
  Module._load = function (request, parent, isMain) {
    if (isMain) marks.main = performance.now()
    const t0 = performance.now()
    const exports = load.apply(this, arguments)
    const ms = performance.now() - t0
    if (/[\\/]index\.js$/.test(request) && marks.library === undefined) {
      marks.library = ms
      marks.libraryEnd = performance.now()
      const getTokenInfo = exports.getTokenInfo
      exports.getTokenInfo = (...args) => {
        marks.call = performance.now()
        const p = getTokenInfo(...args)
        p.then(() => { marks.resolved = performance.now() }, () => {})
        return p
      }
    } else if (/binding\.js$/.test(request) && marks.loader === undefined) {
      marks.loader = ms
    } else if (/\.node$/.test(request) && marks.addon === undefined) {
      marks.addon = ms
    }
    return exports
  }
  const stdout = Object.getOwnPropertyDescriptor(process, 'stdout')
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: stdout.enumerable,
    get() {
      const t0 = performance.now()
      const stream = stdout.get.call(process)
      if (marks.stdout === 0) marks.stdout = performance.now() - t0
      return stream
    },
  })
  process.on('exit', () => {
    marks.exit = performance.now()
    marks.timeOrigin = performance.timeOrigin
    fs.writeSync(3, JSON.stringify(marks))
  })
}

/** Runs the command `runs` times preloaded, and `node -e ""` as many times; the medians of each phase. */
async function profile({ runs = 40 } = {}) {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const { spawn } = require('node:child_process')
  const { performance } = require('node:perf_hooks')
  const { startTokenServer } = require('./lib/server')
  const { median } = require('./lib/stats')

  const BIN = path.join(__dirname, '..', 'bin', 'm2m-token.js')
  const server = await startTokenServer({ expiresIn: 86400 })
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-bench-profile-'))
  const env = { ...process.env, M2M_CLIENT_SECRET: 'b9-secret', M2M_B9_PROFILE: '1' }
  for (const name of ['M2M_TOKEN_STORE', 'M2M_CLIENT_ID', 'AUTH0_CLIENT_ID', 'AUTH0_DOMAIN']) delete env[name]
  const args = [BIN, '--token-url', server.url, '--client-id', 'b9-profile', '--store', `file:${storeDir}`]

  /** One run of `node ...nodeArgs`: wall time and, when preloaded, the child's marks. */
  const run = (nodeArgs) => new Promise((resolve, reject) => {
    const startedAt = performance.timeOrigin + performance.now()
    const child = spawn(process.execPath, nodeArgs, { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] })
    const report = []
    child.stdout.resume()
    child.stderr.resume()
    child.stdio[3].on('data', (c) => report.push(c))
    child.on('error', reject)
    child.on('close', (status) => {
      const endedAt = performance.timeOrigin + performance.now()
      if (status !== 0) return reject(new Error(`node ${nodeArgs.join(' ')} exited ${status}`))
      const text = Buffer.concat(report).toString()
      resolve({ wall: endedAt - startedAt, endedAt, marks: text ? JSON.parse(text) : null })
    })
  })

  try {
    await run(['-r', __filename, ...args]) // fills the store
    const phases = {}
    const add = (name, ms) => (phases[name] ??= []).push(ms)
    for (let i = 0; i < runs; i++) {
      add('node', (await run(['-e', ''])).wall)
      const { wall, endedAt, marks: m } = await run(['-r', __filename, ...args])
      add('wall', wall)
      add('toMain', m.main)
      add('bin', m.libraryEnd - m.library - m.main)
      add('library', m.library)
      add('loader', m.loader - m.addon)
      add('addon', m.addon)
      add('call', m.resolved - m.call)
      add('stdout', m.stdout)
      add('output', m.exit - m.resolved)
      add('teardown', endedAt - (m.timeOrigin + m.exit))
    }
    const medians = Object.fromEntries(Object.entries(phases).map(([name, xs]) => [name, median(xs)]))
    return { runs, medians, requests: server.requests.length }
  } finally {
    await server.close()
    fs.rmSync(storeDir, { recursive: true, force: true })
  }
}

/** The phases as a markdown table. */
function profileTable({ medians: m }) {
  const { table, fixed } = require('./lib/report')
  const ms = (name) => fixed(m[name], 2)
  return table(['phase', 'ms'], [
    ['process start → the bin starts (Node itself, and the `-r` of this profile)', ms('toMain')],
    ['the bin: compile, parse the arguments, read the secret', ms('bin')],
    ['`require(\'../index.js\')`: the library and its addon', ms('library')],
    ['— of which the napi loader (`binding.js`), the addon not counted', ms('loader')],
    ['— of which loading the addon (dlopen, module init)', ms('addon')],
    ['`getTokenInfo()` until its promise settles (the file store read)', ms('call')],
    ['settled → `exit` event (printing the token)', ms('output')],
    ['— of which creating `process.stdout`', ms('stdout')],
    ['`exit` event → process gone (teardown, seen by the parent)', ms('teardown')],
    ['**wall, spawn → exit**', `**${ms('wall')}**`],
    ['`node -e ""`, same rounds', ms('node')],
  ])
}

module.exports = { profile, profileTable }

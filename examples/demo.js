'use strict'

// What m2m-token does, in a few seconds, against a token server of our own
// on 127.0.0.1 (no network, no Auth0 tenant needed). Run: npm start

const { Worker } = require('node:worker_threads')
const { fork } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const m2m = require('..')
const { startTokenServer } = require('../__test__/helpers/token-server')

const CALLERS = 1000
const WORKERS = 4
const CALLERS_PER_WORKER = 100
const HIT_ROUNDS = 1_000_000
const PROCESSES = 4

function heading(text) {
  console.log(process.stdout.isTTY ? `\n\x1b[1m${text}\x1b[0m` : `\n${text}`)
}

const redact = (token) => `${token.slice(0, 6)}…`
const show = (value) => require('node:util').inspect(value, { breakLength: Infinity, colors: process.stdout.isTTY })

// The rule people paste today (../shared/seed/rule-snippet.txt), ported to
// fetch as-is: a per-isolate global cache checked before every request.
function seedRuleGetToken(tokenUrl, clientId, clientSecret) {
  const cached = global[clientId + '_token']
  if (cached && cached.expirationDate > Date.now()) return Promise.resolve(cached.accessToken)
  return fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, grant_type: 'client_credentials' }),
  })
    .then((res) => res.json())
    .then((body) => {
      global[clientId + '_token'] = { accessToken: body.access_token, expirationDate: Date.now() + (body.expires_in - 60) * 1000 }
      return body.access_token
    })
}

// Times HIT_ROUNDS awaited calls after a warm-up. Each case gets its own
// copy of the loop (new Function), so one case's type feedback does not
// slow the other's call site.
function timer(call) {
  const loop = new Function('fn', 'rounds', `return (async () => {
    for (let i = 0; i < 10000; i++) await fn()
    const start = process.hrtime.bigint()
    for (let i = 0; i < rounds; i++) await fn()
    return Number(process.hrtime.bigint() - start) / rounds
  })()`)
  return loop(call, HIT_ROUNDS)
}

function runWorker(options) {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads')
    const m2m = require(workerData.pkg)
    const client = new m2m.TokenClient(workerData.options)
    Promise.all(Array.from({ length: workerData.callers }, () => client.getTokenInfo()))
      .then((infos) => parentPort.postMessage(infos.map((i) => i.accessToken)))`
  const worker = new Worker(code, {
    eval: true,
    workerData: { pkg: path.join(__dirname, '..'), options, callers: CALLERS_PER_WORKER },
  })
  return new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
}

async function main() {
  // The server takes 50 ms per token, like a real (fast) authorization server.
  const server = await startTokenServer({ delayMs: 50, expiresIn: 86400 })
  console.log(`token server listening on ${server.url}`)
  const options = { tokenUrl: server.url, clientId: 'demo-client', clientSecret: 'demo-secret' }

  heading(`1. ${CALLERS.toLocaleString()} concurrent callers, cold cache`)
  const tokens = await Promise.all(Array.from({ length: CALLERS }, () => m2m.getToken(options)))
  const ours = server.count
  server.reset()
  await Promise.all(Array.from({ length: CALLERS }, () => seedRuleGetToken(server.url, 'seed-client', 'demo-secret')))
  console.log(`   m2m-token:       ${ours} token request, ${new Set(tokens).size} distinct token`)
  console.log(`   the pasted rule: ${server.count} token requests`)

  heading('2. Cost of a cache hit, next to plain JS reads (same run)')
  const client = new m2m.TokenClient(options)
  const entry = { accessToken: tokens[0], expirationDate: Date.now() + 3_600_000 }
  global[`${options.clientId}_token`] = entry
  // The pasted rule's read: the key built from a runtime client id, looked up on `global`.
  async function ruleRead(clientId) {
    const cached = global[clientId + '_token']
    if (cached && cached.expirationDate > Date.now()) return cached.accessToken
  }
  // A plain JS cache at its best: the entry in a variable, the same expiry check.
  async function plainRead() {
    if (entry.expirationDate > Date.now()) return entry.accessToken
  }
  const hit = await timer(() => client.getToken())
  const rule = await timer(() => ruleRead(options.clientId))
  const plain = await timer(plainRead)
  const row = (label, value) => console.log(`   ${label.padEnd(54)} ${value.toFixed(0).padStart(4)} ns`)
  row('await client.getToken()   (m2m-token)', hit)
  row("await the pasted rule's read: global[id + '_token']", rule)
  row('await a JS variable read + expiry check', plain)
  console.log(`   → m2m-token ÷ rule read ${(hit / rule).toFixed(2)}×, ÷ variable read ${(hit / plain).toFixed(2)}×  (ns per awaited call)`)

  heading(`3. ${WORKERS} worker threads × ${CALLERS_PER_WORKER} callers share the process-wide cache`)
  m2m.clearCache()
  server.reset()
  const fromWorkers = await Promise.all(Array.from({ length: WORKERS }, () => runWorker(options)))
  console.log(`   distinct tokens across workers: ${new Set(fromWorkers.flat()).size}`)
  console.log(`   token requests for all workers: ${server.count}`)

  heading('4. getTokenInfo() (token redacted here; m2m-token never prints it)')
  const info = await m2m.getTokenInfo(options)
  console.log('  ', show({ ...info, accessToken: redact(info.accessToken), expiresAt: new Date(info.expiresAt).toISOString() }))
  console.log('   util.inspect(client):', show(client))

  heading('5. stats(), exact across all threads')
  console.log('  ', show(m2m.stats()))
  console.log('   (hits include the timing loop above)')

  heading(`6. ${PROCESSES} processes, cold at once, share one token through a sealed file store`)
  server.reset()
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-token-demo-'))
  try {
    const answers = await Promise.all(Array.from({ length: PROCESSES }, () => runProcess({ ...options, store: `file:${storeDir}` })))
    console.log(`   distinct tokens across processes: ${new Set(answers.map((a) => a.token)).size}`)
    console.log(`   token requests for all processes: ${server.count}` +
      `  (taken from the store: ${answers.reduce((n, a) => n + a.storeHits, 0)})`)
    console.log(`   store files (names derived from the credential): ${fs.readdirSync(storeDir).filter((f) => f.endsWith('.tok')).map((f) => `${f.slice(0, 12)}…`).join(', ')}`)
  } finally {
    fs.rmSync(storeDir, { recursive: true, force: true })
  }

  await server.close()

  heading(`7. A rate-limited endpoint (every answer 429, Retry-After: 30): ${PROCESSES} processes share the window`)
  const limited = await startTokenServer({ respond: () => ({ status: 429, headers: { 'retry-after': '30' }, body: { error: 'too_many_requests' } }) })
  const windowDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-token-demo-'))
  try {
    const limitedOptions = { ...options, tokenUrl: limited.url, store: `file:${windowDir}` }
    const started = Date.now()
    const answers = await Promise.all(Array.from({ length: PROCESSES }, () => runProcess(limitedOptions)))
    const errors = answers.map((a) => a.error)
    console.log(`   every call: ${[...new Set(errors.map((e) => e && `${e.code}, retryAfter ${e.retryAfter} s`))].join(' / ')}` +
      ` (all answered within ${Date.now() - started} ms)`)
    console.log(`   requests the endpoint received: ${limited.count}  (each process asking on its own would send ${PROCESSES})`)
  } finally {
    await limited.close()
    fs.rmSync(windowDir, { recursive: true, force: true })
  }
}

/** A separate Node process (this file, as a child) that gets one token and reports it. */
function runProcess(options) {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child'], { serialization: 'advanced' })
    child.once('message', (answer) => resolve(answer))
    child.once('error', reject)
    child.once('exit', (code) => code !== 0 && reject(new Error(`demo child exited with ${code}`)))
    child.send(options)
  })
}

if (process.argv[2] === '--child') {
  process.once('message', async (options) => {
    try {
      const token = await m2m.getToken(options)
      process.send({ token, storeHits: m2m.stats().storeHits }, () => process.disconnect())
    } catch (err) {
      process.send({ error: { code: err.code, retryAfter: err.retryAfter } }, () => process.disconnect())
    }
  })
} else {
  main().catch((err) => {
    console.error(err)
    process.exitCode = 1
  })
}

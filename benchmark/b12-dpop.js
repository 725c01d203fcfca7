'use strict'

// B12: DPoP (RFC 9449), in the same run.
// 1. One proof: `client.getRequestHeaders(url)` on a cache hit (the token
//    from this thread's view, the proof from one synchronous call into
//    Rust) against the `dpop` npm package's `generateProof` (WebCrypto)
//    with the same algorithm, ES256, and the same token (`ath`). Calls are
//    awaited one at a time, in alternating batches. Goal: ≤ 1/3 of its cost.
// 2. A request: `client.fetch(url)` with a DPoP-bound token against a bare
//    `fetch(url)` with `Authorization: DPoP <token>` and a proof from that
//    package, on a loopback API. Goal: no slower (≤ 1.00×).
//
//   node benchmark/b12-dpop.js      prints the markdown tables

const { performance } = require('node:perf_hooks')
const { startApi } = require('./lib/api')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const PROOF_BATCH = 2000
const REQUEST_BATCH = 200

/** A DPoP-bound token (as the server says) for a client with the derived ES256 key. */
async function dpopClient(tokens, clientId) {
  const client = new m2m.TokenClient({ tokenUrl: tokens.url, clientId, clientSecret: 'b12-secret', dpop: true })
  const info = await client.getTokenInfo()
  if (info.tokenType !== 'DPoP') throw new Error(`expected a DPoP token, got ${info.tokenType}`)
  return { client, token: info.accessToken }
}

/** Alternates `a` and `b` in batches of `batch` awaited calls; µs per call of each. */
async function alternate(rounds, batch, a, b) {
  const perRound = { a: [], b: [], ratio: [] }
  async function timeBatch(fn) {
    const t0 = performance.now()
    for (let i = 0; i < batch; i++) await fn()
    return ((performance.now() - t0) * 1000) / batch
  }
  await timeBatch(a) // warm-up: JIT, connections
  await timeBatch(b)
  for (let r = 0; r < rounds; r++) {
    let ta
    let tb
    if (r % 2 === 0) {
      ta = await timeBatch(a)
      tb = await timeBatch(b)
    } else {
      tb = await timeBatch(b)
      ta = await timeBatch(a)
    }
    perRound.a.push(ta)
    perRound.b.push(tb)
    perRound.ratio.push(ta / tb)
  }
  return perRound
}

async function run({ rounds = 15 } = {}) {
  const { generateKeyPair, generateProof } = await import('dpop')
  const tokens = await startTokenServer({
    expiresIn: 86400,
    respond: (ctx) => {
      const r = ctx.defaultResponse()
      return { ...r, body: { ...r.body, token_type: 'DPoP' } }
    },
  })
  const api = await startApi('?page=1')
  try {
    const { client, token } = await dpopClient(tokens, 'b12-dpop')
    const keypair = await generateKeyPair('ES256')
    const url = api.url
    const htu = url.split('?')[0]

    const proof = await alternate(rounds, PROOF_BATCH,
      () => client.getRequestHeaders(url),
      () => generateProof(keypair, htu, 'GET', undefined, token))

    const requestsBefore = tokens.count
    const bare = async () => {
      const dpop = await generateProof(keypair, htu, 'GET', undefined, token)
      return (await fetch(url, { headers: { authorization: `DPoP ${token}`, dpop } })).text()
    }
    const ours = async () => (await client.fetch(url)).text()
    const request = await alternate(rounds, REQUEST_BATCH, ours, bare)
    return { rounds, proof, request, requestsDuring: tokens.count - requestsBefore }
  } finally {
    await api.close()
    await tokens.close()
  }
}

function report({ rounds, proof, request, requestsDuring }) {
  return [
    '## B12 — DPoP: one proof, and a request with it',
    '',
    `µs per call, median of ${rounds} rounds (min–max); each round awaits ${PROOF_BATCH} proofs (or ${REQUEST_BATCH} requests, ` +
      'body read) of each case one at a time, the cases in alternating order, and the ratio is taken within the round. ' +
      'Both sides sign ES256 proofs with `ath` for the same token; m2m-token\'s key is the one derived from the client secret.',
    '',
    table(['case', 'µs per call', 'ratio', 'goal'], [
      ['`dpop` 2.1 `generateProof(keypair, htu, "GET", undefined, token)` (WebCrypto)', spread(proof.b, 1), '1.00', ''],
      ['**m2m-token `client.getRequestHeaders(url)`** on a hit (token and proof)', spread(proof.a, 1), `**${spread(proof.ratio, 3)}**`, '≤ 0.333'],
      ['bare `fetch(url)` with `authorization` and a `dpop` proof from that package', spread(request.b, 1), '1.00', ''],
      ['**m2m-token `client.fetch(url)`** with a DPoP-bound token', spread(request.a, 1), `**${spread(request.ratio, 3)}**`, '≤ 1.00'],
    ]),
    '',
    `Token requests during the timed rounds: ${requestsDuring}.`,
    '',
  ]
}

function summary({ proof, request }) {
  const proofRatio = median(proof.ratio)
  const requestRatio = median(request.ratio)
  return {
    target: 'B12 DPoP proof (`getRequestHeaders` on a hit) ÷ `dpop` `generateProof`; `client.fetch` ÷ bare fetch with that proof',
    figure: `${fixed(proofRatio, 3)}× (${fixed(median(proof.a), 1)} µs vs ${fixed(median(proof.b), 1)} µs); ` +
      `${fixed(requestRatio, 3)}× (${fixed(median(request.a), 1)} µs vs ${fixed(median(request.b), 1)} µs)`,
    goal: '≤ 0.333×; ≤ 1.00×',
    met: proofRatio <= 1 / 3 && requestRatio <= 1,
  }
}

module.exports = { run, report, summary }

if (require.main === module) require('./lib/standalone').runStandalone(module.exports, { rounds: Number(process.env.BENCH_ROUNDS || 5) * 3 })

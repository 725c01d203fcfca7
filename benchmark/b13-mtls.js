'use strict'

// B13: mutual TLS. Against one loopback HTTPS token server that requires a
// client certificate from a test CA (and an HTTPS resource that does too):
//   - a cold token request over mTLS: m2m-token (`clearCache()` + a
//     client with `cert`/`key`) next to the auth0 SDK v7's documented
//     `useMTLS` path (its TokenProvider with a `fetch` carrying an undici
//     Agent with the certificate; a fresh provider per call, as a new
//     process has). Both keep their connections alive; calls alternate.
//   - a call to the mTLS resource with a cached token: `client.fetch(url)`
//     next to the SDK path (its provider's cached token + Node's fetch with
//     the Agent and a hand-set header).
//   - a cache hit (`await client.getToken()`) of a client with a
//     certificate next to one without: the certificate costs a hit nothing.
// Certificates are made at the start with openssl (__test__/helpers/certificates.js).

const { performance } = require('node:perf_hooks')
const https = require('node:https')
const m2m = require('..')
const { startTokenServer } = require('./lib/server')
const { createAuth0MtlsPeer, certificateAgent } = require('./peers/auth0-v7-mtls')
const { makeCa } = require('../__test__/helpers/certificates')
const { median, spread } = require('./lib/stats')
const { table, fixed } = require('./lib/report')

const COLD = 200
const CALLS = 400
const WARMUP = 20
const HIT_BATCH = 1000

async function startResource(tls) {
  const server = https.createServer({ ...tls, requestCert: true }, (req, res) => {
    req.resume()
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end('{"ok":true}')
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `https://127.0.0.1:${server.address().port}/users`, close: () => { server.closeAllConnections(); server.close() } }
}

/** µs per call of `fn`, `n` calls after WARMUP; `pairs` alternate so drift hits all alike. */
async function alternate(cases, n) {
  const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]))
  for (let i = 0; i < n + WARMUP; i++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = performance.now()
      await fn()
      if (i >= WARMUP) times[name].push((performance.now() - t0) * 1000)
    }
  }
  return times
}

async function hitNs(getToken) {
  const t0 = performance.now()
  for (let i = 0; i < HIT_BATCH; i++) await getToken()
  return ((performance.now() - t0) * 1e6) / HIT_BATCH
}

async function run({ rounds = 5 } = {}) {
  const ca = makeCa()
  const serverCert = ca.issue({ cn: 'server', ip: ['127.0.0.1'] })
  const clientCert = ca.issue({ cn: 'b13-client', kind: 'ec', dns: ['b13.clients.test'] })
  const tls = { key: serverCert.key, cert: serverCert.cert, ca: ca.cert }
  const server = await startTokenServer({ expiresIn: 86400, tls: { ...tls, requestCert: true } })
  const plainServer = await startTokenServer({ expiresIn: 86400, tls }) // no client certificate asked
  const resource = await startResource(tls)
  const secret = 'b13-secret'
  const domain = 'b13.tenant.invalid'
  const audience = `https://${domain}/api/v2/`
  const base = { tokenUrl: server.url, clientSecret: secret, ca: ca.cert, audience }
  const bound = new m2m.TokenClient({ ...base, clientId: 'b13-ours', cert: clientCert.cert, key: clientCert.key })
  const plain = new m2m.TokenClient({ ...base, tokenUrl: plainServer.url, clientId: 'b13-plain' })
  const agent = certificateAgent({ cert: clientCert.cert, key: clientCert.key, ca: ca.cert })
  const peer = createAuth0MtlsPeer({ origin: server.origin, domain, clientId: 'b13-auth0', clientSecret: secret, audience, agent })

  const before = { ours: m2m.stats().requests, server: server.count }
  const cold = await alternate({
    ours: async () => {
      m2m.clearCache()
      return bound.getToken()
    },
    auth0: async () => {
      peer.forget()
      return peer.getToken()
    },
  }, COLD)
  const ourRequests = m2m.stats().requests - before.ours
  const serverRequests = server.count - before.server

  await bound.getToken()
  await plain.getToken()
  const peerToken = await peer.getToken()
  const call = await alternate({
    ours: async () => (await bound.fetch(resource.url)).arrayBuffer(),
    auth0: async () => {
      const response = await fetch(resource.url, { dispatcher: agent, headers: { authorization: `Bearer ${await peer.getToken()}` } })
      return response.arrayBuffer()
    },
  }, CALLS)

  const hits = { bound: [], plain: [] }
  for (let r = 0; r < rounds * 3; r++) {
    hits.bound.push(await hitNs(() => bound.getToken()))
    hits.plain.push(await hitNs(() => plain.getToken()))
  }
  await agent.close()
  resource.close()
  await server.close()
  await plainServer.close()
  return { cold, call, hits, ourRequests, serverRequests, peerToken: typeof peerToken === 'string' }
}

function report({ cold, call, hits, ourRequests, serverRequests }) {
  const ratio = (a, b) => fixed(median(a) / median(b), 2)
  return [
    '## B13 — mutual TLS: a cold token request, client.fetch to an mTLS resource, a hit',
    '',
    'A loopback HTTPS token server and resource that both require a client certificate from a test CA (EC P-256 client ' +
      'certificate, made with openssl at the start). The auth0 SDK v7 peer is its documented `useMTLS` path: its ' +
      '`TokenProvider` (what `ManagementClient` uses) with a `fetch` that passes an undici `Agent({ connect: { cert, key, ca } })` ' +
      `(\`peers/auth0-v7-mtls.js\`). µs per call: median (min–max) of ${COLD} (cold) and ${CALLS} (resource) alternating calls after ` +
      `${WARMUP} warm-up pairs; both keep connections alive. Token requests seen by the server during the cold rows: ${serverRequests} ` +
      `(ours: ${ourRequests}).`,
    '',
    table(
      ['case', 'µs', '÷ auth0 SDK v7 useMTLS'],
      [
        ['**m2m-token** cold: `clearCache()` + `await client.getToken()` (client with `cert`, `key`)', spread(cold.ours), `**${ratio(cold.ours, cold.auth0)}**`],
        ['auth0 SDK v7 cold: a new `TokenProvider({ useMTLS: true, fetch })` + `getAccessToken()`', spread(cold.auth0), '1.00'],
        ['**m2m-token** `client.fetch(url)` to the mTLS resource, token cached', spread(call.ours), `**${ratio(call.ours, call.auth0)}**`],
        ['auth0 SDK v7: `getAccessToken()` (cached) + `fetch(url, { dispatcher: agent, headers })`', spread(call.auth0), '1.00'],
      ],
    ),
    '',
    `Cache hit, ns per \`await client.getToken()\` (median (min–max) of ${hits.bound.length} rounds of ${HIT_BATCH} calls):`,
    '',
    table(
      ['client', 'ns', '÷ without a certificate'],
      [
        ['with `cert` and `key`', spread(hits.bound), `**${ratio(hits.bound, hits.plain)}**`],
        ['without', spread(hits.plain), '1.00'],
      ],
    ),
    '',
  ]
}

function summary({ cold, call, hits }) {
  const coldRatio = median(cold.ours) / median(cold.auth0)
  const hitRatio = median(hits.bound) / median(hits.plain)
  return {
    target: 'B13 mutual TLS',
    figure: `cold ${fixed(median(cold.ours))} µs vs auth0 SDK v7 useMTLS ${fixed(median(cold.auth0))} µs (${fixed(coldRatio, 2)}×); ` +
      `client.fetch to an mTLS resource ${fixed(median(call.ours) / median(call.auth0), 2)}× the SDK path; ` +
      `hit ${fixed(median(hits.bound))} ns (${fixed(hitRatio, 2)}× a client without a certificate)`,
    goal: 'cold ≤ 1.00× the SDK path; hit ≤ 1.10× without mTLS',
    met: coldRatio <= 1 && hitRatio <= 1.1,
  }
}

module.exports = { run, report, summary }

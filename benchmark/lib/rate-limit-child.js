'use strict'

// One process of B10's fleet: `callers` concurrent calls of one peer against
// the token endpoint in argv[2] (JSON: { peer, tokenUrl, clientId,
// clientSecret, store, callers }); prints { ms: [...], codes: [...] } and exits.

const path = require('node:path')

const config = JSON.parse(process.argv[2])

function tokenSource() {
  const { peer, tokenUrl, clientId, clientSecret, store } = config
  if (peer === 'auth0') {
    const { createAuth0Peer } = require('../peers/auth0')
    return createAuth0Peer({ tokenUrl, clientId, clientSecret, audience: 'https://api.example/' })
  }
  const m2m = require(path.join(__dirname, '..', '..'))
  const client = new m2m.TokenClient({ tokenUrl, clientId, clientSecret, audience: 'https://api.example/', store })
  return { getToken: () => client.getToken() }
}

async function main() {
  const source = tokenSource()
  const calls = await Promise.all(Array.from({ length: config.callers }, async () => {
    const started = performance.now()
    try {
      await source.getToken()
      return { ms: performance.now() - started, code: 'ok' }
    } catch (err) {
      return { ms: performance.now() - started, code: err.code || err.name || 'error' }
    }
  }))
  process.stdout.write(JSON.stringify({ ms: calls.map((c) => c.ms), codes: calls.map((c) => c.code) }))
}

main().then(() => process.exit(0), (err) => {
  console.error(err)
  process.exit(1)
})

'use strict'

// One worker of B3: waits for the start signal, then runs `callers`
// concurrent cold token calls with the peer it was given.

const { parentPort, workerData } = require('node:worker_threads')
const { peer, tokenUrl, apiOrigin, callers, clientId, start } = workerData

function makeGetToken() {
  if (peer === 'm2m-token') {
    const m2m = require('..')
    const client = new m2m.TokenClient({ tokenUrl, clientId, clientSecret: 'b3-secret' })
    return () => client.getToken()
  }
  if (peer === 'seed rule') {
    const { seedGetToken } = require('./peers/seed-rule')
    return () => seedGetToken(tokenUrl, clientId, 'b3-secret', 'aud')
  }
  if (peer === 'undici-oidc-interceptor') {
    const { createUndiciOidcPeer } = require('./peers/undici-oidc')
    const p = createUndiciOidcPeer({ tokenUrl, clientId, clientSecret: 'b3-secret', apiOrigin })
    return () => p.getToken()
  }
  if (peer === 'auth0 SDK v4') {
    const { createAuth0Peer } = require('./peers/auth0')
    const p = createAuth0Peer({ tokenUrl, clientId, clientSecret: 'b3-secret', audience: 'aud' })
    return () => p.getToken()
  }
  throw new Error(`unknown peer ${peer}`)
}

const getToken = makeGetToken()
const flag = new Int32Array(start)
parentPort.postMessage('ready')
Atomics.wait(flag, 0, 0)
Promise.allSettled(Array.from({ length: callers }, getToken)).then((results) => {
  parentPort.postMessage(results.filter((r) => r.status === 'fulfilled').length)
  process.exit(0)
})

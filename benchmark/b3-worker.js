'use strict'

// One worker of B3: builds its peer, reports ready, waits for the start
// signal, then runs `callers` concurrent cold token calls and reports how
// many were answered.

const { parentPort, workerData } = require('node:worker_threads')
const { peer, tokenUrl, apiOrigin, callers, clientId, start } = workerData
const clientSecret = 'b3-secret'

function makeGetToken() {
  switch (peer) {
    case 'm2m-token': {
      const m2m = require('..')
      const client = new m2m.TokenClient({ tokenUrl, clientId, clientSecret })
      return () => client.getToken()
    }
    case 'seed rule': {
      const { seedGetToken } = require('./peers/seed-rule')
      return () => seedGetToken(tokenUrl, clientId, clientSecret, 'aud')
    }
    case 'undici-oidc-interceptor': {
      const { createUndiciOidcPeer } = require('./peers/undici-oidc')
      const p = createUndiciOidcPeer({ tokenUrl, clientId, clientSecret, apiOrigin })
      return () => p.getToken()
    }
    case 'auth0 SDK v7': {
      const { createAuth0Peer } = require('./peers/auth0')
      const p = createAuth0Peer({ tokenUrl, clientId, clientSecret, audience: 'aud' })
      return () => p.getToken()
    }
    case 'simple-oauth2 v5': {
      const { createSimpleOauth2Peer } = require('./peers/simple-oauth2')
      const p = createSimpleOauth2Peer({ tokenUrl, clientId, clientSecret })
      return () => p.getToken()
    }
  }
  throw new Error(`unknown peer ${peer}`)
}

const getToken = makeGetToken()
const flag = new Int32Array(start)
parentPort.postMessage('ready')
Atomics.wait(flag, 0, 0)
Promise.allSettled(Array.from({ length: callers }, getToken)).then((results) => {
  parentPort.postMessage(results.filter((r) => r.status === 'fulfilled').length)
})

'use strict'

// The auth0 SDK v7's documented mutual TLS path: `useMTLS: true`, which
// makes its TokenProvider (the one ManagementClient uses) ask
// `https://mtls.<domain>/oauth/token`, with a `fetch` the user builds to
// carry the client certificate: Node's fetch with an undici Agent holding
// cert and key. The tenant's name resolves nowhere here, so that fetch
// also sends `mtls.<domain>` to the loopback server; the SDK's own code
// runs unchanged.

const path = require('node:path')
const { Agent } = require('undici')
// Not in the package's `exports`; loaded by path (the class ManagementClient uses).
const { TokenProvider } = require(path.join(path.dirname(require.resolve('auth0-v7')), 'management/wrapper/token-provider.js'))

/** An undici Agent presenting the certificate, trusting `ca`: what the SDK's README has users build. */
function certificateAgent({ cert, key, ca }) {
  return new Agent({ connect: { cert, key, ca } })
}

function createAuth0MtlsPeer({ origin, domain, clientId, clientSecret, audience, agent }) {
  const alias = `https://mtls.${domain}`
  const options = {
    domain,
    clientId,
    clientSecret,
    audience,
    useMTLS: true,
    telemetry: false,
    fetch: (url, init) => fetch(String(url).replace(alias, origin), { ...init, dispatcher: agent }),
  }
  let provider = new TokenProvider(options)
  return {
    getToken: () => provider.getAccessToken(),
    /** A new provider, as a new process has: its next getToken is a token request. */
    forget() {
      provider = new TokenProvider(options)
    },
  }
}

module.exports = { createAuth0MtlsPeer, certificateAgent }

'use strict'

// The auth0 SDK v4's own token handling (the TokenProvider its
// ManagementClient uses: one pending promise per instance, 10 s leeway, no
// refresh ahead). It always builds `https://<domain>` URLs; the SDK accepts
// a custom `fetch`, which we use to send the same request over plain HTTP to
// the loopback server — the SDK's logic runs unchanged.

const path = require('node:path')
// Not in the package's `exports`; loaded by path (the class ManagementClient uses).
const { TokenProvider } = require(path.join(path.dirname(require.resolve('auth0')), 'management/token-provider.js'))

function createAuth0Peer({ tokenUrl, clientId, clientSecret, audience }) {
  const { host, origin } = new URL(tokenUrl)
  const provider = new TokenProvider({
    domain: host,
    clientId,
    clientSecret,
    audience,
    telemetry: false,
    fetch: (url, init) => fetch(String(url).replace(`https://${host}`, origin), init),
  })
  return { getToken: () => provider.getAccessToken() }
}

module.exports = { createAuth0Peer }

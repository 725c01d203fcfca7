'use strict'

// The auth0 SDK's own token handling, as its ManagementClient uses it: the
// `TokenProvider` of v7 (the major `npm install auth0` installs), which v7
// exports from its main entry (one pending promise per instance, 10 s
// leeway, no refresh ahead); and, where a figure differs, v4's (the same
// logic on `async`/`await` rather than v7's transpiled generators).
//
// Both always build `https://<domain>` URLs; both take a `fetch` option,
// through which the same request goes over plain HTTP to the loopback server
// — the SDK's own logic runs unchanged.

const path = require('node:path')

const overLoopback = (tokenUrl) => {
  const { host, origin } = new URL(tokenUrl)
  return { host, fetch: (url, init) => fetch(String(url).replace(`https://${host}`, origin), init) }
}

/** auth0 v7: `require('auth0').TokenProvider`. */
function createAuth0Peer({ tokenUrl, clientId, clientSecret, audience }) {
  const { TokenProvider } = require('auth0-v7')
  const { host, fetch } = overLoopback(tokenUrl)
  const provider = new TokenProvider({ domain: host, clientId, clientSecret, audience, telemetry: false, fetch })
  return { getToken: () => provider.getAccessToken() }
}

/** auth0 v4: not in the package's `exports`, so loaded by path (the class its ManagementClient uses). */
function createAuth0V4Peer({ tokenUrl, clientId, clientSecret, audience }) {
  const { TokenProvider } = require(path.join(path.dirname(require.resolve('auth0')), 'management/token-provider.js'))
  const { host, fetch } = overLoopback(tokenUrl)
  const provider = new TokenProvider({ domain: host, clientId, clientSecret, audience, telemetry: false, fetch })
  return { getToken: () => provider.getAccessToken() }
}

module.exports = { createAuth0Peer, createAuth0V4Peer }

'use strict'

// The headers that authorize one request, built in this one place for
// client.fetch, the undici interceptor and client.getRequestHeaders:
// `authorization: <tokenType> <token>` and, when the token is DPoP-bound,
// `dpop`: a fresh proof for that method and URL. The proof is made in Rust
// by one synchronous call (an async napi call alone would cost more than
// the proof); the token itself comes from this thread's view of the cache,
// so a hit still makes no Rust call for it. A server that answered a DPoP
// request with a Bearer token is taken at its word: no proof is sent.

const { invalidOptions } = require('./token-error')

/**
 * `nativeClient` is the client's native half, `view` its token on this
 * thread. Throws TokenError ERR_INVALID_OPTIONS when a proof cannot name
 * the request (not an http(s) URL, not a method name).
 */
function requestHeaders(nativeClient, view, url, method) {
  const authorization = `${view.tokenType} ${view.accessToken}`
  if (view.tokenType !== 'DPoP') return { authorization }
  let dpop
  try {
    dpop = nativeClient.dpopProof(method, url, view.accessToken)
  } catch (err) {
    throw invalidOptions(err.message)
  }
  return dpop === null ? { authorization } : { authorization, dpop }
}

module.exports = { requestHeaders }

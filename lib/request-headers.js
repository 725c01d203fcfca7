'use strict'

// The headers that authorize one request with a client's token, built in
// this one place for client.fetch, the undici interceptor and
// client.getRequestHeaders, so that each sends exactly the same.
//
// `token` is a thread view or a TokenInfo (both carry tokenType and
// accessToken); `url` and `method` name the request the headers are for.
// The token comes from JavaScript, so a cache hit makes no call into Rust
// for it. A DPoP-bound token (RFC 9449) also needs `dpop`: a fresh proof
// for that method and URL, made in Rust by ONE synchronous call (an async
// napi call alone costs more than the proof). A server that answered a
// DPoP request with a Bearer token is taken at its word: no proof.

const { invalidOptions } = require('./token-error')

/** The TokenClient method that makes a proof: (method, url, accessToken) => proof or null. */
const DPOP_PROOF = Symbol('m2m-token dpop proof')

/**
 * `{ authorization }` for one request, and `dpop` with a DPoP-bound token.
 * Throws TokenError ERR_INVALID_OPTIONS when no proof can name the request
 * (a URL that is not http or https).
 */
function requestHeaders(client, token, url, method) {
  const authorization = `${token.tokenType} ${token.accessToken}`
  if (token.tokenType !== 'DPoP') return { authorization }
  let dpop
  try {
    dpop = client[DPOP_PROOF](method, url, token.accessToken)
  } catch (err) {
    throw invalidOptions(err.message)
  }
  return dpop === null ? { authorization } : { authorization, dpop }
}

/** Names of the headers requestHeaders sets: a caller's own are replaced, in any case. */
const AUTHORIZING_HEADERS = new Set(['authorization', 'dpop'])

/** getRequestHeaders' arguments, checked: the URL as a string, the method upper-cased. */
function requestTarget(url, method) {
  let href
  if (url instanceof URL) href = url.href
  else if (typeof url === 'string') {
    try {
      href = new URL(url).href
    } catch {
      throw invalidOptions('url must be an absolute URL')
    }
  } else throw invalidOptions('url must be a string or a URL')
  if (method === undefined) method = 'GET'
  if (typeof method !== 'string' || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw invalidOptions('method must be an HTTP method name such as GET or POST')
  }
  return { url: href, method: normalizeMethod(method) }
}

// As fetch does: these six are upper-cased, any other method is sent as written.
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'])

function normalizeMethod(method) {
  const upper = method.toUpperCase()
  return NORMALIZED_METHODS.has(upper) ? upper : method
}

module.exports = { requestHeaders, requestTarget, normalizeMethod, AUTHORIZING_HEADERS, DPOP_PROOF }

'use strict'

// The headers that authorize one request with a client's token, built in
// this one place for client.fetch, the undici interceptor and
// client.getRequestHeaders, so that each sends exactly the same.
//
// `token` is a thread view or a TokenInfo (both carry tokenType and
// accessToken); `url` and `method` name the request the headers are for.
// Building them makes no call into Rust, so a cache hit stays in
// JavaScript.

const { invalidOptions } = require('./token-error')

/** `{ authorization }` for one request. */
function requestHeaders(client, token, url, method) {
  return { authorization: `${token.tokenType} ${token.accessToken}` }
}

/** Names of the headers requestHeaders sets: a caller's own are replaced, in any case. */
const AUTHORIZING_HEADERS = new Set(['authorization'])

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

module.exports = { requestHeaders, requestTarget, normalizeMethod, AUTHORIZING_HEADERS }

'use strict'

// client.fetch: Node's global fetch with the client's token in the
// Authorization header, and one recovery from a 401.
//
// - On a cache hit the token comes from this thread's view of the cache,
//   so the request path makes no call into Rust.
// - A 401 means the server refused the token the request carried: that
//   token (and only that one: compare and drop) is invalidated, then the
//   request is sent once more with a new token. Concurrent 401s for one
//   token share the one new token request (the cache's single flight,
//   fleet-wide with a store).
// - A body that is a stream cannot be sent twice, so such a request is
//   not resent; nor is a Request input with a body, since a Request does
//   not say whether its body came from a stream.
// - With a DPoP-bound token every send carries a fresh proof for its method
//   and URL (lib/request-headers.js). A 401 DPoP challenge with
//   error="use_dpop_nonce" and a DPoP-Nonce is answered by one resend with
//   a proof that carries the nonce, without invalidating the token; so a
//   call sends at most three times: once, once for a nonce, once with a
//   new token.
// - Node's fetch drops Authorization when a redirect leaves the origin
//   (every supported Node line; see __test__/smoke/fetch-redirect.js), so
//   the token never reaches another origin.

const { calls, HIT } = require('./thread-view')
const { requestHeaders, normalizeMethod, AUTHORIZING_HEADERS } = require('./request-headers')
const { rememberNonce, asksForNonce } = require('./dpop-nonce')

// Node's own fetch, Request and Headers, as they were when the module
// loaded: the redirect rule above is checked against them, not against
// whatever replaces them later. On Node 18 and 20, Request and Headers are
// accessors that load Node's fetch implementation on first read (about
// 25 ms); reading them here would make every process that loads the library
// pay that, client.fetch used or not (a run of the command pays it each
// time). So their property descriptors are kept now, and read on the first
// client.fetch call.
const nodeFetch = globalThis.fetch
const AT_LOAD = {
  Request: Object.getOwnPropertyDescriptor(globalThis, 'Request'),
  Headers: Object.getOwnPropertyDescriptor(globalThis, 'Headers'),
}
let nodeClasses = null

/** { Request, Headers } as they were when this module loaded. */
function classesAtLoad() {
  if (nodeClasses === null) nodeClasses = { Request: atLoad('Request'), Headers: atLoad('Headers') }
  return nodeClasses
}

function atLoad(name) {
  const then = AT_LOAD[name]
  if (then === undefined) return undefined
  if (!then.get) return then.value
  const now = Object.getOwnPropertyDescriptor(globalThis, name)
  if (now !== undefined && now.get === then.get) return globalThis[name] // untouched since: an ordinary read
  // Replaced (or deleted) since. Node's accessor turns the global into a plain
  // value when read, so the global is put back as the caller left it.
  if (now === undefined) Object.defineProperty(globalThis, name, { configurable: true, writable: true, value: undefined })
  const value = then.get.call(globalThis)
  if (now === undefined) delete globalThis[name]
  else Object.defineProperty(globalThis, name, now)
  return value
}

/**
 * The `fetch` of one client. `usableView(client)` is this thread's usable
 * view of the client's entry, or null; `dispatcherOf(client)` the undici
 * dispatcher that presents its client certificate, or null (see
 * lib/client.js).
 */
function createFetch(client, usableView, dispatcherOf) {
  // The token this thread last invalidated after a 401, so that 50
  // concurrent 401s for one token cost one invalidation, not 50.
  let refused = null

  function refuse(accessToken) {
    const view = usableView(client)
    // Again when this thread still holds it (the server handed out the
    // same token again): never leave a refused token in the cache.
    if (refused === accessToken && (view === null || view.accessToken !== accessToken)) return
    refused = accessToken
    client.invalidate(accessToken)
  }

  async function credential() {
    return client.getTokenInfo() // the slow path; rejects with the TokenError
  }

  /** One send with `view`'s token; with DPoP, the answer's nonce is kept (`nonceKept`). */
  async function send(request, view) {
    let headers
    try {
      headers = requestHeaders(client, view, String(request.url), request.method)
    } catch {
      // No proof names this URL (not http or https): fetch itself says why it
      // cannot send it, and it goes without the token.
      return nodeFetch(request.input, request.init)
    }
    // Headers are case-insensitive: this replaces an Authorization (and a DPoP) the caller set in any case.
    for (const name of AUTHORIZING_HEADERS) {
      if (headers[name] !== undefined) request.headers.set(name, headers[name])
      else request.headers.delete(name)
    }
    const response = await nodeFetch(request.input, request.init)
    if (headers.dpop !== undefined) {
      request.nonceKept = rememberNonce(response.url || request.url, response.headers.get('dpop-nonce'))
    }
    return response
  }

  /**
   * Sends once, and once more when a DPoP resource server asks for a nonce
   * it just sent (once per call, whichever send it answers).
   */
  async function sendWithNonce(request, view) {
    const response = await send(request, view)
    if (response.status !== 401 || !request.nonceKept || !request.resendable || request.nonceResent) return response
    if (!cameFromOrigin(response, request) || !asksForNonce(response.headers.get('www-authenticate'))) return response
    if (response.body !== null) response.body.cancel().catch(() => {})
    request.nonceResent = true
    return send(request, view)
  }

  return async function fetch(input, init) {
    const request = prepare(input, init)
    // With mutual TLS, the certificate the token is bound to goes with it
    // (unless the caller chose a dispatcher of their own).
    const dispatcher = dispatcherOf(client)
    if (dispatcher !== null && request.init.dispatcher === undefined) request.init.dispatcher = dispatcher
    let view = usableView(client)
    if (view !== null) calls[HIT]++
    else view = await credential()
    const first = await sendWithNonce(request, view)
    if (first.status !== 401 || !cameFromOrigin(first, request)) return first
    // Still a nonce challenge: the token was not refused, so it is kept.
    if (view.tokenType === 'DPoP' && asksForNonce(first.headers.get('www-authenticate'))) return first
    refuse(view.accessToken)
    if (!request.resendable) return first
    if (first.body !== null) first.body.cancel().catch(() => {}) // frees the connection
    view = usableView(client)
    if (view !== null) calls[HIT]++
    else view = await credential()
    return sendWithNonce(request, view)
  }
}

/** What a send needs, read once from fetch's arguments. */
function prepare(input, init) {
  const { Request: NodeRequest, Headers: NodeHeaders } = classesAtLoad()
  const isRequest = input instanceof NodeRequest
  const hasInit = init !== undefined && init !== null
  // As fetch does: init's headers replace those of a Request input.
  const headers = new NodeHeaders(hasInit && init.headers !== undefined ? init.headers : isRequest ? input.headers : undefined)
  const body = hasInit && init.body !== undefined ? init.body : null
  const resendable = !isStream(body) && !(isRequest && input.body !== null && body === null)
  const method = hasInit && typeof init.method === 'string' ? init.method : isRequest ? input.method : 'GET'
  return {
    input,
    init: hasInit ? { ...init, headers } : { headers },
    headers,
    resendable,
    url: isRequest ? input.url : input,
    method: normalizeMethod(method),
    /** Whether the last answer carried a DPoP-Nonce that was kept. */
    nonceKept: false,
    /** Whether this call already resent once for a nonce. */
    nonceResent: false,
  }
}

function isStream(body) {
  if (body === null || typeof body !== 'object') return false
  return body instanceof ReadableStream || typeof body[Symbol.asyncIterator] === 'function'
}

/** Whether the answer came from the origin the token was sent to (not from across a redirect). */
function cameFromOrigin(response, request) {
  return !response.redirected || originOf(response.url) === originOf(request.url)
}

function originOf(url) {
  try {
    return new URL(String(url)).origin
  } catch {
    return null // fetch itself rejects such a URL
  }
}

module.exports = { createFetch }

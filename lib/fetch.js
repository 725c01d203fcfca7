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
// - Node's fetch drops Authorization when a redirect leaves the origin
//   (every supported Node line; see __test__/smoke/fetch-redirect.js), so
//   the token never reaches another origin.

const { calls, HIT } = require('./thread-view')
const { requestHeaders, normalizeMethod } = require('./request-headers')

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

  return async function fetch(input, init) {
    const request = prepare(input, init)
    // With mutual TLS, the certificate the token is bound to goes with it
    // (unless the caller chose a dispatcher of their own).
    const dispatcher = dispatcherOf(client)
    if (dispatcher !== null && request.init.dispatcher === undefined) request.init.dispatcher = dispatcher
    let view = usableView(client)
    if (view !== null) calls[HIT]++
    else view = await credential()
    const first = await send(client, request, view)
    if (first.status !== 401 || !cameFromOrigin(first, request)) return first
    refuse(view.accessToken)
    if (!request.resendable) return first
    if (first.body !== null) first.body.cancel().catch(() => {}) // frees the connection
    view = usableView(client)
    if (view !== null) calls[HIT]++
    else view = await credential()
    return send(client, request, view)
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
  }
}

function send(client, request, view) {
  const authorizing = requestHeaders(client, view, String(request.url), request.method)
  // Headers are case-insensitive: this replaces an Authorization the caller set in any case.
  for (const name in authorizing) request.headers.set(name, authorizing[name])
  return nodeFetch(request.input, request.init)
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

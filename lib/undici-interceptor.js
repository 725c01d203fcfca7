'use strict'

// An interceptor for undici's `Dispatcher.compose()` (undici 7), with
// client.fetch's behaviour for the origins the user lists:
//
//   const { Agent } = require('undici')
//   const { tokenInterceptor } = require('m2m-token/undici')
//   const agent = new Agent().compose(tokenInterceptor(client, { origins: ['https://api.example.com'] }))
//
// Requests to a listed origin get `Authorization: <tokenType> <token>`
// (replacing one the caller set); a 401 invalidates the token it carried
// (compare and drop) and the request is dispatched once more with a new
// token, unless its body is a stream. Requests to any other origin pass
// through untouched, so the token never leaves the listed origins. A token
// error reaches the handler's onResponseError as the TokenError. With a
// client certificate (mutual TLS), requests to the listed origins present
// it, as client.fetch does.

const { invalidOptions } = require('./token-error')
const { usableViewOf, dispatcherOf } = require('./client')
const { calls, HIT } = require('./thread-view')
const { requestHeaders, normalizeMethod, AUTHORIZING_HEADERS } = require('./request-headers')

function tokenInterceptor(client, { origins } = {}) {
  if (client === null || typeof client !== 'object' || typeof client.getTokenInfo !== 'function') {
    throw invalidOptions('tokenInterceptor needs a TokenClient')
  }
  if (!Array.isArray(origins) || origins.length === 0) throw invalidOptions('origins must be a non-empty array of URLs')
  const listed = new Set(origins.map(originOrThrow))

  // A hit is answered synchronously from this thread's view: no Rust call,
  // and the request is dispatched in the same tick.
  function withToken(send, fail) {
    const view = usableViewOf(client)
    if (view !== null) {
      calls[HIT]++
      return send(view)
    }
    client.getTokenInfo().then(send, fail)
    return true
  }

  // A client with a certificate sends requests to the listed origins
  // through its own dispatcher, which presents the certificate the token is
  // bound to; other requests go on through the composed dispatcher.
  const certificate = dispatcherOf(client)
  const viaCertificate = certificate === null ? null : (opts, handler) => certificate.dispatch(opts, handler)

  return (dispatch) => function dispatchWithToken(opts, handler) {
    if (!listed.has(originOf(opts.origin))) return dispatch(opts, handler)
    const attempt = new Attempt(client, viaCertificate ?? dispatch, opts, handler, withToken)
    return attempt.start()
  }
}

/** One request through the interceptor: its first dispatch and, after a 401, its one resend. */
class Attempt {
  #client
  #dispatch
  #opts
  #handler
  #withToken
  #sentToken = null
  #resent = false
  #swallowing = false
  #controller = null
  #aborted = null
  /** What the caller's handler sees: one controller across both dispatches. */
  #outer

  constructor(client, dispatch, opts, handler, withToken) {
    this.#client = client
    this.#dispatch = dispatch
    this.#opts = opts
    this.#handler = handler
    this.#withToken = withToken
    const self = this
    this.#outer = {
      abort(reason) {
        self.#aborted = reason ?? new Error('aborted')
        if (self.#controller !== null) self.#controller.abort(self.#aborted)
      },
      pause: () => this.#controller?.pause(),
      resume: () => this.#controller?.resume(),
      get paused() { return self.#controller?.paused ?? false },
      get aborted() { return self.#aborted !== null || (self.#controller?.aborted ?? false) },
      get reason() { return self.#aborted ?? self.#controller?.reason ?? null },
    }
  }

  start() {
    return this.#withToken((view) => this.#send(view), (err) => this.#fail(err))
  }

  #send(view) {
    if (this.#aborted !== null) return this.#fail(this.#aborted)
    this.#sentToken = view.accessToken
    const opts = this.#opts
    const url = `${originOf(opts.origin)}${opts.path}`
    const authorizing = requestHeaders(this.#client, view, url, normalizeMethod(String(opts.method)))
    const headers = withAuthorization(opts.headers, authorizing)
    return this.#dispatch({ ...opts, headers }, this)
  }

  #fail(err) {
    this.#handler.onResponseError?.(this.#outer, err)
    return true
  }

  onRequestStart(controller, context) {
    this.#controller = controller
    if (this.#aborted !== null) return controller.abort(this.#aborted)
    if (!this.#resent) this.#handler.onRequestStart?.(this.#outer, context)
  }

  onRequestUpgrade(controller, statusCode, headers, socket) {
    this.#handler.onRequestUpgrade?.(this.#outer, statusCode, headers, socket)
  }

  onResponseStart(controller, statusCode, headers, statusMessage) {
    if (statusCode === 401 && !this.#resent) {
      this.#client.invalidate(this.#sentToken)
      if (isReplayable(this.#opts.body)) {
        this.#swallowing = true // read the refusal to its end (the connection stays usable), then resend
        return
      }
    }
    return this.#handler.onResponseStart?.(this.#outer, statusCode, headers, statusMessage)
  }

  onResponseData(controller, chunk) {
    if (this.#swallowing) return
    return this.#handler.onResponseData?.(this.#outer, chunk)
  }

  onResponseEnd(controller, trailers) {
    if (this.#swallowing) {
      this.#swallowing = false
      this.#resent = true
      this.#withToken((view) => this.#send(view), (err) => this.#fail(err))
      return
    }
    this.#handler.onResponseEnd?.(this.#outer, trailers)
  }

  onResponseError(controller, err) {
    this.#swallowing = false
    this.#handler.onResponseError?.(this.#outer, err)
  }
}

/** The caller's headers (object, flat array or iterable of pairs) with ours in place of any of the same name. */
function withAuthorization(headers, authorizing) {
  const out = {}
  const put = (name, v) => {
    if (v !== undefined && !AUTHORIZING_HEADERS.has(String(name).toLowerCase())) out[name] = v
  }
  if (headers == null) {
    // nothing to copy
  } else if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) for (const [k, v] of headers) put(k, v)
    else for (let i = 0; i + 1 < headers.length; i += 2) put(headers[i], headers[i + 1])
  } else if (typeof headers[Symbol.iterator] === 'function') {
    for (const [k, v] of headers) put(k, v)
  } else {
    for (const k of Object.keys(headers)) put(k, headers[k])
  }
  return Object.assign(out, authorizing)
}

/** Bodies undici can send twice: none, strings and bytes (not streams, iterables or FormData). */
function isReplayable(body) {
  return body == null || typeof body === 'string' || body instanceof Uint8Array
}

// Origins as undici hands them over (strings or URLs), parsed once each.
const MAX_REMEMBERED_ORIGINS = 1000
const parsedOrigins = new Map()

function originOf(origin) {
  const key = String(origin)
  let parsed = parsedOrigins.get(key)
  if (parsed === undefined) {
    if (parsedOrigins.size >= MAX_REMEMBERED_ORIGINS) parsedOrigins.clear()
    parsed = parseOrigin(key)
    parsedOrigins.set(key, parsed)
  }
  return parsed
}

function parseOrigin(origin) {
  try {
    return new URL(origin).origin
  } catch {
    return null
  }
}

function originOrThrow(url) {
  const origin = originOf(url)
  if (origin === null || origin === 'null') throw invalidOptions('origins must be URLs such as https://api.example.com')
  return origin
}

module.exports = { tokenInterceptor }

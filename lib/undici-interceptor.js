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
//
// With a DPoP-bound token each dispatch carries a fresh proof; a 401 DPoP
// challenge with error="use_dpop_nonce" and a DPoP-Nonce is answered by one
// more dispatch with the nonce, without invalidating the token.

const { invalidOptions } = require('./token-error')
const { usableViewOf, dispatcherOf } = require('./client')
const { calls, HIT } = require('./thread-view')
const { requestHeaders, normalizeMethod, AUTHORIZING_HEADERS } = require('./request-headers')
const { rememberNonce, asksForNonce } = require('./dpop-nonce')

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

/**
 * One request through the interceptor: its first dispatch, after a DPoP
 * nonce challenge one resend with the nonce, and after a 401 one resend
 * with a new token.
 */
class Attempt {
  #client
  #dispatch
  #opts
  #handler
  #withToken
  #sentView = null
  #sentDpop = false
  #started = false
  #resent = false
  #nonceResent = false
  /** null, or what to do once a refused answer is read: 'token' or 'nonce'. */
  #swallowing = null
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
    this.#sentView = view
    const opts = this.#opts
    let authorizing
    try {
      authorizing = requestHeaders(this.#client, view, this.#url(), normalizeMethod(String(opts.method)))
    } catch (err) {
      return this.#fail(err)
    }
    this.#sentDpop = authorizing.dpop !== undefined
    const headers = withAuthorization(opts.headers, authorizing)
    return this.#dispatch({ ...opts, headers }, this)
  }

  #url() {
    return `${originOf(this.#opts.origin)}${this.#opts.path}`
  }

  #fail(err) {
    this.#handler.onResponseError?.(this.#outer, err)
    return true
  }

  onRequestStart(controller, context) {
    this.#controller = controller
    if (this.#aborted !== null) return controller.abort(this.#aborted)
    if (this.#started) return
    this.#started = true
    this.#handler.onRequestStart?.(this.#outer, context)
  }

  onRequestUpgrade(controller, statusCode, headers, socket) {
    this.#handler.onRequestUpgrade?.(this.#outer, statusCode, headers, socket)
  }

  onResponseStart(controller, statusCode, headers, statusMessage) {
    if (this.#sentDpop) {
      const nonceKept = rememberNonce(this.#url(), headerValue(headers, 'dpop-nonce'))
      if (statusCode === 401 && asksForNonce(headerValue(headers, 'www-authenticate'))) {
        // The token was not refused: it is kept, and sent once more with the nonce.
        if (nonceKept && !this.#nonceResent && isReplayable(this.#opts.body)) {
          this.#nonceResent = true
          this.#swallowing = 'nonce'
          return
        }
        return this.#handler.onResponseStart?.(this.#outer, statusCode, headers, statusMessage)
      }
    }
    if (statusCode === 401 && !this.#resent) {
      this.#client.invalidate(this.#sentView.accessToken)
      if (isReplayable(this.#opts.body)) {
        this.#swallowing = 'token' // read the refusal to its end (the connection stays usable), then resend
        return
      }
    }
    return this.#handler.onResponseStart?.(this.#outer, statusCode, headers, statusMessage)
  }

  onResponseData(controller, chunk) {
    if (this.#swallowing !== null) return
    return this.#handler.onResponseData?.(this.#outer, chunk)
  }

  onResponseEnd(controller, trailers) {
    if (this.#swallowing === 'nonce') {
      this.#swallowing = null
      this.#send(this.#sentView) // the same token, a new proof with the nonce
      return
    }
    if (this.#swallowing === 'token') {
      this.#swallowing = null
      this.#resent = true
      this.#withToken((view) => this.#send(view), (err) => this.#fail(err))
      return
    }
    this.#handler.onResponseEnd?.(this.#outer, trailers)
  }

  onResponseError(controller, err) {
    this.#swallowing = null
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

/** One header of an answer as undici hands them over (lower-case names; a value or a list). */
function headerValue(headers, name) {
  const value = headers?.[name]
  return Array.isArray(value) ? String(value[0]) : value === undefined ? undefined : String(value)
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

'use strict'

const util = require('node:util')
const { native, calls, generation, HIT, MISS, ERROR, INVALIDATIONS } = require('./thread-view')
const { invalidOptions, fromNative } = require('./token-error')
const { normalizeOptions } = require('./options')
const { deliver } = require('./deliver')
const { cleanQuota } = require('./quota')
const diagnostics = require('./diagnostics')
const { createFetch } = require('./fetch')
const { requestHeaders, requestTarget } = require('./request-headers')
const { certificateDispatcher } = require('./client-certificate')

// Callers on this thread that wait on one entry share one native acquire
// and one promise of its token, so when the token arrives, 10,000 waiting
// callers cost one crossing back from Rust and one promise settlement, not
// 10,000 of each. Keyed by cache key and leeway, because the leeway shapes
// the snapshot handed back. A wait that began before an invalidation (on
// any thread) is never joined after it: its token may be the dropped one.
const flightsByKey = new Map()

/** Joins this thread's wait for an entry, starting it if there is none. */
function joinFlight(key, client) {
  let flight = flightsByKey.get(key)
  if (flight === undefined || flight.invalidations !== generation[INVALIDATIONS]) {
    flight = startFlight(key, client)
  }
  flight.joined++ // settled for stats() in one go, below
  return flight
}

function startFlight(key, client) {
  const flight = { joined: 0, outcome: null, token: null, invalidations: generation[INVALIDATIONS] }
  const { started, promise } = client.native.acquire()
  const subject = started && diagnostics.watchingFetches() ? client.subject() : null
  if (subject !== null) diagnostics.publishFetchStart(subject, 'miss')
  flight.token = promise.then((outcome) => {
    if (flightsByKey.get(key) === flight) flightsByKey.delete(key) // later callers start a new wait
    if (outcome.error) {
      calls[ERROR] += flight.joined
      const error = fromNative(outcome.error)
      if (subject !== null) diagnostics.publishFetchEnd(subject, 'miss', outcome, error)
      throw error
    }
    if (subject !== null) diagnostics.publishFetchEnd(subject, 'miss', outcome, null)
    calls[outcome.fromCache ? HIT : MISS] += flight.joined
    flight.outcome = outcome
    client.adopt(toView(outcome.token))
    return outcome.token.accessToken
  })
  flightsByKey.set(key, flight)
  return flight
}

/**
 * This thread's copy of a snapshot from Rust, as an object literal so every
 * view has one hidden class and the hit path's property loads stay
 * monomorphic.
 */
function toView(snapshot) {
  return {
    accessToken: snapshot.accessToken,
    tokenType: snapshot.tokenType,
    scope: snapshot.scope,
    expiresAt: snapshot.expiresAt,
    usableUntil: snapshot.usableUntil,
    refreshAt: snapshot.refreshAt,
    generation: snapshot.generation,
    quota: cleanQuota(snapshot.quota),
  }
}

function infoOf(snapshot, fromCache) {
  const info = {
    accessToken: snapshot.accessToken,
    tokenType: snapshot.tokenType,
    expiresAt: snapshot.expiresAt,
    fromCache,
  }
  if (snapshot.scope !== undefined && snapshot.scope !== null) info.scope = snapshot.scope
  if (snapshot.quota !== undefined) info.quota = snapshot.quota
  return info
}

/** Answers a call that failed before it could start. */
function failCall(err, callback) {
  calls[ERROR]++
  if (typeof callback === 'function') return process.nextTick(callback, err)
  return Promise.reject(callback === undefined ? err : invalidOptions('callback must be a function'))
}

/** For lib/fetch.js: a client's usable view on this thread, or null; no Rust call unless a refresh is due. */
let usableViewOf
/** For lib/fetch.js and the interceptor: the undici dispatcher presenting the client's certificate, or null. */
let dispatcherOf

class TokenClient {
  #native
  #fetch = null
  #flightKey
  #flightSide
  #subject = null
  /** This thread's copy of the entry: a snapshot from Rust, valid while its generation is current. */
  #view = null
  /** `{ cert, key, ca }` for mutual TLS, or null; never shown (see toJSON and inspect). */
  #certificate = null
  #dispatcher = null

  constructor(options) {
    const plain = normalizeOptions(options)
    try {
      this.#native = new native.NativeClient(plain)
    } catch (err) {
      throw invalidOptions(err.message)
    }
    if (plain.cert !== undefined) this.#certificate = { cert: plain.cert, key: plain.key, ca: plain.ca }
    this.#flightKey = `${this.#native.key}:${plain.leewaySeconds ?? ''}`
    // What a flight of this thread needs of this client.
    this.#flightSide = {
      native: this.#native,
      subject: () => this.#subjectOf(),
      adopt: (view) => {
        this.#view = view
      },
    }
  }

  getToken(callback) {
    const view = this.#usableView()
    if (view !== null) {
      if (callback === undefined) {
        calls[HIT]++
        return Promise.resolve(view.accessToken)
      }
      if (typeof callback === 'function') {
        calls[HIT]++
        process.nextTick(callback, null, view.accessToken)
        return undefined
      }
    }
    return this.#answer(callback, false)
  }

  getTokenInfo(callback) {
    const view = this.#usableView()
    if (view !== null && (callback === undefined || typeof callback === 'function')) {
      calls[HIT]++
      const info = infoOf(view, true)
      if (callback === undefined) return Promise.resolve(info)
      process.nextTick(callback, null, info)
      return undefined
    }
    return this.#answer(callback, true)
  }

  /**
   * Drops this client's entry for every thread; true if there was one.
   * With `accessToken`, only while the entry holds that token (compare and
   * drop): a newer token someone already got is kept, and false returned.
   */
  invalidate(accessToken) {
    let dropped
    if (accessToken === undefined) {
      this.#view = null
      dropped = this.#native.invalidate()
    } else {
      if (typeof accessToken !== 'string') throw invalidOptions('accessToken must be a string')
      dropped = this.#native.invalidateToken(accessToken)
      if (!dropped) return false
      this.#view = null
    }
    if (diagnostics.watchingInvalidations()) diagnostics.publishInvalidate(this.#subjectOf(), 'entry')
    return dropped
  }

  /**
   * The headers that authorize one request to `url` with `method` (default
   * GET), for an HTTP client of the caller's own. A hit makes no Rust call.
   */
  getRequestHeaders(url, method) {
    let target
    try {
      target = requestTarget(url, method)
    } catch (err) {
      return failCall(err)
    }
    const view = this.#usableView()
    if (view !== null) {
      calls[HIT]++
      return Promise.resolve(requestHeaders(this, view, target.url, target.method))
    }
    return this.#lookup(true).then((info) => requestHeaders(this, info, target.url, target.method))
  }

  /** Node's fetch with this client's token; works detached (`const f = client.fetch`). */
  get fetch() {
    if (this.#fetch === null) this.#fetch = createFetch(this, usableViewOf, dispatcherOf)
    return this.#fetch
  }

  toJSON() {
    return this.#native.describe()
  }

  [util.inspect.custom](depth, options, inspect) {
    return `TokenClient ${inspect(this.#native.describe(), options)}`
  }

  static {
    usableViewOf = (client) => client.#usableView()
    dispatcherOf = (client) => client.#certificateDispatcher()
  }

  #certificateDispatcher() {
    if (this.#certificate === null) return null
    if (this.#dispatcher === null) this.#dispatcher = certificateDispatcher(this.#certificate)
    return this.#dispatcher
  }

  /** The hit path: no Rust call unless a refresh ahead is due. */
  #usableView() {
    const view = this.#view
    if (view === null || view.generation !== generation[0]) return null
    const now = Date.now()
    if (now >= view.usableUntil) return null
    if (now >= view.refreshAt) this.#refreshAhead(view)
    return view
  }

  #refreshAhead(view) {
    view.refreshAt = Infinity // Rust starts at most one; no need to ask again
    const watching = diagnostics.watchingFetches()
    const refreshing = this.#native.refreshAhead(watching)
    if (refreshing === null) return
    const subject = this.#subjectOf()
    diagnostics.publishFetchStart(subject, 'refresh')
    refreshing.then((outcome) => {
      const error = outcome.error ? fromNative(outcome.error) : null
      diagnostics.publishFetchEnd(subject, 'refresh', outcome, error)
    })
  }

  /** tokenUrl, clientId and audience, for diagnostics messages. */
  #subjectOf() {
    if (this.#subject === null) this.#subject = diagnostics.subjectOf(this.#native.describe())
    return this.#subject
  }

  #answer(callback, wantInfo) {
    if (callback !== undefined && typeof callback !== 'function') {
      return failCall(invalidOptions('callback must be a function'))
    }
    const promise = this.#lookup(wantInfo)
    if (callback === undefined) return promise
    deliver(promise, callback)
    return undefined
  }

  /** The slow path: the Rust cache directly, then (if need be) this thread's shared wait. */
  #lookup(wantInfo) {
    const snapshot = this.#native.peek()
    if (snapshot !== null) {
      const view = toView(snapshot)
      this.#view = view
      calls[HIT]++
      if (Date.now() >= view.refreshAt) this.#refreshAhead(view)
      return Promise.resolve(wantInfo ? infoOf(view, true) : view.accessToken)
    }
    const flight = joinFlight(this.#flightKey, this.#flightSide)
    if (!wantInfo) return flight.token
    return flight.token.then(() => infoOf(toView(flight.outcome.token), flight.outcome.fromCache))
  }
}

module.exports = { TokenClient, failCall, usableViewOf, dispatcherOf }

'use strict'

const util = require('node:util')
const { native, calls, generation, HIT, MISS, ERROR } = require('./thread-view')
const { invalidOptions, fromNative } = require('./token-error')
const { normalizeOptions } = require('./options')
const { deliver } = require('./deliver')

// Callers on this thread that wait on one entry share one native acquire
// and one promise of its token, so when the token arrives, 10,000 waiting
// callers cost one crossing back from Rust and one promise settlement, not
// 10,000 of each. Keyed by cache key and leeway, because the leeway shapes
// the snapshot handed back.
const flightsByKey = new Map()

/** Joins this thread's wait for an entry, starting it if there is none. */
function joinFlight(key, nativeClient, adopt) {
  const flight = flightsByKey.get(key) ?? startFlight(key, nativeClient, adopt)
  flight.joined++ // settled for stats() in one go, below
  return flight
}

function startFlight(key, nativeClient, adopt) {
  const flight = { joined: 0, outcome: null, token: null }
  flight.token = nativeClient.acquire().then((outcome) => {
    flightsByKey.delete(key) // later callers start a new wait
    if (outcome.error) {
      calls[ERROR] += flight.joined
      throw fromNative(outcome.error)
    }
    calls[outcome.fromCache ? HIT : MISS] += flight.joined
    flight.outcome = outcome
    adopt(toView(outcome.token))
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
  return info
}

/** Answers a call that failed before it could start. */
function failCall(err, callback) {
  calls[ERROR]++
  if (typeof callback === 'function') return process.nextTick(callback, err)
  return Promise.reject(callback === undefined ? err : invalidOptions('callback must be a function'))
}

class TokenClient {
  #native
  #flightKey
  /** This thread's copy of the entry: a snapshot from Rust, valid while its generation is current. */
  #view = null

  constructor(options) {
    const plain = normalizeOptions(options)
    try {
      this.#native = new native.NativeClient(plain)
    } catch (err) {
      throw invalidOptions(err.message)
    }
    this.#flightKey = `${this.#native.key}:${plain.leewaySeconds ?? ''}`
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

  /** Drops this client's entry for every thread; true if there was one. */
  invalidate() {
    this.#view = null
    return this.#native.invalidate()
  }

  toJSON() {
    return this.#native.describe()
  }

  [util.inspect.custom](depth, options, inspect) {
    return `TokenClient ${inspect(this.#native.describe(), options)}`
  }

  /** The hit path: no Rust call unless a refresh ahead is due. */
  #usableView() {
    const view = this.#view
    if (view === null || view.generation !== generation[0]) return null
    const now = Date.now()
    if (now >= view.usableUntil) return null
    if (now >= view.refreshAt) {
      view.refreshAt = Infinity // Rust starts at most one; no need to ask again
      this.#native.refreshAhead()
    }
    return view
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
      this.#view = toView(snapshot)
      calls[HIT]++
      return Promise.resolve(wantInfo ? infoOf(snapshot, true) : snapshot.accessToken)
    }
    const flight = joinFlight(this.#flightKey, this.#native, (view) => {
      this.#view = view
    })
    if (!wantInfo) return flight.token
    return flight.token.then(() => infoOf(flight.outcome.token, flight.outcome.fromCache))
  }
}

module.exports = { TokenClient, failCall }

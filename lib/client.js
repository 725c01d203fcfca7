'use strict'

const util = require('node:util')
const { native, calls, generation, HIT, MISS, ERROR } = require('./thread-view')
const { invalidOptions, fromNative } = require('./token-error')
const { normalizeOptions } = require('./options')
const { callLater, deliver } = require('./deliver')

// Callers on this thread that wait on one entry share one native acquire,
// so 10,000 of them cost one crossing back from Rust, not 10,000. Keyed by
// cache key and leeway, because the leeway shapes the snapshot handed back.
const pendingByKey = new Map()

const tokenOf = (answer) => answer.snapshot.accessToken

function infoOf({ snapshot, fromCache }) {
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
  if (typeof callback === 'function') return callLater(callback, err)
  return Promise.reject(callback === undefined ? err : invalidOptions('callback must be a function'))
}

class TokenClient {
  #native
  #pendingKey
  /** This thread's copy of the entry: a snapshot from Rust, valid while its generation is current. */
  #view = null

  constructor(options) {
    const plain = normalizeOptions(options)
    try {
      this.#native = new native.NativeClient(plain)
    } catch (err) {
      throw invalidOptions(err.message)
    }
    this.#pendingKey = `${this.#native.key}:${plain.leewaySeconds ?? ''}`
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
    return this.#answer(callback, tokenOf)
  }

  getTokenInfo(callback) {
    const view = this.#usableView()
    if (view !== null && (callback === undefined || typeof callback === 'function')) {
      calls[HIT]++
      const info = infoOf({ snapshot: view, fromCache: true })
      if (callback === undefined) return Promise.resolve(info)
      process.nextTick(callback, null, info)
      return undefined
    }
    return this.#answer(callback, infoOf)
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

  #answer(callback, pick) {
    if (callback !== undefined && typeof callback !== 'function') {
      return failCall(invalidOptions('callback must be a function'))
    }
    const promise = this.#lookup().then(pick)
    if (callback === undefined) return promise
    deliver(promise, callback)
    return undefined
  }

  /** The slow path: the Rust cache directly, then (if need be) a shared wait. */
  #lookup() {
    const snapshot = this.#native.peek()
    if (snapshot !== null) {
      this.#view = snapshot
      calls[HIT]++
      return Promise.resolve({ snapshot, fromCache: true })
    }
    const key = this.#pendingKey
    let pending = pendingByKey.get(key)
    if (pending === undefined) {
      pending = this.#native.acquire()
      pendingByKey.set(key, pending)
      pending.then(() => pendingByKey.delete(key))
    }
    return pending.then((outcome) => {
      if (outcome.error) {
        calls[ERROR]++
        throw fromNative(outcome.error)
      }
      this.#view = outcome.token
      calls[outcome.fromCache ? HIT : MISS]++
      return { snapshot: outcome.token, fromCache: outcome.fromCache }
    })
  }
}

module.exports = { TokenClient, failCall }

'use strict'

// m2m-token: OAuth 2.0 client-credentials tokens from one process-wide
// Rust cache. This file is the public surface; lib/ holds the JavaScript
// half (hit path, callbacks, errors) and src/ the Rust core.

const { TokenClient, failCall } = require('./lib/client')
const { TokenError } = require('./lib/token-error')
const { normalizeOptions, sameOptions, memoClientId } = require('./lib/options')
const { native } = require('./lib/thread-view')
const { publishInvalidate } = require('./lib/diagnostics')

// One client per distinct options on this thread, so that getToken(options)
// with a fresh object each call still hits this thread's view of the cache.
// Found by client id, then compared field by field (no key to build).
const MAX_MEMOIZED_CLIENTS = 1000
const memoByClientId = new Map() // clientId -> [{ plain, client }]
let memoized = 0

function clientFor(options) {
  const clientId = memoClientId(options) // own string or undefined; never throws
  const candidates = typeof clientId === 'string' ? memoByClientId.get(clientId) : undefined
  if (candidates !== undefined) {
    for (let i = 0; i < candidates.length; i++) {
      if (sameOptions(candidates[i].plain, options)) return candidates[i].client
    }
  }
  const plain = normalizeOptions(options) // throws the TokenError naming a bad option
  const client = new TokenClient(plain)
  if (memoized >= MAX_MEMOIZED_CLIENTS) {
    memoByClientId.clear()
    memoized = 0
  }
  const list = memoByClientId.get(plain.clientId)
  if (list === undefined) memoByClientId.set(plain.clientId, [{ plain, client }])
  else list.push({ plain, client })
  memoized++
  return client
}

/** Runs `ask` on the client for these options, or fails the call the contract's way. */
function askClient(options, callback, ask) {
  let client
  try {
    client = clientFor(options)
  } catch (err) {
    return failCall(err, callback)
  }
  return ask(client, callback)
}

const getToken = (options, callback) => askClient(options, callback, (c, cb) => c.getToken(cb))
const getTokenInfo = (options, callback) => askClient(options, callback, (c, cb) => c.getTokenInfo(cb))

/** Drops the entry these options name, for every thread. Throws TokenError on bad options. */
function invalidate(options) {
  return clientFor(options).invalidate()
}

function clearCache() {
  native.clearCache()
  publishInvalidate({}, 'all')
}

function stats() {
  const { hits, misses, requests, refreshes, errors, entries, storeHits, storeErrors } = native.stats()
  return { hits, misses, requests, refreshes, errors, entries, storeHits, storeErrors }
}

module.exports = {
  getToken,
  getTokenInfo,
  TokenClient,
  invalidate,
  clearCache,
  stats,
  TokenError,
}

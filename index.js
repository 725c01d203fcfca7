'use strict'

// m2m-token: OAuth 2.0 client-credentials tokens from one process-wide
// Rust cache. This file is the public surface; lib/ holds the JavaScript
// half (hit path, callbacks, errors) and src/ the Rust core.

const { TokenClient, failCall } = require('./lib/client')
const { TokenError } = require('./lib/token-error')
const { normalizeOptions, memoKey } = require('./lib/options')
const { native } = require('./lib/thread-view')

// One client per distinct options on this thread, so that getToken(options)
// with a fresh object each call still hits this thread's view of the cache.
const MAX_MEMOIZED_CLIENTS = 1000
const clients = new Map()

function clientFor(options) {
  const plain = normalizeOptions(options)
  const key = memoKey(plain)
  let client = clients.get(key)
  if (client === undefined) {
    client = new TokenClient(plain)
    if (clients.size >= MAX_MEMOIZED_CLIENTS) clients.clear()
    clients.set(key, client)
  }
  return client
}

function getToken(options, callback) {
  let client
  try {
    client = clientFor(options)
  } catch (err) {
    return failCall(err, callback)
  }
  return client.getToken(callback)
}

function getTokenInfo(options, callback) {
  let client
  try {
    client = clientFor(options)
  } catch (err) {
    return failCall(err, callback)
  }
  return client.getTokenInfo(callback)
}

/** Drops the entry these options name, for every thread. Throws TokenError on bad options. */
function invalidate(options) {
  return clientFor(options).invalidate()
}

function clearCache() {
  native.clearCache()
}

function stats() {
  const { hits, misses, requests, refreshes, errors, entries } = native.stats()
  return { hits, misses, requests, refreshes, errors, entries }
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

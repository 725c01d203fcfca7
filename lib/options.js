'use strict'

// Checks the JavaScript types of user options and copies the known keys
// into a plain object for the native layer, which checks their values.
// Type errors are caught here so that every message names its option.

const { invalidOptions } = require('./token-error')

const STRING_KEYS = [
  'domain', 'tokenUrl', 'clientId', 'clientSecret', 'audience', 'scope', 'authMethod',
  'privateKey', 'keyId', 'signingAlgorithm', 'assertionAudience', 'ca',
]
const NUMBER_KEYS = ['leewaySeconds', 'timeoutMs', 'retries']

function describeType(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

/** @returns a plain object for `new NativeClient()`; throws TokenError. */
function normalizeOptions(options) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidOptions(`options must be an object, not ${describeType(options)}`)
  }
  const plain = {}
  for (const key of STRING_KEYS) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'string') {
      throw invalidOptions(`${key} must be a string, not ${describeType(value)}`)
    }
    plain[key] = value
  }
  for (const key of NUMBER_KEYS) {
    const value = options[key]
    if (value === undefined) continue
    if (typeof value !== 'number') {
      throw invalidOptions(`${key} must be a number, not ${describeType(value)}`)
    }
    plain[key] = value
  }
  if (options.extraParams !== undefined) {
    plain.extraParams = normalizeExtraParams(options.extraParams)
  }
  return plain
}

function normalizeExtraParams(params) {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw invalidOptions(`extraParams must be an object of strings, not ${describeType(params)}`)
  }
  const plain = {}
  for (const name of Object.keys(params)) {
    if (typeof params[name] !== 'string') {
      throw invalidOptions(`extraParams.${name} must be a string, not ${describeType(params[name])}`)
    }
    plain[name] = params[name]
  }
  return plain
}

/**
 * A string naming normalized options, for reusing one client per distinct
 * options on this thread. Normalized options hold only strings and numbers,
 * so JSON tells every distinct value apart (NaN and ±Infinity all fail
 * validation, so their sharing "null" is harmless).
 */
function memoKey(plain) {
  return JSON.stringify(plain)
}

module.exports = { normalizeOptions, memoKey }

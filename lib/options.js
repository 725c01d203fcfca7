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
 * Whether `options` are the same as the normalized `plain` ones, compared
 * field by field without allocating. `plain` holds only strings and
 * numbers, so equality also means the value has a valid type (and NaN,
 * never equal to itself, never matches). Written out field by field, not
 * as a loop over the key lists: named loads stay fast in V8, keyed loads
 * over objects of varying shapes do not. Must name every key of
 * STRING_KEYS and NUMBER_KEYS (checked in __test__/options-memo.test.js).
 */
function sameOptions(plain, options) {
  return (
    plain.clientId === options.clientId &&
    plain.clientSecret === options.clientSecret &&
    plain.domain === options.domain &&
    plain.tokenUrl === options.tokenUrl &&
    plain.audience === options.audience &&
    plain.scope === options.scope &&
    plain.authMethod === options.authMethod &&
    plain.privateKey === options.privateKey &&
    plain.keyId === options.keyId &&
    plain.signingAlgorithm === options.signingAlgorithm &&
    plain.assertionAudience === options.assertionAudience &&
    plain.ca === options.ca &&
    plain.leewaySeconds === options.leewaySeconds &&
    plain.timeoutMs === options.timeoutMs &&
    plain.retries === options.retries &&
    sameParams(plain.extraParams, options.extraParams)
  )
}

function sameParams(plain, params) {
  if (plain === undefined || params === undefined) return plain === params
  if (params === null || typeof params !== 'object' || Array.isArray(params)) return false
  const names = Object.keys(params)
  if (names.length !== Object.keys(plain).length) return false
  for (let i = 0; i < names.length; i++) {
    const name = names[i]
    if (plain[name] !== params[name] || !Object.prototype.hasOwnProperty.call(plain, name)) return false
  }
  return true
}

module.exports = { normalizeOptions, sameOptions, STRING_KEYS, NUMBER_KEYS }

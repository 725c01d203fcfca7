'use strict'

// Checks the JavaScript types of user options and copies the known keys
// into a plain object for the native layer, which checks their values.
// Type errors are caught here so that every message names its option.
//
// Options are read from the object's own properties only: a key inherited
// from a prototype (a polluted Object.prototype included) is never used.
// Reading them may run user code (an own getter, a Proxy trap); whatever
// that throws becomes ERR_INVALID_OPTIONS with the original as `cause`.

const { TokenError, invalidOptions } = require('./token-error')

const STRING_KEYS = [
  'domain', 'tokenUrl', 'clientId', 'clientSecret', 'audience', 'scope', 'authMethod',
  'privateKey', 'keyId', 'signingAlgorithm', 'assertionAudience', 'ca', 'cert', 'key', 'store',
]
const NUMBER_KEYS = ['leewaySeconds', 'timeoutMs', 'retries']

const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key)

/** The value of an own property; undefined when the key is absent or only inherited. */
const ownValue = (object, key) => (hasOwn(object, key) ? object[key] : undefined)

function describeType(value) {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

/** `M2M_TOKEN_STORE` when it names a store; read when a client is made. */
function storeFromEnvironment() {
  const store = process.env.M2M_TOKEN_STORE
  return typeof store === 'string' && store !== '' ? store : undefined
}

/**
 * @returns the object for `new NativeClient()`; throws TokenError.
 *
 * Every key the native layer reads is an own property of it (undefined when
 * not given), because napi reads named properties through the prototype
 * chain. `storeGiven` and `extraParamCount` are for sameOptions only.
 */
function normalizeOptions(options) {
  let reading = 'options'
  try {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw invalidOptions(`options must be an object, not ${describeType(options)}`)
    }
    const plain = {
      domain: undefined,
      tokenUrl: undefined,
      clientId: undefined,
      clientSecret: undefined,
      audience: undefined,
      scope: undefined,
      authMethod: undefined,
      privateKey: undefined,
      keyId: undefined,
      signingAlgorithm: undefined,
      assertionAudience: undefined,
      ca: undefined,
      cert: undefined,
      key: undefined,
      store: undefined,
      leewaySeconds: undefined,
      timeoutMs: undefined,
      retries: undefined,
      proxy: undefined,
      extraParams: undefined,
      storeGiven: undefined,
      extraParamCount: 0,
    }
    for (const key of STRING_KEYS) {
      reading = `options.${key}`
      const value = ownValue(options, key)
      if (value === undefined) continue
      if (typeof value !== 'string') {
        throw invalidOptions(`${key} must be a string, not ${describeType(value)}`)
      }
      plain[key] = value
    }
    for (const key of NUMBER_KEYS) {
      reading = `options.${key}`
      const value = ownValue(options, key)
      if (value === undefined) continue
      if (typeof value !== 'number') {
        throw invalidOptions(`${key} must be a number, not ${describeType(value)}`)
      }
      plain[key] = value
    }
    reading = 'options.proxy'
    const proxy = ownValue(options, 'proxy')
    if (proxy !== undefined) {
      if (typeof proxy !== 'string' && proxy !== false) {
        throw invalidOptions(`proxy must be a URL string or false, not ${proxy === true ? 'true' : describeType(proxy)}`)
      }
      plain.proxy = proxy
    }
    plain.storeGiven = plain.store
    if (plain.store === undefined) {
      reading = 'the M2M_TOKEN_STORE environment variable'
      plain.store = storeFromEnvironment()
    }
    reading = 'options.extraParams'
    const params = ownValue(options, 'extraParams')
    if (params !== undefined) {
      plain.extraParams = normalizeExtraParams(params)
      plain.extraParamCount = Object.keys(plain.extraParams).length
    }
    return plain
  } catch (err) {
    if (err instanceof TokenError) throw err
    // User code threw (a getter, a Proxy trap, a revoked Proxy). Its message
    // is not repeated: it is the user's and may hold anything.
    throw invalidOptions(`${reading} could not be read: it threw (see err.cause)`, err)
  }
}

/**
 * A copy of the own enumerable string keys. Null-prototype, so that a key
 * named `__proto__` (as JSON.parse makes) is kept as a plain field and sent,
 * and so that the native layer, which lists keys through the prototype
 * chain, never sees a polluted Object.prototype.
 */
function normalizeExtraParams(params) {
  if (params === null || typeof params !== 'object' || Array.isArray(params)) {
    throw invalidOptions(`extraParams must be an object of strings, not ${describeType(params)}`)
  }
  const plain = Object.create(null)
  for (const name of Object.keys(params)) {
    const value = params[name]
    if (typeof value !== 'string') {
      throw invalidOptions(`extraParams.${name} must be a string, not ${describeType(value)}`)
    }
    plain[name] = value
  }
  return plain
}

/**
 * Whether `options` are the same as the normalized `plain` ones, compared
 * field by field without allocating. `plain` holds only strings, numbers
 * and `false`, so equality also means the value has a valid type (and NaN,
 * never equal to itself, never matches). Written out field by field, not
 * as a loop over the key lists: named loads stay fast in V8, keyed loads
 * over objects of varying shapes do not. Must name every key of
 * STRING_KEYS and NUMBER_KEYS (checked in __test__/options-memo.test.js).
 *
 * Own properties only, as normalizeOptions reads them: an inherited value
 * never matches a given one, and is ignored where none was given (so a
 * polluted prototype neither shares a client nor defeats the memo). Never
 * throws: options whose reading throws are different, and normalizeOptions
 * then reports them. The store is compared as given: the environment's
 * default was taken when the client was made.
 */
function sameOptions(plain, options) {
  try {
    const clientId = options.clientId // first, so V8 knows the map below
    // Every value read is the object's own when it is an object literal (its
    // prototype is Object.prototype) and Object.prototype holds no option
    // key: then compare values alone. V8 folds both checks while the map
    // is known and Object.prototype keeps its shape.
    if (Object.getPrototypeOf(options) !== ObjectPrototype || prototypeHoldsOptions()) {
      return sameOwnOptions(plain, options)
    }
    return (
      plain.clientId === clientId &&
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
      plain.cert === options.cert &&
      plain.key === options.key &&
      plain.storeGiven === options.store &&
      plain.proxy === options.proxy &&
      plain.leewaySeconds === options.leewaySeconds &&
      plain.timeoutMs === options.timeoutMs &&
      plain.retries === options.retries &&
      sameParams(plain.extraParams, plain.extraParamCount, options.extraParams, options)
    )
  } catch {
    return false // normalizeOptions reports what threw
  }
}

/** sameOptions for objects with another prototype, or with Object.prototype polluted. */
function sameOwnOptions(plain, options) {
  return (
    sameOwn(plain.clientId, options.clientId, options, 'clientId') &&
    sameOwn(plain.clientSecret, options.clientSecret, options, 'clientSecret') &&
    sameOwn(plain.domain, options.domain, options, 'domain') &&
    sameOwn(plain.tokenUrl, options.tokenUrl, options, 'tokenUrl') &&
    sameOwn(plain.audience, options.audience, options, 'audience') &&
    sameOwn(plain.scope, options.scope, options, 'scope') &&
    sameOwn(plain.authMethod, options.authMethod, options, 'authMethod') &&
    sameOwn(plain.privateKey, options.privateKey, options, 'privateKey') &&
    sameOwn(plain.keyId, options.keyId, options, 'keyId') &&
    sameOwn(plain.signingAlgorithm, options.signingAlgorithm, options, 'signingAlgorithm') &&
    sameOwn(plain.assertionAudience, options.assertionAudience, options, 'assertionAudience') &&
    sameOwn(plain.ca, options.ca, options, 'ca') &&
    sameOwn(plain.cert, options.cert, options, 'cert') &&
    sameOwn(plain.key, options.key, options, 'key') &&
    sameOwn(plain.storeGiven, options.store, options, 'store') &&
    sameOwn(plain.proxy, options.proxy, options, 'proxy') &&
    sameOwn(plain.leewaySeconds, options.leewaySeconds, options, 'leewaySeconds') &&
    sameOwn(plain.timeoutMs, options.timeoutMs, options, 'timeoutMs') &&
    sameOwn(plain.retries, options.retries, options, 'retries') &&
    sameParams(plain.extraParams, plain.extraParamCount, options.extraParams, options)
  )
}

const ObjectPrototype = Object.prototype

/** Whether Object.prototype has been given an option key (prototype pollution). */
function prototypeHoldsOptions() {
  const p = ObjectPrototype
  return (
    p.clientId !== undefined || p.clientSecret !== undefined || p.domain !== undefined ||
    p.tokenUrl !== undefined || p.audience !== undefined || p.scope !== undefined ||
    p.authMethod !== undefined || p.privateKey !== undefined || p.keyId !== undefined ||
    p.signingAlgorithm !== undefined || p.assertionAudience !== undefined || p.ca !== undefined ||
    p.cert !== undefined || p.key !== undefined ||
    p.store !== undefined || p.proxy !== undefined || p.leewaySeconds !== undefined ||
    p.timeoutMs !== undefined || p.retries !== undefined || p.extraParams !== undefined
  )
}

/**
 * `value` is the normalized option, `given` what `options[key]` read. The
 * own-property check runs only where a value was given or differs, so the
 * common case costs one check per option actually set.
 */
function sameOwn(value, given, options, key) {
  if (given === value) return value === undefined || hasOwn(options, key)
  return value === undefined && !hasOwn(options, key) // an inherited value counts as not given
}

function sameParams(plain, count, params, options) {
  if (params === undefined) return plain === undefined
  if (!hasOwn(options, 'extraParams')) return plain === undefined
  if (plain === undefined || params === null || typeof params !== 'object' || Array.isArray(params)) return false
  let seen = 0
  for (const name in params) {
    if (!hasOwn(params, name)) continue // inherited, e.g. a polluted Object.prototype
    if (plain[name] !== params[name] || !hasOwn(plain, name)) return false
    seen++
  }
  return seen === count
}

/**
 * The client id to look memoized clients up by: a string, or undefined.
 * Never throws (a throwing getter or a revoked Proxy is reported by
 * normalizeOptions); an inherited value is weeded out by sameOptions.
 */
function memoClientId(options) {
  try {
    if (options === null || typeof options !== 'object') return undefined
    const clientId = options.clientId
    return typeof clientId === 'string' ? clientId : undefined
  } catch {
    return undefined
  }
}

module.exports = { normalizeOptions, sameOptions, memoClientId, STRING_KEYS, NUMBER_KEYS }

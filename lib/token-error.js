'use strict'

const { cleanQuota } = require('./quota')

/**
 * The one error class of m2m-token. `code` is stable; the other fields are
 * set only where they apply. Built from plain fields, never from a request,
 * so no secret can be in it.
 */
class TokenError extends Error {
  constructor(code, message, details) {
    super(message)
    this.name = 'TokenError'
    this.code = code
    if (details) {
      for (const key of ['status', 'oauthError', 'oauthErrorDescription', 'retryAfter']) {
        if (details[key] !== undefined && details[key] !== null) this[key] = details[key]
      }
      const quota = cleanQuota(details.quota)
      if (quota !== undefined) this.quota = quota
    }
  }
}

Object.defineProperty(TokenError.prototype, 'name', { value: 'TokenError', writable: true, configurable: true })

/** `cause`, when given, is the exception user code threw while options were read. */
function invalidOptions(message, cause) {
  const err = new TokenError('ERR_INVALID_OPTIONS', message)
  if (cause !== undefined) {
    // As `new Error(message, { cause })` sets it: own, not enumerable.
    Object.defineProperty(err, 'cause', { value: cause, writable: true, configurable: true })
  }
  return err
}

/** From the fields the native layer reports. */
function fromNative(fields) {
  return new TokenError(fields.code, fields.message, fields)
}

module.exports = { TokenError, invalidOptions, fromNative }

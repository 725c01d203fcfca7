'use strict'

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
    }
  }
}

Object.defineProperty(TokenError.prototype, 'name', { value: 'TokenError', writable: true, configurable: true })

function invalidOptions(message) {
  return new TokenError('ERR_INVALID_OPTIONS', message)
}

/** From the fields the native layer reports. */
function fromNative(fields) {
  return new TokenError(fields.code, fields.message, fields)
}

module.exports = { TokenError, invalidOptions, fromNative }

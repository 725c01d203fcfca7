'use strict'

// The nonces resource servers send (RFC 9449 §9). A `DPoP-Nonce` on any
// answer is handed to Rust, which keeps the last one per origin (bounded,
// malformed ones ignored) and puts it in the next proof to that origin. A
// 401 whose WWW-Authenticate is a DPoP challenge with
// error="use_dpop_nonce" asks for exactly that: the request is sent once
// more with a new proof, and the token is not invalidated.

const { native } = require('./thread-view')

/** Hands the answer's DPoP-Nonce (if any) to Rust; true if one was kept. */
function rememberNonce(url, nonce) {
  if (typeof nonce !== 'string' || nonce === '') return false
  return native.rememberDpopNonce(String(url), nonce)
}

// One linear scan, whatever the server sends: no backtracking on hostile input.
const USE_DPOP_NONCE = /error\s*=\s*"?use_dpop_nonce\b/i

/** Whether a 401's WWW-Authenticate asks for a DPoP nonce. */
function asksForNonce(wwwAuthenticate) {
  if (typeof wwwAuthenticate !== 'string' || wwwAuthenticate.length > 8192) return false
  return /\bdpop\b/i.test(wwwAuthenticate) && USE_DPOP_NONCE.test(wwwAuthenticate)
}

module.exports = { rememberNonce, asksForNonce }

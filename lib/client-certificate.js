'use strict'

// Presenting a client's certificate (mutual TLS) on the requests that use
// its token: a certificate-bound token is useless without the certificate.
//
// Node's fetch takes a client certificate only through an undici
// `Agent({ connect: { cert, key, ca } })` passed as `dispatcher`, and Node
// does not expose the undici it bundles, so the `undici` package is loaded
// here, on the first request of a client that has a certificate, and never
// otherwise: clients without one load and pay nothing. It is an optional
// peer dependency of this package.
//
// Agents are shared per distinct (cert, key, ca), so clients holding one
// certificate share connections, and bounded, as the Rust side's HTTP
// clients are. They trust what the token request trusts: Node's roots,
// NODE_EXTRA_CA_CERTS and `ca` (Node's `ca` option alone would replace the
// roots).

const crypto = require('node:crypto')
const fs = require('node:fs')
const tls = require('node:tls')
const { invalidOptions } = require('./token-error')

const MAX_AGENTS = 16
const agents = new Map()
let Agent = null
let extraRoots = null

function loadAgent() {
  if (Agent === null) {
    try {
      Agent = require('undici').Agent
    } catch (err) {
      throw invalidOptions('a client with cert needs the undici package to present it on requests: npm install undici', err)
    }
  }
  return Agent
}

/** NODE_EXTRA_CA_CERTS, read once as Node reads it (an unreadable file is ignored). */
function nodeExtraRoots() {
  if (extraRoots === null) {
    extraRoots = []
    const file = process.env.NODE_EXTRA_CA_CERTS
    if (file) {
      try {
        extraRoots.push(fs.readFileSync(file, 'utf8'))
      } catch {}
    }
  }
  return extraRoots
}

/** The dispatcher that presents `cert` and `key`, trusting `ca` as well; throws TokenError without undici. */
function certificateDispatcher({ cert, key, ca }) {
  const id = crypto.createHash('sha256').update(JSON.stringify([cert, key, ca ?? null])).digest('base64')
  let agent = agents.get(id)
  if (agent !== undefined) return agent
  const AgentClass = loadAgent()
  const roots = [...tls.rootCertificates, ...nodeExtraRoots()]
  if (ca !== undefined) roots.push(ca)
  agent = new AgentClass({ connect: { cert, key, ca: roots } })
  if (agents.size >= MAX_AGENTS) {
    const [oldestId, oldest] = agents.entries().next().value
    agents.delete(oldestId)
    oldest.close().catch(() => {}) // after its requests in flight
  }
  agents.set(id, agent)
  return agent
}

module.exports = { certificateDispatcher }

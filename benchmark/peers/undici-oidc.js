'use strict'

// undici-oidc-interceptor 0.6: single flight and refresh ahead, inside an
// undici dispatcher. It hands a token to outgoing requests rather than to a
// caller, so "getting a token" here is a request through the dispatcher to
// a loopback API that echoes the bearer token it received. Its token
// requests go out through undici's `request` as the interceptor does them.
//
// The API side uses an Agent capped at API_CONNECTIONS connections: with
// undici's default (no cap), 500 concurrent callers per thread open 500
// sockets to the echo API and the run measures the kernel's accept backlog
// rather than the interceptor. The cap does not touch token handling.

const http = require('node:http')
const { Agent, request } = require('undici')
const { createOidcInterceptor } = require('undici-oidc-interceptor')

const API_CONNECTIONS = 32

async function startEchoApi() {
  const server = http.createServer((req, res) => {
    res.end((req.headers.authorization || '').replace(/^Bearer /, ''))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()),
  }
}

/** The same API request without the interceptor: the part of its latency that is not token handling. */
function createPlainApiCaller({ apiOrigin }) {
  const dispatcher = new Agent({ connections: API_CONNECTIONS })
  return {
    async getToken() {
      const { body } = await request(apiOrigin, { dispatcher })
      return body.text()
    },
    close: () => dispatcher.close(),
  }
}

function createUndiciOidcPeer({ tokenUrl, clientId, clientSecret, apiOrigin }) {
  const dispatcher = new Agent({ connections: API_CONNECTIONS }).compose(
    createOidcInterceptor({ idpTokenUrl: tokenUrl, clientId, clientSecret, urls: [apiOrigin] }),
  )
  return {
    async getToken() {
      const { body } = await request(apiOrigin, { dispatcher })
      return body.text()
    },
    close: () => dispatcher.close(),
  }
}

module.exports = { startEchoApi, createUndiciOidcPeer, createPlainApiCaller, API_CONNECTIONS }

'use strict'

// undici-oidc-interceptor 0.6: single flight and refresh ahead, inside an
// undici dispatcher. It hands a token to outgoing requests rather than to a
// caller, so "getting a token" here is a request through the dispatcher to
// a loopback API that echoes the Authorization header it received.

const http = require('node:http')
const { Agent, request } = require('undici')
const { createOidcInterceptor } = require('undici-oidc-interceptor')

async function startEchoApi() {
  const server = http.createServer((req, res) => {
    res.end((req.headers.authorization || '').replace(/^Bearer /, ''))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) }
}

function createUndiciOidcPeer({ tokenUrl, clientId, clientSecret, apiOrigin }) {
  const dispatcher = new Agent().compose(
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

module.exports = { startEchoApi, createUndiciOidcPeer }

'use strict'

// The protected API of the client.fetch benchmarks: a loopback server that
// answers every request at once with a small JSON body, so what is measured
// is the client side of a request.

const http = require('node:http')

/** Starts the API; `url` is its `/api/v2/users` address with `query` appended. */
async function startApi(query = '') {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end('{"ok":true}')
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${server.address().port}/api/v2/users${query}`,
    close: () => new Promise((resolve) => server.close(resolve).closeAllConnections()),
  }
}

module.exports = { startApi }

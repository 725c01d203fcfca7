'use strict';

// A protected API on 127.0.0.1 for the client.fetch suites: it accepts only
// the newest token the given token server issued, and only until that one
// is revoked; anything else is a 401. Every request is recorded.
//
//   const api = await startResourceServer(tokenServer);
//   api.revoke();                       // the newest token is refused from now on
//   api.route('/moved', (req, res) => { res.writeHead(302, { location }); res.end(); });
//   api.requests                        // [{ method, path, authorization, authorizationHeaders, dpop, body }]

const http = require('node:http');

async function startResourceServer(tokenServer) {
  const revoked = new Set();
  const routes = new Map();
  const requests = [];
  const sockets = new Set();

  const accepted = (authorization) => {
    const newest = tokenServer.issued.at(-1);
    return newest !== undefined && !revoked.has(newest) && authorization === `Bearer ${newest}`;
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const authorizationHeaders = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (req.rawHeaders[i].toLowerCase() === 'authorization') authorizationHeaders.push(req.rawHeaders[i + 1]);
      }
      const record = {
        method: req.method,
        path: req.url,
        authorization: req.headers.authorization ?? null,
        authorizationHeaders,
        dpop: req.headers.dpop ?? null,
        body: Buffer.concat(chunks).toString(),
      };
      requests.push(record);
      const route = routes.get(req.url.split('?')[0]);
      if (route !== undefined) return route(req, res, record);
      if (!accepted(record.authorization)) {
        res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' });
        return res.end(JSON.stringify({ statusCode: 401, error: 'Unauthorized', message: 'Invalid token' }));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, method: req.method, path: req.url, body: record.body }));
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;

  return {
    origin,
    host: `127.0.0.1:${server.address().port}`,
    requests,
    accepted,
    /** The newest token is refused from now on (the next one issued is accepted). */
    revoke() { revoked.add(tokenServer.issued.at(-1)); },
    /** Answers `path` with `handler(req, res, record)` instead of the token check. */
    route(path, handler) { routes.set(path, handler); },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

module.exports = { startResourceServer };

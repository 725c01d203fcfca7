'use strict';

// A protected API on 127.0.0.1 guarded by the real express-oauth2-jwt-bearer
// (the middleware Auth0 ships for Express resource servers), requiring
// DPoP: it accepts a request only with `Authorization: DPoP <token>` for
// `audience` from `issuer`, and a valid proof for that request, by the key
// the token is bound to (cnf.jkt). Every request is recorded with the
// answer's status.
//
//   const api = await startJwtBearerApi({ issuer: op.issuer, audience: 'urn:api' });
//   api.origin / api.requests ([{ method, url, authorization, dpop, status, wwwAuthenticate }]) / await api.close()

const http = require('node:http');

async function startJwtBearerApi({ issuer, audience }) {
  const express = require('express');
  const { auth } = require('express-oauth2-jwt-bearer');
  const requests = [];
  const app = express();
  app.use((req, res, next) => {
    const record = {
      method: req.method,
      url: req.originalUrl,
      authorization: req.headers.authorization ?? null,
      dpop: req.headers.dpop ?? null,
      status: null,
      wwwAuthenticate: null,
    };
    requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
      record.wwwAuthenticate = res.getHeader('www-authenticate') ?? null;
    });
    next();
  });
  app.use(auth({ issuerBaseURL: issuer, audience, dpop: { enabled: true, required: true } }));
  app.use(express.text({ type: '*/*' }), (req, res) => {
    res.json({ ok: true, method: req.method, sub: req.auth.payload.sub, jkt: req.auth.payload.cnf?.jkt, body: req.body });
  });
  // Its refusals as JSON, with the WWW-Authenticate the middleware set.
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    res.status(err.status ?? 500);
    for (const [name, value] of Object.entries(err.headers ?? {})) res.set(name, value);
    res.json({ error: err.code ?? 'error', message: err.message });
  });
  const server = http.createServer(app);
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    requests,
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

module.exports = { startJwtBearerApi };

'use strict';

// An HTTPS API on 127.0.0.1 that accepts certificate-bound access tokens
// (RFC 8705 §3): it asks every client for a certificate, verifies the JWT
// access token (the authorization server's key, issuer, audience, expiry)
// and, when the token carries cnf["x5t#S256"], accepts it only from a
// client that presented that certificate. A token without cnf is accepted
// as a bearer token. Every request is recorded.
//
//   const api = await startBoundResourceServer({ tls: { key, cert, ca }, verifyKey, issuer, audience });
//   api.origin / api.requests ([{ path, authorization, certificate, status, reason }]) / await api.close()

const https = require('node:https');
const crypto = require('node:crypto');
const { jwtVerify } = require('jose');

async function startBoundResourceServer({ tls, verifyKey, issuer, audience }) {
  const requests = [];
  const sockets = new Set();

  async function judge(req) {
    const authorization = req.headers.authorization ?? '';
    const [scheme, token] = authorization.split(' ');
    if (!/^bearer$/i.test(scheme) || !token) return { status: 401, reason: 'no bearer token' };
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, verifyKey, { issuer, audience }));
    } catch (err) {
      return { status: 401, reason: `token not valid: ${err.code}` };
    }
    const presented = req.socket.getPeerX509Certificate?.();
    const thumbprint = presented ? crypto.createHash('sha256').update(presented.raw).digest('base64url') : null;
    const bound = claims.cnf?.['x5t#S256'];
    if (bound !== undefined && bound !== thumbprint) {
      return { status: 401, reason: thumbprint === null ? 'bound token without a certificate' : 'bound to another certificate' };
    }
    return { status: 200, reason: bound === undefined ? 'bearer' : 'bound', sub: claims.sub };
  }

  const server = https.createServer(
    { key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      req.resume();
      req.on('end', async () => {
        const verdict = await judge(req);
        const presented = req.socket.getPeerX509Certificate?.();
        requests.push({
          path: req.url,
          authorization: req.headers.authorization ?? null,
          certificate: presented ? crypto.createHash('sha256').update(presented.raw).digest('base64url') : null,
          ...verdict,
        });
        const headers = { 'content-type': 'application/json' };
        if (verdict.status === 401) headers['www-authenticate'] = 'Bearer error="invalid_token"';
        res.writeHead(verdict.status, headers);
        res.end(JSON.stringify(verdict));
      });
    },
  );
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    origin: `https://127.0.0.1:${server.address().port}`,
    requests,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { startBoundResourceServer };

'use strict';

// A scriptable OAuth 2.0 token endpoint for the test suites, on 127.0.0.1.
//
//   const server = await startTokenServer({ expiresIn, tokenFormat, jwtExpSeconds, delayMs, respond, tls });
//
// Every request (any path, any method) is counted and recorded. By default it
// answers 200 {"access_token", "token_type":"Bearer", "expires_in", "scope"?}.
// `respond(ctx)` may return a Response to answer differently, or undefined for
// the default. Response = { status, headers, body, delayMs, hang, destroy, bytes }.

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned JWT (alg "none") whose exp is `expSeconds` from now. */
function unsignedJwt(n, expSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: 'test-client@clients', iat: now, exp: now + expSeconds, jti: `${n}-${crypto.randomBytes(4).toString('hex')}` };
  return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
}

async function startTokenServer(opts = {}) {
  const {
    expiresIn = 3600,
    tokenFormat = 'opaque',
    jwtExpSeconds = 3600,
    delayMs = 0,
    respond,
    tls,
  } = opts;

  const sockets = new Set();
  const timers = new Set();
  let closed = false;

  // Resolves after `ms`, or never once the server is closed (so no pending
  // timer keeps the test process alive).
  const sleep = (ms) => new Promise((resolve) => {
    if (!(ms > 0)) return resolve();
    const t = setTimeout(() => { timers.delete(t); resolve(); }, ms);
    timers.add(t);
  });

  function defaultResponse(n, form) {
    const accessToken = tokenFormat === 'jwt'
      ? unsignedJwt(n, jwtExpSeconds)
      : `tok-${n}-${crypto.randomBytes(8).toString('hex')}`;
    server.issued.push(accessToken);
    const body = { access_token: accessToken, token_type: 'Bearer' };
    if (expiresIn !== null && expiresIn !== undefined) body.expires_in = expiresIn;
    if (form.scope !== undefined) body.scope = form.scope;
    return { status: 200, body, delayMs };
  }

  async function send(req, res, r) {
    if (r.delayMs > 0) await sleep(r.delayMs);
    if (closed || res.destroyed) return;
    if (r.hang) return; // never answer; close() destroys the socket
    if (r.destroy) {
      const s = req.socket;
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy(); else s.destroy();
      return;
    }
    const headers = { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store', ...(r.headers || {}) };
    res.writeHead(r.status ?? 200, headers);
    if (typeof r.bytes === 'number') {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = r.bytes;
      while (left > 0 && !closed && !res.destroyed) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!res.write(part)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
      }
      if (!res.destroyed) res.end();
      return;
    }
    let body = r.body;
    if (body === undefined || body === null) body = '';
    else if (typeof body === 'object' && !Buffer.isBuffer(body)) body = JSON.stringify(body);
    res.end(body);
  }

  async function handle(req, res) {
    const n = ++server.count;
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const form = Object.fromEntries(new URLSearchParams(rawBody));
    const record = { n, method: req.method, path: req.url, headers: req.headers, form, rawBody, at: Date.now() };
    server.requests.push(record);
    const ctx = { ...record, defaultResponse: () => defaultResponse(n, form) };
    let r = respond ? await respond(ctx) : undefined;
    if (r === undefined || r === null) r = defaultResponse(n, form);
    await send(req, res, r);
  }

  const onRequest = (req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent && !res.destroyed) { res.writeHead(500); res.end(String(err && err.stack)); }
    });
  };
  // tls.requestCert with tls.ca: a client certificate from that CA is required (mutual TLS).
  const srv = tls
    ? https.createServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: tls.requestCert === true }, onRequest)
    : http.createServer(onRequest);
  srv.on(tls ? 'secureConnection' : 'connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  if (tls) srv.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });

  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });

  const port = srv.address().port;
  const origin = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const server = {
    url: `${origin}/oauth/token`,
    origin,
    host: `127.0.0.1:${port}`,
    port,
    count: 0,
    requests: [],
    issued: [],
    reset() {
      server.count = 0;
      server.requests.length = 0;
      server.issued.length = 0;
    },
    close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise((resolve) => {
        srv.close(() => resolve());
        for (const s of sockets) s.destroy();
        if (typeof srv.closeAllConnections === 'function') srv.closeAllConnections();
      });
    },
  };
  return server;
}

let seq = 0;
/** A client id no other test in this process uses, so tests never share a cache entry. */
const uid = (prefix) => `${prefix}-${process.pid}-${++seq}`;

/** The default answer of the server `ctx` came to, with another expires_in. */
function expiringIn(ctx, seconds) {
  const r = ctx.defaultResponse();
  return { ...r, body: { ...r.body, expires_in: seconds } };
}

/** Runs `fn(server)` against a fresh token server, closing it afterwards. */
async function withServer(opts, fn) {
  const server = await startTokenServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

module.exports = { startTokenServer, withServer, uid, expiringIn };

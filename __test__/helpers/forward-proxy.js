'use strict';

// A small HTTP forward proxy on 127.0.0.1 for the proxy tests: plain HTTP
// requests in absolute form (`POST http://host:port/path`) and CONNECT
// tunnels (HTTPS), both counted with their target.
//
//   const proxy = await startForwardProxy({ hosts, auth, refuse });
//   proxy.url          'http://127.0.0.1:<port>'
//   proxy.urlWith(user, password)  the same with percent-encoded credentials
//   proxy.connects     ['host:port', …] every CONNECT received, in order
//   proxy.requests     ['http://host:port/path', …] every plain request received
//   proxy.count        connects + requests
//   proxy.credentials  [{ username, password } | null, …] the decoded Proxy-Authorization of each
//   proxy.reset(), await proxy.close()
//
// hosts: { 'name': port } or { 'name:port': port } sends a target that does not
//   resolve (e.g. 'token.m2m-test.invalid') to 127.0.0.1:<port>, so a request
//   that reaches the server can only have come through this proxy. Other
//   targets are served only when they are loopback; anything else gets 502
//   (no DNS lookup, so the tests never leave the machine).
// auth: { username, password } answers 407 to anything without exactly them.
// refuse: true closes every connection as soon as it is accepted (proxy.refuse
//   can be changed later).

const http = require('node:http');
const net = require('node:net');

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/** { username, password } from a `Basic` Proxy-Authorization header, else null. */
function decodeBasic(header) {
  if (typeof header !== 'string' || !/^basic /i.test(header)) return null;
  const pair = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = pair.indexOf(':');
  if (colon < 0) return { username: pair, password: '' };
  return { username: pair.slice(0, colon), password: pair.slice(colon + 1) };
}

/** 'host:port' from a CONNECT target or a URL; IPv6 brackets kept off the host. */
function splitTarget(hostPort) {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(hostPort);
  return m ? { host: m[1], port: Number(m[2]) } : { host: hostPort, port: NaN };
}

async function startForwardProxy({ hosts = {}, auth = null, refuse = false } = {}) {
  const sockets = new Set();
  const state = { connects: [], requests: [], credentials: [] };

  /** Where a target goes: a loopback port, or null (answered 502). */
  function route(host, port) {
    const name = host.toLowerCase();
    const mapped = hosts[`${name}:${port}`] ?? hosts[name];
    if (mapped !== undefined) return { host: '127.0.0.1', port: mapped };
    if (LOOPBACK.has(name) && port > 0) return { host: name === 'localhost' ? '127.0.0.1' : name, port };
    return null;
  }

  /** Records the credentials; true when the request may pass. */
  function admit(req) {
    const credentials = decodeBasic(req.headers['proxy-authorization']);
    state.credentials.push(credentials);
    if (!auth) return true;
    return credentials !== null && credentials.username === auth.username && credentials.password === auth.password;
  }

  const server = http.createServer((req, res) => {
    // Plain HTTP through a proxy uses the absolute form; anything else is not for us.
    let target;
    try {
      target = new URL(req.url);
    } catch {
      res.writeHead(400).end();
      return;
    }
    state.requests.push(req.url);
    if (!admit(req)) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="m2m-test"', 'content-type': 'text/plain' });
      res.end('proxy authentication required');
      return;
    }
    const to = target.protocol === 'http:' ? route(target.hostname, Number(target.port || 80)) : null;
    if (!to) {
      res.writeHead(502).end();
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request({ host: to.host, port: to.port, method: req.method, path: `${target.pathname}${target.search}`, headers }, (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });

  server.on('connect', (req, client, head) => {
    state.connects.push(req.url);
    client.on('error', () => {});
    if (!admit(req)) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="m2m-test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const { host, port } = splitTarget(req.url);
    const to = route(host, port);
    if (!to) {
      client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect(to.port, to.host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head && head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    });
    client.on('close', () => upstream.destroy());
  });

  server.on('connection', (socket) => {
    if (proxy.refuse) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();

  const proxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    refuse,
    urlWith(username, password) {
      return `http://${encodeURIComponent(username)}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    },
    get connects() { return state.connects; },
    get requests() { return state.requests; },
    get credentials() { return state.credentials; },
    get count() { return state.connects.length + state.requests.length; },
    reset() {
      state.connects = [];
      state.requests = [];
      state.credentials = [];
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        if (typeof server.closeAllConnections === 'function') server.closeAllConnections();
      });
    },
  };
  return proxy;
}

module.exports = { startForwardProxy, decodeBasic };

'use strict';

// A real, certified authorization server for the interop suite: oidc-provider v9
// (ESM-only, hence the dynamic import) on 127.0.0.1, port 0, plain HTTP, with the
// client_credentials grant and resource indicators (JWT access tokens whose `aud`
// is the requested resource).
//
//   const { startOidcServer, generateClientKey } = require('./helpers/oidc-server');
//   const key = generateClientKey('ES256', { kid: 'k1' });
//   const op = await startOidcServer({ clients: [{ client_id, token_endpoint_auth_method: 'private_key_jwt',
//                                                 token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [key.jwk] } }] });
//   op.issuer / op.tokenUrl / op.jwksUrl / op.count / op.requests / op.reset() / await op.close()
//
// With `tls: { key, cert, ca }` it listens on HTTPS, asks every client for a
// certificate (the handshake never fails for one: the provider judges it),
// and offers mutual TLS (RFC 8705): tls_client_auth (a certificate from
// `ca`, matched by its registered tls_client_auth_san_dns),
// self_signed_tls_client_auth (a certificate registered in the client's
// jwks as x5c) and certificate-bound access tokens for clients registered
// with tls_client_certificate_bound_access_tokens. `op.requests[i].certificate`
// is then the thumbprint of the certificate a token request presented, or null.

const http = require('node:http');
const https = require('node:https');
const crypto = require('node:crypto');

const RESOURCE_SCOPE = 'read:users write:users';

/**
 * A client key pair for private_key_jwt, made at test time (nothing committed).
 * alg: 'RS256' | 'PS256' (RSA 2048) | 'ES256' (EC P-256).
 * Returns { alg, kid, pkcs8, traditional, jwk, publicKey, privateKey }:
 *   pkcs8       PEM "BEGIN PRIVATE KEY"
 *   traditional PEM "BEGIN RSA PRIVATE KEY" (PKCS#1) or "BEGIN EC PRIVATE KEY" (SEC1)
 *   jwk         public JWK (with kid, alg, use) for the provider's client registration
 */
function generateClientKey(alg, { kid } = {}) {
  const rsa = alg === 'RS256' || alg === 'PS256';
  if (!rsa && alg !== 'ES256') throw new Error(`unsupported alg ${alg}`);
  const { publicKey, privateKey } = rsa
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), alg, use: 'sig' };
  if (kid !== undefined) jwk.kid = kid;
  return {
    alg,
    kid,
    publicKey,
    privateKey,
    pkcs8: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    traditional: privateKey.export({ format: 'pem', type: rsa ? 'pkcs1' : 'sec1' }),
    jwk,
  };
}

/**
 * Start oidc-provider.
 * options.clients: oidc-provider client metadata; grant_types, response_types,
 *   redirect_uris and scope get client-credentials defaults when omitted.
 * options.resourceScope: scope of every resource server (default 'read:users write:users').
 * options.accessTokenTTL: seconds (default 3600).
 * options.tokenPath: where the token endpoint is (default '/token'; Auth0's is '/oauth/token').
 * options.tls: { key, cert, ca }: HTTPS with mutual TLS (see above).
 */
// oidc-provider prints two expected warnings (Node 20 "unsupported runtime", in-memory
// adapter); keep test output readable, pass everything else through.
let warningsFiltered = false;
function filterProviderWarnings() {
  if (warningsFiltered) return;
  warningsFiltered = true;
  const warn = console.warn;
  console.warn = function filteredWarn(...args) {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider WARNING')) return;
    warn.apply(this, args);
  };
}

/** features.mTLS, reading the certificate from the TLS socket of the request. */
function mutualTls() {
  const peer = (ctx) => ctx.req.socket.getPeerX509Certificate?.();
  return {
    enabled: true,
    certificateBoundAccessTokens: true,
    tlsClientAuth: true,
    selfSignedTlsClientAuth: true,
    getCertificate: peer,
    certificateAuthorized: (ctx) => ctx.req.socket.authorized === true,
    certificateSubjectMatches(ctx, property, expected) {
      if (property !== 'tls_client_auth_san_dns') return false;
      return (peer(ctx)?.subjectAltName ?? '').split(', ').includes(`DNS:${expected}`);
    },
  };
}

async function startOidcServer({ clients = [], resourceScope = RESOURCE_SCOPE, accessTokenTTL = 3600, tls, tokenPath = '/token' } = {}) {
  filterProviderWarnings();
  const { default: Provider, errors } = await import('oidc-provider');

  // The provider's own signing key (JWT access tokens). Not the dev keys oidc-provider
  // would otherwise fall back to with a warning.
  const signing = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingJwk = { ...signing.privateKey.export({ format: 'jwk' }), kid: 'op-rs256', alg: 'RS256', use: 'sig' };

  const server = tls === undefined
    ? http.createServer()
    : https.createServer({ key: tls.key, cert: tls.cert, ca: tls.ca, requestCert: true, rejectUnauthorized: false });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;

  const configuration = {
    clients: clients.map((c) => ({
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: resourceScope,
      ...c,
    })),
    jwks: { keys: [signingJwk] },
    clientAuthMethods: ['client_secret_post', 'client_secret_basic', 'private_key_jwt',
      ...(tls === undefined ? [] : ['tls_client_auth', 'self_signed_tls_client_auth'])],
    enabledJWA: {
      clientAuthSigningAlgValues: ['RS256', 'RS384', 'PS256', 'ES256'],
    },
    scopes: resourceScope.split(' '),
    features: {
      ...(tls === undefined ? {} : { mTLS: mutualTls() }),
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: false },
      revocation: { enabled: false },
      resourceIndicators: {
        enabled: true,
        // Only explicit resources: a request without `resource` gets an opaque token.
        defaultResource: () => undefined,
        useGrantedResource: () => true,
        getResourceServerInfo(_ctx, resourceIndicator) {
          if (!resourceIndicator.startsWith('urn:')) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: resourceScope,
            audience: resourceIndicator,
            accessTokenTTL,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: { ClientCredentials: accessTokenTTL },
    routes: { token: tokenPath },
  };

  const provider = new Provider(issuer, configuration);
  // Server-side errors (500s) would otherwise be swallowed into a generic body; surface them.
  const serverErrors = [];
  provider.on('server_error', (_ctx, err) => serverErrors.push(err));

  const state = {
    count: 0,
    requests: [],
  };
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === tokenPath) {
      state.count += 1;
      // Headers only: the body stream belongs to the provider.
      const record = { headers: { ...req.headers }, at: Date.now() };
      if (tls !== undefined) {
        const certificate = req.socket.getPeerX509Certificate?.();
        record.certificate = certificate ? crypto.createHash('sha256').update(certificate.raw).digest('base64url') : null;
      }
      state.requests.push(record);
    }
    callback(req, res);
  });

  const sockets = new Set();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  return {
    provider,
    issuer,
    port,
    tokenUrl: `${issuer}${tokenPath}`,
    jwksUrl: `${issuer}/jwks`,
    /** Verifies the provider's JWT access tokens. */
    signingKey: signing.publicKey,
    resourceScope,
    serverErrors,
    get count() { return state.count; },
    get requests() { return state.requests; },
    reset() {
      state.count = 0;
      state.requests = [];
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

module.exports = { startOidcServer, generateClientKey, RESOURCE_SCOPE };

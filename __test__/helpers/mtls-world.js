'use strict';

// What the mutual TLS suites and benchmark B13 share: a test CA and its
// certificates, oidc-provider with mTLS over HTTPS (helpers/oidc-server.js)
// and an HTTPS API that checks cnf["x5t#S256"] (helpers/bound-resource-server.js).
//
//   const world = await startMtlsWorld();
//   world.certs.rsa / .ec     client certificates from the CA, SAN DNS CLIENT_DNS (tls_client_auth)
//   world.certs.other         another client certificate from the CA (for mismatches)
//   world.certs.own           a self-signed one, registered for 'self-signed'
//   world.op / world.api / world.pki / world.tls (the server's { key, cert, ca }) / world.clients
//   world.options({ clientId, ... })  token options for the provider (ca and resource set)
//   await world.close()
//
// Registered clients, all with certificate-bound tokens: 'by-ca'
// (tls_client_auth), 'self-signed' (self_signed_tls_client_auth),
// 'secret-bound' (client_secret_basic, secret SECRET), 'key-bound'
// (private_key_jwt with world.signingKey, ES256).

const crypto = require('node:crypto');
const { startOidcServer, generateClientKey } = require('./oidc-server');
const { startBoundResourceServer } = require('./bound-resource-server');
const { makeCa, selfSigned } = require('./certificates');

const RESOURCE = 'urn:m2m-test:api';
const CLIENT_DNS = 'svc.clients.test';
const TENANT = 'tenant.m2m-test.invalid';
const SECRET = 'secret-bound-shh';

/** A public JWK with the certificate in x5c: how a self-signed certificate is registered. */
function registered(cert) {
  const x509 = new crypto.X509Certificate(cert);
  return { ...x509.publicKey.export({ format: 'jwk' }), x5c: [x509.raw.toString('base64')] };
}

async function startMtlsWorld() {
  const pki = makeCa();
  const serverCert = pki.issue({ cn: 'server', dns: ['localhost', `mtls.${TENANT}`], ip: ['127.0.0.1'] });
  const certs = {
    rsa: pki.issue({ cn: 'svc', kind: 'rsa', dns: [CLIENT_DNS] }),
    ec: pki.issue({ cn: 'svc', kind: 'ec', dns: [CLIENT_DNS] }),
    other: pki.issue({ cn: 'other', kind: 'ec', dns: ['other.clients.test'] }),
    own: selfSigned({ cn: 'own', kind: 'ec' }),
  };
  const tls = { key: serverCert.key, cert: serverCert.cert, ca: pki.cert };
  const signingKey = generateClientKey('ES256', { kid: 'key-bound-1' });
  const bound = { tls_client_certificate_bound_access_tokens: true };
  const clients = [
    { client_id: 'by-ca', token_endpoint_auth_method: 'tls_client_auth', tls_client_auth_san_dns: CLIENT_DNS, ...bound },
    { client_id: 'self-signed', token_endpoint_auth_method: 'self_signed_tls_client_auth', jwks: { keys: [registered(certs.own.cert)] }, ...bound },
    { client_id: 'secret-bound', client_secret: SECRET, token_endpoint_auth_method: 'client_secret_basic', ...bound },
    { client_id: 'key-bound', token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256', jwks: { keys: [signingKey.jwk] }, ...bound },
  ];
  const op = await startOidcServer({ tls, clients });
  const api = await startBoundResourceServer({ tls, verifyKey: op.signingKey, issuer: op.issuer, audience: RESOURCE });
  return {
    pki,
    certs,
    signingKey,
    tls,
    clients,
    op,
    api,
    options: (extra) => ({ tokenUrl: op.tokenUrl, ca: pki.cert, extraParams: { resource: RESOURCE }, ...extra }),
    async close() {
      await api.close();
      await op.close();
    },
  };
}

/** The part of a JWT's payload a test looks at. */
const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());

module.exports = { startMtlsWorld, claimsOf, RESOURCE, CLIENT_DNS, TENANT, SECRET };

'use strict';

// DPoP (RFC 9449) proofs as the suites check them, claim by claim, with
// `jose` verifying each signature against the public key in the proof's
// own header; and proof keys of each kind, made at test time.
//
//   const key = makeProofKey('ES384');       // { alg, pem, jwk, thumbprint }
//   const { header, claims, thumbprint } = await checkProof(proof, { htm: 'GET', htu, accessToken, nonce });

const assert = require('node:assert/strict');
const crypto = require('node:crypto');

let josePromise = null;
const jose = () => (josePromise ??= import('jose'));

const ALGORITHMS = {
  ES256: { type: 'ec', options: { namedCurve: 'P-256' } },
  ES384: { type: 'ec', options: { namedCurve: 'P-384' } },
  EdDSA: { type: 'ed25519', options: {} },
};

/**
 * A proof key made now. `format`: 'pkcs8' (default) or 'sec1' (EC only).
 * Returns { alg, pem, jwk (public), thumbprint (RFC 7638, as jose computes it) }.
 */
async function makeProofKey(alg, { format = 'pkcs8' } = {}) {
  const { type, options } = ALGORITHMS[alg];
  const { publicKey, privateKey } = crypto.generateKeyPairSync(type, options);
  const jwk = publicKey.export({ format: 'jwk' });
  const { calculateJwkThumbprint } = await jose();
  return {
    alg,
    pem: privateKey.export({ format: 'pem', type: format }),
    jwk,
    thumbprint: await calculateJwkThumbprint(jwk, 'sha256'),
  };
}

const b64urlSha256 = (text) => crypto.createHash('sha256').update(text).digest('base64url');

/**
 * Verifies `proof` and checks every header member and claim RFC 9449 asks
 * for. `expected`: { htm, htu, accessToken? (then ath), nonce? (absent: no
 * nonce claim), alg?, iatNear? (ms, default now) }.
 */
async function checkProof(proof, expected) {
  assert.equal(typeof proof, 'string', 'a DPoP proof was sent');
  const { compactVerify, importJWK, decodeProtectedHeader, calculateJwkThumbprint } = await jose();
  const header = decodeProtectedHeader(proof);
  assert.equal(header.typ, 'dpop+jwt');
  if (expected.alg !== undefined) assert.equal(header.alg, expected.alg);
  assert.ok(['ES256', 'ES384', 'EdDSA'].includes(header.alg), header.alg);
  assert.equal(typeof header.jwk, 'object');
  for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(member in header.jwk), `jwk holds no private member ${member}`);
  const { payload } = await compactVerify(proof, await importJWK(header.jwk, header.alg));
  const claims = JSON.parse(Buffer.from(payload).toString());
  assert.ok(Buffer.from(claims.jti, 'base64url').length >= 16, 'jti of at least 128 bits');
  assert.equal(claims.htm, expected.htm);
  assert.equal(claims.htu, expected.htu);
  const now = (expected.iatNear ?? Date.now()) / 1000;
  assert.ok(Math.abs(claims.iat - now) <= 5, `iat ${claims.iat} is now`);
  if (expected.accessToken !== undefined) assert.equal(claims.ath, b64urlSha256(expected.accessToken));
  else assert.ok(!('ath' in claims), 'no ath on a token request');
  if (expected.nonce !== undefined) assert.equal(claims.nonce, expected.nonce);
  else assert.ok(!('nonce' in claims), 'no nonce when none was given');
  const allowed = new Set(['jti', 'htm', 'htu', 'iat', 'ath', 'nonce']);
  for (const name of Object.keys(claims)) assert.ok(allowed.has(name), `unexpected claim ${name}`);
  return { header, claims, thumbprint: await calculateJwkThumbprint(header.jwk, 'sha256') };
}

/** The claims of a JWT access token, unverified (the suites verify where it matters). */
function jwtClaims(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

module.exports = { makeProofKey, checkProof, jwtClaims };

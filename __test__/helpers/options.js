'use strict';

// Options for a test's token requests. Every call names a client id no other
// test in this process uses (see uid), so tests never share a cache entry.
//
//   const opts = clientOptions('contract');              // once per suite
//   await m2m.getToken(opts(server, { scope: 'read' }));  // per request
//
//   const optionsFor = storeOptions('redis');
//   await fleet.all('info', { options: optionsFor(server, redis.url()) });

const crypto = require('node:crypto');
const { uid } = require('./token-server');

/** 16 random hex digits: a value no earlier run used. */
const hex = () => crypto.randomBytes(8).toString('hex');

/**
 * `(server, extra) => options` for requests to `server` as client
 * `<prefix>-…` with the secret 'secret'; `defaults`, then `extra`, on top.
 */
const clientOptions = (prefix, defaults = {}) => (server, extra = {}) => ({
  tokenUrl: server.url, clientId: uid(prefix), clientSecret: 'secret', ...defaults, ...extra,
});

/**
 * `(server, store, extra) => options` for a test of a shared store: the
 * secret is random too, so no record a store kept from an earlier run (the
 * key derives from the credential) is ever found again.
 */
const storeOptions = (prefix) => (server, store, extra = {}) => ({
  tokenUrl: server.url, clientId: uid(`${prefix}-client`), clientSecret: `${prefix}-secret-${hex()}`, store, ...extra,
});

/** `value` as application/x-www-form-urlencoded encodes it (how a form field or a Basic credential is sent). */
const formEncode = (value) => new URLSearchParams({ v: value }).toString().slice(2);

module.exports = { clientOptions, storeOptions, hex, formEncode };

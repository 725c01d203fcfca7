'use strict'

// getToken(options) reuses one client per distinct options on a thread,
// comparing options field by field. A field the comparison forgot would let
// options that differ only there share a client: the wrong token, or
// options that should be refused accepted. These tests keep it complete.

const test = require('node:test')
const assert = require('node:assert/strict')
const { normalizeOptions, sameOptions, STRING_KEYS, NUMBER_KEYS } = require('../lib/options')

const base = {
  tokenUrl: 'http://127.0.0.1:9/oauth/token',
  clientId: 'memo-client',
  clientSecret: 'memo-secret',
  extraParams: { organization: 'org_1' },
}

test('options equal field by field are the same', () => {
  const plain = normalizeOptions(base)
  assert.equal(sameOptions(plain, { ...base, extraParams: { organization: 'org_1' } }), true)
})

test('a difference in any single option makes them different', () => {
  const plain = normalizeOptions(base)
  for (const key of STRING_KEYS) {
    assert.equal(sameOptions(plain, { ...base, [key]: `other-${key}` }), false, key)
  }
  for (const key of NUMBER_KEYS) {
    assert.equal(sameOptions(plain, { ...base, [key]: 7 }), false, key)
  }
  assert.equal(sameOptions(plain, { ...base, extraParams: { organization: 'org_2' } }), false)
  assert.equal(sameOptions(plain, { ...base, extraParams: { organization: 'org_1', x: 'y' } }), false)
  assert.equal(sameOptions(plain, { ...base, extraParams: undefined }), false)
})

test('a value of the wrong type never matches a valid one', () => {
  const plain = normalizeOptions({ ...base, leewaySeconds: 60 })
  assert.equal(sameOptions(plain, { ...base, leewaySeconds: '60' }), false)
  const nan = { ...base, leewaySeconds: NaN }
  assert.equal(sameOptions({ ...normalizeOptions(base), leewaySeconds: NaN }, nan), false)
})

test('getToken(options) refuses bad options even after good ones of the same client id', async () => {
  const m2m = require('..')
  const good = { ...base, leewaySeconds: 60 }
  assert.ok(new m2m.TokenClient(good))
  const err = await m2m.getToken({ ...base, leewaySeconds: '60' }).then(
    () => assert.fail('resolved'),
    (e) => e,
  )
  assert.equal(err.code, 'ERR_INVALID_OPTIONS')
  assert.match(err.message, /leewaySeconds/)
})

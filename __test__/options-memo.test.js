'use strict'

// getToken(options) reuses one client per distinct options on a thread,
// comparing options field by field. A field the comparison forgot would let
// options that differ only there share a client: the wrong token, or
// options that should be refused accepted. These tests keep it complete.

const test = require('node:test')
const assert = require('node:assert/strict')
const { normalizeOptions, sameOptions, memoClientId, STRING_KEYS, NUMBER_KEYS } = require('../lib/options')
const { withPolluted } = require('./helpers/pollution')

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
  assert.equal(sameOptions(plain, { ...base, proxy: false }), false, 'proxy')
  assert.equal(sameOptions(plain, { ...base, proxy: 'http://127.0.0.1:9' }), false, 'proxy')
})

test('store and proxy are compared as given', () => {
  const plain = normalizeOptions({ ...base, store: 'memory', proxy: false })
  assert.equal(sameOptions(plain, { ...base, store: 'memory', proxy: false }), true)
  assert.equal(sameOptions(plain, { ...base, store: 'file', proxy: false }), false)
  assert.equal(sameOptions(plain, { ...base, store: 'memory' }), false)
})

/** Runs `fn` with `Object.prototype[key] = value`, then removes it. */

test('a polluted Object.prototype never makes different options the same, nor the same ones different', () => {
  const polluting = {
    domain: 'evil.example', tokenUrl: 'http://127.0.0.1:9/evil', clientId: 'memo-client', clientSecret: 'memo-secret',
    audience: 'evil', scope: 'evil', authMethod: 'client_secret_basic', keyId: 'k', ca: 'evil', store: 'file',
    leewaySeconds: 7, timeoutMs: 7, retries: 7, proxy: false,
  }
  for (const [key, value] of Object.entries(polluting)) {
    const without = () => {
      const options = { ...base }
      delete options[key]
      return options
    }
    const withKey = normalizeOptions({ ...base, [key]: value })
    const withoutKey = normalizeOptions(without())
    withPolluted(key, value, () => {
      const options = without()
      assert.equal(sameOptions(withKey, options), false, `inherited ${key} matched a given one`)
      assert.equal(sameOptions(withoutKey, options), true, `inherited ${key} defeated the memo`)
    })
  }
  withPolluted('organization', 'org_1', () => {
    const plain = normalizeOptions({ ...base, extraParams: {} })
    assert.equal(sameOptions(plain, { ...base, extraParams: {} }), true)
    assert.equal(sameOptions(normalizeOptions(base), { ...base, extraParams: {} }), false)
  })
})

test('an extraParams key __proto__ (as JSON.parse makes) is kept and compared', () => {
  const parsed = () => JSON.parse('{"organization":"org_1","__proto__":"p"}')
  const plain = normalizeOptions({ ...base, extraParams: parsed() })
  assert.deepEqual(Object.keys(plain.extraParams), ['organization', '__proto__'])
  assert.equal(plain.extraParams.__proto__, 'p')
  assert.equal(sameOptions(plain, { ...base, extraParams: parsed() }), true)
  assert.equal(sameOptions(plain, { ...base, extraParams: { organization: 'org_1' } }), false)
  assert.equal(sameOptions(normalizeOptions(base), { ...base, extraParams: parsed() }), false)
  assert.equal(sameOptions(plain, { ...base, extraParams: JSON.parse('{"organization":"org_1","__proto__":"q"}') }), false)
})

test('options that throw when read are never the same, and never make sameOptions throw', () => {
  const plain = normalizeOptions(base)
  const throwing = { ...base }
  Object.defineProperty(throwing, 'scope', { enumerable: true, get() { throw new Error('getter') } })
  assert.equal(sameOptions(plain, throwing), false)
  const { proxy, revoke } = Proxy.revocable({ ...base }, {})
  revoke()
  assert.equal(sameOptions(plain, proxy), false)
  assert.equal(memoClientId(proxy), undefined)
  const throwingId = {}
  Object.defineProperty(throwingId, 'clientId', { get() { throw new Error('getter') } })
  assert.equal(memoClientId(throwingId), undefined)
  assert.equal(memoClientId({ clientId: 'x' }), 'x')
  assert.equal(memoClientId(null), undefined)
})

test('the store defaults to M2M_TOKEN_STORE when not given, and a given one wins', () => {
  const saved = process.env.M2M_TOKEN_STORE
  try {
    process.env.M2M_TOKEN_STORE = 'file'
    assert.equal(normalizeOptions(base).store, 'file')
    assert.equal(normalizeOptions({ ...base, store: 'memory' }).store, 'memory')
    process.env.M2M_TOKEN_STORE = ''
    assert.equal(normalizeOptions(base).store, undefined)
  } finally {
    if (saved === undefined) delete process.env.M2M_TOKEN_STORE
    else process.env.M2M_TOKEN_STORE = saved
  }
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

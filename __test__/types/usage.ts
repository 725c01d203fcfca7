// Type-checked by `tsc -p __test__/types` (never run): typical uses of
// index.d.ts, and misuse that must not compile.

import m2m = require('../..')
import { getToken, getTokenInfo, TokenClient, TokenError, invalidate, clearCache, stats } from '../..'
import { tokenInterceptor, DispatchInterceptor } from '../../undici'
import type { TokenOptions, TokenInfo, Stats, AuthMethod, SigningAlgorithm, TokenErrorCode } from '../..'

const byDomain: TokenOptions = {
  domain: 'contoso.auth0.com',
  clientId: 'id',
  clientSecret: 'secret',
}

const full: TokenOptions = {
  tokenUrl: 'https://login.example.com/oauth2/token',
  clientId: 'id',
  audience: 'https://api.example.com/',
  scope: 'read:users',
  extraParams: { organization: 'org_1' },
  authMethod: 'private_key_jwt',
  privateKey: '-----BEGIN PRIVATE KEY-----\n...',
  keyId: 'kid-1',
  signingAlgorithm: 'ES256',
  assertionAudience: 'https://login.example.com/',
  leewaySeconds: 30,
  timeoutMs: 5000,
  retries: 0,
  ca: '-----BEGIN CERTIFICATE-----\n...',
}

async function promises(): Promise<void> {
  const token: string = await getToken(byDomain)
  const same: string = await m2m.getToken(full)
  const info: TokenInfo = await getTokenInfo(byDomain)
  const at: string = info.accessToken
  const type: string = info.tokenType
  const expiresAt: number = info.expiresAt
  const scope: string | undefined = info.scope
  const fromCache: boolean = info.fromCache
  void [token, same, at, type, expiresAt, scope, fromCache]
}

function callbacks(): void {
  const r: void = getToken(byDomain, (err, token) => {
    if (err) {
      const code: TokenErrorCode = err.code
      const status: number | undefined = err.status
      const oauthError: string | undefined = err.oauthError
      const description: string | undefined = err.oauthErrorDescription
      const retryAfter: number | undefined = err.retryAfter
      const message: string = err.message
      void [code, status, oauthError, description, retryAfter, message]
      return
    }
    const t: string | undefined = token
    void t
  })
  void r
  m2m.getTokenInfo(byDomain, (err: TokenError | null, info?: TokenInfo) => {
    if (info) console.log(info.expiresAt - Date.now())
  })
}

async function client(): Promise<void> {
  const c = new TokenClient({ tokenUrl: 'https://idp.example.com/token', clientId: 'id', clientSecret: 's', authMethod: 'client_secret_basic' })
  const token: string = await c.getToken()
  const info: TokenInfo = await c.getTokenInfo()
  c.getToken((err, t) => { void err; void t })
  c.getTokenInfo((err, i) => { if (!err && i) void i.fromCache })
  const dropped: boolean = c.invalidate()
  const comparedAndDropped: boolean = c.invalidate(token)
  void [token, info, dropped, comparedAndDropped]
}

async function usingTheToken(): Promise<void> {
  const c = new TokenClient({ domain: 'contoso.auth0.com', clientId: 'id', clientSecret: 's' })
  const response: Response = await c.fetch('https://contoso.auth0.com/api/v2/users', { headers: { accept: 'application/json' } })
  const fromUrl: Response = await c.fetch(new URL('https://contoso.auth0.com/api/v2/clients'))
  const fromRequest: Response = await c.fetch(new Request('https://contoso.auth0.com/api/v2/roles', { method: 'POST', body: '{}' }))
  // What SDKs take as their `fetch` option: a bare function with fetch's signature.
  const asOption: typeof fetch = c.fetch
  const headers: Record<string, string> = await c.getRequestHeaders('https://contoso.auth0.com/api/v2/users')
  const forPost: Record<string, string> = await c.getRequestHeaders(new URL('https://api.example.com/orders'), 'POST')
  const bound = new TokenClient({ domain: 'contoso.auth0.com', clientId: 'id', cert: '-----BEGIN CERTIFICATE-----', key: '-----BEGIN PRIVATE KEY-----', authMethod: 'tls_client_auth' })
  const selfSigned: AuthMethod = 'self_signed_tls_client_auth'
  // @ts-expect-error the method is a string
  c.getRequestHeaders('https://api.example.com/', 42)
  void [headers, forPost, bound, selfSigned]
  const detached = c.fetch
  const users: unknown = await (await detached('https://contoso.auth0.com/api/v2/users')).json()
  // @ts-expect-error the promise-only API takes no callback
  c.fetch('https://contoso.auth0.com/api/v2/users', {}, () => {})
  // @ts-expect-error a token is a string
  c.invalidate(42)
  void [response, fromUrl, fromRequest, asOption, users]
  const interceptor: DispatchInterceptor = tokenInterceptor(c, { origins: ['https://contoso.auth0.com'] })
  // @ts-expect-error origins are required
  tokenInterceptor(c, {})
  void interceptor
}

function management(): void {
  const dropped: boolean = invalidate(byDomain)
  const dropped2: boolean = m2m.invalidate(full)
  const cleared: void = clearCache()
  const s: Stats = stats()
  const n: number = s.hits + s.misses + s.requests + s.refreshes + s.errors + s.entries
  void [dropped, dropped2, cleared, n]
}

async function errors(): Promise<void> {
  try {
    await getToken(byDomain)
  } catch (e) {
    if (e instanceof TokenError) {
      const name: string = e.name
      const asError: Error = e
      switch (e.code) {
        case 'ERR_INVALID_OPTIONS':
        case 'ERR_OAUTH':
        case 'ERR_HTTP_STATUS':
        case 'ERR_RATE_LIMITED':
        case 'ERR_TIMEOUT':
        case 'ERR_NETWORK':
        case 'ERR_INVALID_RESPONSE':
          break
        default: {
          const never: never = e.code
          void never
        }
      }
      void [name, asError]
    }
  }
}

const method: AuthMethod = 'client_secret_post'
const alg: SigningAlgorithm = 'PS256'
void [method, alg, promises, callbacks, client, management, errors]

// ---- fleet stores, proxies, quota ----

const fleet: TokenOptions = { ...byDomain, store: 'redis://:pw@127.0.0.1:6379/2', proxy: 'http://proxy:3128' }
const noProxy: TokenOptions = { ...byDomain, store: 'file', proxy: false, signingAlgorithm: 'RS384' }
async function observability(): Promise<void> {
  const info: TokenInfo = await getTokenInfo(fleet)
  const remaining: number | undefined = info.quota?.client?.perDay?.remaining
  const s = stats()
  const storeCounts: number = s.storeHits + s.storeErrors
  try {
    await getToken(noProxy)
  } catch (err) {
    if (err instanceof TokenError) {
      const resetAfter: number | undefined = err.quota?.organization?.perHour?.resetAfter
      void resetAfter
    }
  }
  void [remaining, storeCounts]
}
void observability

// ---- misuse ----

// @ts-expect-error proxy is a URL string or false, never true
const proxyTrue: TokenOptions = { domain: 'd', clientId: 'c', proxy: true }

// @ts-expect-error store is a string
const storeObject: TokenOptions = { domain: 'd', clientId: 'c', store: { kind: 'redis' } }

// @ts-expect-error authMethod must be one of the three methods
const badMethod: TokenOptions = { domain: 'd', clientId: 'c', authMethod: 'nope' }

// @ts-expect-error clientId is required
const noClientId: TokenOptions = { domain: 'd', clientSecret: 's' }

// @ts-expect-error domain and tokenUrl are exclusive
const both: TokenOptions = { domain: 'd', tokenUrl: 'https://x/token', clientId: 'c' }

// @ts-expect-error one of domain / tokenUrl is required
const neither: TokenOptions = { clientId: 'c' }

// @ts-expect-error signingAlgorithm is one of RS256, RS384, PS256, ES256
const badAlg: TokenOptions = { domain: 'd', clientId: 'c', signingAlgorithm: 'HS256' }

// @ts-expect-error extraParams values are strings
const badParams: TokenOptions = { domain: 'd', clientId: 'c', extraParams: { n: 1 } }

// @ts-expect-error leewaySeconds is a number
const badLeeway: TokenOptions = { domain: 'd', clientId: 'c', leewaySeconds: '60' }

async function misuse(): Promise<void> {
  // @ts-expect-error the promise form resolves to a string, not TokenInfo
  const info: TokenInfo = await getToken(byDomain)
  // @ts-expect-error the callback form returns nothing
  const p: Promise<string> = getToken(byDomain, () => {})
  // @ts-expect-error options are required
  await getToken()
  // @ts-expect-error not a TokenErrorCode
  const code: TokenErrorCode = 'ERR_SOMETHING'
  // @ts-expect-error stats are numbers
  const hits: string = stats().hits
  void [info, p, code, hits]
}

void [badMethod, noClientId, both, neither, badAlg, badParams, badLeeway, misuse, proxyTrue, storeObject]

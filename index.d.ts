// Types for m2m-token. The contract they describe is in README.md and the guides in docs/.

export type AuthMethod =
  | 'client_secret_post'
  | 'client_secret_basic'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
export type SigningAlgorithm = 'RS256' | 'RS384' | 'PS256' | 'ES256'
export type TokenErrorCode =
  | 'ERR_INVALID_OPTIONS'
  | 'ERR_OAUTH'
  | 'ERR_HTTP_STATUS'
  | 'ERR_RATE_LIMITED'
  | 'ERR_TIMEOUT'
  | 'ERR_NETWORK'
  | 'ERR_INVALID_RESPONSE'

interface CommonOptions {
  /** The client id of your machine-to-machine application. */
  clientId: string
  /** Required for `client_secret_post` and `client_secret_basic`. */
  clientSecret?: string
  /** Default with `domain`: `https://<domain>/api/v2/` (Auth0 Management API v2); with `tokenUrl`: not sent. */
  audience?: string
  /** Space-separated scopes; not sent by default. */
  scope?: string
  /** Extra form fields, e.g. `organization` or `resource`. */
  extraParams?: Record<string, string>
  /**
   * Default `client_secret_post`; `private_key_jwt` when `privateKey` is
   * given; `tls_client_auth` when `cert` is given without a secret or
   * `privateKey`. The two TLS methods send `client_id` and nothing else:
   * the certificate authenticates.
   */
  authMethod?: AuthMethod
  /** PEM private key (PKCS#8; PKCS#1 RSA and SEC1 EC also accepted) for `private_key_jwt`. */
  privateKey?: string
  /** `kid` header of the client assertion. */
  keyId?: string
  /** Default `RS256`. */
  signingAlgorithm?: SigningAlgorithm
  /** `aud` of the client assertion. Default with `domain`: `https://<domain>/`; with `tokenUrl`: the token URL. */
  assertionAudience?: string
  /** A token is never handed out within this many seconds of its expiry. Default 60. */
  leewaySeconds?: number
  /** Per HTTP attempt. Default 10000. */
  timeoutMs?: number
  /** Extra attempts after a network error, a timeout, a 5xx or a 429. Default 2. */
  retries?: number
  /** Extra trusted root certificate(s), PEM, for the token endpoint's TLS. */
  ca?: string
  /**
   * Client certificate (PEM, optionally followed by its chain) for mutual TLS
   * (RFC 8705): presented on every token request, and by `client.fetch` and
   * the undici interceptor; tokens may be bound to it. With `domain`, the
   * token URL becomes `https://mtls.<domain>/oauth/token`. Needs `key`.
   */
  cert?: string
  /** The private key of `cert` (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC). */
  key?: string
  /**
   * Where tokens are shared beyond this process: `'memory'` (default, or
   * `M2M_TOKEN_STORE`), `'file'`, `'file:/abs/dir'`, `'redis://…'`,
   * `'rediss://…'`, `'redis+cluster://host:port,…'`, `'rediss+cluster://…'`,
   * `'redis+sentinel://host:port,…/<master name>'`, `'rediss+sentinel://…'`.
   * What a store promises: docs/stores.md.
   */
  store?: string
  /** Forward proxy URL `http(s)://[user:password@]host:port`, or `false` to ignore `HTTPS_PROXY`/`HTTP_PROXY`. */
  proxy?: string | false
  /**
   * DPoP-bound tokens (RFC 9449). `true`: the proof key is an EC P-256 key
   * derived from the client's credential, the same in every process that
   * holds it. `{ privateKey }`: that PEM key instead (EC P-256 → ES256,
   * P-384 → ES384, Ed25519 → EdDSA). `false` or absent: off.
   */
  dpop?: boolean | DpopOptions
}

export interface DpopOptions {
  /** A P-256, P-384 or Ed25519 private key, PEM (PKCS#8, or SEC1 for EC). Absent: derived from the credential. */
  privateKey?: string
}

export interface DomainOptions extends CommonOptions {
  /** Auth0 tenant, e.g. `contoso.auth0.com` (or `host:port`). */
  domain: string
  tokenUrl?: never
}

export interface TokenUrlOptions extends CommonOptions {
  /** Any OAuth 2.0 token endpoint (`https:`; `http:` only for loopback hosts). */
  tokenUrl: string
  domain?: never
}

export type TokenOptions = DomainOptions | TokenUrlOptions

export interface TokenInfo {
  accessToken: string
  tokenType: string
  /** Milliseconds since the epoch. */
  expiresAt: number
  scope?: string
  /** True when the caller did not wait on a token request. */
  fromCache: boolean
  /** Auth0's M2M quota, when the endpoint sent its quota headers with this token. */
  quota?: Quota
}

export interface QuotaBucket {
  quota: number
  remaining: number
  /** Seconds until the bucket resets. */
  resetAfter: number
}

export interface QuotaBuckets {
  perHour?: QuotaBucket
  perDay?: QuotaBucket
}

/** From `Auth0-Client-Quota-Limit` and `Auth0-Organization-Quota-Limit`. */
export interface Quota {
  client?: QuotaBuckets
  organization?: QuotaBuckets
}

export interface Stats {
  /** Calls answered from the cache without waiting. */
  hits: number
  /** Calls answered after waiting on a token request. */
  misses: number
  /** HTTP requests sent to token endpoints, retries included. */
  requests: number
  /** Refresh-ahead background requests started. */
  refreshes: number
  /** Calls answered with an error. */
  errors: number
  /** Entries in the process-wide cache. */
  entries: number
  /** Tokens taken from a shared store instead of a request. */
  storeHits: number
  /** Store operations that failed (unreachable, timed out, or a record that did not authenticate). */
  storeErrors: number
}

export type Callback<T> = (err: TokenError | null, value?: T) => void

export declare class TokenError extends Error {
  name: 'TokenError'
  code: TokenErrorCode
  /** HTTP status of the token endpoint's answer. */
  status?: number
  oauthError?: string
  oauthErrorDescription?: string
  /** With `ERR_RATE_LIMITED`: seconds left in the rate-limit window (from a 429, or an empty quota bucket); nothing is sent for the entry until then. */
  retryAfter?: number
  /** Auth0's M2M quota, when the failing answer carried its quota headers (e.g. a 429). */
  quota?: Quota
}

export declare class TokenClient {
  /** Validates options synchronously; throws TokenError `ERR_INVALID_OPTIONS`. */
  constructor(options: TokenOptions)
  getToken(): Promise<string>
  getToken(callback: Callback<string>): void
  getTokenInfo(): Promise<TokenInfo>
  getTokenInfo(callback: Callback<TokenInfo>): void
  /**
   * Drops this client's cache entry process-wide (and in its store); true if
   * one was dropped. With `accessToken`, only while the entry still holds
   * that token (compare and drop): false, and nothing dropped, when it holds
   * another. Throws TokenError `ERR_INVALID_OPTIONS` for a non-string.
   */
  invalidate(accessToken?: string): boolean
  /**
   * Node's global `fetch` with this client's token in `Authorization`; on a
   * 401 the token is invalidated and the request resent once (a streamed
   * body is not resent). Rejects with the `TokenError` when no token can be
   * had; fetch's own errors pass through. A property, so it works detached:
   * `const f = client.fetch; f(url)`.
   */
  readonly fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>
  /**
   * The headers that authorize one request to `url` with `method` (default
   * `'GET'`), for an HTTP client of your own (axios, got, a queue worker):
   * `{ authorization: '<tokenType> <accessToken>' }`, and with a DPoP-bound
   * token `dpop`: a fresh proof for that request. Rejects with the
   * `TokenError` when no token can be had, or `ERR_INVALID_OPTIONS` for a
   * URL or method no proof can name.
   */
  getRequestHeaders(url: string | URL, method?: string): Promise<Record<string, string>>
}

export declare function getToken(options: TokenOptions): Promise<string>
export declare function getToken(options: TokenOptions, callback: Callback<string>): void
export declare function getTokenInfo(options: TokenOptions): Promise<TokenInfo>
export declare function getTokenInfo(options: TokenOptions, callback: Callback<TokenInfo>): void
/** Drops the entry these options name, process-wide; true if one was dropped. */
export declare function invalidate(options: TokenOptions): boolean
/** Drops every entry, process-wide. */
export declare function clearCache(): void
export declare function stats(): Stats

import type { TokenClient } from './index'

/** What `Dispatcher.compose()` takes: a function of the next dispatch. */
export type DispatchInterceptor = (dispatch: (opts: any, handler: any) => boolean) => (opts: any, handler: any) => boolean

export interface TokenInterceptorOptions {
  /** Origins that get the token, e.g. `['https://contoso.auth0.com']`; every other origin passes through untouched. */
  origins: string[]
}

/**
 * An interceptor for undici's `Dispatcher.compose()` (undici 7): the client's
 * token on requests to `origins`, one resend after a 401 (not for a stream
 * body). Throws TokenError `ERR_INVALID_OPTIONS` for bad arguments.
 */
export declare function tokenInterceptor(client: TokenClient, options: TokenInterceptorOptions): DispatchInterceptor

// ES module entry of m2m-token. It re-exports the CommonJS module rather than
// being a second copy of it, so `import` and `require` in one process share
// the same TokenError class and the same process-wide cache.

import m2m from './index.js'

export const { getToken, getTokenInfo, TokenClient, invalidate, clearCache, stats, TokenError } = m2m
export default m2m

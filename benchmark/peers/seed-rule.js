'use strict'

// The rule in shared/seed/rule-snippet.txt, ported from `request` to
// `fetch` and otherwise kept as it is, bugs included: a cache in `global`
// keyed by client id only, no single flight, no status check, a fixed 60 s
// safe window and no refresh ahead.

function getApiv2AccessToken(tokenUrl, clientId, clientSecret, audience, cb) {
  const cacheKey = clientId + '_token'
  const cachedToken = global[cacheKey]
  if (cachedToken && cachedToken.expirationDate > Date.now()) {
    return cb(null, cachedToken.accessToken)
  }
  fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, client_secret: clientSecret, audience, grant_type: 'client_credentials' }),
  })
    .then((res) => res.json())
    .then(
      (body) => {
        global[cacheKey] = {
          accessToken: body.access_token,
          // 60 seconds safe window time
          expirationDate: Date.now() + (body.expires_in - 60) * 1000,
        }
        cb(null, body.access_token)
      },
      (error) => cb('Error getting access token: ' + error),
    )
}

/** Promise form, the way an async caller would wrap the rule. */
function seedGetToken(tokenUrl, clientId, clientSecret, audience) {
  return new Promise((resolve, reject) =>
    getApiv2AccessToken(tokenUrl, clientId, clientSecret, audience, (err, token) => (err ? reject(err) : resolve(token))),
  )
}

/** The rule's own cache read, as an async function: B1's baseline. */
async function seedCachedRead(clientId) {
  const cachedToken = global[clientId + '_token']
  if (cachedToken && cachedToken.expirationDate > Date.now()) return cachedToken.accessToken
  return undefined
}

function resetSeedCache(clientId) {
  delete global[clientId + '_token']
}

module.exports = { getApiv2AccessToken, seedGetToken, seedCachedRead, resetSeedCache }

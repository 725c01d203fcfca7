'use strict'

// simple-oauth2 v5, used the way its README shows for the client-credentials
// grant: keep the AccessToken, check `expired(EXPIRATION_WINDOW_IN_SECONDS)`
// (the README's 300 s window) before each use, fetch a new one when it is.
// The library itself has no cache and no single flight, so neither has this.

const { ClientCredentials } = require('simple-oauth2')

const EXPIRATION_WINDOW_IN_SECONDS = 300

function createSimpleOauth2Peer({ tokenUrl, clientId, clientSecret, audience }) {
  const { origin, pathname } = new URL(tokenUrl)
  const client = new ClientCredentials({
    client: { id: clientId, secret: clientSecret },
    auth: { tokenHost: origin, tokenPath: pathname },
  })
  const params = audience ? { audience } : {}
  let accessToken
  return {
    async getToken() {
      if (!accessToken || accessToken.expired(EXPIRATION_WINDOW_IN_SECONDS)) {
        accessToken = await client.getToken(params)
      }
      return accessToken.token.access_token
    },
  }
}

module.exports = { createSimpleOauth2Peer, EXPIRATION_WINDOW_IN_SECONDS }

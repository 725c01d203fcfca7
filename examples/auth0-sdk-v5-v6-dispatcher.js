// auth0 v5 and v6, keeping their API: Node's global dispatcher, replaced by
// an undici 7 Agent composed with m2m-token's interceptor for the tenant's
// origin, gives every `fetch` of the process to that origin the token, and
// recovers a 401 — except for a request with a body, which Node's `fetch`
// hands over as a stream and which is therefore not resent. Set it once, at
// start-up: it replaces whatever dispatcher the process had.
const { ManagementClient } = require('auth0')
const { TokenClient } = require('m2m-token')
const { tokenInterceptor } = require('m2m-token/undici')
const { Agent, setGlobalDispatcher } = require('undici') // undici 7

const domain = process.env.AUTH0_DOMAIN // contoso.eu.auth0.com
const client = new TokenClient({ domain, clientId: process.env.AUTH0_CLIENT_ID, clientSecret: process.env.AUTH0_CLIENT_SECRET })
setGlobalDispatcher(new Agent().compose(tokenInterceptor(client, { origins: [`https://${domain}`] })))
const management = new ManagementClient({ domain, token: () => client.getToken() })

async function newestUsers() {
  const page = await management.users.list({ per_page: 5, sort: 'created_at:-1' })
  return page.data
}

module.exports = { client, management, newestUsers }

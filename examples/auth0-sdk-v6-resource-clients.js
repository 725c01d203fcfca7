// auth0 v6, keeping its API: createManagementAuth and one client per resource
// (from `auth0/<resource>`), which take `fetch`: the token from m2m-token's
// cache, and a 401 recovered inside the call.
const { createManagementAuth } = require('auth0/management')
const { UsersClient } = require('auth0/users')
const { TokenClient } = require('m2m-token')

const domain = process.env.AUTH0_DOMAIN // contoso.eu.auth0.com
const client = new TokenClient({ domain, clientId: process.env.AUTH0_CLIENT_ID, clientSecret: process.env.AUTH0_CLIENT_SECRET })
const auth = createManagementAuth({ domain, token: () => client.getToken() })
const users = new UsersClient({ ...auth.clientOptions, fetch: client.fetch })

async function newestUsers() {
  const page = await users.list({ per_page: 5, sort: 'created_at:-1' })
  return page.data
}

module.exports = { client, management: { users }, newestUsers }

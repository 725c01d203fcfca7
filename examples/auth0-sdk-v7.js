// auth0 v7 (`npm install auth0`): every ManagementClient takes its token from
// m2m-token's process-wide cache, and a call that meets a 401 (a revoked
// token) is sent once more with a new token, inside the call (client.fetch).
const { ManagementClient } = require('auth0')
const { TokenClient } = require('m2m-token')

const domain = process.env.AUTH0_DOMAIN // contoso.eu.auth0.com
const client = new TokenClient({ domain, clientId: process.env.AUTH0_CLIENT_ID, clientSecret: process.env.AUTH0_CLIENT_SECRET })
const management = new ManagementClient({ domain, token: () => client.getToken(), fetch: client.fetch })

async function newestUsers() {
  const page = await management.users.list({ per_page: 5, sort: 'created_at:-1' })
  return page.data // page.hasNextPage(), page.getNextPage() for more
}

module.exports = { client, management, newestUsers }

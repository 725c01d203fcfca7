// auth0 v4: the token from m2m-token's cache, and a 401
// recovered inside the call (client.fetch).
const { ManagementClient } = require('auth0')
const { TokenClient } = require('m2m-token')

const domain = process.env.AUTH0_DOMAIN // contoso.eu.auth0.com
const client = new TokenClient({ domain, clientId: process.env.AUTH0_CLIENT_ID, clientSecret: process.env.AUTH0_CLIENT_SECRET })
const management = new ManagementClient({ domain, token: () => client.getToken(), fetch: client.fetch })

async function newestUsers() {
  const { data } = await management.users.getAll({ per_page: 5, sort: 'created_at:-1' })
  return data
}

module.exports = { client, management, newestUsers }

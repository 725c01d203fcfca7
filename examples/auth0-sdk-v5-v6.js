// auth0 v5 and v6: their ManagementClient deletes a `fetch` option, so a 401
// would reach your code. The v4 API they ship as `auth0/legacy` keeps it: the
// token from m2m-token's cache, and a 401 recovered inside the call.
const { ManagementClient } = require('auth0/legacy')
const { TokenClient } = require('m2m-token')

const domain = process.env.AUTH0_DOMAIN // contoso.eu.auth0.com
const client = new TokenClient({ domain, clientId: process.env.AUTH0_CLIENT_ID, clientSecret: process.env.AUTH0_CLIENT_SECRET })
const management = new ManagementClient({ domain, token: () => client.getToken(), fetch: client.fetch })

async function newestUsers() {
  const { data } = await management.users.getAll({ per_page: 5, sort: 'created_at:-1' })
  return data
}

module.exports = { client, management, newestUsers }

'use strict';

// A process using the real auth0 SDK's ManagementClient as README shows:
// token from the client, fetch: client.fetch. It runs in its own process
// because Node's fetch reads NODE_EXTRA_CA_CERTS (the test CA of the
// stand-in tenant) only at startup. Driven over IPC:
//   { id, cmd: 'listClients' } → { id, result: { status, data } | { error } }
//   { id, cmd: 'createClient', name } → the same, for a POST with a JSON body

const { ManagementClient } = require('auth0');
const m2m = require('../..');
const { ca } = require('../helpers/tls-fixtures');

const domain = process.argv[2];
const client = new m2m.TokenClient({ domain, clientId: 'sdk-client', clientSecret: 'sdk-secret', ca });
const management = new ManagementClient({ domain, token: () => client.getToken(), fetch: client.fetch });

const asResult = (r) => ({ status: r.status, data: r.data });
const asError = (err) => ({ error: { name: err.name, statusCode: err.statusCode, message: String(err.message) } });

const commands = {
  listClients: () => management.clients.getAll(),
  createClient: ({ name }) => management.clients.create({ name }),
};

process.on('message', ({ id, cmd, ...args }) => {
  commands[cmd](args).then(asResult, asError).then((result) => process.send({ id, result }));
});
process.send({ ready: true });

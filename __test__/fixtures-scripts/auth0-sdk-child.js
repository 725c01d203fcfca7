'use strict';

// A process running one of examples/auth0-sdk-*.js, unchanged, against one
// major of the auth0 SDK:
//
//   node auth0-sdk-child.js <package> <example file> <instances>
//
// <package> is where `require('auth0')` (and `auth0/legacy`) lead: `auth0`
// (v4) or one of its npm aliases `auth0-v5`, `auth0-v6`, `auth0-v7`, as if
// that major were the one installed. The example is loaded <instances> times,
// each load a module of its own (its own TokenClient and ManagementClient), as
// separate parts of an application would. It runs in a process of its own
// because Node's fetch reads NODE_EXTRA_CA_CERTS (the test CA of the stand-in
// tenant) only at startup. Driven over IPC:
//   { id, cmd: 'list', n }    n concurrent newestUsers() calls, spread over the
//                             instances → [{ users } | { error }]
//   { id, cmd: 'create', user } one management.users.create(user) → { user } | { error }
//   { id, cmd: 'invalidate' } client.invalidate() of the first instance → boolean

const Module = require('node:module');

const [sdkPackage, examplePath, instanceCount] = process.argv.slice(2);

if (sdkPackage !== 'auth0') {
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function resolveAuth0As(request, ...rest) {
    const aliased = request === 'auth0' || request.startsWith('auth0/') ? sdkPackage + request.slice('auth0'.length) : request;
    return resolve.call(this, aliased, ...rest);
  };
}

const instances = Array.from({ length: Number(instanceCount) }, () => {
  delete require.cache[require.resolve(examplePath)];
  return require(examplePath);
});

const asError = (err) => ({ error: { name: err.name, statusCode: err.statusCode, message: String(err.message), ...(err.cause && { cause: String(err.cause.cause ?? err.cause) }) } });

const commands = {
  list: ({ n }) => Promise.all(Array.from({ length: n }, (_, i) =>
    instances[i % instances.length].newestUsers().then((users) => ({ users }), asError))),
  create: ({ user }) => instances[0].management.users.create(user).then((r) => ({ user: r.data ?? r }), asError),
  invalidate: async () => instances[0].client.invalidate(),
};

process.on('message', ({ id, cmd, ...args }) => {
  commands[cmd](args).then((result) => process.send({ id, result }));
});
process.send({ ready: true });

'use strict';

// A TLS server that demands a client certificate from one CA and refuses
// any other in the handshake, with a TLS alert, as production TLS
// terminators do (Node's own TLS server drops such a connection without an
// alert): `openssl s_server`, on a free loopback port.
//
//   const strict = await startStrictTlsServer({ cert, key, trustedCa });
//   strict.url  // https://127.0.0.1:<port>/token
//   await strict.close()

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./ports');
const { killedAtEnd } = require('./leftovers');

const live = killedAtEnd();

async function startStrictTlsServer({ cert, key, trustedCa }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-strict-'));
  const file = (name, text) => {
    fs.writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const port = await freePort();
  const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', file('cert.pem', cert),
    '-key', file('key.pem', key), '-CAfile', file('ca.pem', trustedCa), '-Verify', '1', '-verify_return_error', '-www'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(server);
  await new Promise((resolve, reject) => {
    let output = '';
    server.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('ACCEPT')) resolve();
    });
    server.stderr.on('data', () => {}); // its verify errors, expected
    server.once('exit', (code) => reject(new Error(`openssl s_server exited (${code}): ${output}`)));
  });
  return {
    url: `https://127.0.0.1:${port}/token`,
    close() {
      live.delete(server);
      server.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startStrictTlsServer };

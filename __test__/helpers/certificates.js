'use strict';

// Certificates for the mutual TLS suites, made when the test runs (nothing
// committed): a throwaway CA, server certificates for 127.0.0.1, localhost
// and any other names, and client certificates (RSA 2048 or EC P-256),
// signed by the CA or self-signed. Keys come from node:crypto; `openssl`
// signs.
//
//   const ca = makeCa();                                  // { cert, key, issue(...) }
//   const server = ca.issue({ cn: 'server', dns: ['localhost'], ip: ['127.0.0.1'] });
//   const client = ca.issue({ cn: 'svc', kind: 'rsa', dns: ['svc.clients.test'] });
//   const own = selfSigned({ cn: 'svc', kind: 'ec' });
//   client.cert / client.key (PKCS#8) / client.traditional (PKCS#1 or SEC1) / client.thumbprint (x5t#S256)

const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

function opensslAvailable() {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn(dir)` in a fresh temporary folder, removed afterwards. */
function inTemporaryFolder(fn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-certs-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function newKey(kind) {
  const { privateKey } = kind === 'rsa'
    ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
    : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }),
    traditional: privateKey.export({ format: 'pem', type: kind === 'rsa' ? 'pkcs1' : 'sec1' }),
  };
}

function subjectAltName({ dns = [], ip = [] }) {
  const names = [...dns.map((d) => `DNS:${d}`), ...ip.map((i) => `IP:${i}`)];
  return names.length === 0 ? null : `subjectAltName=${names.join(',')}`;
}

/** What a server puts in a bound token's cnf: base64url SHA-256 of the DER. */
function thumbprintOf(certPem) {
  return crypto.createHash('sha256').update(new crypto.X509Certificate(certPem).raw).digest('base64url');
}

function finish(cert, keys) {
  return { cert, ...keys, thumbprint: thumbprintOf(cert) };
}

/** A self-signed certificate (for self_signed_tls_client_auth). */
function selfSigned({ cn, kind = 'ec', dns, ip } = {}) {
  const keys = newKey(kind);
  return inTemporaryFolder((dir) => {
    fs.writeFileSync(path.join(dir, 'key.pem'), keys.key);
    const san = subjectAltName({ dns, ip });
    execFileSync('openssl', ['req', '-x509', '-new', '-key', 'key.pem', '-out', 'cert.pem', '-days', '1',
      '-subj', `/CN=${cn}`, ...(san ? ['-addext', san] : [])], { cwd: dir, stdio: 'ignore' });
    return finish(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), keys);
  });
}

/** A CA that issues server and client certificates. */
function makeCa(name = 'm2m-token test CA') {
  const ca = selfSigned({ cn: name, kind: 'ec' });
  return {
    cert: ca.cert,
    key: ca.key,
    issue({ cn, kind = 'ec', dns, ip } = {}) {
      const keys = newKey(kind);
      return inTemporaryFolder((dir) => {
        fs.writeFileSync(path.join(dir, 'key.pem'), keys.key);
        fs.writeFileSync(path.join(dir, 'ca.pem'), ca.cert);
        fs.writeFileSync(path.join(dir, 'ca-key.pem'), ca.key);
        // Always some extension, so the certificate is X.509 v3 (v1 is refused by many stacks).
        fs.writeFileSync(path.join(dir, 'ext'), `basicConstraints=CA:FALSE\n${subjectAltName({ dns, ip }) ?? ''}\n`);
        const quiet = { cwd: dir, stdio: 'ignore' };
        execFileSync('openssl', ['req', '-new', '-key', 'key.pem', '-out', 'csr.pem', '-subj', `/CN=${cn}`], quiet);
        execFileSync('openssl', ['x509', '-req', '-in', 'csr.pem', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem',
          '-CAcreateserial', '-out', 'cert.pem', '-days', '1', '-extfile', 'ext'], quiet);
        return finish(fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8'), keys);
      });
    },
  };
}

module.exports = { makeCa, selfSigned, thumbprintOf, opensslAvailable };

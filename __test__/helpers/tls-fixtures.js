'use strict';

// Test CA and server certificate (localhost + 127.0.0.1), committed under
// __test__/fixtures/ — see fixtures/README.md for how they were made.

const fs = require('node:fs');
const path = require('node:path');

const dir = path.join(__dirname, '..', 'fixtures');
const caPath = path.join(dir, 'ca.pem');

module.exports = {
  caPath,
  ca: fs.readFileSync(caPath, 'utf8'),
  key: fs.readFileSync(path.join(dir, 'server-key.pem'), 'utf8'),
  cert: fs.readFileSync(path.join(dir, 'server.pem'), 'utf8'),
};

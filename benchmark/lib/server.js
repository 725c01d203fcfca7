'use strict'

// Every benchmark talks to the same scriptable loopback token server the
// tests use, so each peer is answered the same way in the same time.

const { startTokenServer } = require('../../__test__/helpers/token-server')

module.exports = { startTokenServer }

'use strict'

// B6: what m2m-token adds to a process: RSS before require, after require,
// and after the first token (runtime threads, TLS set-up, the fetch), each
// measured in a fresh child process; and the size of the addon file.

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync } = require('node:child_process')
const { startTokenServer } = require('./lib/server')

const ADDON = path.join(__dirname, '..', 'm2m-token.linux-x64-gnu.node')

const CHILD = `
  const mb = () => process.memoryUsage.rss() / 1048576
  const before = mb()
  const m2m = require(process.argv[1])
  const afterRequire = mb()
  m2m.getToken({ tokenUrl: process.argv[2], clientId: 'b6', clientSecret: 's' }).then(() => {
    console.log(JSON.stringify({ before, afterRequire, afterFirstToken: mb() }))
  })`

async function runB6({ rounds }) {
  const server = await startTokenServer({ expiresIn: 86400 })
  const samples = []
  for (let i = 0; i < rounds; i++) {
    const out = await new Promise((resolve, reject) => {
      // execFile with a callback, not execFileSync: the server lives in this process.
      require('node:child_process').execFile(
        process.execPath,
        ['-e', CHILD, path.join(__dirname, '..'), server.url],
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      )
    })
    samples.push(JSON.parse(out))
  }
  await server.close()
  const addonBytes = fs.statSync(ADDON).size
  let stripped = true
  try {
    stripped = !execFileSync('file', [ADDON]).toString().includes('not stripped')
  } catch {
    stripped = null
  }
  return { samples, addonBytes, stripped }
}

module.exports = { runB6 }

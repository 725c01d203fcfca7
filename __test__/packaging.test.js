'use strict';

// Packaging: the release workflow, the per-target npm packages and the main
// package's manifest agree with package.json `napi.targets`, so no target is
// built without being published, published without being tested, or
// published under a name the generated loader does not look for.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const YAML = require('yaml');
const { NapiCli, parseTriple } = require('@napi-rs/cli');

const ROOT = path.join(__dirname, '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const TARGETS = PKG.napi.targets;
const WORKFLOW = path.join(ROOT, '.github', 'workflows', 'release.yml');
const suffixOf = (triple) => parseTriple(triple).platformArchABI;
const sorted = (list) => [...list].sort();

function loadWorkflow() {
  const doc = YAML.parseDocument(fs.readFileSync(WORKFLOW, 'utf8'), { prettyErrors: true });
  assert.deepEqual(doc.errors.map(String), [], 'release.yml is valid YAML');
  return doc.toJS();
}

test('targets include the two musl Linux targets (Alpine images)', () => {
  for (const t of ['x86_64-unknown-linux-musl', 'aarch64-unknown-linux-musl']) assert.ok(TARGETS.includes(t), t);
  assert.equal(new Set(TARGETS).size, TARGETS.length, 'no target twice');
});

test('release.yml parses and builds every target, each on a fitting runner', () => {
  const wf = loadWorkflow();
  assert.equal(wf.env.APP_NAME, PKG.napi.binaryName, 'APP_NAME names the binary');
  const builds = wf.jobs.build.strategy.matrix.settings;
  assert.deepEqual(sorted(builds.map((b) => b.target)), sorted(TARGETS), 'the build matrix is napi.targets');
  for (const b of builds) {
    assert.match(b.build, new RegExp(`--target ${b.target}(\\s|$)`), `${b.target}: builds for its target`);
    const { platform, abi } = parseTriple(b.target);
    const host = { darwin: /^macos-/, win32: /^windows-/, linux: /^ubuntu-/ }[platform];
    assert.match(b.host, host, `${b.target}: runner`);
    if (platform === 'linux' && abi === 'musl') assert.match(b.build, /\s(-x|--cross-compile)(\s|$)/, `${b.target}: cross-compiled with zig`);
    if (platform === 'linux' && abi === 'gnu') assert.match(b.build, /--use-napi-cross/, `${b.target}: glibc 2.17 toolchain`);
  }
  const upload = wf.jobs.build.steps.find((s) => String(s.uses).startsWith('actions/upload-artifact'));
  assert.equal(upload.with.path, '${{ env.APP_NAME }}.*.node');
  assert.equal(upload.with['if-no-files-found'], 'error');
});

test('release.yml tests every target on Node 18 to 26, and the install', () => {
  const wf = loadWorkflow();
  const testJobs = Object.entries(wf.jobs).filter(([name]) => name.startsWith('test-'));
  const tested = new Set();
  for (const [name, job] of testJobs) {
    assert.ok([].concat(job.needs).includes('build'), `${name} needs build`);
    const matrix = (job.strategy || {}).matrix;
    if (!matrix) continue;
    for (const t of matrix.target || []) tested.add(t);
    for (const s of matrix.settings || []) tested.add(s.target);
    assert.deepEqual(matrix.node, ['18', '20', '22', '24', '26'], `${name}: Node lines`);
  }
  assert.deepEqual(sorted(tested), sorted(TARGETS), 'every target is tested');
  const install = JSON.stringify(wf.jobs['test-install']);
  assert.match(install, /node scripts\/install-test\.js/);
});

test('release.yml publishes with provenance on a version tag only, after every test', () => {
  const wf = loadWorkflow();
  assert.ok(wf.on.push.tags.some((t) => /^v/.test(t)), 'runs on v* tags');
  const publish = wf.jobs.publish;
  assert.match(publish.if, /startsWith\(github\.ref, 'refs\/tags\/v'\)/);
  assert.equal(publish.permissions['id-token'], 'write', 'provenance needs an OIDC token');
  const others = Object.keys(wf.jobs).filter((n) => n.startsWith('test-'));
  assert.deepEqual(sorted(publish.needs), sorted(others), 'publish waits for every test job');
  const script = publish.steps.map((s) => s.run || '').join('\n');
  assert.match(script, /napi create-npm-dirs/);
  assert.match(script, /npm run artifacts/);
  assert.match(script, /napi prepublish -t npm/);
  assert.match(script, /npm publish --provenance --access public/);
});

test('npm/<target>/package.json are what `napi create-npm-dirs` makes, one per target', async () => {
  const dirs = fs.readdirSync(path.join(ROOT, 'npm')).filter((d) => fs.statSync(path.join(ROOT, 'npm', d)).isDirectory());
  assert.deepEqual(sorted(dirs), sorted(TARGETS.map(suffixOf)), 'npm/ holds one folder per target, no other');

  // Generate afresh from package.json in a scratch project and compare.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-token-npm-dirs-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(scratch, 'package.json'));
    await new NapiCli().createNpmDirs({ cwd: scratch });
    for (const triple of TARGETS) {
      const suffix = suffixOf(triple);
      const committed = JSON.parse(fs.readFileSync(path.join(ROOT, 'npm', suffix, 'package.json'), 'utf8'));
      const fresh = JSON.parse(fs.readFileSync(path.join(scratch, 'npm', suffix, 'package.json'), 'utf8'));
      assert.deepEqual(committed, fresh, `npm/${suffix}/package.json is up to date (run npx napi create-npm-dirs)`);

      const { platform, arch, abi } = parseTriple(triple);
      assert.equal(committed.name, `${PKG.name}-${suffix}`);
      assert.equal(committed.version, PKG.version, 'same version as the main package');
      assert.deepEqual(committed.os, [platform]);
      assert.deepEqual(committed.cpu, [arch]);
      if (platform === 'linux') assert.deepEqual(committed.libc, [abi === 'musl' ? 'musl' : 'glibc']);
      assert.equal(committed.main, `${PKG.napi.binaryName}.${suffix}.node`);
      assert.deepEqual(committed.files, [committed.main]);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});

test('the loader binding.js looks for every platform package by the name it is published under', () => {
  const loader = fs.readFileSync(path.join(ROOT, 'binding.js'), 'utf8');
  for (const triple of TARGETS) {
    const suffix = suffixOf(triple);
    assert.ok(loader.includes(`require('${PKG.name}-${suffix}')`), `binding.js requires ${PKG.name}-${suffix}`);
    assert.ok(loader.includes(`require('./${PKG.napi.binaryName}.${suffix}.node')`), `binding.js tries ./${PKG.napi.binaryName}.${suffix}.node first`);
  }
});

test('optionalDependencies, when present, list exactly the platform packages at the same version', (t) => {
  // `napi prepublish` writes them on release; a checkout may hold them or not,
  // but never a wrong or missing one. Without them there is nothing to check:
  // a skip, saying so, even under CI=true, since no checkout CI tests has them.
  if (PKG.optionalDependencies === undefined) {
    t.skip('no optionalDependencies in package.json: `napi prepublish` writes them on release');
    return;
  }
  const expected = Object.fromEntries(TARGETS.map((t) => [`${PKG.name}-${suffixOf(t)}`, PKG.version]));
  assert.deepEqual(PKG.optionalDependencies, expected);
});

test('the main package ships only what runs: files, exports, bin, engines', () => {
  assert.deepEqual(sorted(PKG.files), sorted(['index.js', 'index.mjs', 'index.d.ts', 'undici.d.ts', 'binding.js', 'binding.d.ts', 'lib/', 'bin/']));
  assert.deepEqual(PKG.exports, {
    '.': { types: './index.d.ts', import: './index.mjs', require: './index.js', default: './index.js' },
    './undici': { types: './undici.d.ts', default: './lib/undici-interceptor.js' },
    './package.json': './package.json',
  });
  for (const file of ['index.js', 'index.mjs', 'index.d.ts', 'undici.d.ts', 'lib/undici-interceptor.js', PKG.bin['m2m-token']]) {
    assert.ok(fs.existsSync(path.join(ROOT, file)), `${file} exists`);
  }
  assert.match(fs.readFileSync(path.join(ROOT, PKG.bin['m2m-token']), 'utf8'), /^#!\/usr\/bin\/env node\n/, 'the bin has a node shebang');
  assert.match(PKG.engines.node, /^>= ?18\./, 'engines names the Node floor the matrix tests');
  assert.ok(fs.existsSync(path.join(ROOT, 'LICENSE')));
});

'use strict';

// The documentation holds together. README.md, CONTRIBUTING.md and every
// docs/*.md page are read as Markdown (outside fenced code and code spans),
// and this suite checks that:
//
// - every relative link (`[text](path)`, `![alt](path)`, `[label]: path`)
//   names a file or folder that exists in the repository;
// - every `#anchor`, in the same page or in another .md file, is the slug
//   GitHub makes for one of that page's headings (lower case, punctuation
//   dropped, spaces to hyphens, `-1`, `-2` … for repeated headings);
// - every docs/*.md page is linked from README.md, so none is out of reach;
// - every code block parses: ```js as a script, else as the body of an async
//   function (top-level `await`), else as a parenthesised expression (an
//   anonymous function), else as an ES module (`node --check` on a .mjs
//   file); ```sh with `bash -n`; ```yaml with the yaml package.
//
// It checks syntax, not behaviour: the blocks that show the auth0 SDK are the
// examples a test runs (auth0-sdk-docs.test.js keeps them equal), the rest
// are checked here for parsing only. Links to other sites (http:, https:,
// mailto:) are not followed: the suites run offline.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const { spawnSync } = require('node:child_process');
const YAML = require('yaml');

const root = path.join(__dirname, '..');
const docsDir = path.join(root, 'docs');

/** The Markdown files this suite checks, as paths relative to the repository root. */
function markdownFiles() {
  const pages = fs.existsSync(docsDir)
    ? fs.readdirSync(docsDir).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)
    : [];
  return ['README.md', 'CONTRIBUTING.md', ...pages];
}

/**
 * A Markdown text split into its fenced code blocks (language, code without
 * the fence's indentation, line number) and its prose lines (fences removed).
 */
function parseMarkdown(text) {
  const blocks = [];
  const prose = [];
  let open = null;
  text.split('\n').forEach((line, index) => {
    const fence = line.match(/^(\s*)(`{3,}|~{3,})\s*([\w+-]*)/);
    if (open) {
      if (fence && fence[2][0] === open.marker[0] && fence[2].length >= open.marker.length && line.trim() === fence[2]) {
        blocks.push({ lang: open.lang, line: open.line, code: open.lines.join('\n') + '\n' });
        open = null;
      } else {
        open.lines.push(line.startsWith(open.indent) ? line.slice(open.indent.length) : line.trimStart());
      }
    } else if (fence) {
      open = { indent: fence[1], marker: fence[2], lang: fence[3].toLowerCase(), line: index + 1, lines: [] };
    } else {
      prose.push({ line: index + 1, text: line });
    }
  });
  assert.equal(open, null, 'every code fence is closed');
  return { blocks, prose };
}

/** Text with code spans replaced by their bare content (so `[`a`](b)` reads as [a](b) and `](` in code is no link). */
function withoutCodeSpans(text) {
  return text.replace(/(`+)([\s\S]*?)\1/g, (_, _ticks, code) => code.replace(/[[\]()]/g, ' '));
}

/** The slug GitHub gives a heading's text (github-slugger's rule: lower case, drop punctuation, spaces to hyphens). */
function slug(heading) {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link reads as its text
    .replace(/`/g, '')
    .replace(/\*/g, '')
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '').replace(/ /g, '-');
}

/** The anchors GitHub makes for a Markdown text's headings, repeated headings numbered as GitHub numbers them. */
function anchors(text) {
  const seen = new Map();
  const result = new Set();
  for (const { text: line } of parseMarkdown(text).prose) {
    const heading = line.match(/^#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!heading) continue;
    const base = slug(heading[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** Every link target in a Markdown text's prose, with its line. */
function links(text) {
  const found = [];
  for (const { line, text: raw } of parseMarkdown(text).prose) {
    const prose = withoutCodeSpans(raw);
    for (const m of prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ line, target: m[1] });
    const definition = prose.match(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/);
    if (definition) found.push({ line, target: definition[1] });
  }
  return found;
}

/** What is wrong with one link of `file` (a path relative to the root), or null. */
function linkProblem(file, target) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // another site: not followed offline
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === ''
    ? path.join(root, file)
    : pathPart.startsWith('/') ? path.join(root, pathPart) : path.resolve(path.dirname(path.join(root, file)), pathPart);
  const relative = path.relative(root, resolved);
  if (relative.startsWith('..')) return `${target}: outside the repository`;
  if (!fs.existsSync(resolved)) return `${target}: no file ${relative}`;
  if (anchor === null) return null;
  if (!resolved.endsWith('.md')) return `${target}: an anchor into a file that is not Markdown`;
  if (!anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) return `${target}: ${relative} has no heading whose anchor is #${anchor}`;
  return null;
}

/** Why a ```js block does not parse in any of the forms the header lists, or null when one of them parses. */
function jsProblem(code, where) {
  const forms = [code, `(async function () {\n${code}\n})`, `(\n${code}\n)`];
  let firstError = null;
  for (const form of forms) {
    try {
      new vm.Script(form, { filename: where });
      return null;
    } catch (err) {
      firstError ??= err;
    }
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-docs-'));
  try {
    const file = path.join(dir, 'block.mjs');
    fs.writeFileSync(file, code);
    const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8' });
    if (check.status === 0) return null;
    const moduleError = check.stderr.split('\n').find((l) => /Error/.test(l)) ?? check.stderr.trim();
    return `as a script: ${firstError.message}; as a module: ${moduleError}`;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Why a code block does not parse, or null (languages other than js, sh and yaml are not checked). */
function blockProblem(block, where) {
  switch (block.lang) {
    case 'js':
    case 'javascript':
      return jsProblem(block.code, where);
    case 'sh':
    case 'bash':
    case 'shell': {
      const check = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8' });
      return check.status === 0 ? null : check.stderr.trim();
    }
    case 'yaml':
    case 'yml':
      try {
        YAML.parse(block.code);
        return null;
      } catch (err) {
        return err.message;
      }
    default:
      return null;
  }
}

const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');

test('every relative link and #anchor in README.md, CONTRIBUTING.md and docs/*.md resolves', () => {
  const problems = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    for (const { line, target } of links(read(file))) {
      checked += 1;
      const problem = linkProblem(file, target);
      if (problem) problems.push(`${file}:${line}: ${problem}`);
    }
  }
  assert.ok(checked > 0, 'the pages hold links');
  assert.deepEqual(problems, [], `broken links:\n${problems.join('\n')}`);
});

test('every docs/*.md page is linked from README.md', () => {
  const linked = new Set(links(read('README.md'))
    .map(({ target }) => target.split('#')[0])
    .filter((target) => target.startsWith('docs/'))
    .map((target) => path.normalize(target)));
  const pages = markdownFiles().filter((f) => f.startsWith('docs/'));
  assert.deepEqual(pages.filter((page) => !linked.has(page)), [], 'pages README does not link');
});

test('every js, sh and yaml code block in README.md, CONTRIBUTING.md and docs/*.md parses', () => {
  const problems = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    for (const block of parseMarkdown(read(file)).blocks) {
      const where = `${file}:${block.line}`;
      const problem = blockProblem(block, where);
      if (['js', 'javascript', 'sh', 'bash', 'shell', 'yaml', 'yml'].includes(block.lang)) checked += 1;
      if (problem) problems.push(`${where} (${block.lang}): ${problem}`);
    }
  }
  assert.ok(checked > 0, 'the pages hold code');
  assert.deepEqual(problems, [], `code blocks that do not parse:\n${problems.join('\n')}`);
});

test('the slug rule gives the anchors GitHub gives', () => {
  // Headings of this repository's pages and the anchors GitHub shows for them.
  assert.equal(slug('Rate limits: one request per window for the whole fleet'), 'rate-limits-one-request-per-window-for-the-whole-fleet');
  assert.equal(slug('`client_secret_post` (default)'), 'client_secret_post-default');
  assert.equal(slug("Auth0's M2M quota"), 'auth0s-m2m-quota');
  assert.equal(slug('Example: a cron job calling the Management API v2'), 'example-a-cron-job-calling-the-management-api-v2');
  assert.equal(slug('Corporate networks: proxies and private CAs'), 'corporate-networks-proxies-and-private-cas');
  assert.deepEqual([...anchors('# A\n## A\n```sh\n# A\n```\n### A\n')], ['a', 'a-1', 'a-2']);
});

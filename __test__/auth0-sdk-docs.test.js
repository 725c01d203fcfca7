'use strict';

// The auth0 SDK code the documentation shows is the code auth0-sdk.test.js
// runs: every code block of README.md and docs/*.md that requires the auth0
// SDK is, byte for byte, one of the examples/auth0-sdk-*.js files, so the two
// cannot drift apart. The guide that shows them is docs/using-the-token.md.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const guideFile = 'docs/using-the-token.md';
const guide = fs.readFileSync(path.join(root, guideFile), 'utf8');
const pages = ['README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]
  .map((file) => ({ file, text: fs.readFileSync(path.join(root, file), 'utf8') }));
const examples = fs.readdirSync(path.join(root, 'examples'))
  .filter((f) => /^auth0-sdk-.*\.js$/.test(f))
  .map((f) => ({ file: `examples/${f}`, text: fs.readFileSync(path.join(root, 'examples', f), 'utf8') }));

/** The ```js blocks of a Markdown text, each with the text between the fences (final newline included). */
function jsBlocks(markdown) {
  return [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

/** The part of a page from the heading `title` to the next heading of the same or a higher level. */
function section(markdown, title) {
  const start = markdown.search(new RegExp(`^(#+) ${title}$`, 'm'));
  assert.notEqual(start, -1, `${guideFile} has a "${title}" heading`);
  const level = markdown.slice(start).match(/^#+/)[0].length;
  const bodyStart = markdown.indexOf('\n', start) + 1;
  const end = markdown.slice(bodyStart).search(new RegExp(`^#{1,${level}} `, 'm'));
  return end === -1 ? markdown.slice(start) : markdown.slice(start, bodyStart + end);
}

test('every code block of README.md and docs/*.md that uses the auth0 SDK is one of examples/auth0-sdk-*.js, byte for byte', () => {
  for (const { file, text } of pages) {
    const sdkBlocks = jsBlocks(text).filter((b) => /require\('auth0(\/[a-z]+)?'\)|from 'auth0/.test(b));
    for (const block of sdkBlocks) {
      const same = examples.find((e) => e.text === block);
      assert.ok(same, `this ${file} block is none of ${examples.map((e) => e.file).join(', ')}:\n${block}`);
    }
  }
  assert.ok(jsBlocks(guide).some((b) => /require\('auth0'\)/.test(b)), `${guideFile} shows the auth0 SDK`);
});

test('"The auth0 SDK" shows v7 first, then v5/v6 through auth0/legacy, and links every example', () => {
  const part = section(guide, 'The auth0 SDK');
  const blocks = jsBlocks(part);
  const text = (file) => examples.find((e) => e.file === file).text;
  assert.equal(blocks[0], text('examples/auth0-sdk-v7.js'), 'the first block is the v7 example');
  assert.ok(blocks.includes(text('examples/auth0-sdk-v5-v6.js')), 'the v5/v6 example is shown');
  for (const { file } of examples) assert.ok(part.includes(`(../${file})`), `${file} is linked`);
});

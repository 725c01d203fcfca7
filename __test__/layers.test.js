'use strict';

// The layers of src/ (CONTRIBUTING.md, "Layers"): no file of the Rust core
// imports, directly or through others, a file that imports it back. Read from
// the `crate::` and `super::` paths of each file (its test modules aside), as
// a newcomer reading the code would follow them.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const SRC = path.join(__dirname, '..', 'src');
const TEST_ONLY = /(_tests|_test_support|test_support|scripted_fetcher)\.rs$/;

/** Module path ("store::fleet") → file, for every non-test file of src/. */
function modules() {
  const found = new Map();
  for (const rel of fs.readdirSync(SRC, { recursive: true })) {
    if (!rel.endsWith('.rs') || TEST_ONLY.test(rel)) continue;
    let parts = rel.slice(0, -3).split(path.sep);
    if (parts.at(-1) === 'mod') parts = parts.slice(0, -1);
    if (parts.join('/') === 'lib') parts = [];
    found.set(parts.join('::'), path.join(SRC, rel));
  }
  return found;
}

/** What `name` imports: the longest known module named by each crate:: or super:: path. */
function importsOf(name, file, known) {
  let text = fs.readFileSync(file, 'utf8');
  const tests = text.indexOf('#[cfg(test)]\nmod tests');
  if (tests !== -1) text = text.slice(0, tests);
  const parent = name.includes('::') ? name.split('::').slice(0, -1) : [];
  const edges = new Set();
  for (const [, base, rest] of text.matchAll(/\b(crate|super)::([a-z_]+(?:::[a-z_]+)*)/g)) {
    const full = [...(base === 'crate' ? [] : parent), ...rest.split('::')];
    for (let k = full.length; k > 0; k--) {
      const candidate = full.slice(0, k).join('::');
      if (known.has(candidate)) {
        if (candidate !== name) edges.add(candidate);
        break;
      }
    }
  }
  return edges;
}

/** The strongly connected groups of more than one module (Tarjan). */
function cycles(graph) {
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  const visit = (v) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('src/ has no import cycle between files', () => {
  const known = modules();
  assert.ok(known.has('cache') && known.has('store::fleet'), 'the reader finds the modules');
  const graph = new Map([...known].map(([name, file]) => [name, importsOf(name, file, known)]));
  assert.ok(graph.get('store::fleet').has('store::backend'), 'the reader follows super:: paths');
  assert.ok(graph.get('cache').has('fetcher'), 'the reader follows crate:: paths');
  assert.deepEqual(cycles(graph), []);
});

test('the cycle finder finds a cycle', () => {
  const graph = new Map([['a', new Set(['b'])], ['b', new Set(['c'])], ['c', new Set(['a'])], ['d', new Set(['a'])]]);
  assert.deepEqual(cycles(graph), [['a', 'b', 'c']]);
});

test('the core knows nothing of Node: only binding/ names napi', () => {
  const offenders = [...modules()]
    .filter(([name]) => !name.startsWith('binding') && name !== '')
    .filter(([, file]) => /\bnapi(_derive)?::|#\[napi/.test(fs.readFileSync(file, 'utf8')))
    .map(([name]) => name);
  assert.deepEqual(offenders, []);
});

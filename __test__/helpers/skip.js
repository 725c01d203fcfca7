'use strict';

// Tests that need something a machine may lack (redis-server, openssl, root).
// Without it they are skipped, never silently: node:test reports each skip
// with its reason. Under CI=true, where every test must run, a missing need
// is a failure instead.

const { test } = require('node:test');

const CI = process.env.CI === 'true';
const failing = new Set();

/**
 * node:test options for tests that need what `reason` names: none when
 * `available`; else a skip with that reason, and under CI=true one failing
 * test per missing need, named after it.
 */
function requires(available, reason) {
  if (available) return {};
  if (CI && !failing.has(reason)) {
    failing.add(reason);
    test(`every test must run under CI=true, but ${reason}`, () => {
      throw new Error(`${reason}: the tests that need it cannot run`);
    });
  }
  return { skip: reason };
}

/**
 * Inside a running test `t` that finds it cannot run: skips it with
 * `reason`, or under CI=true fails it. The caller returns right after.
 */
function skipOrFail(t, reason) {
  if (CI) throw new Error(`${reason} (with CI=true a test that cannot run fails)`);
  t.skip(reason);
}

module.exports = { requires, skipOrFail, CI };

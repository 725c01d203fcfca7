'use strict';

// A polluted Object.prototype, for the tests of "own properties only".

/**
 * Runs `fn()` with `Object.prototype[key] = value` (enumerable, as a careless
 * assignment would make it); removes it when `fn` returns or, when `fn`
 * returns a promise, once that settles.
 */
function withPolluted(key, value, fn) {
  Object.defineProperty(Object.prototype, key, { value, enumerable: true, configurable: true, writable: true });
  const clean = () => { delete Object.prototype[key]; };
  let result;
  try {
    result = fn();
  } catch (err) {
    clean();
    throw err;
  }
  if (result && typeof result.then === 'function') return Promise.resolve(result).finally(clean);
  clean();
  return result;
}

module.exports = { withPolluted };

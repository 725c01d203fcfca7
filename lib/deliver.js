'use strict'

// Callbacks are called exactly once and never synchronously. They run from
// process.nextTick, outside any promise chain, so an exception thrown in
// one is an uncaught exception (not swallowed, and not a second call).

function deliver(promise, callback) {
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (err) => process.nextTick(callback, err),
  )
}

module.exports = { deliver }

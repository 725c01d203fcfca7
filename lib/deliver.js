'use strict'

// Callbacks are called exactly once and never synchronously. They run from
// process.nextTick, outside any promise chain, so an exception thrown in
// one is an uncaught exception (not swallowed, and not a second call).

function callLater(callback, err, value) {
  if (err) process.nextTick(callback, err)
  else process.nextTick(callback, null, value)
}

function deliver(promise, callback) {
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (err) => process.nextTick(callback, err),
  )
}

module.exports = { callLater, deliver }

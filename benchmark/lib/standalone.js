'use strict'

// Runs one target file on its own (`node benchmark/b8-store-hit.js`): its
// report and summary line on stdout, exit status 1 on an error.

function runStandalone({ run, report, summary }, options) {
  run(options).then(
    (result) => {
      console.log(report(result).join('\n'))
      console.log(JSON.stringify(summary(result)))
      process.exit(0)
    },
    (err) => {
      console.error(err)
      process.exit(1)
    },
  )
}

module.exports = { runStandalone }

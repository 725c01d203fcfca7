'use strict';

// Child processes a failed or timed-out test left behind (a forked Node
// process, a redis-server) would keep the test file running: every process
// added here is killed when the file's tests end, or at exit.

/** A set of live child processes, each killed with SIGKILL at the end. */
function killedAtEnd() {
  const live = new Set();
  const killLeftovers = () => {
    for (const child of live) {
      try { child.kill('SIGKILL'); } catch {}
    }
  };
  // Only under `node --test` (a benchmark using a helper must not start a test harness).
  if (process.env.NODE_TEST_CONTEXT) require('node:test').after(killLeftovers);
  process.on('exit', killLeftovers);
  return live;
}

module.exports = { killedAtEnd };

'use strict';

// Calls getTokenInfo(options) every few milliseconds until the wall clock
// reaches `untilMs`, and records every call: the same loop runs on the main
// thread, in worker threads (fixtures-scripts/call-loop-worker.js) and in
// forked processes (fixtures-scripts/store-child.js, command callUntil).

async function callUntil(m2m, options, untilMs, intervalMs = 5) {
  const calls = [];
  while (Date.now() < untilMs) {
    const at = Date.now();
    try {
      const info = await m2m.getTokenInfo(options);
      calls.push({ at, token: info.accessToken, fromCache: info.fromCache, expiresAt: info.expiresAt });
    } catch (err) {
      calls.push({ at, error: err.code, message: err.message });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return calls;
}

module.exports = { callUntil };

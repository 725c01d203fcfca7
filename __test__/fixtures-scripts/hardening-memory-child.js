'use strict';

// Child process for hardening-bounds.test.js, run with --expose-gc. Against an
// HTTPS token server, makes ROUNDS rounds of PER_ROUND clients, each with its
// own `ca` string: the same test CA, with a distinct comment line before the
// BEGIN line (PEM parsers skip text outside the armour). Prints one JSON line:
// { rss: [MiB after each round, after a full GC], cas, errors }.

const path = require('node:path');
const m2m = require('../..');
const { startTokenServer } = require('../helpers/token-server');
const tls = require('../helpers/tls-fixtures');

const ROUNDS = Number(process.env.MEMORY_ROUNDS || 16);
const PER_ROUND = Number(process.env.MEMORY_PER_ROUND || 100);
const CONCURRENCY = 20;

const settle = () => new Promise((resolve) => setImmediate(resolve));

async function rssAfterGc() {
  for (let i = 0; i < 3; i++) {
    global.gc();
    await settle();
  }
  return process.memoryUsage().rss / (1024 * 1024);
}

async function main() {
  const server = await startTokenServer({ tls: { key: tls.key, cert: tls.cert } });
  const rss = [];
  let cas = 0;
  let errors = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const ids = Array.from({ length: PER_ROUND }, (_, i) => round * PER_ROUND + i);
      for (let at = 0; at < ids.length; at += CONCURRENCY) {
        await Promise.all(ids.slice(at, at + CONCURRENCY).map(async (id) => {
          const ca = `distinct ca ${id} of ${path.basename(__filename)}\n${tls.ca}`;
          cas++;
          try {
            await new m2m.TokenClient({ tokenUrl: server.url, clientId: `mem-${id}`, clientSecret: 's', ca }).getToken();
          } catch {
            errors++;
          }
        }));
      }
      server.requests.length = 0; // the test server's own records are not the module's memory
      server.issued.length = 0;
      rss.push(Math.round(await rssAfterGc()));
    }
  } finally {
    await server.close();
  }
  process.stdout.write(`${JSON.stringify({ rss, cas, errors, stats: m2m.stats() })}\n`);
}

main().catch((err) => { console.error(err); process.exit(2); });

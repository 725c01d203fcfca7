'use strict';

// Real `redis-server` processes for the store suites, on 127.0.0.1 only.
//
//   const redis = await startRedis({ password, users, tls, db });
//   redis.port, redis.tlsPort, redis.url(db?), redis.tlsUrl(db?)
//   await redis.cli(['GET', key], { db, buffer })   // redis-cli, authenticated as the admin
//   await redis.stop() / redis.kill() / redis.restart() // restart: same port(s), empty data
//
//   const cluster = await startRedisCluster({ tls }); // 3 masters, no replicas
//   cluster.ports, cluster.url(), cluster.tlsUrl(), cluster.cli(port, args), await cluster.stop()
//
//   const sentinel = await startRedisSentinel({ tls, password }); // a master, a replica, 3 Sentinels
//   sentinel.url(db?), await sentinel.masterPort(), sentinel.cli(port, args), await sentinel.killMaster(), await sentinel.stop()
//
// No persistence (`--save ''`, no AOF): a restart comes back empty, as a
// crashed cache would. `--rdbcompression no` keeps DUMP output uncompressed,
// so a byte scan of it sees what is really stored.

const { killedAtEnd } = require('./leftovers');
const { freePort } = require('./ports');
const fs = require('node:fs');
const os = require('node:os');
const net = require('node:net');
const path = require('node:path');
const { spawn, execFile, execFileSync } = require('node:child_process');

const tlsFiles = {
  cert: path.join(__dirname, '..', 'fixtures', 'server.pem'),
  key: path.join(__dirname, '..', 'fixtures', 'server-key.pem'),
  ca: path.join(__dirname, '..', 'fixtures', 'ca.pem'),
};

// Every redis-server (and redis-cli MONITOR) still running: killed when the
// file's tests end, so one a failed or timed-out test left never holds the run.
const live = killedAtEnd();

/** True when `redis-server` and `redis-cli` are on PATH. */
function redisAvailable() {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function canListen(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port P with P + 10000 free too (a cluster node's bus port). */
async function freeClusterPort(taken) {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    if (taken.has(port) || taken.has(port + 10000)) continue;
    if (await canListen(port) && await canListen(port + 10000)) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

/**
 * Spawns redis-server with `args`; resolves once it logs that it accepts
 * connections (or what `ready` matches: a Sentinel logs no such line).
 */
function spawnRedis(args, dir, ready = /Ready to accept connections/) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let log = '';
    const onData = (chunk) => {
      log += chunk;
      if (ready.test(log)) {
        child.stdout.off('data', onData);
        child.stdout.resume(); // keep draining, so a full pipe never blocks the server
        resolve(child);
      }
    };
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { log += chunk; });
    child.once('error', (err) => {
      live.delete(child);
      reject(err.code === 'ENOENT' ? new Error('redis-server is not installed: the store tests need it (Debian: apt-get install redis-server)') : err);
    });
    child.once('exit', (code, signal) => {
      live.delete(child);
      reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${log}`));
    });
  });
}

function waitExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Runs redis-cli; resolves with its output (string, or Buffer with `buffer`),
 * trailing newline left in. Rejects on a non-zero exit.
 */
function redisCli(args, { buffer = false, input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile('redis-cli', args, { encoding: buffer ? 'buffer' : 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 10000 },
      (err, stdout, stderr) => (err ? reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout)));
    if (input !== undefined) child.stdin.end(input);
  });
}

/**
 * Starts one redis-server.
 *   password: requirepass (the default user's password)
 *   users:    [{ name, password }] ACL users with every right
 *   tls:      also listen with TLS (fixture certificate: localhost, 127.0.0.1; no client certificates)
 */
async function startRedis({ password, users = [], tls = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-redis-'));
  let port;
  let tlsPort;
  let child;
  const args = () => {
    const a = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--rdbcompression', 'no',
      '--dir', dir, '--protected-mode', 'no'];
    if (password !== undefined) a.push('--requirepass', password);
    for (const u of users) a.push('--user', u.name, 'on', `>${u.password}`, '~*', '&*', '+@all');
    if (tls) {
      a.push('--tls-port', String(tlsPort), '--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key,
        '--tls-ca-cert-file', tlsFiles.ca, '--tls-auth-clients', 'no');
    }
    return a;
  };
  // Two tries: a port the OS handed out may be taken again before redis binds it.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if (tls) tlsPort = await freePort();
    try {
      child = await spawnRedis(args(), dir);
      break;
    } catch (err) {
      if (attempt >= 2) throw err;
    }
  }
  const auth = password !== undefined ? ['-a', password, '--no-auth-warning'] : [];

  const redis = {
    dir,
    port,
    tlsPort,
    get pid() { return child.pid; },
    /** The store URL (the admin's password in it when there is one). */
    url: (db) => `redis://${password !== undefined ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}${db !== undefined ? `/${db}` : ''}`,
    tlsUrl: (db) => `rediss://${password !== undefined ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${tlsPort}${db !== undefined ? `/${db}` : ''}`,
    cli: (cmd, { db = 0, buffer = false, input } = {}) =>
      redisCli(['-h', '127.0.0.1', '-p', String(port), ...auth, '-n', String(db), ...cmd], { buffer, input }),
    /**
     * Starts `redis-cli MONITOR`: every command any client sends from now on,
     * as text. `await m.stop()` ends it and resolves with all it saw.
     */
    async monitor() {
      const mon = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, 'MONITOR'], { stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(mon);
      let seen = '';
      mon.stdout.setEncoding('utf8');
      await new Promise((resolve, reject) => {
        mon.stdout.on('data', (d) => { seen += d; if (seen.startsWith('OK')) resolve(); });
        mon.once('error', reject);
        mon.once('exit', () => reject(new Error(`redis-cli MONITOR ended: ${seen}`)));
      });
      return {
        get seen() { return seen; },
        async stop() {
          mon.kill('SIGKILL');
          await waitExit(mon);
          live.delete(mon);
          return seen;
        },
      };
    },
    async stop() {
      if (!child) return;
      const c = child;
      c.kill('SIGTERM');
      await waitExit(c);
      child = undefined;
    },
    /** SIGKILL, as a crash. */
    async kill() {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await waitExit(c);
      child = undefined;
    },
    /** Starts it again on the same port(s); the data is gone. */
    async restart() {
      await redis.kill();
      child = await spawnRedis(args(), dir);
    },
    async close() {
      await redis.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return redis;
}

/** Every key of `db`, via SCAN (redis-cli --scan iterates the cursor). */
async function scanKeys(cliFn, db = 0) {
  const out = await cliFn(['--scan'], { db });
  return out.split('\n').filter((k) => k.length > 0);
}

/**
 * Everything a key holds, as raw bytes: the type-specific read (GET, HGETALL,
 * LRANGE, SMEMBERS, ZRANGE) and DUMP (uncompressed, see above).
 */
async function readKey(cliFn, key, db = 0) {
  const type = (await cliFn(['TYPE', key], { db })).trim();
  const read = {
    string: ['GET', key],
    hash: ['HGETALL', key],
    list: ['LRANGE', key, '0', '-1'],
    set: ['SMEMBERS', key],
    zset: ['ZRANGE', key, '0', '-1', 'WITHSCORES'],
    stream: ['XRANGE', key, '-', '+'],
  }[type];
  const parts = [];
  if (read) parts.push(await cliFn(read, { db, buffer: true }));
  parts.push(await cliFn(['DUMP', key], { db, buffer: true }));
  return { key, type, bytes: Buffer.concat(parts) };
}

/**
 * What the nodes of a TLS cluster need for their bus. Redis always asks a
 * peer on the cluster bus for a client certificate (whatever
 * tls-auth-clients says), and the fixture certificate is for servers only
 * (EKU serverAuth), so the nodes dial each other with a throwaway
 * self-signed client certificate made here with the openssl command, and
 * trust it besides the fixture CA. Clients still see the fixture
 * certificate and need no certificate of their own.
 */
function clusterBusTls(dir) {
  const cert = path.join(dir, 'bus.pem');
  const key = path.join(dir, 'bus-key.pem');
  const ca = path.join(dir, 'trusted.pem');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-sha256', '-subj', '/CN=m2m-token test cluster bus',
      '-addext', 'keyUsage=critical,digitalSignature', '-addext', 'extendedKeyUsage=clientAuth'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw err.code === 'ENOENT' ? new Error('openssl is not installed: the TLS cluster test needs it for its bus certificate') : err;
  }
  fs.writeFileSync(ca, fs.readFileSync(tlsFiles.ca, 'utf8') + fs.readFileSync(cert, 'utf8'));
  return { cert, key, ca };
}

/**
 * Starts a Redis Cluster of 3 masters (no replicas) and waits for
 * cluster_state:ok on every node.
 *   tls: the nodes listen with TLS only (fixture certificate), talk TLS to
 *        each other over the bus, and so announce their TLS ports; `ports`
 *        are then those TLS ports and `tlsUrl()` names them.
 */
async function startRedisCluster({ tls = false } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-redis-cluster-'));
  const taken = new Set();
  const nodes = [];
  // How redis-cli reaches a node: over TLS, trusting the fixture CA.
  const cliTls = tls ? ['--tls', '--cacert', tlsFiles.ca] : [];
  let listen = (port) => ['--port', String(port)];
  try {
    if (tls) {
      const bus = clusterBusTls(root);
      listen = (port) => ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key,
        '--tls-client-cert-file', bus.cert, '--tls-client-key-file', bus.key, '--tls-ca-cert-file', bus.ca,
        '--tls-auth-clients', 'no', '--tls-cluster', 'yes', '--tls-replication', 'yes'];
    }
    for (let i = 0; i < 3; i++) {
      // The bus port is the client port + 10000 (the TLS port, with TLS).
      const port = await freeClusterPort(taken);
      taken.add(port);
      taken.add(port + 10000);
      const dir = path.join(root, String(port));
      fs.mkdirSync(dir);
      const child = await spawnRedis([...listen(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--rdbcompression', 'no', '--dir', dir, '--protected-mode', 'no', '--cluster-enabled', 'yes',
        '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-node-timeout', '5000'], dir);
      nodes.push({ port, child });
    }
    await redisCli([...cliTls, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const cli = (port, cmd, { buffer = false, input } = {}) =>
      redisCli([...cliTls, '-h', '127.0.0.1', '-p', String(port), ...cmd], { buffer, input });
    // The nodes agree on the slot map over their bus: wait for it (bounded).
    const deadline = Date.now() + 20000;
    for (;;) {
      const states = await Promise.all(nodes.map((n) => cli(n.port, ['CLUSTER', 'INFO'])));
      if (states.every((s) => /cluster_state:ok/.test(s))) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok:\n${states.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const ports = nodes.map((n) => n.port);
    const seedList = (seeds) => ports.slice(0, seeds).map((p) => `127.0.0.1:${p}`).join(',');
    return {
      ports,
      /** `redis+cluster://` with the first `seeds` nodes (default 2: the store must discover the third). */
      url: (seeds = 2) => {
        if (tls) throw new Error('this cluster listens with TLS only: use tlsUrl()');
        return `redis+cluster://${seedList(seeds)}`;
      },
      /** `rediss+cluster://` with the first `seeds` nodes (default 2), for a cluster started with `tls`. */
      tlsUrl: (seeds = 2) => {
        if (!tls) throw new Error('this cluster was started without TLS: use url()');
        return `rediss+cluster://${seedList(seeds)}`;
      },
      cli,
      async stop() {
        await Promise.all(nodes.map(async (n) => { n.child.kill('SIGKILL'); await waitExit(n.child); }));
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(nodes.map(async (n) => { n.child.kill('SIGKILL'); await waitExit(n.child); }));
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Starts a Redis behind Sentinels: a master, one replica of it and three
 * Sentinels (`redis-server <conf> --sentinel`, quorum 2) monitoring it as
 * `masterName`, all on free loopback ports, and waits until every Sentinel
 * knows the replica and the other two (so that a failover can happen).
 * Failure detection is quick (`downAfterMs`, default 1000 ms), so a
 * failover after `killMaster()` takes a few seconds.
 *   tls:      every node listens with TLS only (fixture certificate) and they
 *             talk TLS to each other; `url()` is then `rediss+sentinel://`
 *   password: the master's and the replica's (requirepass, masterauth, and
 *             the Sentinels' auth-pass); the Sentinels themselves need none
 */
async function startRedisSentinel({ masterName = 'm2m-test-master', downAfterMs = 1000, failoverTimeoutMs = 3000, tls = false, password } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-redis-sentinel-'));
  const servers = new Map(); // port -> child (the master and the replica)
  const sentinels = [];
  // The replica dials the master, and the Sentinels every node, as TLS
  // clients; no node asks its clients for a certificate.
  const tlsArgs = ['--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key, '--tls-ca-cert-file', tlsFiles.ca,
    '--tls-auth-clients', 'no', '--tls-replication', 'yes'];
  const listen = (port) => (tls ? ['--port', '0', '--tls-port', String(port), ...tlsArgs] : ['--port', String(port)]);
  const auth = password !== undefined ? ['--requirepass', password, '--masterauth', password] : [];
  const dataArgs = (port, dir) => [...listen(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--protected-mode', 'no', ...auth];
  const killAll = async () => {
    const children = [...servers.values(), ...sentinels.map((s) => s.child)];
    await Promise.all(children.map(async (c) => { c.kill('SIGKILL'); await waitExit(c); }));
  };
  const cliTls = tls ? ['--tls', '--cacert', tlsFiles.ca] : [];
  const dataNodeAuth = password !== undefined ? ['-a', password, '--no-auth-warning'] : [];
  const sentinelCli = (port, cmd) => redisCli([...cliTls, '-h', '127.0.0.1', '-p', String(port), ...cmd]);
  /** redis-cli on a data node (the master or the replica), as the admin. */
  const cli = (port, cmd) => redisCli([...cliTls, '-h', '127.0.0.1', '-p', String(port), ...dataNodeAuth, ...cmd]);
  try {
    for (const role of ['master', 'replica']) {
      const port = await freePort();
      const dir = path.join(root, String(port));
      fs.mkdirSync(dir);
      const replicaOf = role === 'replica' ? ['--replicaof', '127.0.0.1', String([...servers.keys()][0])] : [];
      servers.set(port, await spawnRedis([...dataArgs(port, dir), ...replicaOf], dir));
    }
    const [firstMaster, replica] = [...servers.keys()];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const dir = path.join(root, `sentinel-${port}`);
      fs.mkdirSync(dir);
      // A Sentinel rewrites its configuration file, so each has its own.
      const conf = path.join(dir, 'sentinel.conf');
      const tlsConf = tls ? ['port 0', `tls-port ${port}`, `tls-cert-file ${tlsFiles.cert}`, `tls-key-file ${tlsFiles.key}`,
        `tls-ca-cert-file ${tlsFiles.ca}`, 'tls-auth-clients no', 'tls-replication yes'] : [`port ${port}`];
      fs.writeFileSync(conf, [
        ...tlsConf, 'bind 127.0.0.1', 'protected-mode no', `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${firstMaster} 2`,
        ...(password !== undefined ? [`sentinel auth-pass ${masterName} ${password}`] : []),
        `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
        `sentinel failover-timeout ${masterName} ${failoverTimeoutMs}`,
        `sentinel parallel-syncs ${masterName} 1`, '',
      ].join('\n'));
      const child = await spawnRedis([conf, '--sentinel'], dir, /\+monitor master/);
      sentinels.push({ port, child });
    }
    const masterAddress = async (sentinelPort) => {
      const out = (await sentinelCli(sentinelPort, ['SENTINEL', 'get-master-addr-by-name', masterName])).trim().split('\n');
      return out.length === 2 ? Number(out[1]) : undefined;
    };
    // Sentinels find the replica through the master's INFO and each other
    // through its hello channel, every few seconds: wait for both (bounded).
    const deadline = Date.now() + 30000;
    for (;;) {
      const views = await Promise.all(sentinels.map((s) => sentinelCli(s.port, ['SENTINEL', 'master', masterName])));
      const field = (view, name) => { const lines = view.split('\n'); return lines[lines.indexOf(name) + 1]; };
      const link = await cli(replica, ['INFO', 'replication']);
      if (views.every((v) => field(v, 'num-slaves') === '1' && field(v, 'num-other-sentinels') === '2')
        && /master_link_status:up/.test(link)) break;
      if (Date.now() > deadline) throw new Error(`the Sentinels never saw the whole topology:\n${views.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return {
      masterName,
      sentinelPorts: sentinels.map((s) => s.port),
      /** `redis+sentinel://` (`rediss+` with TLS) naming the password, every Sentinel and the master name. */
      url: (db) => `${tls ? 'rediss' : 'redis'}+sentinel://${password !== undefined ? `:${encodeURIComponent(password)}@` : ''}${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${masterName}${db !== undefined ? `/${db}` : ''}`,
      /** The master's port as the first Sentinel that answers names it. */
      async masterPort() {
        for (const s of sentinels) {
          try { return await masterAddress(s.port); } catch {}
        }
        return undefined;
      },
      cli,
      /** SIGKILLs the current master, as a crash; resolves with its port. */
      async killMaster() {
        const port = await this.masterPort();
        const child = servers.get(port);
        if (!child) throw new Error(`the Sentinels name ${port}, which is not one of ours`);
        child.kill('SIGKILL');
        await waitExit(child);
        servers.delete(port);
        return port;
      },
      async stop() {
        await killAll();
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await killAll();
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A TCP server that accepts connections, reads whatever comes and never
 * answers: a Redis that hangs.
 */
async function startBlackhole() {
  const sockets = new Set();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address();
  return {
    port,
    url: () => `redis://127.0.0.1:${port}`,
    get connections() { return sockets.size; },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => srv.close(() => resolve()));
    },
  };
}

module.exports = { redisAvailable, startRedis, startRedisCluster, startRedisSentinel, startBlackhole, scanKeys, readKey, freePort, tlsFiles };

'use strict';

// Child process for exit.test.js: gets a token, prints it, and does nothing
// else, so it must exit by itself. argv: <tokenUrl> <clientId> <mode>
//   promise:  await getToken
//   callback: getToken(options, callback)
//   error:    getToken with a callback against a server that answers 401
//   refresh:  get a token (usable 2 s), wait 1820 ms, get it again (starts a
//             refresh ahead the server holds), then wait 200 ms and stop
//   worker:   get a token in a worker thread, which then ends

const m2m = require('../..');

const [url, clientId, mode] = process.argv.slice(2);
const options = { tokenUrl: url, clientId, clientSecret: mode === 'error' ? 'wrong' : 's', leewaySeconds: 60 };

async function main() {
  switch (mode) {
    case 'promise':
      console.log(await m2m.getToken(options));
      break;
    case 'callback':
      m2m.getToken(options, (err, token) => console.log(err ? `error ${err.code}` : token));
      break;
    case 'error':
      m2m.getToken(options, (err) => console.log(`error ${err.code}`));
      break;
    case 'refresh': {
      const first = await m2m.getTokenInfo(options);
      await new Promise((resolve) => setTimeout(resolve, 1820));
      const second = await m2m.getTokenInfo(options);
      console.log(first.accessToken);
      console.log(`${second.accessToken} ${second.fromCache}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      break;
    }
    case 'worker': {
      const { Worker } = require('node:worker_threads');
      const w = new Worker(
        `require(${JSON.stringify(require.resolve('../..'))}).getToken(require('node:worker_threads').workerData)
           .then((t) => require('node:worker_threads').parentPort.postMessage(t))`,
        { eval: true, workerData: options },
      );
      w.on('message', (t) => console.log(t));
      break;
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main();

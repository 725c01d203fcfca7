#!/usr/bin/env node
'use strict'

// m2m-token: prints an OAuth 2.0 client-credentials token for shell scripts
// and CI jobs. A thin layer over the library: it turns arguments and the
// environment into options, asks for a token, and maps errors to exit
// statuses. Every run is a new process, so the default store is 'file':
// repeated runs on a machine share one token.
//
// Startup cost is most of what a cached run costs, so this file requires
// only what Node has built in until the arguments have been checked; the
// library (and its native addon) is loaded only when a token is needed.

const { parseArgs } = require('node:util')

const EXIT_STATUS = {
  ERR_INVALID_OPTIONS: 2,
  ERR_OAUTH: 3,
  ERR_HTTP_STATUS: 4,
  ERR_RATE_LIMITED: 5,
  ERR_TIMEOUT: 6,
  ERR_NETWORK: 7,
  ERR_INVALID_RESPONSE: 8,
}

const FLAGS = {
  domain: { type: 'string' },
  'token-url': { type: 'string' },
  'client-id': { type: 'string' },
  audience: { type: 'string' },
  scope: { type: 'string' },
  'auth-method': { type: 'string' },
  'client-secret-file': { type: 'string' },
  'private-key-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
  'key-id': { type: 'string' },
  'signing-algorithm': { type: 'string' },
  store: { type: 'string' },
  'leeway-seconds': { type: 'string' },
  'timeout-ms': { type: 'string' },
  retries: { type: 'string' },
  json: { type: 'boolean' },
  header: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
}

const COMMANDS = ['get', 'invalidate']

/** A mistake in how the command was called: exit 2, with a pointer to --help. */
class UsageError extends Error {
  constructor(message) {
    super(`${message} (see m2m-token --help)`)
    this.code = 'ERR_INVALID_OPTIONS'
  }
}

function parse(argv) {
  refuseSecretArgument(argv)
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true })
  } catch (err) {
    // parseArgs names the flag, never its value; its hints run over several
    // lines and sentences, and one line is what we print.
    throw new UsageError(String(err.message).split(/\.\s|\n/)[0].replace(/\.$/, ''))
  }
  const { values, positionals } = parsed
  if (positionals.length > 1) throw new UsageError('give one command: get or invalidate')
  const command = positionals.length === 1 ? positionals[0] : 'get'
  // The unknown word is not echoed: it could be a secret typed in the wrong place.
  if (!COMMANDS.includes(command)) throw new UsageError('unknown command; the commands are get and invalidate')
  if (values.json && values.header) throw new UsageError('give --json or --header, not both')
  if (command !== 'get' && (values.json || values.header)) {
    throw new UsageError(`--${values.json ? 'json' : 'header'} is an output form of get`)
  }
  return { command, values }
}

/**
 * `--client-secret` does not exist on purpose: others on the machine can read
 * a process's arguments. Checked before parsing so that the value after it
 * is never taken for a command and shown.
 */
function refuseSecretArgument(argv) {
  for (const arg of argv) {
    if (arg === '--') return
    if (arg === '--client-secret' || arg.startsWith('--client-secret=')) {
      throw new UsageError(
        'a client secret is never taken as an argument (others on this machine can read arguments): ' +
          'set M2M_CLIENT_SECRET, or use --client-secret-file F (- for standard input)',
      )
    }
  }
}

/** The environment variable's value, with an empty one counted as unset. */
function fromEnv(...names) {
  for (const name of names) {
    const value = process.env[name]
    if (value !== undefined && value !== '') return value
  }
  return undefined
}

const DECIMAL = /^\d+(\.\d+)?$/
const WHOLE = /^\d+$/

function number(values, flag, pattern, what, isOk = () => true) {
  const text = values[flag]
  if (text === undefined) return undefined
  const value = Number(text)
  if (!pattern.test(text) || !isOk(value)) throw new UsageError(`--${flag} must be ${what}`)
  return value
}

/** Library options from the flags and the environment, secrets not yet read. */
function selection(values) {
  if (values.domain !== undefined && values['token-url'] !== undefined) {
    throw new UsageError('give --domain or --token-url, not both')
  }
  const options = {}
  if (values['token-url'] !== undefined) options.tokenUrl = values['token-url']
  else {
    options.domain = values.domain ?? fromEnv('AUTH0_DOMAIN')
    if (options.domain === undefined) {
      throw new UsageError('no token endpoint: give --domain D or --token-url URL, or set AUTH0_DOMAIN')
    }
  }
  options.clientId = values['client-id'] ?? fromEnv('M2M_CLIENT_ID', 'AUTH0_CLIENT_ID')
  if (options.clientId === undefined) {
    throw new UsageError('no client id: give --client-id ID, or set M2M_CLIENT_ID (or AUTH0_CLIENT_ID)')
  }
  const strings = { audience: 'audience', scope: 'scope', 'auth-method': 'authMethod', 'key-id': 'keyId', 'signing-algorithm': 'signingAlgorithm' }
  for (const [flag, key] of Object.entries(strings)) if (values[flag] !== undefined) options[key] = values[flag]
  options.store = values.store ?? fromEnv('M2M_TOKEN_STORE') ?? 'file'
  const leeway = number(values, 'leeway-seconds', DECIMAL, 'a number of seconds ≥ 0')
  const timeout = number(values, 'timeout-ms', DECIMAL, 'a number of milliseconds > 0', (n) => n > 0)
  const retries = number(values, 'retries', WHOLE, 'a whole number ≥ 0')
  if (leeway !== undefined) options.leewaySeconds = leeway
  if (timeout !== undefined) options.timeoutMs = timeout
  if (retries !== undefined) options.retries = retries
  if (values['client-secret-file'] !== undefined && values['private-key-file'] !== undefined) {
    throw new UsageError('give --client-secret-file or --private-key-file, not both')
  }
  if ((values['cert-file'] === undefined) !== (values['key-file'] === undefined)) {
    throw new UsageError('give --cert-file and --key-file together (a client certificate and its private key)')
  }
  if (values['client-secret-file'] === undefined && values['private-key-file'] === undefined &&
      values['cert-file'] === undefined && fromEnv('M2M_CLIENT_SECRET', 'AUTH0_CLIENT_SECRET') === undefined) {
    throw new UsageError(
      'no client credential: set M2M_CLIENT_SECRET (or AUTH0_CLIENT_SECRET), ' +
        'or give --client-secret-file F (- for standard input), --private-key-file F or --cert-file F --key-file F',
    )
  }
  return options
}

/** Adds the client secret, private key or certificate, read from where the flags say. */
async function addCredential(options, values) {
  const keyFile = values['private-key-file']
  const secretFile = values['client-secret-file']
  if (values['cert-file'] !== undefined) {
    options.cert = readFlagFile('--cert-file', values['cert-file'])
    options.key = readFlagFile('--key-file', values['key-file'])
  }
  if (keyFile !== undefined) {
    options.privateKey = readFlagFile('--private-key-file', keyFile)
  } else if (secretFile !== undefined) {
    const text = secretFile === '-' ? await readStdin() : readFlagFile('--client-secret-file', secretFile)
    // Files and `echo` end in a newline that is not part of the secret.
    options.clientSecret = text.replace(/\r?\n$/, '')
    if (options.clientSecret === '') {
      throw new UsageError(`--client-secret-file: ${secretFile === '-' ? 'standard input' : 'the file'} is empty`)
    }
  } else if (options.cert === undefined) {
    // An explicit key or certificate wins over a secret that happens to be in the environment.
    options.clientSecret = fromEnv('M2M_CLIENT_SECRET', 'AUTH0_CLIENT_SECRET')
  }
}

function readFlagFile(flag, file) {
  try {
    return require('node:fs').readFileSync(file, 'utf8')
  } catch (err) {
    // The file system's message names the path and the reason, never the content.
    throw new UsageError(`${flag}: ${err.message}`)
  }
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

async function get(m2m, options, values) {
  const info = await m2m.getTokenInfo(options)
  if (values.json) return `${JSON.stringify(info)}\n`
  if (values.header) return `Authorization: ${info.tokenType} ${info.accessToken}\n`
  return `${info.accessToken}\n`
}

/**
 * Drops the entry from the store. A fresh process holds no token in
 * memory, and then the library removes whatever token the store holds for
 * these options; the removal runs in the background, so wait for it (at
 * most half a second) before the process exits.
 */
async function invalidate(m2m, options) {
  m2m.invalidate(options) // throws TokenError ERR_INVALID_OPTIONS on bad options
  await require('../lib/thread-view').native.flushStore()
  return ''
}

async function main(argv) {
  const { command, values } = parse(argv)
  if (values.help) return require('./usage').HELP
  if (values.version) return `${require('../package.json').version}\n`
  const options = selection(values)
  await addCredential(options, values)
  const m2m = require('../index.js')
  return command === 'get' ? get(m2m, options, values) : invalidate(m2m, options)
}

// The library names options as the JavaScript API does; a person at a shell
// typed flags. Only names that cannot be ordinary words are replaced.
const FLAG_OF_OPTION = {
  tokenUrl: '--token-url',
  clientId: '--client-id',
  clientSecret: 'the client secret',
  authMethod: '--auth-method',
  privateKey: '--private-key-file',
  keyId: '--key-id',
  signingAlgorithm: '--signing-algorithm',
  leewaySeconds: '--leeway-seconds',
  timeoutMs: '--timeout-ms',
}
const OPTION_NAME = new RegExp(`\\b(${Object.keys(FLAG_OF_OPTION).join('|')})\\b`, 'g')
// `cert` and `key` are ordinary words too: only the options, not "private key".
const CERTIFICATE_OPTION = /(?<!private )\b(cert|key)\b(?![-\w])/g
const FLAG_OF_CERTIFICATE_OPTION = { cert: '--cert-file', key: '--key-file' }

function fail(err) {
  const code = typeof err?.code === 'string' ? err.code : 'ERR_UNEXPECTED'
  let message = String(err?.message ?? err).replace(/\s*\n\s*/g, ' ')
  if (!(err instanceof UsageError)) {
    message = message.replace(OPTION_NAME, (name) => FLAG_OF_OPTION[name])
    message = message.replace(CERTIFICATE_OPTION, (name) => FLAG_OF_CERTIFICATE_OPTION[name])
    if (code === 'ERR_INVALID_OPTIONS') message += ' (see m2m-token --help)'
  }
  process.stderr.write(`m2m-token: ${code}: ${message}\n`)
  // exitCode, not exit(): output still being written to a pipe is flushed.
  process.exitCode = EXIT_STATUS[code] ?? 1
}

/**
 * Writes `text` to standard output with a plain write(2). Creating
 * process.stdout (a stream over a pipe, file or terminal) costs more than
 * the rest of a run answered from the store (~3 ms). When the reader has
 * gone (EPIPE) or fd 1 is not usable, this throws the system error.
 */
function print(text) {
  const fs = require('node:fs')
  let rest = Buffer.from(text)
  while (rest.length > 0) {
    let written
    try {
      written = fs.writeSync(1, rest)
    } catch (err) {
      // A non-blocking pipe that is full: a stream waits for it to drain.
      if (err.code !== 'EAGAIN') throw err
      process.stdout.on('error', (e) => fail(outputError(e)))
      process.stdout.write(rest)
      return
    }
    rest = rest.subarray(written)
  }
}

/** A failed write to standard output, as one line: its system code (EPIPE, …) and what happened. */
function outputError(err) {
  const reason = err.code === 'EPIPE' ? 'the reader closed it' : String(err.message)
  return { code: typeof err.code === 'string' ? err.code : 'ERR_UNEXPECTED', message: `cannot write to standard output: ${reason}` }
}

main(process.argv.slice(2)).then((out) => {
  if (!out) return
  try {
    print(out)
  } catch (err) {
    fail(outputError(err))
  }
}, fail)

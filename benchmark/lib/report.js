'use strict'

// Markdown helpers for RESULTS.md, and the machine the figures come from.

const os = require('node:os')
const { execFileSync } = require('node:child_process')

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Our rows are bold, so the eye finds them among the peers'. */
const ours = (name) => (name.startsWith('m2m-token') ? `**${name}**` : name)

const fixed = (n, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

function machine() {
  let rustc = 'rustc not found'
  try {
    rustc = execFileSync('rustc', ['--version']).toString().trim()
  } catch {}
  return {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown',
    node: process.version,
    rustc,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString().slice(0, 10),
  }
}

module.exports = { table, ours, fixed, machine }

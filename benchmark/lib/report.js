'use strict'

// Markdown for RESULTS.md.

const os = require('node:os')
const { execFileSync } = require('node:child_process')

function table(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

function machine() {
  let rustc = 'unknown'
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

module.exports = { table, machine }

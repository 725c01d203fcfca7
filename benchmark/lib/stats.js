'use strict'

// Small statistics for repeated rounds: the median is the figure we report,
// min–max is printed beside it so a noisy run shows.

const sorted = (values) => [...values].sort((a, b) => a - b)

function percentile(values, p) {
  const s = sorted(values)
  if (s.length === 0) return NaN
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[i]
}

const median = (values) => {
  const s = sorted(values)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** "median (min–max)" with `digits` decimals; just the value for one sample. */
function spread(values, digits = 0) {
  const s = sorted(values)
  if (s.length === 1) return s[0].toFixed(digits)
  return `${median(s).toFixed(digits)} (${s[0].toFixed(digits)}–${s[s.length - 1].toFixed(digits)})`
}

module.exports = { percentile, median, spread }

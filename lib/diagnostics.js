'use strict'

// Events on node:diagnostics_channel (see README "Observability"). Channel
// objects are per thread, so a message is published on the thread whose
// call started the request. Publishing costs nothing unless someone
// subscribes: every caller checks `hasSubscribers` first, and the hit path
// never gets here at all.

const diagnostics = require('node:diagnostics_channel')
const { cleanQuota } = require('./quota')

const fetchStart = diagnostics.channel('m2m-token:fetch:start')
const fetchEnd = diagnostics.channel('m2m-token:fetch:end')
const invalidation = diagnostics.channel('m2m-token:invalidate')

/** True when a fetch would be reported. */
function watchingFetches() {
  return fetchStart.hasSubscribers || fetchEnd.hasSubscribers
}

/** The non-secret fields naming an entry: tokenUrl, clientId, audience?. */
function subjectOf(description) {
  const subject = { tokenUrl: description.tokenUrl, clientId: description.clientId }
  if (description.audience !== undefined && description.audience !== null) {
    subject.audience = description.audience
  }
  return subject
}

function publishFetchStart(subject, reason) {
  if (fetchStart.hasSubscribers) fetchStart.publish({ ...subject, reason })
}

/** `outcome` is the native outcome with its `report`; `error` a TokenError if it failed. */
function publishFetchEnd(subject, reason, outcome, error) {
  if (!fetchEnd.hasSubscribers) return
  const report = outcome.report
  const message = {
    ...subject,
    reason,
    durationMs: report ? report.durationMs : 0,
    attempts: report ? report.attempts : 0,
    source: report ? report.source : 'endpoint',
  }
  if (error) {
    message.error = error
  } else if (report && report.expiresAt !== undefined && report.expiresAt !== null) {
    message.expiresAt = report.expiresAt
    const quota = cleanQuota(report.quota)
    if (quota !== undefined) message.quota = quota
  }
  fetchEnd.publish(message)
}

function publishInvalidate(subject, scope) {
  if (invalidation.hasSubscribers) invalidation.publish({ ...subject, scope })
}

function watchingInvalidations() {
  return invalidation.hasSubscribers
}

module.exports = {
  watchingFetches,
  watchingInvalidations,
  subjectOf,
  publishFetchStart,
  publishFetchEnd,
  publishInvalidate,
}

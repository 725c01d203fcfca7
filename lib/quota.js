'use strict'

// Auth0's quota, as the native layer reports it, into the shape of the
// contract: only the buckets that parsed, no null or undefined keys. Frozen,
// because every cache hit on a token hands out the same object.

function cleanBucket(bucket) {
  if (bucket === null || bucket === undefined) return undefined
  return Object.freeze({ quota: bucket.quota, remaining: bucket.remaining, resetAfter: bucket.resetAfter })
}

function cleanBuckets(buckets) {
  if (buckets === null || buckets === undefined) return undefined
  const clean = {}
  const perHour = cleanBucket(buckets.perHour)
  const perDay = cleanBucket(buckets.perDay)
  if (perHour !== undefined) clean.perHour = perHour
  if (perDay !== undefined) clean.perDay = perDay
  return perHour === undefined && perDay === undefined ? undefined : Object.freeze(clean)
}

/** `{ client?, organization? }`, or undefined when no bucket is there. */
function cleanQuota(quota) {
  if (quota === null || quota === undefined) return undefined
  const clean = {}
  const client = cleanBuckets(quota.client)
  const organization = cleanBuckets(quota.organization)
  if (client !== undefined) clean.client = client
  if (organization !== undefined) clean.organization = organization
  return client === undefined && organization === undefined ? undefined : Object.freeze(clean)
}

module.exports = { cleanQuota }

import { canonicalJson } from '../ledger/canonical-json.js'
import type { AuditEvent, UsageRecord } from '../records.js'

/**
 * Incremental fetch (issue 4 §6): each provider is read from its watermark in
 * `audit/state.json`, re-reading a little overlap because providers settle recent buckets
 * late; a first run backfills a window long enough for baselines. Merging keeps the latest
 * read of each bucket, so an overlapping re-fetch never double counts. Pure.
 */

export const DEFAULT_BACKFILL_DAYS = 35
export const DEFAULT_OVERLAP_HOURS = 24
const HOUR_MS = 3_600_000

export interface WindowOptions {
  backfillDays?: number
  overlapHours?: number
}

export interface FetchWindow {
  since: Date
  until: Date
  /** True on a first run (no watermark): the whole backfill is read. */
  backfill: boolean
}

/** The window to read now: [watermark - overlap, now), hour-aligned, never past the backfill. */
export function fetchWindow(
  watermark: string | undefined,
  now: Date,
  options: WindowOptions = {},
): FetchWindow {
  const backfillDays = options.backfillDays ?? DEFAULT_BACKFILL_DAYS
  const overlap = (options.overlapHours ?? DEFAULT_OVERLAP_HOURS) * HOUR_MS
  const until = new Date(Math.floor(now.getTime() / HOUR_MS) * HOUR_MS)
  const earliest = until.getTime() - backfillDays * 24 * HOUR_MS
  const mark = watermark === undefined ? Number.NaN : Date.parse(watermark)
  if (Number.isNaN(mark)) return { since: new Date(earliest), until, backfill: true }
  const from = Math.floor((Math.min(mark, until.getTime()) - overlap) / HOUR_MS) * HOUR_MS
  return { since: new Date(Math.max(earliest, from)), until, backfill: false }
}

/** The identity of a usage bucket: one key, model and operation in one time span. */
export function usageBucketKey(r: UsageRecord): string {
  return [
    r.provider,
    r.providerKeyId ?? '',
    r.model ?? '',
    r.operation,
    r.project ?? '',
    r.start,
    r.end,
  ].join('\u0000')
}

/**
 * Merges a fresh read into what is already known: a bucket read again replaces the older
 * read (providers revise recent buckets), never adds to it. Output sorted for stable snapshots.
 */
export function mergeUsage(
  known: readonly UsageRecord[],
  fresh: readonly UsageRecord[],
): UsageRecord[] {
  const byKey = new Map<string, UsageRecord>()
  for (const r of known) byKey.set(usageBucketKey(r), r)
  // A fresh read may itself list a bucket twice (overlapping pages): the last one wins.
  for (const r of fresh) byKey.set(usageBucketKey(r), r)
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r)
}

/** Audit events deduplicated by provider and event id, oldest first. */
export function mergeEvents(
  known: readonly AuditEvent[],
  fresh: readonly AuditEvent[],
): AuditEvent[] {
  const byId = new Map<string, AuditEvent>()
  for (const e of [...known, ...fresh]) byId.set(`${e.provider}\u0000${e.eventId}`, e)
  return [...byId.values()].sort(
    (a, b) => a.at.localeCompare(b.at) || a.eventId.localeCompare(b.eventId),
  )
}

/** The records of `fresh` that fall in the fetched window and are new or changed relative to `known`. */
export function changedUsage(
  known: readonly UsageRecord[],
  fresh: readonly UsageRecord[],
): UsageRecord[] {
  // Canonical form: history comes back from snapshots with sorted keys, fresh records in the
  // adapter's key order, and the same content must compare equal.
  const old = new Map(known.map((r) => [usageBucketKey(r), canonicalJson(r)]))
  return fresh.filter((r) => old.get(usageBucketKey(r)) !== canonicalJson(r))
}

/**
 * The watermark after a read: the window's end, unless the provider left a gap, in which case
 * it stays put so the next run reads the hole again.
 */
export function nextWatermark(
  previous: string | undefined,
  window: FetchWindow,
  hadGaps: boolean,
): string | undefined {
  if (hadGaps) return previous
  return window.until.toISOString()
}

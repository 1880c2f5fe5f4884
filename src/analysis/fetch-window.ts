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
  // A template rather than [..].join: this runs once per record of the whole history.
  return `${r.provider}\u0000${r.providerKeyId ?? ''}\u0000${r.model ?? ''}\u0000${r.operation}\u0000${r.project ?? ''}\u0000${r.start}\u0000${r.end}`
}

/**
 * Merges a fresh read into what is already known: a bucket read again replaces the older
 * read (providers revise recent buckets), never adds to it. Output sorted for stable snapshots:
 * in the order of the records' usageBucketKey strings.
 */
export function mergeUsage(
  known: readonly UsageRecord[],
  fresh: readonly UsageRecord[],
): UsageRecord[] {
  // The history is large, and one key string per record (hashed, then sorted) is what made
  // merging costly. Records are filed in nested maps by the key's fields instead, whose strings
  // are mostly shared between records, and each level is sorted on its own. Without NUL in any
  // field that is the same identity and the same order as the joined key; with one, the joined
  // key is used, as it always was.
  const tree: ByProvider = new Map()
  for (const list of [known, fresh]) {
    // A fresh read may itself list a bucket twice (overlapping pages): the last one wins.
    for (const r of list) if (!file(tree, r)) return mergeByBucketKey(known, fresh)
  }
  const out: UsageRecord[] = []
  for (const byKey of sortedValues(tree))
    for (const byModel of sortedValues(byKey))
      for (const byOperation of sortedValues(byModel))
        for (const byProject of sortedValues(byOperation))
          for (const starts of sortedValues(byProject))
            for (const leaf of sortedValues(starts)) {
              if (leaf instanceof Map) for (const r of sortedValues(leaf)) out.push(r)
              else out.push(leaf)
            }
  return out
}

/** Records by start; a start with two ends (rare: buckets of another width) maps them by end. */
type Starts = Map<string, UsageRecord | Map<string, UsageRecord>>
type ByProject = Map<string, Starts>
type ByOperation = Map<string, ByProject>
type ByModel = Map<string, ByOperation>
type ByKey = Map<string, ByModel>
type ByProvider = Map<string, ByKey>

const hasNul = (s: string) => s.includes('\u0000')

/** Files `r` under its bucket's fields (replacing a record of the same bucket); false on a NUL. */
function file(tree: ByProvider, r: UsageRecord): boolean {
  const keyId = r.providerKeyId ?? ''
  const model = r.model ?? ''
  const project = r.project ?? ''
  if (
    hasNul(r.provider) ||
    hasNul(keyId) ||
    hasNul(model) ||
    hasNul(r.operation) ||
    hasNul(project) ||
    hasNul(r.start) ||
    hasNul(r.end)
  )
    return false
  const starts = child(
    child(child(child(child(tree, r.provider), keyId), model), r.operation),
    project,
  )
  const there = starts.get(r.start)
  if (there === undefined || (!(there instanceof Map) && there.end === r.end))
    starts.set(r.start, r)
  else if (there instanceof Map) there.set(r.end, r)
  else
    starts.set(
      r.start,
      new Map([
        [there.end, there],
        [r.end, r],
      ]),
    )
  return true
}

function child<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let next = map.get(key)
  if (!next) {
    next = new Map()
    map.set(key, next)
  }
  return next
}

/** A map's values in the order of its keys (default sort: UTF-16 code units, like `<`). */
function sortedValues<V>(map: Map<string, V>): V[] {
  return [...map.keys()].sort().map((k) => map.get(k) as V)
}

/** mergeUsage by whole usageBucketKey strings: for records with a NUL in a field. */
function mergeByBucketKey(
  known: readonly UsageRecord[],
  fresh: readonly UsageRecord[],
): UsageRecord[] {
  const byKey = new Map<string, UsageRecord>()
  for (const r of known) byKey.set(usageBucketKey(r), r)
  for (const r of fresh) byKey.set(usageBucketKey(r), r)
  // The default sort orders strings by UTF-16 code units, as `a < b` does, without calling
  // back into JS per comparison; the keys are unique, so stability does not matter.
  return [...byKey.keys()].sort().map((k) => byKey.get(k) as UsageRecord)
}

/** Records by provider, then provider key id, each key's in series order (see mergeUsageByKey). */
export type UsageByKey = Map<string, Map<string, UsageRecord[]>>

/**
 * mergeUsage for analysis: the same buckets (a later read of a bucket replaces the earlier
 * one), but only records attributed to a provider key, grouped by provider and key (both in
 * sorted order) and each key's records in series order: by start, and within one start by
 * model, operation, project and end. That is the order the time sort of mergeUsage's output
 * gives each key (for ISO 8601 starts), found without sorting the history: records arrive
 * mostly in time order, so each key's list grows at its end, and a record that does not (a
 * re-read overlap, a second model in the same hour) is found or placed by binary search.
 * With `first`, records that start before it (text order) are left out, as if filtered first.
 */
export function mergeUsageByKey(
  known: readonly UsageRecord[],
  fresh: readonly UsageRecord[],
  first?: string,
): UsageByKey {
  // Each key's last start is kept beside its list: reading it from the list's last record would
  // touch a record made long before (another page), once per record.
  const tree = new Map<string, Map<string, { records: UsageRecord[]; last: string }>>()
  // Records come in runs of one provider: its map is looked up once per run.
  let runProvider: string | undefined
  let runKeys = new Map<string, { records: UsageRecord[]; last: string }>()
  for (const list of [known, fresh])
    for (const r of list) {
      const keyId = r.providerKeyId
      if (keyId === undefined) continue
      const start = r.start
      if (first !== undefined && start < first) continue
      if (r.provider !== runProvider) {
        runProvider = r.provider
        const had = tree.get(runProvider)
        if (had) runKeys = had
        else {
          runKeys = new Map()
          tree.set(runProvider, runKeys)
        }
      }
      const key = runKeys.get(keyId)
      if (key === undefined) runKeys.set(keyId, { records: [r], last: start })
      else if (start > key.last) {
        key.records.push(r)
        key.last = start
      } else place(key.records, r, start === key.last)
    }
  const out: UsageByKey = new Map()
  for (const provider of [...tree.keys()].sort()) {
    const byKey = tree.get(provider) ?? new Map<string, { records: UsageRecord[] }>()
    out.set(
      provider,
      new Map([...byKey.keys()].sort().map((k) => [k, byKey.get(k)?.records ?? []])),
    )
  }
  return out
}

/**
 * Puts `r` into a key's records (in series order), replacing the record of the same bucket.
 * `atLast`: `r` starts when the key's last record does (a second model in the same hour, the
 * common case), so its place is among the last few records, found from the end rather than by
 * a binary search that would touch records made long before.
 */
function place(records: UsageRecord[], r: UsageRecord, atLast: boolean): void {
  // `lo`: the first record that does not start before `r`.
  let lo = 0
  if (atLast) {
    // The list ends with the records of `r`'s start: everything before them starts earlier.
    lo = records.length
    while (lo > 0 && (records[lo - 1] as UsageRecord).start === r.start) lo--
  } else {
    let hi = records.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((records[mid] as UsageRecord).start < r.start) lo = mid + 1
      else hi = mid
    }
  }
  let end = lo
  while (end < records.length && (records[end] as UsageRecord).start === r.start) {
    if (sameBucket(records[end] as UsageRecord, r)) {
      records[end] = r
      return
    }
    end++
  }
  let at = lo
  while (at < end && bySeriesOrder(records[at] as UsageRecord, r) < 0) at++
  records.splice(at, 0, r)
}

/** Same bucket given the same provider, key and start (usageBucketKey's remaining fields). */
const sameBucket = (a: UsageRecord, b: UsageRecord) =>
  a.end === b.end &&
  (a.model ?? '') === (b.model ?? '') &&
  a.operation === b.operation &&
  (a.project ?? '') === (b.project ?? '')

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)

/** Within one start: usageBucketKey's order of the remaining fields. */
const bySeriesOrder = (a: UsageRecord, b: UsageRecord) =>
  compare(a.model ?? '', b.model ?? '') ||
  compare(a.operation, b.operation) ||
  compare(a.project ?? '', b.project ?? '') ||
  compare(a.end, b.end)

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

/**
 * A run's fresh records filed by bucket, to meet the stored copies of the same buckets as the
 * history is read (audit-history.ts): a stored record whose bucket the fresh read has is
 * replaced by it in the merge, so it need not be kept; meeting it only notes whether the fresh
 * record changed. An hourly run re-reads 24 hours, so most stored records of its window are met
 * here and dropped while young, instead of being kept, merged and compared afterwards.
 */
export class FreshBuckets {
  /** Provider → key id ('' without one) → start → the fresh records of that start. */
  private readonly filed = new Map<string, Map<string, Map<string, UsageRecord[]>>>()
  /** Only stored records in the fresh read's span of bucket starts can share a bucket with it. */
  private readonly first: string
  private readonly last: string
  /** Fresh record → whether the latest stored copy met so far has the same content. */
  private readonly met = new Map<UsageRecord, boolean>()

  constructor(fresh: readonly UsageRecord[]) {
    let first = fresh[0]?.start ?? ''
    let last = first
    for (const r of fresh) {
      if (r.start < first) first = r.start
      if (r.start > last) last = r.start
      let byKey = this.filed.get(r.provider)
      if (!byKey) {
        byKey = new Map()
        this.filed.set(r.provider, byKey)
      }
      const keyId = r.providerKeyId ?? ''
      let byStart = byKey.get(keyId)
      if (!byStart) {
        byStart = new Map()
        byKey.set(keyId, byStart)
      }
      const list = byStart.get(r.start)
      if (list) list.push(r)
      else byStart.set(r.start, [r])
    }
    this.first = first
    this.last = last
  }

  /**
   * Whether the fresh read has `stored`'s bucket (then the fresh record replaces it); notes
   * whether their content is the same. A later stored copy overrides what an earlier one noted.
   */
  meet(stored: UsageRecord): boolean {
    if (stored.start < this.first || stored.start > this.last) return false
    const list = this.filed
      .get(stored.provider)
      ?.get(stored.providerKeyId ?? '')
      ?.get(stored.start)
    if (!list) return false
    // Every fresh record of the bucket (a read may hold one twice) is compared with it.
    let found = false
    for (const r of list)
      if (sameBucket(r, stored)) {
        // Canonical form: stored records come back with sorted keys, fresh records in the
        // adapter's key order, and the same content must compare equal (sameContent).
        this.met.set(r, sameContent(stored, r))
        found = true
      }
    return found
  }

  /** Forgets every stored record met (a history read that starts over). */
  forget(): void {
    this.met.clear()
  }

  /** The records of `fresh` (all or some of this read's) that are new or changed. */
  changed(fresh: readonly UsageRecord[]): UsageRecord[] {
    return fresh.filter((r) => this.met.get(r) !== true)
  }
}

/**
 * Whether two records have the same canonical JSON, compared field by field: the same fields
 * (an undefined one is no field) with equal primitive values. Anything else (a nested value)
 * is compared by canonical JSON after all.
 */
function sameContent(a: UsageRecord, b: UsageRecord): boolean {
  const x = a as unknown as Record<string, unknown>
  const y = b as unknown as Record<string, unknown>
  let fields = 0
  for (const key in x) {
    const value = x[key]
    if (value === undefined) continue
    fields++
    if (value !== null && typeof value === 'object') return canonicalJson(a) === canonicalJson(b)
    if (value !== y[key]) return false
  }
  for (const key in y) if (y[key] !== undefined) fields--
  return fields === 0
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

import type { Finding } from '../findings.js'
import type { Inventory, KeyEntry, Workflow } from '../../inventory/types.js'
import type { AuditEvent, ProviderKey, UsageRecord } from '../../records.js'

/** Everything the detectors see: values only (DESIGN.md: every step after providers is pure). */
export interface DetectorContext {
  inventory: Inventory
  now: Date
  /** Provider keys listed this run, per provider id; absent where the listing failed. */
  providerKeys: ReadonlyMap<string, readonly ProviderKey[]>
  /** Inventory key id → the provider key it was matched to. */
  matches: ReadonlyMap<string, ProviderKey>
  /** Provider key ids that belong to admin keys (never "unmanaged"). */
  adminProviderKeyIds: ReadonlySet<string>
  /** Usage history and this run's, deduplicated, in time order. */
  usage: readonly UsageRecord[]
  /** Audit events, history and this run's, deduplicated. */
  events: readonly AuditEvent[]
  /** Start of this run's new data: events before it form the baseline. */
  windowStart: Date
  /** Consecutive runs (this one included) in which each provider could not be read. */
  failedRuns: ReadonlyMap<string, number>
  /** SHA-256 of each decrypted inventory key, to spot one secret behind two entries. */
  secretFingerprints: ReadonlyMap<string, string>
  /** Secret files that failed their MAC this run. */
  tampered: readonly { keyId: string; file: string; message: string }[]
  /** `exposed-key` findings of the leak scanner. */
  leaks: readonly Finding[]
}

export interface KeyView {
  id: string
  entry: KeyEntry
  workflow: Workflow | undefined
  /** The provider key id usage is attributed to, once matched. */
  providerKeyId: string | undefined
}

/**
 * Inventory keys with their workflow and matched provider key id. Canary keys are left out
 * unless asked for: any use of one is `canary-used`, and nothing else should speak for it.
 */
export function keyViews(ctx: DetectorContext, options: { canaries?: boolean } = {}): KeyView[] {
  return Object.entries(ctx.inventory.keys)
    .filter(([, entry]) => options.canaries === true || entry.canary !== true)
    .map(([id, entry]) => ({
      id,
      entry,
      workflow: ctx.inventory.workflows[entry.workflow],
      providerKeyId: ctx.matches.get(id)?.providerKeyId,
    }))
}

/** Usage records by provider, then provider key id (nested: no key string built per record). */
const usageIndex = new WeakMap<DetectorContext, Map<string, Map<string, UsageRecord[]>>>()

/** Usage records of one key, from an index built once per context (detectors run per key). */
export function usageOf(ctx: DetectorContext, key: KeyView): readonly UsageRecord[] {
  if (key.providerKeyId === undefined) return []
  let index = usageIndex.get(ctx)
  if (!index) {
    index = new Map()
    for (const u of ctx.usage) {
      if (u.providerKeyId === undefined) continue
      let byKey = index.get(u.provider)
      if (!byKey) {
        byKey = new Map()
        index.set(u.provider, byKey)
      }
      const list = byKey.get(u.providerKeyId)
      if (list) list.push(u)
      else byKey.set(u.providerKeyId, [u])
    }
    usageIndex.set(ctx, index)
  }
  return index.get(key.entry.provider)?.get(key.providerKeyId) ?? []
}

/**
 * One provider key's usage, summarised once per context and shared by the detectors, which
 * would otherwise each re-scan, re-slice and re-parse every record of the history.
 * Every sum adds records in their order in `records`, as a detector's own loop would, so the
 * floating-point results are the same to the last bit.
 */
export interface UsageSeries {
  records: readonly UsageRecord[]
  /** `Date.parse(start)` of each record, by index. */
  startMs: Float64Array
  /** Whether `startMs` never decreases (then the records after a time can be found by search). */
  ordered: boolean
  /** Per UTC day (`start.slice(0, 10)`): cost (`costOf`) and tokens (input + output). */
  days: Map<string, { cost: number; tokens: number }>
  /** The earliest UTC day of `days`, if any. */
  firstDay: string | undefined
  /** Per UTC month (`start.slice(0, 7)`): cost (`costOf`). */
  months: Map<string, number>
  /** Whether any record reports a cost. */
  anyCost: boolean
  /** Math.max over used records (requests or tokens) of `Date.parse(end)`; -Infinity if none. */
  lastUsedEnd: number
}

const seriesIndex = new WeakMap<
  DetectorContext,
  { series: Map<readonly UsageRecord[], UsageSeries>; times: Map<string, number> }
>()

/** The usage series of one key, built at most once per context and provider key. */
export function seriesOf(ctx: DetectorContext, key: KeyView): UsageSeries {
  const records = usageOf(ctx, key)
  let index = seriesIndex.get(ctx)
  if (!index) {
    index = { series: new Map(), times: new Map() }
    seriesIndex.set(ctx, index)
  }
  let series = index.series.get(records)
  if (!series) {
    series = buildSeries(records, index.times)
    // Keys without usage share one empty array: it is not worth a slot.
    if (records.length > 0) index.series.set(records, series)
  }
  return series
}

/**
 * `Date.parse` of a timestamp, remembered in `times`: every key's hourly buckets carry the same
 * few thousand start and end strings.
 */
function parseTime(times: Map<string, number>, at: string): number {
  let ms = times.get(at)
  if (ms === undefined) {
    ms = Date.parse(at)
    times.set(at, ms)
  }
  return ms
}

function buildSeries(records: readonly UsageRecord[], times: Map<string, number>): UsageSeries {
  const startMs = new Float64Array(records.length)
  const days = new Map<string, { cost: number; tokens: number }>()
  let ordered = true
  let anyCost = false
  let firstDay: string | undefined
  let lastUsedEnd = Number.NEGATIVE_INFINITY
  // Records come mostly in time order: reuse the previous record's day and month slots while
  // its day prefix matches (startsWith allocates nothing; slicing per record did), and parse
  // each distinct start once.
  let lastStart: string | undefined
  let dayId = ''
  // Replaced at the first record: an empty `dayId` never counts as a match below.
  let day = { cost: 0, tokens: 0 }
  let month = { cost: 0 }
  const monthSlots = new Map<string, { cost: number }>()
  for (let i = 0; i < records.length; i++) {
    const u = records[i] as UsageRecord
    const cost = costOf(u)
    const tokens = u.inputTokens + u.outputTokens
    if (u.start !== lastStart) {
      lastStart = u.start
      startMs[i] = parseTime(times, u.start)
      // With a 10-character day id, startsWith(dayId) ⇔ start.slice(0, 10) === dayId.
      if (dayId.length !== 10 || !u.start.startsWith(dayId)) {
        dayId = u.start.slice(0, 10)
        const knownDay = days.get(dayId)
        if (knownDay) day = knownDay
        else {
          day = { cost: 0, tokens: 0 }
          days.set(dayId, day)
          if (firstDay === undefined || dayId < firstDay) firstDay = dayId
        }
        const monthId = u.start.slice(0, 7)
        const knownMonth = monthSlots.get(monthId)
        if (knownMonth) month = knownMonth
        else {
          month = { cost: 0 }
          monthSlots.set(monthId, month)
        }
      }
    } else {
      startMs[i] = startMs[i - 1] as number
    }
    if (i > 0 && !((startMs[i] as number) >= (startMs[i - 1] as number))) ordered = false
    day.cost += cost
    day.tokens += tokens
    month.cost += cost
    if (u.costUsd !== undefined) anyCost = true
    if ((u.requests ?? 0) + tokens > 0) lastUsedEnd = Math.max(lastUsedEnd, parseTime(times, u.end))
  }
  const months = new Map<string, number>()
  for (const [id, slot] of monthSlots) months.set(id, slot.cost)
  return { records, startMs, ordered, days, firstDay, months, anyCost, lastUsedEnd }
}

/**
 * The first index whose record may start at or after `ms`: found by binary search when the
 * series is in time order, else 0 (callers still check each record's start).
 */
export function firstIndexFrom(series: UsageSeries, ms: number): number {
  if (!series.ordered) return 0
  let lo = 0
  let hi = series.startMs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((series.startMs[mid] as number) < ms) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Spend of a record: its cost in USD, else nothing. */
export const costOf = (u: UsageRecord): number => u.costUsd ?? 0

/** Who to mention in an issue. */
export function ownerFields(key: KeyView): { workflow?: string; owner?: string; provider: string } {
  return {
    workflow: key.entry.workflow,
    provider: key.entry.provider,
    ...(key.workflow?.owner ? { owner: key.workflow.owner } : {}),
  }
}

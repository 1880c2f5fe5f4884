import type { Finding } from '../findings.js'
import type { Inventory, KeyEntry, Workflow } from '../../inventory/types.js'
import type { AuditEvent, ProviderKey, UsageRecord } from '../../records.js'
import { DAY_MS, utcMonth } from '../time.js'
import type { DaySums, KeyDays, UsageDays } from '../usage-days.js'

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
  /** `provider\u0000providerKeyId` of keys a rotation in progress accounts for (minted, or retiring). */
  rotatingProviderKeys?: ReadonlySet<string>
  /**
   * Usage history and this run's, deduplicated, each provider key's records in time order; with
   * `earlier`, only the days from `earlier.through` on.
   */
  usage: readonly UsageRecord[]
  /**
   * The history's earlier days, carried between runs as daily sums (analysis/usage-days.ts);
   * absent when `usage` holds the whole history. Its `through` is never after the UTC day of
   * `rawStart(inventory, windowStart)` (window.ts).
   */
  earlier?: UsageDays
  /** Audit events, history and this run's, deduplicated (with `earlier`, the ones after it). */
  events: readonly AuditEvent[]
  /** Start of this run's new data, which event detectors judge (window.ts); before it, baseline. */
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
 * floating-point results are the same to the last bit; with `earlier`, its days come summed
 * and its month so far is carried as the running sum it was, so they are the same again.
 */
export interface UsageSeries {
  /** The raw records: the whole history, or with `earlier` the days from its `through` on. */
  records: readonly UsageRecord[]
  /** `Date.parse(start)` of each record, by index. */
  startMs: Float64Array
  /** Whether `startMs` never decreases (then the records after a time can be found by search). */
  ordered: boolean
  /** Whether the key has any usage record in the history, raw or summed. */
  hasUsage: boolean
  /**
   * Per UTC day (`start.slice(0, 10)`) of the raw records: cost (`costOf`) and tokens (input +
   * output). Read a day through costOn() and tokensOn(), which also look in `carried`.
   */
  days: Map<string, { cost: number; tokens: number }>
  /** The carried days' sums (`DetectorContext.earlier`), none of them a day of `days`. */
  carried: { days: readonly (DaySums | null)[]; calendar: CarriedCalendar } | undefined
  /** The earliest UTC day with usage, raw or carried, if any. */
  firstDay: string | undefined
  /** Cost (`costOf`) of the UTC month of `ctx.now` so far. */
  monthToDate: number
  /** Whether any record reports a cost. */
  anyCost: boolean
  /** Math.max over used records (requests or tokens) of `Date.parse(end)`; -Infinity if none. */
  lastUsedEnd: number
  /** Math.min over used records of `Date.parse(start)`; Infinity if none. */
  firstUsedStart: number
}

/** The carried days' ids and midnights, by index, and each id's index (the same for all keys). */
interface CarriedCalendar {
  ids: readonly string[]
  index: ReadonlyMap<string, number>
  fromMs: number
}

const seriesIndex = new WeakMap<
  DetectorContext,
  {
    series: Map<string, Map<string, UsageSeries>>
    times: Map<string, number>
    month: string
    calendar: CarriedCalendar
  }
>()

function carriedCalendar(earlier: UsageDays | undefined): CarriedCalendar {
  const ids: string[] = []
  const index = new Map<string, number>()
  if (!earlier) return { ids, index, fromMs: 0 }
  const fromMs = Date.parse(`${earlier.from}T00:00:00.000Z`)
  const throughMs = Date.parse(`${earlier.through}T00:00:00.000Z`)
  for (let ms = fromMs; ms < throughMs; ms += DAY_MS) {
    const id = new Date(ms).toISOString().slice(0, 10)
    index.set(id, ids.length)
    ids.push(id)
  }
  return { ids, index, fromMs }
}

const NO_RECORDS: readonly UsageRecord[] = []

/** The usage series of one key, built at most once per context and provider key. */
export function seriesOf(ctx: DetectorContext, key: KeyView): UsageSeries {
  let index = seriesIndex.get(ctx)
  if (!index) {
    index = {
      series: new Map(),
      times: new Map(),
      month: utcMonth(ctx.now),
      calendar: carriedCalendar(ctx.earlier),
    }
    seriesIndex.set(ctx, index)
  }
  const keyId = key.providerKeyId
  if (keyId === undefined)
    return buildSeries(NO_RECORDS, index.times, undefined, index.month, index.calendar)
  let byKey = index.series.get(key.entry.provider)
  if (!byKey) {
    byKey = new Map()
    index.series.set(key.entry.provider, byKey)
  }
  let series = byKey.get(keyId)
  if (!series) {
    const earlier = ctx.earlier?.keys.get(key.entry.provider)?.get(keyId)
    series = buildSeries(usageOf(ctx, key), index.times, earlier, index.month, index.calendar)
    byKey.set(keyId, series)
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

function buildSeries(
  records: readonly UsageRecord[],
  times: Map<string, number>,
  earlier: KeyDays | undefined,
  monthId: string,
  calendar: CarriedCalendar,
): UsageSeries {
  const startMs = new Float64Array(records.length)
  // The carried days all lie before the raw records' first day; they are looked up in place.
  const days = new Map<string, { cost: number; tokens: number }>()
  const carried = earlier && { days: earlier.days, calendar }
  let anyCost = false
  let firstDay: string | undefined
  let lastUsedEnd = Number.NEGATIVE_INFINITY
  let firstUsedStart = Number.POSITIVE_INFINITY
  let monthToDate = 0
  if (earlier) {
    for (let i = 0; i < earlier.days.length; i++) {
      const sums = earlier.days[i]
      if (!sums) continue
      firstDay ??= calendar.ids[i]
      if (sums[0] !== null) anyCost = true
      const firstUsed = sums[2]
      if (firstUsed !== undefined && calendar.fromMs + i * DAY_MS + firstUsed < firstUsedStart)
        firstUsedStart = calendar.fromMs + i * DAY_MS + firstUsed
    }
    monthToDate = earlier.months.get(monthId) ?? 0
    if (earlier.lastUsed) lastUsedEnd = earlier.lastUsed.end
  }
  let ordered = true
  // Records come mostly in time order: reuse the previous record's day slot while its day
  // prefix matches (startsWith allocates nothing; slicing per record did), and parse each
  // distinct start once.
  let lastStart: string | undefined
  let dayId = ''
  // Replaced at the first record: an empty `dayId` never counts as a match below.
  let day = { cost: 0, tokens: 0 }
  let inMonth = false
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
        inMonth = u.start.startsWith(monthId)
      }
    } else {
      startMs[i] = startMs[i - 1] as number
    }
    if (i > 0 && !((startMs[i] as number) >= (startMs[i - 1] as number))) ordered = false
    day.cost += cost
    day.tokens += tokens
    if (inMonth) monthToDate += cost
    if (u.costUsd !== undefined) anyCost = true
    if ((u.requests ?? 0) + tokens > 0) {
      lastUsedEnd = Math.max(lastUsedEnd, parseTime(times, u.end))
      const start = startMs[i] as number
      if (start < firstUsedStart) firstUsedStart = start
    }
  }
  return {
    records,
    startMs,
    ordered,
    hasUsage: records.length > 0 || (carried?.days.length ?? 0) > 0,
    days,
    carried,
    firstDay,
    monthToDate,
    anyCost,
    lastUsedEnd,
    firstUsedStart,
  }
}

/** A day's cost (`costOf` summed), raw or carried; 0 for a day without records. */
export function costOn(series: UsageSeries, day: string): number {
  const raw = series.days.get(day)
  if (raw) return raw.cost
  const sums = carriedOn(series, day)
  return sums ? (sums[0] ?? 0) : 0
}

/** A day's tokens (input + output), raw or carried; 0 for a day without records. */
export function tokensOn(series: UsageSeries, day: string): number {
  const raw = series.days.get(day)
  if (raw) return raw.tokens
  return carriedOn(series, day)?.[1] ?? 0
}

function carriedOn(series: UsageSeries, day: string): DaySums | null | undefined {
  const carried = series.carried
  if (!carried) return undefined
  const i = carried.calendar.index.get(day)
  return i === undefined ? undefined : carried.days[i]
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

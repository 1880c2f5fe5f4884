import type { AuditEvent, UsageRecord } from '../records.js'
import { mergeEvents, mergeUsageByKey, type UsageByKey } from './fetch-window.js'
import { DAY_MS, localTime, localTimes, withinHours } from './time.js'
import { isRecord } from '../is-record.js'

/**
 * What an audit carries from one run to the next so that it need not read back and re-add the
 * whole history (issue 5): per provider key, the daily sums the detectors read for the days
 * before the raw window, the cost of each month so far, the key's last use and the IPs of its
 * audit events. The detectors see these days through the same series as raw records
 * (detectors/context.ts), and the series is the same wherever the split falls: each day is
 * summed whole on one side, in the same record order, and a month's cost is carried as the
 * running sum it was, never re-added from days. Pure.
 *
 * Kept in `audit/state.json` as `usage_days` (see toUsageDaysJson); each new one's SHA-256 is
 * written into the snapshot of the run that made it, so a changed copy is caught on the next
 * run and rebuilt from the snapshots (src/commands/audit-history.ts).
 */

/** 2: the digest covers the text state.json holds (commands/audit-state.ts), not canonical JSON. */
export const USAGE_DAYS_VERSION = 2

/**
 * One UTC day of one provider key, as audit/state.json holds it: `[cost, tokens]`, plus
 * `firstUsed` when a record of the day was use. `cost` is Σ (costUsd ?? 0) over the day's
 * records in series order, or null when none of them reported a cost; `tokens` is
 * Σ (inputTokens + outputTokens); `firstUsed` the earliest used start, in milliseconds after
 * the day's midnight. Kept in this form in memory too: an hourly run reads 40 days of every key
 * and turning each into an object of its own cost the run more than reading them.
 */
export type DaySums =
  [cost: number | null, tokens: number] | [cost: number | null, tokens: number, firstUsed: number]

export interface KeyDays {
  /** Day `UsageDays.from` + i → its sums, or null for a day without records; no trailing nulls. */
  days: (DaySums | null)[]
  /** UTC month (`YYYY-MM`) → Σ cost over its records so far, added record by record. */
  months: Map<string, number>
  /** The latest start and the latest end (ms) of a used record; undefined: none. */
  lastUsed: { start: number; end: number } | undefined
  /** IP of an audit event made with the key → the latest snapshot time (ms) that recorded one. */
  ips: Map<string, number>
  /** Its off-hours use on the local day in progress when the carried days end, if any. */
  offHours?: OffHoursDay
}

/**
 * Off-hours use of a key on one local day, from the day's start up to the carried days' end:
 * `off-hours` counts a local day whole (detectors/window.ts), and in a timezone east of UTC a
 * day starts before the UTC midnight the carried days end at. Carrying these few numbers lets
 * an hourly run hold raw only the records from that midnight on, not from the local one.
 * Counted as the detector counts: used records whose local start is outside the active hours.
 */
export interface OffHoursDay {
  /** The workflow's timezone and active_hours it was counted under. */
  zone: string
  hours: string
  /** The local date (`YYYY-MM-DD` in `zone`). */
  date: string
  buckets: number
  requests: number
  tokens: number
  /** The earliest start of an off-hours use that day, as its record wrote it. */
  first: string
}

/** How `off-hours` judges a provider key: its workflow's timezone and active hours (minutes). */
export interface OffHoursRule {
  zone: string
  hours: string
  start: number
  end: number
}

export interface UsageDays {
  /** The first UTC day of the history: nothing older is kept; day 0 of every key's `days`. */
  from: string
  /** The first UTC day not summed here: records from this day on stay raw. */
  through: string
  /** Provider → provider key id → what its days add up to. */
  keys: Map<string, Map<string, KeyDays>>
  /** Rotation pull requests recorded by the snapshots summed here → the snapshot's time (ms). */
  rotations: Map<number, number>
}

/** A snapshot read back: its time, its audit events and the rotations it recorded. */
export interface SnapshotHistory {
  atMs: number
  events: readonly AuditEvent[]
  rotations: readonly number[]
}

export const dayStartMs = (day: string): number => Date.parse(`${day}T00:00:00.000Z`)
const dayOfMs = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

/** Nothing carried: everything from `from` on is raw. */
export function emptyUsageDays(from: string): UsageDays {
  return { from, through: from, keys: new Map(), rotations: new Map() }
}

/** Whether a usage record counts as use (as the idle, canary and rotation checks count it). */
export const isUsed = (u: UsageRecord): boolean =>
  (u.requests ?? 0) + u.inputTokens + u.outputTokens > 0

export interface CarryInput {
  /** What the last run carried (or emptyUsageDays(from) for a full read). */
  base: UsageDays
  /** Usage read back from the snapshots after `base.through`, oldest snapshot first. */
  history: readonly UsageRecord[]
  /** This run's read. */
  fresh: readonly UsageRecord[]
  /** The snapshots `history` came from, oldest first. */
  snapshots: readonly SnapshotHistory[]
  /** This run's audit events. */
  freshEvents: readonly AuditEvent[]
  /** The first day of the history (HISTORY_DAYS back): older days are dropped. */
  from: string
  /** The first day to leave raw: the UTC day of the detectors' window start. */
  through: string
  /** Provider → provider key id → how off-hours judges it (keys without active hours absent). */
  offHours?: ReadonlyMap<string, ReadonlyMap<string, OffHoursRule>>
}

export interface CarryOutput {
  /** The days before `usage` starts, for DetectorContext.earlier. */
  earlier: UsageDays
  /** Attributed usage from `earlier.through` on, each key's records in series order. */
  usage: UsageRecord[]
  /** Audit events not summed into `earlier` (later snapshots and this run), deduplicated. */
  events: AuditEvent[]
  /** Every rotation recorded in the history. */
  rotations: Set<number>
  /**
   * What to carry to the next run: `earlier`, unless a record does not fit a day-by-day summary
   * (see fold); then nothing, and the next run reads the history again.
   */
  carry: UsageDays | undefined
}

/**
 * Moves the days before `through` from raw records into the carried sums, and drops the days
 * before `from`. The detectors then read `earlier` and `usage`; either way of reading the same
 * history (all of it raw, or carried plus the window) gives the same series.
 */
export function carryForward(input: CarryInput): CarryOutput {
  const { base, from } = input
  if (input.through < base.through)
    throw new Error(`the window starts on ${input.through}, before the carried ${base.through}`)
  const through = input.through
  const throughMs = dayStartMs(through)
  // Records before the day the raw records start are left out as they are merged.
  const merged = mergeUsageByKey(
    input.history,
    input.fresh,
    from > base.through ? from : base.through,
  )
  // Nothing is older than `from` when the carried days start there (an hourly run's case):
  // then they are shared as they are, and each key's sums copied only where this run adds to
  // them (most hours add nothing: copying every key's days was much of an hourly run's garbage).
  const kept = from > base.from ? pruned(base, from) : base
  const next = sharedDays(kept)
  const times: Times = { parsed: new Map(), days: new Map(), fromMs: dayStartMs(next.from) }
  let fits = true
  const usage: UsageRecord[] = []
  // Each key's records summed into the days (the first `split` of its list), for offHoursDays.
  const folded = new Map<readonly UsageRecord[], number>()
  for (const [provider, byKey] of merged) {
    for (const [keyId, records] of byKey) {
      // Records are in time order: the first one from `through` on is found by binary search.
      let split = 0
      let hi = records.length
      while (split < hi) {
        const mid = (split + hi) >>> 1
        if ((records[mid] as UsageRecord).start < through) split = mid + 1
        else hi = mid
      }
      const key = split > 0 && fits ? ownKeyDays(next, provider, keyId) : undefined
      if (key && !fold(key, records, split, times, fromMonthOf(from))) fits = false
      if (split > 0) folded.set(records, split)
      for (let i = split; i < records.length; i++) usage.push(records[i] as UsageRecord)
    }
  }
  const rotations = new Set<number>(kept.rotations.keys())
  const laterEvents: AuditEvent[] = []
  const fromMs = dayStartMs(from)
  const snapshots = input.snapshots.filter((snapshot) => snapshot.atMs >= fromMs)
  for (const snapshot of snapshots) {
    for (const pr of snapshot.rotations) rotations.add(pr)
    if (snapshot.atMs > throughMs) {
      for (const e of snapshot.events) laterEvents.push(e)
      continue
    }
    for (const pr of snapshot.rotations)
      next.rotations.set(pr, Math.max(next.rotations.get(pr) ?? 0, snapshot.atMs))
    for (const e of snapshot.events) {
      // An event summed here must lie before every later window start.
      if (!(Date.parse(e.at) < throughMs)) fits = false
      if (e.providerKeyId === undefined || !e.ip) continue
      const ips = ownKeyDays(next, e.provider, e.providerKeyId).ips
      ips.set(e.ip, Math.max(ips.get(e.ip) ?? 0, snapshot.atMs))
    }
  }
  if (fits && through !== base.through && input.offHours)
    offHoursDays(next, input.offHours, merged, folded, throughMs)
  if (fits) {
    const carried: UsageDays = {
      from: next.from,
      through,
      keys: next.keys,
      rotations: next.rotations,
    }
    return {
      earlier: carried,
      usage,
      events: mergeEvents(laterEvents, input.freshEvents),
      rotations,
      carry: carried,
    }
  }
  // A record that does not fit: the days carried so far stay as they were, the rest raw.
  const raw: UsageRecord[] = []
  for (const byKey of merged.values())
    for (const records of byKey.values()) for (const r of records) raw.push(r)
  const allEvents: AuditEvent[] = []
  for (const snapshot of snapshots) for (const e of snapshot.events) allEvents.push(e)
  return {
    earlier: kept,
    usage: raw,
    events: mergeEvents(allEvents, input.freshEvents),
    rotations,
    carry: undefined,
  }
}

/** Carried days that may be added to: `days`' maps copied, each key's sums still shared. */
interface SharedDays extends UsageDays {
  /** The keys whose sums are this copy's own (copied from `days` or new). */
  owned: Set<KeyDays>
}

function sharedDays(days: UsageDays): SharedDays {
  const keys = new Map<string, Map<string, KeyDays>>()
  for (const [provider, byKey] of days.keys) keys.set(provider, new Map(byKey))
  return { ...days, keys, rotations: new Map(days.rotations), owned: new Set() }
}

/** A key's sums to add to: its own copy in `days`, made on first use. */
function ownKeyDays(days: SharedDays, provider: string, keyId: string): KeyDays {
  let byKey = days.keys.get(provider)
  if (!byKey) {
    byKey = new Map()
    days.keys.set(provider, byKey)
  }
  const shared = byKey.get(keyId)
  if (shared && days.owned.has(shared)) return shared
  const key: KeyDays = shared
    ? {
        days: shared.days.slice(),
        months: new Map(shared.months),
        lastUsed: shared.lastUsed && { ...shared.lastUsed },
        ips: new Map(shared.ips),
        ...(shared.offHours ? { offHours: shared.offHours } : {}),
      }
    : { days: [], months: new Map(), lastUsed: undefined, ips: new Map() }
  byKey.set(keyId, key)
  days.owned.add(key)
  return key
}

/**
 * Moves each key's off-hours day to the carried days' new end: the local day in progress at
 * `throughMs` in its zone, counted from what the key carried for that day (when it was counted
 * under the same rule) plus the records just summed. Records are in start order, so only the
 * last ones are looked at. A key whose rule changed or went away drops what it carried.
 */
function offHoursDays(
  next: SharedDays,
  rules: ReadonlyMap<string, ReadonlyMap<string, OffHoursRule>>,
  merged: UsageByKey,
  folded: ReadonlyMap<readonly UsageRecord[], number>,
  throughMs: number,
): void {
  const localOf = localTimes()
  const dates = new Map<string, string | undefined>()
  const dateIn = (zone: string) => {
    if (!dates.has(zone)) {
      let date: string | undefined
      try {
        date = localTime(new Date(throughMs - 1), zone).date
      } catch {
        date = undefined // not a timezone (validate reports it): the detector cannot judge it
      }
      dates.set(zone, date)
    }
    return dates.get(zone)
  }
  for (const [provider, byKey] of next.keys)
    for (const [keyId, key] of byKey)
      if (key.offHours && !rules.get(provider)?.has(keyId))
        delete ownKeyDays(next, provider, keyId).offHours
  for (const [provider, byKey] of rules)
    for (const [keyId, rule] of byKey) {
      const date = dateIn(rule.zone)
      const old = next.keys.get(provider)?.get(keyId)?.offHours
      // Only a local day that holds both the old and the new end continues (a day longer than
      // 24 hours that starts less than an hour before a UTC midnight): else it starts after the
      // old end, and the records just summed hold all of it before the new one.
      const same = old && old.zone === rule.zone && old.hours === rule.hours && old.date === date
      let day = same ? { ...old } : undefined
      const records = merged.get(provider)?.get(keyId) ?? []
      for (let i = (folded.get(records) ?? 0) - 1; i >= 0 && date !== undefined; i--) {
        const u = records[i] as UsageRecord
        const tokens = u.inputTokens + u.outputTokens
        if ((u.requests ?? 0) + tokens === 0) continue
        const local = localOf(u.start, rule.zone)
        if (local.date < date) break
        if (local.date !== date || withinHours(local.minutes, rule.start, rule.end)) continue
        day ??= { ...rule, date, buckets: 0, requests: 0, tokens: 0, first: u.start }
        day.buckets++
        day.requests += u.requests ?? 0
        day.tokens += tokens
        if (u.start < day.first) day.first = u.start
      }
      if (day === undefined && old === undefined) continue
      const key = ownKeyDays(next, provider, keyId)
      if (day) {
        const { zone, hours, buckets, requests, tokens, first } = day
        key.offHours = { zone, hours, date: day.date, buckets, requests, tokens, first }
      } else delete key.offHours
    }
}

/**
 * Adds the first `count` of a key's records (series order) to its sums, as buildSeries adds
 * them: a day's sums start at 0 and take its records one by one. False when a record does not
 * fit a summary that later runs can trust to answer as the records would: a sum that is not
 * finite (JSON has no NaN), or a used record that ends before it starts or after the next UTC
 * midnight (dropping whole days must drop its end too).
 */
function fold(
  key: KeyDays,
  records: readonly UsageRecord[],
  count: number,
  times: Times,
  fromMonth: string,
): boolean {
  // The day being summed, in locals (no closure captures them: they stay in registers), written
  // as a new DaySums when the day changes. Records are in start order, so a start before the
  // next day's id (text order) is on this day: one comparison, no call.
  let dayId = ''
  let nextDay = ''
  let dayStart = 0
  let dayIndex = 0
  let cost = 0
  let tokens = 0
  let costed = false
  let firstUsed = Number.POSITIVE_INFINITY
  let monthId = ''
  let month = 0
  let lastStart = key.lastUsed?.start ?? Number.NEGATIVE_INFINITY
  let lastEnd = key.lastUsed?.end ?? Number.NEGATIVE_INFINITY
  for (let i = 0; i < count; i++) {
    const u = records[i] as UsageRecord
    // Whether the start is in timeOfDay's text range, from the day's id to the next day's: one
    // that does not begin a new day is before the next day's id (just compared) and, records
    // being in start order, not before the day's first start, which begins with the day's id.
    let startOnDay = true
    if (!(u.start < nextDay) || dayId === '') {
      if (dayId !== '' && !store(key, dayIndex, dayStart, cost, tokens, costed, firstUsed))
        return false
      const day = dayOf(times, u.start)
      dayId = day.id
      dayStart = day.start
      dayIndex = day.index
      nextDay = day.next
      const known = key.days[dayIndex]
      const knownCost = known?.[0] ?? null
      const knownFirst = known?.[2]
      cost = knownCost ?? 0
      tokens = known?.[1] ?? 0
      costed = knownCost !== null
      firstUsed = knownFirst === undefined ? Number.POSITIVE_INFINITY : dayStart + knownFirst
      const monthOfDay = day.month
      if (monthOfDay !== monthId) {
        if (monthId >= fromMonth) key.months.set(monthId, month)
        monthId = monthOfDay
        month = key.months.get(monthId) ?? 0
      }
      // This start begins with the day's id, so it is not before it.
      startOnDay = u.start < nextDay
    }
    const recordCost = u.costUsd ?? 0
    const recordTokens = u.inputTokens + u.outputTokens
    cost += recordCost
    tokens += recordTokens
    month += recordCost
    if (u.costUsd !== undefined) costed = true
    if ((u.requests ?? 0) + recordTokens > 0) {
      const start =
        (startOnDay ? clockOnDay(u.start, dayStart) : undefined) ?? parseTime(times.parsed, u.start)
      const end = timeOfDay(u.end, dayId, nextDay, dayStart) ?? parseTime(times.parsed, u.end)
      if (!(end >= start) || !(end <= dayStart + DAY_MS)) return false
      if (start < firstUsed) firstUsed = start
      if (start > lastStart) lastStart = start
      if (end > lastEnd) lastEnd = end
    }
  }
  if (dayId !== '' && !store(key, dayIndex, dayStart, cost, tokens, costed, firstUsed)) return false
  if (monthId !== '' && monthId >= fromMonth) key.months.set(monthId, month)
  if (lastStart > Number.NEGATIVE_INFINITY) key.lastUsed = { start: lastStart, end: lastEnd }
  return true
}

/**
 * A day's sums, made whole (an entry is never added to later); false when they are not finite
 * or the day is not one of the carried days (a start that is not a time, or before `from`).
 */
function store(
  key: KeyDays,
  index: number,
  midnight: number,
  cost: number,
  tokens: number,
  costed: boolean,
  firstUsed: number,
): boolean {
  if (!Number.isFinite(cost) || !Number.isFinite(tokens)) return false
  if (!Number.isInteger(index) || index < 0) return false
  while (key.days.length < index) key.days.push(null)
  key.days[index] =
    firstUsed === Number.POSITIVE_INFINITY
      ? [costed ? cost : null, tokens]
      : [costed ? cost : null, tokens, firstUsed - midnight]
  return true
}

/** Caches of one carryForward: times parsed (parseDay, parseTime) and days (dayOf). */
interface Times {
  parsed: Map<string, number>
  days: Map<string, Day>
  /** Midnight of the carried days' `from`: day 0 of every key's `days`. */
  fromMs: number
}

/**
 * What fold needs to start a day, worked out once per day id rather than once per key and day,
 * and one id string shared by all keys (each key's day sums are filed under it).
 */
interface Day {
  /** The first ten characters of the starts: a `YYYY-MM-DD` day id unless malformed. */
  id: string
  /** parseDay of `id`. */
  start: number
  /** Its index in a key's `days` (NaN when `id` does not parse). */
  index: number
  /** The id of the next day, or '' when `id` does not parse. */
  next: string
  /** The first seven characters of the starts: their month id. */
  month: string
}

function dayOf(times: Times, start: string): Day {
  const id = start.slice(0, 10)
  let day = times.days.get(id)
  if (day === undefined) {
    const ms = parseDay(times.parsed, id)
    day = {
      id,
      start: ms,
      index: Math.round((ms - times.fromMs) / DAY_MS),
      next: Number.isFinite(ms) ? dayOfMs(ms + DAY_MS) : '',
      month: id.slice(0, 7),
    }
    times.days.set(id, day)
  }
  return day
}

/**
 * `Date.parse` of a `YYYY-MM-DDTHH:MM:SS.sssZ` time on `day` (which starts at `midnight`): the
 * form toISOString writes and adapters store, read from its digits; undefined for any other
 * form or day.
 */
function timeOfDay(at: string, day: string, nextDay: string, midnight: number): number | undefined {
  // On `day` (its id and then "T"): in text order from the day's id up to the next day's.
  return at >= day && at < nextDay ? clockOnDay(at, midnight) : undefined
}

/** timeOfDay for a time known to lie on the day that starts at `midnight`. */
function clockOnDay(at: string, midnight: number): number | undefined {
  if (at.length !== 24 || at.charCodeAt(10) !== 84 || at.charCodeAt(23) !== 90) return undefined
  if (at.charCodeAt(13) !== 58 || at.charCodeAt(16) !== 58 || at.charCodeAt(19) !== 46)
    return undefined
  const h1 = at.charCodeAt(11) - 48
  const h2 = at.charCodeAt(12) - 48
  const m1 = at.charCodeAt(14) - 48
  const m2 = at.charCodeAt(15) - 48
  const s1 = at.charCodeAt(17) - 48
  const s2 = at.charCodeAt(18) - 48
  const f1 = at.charCodeAt(20) - 48
  const f2 = at.charCodeAt(21) - 48
  const f3 = at.charCodeAt(22) - 48
  if (!(h1 >= 0 && h2 >= 0 && h2 <= 9 && m1 >= 0 && m1 <= 5 && m2 >= 0 && m2 <= 9)) return undefined
  if (!(s1 >= 0 && s1 <= 5 && s2 >= 0 && s2 <= 9)) return undefined
  if (!(f1 >= 0 && f1 <= 9 && f2 >= 0 && f2 <= 9 && f3 >= 0 && f3 <= 9)) return undefined
  const hours = h1 * 10 + h2
  if (hours >= 24) return undefined
  const minutes = m1 * 10 + m2
  const seconds = s1 * 10 + s2
  return midnight + ((hours * 60 + minutes) * 60 + seconds) * 1000 + f1 * 100 + f2 * 10 + f3
}

/** dayStartMs, remembered in the same map (a day id is never a timestamp). */
function parseDay(times: Map<string, number>, day: string): number {
  let ms = times.get(day)
  if (ms === undefined) {
    ms = dayStartMs(day)
    times.set(day, ms)
  }
  return ms
}

/** `Date.parse`, remembered: a key's hourly buckets share a few thousand start and end strings. */
function parseTime(times: Map<string, number>, at: string): number {
  let ms = times.get(at)
  if (ms === undefined) {
    ms = Date.parse(at)
    times.set(at, ms)
  }
  return ms
}

/**
 * A copy without what lies before `from`: days, months that began before it, a last use (and
 * with it every use: see fold) before it, and IPs and rotations of snapshots before it. Lists
 * and maps are copies the caller may add to; day sums are shared (fold replaces, never adds to,
 * an entry).
 */
function pruned(days: UsageDays, from: string): UsageDays {
  const fromMs = dayStartMs(from)
  const shift = Math.round((fromMs - dayStartMs(days.from)) / DAY_MS)
  const fromMonth = fromMonthOf(from)
  const keys = new Map<string, Map<string, KeyDays>>()
  for (const [provider, byKey] of days.keys) {
    const copy = new Map<string, KeyDays>()
    for (const [keyId, key] of byKey) {
      // Day i of the copy is day i + shift of the original.
      const days = shift > 0 ? key.days.slice(shift) : key.days.slice()
      const kept: KeyDays = {
        days: days.some((d) => d !== null) ? days : [],
        months: new Map(),
        lastUsed: key.lastUsed && key.lastUsed.start >= fromMs ? { ...key.lastUsed } : undefined,
        ips: new Map(),
        ...(key.offHours ? { offHours: key.offHours } : {}),
      }
      for (const [month, cost] of key.months) if (month >= fromMonth) kept.months.set(month, cost)
      for (const [ip, at] of key.ips) if (at >= fromMs) kept.ips.set(ip, at)
      if (kept.days.length > 0 || kept.ips.size > 0 || kept.lastUsed || kept.offHours)
        copy.set(keyId, kept)
    }
    if (copy.size > 0) keys.set(provider, copy)
  }
  return {
    from: from > days.from ? from : days.from,
    through: days.through > from ? days.through : from,
    keys,
    rotations: new Map([...days.rotations].filter(([, at]) => at >= fromMs)),
  }
}

/** The first month whole from `from` on: months that began earlier are not carried. */
const fromMonthOf = (from: string) => (from.endsWith('-01') ? from.slice(0, 7) : nextMonthOf(from))

/** `YYYY-MM` of the month after the one `day` falls in. */
function nextMonthOf(day: string): string {
  const year = Number(day.slice(0, 4))
  const month = Number(day.slice(5, 7))
  return month === 12 ? `${year + 1}-01` : `${String(year)}-${String(month + 1).padStart(2, '0')}`
}

// --- JSON form, as kept in audit/state.json ------------------------------------------------

/** One key in JSON: `days` as KeyDays holds them. Times are milliseconds since the epoch. */
export interface KeyDaysJson {
  days?: (DaySums | null)[]
  months?: Record<string, number>
  last_used?: [number, number]
  ips?: Record<string, number>
  off_hours?: OffHoursDay
}

export interface UsageDaysJson {
  version: typeof USAGE_DAYS_VERSION
  from: string
  through: string
  keys: Record<string, Record<string, KeyDaysJson>>
  rotations: Record<string, number>
}

export function toUsageDaysJson(days: UsageDays): UsageDaysJson {
  const keys: Record<string, Record<string, KeyDaysJson>> = {}
  for (const [provider, byKey] of days.keys) {
    const out: Record<string, KeyDaysJson> = {}
    for (const [keyId, key] of byKey) {
      const json: KeyDaysJson = {}
      if (key.days.length > 0) json.days = key.days.slice()
      if (key.months.size > 0) json.months = Object.fromEntries(key.months)
      if (key.lastUsed) json.last_used = [key.lastUsed.start, key.lastUsed.end]
      if (key.ips.size > 0) json.ips = Object.fromEntries(key.ips)
      if (key.offHours) json.off_hours = { ...key.offHours }
      if (Object.keys(json).length > 0) out[keyId] = json
    }
    if (Object.keys(out).length > 0) keys[provider] = out
  }
  return {
    version: USAGE_DAYS_VERSION,
    from: days.from,
    through: days.through,
    keys,
    rotations: Object.fromEntries([...days.rotations].map(([pr, at]) => [String(pr), at])),
  }
}

const DAY_ID = /^\d{4}-\d{2}-\d{2}$/
const MONTH_ID = /^\d{4}-\d{2}$/
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The carried days from their JSON form; undefined for anything but what toUsageDaysJson writes. */
export function fromUsageDaysJson(value: unknown): UsageDays | undefined {
  if (!isRecord(value) || value.version !== USAGE_DAYS_VERSION) return undefined
  const { from, through, keys, rotations } = value
  if (typeof from !== 'string' || !DAY_ID.test(from) || Number.isNaN(dayStartMs(from)))
    return undefined
  if (typeof through !== 'string' || !DAY_ID.test(through) || through < from) return undefined
  if (Number.isNaN(dayStartMs(through)) || !isRecord(keys) || !isRecord(rotations)) return undefined
  const dayCount = Math.round((dayStartMs(through) - dayStartMs(from)) / DAY_MS)
  const out = emptyUsageDays(from)
  out.through = through
  for (const [provider, byKey] of Object.entries(keys)) {
    if (!isRecord(byKey)) return undefined
    const parsed = new Map<string, KeyDays>()
    for (const [keyId, json] of Object.entries(byKey)) {
      const key = keyDaysFromJson(json, dayCount)
      if (!key) return undefined
      parsed.set(keyId, key)
    }
    out.keys.set(provider, parsed)
  }
  for (const [pr, at] of Object.entries(rotations)) {
    const number = Number(pr)
    if (!Number.isSafeInteger(number) || !isNumber(at)) return undefined
    out.rotations.set(number, at)
  }
  return out
}

function keyDaysFromJson(json: unknown, dayCount: number): KeyDays | undefined {
  if (!isRecord(json)) return undefined
  const key: KeyDays = { days: [], months: new Map(), lastUsed: undefined, ips: new Map() }
  if (json.days !== undefined) {
    const days: unknown = json.days
    // Checked where they lie and kept as they are (KeyDays holds the JSON form): only days
    // before `through`, and no trailing null.
    if (!Array.isArray(days) || days.length > dayCount || days.at(-1) === null) return undefined
    for (let i = 0; i < days.length; i++) {
      const entry: unknown = days[i]
      if (entry === null) continue
      if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) return undefined
      // By index, not by destructuring, which goes through the array iterator (once per key and
      // day of the carried history, read by every hourly run).
      const cost: unknown = entry[0]
      if (!(cost === null || isNumber(cost)) || !isNumber(entry[1])) return undefined
      if (entry.length === 3 && !isNumber(entry[2])) return undefined
    }
    key.days = days as (DaySums | null)[]
  }
  if (json.months !== undefined) {
    if (!isRecord(json.months)) return undefined
    for (const [month, cost] of Object.entries(json.months)) {
      if (!MONTH_ID.test(month) || !isNumber(cost)) return undefined
      key.months.set(month, cost)
    }
  }
  if (json.last_used !== undefined) {
    const last = json.last_used
    if (!Array.isArray(last) || last.length !== 2 || !isNumber(last[0]) || !isNumber(last[1]))
      return undefined
    key.lastUsed = { start: last[0], end: last[1] }
  }
  if (json.ips !== undefined) {
    if (!isRecord(json.ips)) return undefined
    for (const [ip, at] of Object.entries(json.ips)) {
      if (!isNumber(at)) return undefined
      key.ips.set(ip, at)
    }
  }
  if (json.off_hours !== undefined) {
    const day = offHoursFromJson(json.off_hours)
    if (!day) return undefined
    key.offHours = day
  }
  return key
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0

function offHoursFromJson(value: unknown): OffHoursDay | undefined {
  if (!isRecord(value)) return undefined
  const { zone, hours, date, buckets, requests, tokens, first } = value
  if (typeof zone !== 'string' || typeof hours !== 'string' || typeof first !== 'string')
    return undefined
  if (typeof date !== 'string' || !DAY_ID.test(date)) return undefined
  if (!isCount(buckets) || buckets < 1 || !isCount(requests) || !isCount(tokens)) return undefined
  return { zone, hours, date, buckets, requests, tokens, first }
}

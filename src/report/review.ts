import type { SpendRow } from './dashboard.js'
import { parse } from 'yaml'
import { median } from '../analysis/baseline.js'
import { DAY_MS, localTime, withinHours } from '../analysis/time.js'
import { parseDuration } from '../inventory/duration.js'
import { parseActiveHours } from '../inventory/policy.js'
import { resolvedDefaults, type Inventory } from '../inventory/types.js'
import { canonicalJson } from '../ledger/canonical-json.js'
import type { Gap, ProviderKey, UsageRecord } from '../records.js'

/**
 * The weekly review (issue 8), as numbers: a pure function of the committed ledger's snapshots,
 * the inventory, the git history of the governance files and the period. Nothing here reads a
 * provider, so the same commit and `now` always give the same review.
 */

/** Trailing periods of the same length that make the baseline (their median). */
export const BASELINE_PERIODS = 4
/** Days in each workflow's daily spend chart. */
export const CHART_DAYS = 30
/** Keys whose rotation falls due this many days ahead are listed. */
export const ROTATION_HORIZON_DAYS = 30
/** Rules whose findings are events (they happened); the others are conditions that resolve. */
const EVENT_RULES = new Set([
  'spend-spike',
  'off-hours',
  'unfamiliar-ip',
  'unexpected-model',
  'canary-used',
])

/** One finding as the audit writes it into a snapshot. */
export interface SnapshotFinding {
  rule: string
  severity: string
  key: string | null
  subject: string
  period: string
  fingerprint: string
  numbers: Record<string, number | string>
}

/** The parts of an audit snapshot (src/commands/audit.ts) the review reads. */
export interface SnapshotBody {
  at?: string
  providers?: Record<
    string,
    {
      window?: { since: string; until: string }
      /** The listing; null when it failed; `"unchanged"` as for matches. */
      keys?: ProviderKey[] | null | string
      usage?: UsageRecord[]
    }
  >
  gaps?: Gap[]
  /** The matches, or `"unchanged"` when the latest snapshot of the same day holds them. */
  matches?: Record<string, { provider_key_id?: string; status?: string }> | string
  findings?: SnapshotFinding[]
  caps?: { spend?: SnapshotSpend[] }
}

/** A key's budget, cap and month's spend as one audit run saw them. */
export interface SnapshotSpend {
  key: string
  budget_usd_month: number | null
  cap_usd_month: number | null
  month_to_date_usd: number
  forecast_usd: number
  enforced_by: 'provider' | 'keyward' | null
}

/** A snapshot named by the ledger, parsed. */
export interface LedgerSnapshot {
  path: string
  sha256: string
  /** The ledger's `at` (ISO 8601 UTC). */
  at: string
  body: SnapshotBody
}

/** One commit that changed keyward.yaml or a key file, with the keys it concerns. */
export interface ConfigChange {
  sha: string
  author: string
  email: string
  /** ISO 8601: when the person made the change. */
  at: string
  subject: string
  files: string[]
  /** Inventory keys (or `admin:<provider>`) the commit touched, and how. */
  keys: { id: string; change: 'added' | 'removed' | 'changed' | 'secret'; fields: string[] }[]
  /** Other parts of keyward.yaml it changed: `workflow blog`, `defaults`, … */
  other: string[]
}

export interface ReviewInput {
  inventory: Inventory
  /** Snapshots in ledger order, none after `now`; at least the last `reviewHistoryMs`. */
  snapshots: readonly LedgerSnapshot[]
  /** The ledger up to `now`: its head and length. */
  ledger: { head: string | null; snapshots: number }
  changes: readonly ConfigChange[]
  now: Date
  /** Length of the period, ending at `now` (the `--since` duration). */
  periodMs: number
  notes?: readonly string[]
}

/** Spend and tokens of a period next to the baseline (the median of the trailing periods). */
export interface Measure {
  spendUsd: number
  tokens: number
  requests: number
  baselineSpendUsd: number | null
  baselineTokens: number | null
  /** This period over the baseline; null when there is no baseline, or it is zero. */
  spendRatio: number | null
  tokensRatio: number | null
}

export interface KeyReview extends Measure {
  id: string
  label: string
  workflow: string
  provider: string
  providerKeyIds: string[]
  canary: boolean
  /** End of the last bucket with use (ISO 8601), within the history read. */
  lastUsed: string | null
}

export interface WorkflowReview extends Measure {
  id: string
  label: string
  owner: string
  timezone: string
  activeHours: string | null
  keys: string[]
  /** The last CHART_DAYS local days in the workflow's timezone, oldest first. */
  daily: { day: string; spendUsd: number; tokens: number }[]
  /** Hour of day (local) of hourly usage in the period; `active` per active_hours. */
  hours: { hour: number; tokens: number; requests: number; active: boolean }[]
  /** Hourly-bucketed tokens outside active_hours in the period, and their share. */
  offHoursTokens: number
  offHoursShare: number | null
}

export interface ProviderKeyChange {
  provider: string
  providerKeyId: string
  name: string | null
  hint: string | null
  owner: string | null
  created: string | null
  /** `listed`: newly listed; for gone keys, `removed` or the status it moved to. */
  status: string
  /** The inventory key it is (or was) matched to. */
  key: string | null
}

export interface FindingRow {
  rule: string
  severity: string
  kind: 'event' | 'condition'
  key: string | null
  subject: string
  period: string
  fingerprint: string
  firstSeen: string
  /** When a later run no longer found it (conditions only). */
  closedAt: string | null
  numbers: Record<string, number | string>
}

export interface RotationRow {
  key: string
  label: string
  workflow: string
  created: string
  rotateAfter: string
  due: string
  /** Negative when overdue. */
  daysLeft: number
}

export interface Review {
  period: { label: string; start: string; end: string; days: number }
  /** Three lines a person can act on, most urgent first. */
  actions: string[]
  totals: Measure
  baselinePeriods: number
  workflows: WorkflowReview[]
  keys: KeyReview[]
  /**
   * Usage in the period that no inventory key accounts for, per provider: provider keys the
   * inventory does not list (counted in the totals), and organization-level cost lines that
   * name no key (not counted: Anthropic's, for one, overlap the per-key estimates).
   */
  unattributed: {
    provider: string
    spendUsd: number
    tokens: number
    providerKeyIds: string[]
    organizationCostUsd: number
  }[]
  providerKeys: { new: ProviderKeyChange[]; gone: ProviderKeyChange[] }
  findings: { opened: FindingRow[]; closed: FindingRow[] }
  changes: ConfigChange[]
  rotation: RotationRow[]
  /** Budgets and caps per key, from the newest snapshot of the period (issue #10). */
  spend: SpendRow[]
  ingestion: {
    runs: number
    longestSilenceHours: number
    providers: { provider: string; runs: number; runsWithGaps: number; reasons: string[] }[]
  }
  ledger: {
    head: string | null
    snapshots: number
    latest: { path: string; at: string } | null
  }
  notes: string[]
}

/** How much history (before `now`) the review needs for a period of `periodMs`. */
export function reviewHistoryMs(periodMs: number): number {
  return Math.max((BASELINE_PERIODS + 2) * periodMs, (CHART_DAYS + 1) * DAY_MS)
}

/** ISO 8601 week (`2026-W48`) of an instant's UTC date. */
export function isoWeek(at: Date): string {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate())
  const weekday = (new Date(day).getUTCDay() + 6) % 7 // Monday 0
  const thursday = new Date(day + (3 - weekday) * DAY_MS)
  const year = thursday.getUTCFullYear()
  const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS)) + 1
  return `${year}-W${String(week).padStart(2, '0')}`
}

/**
 * The period's name: the ISO week of the last whole UTC day before `now`. A Monday-morning run
 * names last week, and an on-demand run later in the week names the week in progress, which
 * the next Monday's run then completes.
 */
export function periodLabel(now: Date): string {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return isoWeek(new Date(today - DAY_MS))
}

const round = (n: number, digits = 6) => Number(n.toFixed(digits))
const pk = (provider: string, id: string) => `${provider}\u0000${id}`
const usageId = (u: UsageRecord) =>
  [u.provider, u.providerKeyId ?? '', u.start, u.model ?? '', u.operation, u.project ?? ''].join(
    '\u0000',
  )
/** A part of usageId as Array.join writes it: null and undefined are empty. */
const idPart = (value: unknown): string =>
  typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value)
const hasNul = (s: string) => s.includes('\u0000')

/** The history's usage, each bucket once, with Date.parse of its start and end. */
interface History {
  records: UsageRecord[]
  from: Float64Array
  to: Float64Array
}

/** The records of one provider and bucket start: their positions in the list, by key. */
interface StartNode {
  /** Date.parse of the start. */
  from: number
  /** The last `end` seen here and its Date.parse: the records of one start mostly share it. */
  end: unknown
  to: number
  byKeyId: Map<string, number | number[]>
}

/**
 * The snapshots' usage deduplicated by usageId, as a Map keyed by it gives it: each bucket
 * where its first read put it, with the values of its last read (later snapshots win).
 *
 * One joined id string per record of the whole history (built, then hashed) was the review's
 * largest cost. Records are filed in nested maps by the id's first fields instead (provider,
 * start, key: a snapshot's records share their start, so they hit the same maps) down to their
 * position in the list, and the few records of one key and start compare the rest (model,
 * operation, project). Without NUL in any field that is the same identity as the joined id;
 * with one, two different records could join to the same id, so the joined ids are used, as
 * they always were. Every distinct string is checked once, when it first enters the maps or the
 * list: any field is equal to one already checked, or checked then.
 */
function dedupedUsage(snapshots: readonly LedgerSnapshot[]): History {
  const time = timeParser()
  let size = 0
  for (const snap of snapshots)
    for (const provider of Object.values(snap.body.providers ?? {}))
      size += provider.usage?.length ?? 0
  const records: UsageRecord[] = []
  const from = new Float64Array(size)
  const to = new Float64Array(size)
  const tree = new Map<string, Map<string, StartNode>>() // provider → start → key
  for (const snap of snapshots)
    for (const provider of Object.values(snap.body.providers ?? {}))
      for (const u of provider.usage ?? []) {
        const p = idPart(u.provider)
        let byStart = tree.get(p)
        if (byStart === undefined) {
          if (hasNul(p)) return dedupedByUsageId(snapshots, time)
          tree.set(p, (byStart = new Map()))
        }
        const s = idPart(u.start)
        let node = byStart.get(s)
        if (node === undefined) {
          if (hasNul(s)) return dedupedByUsageId(snapshots, time)
          node = { from: time(s), end: u.end, to: time(u.end), byKeyId: new Map() }
          byStart.set(s, node)
        } else if (u.end !== node.end) {
          node.end = u.end
          node.to = time(u.end)
        }
        const k = idPart(u.providerKeyId)
        const there = node.byKeyId.get(k)
        const m = idPart(u.model)
        const o = idPart(u.operation)
        const j = idPart(u.project)
        let found = -1
        if (there !== undefined)
          for (const i of typeof there === 'number' ? [there] : there) {
            const r = records[i] as UsageRecord
            if (idPart(r.model) === m && idPart(r.operation) === o && idPart(r.project) === j) {
              found = i
              break
            }
          }
        if (found >= 0) {
          records[found] = u
          to[found] = node.to
          continue
        }
        if ((there === undefined && hasNul(k)) || hasNul(m) || hasNul(o) || hasNul(j))
          return dedupedByUsageId(snapshots, time)
        const index = records.length
        records.push(u)
        from[index] = node.from
        to[index] = node.to
        if (there === undefined) node.byKeyId.set(k, index)
        else if (typeof there === 'number') node.byKeyId.set(k, [there, index])
        else there.push(index)
      }
  return { records, from: from.subarray(0, records.length), to: to.subarray(0, records.length) }
}

/** dedupedUsage by whole usageId strings: for records with a NUL in a field. */
function dedupedByUsageId(
  snapshots: readonly LedgerSnapshot[],
  time: (iso: unknown) => number,
): History {
  const usage = new Map<string, UsageRecord>()
  for (const snap of snapshots)
    for (const provider of Object.values(snap.body.providers ?? {}))
      for (const u of provider.usage ?? []) usage.set(usageId(u), u)
  const records = [...usage.values()]
  return {
    records,
    from: Float64Array.from(records, (u) => time(u.start)),
    to: Float64Array.from(records, (u) => time(u.end)),
  }
}

/**
 * Provider key (`pk(provider, id)`) → inventory key: the latest match wins, an explicit
 * provider_key_id above all. Every snapshot repeats the matches of every key, so a key's
 * inventory entry is looked up once, and its slot string built again only when its
 * provider_key_id changes.
 */
function ownersOf(snapshots: readonly LedgerSnapshot[], inventory: Inventory): Map<string, string> {
  const owner = new Map<string, string>()
  const known = new Map<string, { provider: string; id: unknown; slot: string } | null>()
  for (const snap of snapshots) {
    const matches = snap.body.matches
    if (typeof matches !== 'object') continue
    for (const keyId of Object.keys(matches)) {
      let k = known.get(keyId)
      if (k === undefined) {
        const key = inventory.keys[keyId]
        known.set(keyId, (k = key ? { provider: key.provider, id: undefined, slot: '' } : null))
      }
      if (k === null) continue
      const id = (matches[keyId] as { provider_key_id?: string }).provider_key_id
      if (!id) continue
      if (k.id !== id) {
        k.id = id
        k.slot = pk(k.provider, id)
      }
      owner.set(k.slot, keyId)
    }
  }
  for (const [keyId, key] of Object.entries(inventory.keys))
    if (key.provider_key_id) owner.set(pk(key.provider, key.provider_key_id), keyId)
  return owner
}

type Days = Map<string, { spendUsd: number; tokens: number }>
type Hours = { tokens: number[]; requests: number[]; off: number }
type ActiveWindow = { start: number; end: number }

/** What the tally needs of an inventory key, looked up once per key rather than per record. */
interface KeyState {
  id: string
  workflow: string
  clock: (ms: number) => Local
  window: ActiveWindow | undefined
  /** Whether a bucket had use, and the end of the last one (a number field: no box per store). */
  used: boolean
  lastUsed: number
  sums: Sums | undefined
  days: Days | undefined
  hours: Hours | undefined
}

/** The usage summed per period, key, workflow day and hour of day. */
interface Tally {
  totals: Sums
  keys: Map<string, KeyState>
  keySums: Map<string, Sums>
  unattributed: Map<
    string,
    { spendUsd: number; tokens: number; providerKeyIds: Set<string>; organizationCostUsd: number }
  >
  daily: Map<string, Days>
  hours: Map<string, Hours>
}

/**
 * Sums the history into periods (index 0 is the one ending at `end`, 1… the baseline), keys,
 * workflow days and hours. Records are added in the history's order, so sums of fractional
 * spend come out the same to the last bit however they are looked up.
 */
function tally(
  history: History,
  owner: ReadonlyMap<string, string>,
  context: {
    inventory: Inventory
    zoneOf: (workflow: string) => string
    windows: ReadonlyMap<string, ActiveWindow | undefined>
    clock: ReturnType<typeof localClock>
    end: number
    periodMs: number
  },
): Tally {
  const { inventory, zoneOf, windows, clock, end, periodMs } = context
  const out: Tally = {
    totals: emptySums(),
    keys: new Map(),
    keySums: new Map(),
    unattributed: new Map(),
    daily: new Map(),
    hours: new Map(),
  }
  const { totals, keySums, unattributed, daily, hours } = out
  const chartFrom = end - (CHART_DAYS + 1) * DAY_MS
  const stateOf = (keyId: string): KeyState => {
    let state = out.keys.get(keyId)
    if (state === undefined) {
      const workflow = inventory.keys[keyId]?.workflow ?? ''
      state = {
        id: keyId,
        workflow,
        clock: clock.inZone(zoneOf(workflow)),
        window: windows.get(workflow),
        used: false,
        lastUsed: 0,
        sums: undefined,
        days: undefined,
        hours: undefined,
      }
      out.keys.set(keyId, state)
    }
    return state
  }
  // (provider, provider key id) → the inventory key's state, or null for none: the same
  // lookup as owner.get(pk(provider, id)), made once per provider key.
  const byProvider = new Map<unknown, Map<unknown, KeyState | null>>()
  const keyOf = (provider: string, id: string): KeyState | null => {
    let byId = byProvider.get(provider)
    if (byId === undefined) byProvider.set(provider, (byId = new Map()))
    let state = byId.get(id)
    if (state === undefined) {
      const keyId = owner.get(pk(provider, id))
      byId.set(id, (state = keyId === undefined ? null : stateOf(keyId)))
    }
    return state
  }

  const { records } = history
  for (let r = 0; r < records.length; r++) {
    const u = records[r] as UsageRecord
    const from = history.from[r] as number
    const to = history.to[r] as number
    const mid = (from + to) / 2
    if (!(mid < end)) continue
    const index = Math.ceil((end - mid) / periodMs) - 1
    const tokens = u.inputTokens + u.outputTokens
    const spend = u.costUsd ?? 0
    const requests = u.requests ?? 0
    const organizationLine = u.providerKeyId === undefined
    const key = organizationLine ? null : keyOf(u.provider, u.providerKeyId as string)
    if (index <= BASELINE_PERIODS && !organizationLine) {
      totals.spend[index] = (totals.spend[index] ?? 0) + spend
      totals.tokens[index] = (totals.tokens[index] ?? 0) + tokens
      totals.requests[index] = (totals.requests[index] ?? 0) + requests
    }
    if (key === null) {
      if (index !== 0) continue
      const slot = unattributed.get(u.provider) ?? {
        spendUsd: 0,
        tokens: 0,
        providerKeyIds: new Set<string>(),
        organizationCostUsd: 0,
      }
      if (organizationLine) slot.organizationCostUsd += spend
      else {
        slot.spendUsd += spend
        slot.tokens += tokens
        slot.providerKeyIds.add(u.providerKeyId ?? '')
      }
      unattributed.set(u.provider, slot)
      continue
    }
    if (tokens + requests + spend > 0) {
      key.lastUsed = Math.max(key.lastUsed, to)
      key.used = true
    }
    if (index <= BASELINE_PERIODS) {
      let sums = key.sums
      if (sums === undefined) keySums.set(key.id, (sums = key.sums = emptySums()))
      sums.spend[index] = (sums.spend[index] ?? 0) + spend
      sums.tokens[index] = (sums.tokens[index] ?? 0) + tokens
      sums.requests[index] = (sums.requests[index] ?? 0) + requests
    }
    const workflow = key.workflow
    if (mid >= chartFrom) {
      const day = key.clock(mid).date
      let days = key.days
      if (days === undefined) {
        days = daily.get(workflow)
        if (days === undefined) daily.set(workflow, (days = new Map()))
        key.days = days
      }
      const slot = days.get(day)
      if (slot === undefined) days.set(day, { spendUsd: 0 + spend, tokens: 0 + tokens })
      else {
        slot.spendUsd += spend
        slot.tokens += tokens
      }
    }
    // Hour of day only from hourly (or finer) buckets: a daily bucket has no hour.
    if (index === 0 && to - from <= 3_600_000) {
      const local = key.clock(from)
      const hour = Math.floor(local.minutes / 60)
      let slot = key.hours
      if (slot === undefined) {
        slot = hours.get(workflow)
        if (slot === undefined)
          hours.set(
            workflow,
            (slot = {
              tokens: new Array<number>(24).fill(0),
              requests: new Array<number>(24).fill(0),
              off: 0,
            }),
          )
        key.hours = slot
      }
      slot.tokens[hour] = (slot.tokens[hour] ?? 0) + tokens
      slot.requests[hour] = (slot.requests[hour] ?? 0) + requests
      const window = key.window
      if (window && !withinHours(local.minutes, window.start, window.end)) slot.off += tokens
    }
  }
  return out
}

/** `YYYY-MM-DD` plus `days` (calendar arithmetic, no timezone involved). */
function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number)
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) + days)).toISOString().slice(0, 10)
}

type Local = { date: string; minutes: number }

/** localTime with a cache per timezone and minute: the review converts many equal instants. */
function localClock() {
  const cache = new Map<string, (ms: number) => Local>()
  /** The clock of one timezone: hold on to it to skip the lookup by zone. */
  const inZone = (zone: string) => {
    let clock = cache.get(zone)
    if (clock === undefined) {
      const byMinute = new Map<number, Local>()
      clock = (ms: number) => {
        const minute = Math.floor(ms / 60_000)
        let local = byMinute.get(minute)
        if (!local) byMinute.set(minute, (local = localTime(new Date(minute * 60_000), zone)))
        return local
      }
      cache.set(zone, clock)
    }
    return clock
  }
  return { inZone, at: (ms: number, zone: string) => inZone(zone)(ms) }
}

/** Date.parse with a cache: the history repeats the same bucket boundaries for every key. */
function timeParser() {
  const cache = new Map<unknown, number>()
  return (iso: unknown) => {
    let t = cache.get(iso)
    if (t === undefined) cache.set(iso, (t = Date.parse(iso as string)))
    return t
  }
}

interface Sums {
  spend: number[]
  tokens: number[]
  requests: number[]
}
const emptySums = (): Sums => ({
  spend: new Array<number>(BASELINE_PERIODS + 1).fill(0),
  tokens: new Array<number>(BASELINE_PERIODS + 1).fill(0),
  requests: new Array<number>(BASELINE_PERIODS + 1).fill(0),
})

function measure(sums: Sums, eligible: readonly number[]): Measure {
  const base = (values: number[]) =>
    eligible.length === 0 ? null : median(eligible.map((i) => values[i] ?? 0))
  const ratio = (value: number, baseline: number | null) =>
    baseline === null || baseline === 0 ? null : round(value / baseline, 3)
  const baselineSpendUsd = base(sums.spend)
  const baselineTokens = base(sums.tokens)
  const spendUsd = sums.spend[0] ?? 0
  const tokens = sums.tokens[0] ?? 0
  return {
    spendUsd: round(spendUsd),
    tokens,
    requests: sums.requests[0] ?? 0,
    baselineSpendUsd: baselineSpendUsd === null ? null : round(baselineSpendUsd),
    baselineTokens,
    spendRatio: ratio(spendUsd, baselineSpendUsd),
    tokensRatio: ratio(tokens, baselineTokens),
  }
}

/** Computes the review. Pure: every input is a value, `now` included. */
export function computeReview(input: ReviewInput): Review {
  const { inventory, now, periodMs } = input
  const defaults = resolvedDefaults(inventory)
  const end = now.getTime()
  const start = end - periodMs
  const snapshots = input.snapshots.filter((s) => Date.parse(s.at) <= end)
  const clock = localClock()

  // Usage, deduplicated across overlapping reads (the later snapshot wins, as in the audit).
  const usage = dedupedUsage(snapshots)
  const owner = ownersOf(snapshots, inventory)

  // The ledger's coverage: baseline periods before its first read window would count as zero.
  const coverage = Math.min(
    end,
    ...snapshots.flatMap((s) =>
      Object.values(s.body.providers ?? {}).map((p) =>
        p.window ? Date.parse(p.window.since) : Date.parse(s.at),
      ),
    ),
  )
  const eligible = Array.from({ length: BASELINE_PERIODS }, (_, i) => i + 1).filter(
    (i) => end - (i + 1) * periodMs >= coverage,
  )

  const zoneOf = (workflow: string) => inventory.workflows[workflow]?.timezone ?? defaults.timezone
  const windows = new Map(
    Object.entries(inventory.workflows).map(([id, w]) => {
      const parsed = w.active_hours ? parseActiveHours(w.active_hours) : undefined
      return [id, parsed && !('error' in parsed) ? parsed : undefined]
    }),
  )
  const {
    totals,
    keys: states,
    keySums,
    unattributed,
    daily,
    hours,
  } = tally(usage, owner, {
    inventory,
    zoneOf,
    windows,
    clock,
    end,
    periodMs,
  })

  const providerKeyIdsOf = new Map<string, string[]>()
  for (const [slot, keyId] of owner)
    providerKeyIdsOf.set(keyId, [
      ...(providerKeyIdsOf.get(keyId) ?? []),
      slot.split('\u0000')[1] ?? '',
    ])

  const keys: KeyReview[] = Object.entries(inventory.keys)
    .map(([id, key]) => {
      const state = states.get(id)
      const used = state?.used ? state.lastUsed : undefined
      return {
        id,
        label: key.label,
        workflow: key.workflow,
        provider: key.provider,
        providerKeyIds: [...new Set(providerKeyIdsOf.get(id) ?? [])].sort(),
        canary: key.canary === true,
        lastUsed: used === undefined ? null : new Date(used).toISOString(),
        ...measure(keySums.get(id) ?? emptySums(), eligible),
      }
    })
    .sort((a, b) => b.spendUsd - a.spendUsd || b.tokens - a.tokens || a.id.localeCompare(b.id))

  const lastDay = (zone: string) => clock.at(end - 1, zone).date
  const keysOf = new Map<unknown, string[]>()
  for (const [keyId, k] of Object.entries(inventory.keys)) {
    const list = keysOf.get(k.workflow)
    if (list) list.push(keyId)
    else keysOf.set(k.workflow, [keyId])
  }
  const workflows: WorkflowReview[] = Object.entries(inventory.workflows)
    .map(([id, w]) => {
      const ids = [...(keysOf.get(id) ?? [])]
      const sums = emptySums()
      for (const keyId of ids) {
        const s = keySums.get(keyId)
        if (!s) continue
        for (let i = 0; i <= BASELINE_PERIODS; i++) {
          sums.spend[i] = (sums.spend[i] ?? 0) + (s.spend[i] ?? 0)
          sums.tokens[i] = (sums.tokens[i] ?? 0) + (s.tokens[i] ?? 0)
          sums.requests[i] = (sums.requests[i] ?? 0) + (s.requests[i] ?? 0)
        }
      }
      const zone = w.timezone ?? defaults.timezone
      const last = lastDay(zone)
      const days = daily.get(id)
      const hourly = hours.get(id)
      const window = windows.get(id)
      const hourlyTokens = hourly ? hourly.tokens.reduce((a, b) => a + b, 0) : 0
      return {
        id,
        label: w.label,
        owner: w.owner,
        timezone: zone,
        activeHours: w.active_hours ?? null,
        keys: ids,
        ...measure(sums, eligible),
        daily: Array.from({ length: CHART_DAYS }, (_, i) => {
          const day = addDays(last, i - (CHART_DAYS - 1))
          const slot = days?.get(day)
          return { day, spendUsd: round(slot?.spendUsd ?? 0), tokens: slot?.tokens ?? 0 }
        }),
        hours: Array.from({ length: 24 }, (_, hour) => ({
          hour,
          tokens: hourly?.tokens[hour] ?? 0,
          requests: hourly?.requests[hour] ?? 0,
          active: window ? withinHours(hour * 60, window.start, window.end) : true,
        })),
        offHoursTokens: hourly?.off ?? 0,
        offHoursShare:
          window && hourlyTokens > 0 ? round((hourly?.off ?? 0) / hourlyTokens, 4) : null,
      }
    })
    .sort((a, b) => b.spendUsd - a.spendUsd || b.tokens - a.tokens || a.id.localeCompare(b.id))

  // Runs belong to the period they close: (start, end]. A run at `now` is this period's.
  const inPeriod = (iso: string) => {
    const t = Date.parse(iso)
    return t > start && t <= end
  }
  const periodSnapshots = snapshots.filter((s) => inPeriod(s.at))

  const review: Review = {
    period: {
      label: periodLabel(now),
      start: new Date(start).toISOString(),
      end: now.toISOString(),
      days: round(periodMs / DAY_MS, 3),
    },
    actions: [],
    totals: measure(totals, eligible),
    baselinePeriods: eligible.length,
    workflows,
    keys,
    unattributed: [...unattributed]
      .map(([provider, u]) => ({
        provider,
        spendUsd: round(u.spendUsd),
        tokens: u.tokens,
        providerKeyIds: [...u.providerKeyIds].sort(),
        organizationCostUsd: round(u.organizationCostUsd),
      }))
      .filter((u) => u.spendUsd > 0 || u.tokens > 0 || u.organizationCostUsd > 0)
      .sort((a, b) => a.provider.localeCompare(b.provider)),
    providerKeys: providerKeyChanges(snapshots, start, end, owner),
    findings: findingChanges(snapshots, start, end, inventory),
    changes: [...input.changes].sort((a, b) => b.at.localeCompare(a.at)),
    rotation: rotationDue(inventory, now),
    spend: latestSpend(periodSnapshots),
    ingestion: {
      runs: periodSnapshots.length,
      longestSilenceHours: longestSilence(periodSnapshots, start, end),
      providers: Object.keys(inventory.providers).map((provider) => {
        const failed = periodSnapshots.filter(
          (s) =>
            !s.body.providers?.[provider] ||
            (s.body.gaps ?? []).some((g) => g.provider === provider),
        )
        const reasons = new Map<string, number>()
        for (const s of failed)
          for (const g of s.body.gaps ?? [])
            if (g.provider === provider) {
              const reason = `${g.endpoint}: ${g.reason}`
              reasons.set(reason, (reasons.get(reason) ?? 0) + 1)
            }
        return {
          provider,
          runs: periodSnapshots.length,
          runsWithGaps: failed.length,
          reasons: [...reasons]
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .map(([reason, n]) => `${reason} (${n}×)`),
        }
      }),
    },
    ledger: {
      head: input.ledger.head,
      snapshots: input.ledger.snapshots,
      latest: snapshots.length
        ? {
            path: snapshots[snapshots.length - 1]?.path ?? '',
            at: snapshots[snapshots.length - 1]?.at ?? '',
          }
        : null,
    },
    notes: [...(input.notes ?? [])],
  }
  review.actions = actionsFor(review)
  return review
}

function longestSilence(snapshots: readonly LedgerSnapshot[], start: number, end: number): number {
  const times = [start, ...snapshots.map((s) => Date.parse(s.at)).sort((a, b) => a - b), end]
  let longest = 0
  for (let i = 1; i < times.length; i++)
    longest = Math.max(longest, (times[i] ?? 0) - (times[i - 1] ?? 0))
  return round(longest / 3_600_000, 2)
}

function providerKeyChanges(
  snapshots: readonly LedgerSnapshot[],
  start: number,
  end: number,
  owner: ReadonlyMap<string, string>,
): Review['providerKeys'] {
  const providers = new Set(snapshots.flatMap((s) => Object.keys(s.body.providers ?? {})))
  const out: Review['providerKeys'] = { new: [], gone: [] }
  for (const provider of [...providers].sort()) {
    const listings = snapshots
      .map((s) => ({ at: Date.parse(s.at), keys: s.body.providers?.[provider]?.keys }))
      .filter((l): l is { at: number; keys: ProviderKey[] } => Array.isArray(l.keys))
    const before = listings.filter((l) => l.at <= start).at(-1) ?? listings.find((l) => l.at <= end)
    const after = listings.at(-1)
    if (!before || !after || before === after) continue
    const active = (keys: ProviderKey[]) =>
      new Map(keys.filter((k) => k.status === 'active').map((k) => [k.providerKeyId, k]))
    const was = active(before.keys)
    const is = active(after.keys)
    const all = new Map(after.keys.map((k) => [k.providerKeyId, k]))
    const row = (k: ProviderKey, status: string): ProviderKeyChange => ({
      provider,
      providerKeyId: k.providerKeyId,
      name: k.name ?? null,
      hint: k.hint ?? null,
      owner: k.owner ?? null,
      created: k.created ?? null,
      status,
      key: owner.get(pk(provider, k.providerKeyId)) ?? null,
    })
    for (const [id, k] of is) if (!was.has(id)) out.new.push(row(k, 'listed'))
    for (const [id, k] of was)
      if (!is.has(id)) out.gone.push(row(k, all.get(id)?.status ?? 'removed'))
  }
  return out
}

function findingChanges(
  snapshots: readonly LedgerSnapshot[],
  start: number,
  end: number,
  inventory: Inventory,
): Review['findings'] {
  const seen = new Map<string, { first: number; last: number; finding: SnapshotFinding }>()
  snapshots.forEach((s, index) => {
    for (const f of s.body.findings ?? []) {
      const entry = seen.get(f.fingerprint)
      if (entry) {
        entry.last = index
        entry.finding = f
      } else seen.set(f.fingerprint, { first: index, last: index, finding: f })
    }
  })
  const inPeriod = (t: number) => t > start && t <= end
  const providerOf = (f: SnapshotFinding) =>
    (f.key ? inventory.keys[f.key]?.provider : undefined) ??
    (f.subject in inventory.providers ? f.subject : undefined)
  const row = (f: SnapshotFinding, firstSeen: string, closedAt: string | null): FindingRow => ({
    rule: f.rule,
    severity: f.severity,
    kind: EVENT_RULES.has(f.rule) ? 'event' : 'condition',
    key: f.key,
    subject: f.subject,
    period: f.period,
    fingerprint: f.fingerprint,
    firstSeen,
    closedAt,
    numbers: f.numbers,
  })
  const opened: FindingRow[] = []
  const closed: FindingRow[] = []
  for (const { first, last, finding } of seen.values()) {
    const firstSeen = snapshots[first]?.at ?? ''
    let closedAt: string | null = null
    if (!EVENT_RULES.has(finding.rule)) {
      // Gone from a later run that read its provider: an unread provider proves nothing.
      const provider = providerOf(finding)
      const next = snapshots
        .slice(last + 1)
        .find(
          (s) =>
            provider === undefined ||
            (s.body.providers?.[provider] !== undefined &&
              !(s.body.gaps ?? []).some((g) => g.provider === provider)),
        )
      closedAt = next?.at ?? null
    }
    if (inPeriod(Date.parse(firstSeen))) opened.push(row(finding, firstSeen, closedAt))
    if (closedAt && inPeriod(Date.parse(closedAt))) closed.push(row(finding, firstSeen, closedAt))
  }
  const order = { error: 0, warning: 1, note: 2 } as Record<string, number>
  const sort = (rows: FindingRow[]) =>
    rows.sort(
      (a, b) =>
        (order[a.severity] ?? 3) - (order[b.severity] ?? 3) ||
        a.firstSeen.localeCompare(b.firstSeen) ||
        a.fingerprint.localeCompare(b.fingerprint),
    )
  return { opened: sort(opened), closed: sort(closed) }
}

function rotationDue(inventory: Inventory, now: Date): RotationRow[] {
  const defaults = resolvedDefaults(inventory)
  const horizon = now.getTime() + ROTATION_HORIZON_DAYS * DAY_MS
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return Object.entries(inventory.keys)
    .flatMap(([id, key]) => {
      const rotateAfter = key.rotate_after ?? defaults.rotate_after
      const ms = parseDuration(rotateAfter)
      const created = Date.parse(`${key.created}T00:00:00Z`)
      if (ms === undefined || Number.isNaN(created)) return []
      const due = created + ms
      if (due > horizon) return []
      return [
        {
          key: id,
          label: key.label,
          workflow: key.workflow,
          created: key.created,
          rotateAfter,
          due: new Date(due).toISOString().slice(0, 10),
          daysLeft: Math.floor((due - today) / DAY_MS),
        },
      ]
    })
    .sort((a, b) => a.due.localeCompare(b.due) || a.key.localeCompare(b.key))
}

const usd = (n: number) => `$${n.toFixed(2)}`
const listOf = (items: readonly string[], max = 3) =>
  items.slice(0, max).join(', ') + (items.length > max ? ` and ${items.length - max} more` : '')

/** The three lines at the top: the most urgent things to do, then what is known to be fine. */
function actionsFor(review: Review): string[] {
  const urgent: string[] = []
  const fine: string[] = []
  const errors = review.findings.opened.filter((f) => f.severity === 'error')
  if (errors.length)
    urgent.push(
      `Look into ${errors.length} error finding(s) opened this period: ${listOf(errors.map((f) => `\`${f.rule}\` on \`${f.key ?? f.subject}\` (${f.period})`))}; each has an issue with what to do.`,
    )
  const overdue = review.rotation.filter((r) => r.daysLeft <= 0)
  if (overdue.length)
    urgent.push(
      `Rotate ${listOf(overdue.map((r) => `\`${r.key}\` (due ${r.due}, ${-r.daysLeft} days ago)`))}: merge the rotation pull request or run \`keyward vault add <key-id>\`.`,
    )
  const unknown = review.providerKeys.new.filter((k) => k.key === null)
  if (unknown.length)
    urgent.push(
      `Add to keyward.yaml or revoke ${unknown.length} new provider key(s): ${listOf(unknown.map((k) => `${k.provider} \`${k.providerKeyId}\`${k.name ? ` (${k.name})` : ''}`))}.`,
    )
  const hot = review.workflows.filter(
    (w) => w.spendRatio !== null && w.spendRatio >= 2 && w.spendUsd >= 1,
  )
  if (hot.length)
    urgent.push(
      `Ask about spend: ${listOf(hot.map((w) => `${w.label} (${w.owner}) ${usd(w.spendUsd)}, ${w.spendRatio?.toFixed(1)}× its baseline`))}.`,
    )
  else if (review.baselinePeriods > 0)
    fine.push('Every workflow spent less than twice its baseline.')
  const failing = review.ingestion.providers.filter((p) => p.runsWithGaps > 0)
  if (failing.length)
    urgent.push(
      `Check the admin keys of ${listOf(failing.map((p) => `${p.provider} (${p.runsWithGaps} of ${p.runs} runs incomplete)`))}: \`keyward vault add --admin <provider-id>\` if one was revoked.`,
    )
  else if (review.ingestion.runs > 0) fine.push('Every audit run this period read every provider.')
  const offHours = review.workflows.filter(
    (w) => w.offHoursShare !== null && w.offHoursShare >= 0.1,
  )
  if (offHours.length)
    urgent.push(
      `Confirm off-hours use with the owners: ${listOf(offHours.map((w) => `${w.label} ${Math.round((w.offHoursShare ?? 0) * 100)}% outside ${w.activeHours} ${w.timezone}`))}.`,
    )
  const soon = review.rotation.filter((r) => r.daysLeft > 0)
  if (soon.length)
    urgent.push(`Plan rotations: ${listOf(soon.map((r) => `\`${r.key}\` by ${r.due}`))}.`)
  else if (!overdue.length)
    fine.push(`No key is due for rotation in the next ${ROTATION_HORIZON_DAYS} days.`)
  const warnings = review.findings.opened.filter((f) => f.severity !== 'error')
  if (warnings.length)
    urgent.push(
      `Review ${warnings.length} warning(s) opened this period: ${listOf(warnings.map((f) => `\`${f.rule}\` on \`${f.key ?? f.subject}\``))}.`,
    )
  else if (!errors.length) fine.push('No finding was opened this period.')
  if (review.ingestion.runs === 0)
    urgent.unshift(
      'No audit ran in this period: check that the scheduled `keyward audit` workflow is enabled.',
    )
  fine.push('Nothing else needs attention.')
  return [...urgent, ...fine].slice(0, 3)
}

type Loose = Record<string, unknown>
/** Deep equality of parsed YAML values (key order ignored). */
function same(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a ?? null) === canonicalJson(b ?? null)
  } catch {
    return JSON.stringify(a) === JSON.stringify(b) // .inf or .nan: not canonical JSON
  }
}
const asRecord = (value: unknown): Loose =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Loose) : {}

/**
 * What one commit did to the governance files: which keys it added, removed or changed in
 * keyward.yaml (comparing the file before and after), and whose secret file it rewrote.
 */
export function describeConfigCommit(
  commit: {
    sha: string
    author: string
    email: string
    authoredAt: string
    subject: string
    files: readonly string[]
  },
  context: {
    configFile: string
    /** keyward.yaml at the commit's first parent and at the commit (undefined: absent). */
    before: string | undefined
    after: string | undefined
    inventory: Inventory
  },
): ConfigChange {
  const load = (text: string | undefined): Loose => {
    if (text === undefined) return {}
    try {
      return asRecord(parse(text))
    } catch {
      return {}
    }
  }
  const touchedConfig = commit.files.includes(context.configFile)
  const before = touchedConfig ? load(context.before) : {}
  const after = touchedConfig ? load(context.after) : {}
  const keys: ConfigChange['keys'] = []
  const other: string[] = []
  if (touchedConfig) {
    const was = asRecord(before.keys)
    const is = asRecord(after.keys)
    for (const id of [...new Set([...Object.keys(was), ...Object.keys(is)])].sort()) {
      if (!(id in was)) keys.push({ id, change: 'added', fields: [] })
      else if (!(id in is)) keys.push({ id, change: 'removed', fields: [] })
      else {
        const a = asRecord(was[id])
        const b = asRecord(is[id])
        const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])]
          .filter((f) => !same(a[f], b[f]))
          .sort()
        if (fields.length) keys.push({ id, change: 'changed', fields })
      }
    }
    for (const section of ['workflows', 'providers'] as const) {
      const a = asRecord(before[section])
      const b = asRecord(after[section])
      for (const id of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort())
        if (!same(a[id], b[id])) other.push(`${section.slice(0, -1)} ${id}`)
    }
    for (const section of ['defaults', 'scan', 'version'])
      if (!same(before[section], after[section])) other.push(section)
  }
  // Secret files → the key they hold, in any of the three inventories.
  const owners = new Map<string, string>()
  for (const inv of [context.inventory, before, after] as Loose[]) {
    for (const [id, key] of Object.entries(asRecord(inv.keys))) {
      const secret = asRecord(key).secret
      if (typeof secret === 'string') owners.set(secret, id)
    }
    for (const [id, provider] of Object.entries(asRecord(inv.providers))) {
      const file = asRecord(provider).admin_key
      if (typeof file === 'string') owners.set(file, `admin:${id}`)
    }
  }
  for (const file of commit.files) {
    if (file === context.configFile) continue
    const id = owners.get(file)
    if (id === undefined) other.push(file)
    else if (!keys.some((k) => k.id === id)) keys.push({ id, change: 'secret', fields: [] })
  }
  return {
    sha: commit.sha,
    author: commit.author,
    email: commit.email,
    at: commit.authoredAt,
    subject: commit.subject,
    files: [...commit.files],
    keys,
    other,
  }
}

/** The budgets-and-caps rows of the newest snapshot that has them. */
function latestSpend(snapshots: readonly LedgerSnapshot[]): SpendRow[] {
  for (let i = snapshots.length - 1; i >= 0; i--) {
    const rows = snapshots[i]?.body.caps?.spend
    if (!Array.isArray(rows)) continue
    return rows.map((r) => ({
      key: r.key,
      budget: r.budget_usd_month ?? undefined,
      cap: r.cap_usd_month ?? undefined,
      monthToDate: r.month_to_date_usd,
      forecast: r.forecast_usd,
      enforcedBy: r.enforced_by ?? undefined,
    }))
  }
  return []
}

/**
 * incremental audit: the hourly run after a 90-day history — read the new window, the carried
 * days and the snapshots after them, rerun the detectors — against the full analysis and
 * against the new data's share.
 */
import { runDetectors } from '../../src/analysis/detectors/index.js'
import {
  changedUsage,
  DEFAULT_OVERLAP_HOURS,
  fetchWindow,
} from '../../src/analysis/fetch-window.js'
import { utcDay } from '../../src/analysis/time.js'
import {
  carryForward,
  dayStartMs,
  emptyUsageDays,
  toUsageDaysJson,
  type UsageDays,
} from '../../src/analysis/usage-days.js'
import { historyFrom, readHistory, usageDaysDigest } from '../../src/commands/audit-history.js'
import type { LedgerEntry } from '../../src/ledger/chain.js'
import { silentLog } from '../../src/ports/log.js'
import { memoryForge } from '../../test/fakes/memory-forge.js'
import { untimed } from '../child.js'
import type { ChildTask, Scenario } from '../scenario.js'
import type { Measurement, Summary } from '../stats.js'
import {
  countRecords,
  DAY_MS,
  detectorContext,
  END,
  HISTORY_HOURS,
  HOUR_MS,
  keysLabel,
  numberParam,
  readUsage,
  snapshotPath,
  snapshotText,
  START,
  syntheticOrg,
  usagePageLists,
} from '../synthetic-org.js'
import type { Row } from '../table.js'
import { analysisTask, measureFull, parseTask, runsAt } from './audit-analysis.js'

/** The run after the history: one hour later, five minutes past the hour. */
const NOW = new Date(END.getTime() + HOUR_MS + 5 * 60_000)
/** Buckets per page as the adapters ask (`limit=168`): the 25-hour window is one page. */
const HOURS_PER_PAGE = 168
const EVENT_LOOKBACK_MS = 7 * DAY_MS

/**
 * Provider requests of one hourly run's usage read, from the adapters' code (not measured):
 * OpenAI 1 `/organization/costs` + 6 `/organization/usage/{family}` pages (25 hourly buckets
 * fit one page of `limit=168`); Anthropic 1 `usage_report/messages` + 1 `cost_report`;
 * OpenRouter 1 `/analytics/query` (7-day chunks) after its `/keys` listing.
 */
const USAGE_REQUESTS = { openai: 7, anthropic: 2, openrouter: 1 }

/** The previous hourly run, which read the last hour of the history. */
const PREVIOUS = new Date(END.getTime() + 5 * 60_000)
const HOLDER = 'sha256:holder'

/**
 * The hourly run after the history, as `keyward audit` makes it. Untimed: the state the previous
 * run left (its carried days, summed from the history: days before its window's, which began 7
 * days before it) and the ledger of the 2,160 hourly snapshots. Timed: everything the run does
 * with them. With `moved`, the previous run's carried days end a day earlier, so this run sums
 * one more day and writes new ones (what happens once a day).
 */
const incrementalTask: ChildTask = async (params, measure) => {
  const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
  const moved = params.moved === true
  // The previous runs' carried days, summed a day at a time as those runs did (holding all of the
  // history at once would set this child's peak RSS, which is the timed run's to show).
  const fromBefore = historyFrom(PREVIOUS)
  const throughBefore = utcDay(new Date(END.getTime() - (moved ? 8 : 7) * DAY_MS))
  let prior = { carry: emptyUsageDays(fromBefore) as UsageDays | undefined }
  for (let day = dayStartMs(fromBefore); day < dayStartMs(throughBefore); day += DAY_MS) {
    const first = (day - START.getTime()) / HOUR_MS
    const records = await readUsage(
      usagePageLists(org, first, first + 24, 24),
      new Date(day),
      new Date(day + DAY_MS),
    )
    prior = carryForward({
      base: prior.carry ?? emptyUsageDays(fromBefore),
      history: records,
      fresh: [],
      snapshots: [],
      freshEvents: [],
      from: fromBefore,
      through: utcDay(new Date(day + DAY_MS)),
    })
  }
  if (!prior.carry) throw new Error('the synthetic usage did not fit carried days')
  const carriedJson = toUsageDaysJson(prior.carry)
  const stateText = JSON.stringify({
    version: 1,
    providers: Object.fromEntries(
      Object.keys(org.inventory.providers).map((p) => [
        p,
        { watermark: END.toISOString(), failed_runs: 0 },
      ]),
    ),
    usage_days: { ...carriedJson, snapshot: HOLDER },
  })
  const digest = usageDaysDigest(carriedJson)
  const entries: LedgerEntry[] = Array.from({ length: HISTORY_HOURS }, (_, hour) => ({
    path: snapshotPath(hour),
    sha256: hour === HISTORY_HOURS - 1 ? HOLDER : `sha256:${hour}`,
    prev: hour === 0 ? null : `sha256:${hour - 1}`,
    at: new Date(START.getTime() + (hour + 1) * HOUR_MS).toISOString(),
  }))
  const hourOf = new Map(entries.map((e, hour) => [e.path, hour]))
  // Snapshots as the checkout holds them: made when read (untimed), like the pages.
  const encoder = new TextEncoder()
  const readLocal = async (path: string) => {
    const hour = hourOf.get(path)
    if (hour === undefined) return undefined
    return untimed(() =>
      encoder.encode(
        snapshotText(org, hour, false, [], hour === HISTORY_HOURS - 1 ? digest : undefined),
      ),
    )
  }
  const { forge } = memoryForge()
  const window = fetchWindow(END.toISOString(), NOW)
  const from = (window.since.getTime() - START.getTime()) / HOUR_MS
  const to = (window.until.getTime() - START.getTime()) / HOUR_MS
  const pages = usagePageLists(org, from, to, HOURS_PER_PAGE)
  const result = await measure(async () => {
    const state = JSON.parse(stateText) as { usage_days: unknown }
    const fresh = await readUsage(pages, window.since, window.until)
    const windowStart = new Date(
      Math.min(window.since.getTime(), window.until.getTime() - EVENT_LOOKBACK_MS),
    )
    let freshFirstStart: string | undefined
    for (const u of fresh)
      if (freshFirstStart === undefined || u.start < freshFirstStart) freshFirstStart = u.start
    const history = await readHistory(
      forge,
      readLocal,
      entries,
      { now: NOW, windowStart, freshFirstStart, carried: state.usage_days },
      silentLog,
    )
    const historyStart = historyFrom(NOW)
    const carried = carryForward({
      base: history.base,
      history: history.usage,
      fresh,
      snapshots: history.snapshots,
      freshEvents: [],
      from: historyStart,
      through: [utcDay(windowStart), historyStart, history.base.through].sort().at(-1) ?? '',
    })
    const changed = changedUsage(history.usage, fresh)
    const detected = runDetectors({
      ...detectorContext(org, carried.usage, NOW, windowStart),
      earlier: carried.earlier,
      events: carried.events,
    })
    // The state for the next run: new carried days (and their digest) only when they moved.
    const moves =
      carried.carry?.through !== history.base.through || carried.carry.from !== history.base.from
    const json = moves && carried.carry ? toUsageDaysJson(carried.carry) : undefined
    const nextDigest = json ? usageDaysDigest(json) : undefined
    const next = JSON.stringify({ ...state, usage_days: json ?? state.usage_days })
    return {
      carried: history.carried,
      snapshots: history.read,
      raw: carried.usage.length,
      through: carried.earlier.through,
      moves,
      bytes: next.length + (nextDigest?.length ?? 0),
      changed: changed.length,
      ...detected,
    }
  })
  if (result.errors.length > 0) throw new Error(`a detector failed: ${result.errors[0]}`)
  if (!result.carried) throw new Error('the run did not use the carried days')
  if (result.moves !== moved)
    throw new Error(`the carried days ${moved ? 'did not move' : 'moved'}`)
  const expected = countRecords(org, (dayStartMs(result.through) - START.getTime()) / HOUR_MS, to)
  if (result.raw !== expected)
    throw new Error(`kept ${result.raw} usage records raw, expected ${expected}`)
}

export const incrementalAuditScenario: Scenario = {
  name: 'incremental-audit',
  describe: [
    `**incremental audit**: the hourly run after a 90-day history of the audit-analysis organization, as \`keyward audit\` makes it when \`audit/state.json\` carries the history's earlier days (per provider key and UTC day: cost, tokens, first use; per month the cost so far; last use; audit-event IPs). Untimed: the state the previous hourly run left (its carried days: the days before its detectors' window, summed from the history) and the ledger of 2,160 hourly snapshots (canonical JSON as \`keyward audit\` commits them, made when read, like the pages). Timed: JSON.parse of the state; reading the run's window from \`fetchWindow(watermark, now)\` — the new hour plus the ${DEFAULT_OVERLAP_HOURS}-hour overlap the audit re-reads because providers settle buckets late, one page per provider — through the OpenAI adapter and the in-memory page server; \`readHistory\`: checking the carried days against the digest in the snapshot that wrote them, then reading and JSON.parse of only the snapshots written after the carried days (the detectors' 7-day window and a day, about 180 of the 2,160); \`carryForward\` (usage merged per key, the carried days moved up to the window's first day when it changed), \`changedUsage\` (what the snapshot stores), building the DetectorContext and \`runDetectors\` (window: the last 7 days), and the next state.json (with new carried days and their digest once a day, the second row). The history reaches back HISTORY_DAYS (40 days) as in the audit. Compared on CPU with the full analysis row at the same size, and with the new data's share of it (1/2,160: the cost of a run that is proportional to the new data only). Requests (from the adapters' code, not measured): a run's usage read costs OpenAI ${USAGE_REQUESTS.openai} requests (1 costs + 6 usage families, one page each: 25 hourly buckets fit \`limit=168\`), Anthropic ${USAGE_REQUESTS.anthropic} (usage report + cost report), OpenRouter ${USAGE_REQUESTS.openrouter} analytics query plus its \`/keys\` listing — constant in the length of the history; key listings (100 keys a page at OpenAI and OpenRouter, 1,000 at Anthropic) and audit logs grow with the organization, not with the hours.`,
  ],
  tasks: { analysis: analysisTask, parse: parseTask, incremental: incrementalTask },

  async run(ctx) {
    const keys = ctx.quick ? 100 : 1_000
    // Shares the audit-analysis measurement when that scenario ran in this bench run.
    const full = await measureFull(ctx, keys, ctx.quick ? 2 : runsAt(false, keys))
    const m = await ctx.measure(
      {
        incremental: ctx.child('incremental', { keys, seed: ctx.seed }),
        moved: ctx.child('incremental', { keys, seed: ctx.seed, moved: true }),
      },
      ctx.quick ? 2 : 3,
      { label: `incremental audit ${keysLabel(keys)}` },
    )
    const share = HISTORY_HOURS
    const scaled = (s: Summary | undefined): Summary | undefined =>
      s && { median: s.median / share, min: s.min / share, max: s.max / share, n: s.n }
    const proportional: Measurement = { runs: full.analysis.runs }
    const cpu = scaled(full.analysis.cpu)
    const wall = scaled(full.analysis.wall)
    if (cpu) proportional.cpu = cpu
    if (wall) proportional.wall = wall
    const percent = (part: Measurement) =>
      part.cpu && full.analysis.cpu
        ? `${((100 * part.cpu.median) / full.analysis.cpu.median).toFixed(1)}%`
        : '?'
    const size = `${keysLabel(keys)}, +1 h (${DEFAULT_OVERLAP_HOURS + 1} h read) after 90 days`
    const label = `full analysis × 1/${share.toLocaleString('en-US')} (the new hour's share)`
    const requests = Object.values(USAGE_REQUESTS).reduce((a, b) => a + b, 0)
    const rows: Row[] = [
      {
        kind: 'measured',
        scenario: `incremental audit (${requests} usage requests, constant)`,
        size,
        measurement: m.incremental,
        compare: { label, floor: proportional, metric: 'cpu' },
      },
      {
        kind: 'measured',
        scenario: 'incremental audit, carried days move a day (once a day)',
        size,
        measurement: m.moved,
        compare: { label, floor: proportional, metric: 'cpu' },
      },
      { kind: 'floor', label, size, measurement: proportional },
      {
        kind: 'floor',
        label: `full analysis, same size (incremental = ${percent(m.incremental)} of its CPU, ${percent(m.moved)} once a day)`,
        size: `${keysLabel(keys)} × 90 days hourly`,
        measurement: full.analysis,
      },
    ]
    return rows
  },
}

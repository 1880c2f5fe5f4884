/**
 * incremental audit: the hourly run after a 90-day history — read the new window, the carried
 * days and the snapshots after them, rerun the detectors — against the full analysis and
 * against the new data's share.
 */
import { runDetectors } from '../../src/analysis/detectors/index.js'
import {
  DEFAULT_OVERLAP_HOURS,
  fetchWindow,
  FreshBuckets,
} from '../../src/analysis/fetch-window.js'
import { offHoursRules } from '../../src/analysis/detectors/off-hours.js'
import { utcDay } from '../../src/analysis/time.js'
import {
  carryForward,
  dayStartMs,
  emptyUsageDays,
  toUsageDaysJson,
  type UsageDays,
} from '../../src/analysis/usage-days.js'
import { historyFrom, readHistory, usageDaysDigest } from '../../src/commands/audit-history.js'
import { formatState, formatUsageDays, readState } from '../../src/commands/audit-state.js'
import type { LedgerEntry } from '../../src/ledger/chain.js'
import { silentLog } from '../../src/ports/log.js'
import { memoryForge } from '../../test/fakes/memory-forge.js'
import { untimed } from '../child.js'
import type { ChildTask, Scenario } from '../scenario.js'
import type { Measurement } from '../stats.js'
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

/** The run `hours` after the history's last run, five minutes past the hour. */
const runAt = (hours: number) => new Date(END.getTime() + hours * HOUR_MS + 5 * 60_000)
/** Hours after the history: the next hourly run, and a run after a missed day. */
const HOURLY = 1
const AFTER_A_DAY = 24
/** Buckets per page as the adapters ask (`limit=168`): the 25-hour window is one page. */
const HOURS_PER_PAGE = 168

/**
 * Provider requests of one hourly run's usage read, from the adapters' code (not measured):
 * OpenAI 1 `/organization/costs` + 6 `/organization/usage/{family}` pages (25 hourly buckets
 * fit one page of `limit=168`); Anthropic 1 `usage_report/messages` + 1 `cost_report`;
 * OpenRouter 1 `/analytics/query` (7-day chunks) after its `/keys` listing.
 */
const USAGE_REQUESTS = { openai: 7, anthropic: 2, openrouter: 1 }

/** The previous hourly run, which read the last hour of the history. */
const PREVIOUS = new Date(END.getTime() + 5 * 60_000)
/** Its window start: the hour before END less the overlap (as the audit's fetchWindow sets it). */
const PREVIOUS_WINDOW = fetchWindow(new Date(END.getTime() - HOUR_MS).toISOString(), PREVIOUS).since
const HOLDER = 'sha256:holder'

/**
 * The hourly run after the history, as `keyward audit` makes it. Untimed: the state the previous
 * run left (its carried days, summed from the history: the days before the ones its detectors
 * read raw, detectors/window.ts) and the ledger of the 2,160 hourly snapshots. Timed: everything
 * the run does with them. `hours` after the previous run (1: the next hourly run). With `moved`,
 * the previous run's carried days end a day earlier, so this run sums one more day and writes
 * new ones (what happens once a day).
 */
const incrementalTask: ChildTask = async (params, measure) => {
  const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
  const moved = params.moved === true
  const now = runAt(numberParam(params, 'hours'))
  // The previous runs' carried days (and off-hours days), summed a day at a time as those runs did (holding all of the
  // history at once would set this child's peak RSS, which is the timed run's to show).
  const fromBefore = historyFrom(PREVIOUS)
  const throughBefore = utcDay(new Date(PREVIOUS_WINDOW.getTime() - (moved ? DAY_MS : 0)))
  const offHours = offHoursRules(
    org.inventory,
    detectorContext(org, [], PREVIOUS, PREVIOUS_WINDOW).matches,
  )
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
      offHours,
    })
  }
  if (!prior.carry) throw new Error('the synthetic usage did not fit carried days')
  const carriedText = formatUsageDays(toUsageDaysJson(prior.carry))
  const stateText = formatState({
    version: 1,
    providers: Object.fromEntries(
      Object.keys(org.inventory.providers).map((p) => [
        p,
        { watermark: END.toISOString(), failed_runs: 0 },
      ]),
    ),
    usage_days: { text: carriedText, snapshot: HOLDER },
  })
  const digest = usageDaysDigest(carriedText)
  const entries: LedgerEntry[] = Array.from({ length: HISTORY_HOURS }, (_, hour) => ({
    path: snapshotPath(hour),
    sha256: hour === HISTORY_HOURS - 1 ? HOLDER : `sha256:${hour}`,
    prev: hour === 0 ? null : `sha256:${hour - 1}`,
    at: new Date(START.getTime() + (hour + 1) * HOUR_MS).toISOString(),
  }))
  const hourOf = new Map(entries.map((e, hour) => [e.path, hour]))
  // Snapshots as the checkout holds them: files, read as bytes. The ones this run can read (from
  // a day before the carried days end) are made before the timer starts, as files on disk would
  // be, so that making them leaves no garbage for the timed run to collect; any other is made
  // when read, untimed.
  const encoder = new TextEncoder()
  const bytesOf = (hour: number) =>
    encoder.encode(
      snapshotText(org, hour, true, [], hour === HISTORY_HOURS - 1 ? digest : undefined),
    )
  const onDisk = new Map<number, Uint8Array>()
  const firstOnDisk = (dayStartMs(throughBefore) - DAY_MS - START.getTime()) / HOUR_MS
  for (let hour = Math.max(0, firstOnDisk); hour < HISTORY_HOURS; hour++)
    onDisk.set(hour, bytesOf(hour))
  const readLocal = async (path: string) => {
    const hour = hourOf.get(path)
    if (hour === undefined) return undefined
    return onDisk.get(hour) ?? untimed(() => bytesOf(hour))
  }
  const { forge } = memoryForge()
  const window = fetchWindow(END.toISOString(), now)
  const from = (window.since.getTime() - START.getTime()) / HOUR_MS
  const to = (window.until.getTime() - START.getTime()) / HOUR_MS
  const pages = usagePageLists(org, from, to, HOURS_PER_PAGE)
  const result = await measure(async () => {
    const state = readState(stateText)
    const fresh = await readUsage(pages, window.since, window.until)
    const windowStart = window.since
    let freshFirstStart: string | undefined
    for (const u of fresh)
      if (freshFirstStart === undefined || u.start < freshFirstStart) freshFirstStart = u.start
    const buckets = new FreshBuckets(fresh)
    const history = await readHistory(
      forge,
      readLocal,
      entries,
      { now, windowStart, freshFirstStart, carried: state.usage_days, fresh: buckets },
      silentLog,
    )
    const historyStart = historyFrom(now)
    const context = detectorContext(org, [], now, windowStart)
    const carried = carryForward({
      base: history.base,
      history: history.usage,
      fresh,
      snapshots: history.snapshots,
      freshEvents: [],
      from: historyStart,
      through: [utcDay(windowStart), historyStart, history.base.through].sort().at(-1) ?? '',
      offHours: offHoursRules(org.inventory, context.matches),
    })
    const changed = buckets.changed(fresh)
    const detected = runDetectors({
      ...context,
      usage: carried.usage,
      earlier: carried.earlier,
      events: carried.events,
    })
    // The state for the next run: new carried days (and their digest) only when they moved.
    const moves =
      carried.carry?.through !== history.base.through || carried.carry.from !== history.base.from
    const text =
      moves && carried.carry ? formatUsageDays(toUsageDaysJson(carried.carry)) : undefined
    const nextDigest = text !== undefined ? usageDaysDigest(text) : undefined
    const next = formatState({
      ...state,
      usage_days: text !== undefined ? { text, snapshot: 'sha256:next' } : state.usage_days,
    })
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
  // They move when this run's raw days or history start differ from the previous run's.
  const rawNow = utcDay(window.since)
  const shouldMove = moved || rawNow !== throughBefore || historyFrom(now) !== fromBefore
  if (result.moves !== shouldMove)
    throw new Error(`the carried days ${shouldMove ? 'did not move' : 'moved'}`)
  const expected = countRecords(org, (dayStartMs(result.through) - START.getTime()) / HOUR_MS, to)
  if (result.raw !== expected)
    throw new Error(`kept ${result.raw} usage records raw, expected ${expected}`)
}

/**
 * The floor: the same run's new data analysed alone, as if it were the whole history: its pages
 * read through the adapter, merged per key, and judged by the detectors (with no baselines to
 * build). What any run reading this much must pay; the incremental run adds the history to it.
 */
const windowTask: ChildTask = async (params, measure) => {
  const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
  const now = runAt(numberParam(params, 'hours'))
  const window = fetchWindow(END.toISOString(), now)
  const from = (window.since.getTime() - START.getTime()) / HOUR_MS
  const to = (window.until.getTime() - START.getTime()) / HOUR_MS
  const pages = usagePageLists(org, from, to, HOURS_PER_PAGE)
  const result = await measure(async () => {
    const fresh = await readUsage(pages, window.since, window.until)
    const first = utcDay(window.since)
    const carried = carryForward({
      base: emptyUsageDays(first),
      history: [],
      fresh,
      snapshots: [],
      freshEvents: [],
      from: first,
      through: first,
    })
    const detected = runDetectors({
      ...detectorContext(org, carried.usage, now, window.since),
      earlier: carried.earlier,
      events: carried.events,
    })
    return { read: fresh.length, ...detected }
  })
  if (result.errors.length > 0) throw new Error(`a detector failed: ${result.errors[0]}`)
  if (result.read !== countRecords(org, from, to))
    throw new Error(`read ${result.read} usage records, expected ${countRecords(org, from, to)}`)
}

export const incrementalAuditScenario: Scenario = {
  name: 'incremental-audit',
  describe: [
    `**incremental audit**: the hourly run after a 90-day history of the audit-analysis organization, as \`keyward audit\` makes it when \`audit/state.json\` carries the history's earlier days (per provider key and UTC day: cost, tokens, first use; per month the cost so far; last use; audit-event IPs). Untimed: the state the previous hourly run left (its carried days: the days before its detectors' window, summed from the history) and the ledger of 2,160 hourly snapshots (canonical JSON as \`keyward audit\` commits them, read as bytes like files of the checkout: the ones after the previous run's carried days, less a day, made before the timer starts, any other when read). Timed: reading the state (its carried days kept as the text their digest covers); reading the run's window from \`fetchWindow(watermark, now)\` — the new hour plus the ${DEFAULT_OVERLAP_HOURS}-hour overlap the audit re-reads because providers settle buckets late, one page per provider — through the OpenAI adapter and the in-memory page server; \`readHistory\`: checking the carried days against the digest in the snapshot that wrote them, then reading and JSON.parse of only the snapshots written after the carried days (from the UTC midnight before the 25-hour window: about 36 of the 2,160; the stored records of the re-read hours are met by bucket and not kept; each key's off-hours count for the local day in progress at that midnight comes with the carried days); \`carryForward\` (usage merged per key, the carried days moved up to the window's first UTC day when it changed, with each key's off-hours day), what the snapshot stores (only new or changed records, found as the history was read), building the DetectorContext and \`runDetectors\` (judging the 25 hours read; earlier runs judged the rest), and the next state.json (with new carried days and their digest once a day, the second row). The history reaches back HISTORY_DAYS (40 days) as in the audit. The same run a day later (after a missed day: 48 hours read, the carried days moved) is the third row. Each is compared on CPU with its new data analysed alone (**window** task: the same pages read through the adapter, merged, and judged by the detectors as if they were the whole history: what any run reading that much pays, the adapter's one-time schema compilation included), and with the full analysis row at the same size. Requests (from the adapters' code, not measured): a run's usage read costs OpenAI ${USAGE_REQUESTS.openai} requests (1 costs + 6 usage families, one page each: 25 hourly buckets fit \`limit=168\`), Anthropic ${USAGE_REQUESTS.anthropic} (usage report + cost report), OpenRouter ${USAGE_REQUESTS.openrouter} analytics query plus its \`/keys\` listing — constant in the length of the history; key listings (100 keys a page at OpenAI and OpenRouter, 1,000 at Anthropic) and audit logs grow with the organization, not with the hours.`,
  ],
  tasks: {
    analysis: analysisTask,
    parse: parseTask,
    incremental: incrementalTask,
    window: windowTask,
  },

  async run(ctx) {
    const keys = ctx.quick ? 100 : 1_000
    // Shares the audit-analysis measurement when that scenario ran in this bench run.
    const full = await measureFull(ctx, keys, ctx.quick ? 2 : runsAt(false))
    const p = { keys, seed: ctx.seed }
    const m = await ctx.measure(
      {
        hourly: ctx.child('incremental', { ...p, hours: HOURLY }),
        moved: ctx.child('incremental', { ...p, hours: HOURLY, moved: true }),
        day: ctx.child('incremental', { ...p, hours: AFTER_A_DAY }),
        hourlyAlone: ctx.child('window', { ...p, hours: HOURLY }),
        dayAlone: ctx.child('window', { ...p, hours: AFTER_A_DAY }),
      },
      ctx.quick ? 2 : 3,
      { label: `incremental audit ${keysLabel(keys)}` },
    )
    const percent = (part: Measurement) =>
      part.cpu && full.analysis.cpu
        ? `${((100 * part.cpu.median) / full.analysis.cpu.median).toFixed(1)}%`
        : '?'
    const read = (hours: number) => hours + DEFAULT_OVERLAP_HOURS
    const sizeOf = (hours: number) =>
      `${keysLabel(keys)}, +${hours} h (${read(hours)} h read) after 90 days`
    const aloneOf = (hours: number) =>
      `the same ${read(hours)} h analysed alone, with no history (the new data's own cost)`
    const requests = Object.values(USAGE_REQUESTS).reduce((a, b) => a + b, 0)
    const rows: Row[] = [
      {
        kind: 'measured',
        scenario: `incremental audit, hourly (${requests} usage requests, constant)`,
        size: sizeOf(HOURLY),
        measurement: m.hourly,
        compare: { label: aloneOf(HOURLY), floor: m.hourlyAlone, metric: 'cpu' },
      },
      {
        kind: 'measured',
        scenario: 'incremental audit, carried days move a day (once a day)',
        size: sizeOf(HOURLY),
        measurement: m.moved,
        compare: { label: aloneOf(HOURLY), floor: m.hourlyAlone, metric: 'cpu' },
      },
      { kind: 'floor', label: aloneOf(HOURLY), size: sizeOf(HOURLY), measurement: m.hourlyAlone },
      {
        kind: 'measured',
        scenario: 'incremental audit after a missed day',
        size: sizeOf(AFTER_A_DAY),
        measurement: m.day,
        compare: { label: aloneOf(AFTER_A_DAY), floor: m.dayAlone, metric: 'cpu' },
      },
      {
        kind: 'floor',
        label: aloneOf(AFTER_A_DAY),
        size: sizeOf(AFTER_A_DAY),
        measurement: m.dayAlone,
      },
      {
        kind: 'floor',
        label: `full analysis, same size (hourly run = ${percent(m.hourly)} of its CPU, ${percent(m.moved)} once a day, ${percent(m.day)} after a missed day)`,
        size: `${keysLabel(keys)} × 90 days hourly`,
        measurement: full.analysis,
      },
    ]
    return rows
  },
}

/**
 * incremental audit: the hourly run after a 90-day history — read the new window, merge it into
 * the history, rerun the detectors — against the full analysis and against the new data's share.
 */
import { runDetectors } from '../../src/analysis/detectors/index.js'
import {
  changedUsage,
  DEFAULT_OVERLAP_HOURS,
  fetchWindow,
  mergeUsage,
} from '../../src/analysis/fetch-window.js'
import type { UsageRecord } from '../../src/records.js'
import type { Scenario } from '../scenario.js'
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
  snapshotText,
  START,
  syntheticOrg,
  usagePages,
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

export const incrementalAuditScenario: Scenario = {
  name: 'incremental-audit',
  describe: [
    `**incremental audit**: the hourly run after a 90-day history of the audit-analysis organization. The history is the usage of 2,160 hourly snapshots (canonical JSON as \`keyward audit\` commits them, JSON.parse'd outside the timing as \`readHistory\` does). Timed: reading the run's window from \`fetchWindow(watermark, now)\` — the new hour plus the ${DEFAULT_OVERLAP_HOURS}-hour overlap the audit re-reads because providers settle buckets late, one page per provider — through the OpenAI adapter and the in-memory page server, \`mergeUsage\` into the history and time-ordering, \`changedUsage\` (what the snapshot stores), building the DetectorContext and \`runDetectors\` (window: the last 7 days). Compared on CPU with the full analysis row at the same size, and with the new data's share of it (1/2,160: the cost of a run that is proportional to the new data only). Requests (from the adapters' code, not measured): a run's usage read costs OpenAI ${USAGE_REQUESTS.openai} requests (1 costs + 6 usage families, one page each: 25 hourly buckets fit \`limit=168\`), Anthropic ${USAGE_REQUESTS.anthropic} (usage report + cost report), OpenRouter ${USAGE_REQUESTS.openrouter} analytics query plus its \`/keys\` listing — constant in the length of the history; key listings (100 keys a page at OpenAI and OpenRouter, 1,000 at Anthropic) and audit logs grow with the organization, not with the hours.`,
  ],
  tasks: {
    analysis: analysisTask,
    parse: parseTask,
    async incremental(params, measure) {
      const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
      const history: UsageRecord[] = []
      for (let hour = 0; hour < HISTORY_HOURS; hour++) {
        const snapshot = JSON.parse(snapshotText(org, hour, false)) as {
          providers: Record<string, { usage: UsageRecord[] }>
        }
        for (const p of Object.values(snapshot.providers)) for (const u of p.usage) history.push(u)
      }
      const window = fetchWindow(END.toISOString(), NOW)
      const from = (window.since.getTime() - START.getTime()) / HOUR_MS
      const to = (window.until.getTime() - START.getTime()) / HOUR_MS
      const pages = usagePages(org, from, to, HOURS_PER_PAGE)
      const result = await measure(async () => {
        const fresh = await readUsage(pages, window.since, window.until)
        const usage = mergeUsage(history, fresh).sort((a, b) => a.start.localeCompare(b.start))
        const changed = changedUsage(history, fresh)
        const windowStart = new Date(
          Math.min(window.since.getTime(), window.until.getTime() - EVENT_LOOKBACK_MS),
        )
        const detected = runDetectors(detectorContext(org, usage, NOW, windowStart))
        return { records: usage.length, fresh: fresh.length, changed: changed.length, ...detected }
      })
      if (result.errors.length > 0) throw new Error(`a detector failed: ${result.errors[0]}`)
      const expected = countRecords(org, 0, to)
      if (result.records !== expected)
        throw new Error(`merged ${result.records} usage records, expected ${expected}`)
    },
  },

  async run(ctx) {
    const keys = ctx.quick ? 100 : 1_000
    // Shares the audit-analysis measurement when that scenario ran in this bench run.
    const full = await measureFull(ctx, keys, ctx.quick ? 2 : runsAt(false, keys))
    const m = await ctx.measure(
      { incremental: ctx.child('incremental', { keys, seed: ctx.seed }) },
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
    const ofFull =
      m.incremental.cpu && full.analysis.cpu
        ? ` = ${((100 * m.incremental.cpu.median) / full.analysis.cpu.median).toFixed(0)}% of its CPU`
        : ''
    const size = `${keysLabel(keys)}, +1 h (${DEFAULT_OVERLAP_HOURS + 1} h read) after 90 days`
    const label = `full analysis × 1/${share.toLocaleString('en-US')} (the new hour's share)`
    const rows: Row[] = [
      {
        kind: 'measured',
        scenario: `incremental audit (${Object.values(USAGE_REQUESTS).reduce((a, b) => a + b, 0)} usage requests, constant)`,
        size,
        measurement: m.incremental,
        compare: { label, floor: proportional, metric: 'cpu' },
      },
      { kind: 'floor', label, size, measurement: proportional },
      {
        kind: 'floor',
        label: `full analysis, same size (incremental${ofFull})`,
        size: `${keysLabel(keys)} × 90 days hourly`,
        measurement: full.analysis,
      },
    ]
    return rows
  },
}

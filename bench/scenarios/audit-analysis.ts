/**
 * audit analysis: 90 days of hourly usage of a synthetic organization, from provider pages to
 * findings, against JSON.parse of the same pages.
 */
import { runDetectors } from '../../src/analysis/detectors/index.js'
import { offHoursRules } from '../../src/analysis/detectors/off-hours.js'
import { fetchWindow } from '../../src/analysis/fetch-window.js'
import { utcDay } from '../../src/analysis/time.js'
import {
  carryForward,
  dayStartMs,
  emptyUsageDays,
  toUsageDaysJson,
} from '../../src/analysis/usage-days.js'
import { usageDaysDigest } from '../../src/commands/audit-history.js'
import { formatUsageDays } from '../../src/commands/audit-state.js'
import { untimed } from '../child.js'
import type { BenchContext, ChildTask, Scenario } from '../scenario.js'
import type { Measurement } from '../stats.js'
import {
  countRecords,
  detectorContext,
  END,
  HISTORY_HOURS,
  HOUR_MS,
  keysLabel,
  numberParam,
  readUsage,
  START,
  syntheticOrg,
  usagePageLists,
} from '../synthetic-org.js'
import type { Row } from '../table.js'

/** Hourly buckets per provider page: one page per day. */
export const HOURS_PER_PAGE = 24
/**
 * The detectors' window as an hourly run at END sets it (src/commands/audit.ts): the start of
 * its provider read, the hour before END less the overlap re-read.
 */
export const WINDOW_START = fetchWindow(new Date(END.getTime() - HOUR_MS).toISOString(), END).since
const SIZE_TAIL = '× 90 days hourly'
const FLOOR_LABEL = '`JSON.parse` of the same pages'
/** The largest size of issue 9's table; run only where it fits (see run()). */
const LARGEST = 5_000

/**
 * The whole analysis of a run that reads its whole history (a first run, or one whose carried
 * days did not check out): pages → adapter → usage merged per key, the days before the window
 * summed for the next run → context → detectors, and the carried days as state.json gets them.
 */
export const analysisTask: ChildTask = async (params, measure) => {
  const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
  const pages = usagePageLists(org, 0, HISTORY_HOURS, HOURS_PER_PAGE)
  const from = utcDay(START)
  const through = utcDay(WINDOW_START)
  const result = await measure(async () => {
    const fresh = await readUsage(pages, START, END)
    const context = detectorContext(org, [], END, WINDOW_START)
    const carried = carryForward({
      base: emptyUsageDays(from),
      history: [],
      fresh,
      snapshots: [],
      freshEvents: [],
      from,
      through,
      offHours: offHoursRules(org.inventory, context.matches),
    })
    const detected = runDetectors({
      ...context,
      usage: carried.usage,
      earlier: carried.earlier,
      events: carried.events,
    })
    if (!carried.carry) throw new Error('the synthetic usage did not fit carried days')
    // What the run writes for the next one: the carried days, and their digest for the snapshot.
    const text = formatUsageDays(toUsageDaysJson(carried.carry))
    const digest = usageDaysDigest(text)
    return {
      read: fresh.length,
      raw: carried.usage.length,
      bytes: text.length + digest.length,
      ...detected,
    }
  })
  if (result.errors.length > 0) throw new Error(`a detector failed: ${result.errors[0]}`)
  const expected = countRecords(org, 0, HISTORY_HOURS)
  if (result.read !== expected)
    throw new Error(`read ${result.read} usage records, generated ${expected}`)
  const raw = countRecords(org, (dayStartMs(through) - START.getTime()) / HOUR_MS, HISTORY_HOURS)
  if (result.raw !== raw) throw new Error(`kept ${result.raw} usage records raw, expected ${raw}`)
}

/**
 * The floor: JSON.parse of every page, keeping the parsed values as before. Pages are made one
 * at a time when needed and their text dropped after parsing, as the analysis gets them, so
 * neither holds all of the page text.
 */
export const parseTask: ChildTask = async (params, measure) => {
  const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
  const lists = [...usagePageLists(org, 0, HISTORY_HOURS, HOURS_PER_PAGE).values()]
  const parsed = await measure(() => {
    const values: unknown[] = []
    for (const list of lists)
      for (let i = 0; i < list.count; i++) values.push(JSON.parse(untimed(() => list.page(i))))
    return values
  })
  const expected = lists.reduce((n, l) => n + l.count, 0)
  if (parsed.length !== expected) throw new Error(`parsed ${parsed.length} pages of ${expected}`)
}

/**
 * The full analysis at `keys`, measured once per bench run and shared with the incremental
 * scenario (which compares with it). `scenario` is whichever scenario asks first.
 */
const fullRuns = new Map<string, Promise<{ analysis: Measurement; floor: Measurement }>>()
export function measureFull(
  ctx: BenchContext,
  keys: number,
  runs: number,
): Promise<{ analysis: Measurement; floor: Measurement }> {
  const id = `${keys}/${ctx.seed}/${ctx.quick}`
  let pending = fullRuns.get(id)
  if (!pending) {
    const p = { keys, seed: ctx.seed }
    pending = ctx.measure(
      { analysis: ctx.child('analysis', p), floor: ctx.child('parse', p) },
      runs,
      { label: `audit analysis ${keysLabel(keys)}` },
    )
    fullRuns.set(id, pending)
  }
  return pending
}

/** Runs per size: 5 (at 1,000 keys the ratio lies near issue 5's 2×, and 3 runs spread ±10%). */
export const runsAt = (quick: boolean) => (quick ? 3 : 5)

export const auditAnalysisScenario: Scenario = {
  name: 'audit-analysis',
  describe: [
    `**audit analysis**: a synthetic organization (the inventory of \`generateInventory(keys, seed)\`, keys spread over openai / anthropic / openrouter and matched by \`provider_key_id\`) with 90 days of hourly usage: each key is used in about 30% of the hours (seeded; mostly inside its workflow's active hours, 2% of the hours outside them), one model, and a second one in 10% of its active hours. The usage is served as provider pages, one page of 24 hourly buckets per provider per day, in OpenAI's \`/organization/usage/completions\` shape (\`group_by=api_key_id,model\`) for all three providers, from memory through an HttpClient fake (no network) to the real OpenAI adapter (\`createOpenAiProvider\`; costs per key refused with a 400, so cost is estimated from tokens). Each page is generated when the adapter asks for it, its generation time taken off the timing, and dropped once read, as a page arriving over HTTP is: the child never holds the whole page text, only what the analysis keeps. Timed: for every page JSON.parse + the adapter's schema check + normalizing to UsageRecords, then what \`keyward audit\` does on a run that reads its whole history (a first run, or one whose carried days are missing or do not check out): \`carryForward\` (usage merged per key in time order, the days before the detectors' window summed per key and day), building the DetectorContext (\`matchKeys\`), \`runDetectors\` judging the window an hourly run reads (its last hour and the 24-hour overlap; off-hours counts the local days these fall in whole) with baselines from the rest, and the carried days as \`audit/state.json\` gets them (JSON and their SHA-256 for the snapshot). The audit itself reads back at most 40 days of history (HISTORY_DAYS), so 90 days is an upper bound. Floor: JSON.parse of the same pages, generated one at a time and their text dropped in the same way, keeping the parsed values, in a fresh process the same way. Ratio on CPU; peak RSS is what each keeps (the floor: the parsed pages; the analysis: its usage records, series and state) plus one page in flight.`,
  ],
  tasks: { analysis: analysisTask, parse: parseTask },

  async run(ctx) {
    const sizes = ctx.quick ? [100] : [100, 1_000]
    const rows: Row[] = []
    for (const keys of sizes) {
      const m = await measureFull(ctx, keys, runsAt(ctx.quick))
      const size = `${keysLabel(keys)} ${SIZE_TAIL}`
      rows.push(
        {
          kind: 'measured',
          scenario: 'audit analysis',
          size,
          measurement: m.analysis,
          compare: { label: FLOOR_LABEL, floor: m.floor, metric: 'cpu' },
          series: { name: 'audit analysis', units: keys, unit: 'key' },
        },
        { kind: 'floor', label: FLOOR_LABEL, size, measurement: m.floor },
      )
    }
    if (!ctx.quick) rows.push(largestRow(ctx, rows))
    return rows
  },
}

/**
 * 5,000 keys is not run: it does not fit the bench's time budget (issue 9: the whole bench in
 * 10 minutes on 2 cores), and its heap would approach Node's default limit. The row says so,
 * with the size of the data computed from the seed and the 1,000-key figures.
 */
function largestRow(ctx: BenchContext, rows: readonly Row[]): Row {
  const org = syntheticOrg(LARGEST, ctx.seed)
  const records = countRecords(org, 0, HISTORY_HOURS)
  const sample = syntheticOrg(100, ctx.seed)
  const sampleRecords = countRecords(sample, 0, HISTORY_HOURS)
  let sampleBytes = 0
  for (const list of usagePageLists(sample, 0, HISTORY_HOURS, HOURS_PER_PAGE).values())
    for (let i = 0; i < list.count; i++) sampleBytes += list.page(i).length
  const bytes = (records * sampleBytes) / sampleRecords
  const at1000 = rows.find((r) => r.kind === 'measured' && r.series?.units === 1_000) as
    Extract<Row, { kind: 'measured' }> | undefined
  const cpu = at1000?.measurement.cpu?.median
  const rss = at1000?.measurement.rss?.median
  const scale = LARGEST / 1_000
  const estimate =
    cpu !== undefined && rss !== undefined
      ? `; by the 1,000-key row about ${Math.round((cpu * scale) / 1000)} s CPU and ${((rss * scale) / 1024).toFixed(1)} GB peak RSS per run`
      : ''
  return {
    kind: 'failed',
    scenario: 'audit analysis',
    message: `${keysLabel(LARGEST)} ${SIZE_TAIL} not run: ${(records / 1e6).toFixed(1)} M usage records, ${(bytes / 2 ** 30).toFixed(2)} GB of page JSON${estimate}, over the bench's time budget`,
  }
}

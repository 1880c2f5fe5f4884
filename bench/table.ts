/**
 * Rows, the markdown table, the checks that flag a row for profiling, and BENCHMARKS.md.
 * Pure: everything here is a function of the rows and the machine description.
 */
import { growthExponent, ratioOf, type Measurement, type Metric, type Summary } from './stats.js'

/** A ratio above this is flagged for profiling (issue 9). */
export const RATIO_LIMIT = 2
/** A growth exponent above this between two sizes counts as worse than linear. */
export const GROWTH_LIMIT = 1.1

/** A scenario measured at one size. */
export interface MeasuredRow {
  kind: 'measured'
  scenario: string
  size: string
  measurement: Measurement
  /** The floor this row is compared with, on one metric. */
  compare?: { label: string; floor: Measurement; metric: Metric }
  /** Rows with the same series name form a growth curve over `units` (keys, files). */
  series?: { name: string; units: number; unit: string }
}

/** The floor a measured row is compared with, shown under it. */
export interface FloorRow {
  kind: 'floor'
  label: string
  size: string
  measurement: Measurement
}

/** A scenario whose feature has not landed: the row keeps the table's shape. */
export interface PendingRow {
  kind: 'pending'
  scenario: string
  sizes: string
  issue: number
}

/** A scenario that could not run this time (the message says why). */
export interface FailedRow {
  kind: 'failed'
  scenario: string
  message: string
}

export type Row = MeasuredRow | FloorRow | PendingRow | FailedRow

const grouping = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 })

/** Three significant digits, grouped thousands: 0.123, 1.23, 12.3, 123, 1,234. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 100 || abs === 0) return grouping.format(value)
  const digits = abs >= 10 ? 1 : abs >= 1 ? 2 : 3
  return value.toFixed(digits)
}

/** `median (min–max)`, or `—` when the metric was not measured. */
export function formatSummary(summary: Summary | undefined): string {
  if (summary === undefined) return '—'
  if (summary.n === 1 || summary.min === summary.max) return formatNumber(summary.median)
  return `${formatNumber(summary.median)} (${formatNumber(summary.min)}–${formatNumber(summary.max)})`
}

const METRIC_NAMES: Record<Metric, string> = { wall: 'wall', cpu: 'CPU', rss: 'RSS' }

/** `2.3×`, `14×`, `0.85×`; a dash when there is no ratio. */
export function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined || !Number.isFinite(ratio)) return '—'
  if (ratio >= 10) return `${Math.round(ratio)}×`
  if (ratio >= 1) return `${ratio.toFixed(1)}×`
  return `${ratio.toFixed(2)}×`
}

function ratioCell(row: MeasuredRow): string {
  if (!row.compare) return ''
  const ratio = ratioOf(row.measurement, row.compare.floor, row.compare.metric)
  const text = `${formatRatio(ratio)} ${METRIC_NAMES[row.compare.metric]}`
  return ratio !== undefined && ratio > RATIO_LIMIT ? `**${text}**` : text
}

const escapeCell = (text: string) => text.replaceAll('|', '\\|')

/** The results as one markdown table, rows in the order given. */
export function renderTable(rows: readonly Row[]): string {
  const lines = [
    '| scenario | size | runs | wall ms | CPU ms | peak RSS MB | vs floor |',
    '|---|---|--:|--:|--:|--:|---|',
  ]
  const cells = (values: string[]) => `| ${values.map(escapeCell).join(' | ')} |`
  for (const row of rows) {
    switch (row.kind) {
      case 'measured':
      case 'floor': {
        const m = row.measurement
        const name = row.kind === 'measured' ? row.scenario : `↳ floor: ${row.label}`
        lines.push(
          cells([
            name,
            row.size,
            String(m.runs),
            formatSummary(m.wall),
            formatSummary(m.cpu),
            formatSummary(m.rss),
            row.kind === 'measured' ? ratioCell(row) : '',
          ]),
        )
        break
      }
      case 'pending':
        lines.push(
          cells([
            row.scenario,
            row.sizes,
            '—',
            '—',
            '—',
            '—',
            `not built yet (issue ${row.issue})`,
          ]),
        )
        break
      case 'failed':
        lines.push(cells([row.scenario, '—', '—', '—', '—', '—', `failed: ${row.message}`]))
        break
    }
  }
  return lines.join('\n')
}

/** A row the issue asks to profile: a ratio above 2×, or growth worse than linear. */
export interface Flag {
  kind: 'ratio' | 'growth'
  subject: string
  detail: string
}

function costMetric(row: MeasuredRow): Metric {
  return row.compare?.metric ?? (row.measurement.cpu ? 'cpu' : 'wall')
}

/** Every ratio above RATIO_LIMIT, and every series step whose growth exponent exceeds GROWTH_LIMIT. */
export function findFlags(rows: readonly Row[]): Flag[] {
  const flags: Flag[] = []
  const measured = rows.filter((r): r is MeasuredRow => r.kind === 'measured')
  for (const row of measured) {
    if (!row.compare) continue
    const { metric, label } = row.compare
    const ratio = ratioOf(row.measurement, row.compare.floor, metric)
    if (ratio === undefined || ratio <= RATIO_LIMIT) continue
    flags.push({
      kind: 'ratio',
      subject: `${row.scenario}, ${row.size}`,
      detail: `${METRIC_NAMES[metric]} ${formatRatio(ratio)} the floor (${label}): ${formatNumber(row.measurement[metric]?.median ?? NaN)} ms vs ${formatNumber(row.compare.floor[metric]?.median ?? NaN)} ms`,
    })
  }
  const series = new Map<string, MeasuredRow[]>()
  for (const row of measured) {
    if (!row.series) continue
    series.set(row.series.name, [...(series.get(row.series.name) ?? []), row])
  }
  for (const [name, members] of series) {
    const sorted = [...members].sort((a, b) => (a.series?.units ?? 0) - (b.series?.units ?? 0))
    for (let i = 1; i < sorted.length; i++) {
      const from = sorted[i - 1] as MeasuredRow
      const to = sorted[i] as MeasuredRow
      const metric = costMetric(to)
      const a = { units: from.series?.units ?? 0, cost: from.measurement[metric]?.median ?? 0 }
      const b = { units: to.series?.units ?? 0, cost: to.measurement[metric]?.median ?? 0 }
      if (a.cost <= 0 || b.cost <= 0 || b.units <= a.units) continue
      const k = growthExponent(a, b)
      if (k <= GROWTH_LIMIT) continue
      const unit = to.series?.unit ?? 'unit'
      flags.push({
        kind: 'growth',
        subject: `${name}, ${from.size} → ${to.size}`,
        detail: `${METRIC_NAMES[metric]} grows as size^${k.toFixed(2)}: ${formatNumber(a.cost / a.units)} → ${formatNumber(b.cost / b.units)} ms per ${unit}`,
      })
    }
  }
  return flags
}

/**
 * The "reading the numbers" list: one line per flag. A flag whose subject the kept notes
 * mention (the text between NOTES_START and NOTES_END) points there; any other gets a TODO.
 */
export function renderFlags(flags: readonly Flag[], notes = ''): string {
  if (flags.length === 0) {
    return `Every ratio is within ${RATIO_LIMIT}× of its floor, and no cost grows faster than linearly with size.`
  }
  return flags
    .map((flag) => {
      const line = `- **${flag.subject}**: ${flag.detail}.`
      return notes.includes(flag.subject)
        ? `${line} Explained under "Notes".`
        : `${line}\n  TODO(lead): profile with \`--cpu-prof\`, then fix or explain under "Notes" (name the row as above).`
    })
    .join('\n')
}

/** BENCHMARKS.md keeps what people write between these markers when the bench rewrites it. */
export const NOTES_START = '<!-- notes: kept when `npm run bench` rewrites this file -->'
export const NOTES_END = '<!-- end of notes -->'
const NOTES_PLACEHOLDER = '(Explanations of the flagged rows, after profiling, go here.)'

/**
 * The kept notes of an earlier BENCHMARKS.md, or '' when it has none. A start marker pasted
 * inside the notes would otherwise carry the text before it (tables and all) into every rerun:
 * the notes begin after the last start marker before the end marker.
 */
export function keptNotes(previous: string | undefined): string {
  if (previous === undefined) return ''
  const end = previous.indexOf(NOTES_END)
  const start = end === -1 ? -1 : previous.lastIndexOf(NOTES_START, end)
  if (start === -1) return ''
  const notes = previous.slice(start + NOTES_START.length, end).trim()
  return notes === NOTES_PLACEHOLDER ? '' : notes
}

export interface BenchReport {
  /** ISO timestamp of the run. */
  date: string
  machine: { cpu: string; cores: number; memoryGiB: number; os: string; loadAverage: string }
  node: string
  seed: number
  durationS: number
  mode: 'full' | 'quick'
  rows: readonly Row[]
  /** One paragraph per scenario: what it measures and how. */
  descriptions: readonly string[]
  /** Facts needed to read the table (e.g. the RSS of an idle bench child). */
  notes: readonly string[]
  /** Which code was measured: version, commit, and whether the working tree differs. */
  build: string
  /** The previous BENCHMARKS.md, whose notes are kept. */
  previous?: string
}

/** BENCHMARKS.md: the machine, how to rerun, the table, how it was measured, what to look at. */
export function renderBenchmarksMd(report: BenchReport): string {
  const { machine } = report
  const notes = keptNotes(report.previous)
  const quick =
    report.mode === 'quick'
      ? '\n> **Quick run** (`--quick`): small sizes and few runs, for development only.\n'
      : ''
  return `# Benchmarks

What keyward costs as an organization grows, each figure next to the floor no implementation
can beat on the same machine. Written by \`npm run bench\` (\`bench/\`): edit only the "Notes"
section, which a rerun keeps.
${quick}
- **Rerun:** \`npm run bench\` (this run took ${Math.round(report.durationS)} s). \`npm run bench -- --quick\` is a fast check that writes nothing unless \`--write\` is given.
- **Date:** ${report.date}
- **Machine:** ${machine.cpu}, ${machine.cores} cores, ${formatNumber(machine.memoryGiB)} GiB memory, ${machine.os}; load average at start ${machine.loadAverage}
- **Node:** ${report.node}
- **Code:** ${report.build}
- **Seed:** ${report.seed} (inventories and key values are generated from it)

## Results

${renderTable(report.rows)}

Each figure is the median of the runs, with min–max in brackets; every run is a fresh process, and
the measured work and its floor run alternately. CPU is user + system time; peak RSS is the
process's \`maxRSS\`. A bold ratio is above ${RATIO_LIMIT}×.

${report.notes.map((n) => `- ${n}`).join('\n')}

## What each row measures

${report.descriptions.map((d) => `- ${d}`).join('\n')}

## Reading the numbers

${renderFlags(findFlags(report.rows), notes)}

## Notes

${NOTES_START}
${notes || NOTES_PLACEHOLDER}
${NOTES_END}
`
}

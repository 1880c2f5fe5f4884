import { spendTable } from './dashboard.js'
import { dailyChart } from './issue-body.js'
import type { KeyReview, Measure, Review, WorkflowReview } from './review.js'

/** The hidden marker that makes one review issue per period (SPEC §5 style). */
export const reviewMarker = (label: string) => `<!-- keyward:review ${label} -->`

/** The period label in a review issue's marker, if any. */
export function reviewLabelOf(body: string): string | undefined {
  return /<!-- keyward:review (\d{4}-W\d{2}) -->/.exec(body)?.[1]
}

/** GitHub rejects issue bodies over 65,536 characters; stay well below. */
export const REVIEW_BODY_LIMIT = 60_000

export interface ReviewLinks {
  /** The review of the period before, when there is one. */
  previous?: { number: number; url?: string }
  /** The committed full report. */
  fullReport?: { path: string; url: string }
}

export interface RenderOptions {
  /** `full`: everything (the committed file); `issue`: summarized to fit `limit`. */
  mode: 'full' | 'issue'
  links?: ReviewLinks
  limit?: number
}

export function reviewTitle(review: Review): string {
  const days = review.period.days
  return `keyward review ${review.period.label}${days === 7 ? '' : ` (last ${days} days)`}`
}

interface Caps {
  workflows: number
  charts: number
  keys: number
  rows: number
}

const ALL: Caps = {
  workflows: Infinity,
  charts: Infinity,
  keys: Infinity,
  rows: Infinity,
}
/** Ever smaller summaries, tried in order until one fits. */
const SUMMARIES: Caps[] = [
  { workflows: 60, charts: 15, keys: 60, rows: 60 },
  { workflows: 30, charts: 8, keys: 30, rows: 30 },
  { workflows: 15, charts: 4, keys: 15, rows: 15 },
  { workflows: 5, charts: 1, keys: 5, rows: 5 },
]

const cell = (text: string) => text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|')
const money = (n: number | null) =>
  n === null ? '–' : n > 0 && n < 0.005 ? '<$0.01' : `$${n.toFixed(2)}`
let countFormat: Intl.NumberFormat | undefined
function count(n: number | null): string {
  if (n === null) return '–'
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`
  // What Number#toLocaleString('en-US') does, without a new NumberFormat per call.
  countFormat ??= new Intl.NumberFormat('en-US')
  return countFormat.format(Math.round(n))
}
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const ratio = (r: number | null) => (r === null ? '–' : `${r.toFixed(1)}×`)
const flag = (r: number | null) => (r !== null && r >= 2 ? ' ⚠️' : '')
const when = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC')

/** Finding numbers shown first in one-line summaries. */
const NUMBER_ORDER = [
  /^value$/,
  /^unit$/,
  /usd|cost|spend/,
  /tokens/,
  /^ip$/,
  /^model$/,
  /^first$/,
  /last/,
]

const BARS = '▁▂▃▄▅▆▇█'

/** Hour of day as a sparkline over the active hours, in a text block. */
function hourBlock(w: WorkflowReview): string {
  const max = Math.max(...w.hours.map((h) => h.tokens))
  if (max === 0) return ''
  const spark = w.hours
    .map((h) =>
      h.tokens === 0 ? ' ' : (BARS[Math.min(7, Math.floor((h.tokens / max) * 7.999))] ?? '█'),
    )
    .join('')
  const active = w.hours.map((h) => (h.active ? '█' : '·')).join('')
  const axis = Array.from({ length: 24 }, () => ' ')
  for (const hour of [0, 6, 12, 18]) [...String(hour)].forEach((c, i) => (axis[hour + i] = c))
  const pad = (s: string) => s.padEnd(14)
  const off =
    w.offHoursShare === null
      ? ''
      : `\n${pad('off-hours')}${Math.round(w.offHoursShare * 100)}% of hourly tokens (${count(w.offHoursTokens)})`
  return [
    '```text',
    `${pad('local hour')}${axis.join('')}  ${w.timezone}`,
    `${pad('tokens')}${spark}`,
    `${pad('active_hours')}${active}  ${w.activeHours ?? 'all day'}${off}`,
    '```',
  ].join('\n')
}

function workflowChart(w: WorkflowReview): string {
  const spend = w.daily.some((d) => d.spendUsd > 0)
  const tokens = w.daily.some((d) => d.tokens > 0)
  if (!spend && !tokens) return `_No use in the last ${w.daily.length} days._`
  return dailyChart(
    `${w.label}: daily ${spend ? 'spend' : 'tokens'}, last ${w.daily.length} days (${w.timezone})`,
    w.daily.map((d) => ({ day: d.day, value: spend ? d.spendUsd : d.tokens })),
    spend ? 'USD' : 'tokens',
  )
}

const measureCells = (m: Measure) =>
  `${money(m.spendUsd)} | ${money(m.baselineSpendUsd)} | ${ratio(m.spendRatio)}${flag(m.spendRatio)} | ${count(m.tokens)} | ${count(m.baselineTokens)} | ${ratio(m.tokensRatio)}${flag(m.tokensRatio)}`

/** Keys worth showing first: use well above baseline, then the biggest spenders. */
function notableKeys(keys: readonly KeyReview[]): KeyReview[] {
  const up = (k: KeyReview) =>
    (k.spendRatio !== null && k.spendRatio >= 2) || (k.tokensRatio !== null && k.tokensRatio >= 2)
  return [...keys.filter(up), ...keys.filter((k) => !up(k))]
}

function sections(review: Review, caps: Caps, links: ReviewLinks): string[] {
  const full = links.fullReport
  const more = (shown: number, total: number, what: string) =>
    total > shown
      ? [
          '',
          `_${total - shown} more ${what} in the ${full ? `[full report](${full.url})` : 'full report'}._`,
        ]
      : []
  const p = review.period
  const head = [
    reviewMarker(p.label),
    `## ${reviewTitle(review)}`,
    '',
    `**${when(p.start)} → ${when(p.end)}** (${p.days} days)` +
      (links.previous ? ` · previous review: #${links.previous.number}` : '') +
      (full ? ` · full report: [${full.path}](${full.url})` : ''),
    '',
    ...review.actions.map((line, i) => `${i + 1}. ${line}`),
    '',
    `Spend **${money(review.totals.spendUsd)}** (baseline ${money(review.totals.baselineSpendUsd)}, ${ratio(review.totals.spendRatio)}) · tokens **${count(review.totals.tokens)}** (baseline ${count(review.totals.baselineTokens)}, ${ratio(review.totals.tokensRatio)}) · ${plural(review.ingestion.runs, 'audit run')}. The baseline is the median of the ${review.baselinePeriods || 'no'} trailing period(s) of the same length the ledger covers.`,
  ].join('\n')

  const workflows = review.workflows.slice(0, caps.workflows)
  const workflowTable = [
    '### Workflows',
    '',
    '| workflow | owner | spend | baseline | × | tokens | baseline | × | off-hours |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|',
    ...workflows.map(
      (w) =>
        `| ${cell(w.label)} (\`${w.id}\`) | ${cell(w.owner)} | ${measureCells(w)} | ${w.offHoursShare === null ? '–' : `${Math.round(w.offHoursShare * 100)}%`} |`,
    ),
    ...more(workflows.length, review.workflows.length, 'workflows'),
  ].join('\n')

  const charted = review.workflows.slice(0, caps.charts)
  const charts = charted.length
    ? [
        '### Daily spend and hours of use',
        ...charted.flatMap((w) => [
          '',
          `#### ${cell(w.label)} (\`${w.id}\`)`,
          '',
          workflowChart(w),
          ...(hourBlock(w) ? ['', hourBlock(w)] : []),
        ]),
        ...more(charted.length, review.workflows.length, 'charts'),
      ].join('\n')
    : ''

  const keys = notableKeys(review.keys).slice(0, caps.keys)
  const keyTable = [
    '### Keys',
    '',
    '| key | workflow | provider | spend | baseline | × | tokens | baseline | × | last used |',
    '|---|---|---|--:|--:|--:|--:|--:|--:|---|',
    ...keys.map(
      (k) =>
        `| \`${k.id}\`${k.canary ? ' (canary)' : ''} | ${k.workflow} | ${k.provider} | ${measureCells(k)} | ${k.lastUsed ? k.lastUsed.slice(0, 10) : 'never'} |`,
    ),
    ...more(keys.length, review.keys.length, 'keys'),
  ].join('\n')

  const unattributed = review.unattributed.length
    ? [
        '### Usage no inventory key accounts for',
        '',
        ...review.unattributed.flatMap((u) => [
          ...(u.providerKeyIds.length
            ? [
                `- **${u.provider}**: ${money(u.spendUsd)}, ${count(u.tokens)} tokens, from keys keyward.yaml does not list: ${u.providerKeyIds
                  .slice(0, 5)
                  .map((id) => `\`${id.length > 24 ? `${id.slice(0, 12)}…` : id}\``)
                  .join(
                    ', ',
                  )}${u.providerKeyIds.length > 5 ? ` and ${u.providerKeyIds.length - 5} more` : ''}`,
              ]
            : []),
          ...(u.organizationCostUsd > 0
            ? [
                `- **${u.provider}**: ${money(u.organizationCostUsd)} reported for the organization, not split by key (left out of the totals; the per-key figures may be estimates of the same spend)`,
              ]
            : []),
        ]),
      ].join('\n')
    : ''

  const keyChange = (k: Review['providerKeys']['new'][number]) =>
    `- ${k.provider} \`${k.providerKeyId}\`${k.name ? ` "${cell(k.name)}"` : ''}${k.hint ? ` ${k.hint}` : ''}${k.owner ? ` by ${k.owner}` : ''}${k.status !== 'listed' ? ` (${k.status})` : ''} → ${k.key ? `\`${k.key}\`` : '**not in keyward.yaml**'}`
  const providerKeys = [
    '### Provider keys',
    '',
    `New: ${review.providerKeys.new.length || 'none'}. Gone or deactivated: ${review.providerKeys.gone.length || 'none'}.`,
    ...(review.providerKeys.new.length
      ? ['', '**New**', '', ...review.providerKeys.new.slice(0, caps.rows).map(keyChange)]
      : []),
    ...more(
      Math.min(caps.rows, review.providerKeys.new.length),
      review.providerKeys.new.length,
      'new keys',
    ),
    ...(review.providerKeys.gone.length
      ? ['', '**Gone**', '', ...review.providerKeys.gone.slice(0, caps.rows).map(keyChange)]
      : []),
    ...more(
      Math.min(caps.rows, review.providerKeys.gone.length),
      review.providerKeys.gone.length,
      'gone keys',
    ),
  ].join('\n')

  const findingLine = (f: Review['findings']['opened'][number], closed: boolean) => {
    const rank = (name: string) => {
      const at = NUMBER_ORDER.findIndex((re) => re.test(name))
      return at < 0 ? NUMBER_ORDER.length : at
    }
    const numbers = Object.entries(f.numbers)
      .filter(([, v]) => String(v) !== f.period)
      .sort((a, b) => rank(a[0]) - rank(b[0]))
      .slice(0, 4)
      .map(([k, v]) => `${k.replace(/_/g, ' ')} ${String(v)}`)
      .join(', ')
    return `- **${f.severity}** \`${f.rule}\` \`${f.key ?? f.subject}\` ${f.period === '-' ? '' : `${f.period} `}— ${cell(numbers)} (${closed ? `closed ${when(f.closedAt ?? '')}` : `first seen ${when(f.firstSeen)}`})`
  }
  const { opened, closed } = review.findings
  const findings = [
    '### Findings',
    '',
    `Opened: ${opened.length}. Closed: ${closed.length} (events stay open until a person closes their issue).`,
    ...(opened.length
      ? ['', '**Opened**', '', ...opened.slice(0, caps.rows).map((f) => findingLine(f, false))]
      : []),
    ...more(Math.min(caps.rows, opened.length), opened.length, 'opened findings'),
    ...(closed.length
      ? ['', '**Closed**', '', ...closed.slice(0, caps.rows).map((f) => findingLine(f, true))]
      : []),
    ...more(Math.min(caps.rows, closed.length), closed.length, 'closed findings'),
  ].join('\n')

  const changes = [
    '### Changes to keyward.yaml and keys/',
    '',
    ...(review.changes.length
      ? [
          '| when | who | keys | other | commit |',
          '|---|---|---|---|---|',
          ...review.changes
            .slice(0, caps.rows)
            .map(
              (c) =>
                `| ${when(c.at)} | ${cell(c.author)} | ${c.keys.map((k) => `\`${k.id}\` ${k.change}${k.fields.length ? ` (${k.fields.join(', ')})` : ''}`).join('; ') || '–'} | ${cell(c.other.join(', ')) || '–'} | ${c.sha.slice(0, 7)} ${cell(c.subject)} |`,
            ),
          ...more(Math.min(caps.rows, review.changes.length), review.changes.length, 'changes'),
        ]
      : ['None in this period.']),
  ].join('\n')

  const rotation = [
    '### Due for rotation in the next 30 days',
    '',
    ...(review.rotation.length
      ? [
          '| key | workflow | created | rotate_after | due | |',
          '|---|---|---|---|---|---|',
          ...review.rotation
            .slice(0, caps.rows)
            .map(
              (r) =>
                `| \`${r.key}\` | ${r.workflow} | ${r.created} | ${r.rotateAfter} | ${r.due} | ${r.daysLeft <= 0 ? `⚠️ overdue ${-r.daysLeft} d` : `in ${r.daysLeft} d`} |`,
            ),
          ...more(Math.min(caps.rows, review.rotation.length), review.rotation.length, 'keys'),
        ]
      : ['None.']),
  ].join('\n')

  const budgets = review.spend.length
    ? ['### Budgets and caps', '', ...spendTable(review.spend)].join('\n')
    : ''

  const ing = review.ingestion
  const ingestion = [
    '### Ingestion',
    '',
    `${plural(ing.runs, 'audit run')} in the period; the longest stretch without one was ${ing.longestSilenceHours} h.`,
    '',
    ...ing.providers.map(
      (p) =>
        `- **${p.provider}**: ${p.runsWithGaps ? `${p.runsWithGaps} of ${p.runs} runs incomplete — ${cell(p.reasons.slice(0, 3).join('; '))}` : `read in every run`}`,
    ),
  ].join('\n')

  const ledger = [
    '### Ledger',
    '',
    `Head \`${review.ledger.head ?? 'none'}\` after ${review.ledger.snapshots} snapshot(s)${review.ledger.latest ? `; newest \`${review.ledger.latest.path}\`` : ''}. Check it with \`keyward ledger verify --anchor ${review.ledger.head ?? '<head>'}\`.`,
    ...(review.notes.length ? ['', ...review.notes.map((n) => `- ${cell(n)}`)] : []),
  ].join('\n')

  return [
    head,
    workflowTable,
    charts,
    keyTable,
    unattributed,
    providerKeys,
    findings,
    changes,
    rotation,
    budgets,
    ingestion,
    ledger,
  ].filter((s) => s !== '')
}

/**
 * The review as markdown: everything for the committed report, or an issue body summarized
 * (fewer rows and charts, each cut pointing at the full report) to stay under `limit`.
 */
export function renderReviewMarkdown(review: Review, options: RenderOptions): string {
  const links = options.links ?? {}
  const render = (caps: Caps) => sections(review, caps, links).join('\n\n') + '\n'
  const body = render(ALL)
  if (options.mode === 'full') return body
  const limit = options.limit ?? REVIEW_BODY_LIMIT
  if (body.length <= limit) return body
  for (const caps of SUMMARIES) {
    const summary = render(caps)
    if (summary.length <= limit) return summary
  }
  const note = `\n\n_Shortened to fit GitHub's limit; the full report: ${links.fullReport?.url ?? 'in the repository'}_\n`
  const cut = render(SUMMARIES[SUMMARIES.length - 1] ?? ALL).slice(0, limit - note.length)
  return cut.slice(0, cut.lastIndexOf('\n')) + note
}

const snakeNames = new Map<string, string>()
/** camelCase → snake_case, cached: the review repeats the same few field names many times. */
function snake(key: string): string {
  let name = snakeNames.get(key)
  if (name === undefined) {
    name = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
    snakeNames.set(key, name)
  }
  return name
}

function snakeKeys(value: unknown, inNumbers = false): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeKeys(v))
  if (value !== null && typeof value === 'object') {
    // As Object.fromEntries(Object.entries(value).map(…)), without the pairs.
    const out: Record<string, unknown> = {}
    const record = value as Record<string, unknown>
    for (const k of Object.keys(record)) {
      // Finding numbers are the detector's own names: keep them.
      const name = inNumbers ? k : snake(k)
      const item = inNumbers ? record[k] : snakeKeys(record[k], k === 'numbers')
      if (name === '__proto__')
        Object.defineProperty(out, name, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        })
      else out[name] = item
    }
    return out
  }
  return value
}

/** `keyward report --json`: the review's numbers, snake_case as the other JSON outputs. */
export function renderReviewJson(
  review: Review,
  extra: { file?: string; issue?: number | null } = {},
): string {
  return (
    JSON.stringify(
      snakeKeys({ ...review, file: extra.file ?? null, issue: extra.issue ?? null }),
      null,
      2,
    ) + '\n'
  )
}

import type { Severity } from '../analysis/findings.js'
import type { Inventory } from '../inventory/types.js'
import { parseDuration } from '../inventory/duration.js'
import type { Gap } from '../records.js'

export const DASHBOARD_MARKER = '<!-- keyward:dashboard -->'
export const DASHBOARD_TITLE = 'keyward dashboard'
export const ledgerHeadMarker = (head: string) => `<!-- keyward:ledger-head ${head} -->`

/** The anchor `ledger verify --anchor` needs, read back from a dashboard body. */
export function ledgerHeadOf(body: string): string | undefined {
  return /<!-- keyward:ledger-head (sha256:[0-9a-f]{64}) -->/.exec(body)?.[1]
}

export interface DashboardEntry {
  /** The issue, or undefined while the finding waits for the write budget. */
  issue: number | undefined
  title: string
  severity: Severity
  rule: string
}

export interface DashboardInput {
  inventory: Inventory
  now: Date
  /** Every open finding issue (earlier runs' included), and findings still waiting for one. */
  open: readonly DashboardEntry[]
  gaps: readonly Gap[]
  ledgerHead: string | null
  snapshot: string | undefined
  /** Where the full list lives when the body would pass the limit (a committed file). */
  overflowLink?: string
  /** Budget, cap and spend per key with a budget or a cap (issue #10). */
  spend?: readonly SpendRow[]
  /** How each provider enforces limits, in words, for the providers that cannot by API. */
  capNotes?: readonly string[]
  limit?: number
}

const DAY = 86_400_000

export interface SpendRow {
  key: string
  budget: number | undefined
  cap: number | undefined
  monthToDate: number
  forecast: number
  /** `provider`: the provider enforces the cap; `keyward`: only watched. */
  enforcedBy: 'provider' | 'keyward' | undefined
}

const money = (n: number | undefined) => (n === undefined ? '—' : `$${n.toFixed(2)}`)

/** One table for budgets and caps: the dashboard and the weekly review share it. */
export function spendTable(rows: readonly SpendRow[], notes: readonly string[] = []): string[] {
  if (rows.length === 0) return ['No key has a budget or a cap.']
  return [
    '| key | budget | cap | month to date | forecast | cap enforced by |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| \`${r.key}\` | ${money(r.budget)} | ${money(r.cap)} | ${money(r.monthToDate)} | ${money(r.forecast)}${r.budget !== undefined && r.forecast > r.budget ? ' ⚠️' : ''} | ${r.cap === undefined ? '—' : r.enforcedBy === 'provider' ? 'provider' : 'keyward (watch only)'} |`,
    ),
    ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : []),
  ]
}

/**
 * The dashboard issue (SPEC §5): a "run again" checkbox first, open findings by severity,
 * keys by age and next rotation, gaps, the last run and the ledger head as anchor. Long
 * sections are cut to fit GitHub's 65,536-character body, pointing at the committed report.
 */
export function renderDashboard(input: DashboardInput): string {
  const limit = input.limit ?? 60_000
  const head = [
    DASHBOARD_MARKER,
    ...(input.ledgerHead ? [ledgerHeadMarker(input.ledgerHead)] : []),
    '- [ ] Run the audit again now (tick the box; keyward runs on the next `issues` event or schedule)',
    '',
    `Last run: ${input.now.toISOString()} · snapshot \`${input.snapshot ?? 'none'}\` · ledger head \`${input.ledgerHead ?? 'none'}\``,
    '',
    'Verify the audit trail with `keyward ledger verify --anchor ' +
      (input.ledgerHead ?? '<head>') +
      '`.',
  ]
  const findingRows = (['error', 'warning', 'note'] as const).flatMap((severity) => {
    const rows = input.open.filter((f) => f.severity === severity)
    if (rows.length === 0) return []
    return [
      `### ${severity === 'error' ? 'Errors' : severity === 'warning' ? 'Warnings' : 'Notes'} (${rows.length})`,
      '',
      ...rows.map(
        (f) => `- ${f.issue ? `#${f.issue}` : '(issue on the next run)'} \`${f.rule}\` ${f.title}`,
      ),
      '',
    ]
  })
  const defaultRotate = input.inventory.defaults?.rotate_after ?? '90d'
  const keyRows = Object.entries(input.inventory.keys)
    .map(([id, key]) => {
      const age = Math.floor((input.now.getTime() - Date.parse(`${key.created}T00:00:00Z`)) / DAY)
      const rotateMs = parseDuration(key.rotate_after ?? defaultRotate) ?? 90 * DAY
      const due = new Date(Date.parse(`${key.created}T00:00:00Z`) + rotateMs)
        .toISOString()
        .slice(0, 10)
      return { id, key, age, due }
    })
    .sort((a, b) => a.due.localeCompare(b.due))
    .map(
      (k) =>
        `| \`${k.id}\` | ${k.key.label.replace(/\|/g, '\\|')} | ${k.key.workflow} | ${k.age} d | ${k.due}${k.due <= input.now.toISOString().slice(0, 10) ? ' ⚠️ due' : ''} |`,
    )
  const gapRows = input.gaps.map((g) => `- **${g.provider}** ${g.endpoint}: ${g.reason}`)

  const sections = [
    head.join('\n'),
    ['## Open findings', '', ...(findingRows.length ? findingRows : ['None.', ''])].join('\n'),
    [
      '## Keys by next rotation',
      '',
      '| key | label | workflow | age | rotate by |',
      '|---|---|---|---|---|',
      ...keyRows,
    ].join('\n'),
    ...(input.spend
      ? [['## Budgets and caps', '', ...spendTable(input.spend, input.capNotes)].join('\n')]
      : []),
    [
      '## Gaps in this run',
      '',
      ...(gapRows.length ? gapRows : ['None: every provider was read.']),
    ].join('\n'),
  ]
  let body = sections.join('\n\n') + '\n'
  if (body.length > limit) {
    // Keep the head and as many lines as fit; the rest is in the committed report.
    const note = `\n\n_This dashboard is shortened to fit GitHub's limit.${input.overflowLink ? ` The full list: ${input.overflowLink}` : ''}_\n`
    body = body.slice(0, limit - note.length)
    body = body.slice(0, body.lastIndexOf('\n')) + note
  }
  return body
}

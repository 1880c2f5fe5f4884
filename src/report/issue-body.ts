import type { AuditFinding } from '../analysis/audit-findings.js'
import type { AuditRule } from '../analysis/findings.js'

/** What to do, per rule: a short runbook a non-specialist can follow. */
export const RUNBOOKS: Record<AuditRule, string[]> = {
  'spend-spike': [
    'Check the workflow: is a job looping or retrying?',
    'If you cannot explain the spend, rotate the key now (a new key, `keyward vault add <key-id>`, update every place in used_in).',
    "Check the provider's usage dashboard for the models and hours involved.",
  ],
  budget: [
    'Check whether the extra spend is expected (a launch, a backfill).',
    'If not, pause the workflow and look for loops.',
    'Raise budget_usd_month in keyward.yaml if the new level is right.',
  ],
  'off-hours': [
    'Ask the owner whether anything was scheduled at that time.',
    'If not, rotate the key: someone else may be using it.',
    'If the workflow now runs at other times, update active_hours.',
  ],
  'unfamiliar-ip': [
    'Check whether the address belongs to your servers or CI.',
    'If not, rotate the key now and review where it is stored.',
    'Add the range to allowed_ips if it is yours.',
  ],
  'unmanaged-key': [
    'Find out who created the key and what uses it.',
    'Add it to keyward.yaml (with provider_key_id), or revoke it at the provider.',
  ],
  'orphaned-key': [
    'If the key was revoked on purpose, remove its entry from keyward.yaml.',
    'If not, create a new key and store it with `keyward vault add <key-id>`.',
  ],
  'idle-key': [
    'Check used_in: does anything still need this key?',
    'If not, revoke it at the provider and remove it from keyward.yaml.',
  ],
  'shared-key': [
    'Create one key per workflow at the provider.',
    'Store each with `keyward vault add <key-id>` and update used_in.',
  ],
  'unexpected-model': [
    'Ask the owner whether the workflow changed models.',
    'If yes, add the model to allowed_models; if no, rotate the key.',
  ],
  'canary-used': [
    'Revoke the canary key at the provider now.',
    'Treat everything stored where it was planted as exposed: rotate those secrets too.',
    'Plant a new canary once the leak is closed.',
  ],
  'exposed-key': [
    'Revoke the key at the provider now: git history keeps it even after you delete it.',
    'Store the new key with `keyward vault add <key-id>`.',
    'Remove the plaintext from the file.',
  ],
  'vault-tampered': [
    'Find who changed the file: `git log -p -- <file>`.',
    'Restore it from history, or write the key again with `keyward vault add <key-id>`.',
    'If the change was not yours, rotate the key.',
  ],
  'ingestion-failed': [
    'Check the admin key: was it revoked or did it lose a permission? (docs/providers.md)',
    'Store a new one with `keyward vault add --admin <provider-id>`.',
  ],
  'rotation-overdue': ['Merge or update the open rotation pull request.'],
  'cap-drift': [
    'Set the provider limit to cap_usd_month, or let keyward do it with defaults.caps: enforce.',
  ],
  'rotation-due': ['Review and merge the rotation pull request.'],
}

export const findingMarker = (fingerprint: string) => `<!-- keyward:finding ${fingerprint} -->`
const providerMarker = (provider: string) => `<!-- keyward:provider ${provider} -->`

/** The provider an issue's finding depends on (its own hidden marker), if any. */
export function providerOf(body: string): string | undefined {
  return /<!-- keyward:provider ([a-z0-9-]+) -->/.exec(body)?.[1]
}

/** The fingerprint in an issue body's SPEC §5 marker, if any. */
export function markerOf(body: string): string | undefined {
  return /<!-- keyward:finding ([0-9a-f]+) -->/.exec(body)?.[1]
}

/** A mermaid xychart of daily values (GitHub renders it), or nothing when there is no series. */
export function dailyChart(
  title: string,
  days: readonly { day: string; value: number }[],
  unit: string,
): string {
  if (days.length === 0) return ''
  const labels = days.map((d) => `"${d.day.slice(5)}"`).join(', ')
  const values = days.map((d) => Number(d.value.toFixed(4))).join(', ')
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title.replace(/"/g, "'")}"`,
    `  x-axis [${labels}]`,
    `  y-axis "${unit}"`,
    `  bar [${values}]`,
    '```',
  ].join('\n')
}

/** The issue for one finding: what, which key, the numbers, a chart, what to do. */
export function renderIssueBody(
  f: AuditFinding,
  extra: { label?: string; usedIn?: readonly string[]; chart?: string } = {},
): string {
  const rows = Object.entries(f.numbers).map(
    ([k, v]) => `| ${k.replace(/_/g, ' ')} | ${String(v).replace(/\|/g, '\\|')} |`,
  )
  const who = [
    f.key ? `**Key:** \`${f.key}\`${extra.label ? ` (${extra.label})` : ''}` : '',
    f.workflow ? `**Workflow:** \`${f.workflow}\`` : '',
    f.owner ? `**Owner:** ${f.owner}` : '',
  ]
    .filter(Boolean)
    .join(' · ')
  return [
    findingMarker(f.fingerprint) + (f.provider ? `\n${providerMarker(f.provider)}` : ''),
    `**${f.severity.toUpperCase()}** · \`${f.rule}\` · ${f.period === '-' ? 'ongoing' : f.period}`,
    '',
    f.message,
    '',
    who,
    extra.usedIn?.length ? `\n**Used in:** ${extra.usedIn.join(', ')}` : '',
    '',
    '| | |',
    '|---|---|',
    ...rows,
    '',
    extra.chart ?? '',
    '',
    '### What to do',
    ...RUNBOOKS[f.rule].map((step, i) => `${i + 1}. ${step}`),
    '',
    f.kind === 'condition'
      ? '_keyward closes this issue when the condition is gone._'
      : '_This happened at a point in time: close the issue once you have looked into it. Closing it as "not planned" silences it for this period._',
  ]
    .filter((line, i, all) => !(line === '' && all[i - 1] === ''))
    .join('\n')
    .trim()
    .concat('\n')
}

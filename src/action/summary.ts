import type { Finding } from '../analysis/findings.js'
import type { ValidateResult } from '../commands/validate.js'
import type { AuditReport } from '../commands/audit.js'
import { summaryLine } from '../report/findings-text.js'

export interface SummaryCell {
  data: string
  header?: boolean
}

/** What the job summary shows for `validate`, as plain values (rendered by core.summary). */
export function validateSummary(
  result: ValidateResult,
  displayPath: (file: string) => string,
): { heading: string; lines: string[]; table?: SummaryCell[][] } {
  const { stats } = result
  const lines = [
    `${summaryLine(result.findings)} — ${count(stats.keys, 'key')}, ${count(stats.secretFiles, 'secret file')} (${count(stats.macVerified, 'MAC')} verified), ${count(stats.scannedFiles, 'file')} scanned for plaintext keys.`,
    ...result.notes,
  ]
  if (result.findings.length === 0) return { heading: 'keyward validate: all clear', lines }
  const row = (f: Finding): SummaryCell[] => [
    { data: f.severity },
    { data: `<code>${f.rule}</code>` },
    { data: `<code>${escapeHtml(displayPath(f.file))}:${f.line}:${f.column}</code>` },
    { data: escapeHtml(f.message) },
  ]
  return {
    heading: 'keyward validate',
    lines,
    table: [
      [
        { data: 'severity', header: true },
        { data: 'rule', header: true },
        { data: 'where', header: true },
        { data: 'what', header: true },
      ],
      ...result.findings.map(row),
    ],
  }
}

const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The job summary of an audit run: what was read, written and found, and the calls it cost. */
export function auditSummary(
  report: AuditReport,
  run: { dryRun: boolean; githubCalls: number; branch: string },
): { heading: string; lines: string[]; table?: SummaryCell[][] } {
  const { created, updated, closed, deferred } = report.issues
  const lines = [
    `${run.dryRun ? 'Dry run: nothing was written. ' : ''}${report.snapshot ? `Snapshot <code>${escapeHtml(report.snapshot)}</code> on <code>${escapeHtml(run.branch)}</code>${report.committed ? '' : ' (unchanged)'}` : 'No snapshot'}; ledger head <code>${report.ledgerHead ?? 'none'}</code>.`,
    `Providers: ${report.providers.map((p) => `${escapeHtml(p.id)} ${count(p.keys, 'key')}, ${count(p.usage, 'usage record')}${p.gaps ? `, ${count(p.gaps, 'gap')}` : ''}`).join('; ') || 'none read'}.`,
    `Issues: ${created.length} created, ${updated.length} updated, ${closed.length} closed${deferred.length ? `, ${deferred.length} left for the next run (max-issues-per-run)` : ''}; dashboard ${report.dashboard.action}${report.dashboard.number ? ` (#${report.dashboard.number})` : ''}.`,
    ...(report.pullRequests.opened.length +
      report.pullRequests.updated.length +
      report.pullRequests.deferred.length >
    0
      ? [
          `Rotation pull requests: ${report.pullRequests.opened.length} opened, ${report.pullRequests.updated.length} updated${report.pullRequests.deferred.length ? `, ${report.pullRequests.deferred.length} left for the next run (max-prs-per-run)` : ''}.`,
        ]
      : []),
    ...report.rotations.map(
      (r) =>
        `Rotation of <code>${escapeHtml(r.key)}</code> merged in #${r.pull_request}: recorded in the snapshot.`,
    ),
    ...report.capChanges.map(
      (c) =>
        `Cap set: ${escapeHtml(c.provider)} ${c.scope} <code>${escapeHtml(c.target)}</code> ${c.old_usd === null ? 'none' : `$${c.old_usd.toFixed(2)}`} → ${c.new_usd === null ? 'none' : `$${c.new_usd.toFixed(2)}`} monthly.`,
    ),
    `API calls: ${count(report.requests, 'provider request')}, ${count(run.githubCalls, 'GitHub request')}.`,
    ...report.gaps.map(
      (g) => `Gap: ${escapeHtml(g.provider)} ${escapeHtml(g.endpoint)}: ${escapeHtml(g.reason)}`,
    ),
  ]
  if (report.findings.length === 0) return { heading: 'keyward audit: no findings', lines }
  return {
    heading: `keyward audit: ${count(report.findings.length, 'finding')}`,
    lines,
    table: [
      [
        { data: 'severity', header: true },
        { data: 'rule', header: true },
        { data: 'finding', header: true },
      ],
      ...report.findings.map((f) => [
        { data: f.severity },
        { data: `<code>${f.rule}</code>` },
        { data: escapeHtml(f.title) },
      ]),
    ],
  }
}

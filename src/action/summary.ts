import type { Finding } from '../analysis/findings.js'
import type { ValidateResult } from '../commands/validate.js'
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

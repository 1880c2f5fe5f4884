import type { Finding } from '../analysis/findings.js'

export type DisplayPath = (file: string) => string

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** `2 problems (1 error, 1 warning)`, or `no problems`. */
export function summaryLine(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'no problems'
  const counts = (['error', 'warning', 'note'] as const)
    .map((severity) => [severity, findings.filter((f) => f.severity === severity).length] as const)
    .filter(([, n]) => n > 0)
    .map(([severity, n]) => plural(n, severity))
  return `${plural(findings.length, 'problem')} (${counts.join(', ')})`
}

/** SPEC §2 compiler-style lines, then the summary line. */
export function renderText(
  findings: readonly Finding[],
  displayPath: DisplayPath = (f) => f,
): string {
  // One line per finding (SPEC §2), whatever a message holds.
  const lines = findings.map(
    (f) =>
      `${displayPath(f.file)}:${f.line}:${f.column}: ${f.severity} [${f.rule}] ${f.message.replace(/\r?\n/g, ' ')}`,
  )
  return [...lines, summaryLine(findings)].join('\n') + '\n'
}

/** SPEC §2 JSON: `{ ok, findings }`. */
export function renderJson(
  findings: readonly Finding[],
  ok: boolean,
  displayPath: DisplayPath = (f) => f,
): string {
  const shaped = findings.map((f) => ({
    rule: f.rule,
    severity: f.severity,
    file: displayPath(f.file),
    line: f.line,
    column: f.column,
    message: f.message,
    ...(f.key !== undefined ? { key: f.key } : {}),
  }))
  return JSON.stringify({ ok, findings: shaped }, null, 2) + '\n'
}

import type { Finding } from '../analysis/findings.js'
import type { DisplayPath } from './findings-text.js'

// Escaping as @actions/core's command.ts does for workflow commands.
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C')

const COMMAND = { error: 'error', warning: 'warning', note: 'notice' } as const

/** GitHub workflow-command annotations (`::error file=…,line=…::…`), one per finding. */
export function renderGithub(
  findings: readonly Finding[],
  displayPath: DisplayPath = (f) => f,
): string {
  return findings
    .map((f) => {
      const props = [
        `file=${escapeProperty(displayPath(f.file))}`,
        `line=${f.line}`,
        `col=${f.column}`,
        `title=${escapeProperty(`keyward ${f.rule}`)}`,
      ].join(',')
      return `::${COMMAND[f.severity]} ${props}::${escapeData(f.message)}\n`
    })
    .join('')
}

import type { Finding } from '../analysis/findings.js'

/** SPEC §2 exit codes. */
export const EXIT = { ok: 0, problems: 1, cannotRun: 2 } as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

/** Errors are problems; warnings are problems only with --strict. */
export function exitCodeForFindings(findings: readonly Finding[], strict: boolean): ExitCode {
  const failing = findings.some(
    (f) => f.severity === 'error' || (strict && f.severity === 'warning'),
  )
  return failing ? EXIT.problems : EXIT.ok
}

/** Rule ids of `keyward validate` (SPEC §3). */
export const VALIDATE_RULES = [
  'yaml-syntax',
  'schema',
  'unknown-workflow',
  'unknown-provider',
  'shared-key',
  'missing-secret',
  'plaintext-secret',
  'exposed-key',
  'vault-tampered',
  'recipients-drift',
  'rotation-due',
  'idle-workflow',
  'invalid-timezone',
  'invalid-hours',
  // Not in SPEC §3's list: validate warns with the audit's rule id (docs/decisions.md).
  'cap-drift',
] as const
export type ValidateRule = (typeof VALIDATE_RULES)[number]

/** Rule ids of the audit detectors (SPEC §4). */
export const AUDIT_RULES = [
  'spend-spike',
  'budget',
  'off-hours',
  'unfamiliar-ip',
  'unmanaged-key',
  'orphaned-key',
  'idle-key',
  'shared-key',
  'unexpected-model',
  'canary-used',
  'exposed-key',
  'vault-tampered',
  'ingestion-failed',
  'rotation-overdue',
  'cap-drift',
  'rotation-due',
] as const
export type AuditRule = (typeof AUDIT_RULES)[number]

export type RuleId = ValidateRule | AuditRule

export const SEVERITIES = ['error', 'warning', 'note'] as const
export type Severity = (typeof SEVERITIES)[number]

/** Where a finding points: a file relative to the governance repository, 1-based line and column. */
export interface Location {
  file: string
  line: number
  column: number
}

/** One problem found by `validate` (SPEC §2 JSON shape). */
export interface Finding extends Location {
  rule: RuleId
  severity: Severity
  message: string
  /** The inventory key id, when the finding concerns one key. */
  key?: string
}

/** Sorts findings by file, line, column, then rule, so output is stable. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      a.line - b.line ||
      a.column - b.column ||
      a.rule.localeCompare(b.rule) ||
      a.message.localeCompare(b.message),
  )
}

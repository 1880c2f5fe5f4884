import { createHash } from 'node:crypto'
import type { AuditRule, Severity } from './findings.js'

/**
 * How a finding ends. A `condition` holds while its cause lasts (an orphaned key, a budget
 * passed this month) and its issue closes when it resolves. An `event` happened (a spike, a
 * canary use): it stays open until a person closes it, and drops out of later runs' analysis
 * windows without being "resolved".
 */
export type FindingKind = 'condition' | 'event'

/** One thing the audit found (SPEC §4), with the numbers behind it. */
export interface AuditFinding {
  rule: AuditRule
  severity: Severity
  kind: FindingKind
  /** Inventory key id, where the finding is about one. */
  key?: string
  /** What the finding is about when it is not an inventory key: a provider key id, a provider. */
  subject: string
  /** The period the fingerprint is stable for: `2026-11-27`, `2026-11`, or `-` for none. */
  period: string
  /** Stable for (rule, subject, period): the issue marker of SPEC §5. */
  fingerprint: string
  /** The issue title: short, names the key. */
  title: string
  /** One paragraph in plain language: what happened and why it matters. */
  message: string
  /** The numbers behind the finding, for the issue body and the snapshot. */
  numbers: Record<string, number | string>
  workflow?: string
  owner?: string
  /** The inventory provider the finding depends on: its issue is not closed while it has a gap. */
  provider?: string
}

/** A short, stable id for (rule, subject, period, variant): 16 hex digits of SHA-256. */
export function fingerprintOf(
  rule: AuditRule,
  subject: string,
  period: string,
  variant = '',
): string {
  return createHash('sha256')
    .update([rule, subject, period, variant].join('\u0000'))
    .digest('hex')
    .slice(0, 16)
}

export type FindingDraft = Omit<AuditFinding, 'fingerprint'> & { variant?: string }

export function finding(draft: FindingDraft): AuditFinding {
  const { variant, ...rest } = draft
  return { ...rest, fingerprint: fingerprintOf(draft.rule, draft.subject, draft.period, variant) }
}

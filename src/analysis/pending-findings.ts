import type { AuditFinding } from './audit-findings.js'
import { AUDIT_RULES, SEVERITIES } from './findings.js'
import { DAY_MS } from './time.js'
import { isRecord } from '../is-record.js'

/**
 * Event findings still waiting for their issue (issue 5). Event detectors judge only a run's
 * new data (detectors/window.ts), so an event whose issue could not be written (the
 * max-issues-per-run budget, a refused write) would not be found again once its data left the
 * window. Each snapshot therefore lists, as `pending`, the event findings that had no issue
 * when it was written; the next run reads them back from the latest snapshot (which the hash
 * chain covers, unlike state.json) and plans them again until an issue exists. Pure.
 */

/** A waiting finding as the snapshot holds it: the finding, and when it was first found. */
export interface PendingFinding {
  finding: AuditFinding
  /** ISO time of the run that first found it. */
  found: string
}

/** Pending findings older than this are dropped: their data has left the history too. */
export const PENDING_DAYS = 40

/** The snapshot form: the finding's fields without undefined ones (canonical JSON has none). */
export function pendingJson(pending: readonly PendingFinding[]): Record<string, unknown>[] {
  return pending.map(({ finding, found }) => {
    const out: Record<string, unknown> = { found }
    for (const [name, value] of Object.entries(finding)) if (value !== undefined) out[name] = value
    return out
  })
}

const optionalString = (v: unknown) => v === undefined || typeof v === 'string'
const OPTIONAL = ['key', 'workflow', 'owner', 'provider'] as const

/**
 * The pending findings of a snapshot's `pending` value, still young enough at `now`; entries not
 * in the form pendingJson writes are skipped (they name nothing a person could act on).
 */
export function readPending(value: unknown, now: Date): PendingFinding[] {
  if (!Array.isArray(value)) return []
  const oldest = now.getTime() - PENDING_DAYS * DAY_MS
  const out: PendingFinding[] = []
  for (const item of value) {
    if (!isRecord(item)) continue
    const { found, ...finding } = item
    const { rule, severity, kind, subject, period, fingerprint, title, message, numbers } = finding
    if (typeof found !== 'string' || !(Date.parse(found) >= oldest)) continue
    if (typeof rule !== 'string' || !(AUDIT_RULES as readonly string[]).includes(rule)) continue
    if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity))
      continue
    if (kind !== 'event' || typeof subject !== 'string' || typeof period !== 'string') continue
    if (typeof fingerprint !== 'string' || !/^[0-9a-f]{16}$/.test(fingerprint)) continue
    if (typeof title !== 'string' || typeof message !== 'string' || !isRecord(numbers)) continue
    if (!Object.values(numbers).every((n) => typeof n === 'string' || typeof n === 'number'))
      continue
    if (!OPTIONAL.every((name) => optionalString(finding[name]))) continue
    const kept: AuditFinding = {
      rule: rule as AuditFinding['rule'],
      severity: severity as AuditFinding['severity'],
      kind,
      subject,
      period,
      fingerprint,
      title,
      message,
      numbers: numbers as AuditFinding['numbers'],
    }
    for (const name of OPTIONAL) {
      const field = finding[name]
      if (typeof field === 'string') kept[name] = field
    }
    out.push({ finding: kept, found })
  }
  return out
}

/**
 * Adds to `findings` the waiting ones that this run did not find again and that still have no
 * issue. Returns when each waiting finding was first found, for pendingOf.
 */
export function carryPending(
  findings: AuditFinding[],
  waiting: readonly PendingFinding[],
  withIssue: ReadonlySet<string>,
): Map<string, string> {
  const current = new Set(findings.map((f) => f.fingerprint))
  for (const p of waiting) {
    if (current.has(p.finding.fingerprint) || withIssue.has(p.finding.fingerprint)) continue
    current.add(p.finding.fingerprint)
    findings.push(p.finding)
  }
  return new Map(waiting.map((p) => [p.finding.fingerprint, p.found]))
}

/** What a snapshot lists as pending: the run's event findings without an issue yet. */
export function pendingOf(
  findings: readonly AuditFinding[],
  withIssue: ReadonlySet<string>,
  found: ReadonlyMap<string, string>,
  now: Date,
): PendingFinding[] {
  const at = now.toISOString()
  return findings
    .filter((f) => f.kind === 'event' && !withIssue.has(f.fingerprint))
    .map((finding) => ({ finding, found: found.get(finding.fingerprint) ?? at }))
}

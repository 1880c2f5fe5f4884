import { describe, expect, it } from '@jest/globals'
import { finding, type AuditFinding } from '../../src/analysis/audit-findings.js'
import {
  carryPending,
  pendingJson,
  pendingOf,
  readPending,
} from '../../src/analysis/pending-findings.js'
import { canonicalJson } from '../../src/ledger/canonical-json.js'

const NOW = new Date('2026-12-10T12:00:00Z')

const spike = (day: string): AuditFinding =>
  finding({
    rule: 'spend-spike',
    severity: 'error',
    kind: 'event',
    key: 'k',
    subject: 'k',
    period: day,
    title: `Spend spike on k on ${day}`,
    message: 'k spent $9.00, 9.0× its usual day.',
    numbers: { day, value: 9, unit: 'USD' },
    workflow: 'w',
    provider: 'openai',
  })

const orphan: AuditFinding = finding({
  rule: 'orphaned-key',
  severity: 'warning',
  kind: 'condition',
  key: 'k',
  subject: 'k',
  period: '-',
  title: 'k is not listed by openai',
  message: 'gone',
  numbers: {},
})

describe('pending findings', () => {
  it('survive the snapshot, canonical JSON and back, field for field', () => {
    // Arrange
    const pending = pendingOf([spike('2026-12-08'), orphan], new Set(), new Map(), NOW)

    // Act
    const text = canonicalJson({ pending: pendingJson(pending) })
    const back = readPending((JSON.parse(text) as { pending: unknown }).pending, NOW)

    // Assert: conditions are found again by every run; only events wait.
    expect(back).toEqual([{ finding: spike('2026-12-08'), found: NOW.toISOString() }])
  })

  it('are planned again until an issue exists, keeping when they were first found', () => {
    // Arrange: two waiting spikes; one got its issue since, the other is found again today.
    const waiting = readPending(
      pendingJson([
        { finding: spike('2026-12-01'), found: '2026-12-02T00:00:00.000Z' },
        { finding: spike('2026-12-02'), found: '2026-12-03T00:00:00.000Z' },
        { finding: spike('2026-12-03'), found: '2026-12-04T00:00:00.000Z' },
      ]),
      NOW,
    )
    const findings = [spike('2026-12-03'), orphan]
    const withIssue = new Set([spike('2026-12-02').fingerprint])

    // Act
    const firstFound = carryPending(findings, waiting, withIssue)
    const next = pendingOf(findings, withIssue, firstFound, NOW)

    // Assert
    expect(findings.map((f) => f.period)).toEqual(['2026-12-03', '-', '2026-12-01'])
    expect(next.map((p) => [p.finding.period, p.found])).toEqual([
      ['2026-12-03', '2026-12-04T00:00:00.000Z'],
      ['2026-12-01', '2026-12-02T00:00:00.000Z'],
    ])
  })

  it('are dropped after 40 days, and skipped when not in the form keyward writes', () => {
    const good = pendingJson([{ finding: spike('2026-12-01'), found: '2026-12-01T00:00:00.000Z' }])
    const entry = good[0] as Record<string, unknown>
    const variants: unknown[] = [
      { ...entry, found: '2026-10-30T00:00:00.000Z' },
      { ...entry, found: 'yesterday' },
      { ...entry, rule: 'made-up-rule' },
      { ...entry, severity: 'fatal' },
      { ...entry, kind: 'condition' },
      { ...entry, fingerprint: 'not-hex' },
      { ...entry, numbers: { nested: { a: 1 } } },
      { ...entry, owner: 42 },
      { ...entry, message: undefined },
      'a string',
      null,
    ]
    expect(readPending(variants, NOW)).toEqual([])
    expect(readPending({ not: 'a list' }, NOW)).toEqual([])
    expect(readPending([{ ...entry, extra: '<script>' }], NOW)[0]?.finding).not.toHaveProperty(
      'extra',
    )
  })
})

import { describe, expect, it } from '@jest/globals'
import { finding, type AuditFinding, type FindingDraft } from '../../src/analysis/audit-findings.js'
import {
  reconcileIssues,
  type IssuePlanItem,
  type ReconcileOptions,
} from '../../src/commands/reconcile-issues.js'
import type { ForgeIssue } from '../../src/ports/forge.js'
import { silentLog } from '../../src/ports/log.js'
import { markerOf, renderIssueBody } from '../../src/report/issue-body.js'
import { memoryForge, type SeedIssue } from '../../test/fakes/memory-forge.js'

/** A condition finding (closes when resolved) that depends on `provider`. */
function condition(subject: string, over: Partial<FindingDraft> = {}): AuditFinding {
  return finding({
    rule: 'unmanaged-key',
    severity: 'warning',
    kind: 'condition',
    subject,
    period: '-',
    title: `Unmanaged openai key ${subject}`,
    message: `openai has an active key ${subject} that keyward.yaml does not list.`,
    numbers: { provider: 'openai', provider_key_id: subject },
    provider: 'openai',
    ...over,
  })
}

/** An event finding (a person closes it). */
function event(key: string, over: Partial<FindingDraft> = {}): AuditFinding {
  return finding({
    rule: 'spend-spike',
    severity: 'error',
    kind: 'event',
    key,
    subject: key,
    period: '2026-11-25',
    title: `Spend spike on ${key} on 2026-11-25`,
    message: `${key} spent $12.00 on 2026-11-25, 8.0× its usual day.`,
    numbers: { day: '2026-11-25', value: 12, baseline_median: 1.5 },
    provider: 'openai',
    ...over,
  })
}

/** The plan item audit() builds for a finding. */
function item(f: AuditFinding): IssuePlanItem {
  return {
    finding: f,
    draft: {
      title: f.title,
      body: renderIssueBody(f),
      labels: ['keyward', `keyward:${f.rule}`, `severity:${f.severity}`],
      assignees: [],
    },
  }
}

/** An existing issue exactly as a previous run would have left it for `planned`. */
function existing(
  number: number,
  planned: IssuePlanItem,
  over: Partial<ForgeIssue> = {},
): SeedIssue {
  return {
    number,
    title: planned.draft.title,
    body: planned.draft.body,
    labels: [...planned.draft.labels],
    ...over,
  }
}

const options = (over: Partial<ReconcileOptions> = {}): ReconcileOptions => ({
  maxWrites: 20,
  dryRun: false,
  unreadProviders: new Set(),
  ...over,
})

describe('reconcileIssues', () => {
  it('creates one issue per new finding, carrying its marker', async () => {
    // Arrange
    const { forge, state } = memoryForge()
    const plan = [item(condition('key_a')), item(event('blog'))]

    // Act
    const result = await reconcileIssues(forge, plan, options(), silentLog)

    // Assert
    expect(result.created).toEqual([1, 2])
    expect(result.writes).toBe(2)
    expect(state.writes.map((w) => w.op)).toEqual(['create', 'create'])
    expect([...state.issues.values()].map((i) => markerOf(i.body))).toEqual(
      plan.map((p) => p.finding.fingerprint),
    )
  })

  it('leaves an unchanged issue alone', async () => {
    // Arrange
    const planned = item(condition('key_a'))
    const { forge, state } = memoryForge([existing(4, planned)])

    // Act
    const result = await reconcileIssues(forge, [planned], options(), silentLog)

    // Assert
    expect(state.writes).toEqual([])
    expect(result).toMatchObject({ created: [], updated: [], closed: [], writes: 0 })
  })

  it('treats the same labels in another order as unchanged', async () => {
    const planned = item(condition('key_a'))
    const { forge, state } = memoryForge([
      existing(4, planned, { labels: [...planned.draft.labels].reverse() }),
    ])

    await reconcileIssues(forge, [planned], options(), silentLog)

    expect(state.writes).toEqual([])
  })

  it('updates only the issues whose title, body or labels changed', async () => {
    // Arrange
    const same = item(condition('key_a'))
    const before = item(event('blog'))
    const after = item(
      event('blog', { numbers: { day: '2026-11-25', value: 19, baseline_median: 1.5 } }),
    )
    const relabelled = item(condition('key_c'))
    const { forge, state } = memoryForge([
      existing(1, same),
      existing(2, before),
      existing(3, relabelled, { labels: ['keyward'] }),
    ])

    // Act
    const result = await reconcileIssues(forge, [same, after, relabelled], options(), silentLog)

    // Assert
    expect(result.updated.sort()).toEqual([2, 3])
    expect(state.writes.map((w) => [w.op, 'number' in w ? w.number : 0])).toEqual([
      ['update', 2],
      ['update', 3],
    ])
    expect(state.issues.get(2)?.body).toBe(after.draft.body)
    expect(state.issues.get(3)?.labels).toEqual(relabelled.draft.labels)
  })

  it('reopens a condition that was closed as completed and is back', async () => {
    // Arrange
    const planned = item(condition('key_a'))
    const { forge, state } = memoryForge([
      existing(7, planned, { state: 'closed', stateReason: 'completed' }),
    ])

    // Act
    const result = await reconcileIssues(forge, [planned], options(), silentLog)

    // Assert
    expect(result.updated).toEqual([7])
    expect(state.issues.get(7)).toMatchObject({ state: 'open', stateReason: 'reopened' })
    expect(state.writes).toHaveLength(1)
  })

  it.each([
    ['a condition', condition('key_a')],
    ['an event', event('blog')],
  ])('respects %s closed by a person as not planned', async (_what, f) => {
    // Arrange
    const planned = item(f)
    const { forge, state } = memoryForge([
      existing(7, planned, { state: 'closed', stateReason: 'not_planned' }),
    ])

    // Act
    const result = await reconcileIssues(forge, [planned], options(), silentLog)

    // Assert
    expect(state.writes).toEqual([])
    expect(result.respected).toEqual([f.fingerprint])
    expect(state.issues.get(7)?.state).toBe('closed')
  })

  it('never reopens an event a person closed as completed', async () => {
    // Arrange
    const planned = item(event('blog'))
    const { forge, state } = memoryForge([
      existing(7, planned, { state: 'closed', stateReason: 'completed' }),
    ])

    // Act
    const result = await reconcileIssues(forge, [planned], options(), silentLog)

    // Assert
    expect(state.writes).toEqual([])
    expect(result.updated).toEqual([])
    expect(state.issues.get(7)).toMatchObject({ state: 'closed', stateReason: 'completed' })
  })

  it('closes a resolved condition with a comment, and never an event that left the window', async () => {
    // Arrange
    const resolved = item(condition('key_a'))
    const past = item(event('blog'))
    const { forge, state } = memoryForge([existing(1, resolved), existing(2, past)])

    // Act
    const result = await reconcileIssues(forge, [], options(), silentLog)

    // Assert
    expect(result.closed).toEqual([1])
    expect(state.issues.get(1)).toMatchObject({ state: 'closed', stateReason: 'completed' })
    expect(state.issues.get(1)?.comments).toEqual([expect.stringMatching(/^Resolved/)])
    expect(state.issues.get(2)).toMatchObject({ state: 'open', comments: [] })
    expect(state.writes.every((w) => 'number' in w && w.number === 1)).toBe(true)
  })

  it('does not close a condition whose provider could not be read this run', async () => {
    // Arrange
    const unknown = item(condition('key_a', { provider: 'openai' }))
    const resolved = item(condition('key_b', { provider: 'anthropic' }))
    const { forge, state } = memoryForge([existing(1, unknown), existing(2, resolved)])

    // Act
    const result = await reconcileIssues(
      forge,
      [],
      options({ unreadProviders: new Set(['openai']) }),
      silentLog,
    )

    // Assert
    expect(result.closed).toEqual([2])
    expect(state.issues.get(1)?.state).toBe('open')
  })

  it('closes duplicate issues with the same marker, keeping the lowest number', async () => {
    // Arrange
    const planned = item(condition('key_a'))
    const { forge, state } = memoryForge([
      existing(9, planned),
      existing(3, planned),
      existing(5, planned),
    ])

    // Act
    const result = await reconcileIssues(forge, [planned], options(), silentLog)

    // Assert
    expect(state.issues.get(3)).toMatchObject({ state: 'open', comments: [] })
    for (const n of [5, 9]) {
      expect(state.issues.get(n)).toMatchObject({ state: 'closed', stateReason: 'not_planned' })
      expect(state.issues.get(n)?.comments).toEqual([expect.stringContaining('#3')])
    }
    expect(result.closed).toEqual([])
    expect(result.created).toEqual([])
  })

  it('opens one issue for two planned findings with one fingerprint, and then writes nothing', async () => {
    // Arrange: two findings that differ only in wording share a fingerprint (same rule,
    // subject and period), as shared-key's "same secret" and "same provider key" do.
    const bySecret = item(condition('a+b', { rule: 'shared-key', message: 'the same secret' }))
    const byKeyId = item(condition('a+b', { rule: 'shared-key', message: 'the same provider key' }))
    expect(bySecret.finding.fingerprint).toBe(byKeyId.finding.fingerprint)
    const { forge, state } = memoryForge()
    await reconcileIssues(forge, [bySecret, byKeyId], options(), silentLog)
    const writesOfFirst = state.writes.length

    // Act
    const second = await reconcileIssues(forge, [bySecret, byKeyId], options(), silentLog)
    const third = await reconcileIssues(forge, [bySecret, byKeyId], options(), silentLog)

    // Assert
    expect(state.issues.size).toBe(1)
    expect(writesOfFirst).toBe(1)
    expect([second.writes, third.writes]).toEqual([0, 0])
  })

  it('ignores issues without a keyward finding marker', async () => {
    const { forge, state } = memoryForge([
      { number: 1, body: 'A person wrote this.', labels: ['keyward'] },
      { number: 2, body: '<!-- keyward:dashboard -->\nthe dashboard', labels: ['keyward'] },
    ])

    const result = await reconcileIssues(forge, [], options(), silentLog)

    expect(state.writes).toEqual([])
    expect(result.writes).toBe(0)
  })

  it('stops at maxWrites and lists the rest as deferred', async () => {
    // Arrange
    const plan = ['a', 'b', 'c', 'd', 'e'].map((k) => item(condition(`key_${k}`)))
    const { forge, state } = memoryForge()
    const warnings: string[] = []

    // Act
    const result = await reconcileIssues(forge, plan, options({ maxWrites: 2 }), {
      ...silentLog,
      warning: (m) => void warnings.push(m),
    })

    // Assert
    expect(result.created).toEqual([1, 2])
    expect(result.writes).toBe(2)
    expect(state.writes).toHaveLength(2)
    expect(result.deferred).toEqual(plan.slice(2).map((p) => p.finding.fingerprint))
    expect(warnings.join('\n')).toMatch(/max-issues-per-run/)
  })

  it('picks up the deferred findings on the next run', async () => {
    const plan = ['a', 'b', 'c'].map((k) => item(condition(`key_${k}`)))
    const { forge, state } = memoryForge()

    await reconcileIssues(forge, plan, options({ maxWrites: 2 }), silentLog)
    const next = await reconcileIssues(forge, plan, options({ maxWrites: 2 }), silentLog)

    expect(next.created).toEqual([3])
    expect(next.deferred).toEqual([])
    expect(state.issues.size).toBe(3)
  })

  it('counts the writes of a dry run but makes none', async () => {
    // Arrange: one to create, one to update, one to reopen, one to close.
    const created = item(condition('key_new'))
    const changedBefore = item(condition('key_b'))
    const changedAfter = item(condition('key_b', { message: 'Now with more detail.' }))
    const reopened = item(condition('key_c'))
    const resolved = item(condition('key_d'))
    const { forge, state } = memoryForge([
      existing(1, changedBefore),
      existing(2, reopened, { state: 'closed', stateReason: 'completed' }),
      existing(3, resolved),
    ])
    const before = structuredClone([...state.issues.values()])

    // Act
    const result = await reconcileIssues(
      forge,
      [created, changedAfter, reopened],
      options({ dryRun: true }),
      silentLog,
    )

    // Assert
    expect(result.writes).toBe(4)
    // Nothing was created, so there is no issue number to report.
    expect(result.created).toEqual([])
    expect(result.updated.sort()).toEqual([1, 2])
    expect(result.closed).toEqual([3])
    expect(state.writes).toEqual([])
    expect([...state.issues.values()]).toEqual(before)
  })

  it('makes zero writes when run again after a run that changed everything', async () => {
    // Arrange
    const created = item(condition('key_new'))
    const changedBefore = item(event('blog'))
    const changedAfter = item(event('blog', { title: 'Spend spike on blog (revised)' }))
    const reopened = item(condition('key_c'))
    const resolved = item(condition('key_d'))
    const duplicate = item(condition('key_e'))
    const { forge, state } = memoryForge([
      existing(1, changedBefore),
      existing(2, reopened, { state: 'closed', stateReason: 'completed' }),
      existing(3, resolved),
      existing(4, duplicate),
      existing(5, duplicate),
    ])
    const plan = [created, changedAfter, reopened, duplicate]
    const first = await reconcileIssues(forge, plan, options(), silentLog)
    const writesOfFirst = state.writes.length

    // Act
    const second = await reconcileIssues(forge, plan, options(), silentLog)

    // Assert
    expect(first.writes).toBeGreaterThanOrEqual(5)
    expect(second).toMatchObject({ created: [], updated: [], closed: [], deferred: [], writes: 0 })
    expect(state.writes).toHaveLength(writesOfFirst)
  })
})

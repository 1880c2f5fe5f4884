import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { OUTBOX } from '../../src/adapters/forge/local.js'
import { OPENAI_WRITE_PERMISSION } from '../../src/adapters/providers/openai.js'
import { OPENROUTER_WRITE_PERMISSION } from '../../src/adapters/providers/openrouter.js'
import type { CapStatus } from '../../src/analysis/caps.js'
import type { AuditReport } from '../../src/commands/audit.js'
import type { CapChange } from '../../src/commands/enforce-caps.js'
import type { OpenAiFakeProject } from '../../src/demo/fake-openai.js'
import type { OpenRouterFakeKey } from '../../src/demo/fake-openrouter.js'
import { DASHBOARD_MARKER } from '../../src/report/dashboard.js'
import { markerOf } from '../../src/report/issue-body.js'
import {
  CONFIG_FILE,
  startAuditHarness,
  type AuditHarness,
  type DemoProviderType,
} from '../../test/fakes/audit-harness.js'

/**
 * Spending caps (issue #10) end to end: `audit()` on the demo repository with the loopback
 * provider fakes, in `defaults.caps: report` and `enforce` mode. The demo's OpenRouter key
 * holds a $20 monthly limit equal to its cap; the OpenAI project of avatar-video-openai
 * (cap $45) has no spend limit.
 */

const T0 = '2026-11-27T12:00:00Z'
const HOUR_MS = 3_600_000
const at = (hours: number, from = T0) => new Date(Date.parse(from) + hours * HOUR_MS).toISOString()
/** Each audit of the demo takes seconds (real git, age, undici): room for several per block. */
const RUNS_TIMEOUT = 180_000

const MEDIA_PROJECT = 'proj_demo_media'
const SPEND_LIMIT_PATH = `/v1/organization/projects/${MEDIA_PROJECT}/spend_limit`
const OPENAI_CAP_KEY = 'avatar-video-openai'
const OPENROUTER_CAP_KEY = 'night-batch-openrouter'

const git = promisify(execFile)

/**
 * Edits keyward.yaml and commits it as `author`, dated `date` (author and committer), so
 * the commit precedes the runs' clock whatever the wall clock says.
 */
async function commitInventory(
  h: AuditHarness,
  edit: (text: string) => string,
  options: { date: string; author?: { name: string; email: string }; message?: string },
): Promise<string> {
  const path = join(h.root, CONFIG_FILE)
  const before = await readFile(path, 'utf8')
  const after = edit(before)
  expect(after).not.toBe(before)
  await writeFile(path, after)
  const author = options.author ?? { name: 'Maria Admin', email: 'maria@example.com' }
  const env = { ...process.env, GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date }
  const identity = [
    '-c',
    `user.name=${author.name}`,
    '-c',
    `user.email=${author.email}`,
    '-c',
    'commit.gpgsign=false',
  ]
  await git('git', [...identity, 'add', CONFIG_FILE], { cwd: h.root, env })
  await git(
    'git',
    [...identity, 'commit', '--quiet', '--no-verify', '-m', options.message ?? 'caps'],
    { cwd: h.root, env },
  )
  return (await h.git('rev-parse', 'HEAD')).trim()
}

const enforceMode = (text: string) => text.replace(/^(\s+caps:) report\b/m, '$1 enforce')

type Mark = Record<DemoProviderType, number>

function mark(h: AuditHarness): Mark {
  const { openai, anthropic, openrouter } = h.providers.servers
  return {
    openai: openai.requests.length,
    anthropic: anthropic.requests.length,
    openrouter: openrouter.requests.length,
  }
}

interface Write {
  provider: DemoProviderType
  method: string
  path: string
  body: unknown
}

/**
 * Every request since `from` that changes something at a provider. OpenRouter's
 * `POST /analytics/query` is a read.
 */
function writesSince(h: AuditHarness, from: Mark): Write[] {
  return (Object.keys(from) as DemoProviderType[]).flatMap((provider) =>
    h.providers.servers[provider].requests
      .slice(from[provider])
      .filter((r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query')
      .map((r) => ({ provider, method: r.method, path: r.path, body: r.body })),
  )
}

interface SnapshotCaps {
  mode: 'report' | 'enforce'
  keys: CapStatus[]
  changes: CapChange[]
}

interface Snapshot {
  caps: SnapshotCaps
  gaps: unknown[]
  findings: { rule: string; severity: string; key: string | null; subject: string }[]
}

async function snapshotOf(h: AuditHarness, report: AuditReport): Promise<Snapshot> {
  expect(report.snapshot).toBeDefined()
  return JSON.parse(await readFile(join(h.root, report.snapshot ?? ''), 'utf8')) as Snapshot
}

interface OutboxIssue {
  number: number
  state: string
  stateReason: string | null
  labels: string[]
  fingerprint: string | undefined
  body: string
}

async function outboxIssues(h: AuditHarness): Promise<OutboxIssue[]> {
  const dir = join(h.root, OUTBOX, 'issues')
  const files = (await readdir(dir).catch(() => [])).filter((f) => f.endsWith('.md'))
  return Promise.all(
    files.map(async (file) => {
      const text = await readFile(join(dir, file), 'utf8')
      const first = text.slice(0, text.indexOf('\n'))
      const header = JSON.parse(
        first.replace(/^<!-- keyward:outbox /, '').replace(/ -->$/, ''),
      ) as Omit<OutboxIssue, 'fingerprint' | 'body'>
      const body = text.slice(text.indexOf('\n') + 1)
      return { ...header, fingerprint: markerOf(body), body }
    }),
  )
}

/** The dashboard's "Budgets and caps" section: each key's cells, and the notes under the table. */
async function budgetsAndCaps(
  h: AuditHarness,
): Promise<{ header: string[]; rows: Map<string, string[]>; notes: string[] }> {
  const dashboards = (await outboxIssues(h)).filter((i) => i.body.startsWith(DASHBOARD_MARKER))
  expect(dashboards).toHaveLength(1)
  const body = dashboards[0]?.body ?? ''
  const start = body.indexOf('## Budgets and caps')
  expect(start).toBeGreaterThanOrEqual(0)
  const section = body.slice(start).split('\n## ')[0]?.split('\n') ?? []
  const cells = (line: string) =>
    line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim())
  const table = section.filter((l) => l.startsWith('|'))
  const rows = new Map(
    table.slice(2).map((line) => {
      const [key = '', ...rest] = cells(line)
      return [key.replace(/`/g, ''), rest] as const
    }),
  )
  return {
    header: cells(table[0] ?? ''),
    rows,
    notes: section.filter((l) => l.startsWith('- ')).map((l) => l.slice(2)),
  }
}

const capDrift = (report: AuditReport, key?: string) =>
  report.findings.filter((f) => f.rule === 'cap-drift' && (key === undefined || f.key === key))

function mediaProject(h: AuditHarness): OpenAiFakeProject {
  const project = h.dataset.openai.projects.find((p) => p.id === MEDIA_PROJECT)
  if (!project) throw new Error(`the demo dataset has no project ${MEDIA_PROJECT}`)
  return project
}

function openRouterKey(h: AuditHarness): OpenRouterFakeKey {
  const hash = h.dataset.providerKeyIds[OPENROUTER_CAP_KEY]
  const key = h.dataset.openrouter.keys.find((k) => k.hash === hash)
  if (!key) throw new Error(`the demo dataset has no OpenRouter key ${hash}`)
  return key
}

describe('caps: report, then enforce, then a quiet run', () => {
  let h: AuditHarness
  let reported: AuditReport
  let enforced: AuditReport
  let quiet: AuditReport
  let reportWrites: Write[]
  let limitAfterReport: OpenAiFakeProject['spend_limit']
  let enforceWrites: Write[]
  let quietWrites: Write[]
  let enforceCommit: string
  let dashboardAfterReport: Awaited<ReturnType<typeof budgetsAndCaps>>
  let dashboardAfterEnforce: Awaited<ReturnType<typeof budgetsAndCaps>>

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    let from = mark(h)
    reported = await h.runAudit({ now: at(0) })
    reportWrites = writesSince(h, from)
    limitAfterReport = structuredClone(mediaProject(h).spend_limit)
    dashboardAfterReport = await budgetsAndCaps(h)

    enforceCommit = await commitInventory(h, enforceMode, { date: at(0.5), message: 'enforce' })
    from = mark(h)
    enforced = await h.runAudit({ now: at(1) })
    enforceWrites = writesSince(h, from)
    dashboardAfterEnforce = await budgetsAndCaps(h)

    from = mark(h)
    quiet = await h.runAudit({ now: at(2) })
    quietWrites = writesSince(h, from)
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it('writes no limit in report mode and says what it would change', async () => {
    // Assert
    expect(reportWrites).toEqual([])
    expect(limitAfterReport).toBeUndefined()
    const drift = capDrift(reported)
    expect(drift).toHaveLength(1)
    expect(drift[0]).toMatchObject({
      severity: 'warning',
      key: OPENAI_CAP_KEY,
      subject: `openai:project:${MEDIA_PROJECT}`,
    })
    expect(drift[0]?.message).toContain('The inventory caps this at $45.00 a month')
    expect(drift[0]?.message).toContain(`spend limit of project ${MEDIA_PROJECT}`)
    expect(drift[0]?.message).toContain('is not set')
    expect(drift[0]?.message).toContain(
      'keyward would set it to $45.00 with `defaults.caps: enforce`',
    )
    expect((await snapshotOf(h, reported)).caps).toMatchObject({ mode: 'report', changes: [] })
  })

  it('finds no drift on the OpenRouter key whose monthly limit equals its cap', () => {
    expect(capDrift(reported, OPENROUTER_CAP_KEY)).toEqual([])
  })

  it('shows budget, cap, month to date, forecast and the enforcer per key on the dashboard, with the Anthropic console note', () => {
    // Arrange
    const { header, rows, notes } = dashboardAfterReport

    // Assert
    expect(header).toEqual(['key', 'budget', 'cap', 'month to date', 'forecast', 'cap enforced by'])
    expect(rows.get(OPENAI_CAP_KEY)).toEqual([
      '$30.00',
      '$45.00',
      expect.stringMatching(/^\$\d+\.\d\d$/),
      expect.stringMatching(/^\$\d+\.\d\d( ⚠️)?$/),
      'keyward (watch only)',
    ])
    expect(rows.get(OPENROUTER_CAP_KEY)).toEqual([
      '$15.00',
      '$20.00',
      expect.stringMatching(/^\$\d+\.\d\d$/),
      expect.stringMatching(/^\$\d+\.\d\d( ⚠️)?$/),
      'provider',
    ])
    // A key with a budget and no cap is listed, with no enforcer.
    expect(rows.get('blog-writer-anthropic')?.at(1)).toBe('—')
    expect(rows.get('blog-writer-anthropic')?.at(4)).toBe('—')
    // The canary has neither.
    expect(rows.has('honeypot-openai')).toBe(false)
    expect(notes).toEqual([expect.stringMatching(/^Anthropic .*Console/)])
  })

  it('sets the OpenAI project limit in cents in one run of enforce mode, and nothing else', () => {
    expect(enforceWrites).toEqual([
      {
        provider: 'openai',
        method: 'POST',
        path: SPEND_LIMIT_PATH,
        body: { threshold_amount: 4500, currency: 'USD', interval: 'month' },
      },
    ])
    expect(mediaProject(h).spend_limit).toEqual({ threshold_amount: 4500 })
    expect(capDrift(enforced)).toEqual([])
  })

  it('records the change in the snapshot: old value, new value, and the inventory commit that asked', async () => {
    // Arrange
    const expected = {
      provider: 'openai',
      scope: 'project',
      target: MEDIA_PROJECT,
      keys: [OPENAI_CAP_KEY],
      old_usd: null,
      new_usd: 45,
      requested_by: `${CONFIG_FILE} at ${enforceCommit.slice(0, 12)} by Maria Admin <maria@example.com>`,
    }

    // Act
    const { caps } = await snapshotOf(h, enforced)

    // Assert
    expect(caps.mode).toBe('enforce')
    expect(caps.changes).toEqual([expect.objectContaining(expected)])
    expect(enforced.capChanges).toEqual([expect.objectContaining(expected)])
    expect(caps.keys.find((k) => k.key === OPENAI_CAP_KEY)).toMatchObject({
      enforcedBy: 'provider',
      limit: 45,
    })
  })

  it('closes the report run’s cap-drift issue as resolved once the limit is set', async () => {
    // Arrange
    const fingerprint = capDrift(reported)[0]?.fingerprint ?? ''
    const number = reported.issues.issueOf.get(fingerprint)
    expect(number).toBeDefined()

    // Act
    const issue = (await outboxIssues(h)).find((i) => i.fingerprint === fingerprint)

    // Assert
    expect(enforced.issues.closed).toContain(number)
    expect(issue).toMatchObject({ number, state: 'closed', stateReason: 'completed' })
  })

  it('shows the capped OpenAI key as enforced by the provider once the limit is set', () => {
    expect(dashboardAfterEnforce.rows.get(OPENAI_CAP_KEY)?.at(4)).toBe('provider')
    expect(dashboardAfterEnforce.rows.get(OPENROUTER_CAP_KEY)?.at(4)).toBe('provider')
  })

  it('is quiet on the next run: no write, no cap-drift finding, no change recorded', async () => {
    // Act
    const { caps } = await snapshotOf(h, quiet)
    const fingerprint = capDrift(reported)[0]?.fingerprint
    const issue = (await outboxIssues(h)).find((i) => i.fingerprint === fingerprint)

    // Assert
    expect(quietWrites).toEqual([])
    expect(capDrift(quiet)).toEqual([])
    expect(quiet.capChanges).toEqual([])
    expect(caps.changes).toEqual([])
    expect(caps.keys.filter((k) => k.enforcedBy !== 'provider')).toEqual([])
    expect(issue?.state).toBe('closed')
  })
})

describe('an OpenRouter limit equal to the cap that does not reset monthly', () => {
  let h: AuditHarness
  const runs = new Map<string, { report: AuditReport; writes: Write[]; after: OpenRouterFakeKey }>()
  const runOf = (name: string) => {
    const run = runs.get(name)
    if (!run) throw new Error(`no run ${name}`)
    return run
  }

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    // The OpenAI project already holds its cap: only the OpenRouter key is out of step.
    mediaProject(h).spend_limit = { threshold_amount: 4500 }
    const key = openRouterKey(h)
    const runWith = async (name: string, reset: OpenRouterFakeKey['limit_reset'], hour: number) => {
      key.limit = 20
      key.limit_reset = reset
      const from = mark(h)
      const report = await h.runAudit({ now: at(hour) })
      runs.set(name, { report, writes: writesSince(h, from), after: { ...key } })
    }
    await runWith('report never', null, 0)
    await runWith('report daily', 'daily', 1)
    await commitInventory(h, enforceMode, { date: at(1.5) })
    await runWith('enforce daily', 'daily', 2)
    await runWith('enforce never', null, 3)
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it.each([
    ['never', 'report never', 'none'],
    ['daily', 'report daily', 'daily'],
  ])('is cap-drift in report mode when it resets %s', (resets, run, numbersReset) => {
    // Arrange
    const { report, writes } = runOf(run)

    // Act
    const drift = capDrift(report)

    // Assert
    expect(writes).toEqual([])
    expect(drift).toHaveLength(1)
    expect(drift[0]).toMatchObject({
      key: OPENROUTER_CAP_KEY,
      severity: 'warning',
      numbers: { provider_limit_usd: 20, provider_limit_reset: numbersReset, cap_usd_month: 20 },
    })
    expect(drift[0]?.message).toContain(`is $20.00 but resets ${resets}, not monthly`)
  })

  it.each([
    ['daily', 'enforce daily', 'daily'],
    ['never', 'enforce never', null],
  ])('writes limit_reset monthly in enforce mode when it resets %s', (_resets, run, oldReset) => {
    // Arrange
    const { report, writes, after } = runOf(run)
    const hash = openRouterKey(h).hash

    // Assert
    expect(writes).toEqual([
      {
        provider: 'openrouter',
        method: 'PATCH',
        path: `/api/v1/keys/${hash}`,
        body: { limit: 20, limit_reset: 'monthly' },
      },
    ])
    expect(after).toMatchObject({ limit: 20, limit_reset: 'monthly' })
    expect(report.capChanges).toEqual([
      expect.objectContaining({
        provider: 'openrouter',
        scope: 'key',
        target: hash,
        keys: [OPENROUTER_CAP_KEY],
        old_usd: 20,
        old_reset: oldReset,
        new_usd: 20,
      }),
    ])
    expect(capDrift(report)).toEqual([])
  })
})

describe('caps: enforce across a month boundary', () => {
  const END_OF_NOVEMBER = '2026-11-30T23:00:00Z'
  const START_OF_DECEMBER = '2026-12-01T01:00:00Z'
  let h: AuditHarness
  let november: AuditReport
  let december: AuditReport
  let novemberWrites: Write[]
  let decemberWrites: Write[]
  let novemberRows: Map<string, string[]>
  let decemberRows: Map<string, string[]>

  beforeAll(async () => {
    h = await startAuditHarness({ now: END_OF_NOVEMBER })
    // Caps with cents, so the units show: OpenAI takes integer cents, OpenRouter USD credits.
    await commitInventory(
      h,
      (text) =>
        enforceMode(text)
          .replace('cap_usd_month: 45 ', 'cap_usd_month: 45.67 ')
          .replace('cap_usd_month: 20\n', 'cap_usd_month: 20.5\n'),
      { date: at(-1, END_OF_NOVEMBER) },
    )
    let from = mark(h)
    november = await h.runAudit({ now: END_OF_NOVEMBER })
    novemberWrites = writesSince(h, from)
    novemberRows = (await budgetsAndCaps(h)).rows
    from = mark(h)
    december = await h.runAudit({ now: START_OF_DECEMBER })
    decemberWrites = writesSince(h, from)
    decemberRows = (await budgetsAndCaps(h)).rows
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it('writes each cap once, in the provider’s unit', () => {
    // Arrange
    const hash = openRouterKey(h).hash

    // Assert
    expect(novemberWrites).toEqual(
      expect.arrayContaining([
        {
          provider: 'openai',
          method: 'POST',
          path: SPEND_LIMIT_PATH,
          body: { threshold_amount: 4567, currency: 'USD', interval: 'month' },
        },
        {
          provider: 'openrouter',
          method: 'PATCH',
          path: `/api/v1/keys/${hash}`,
          body: { limit: 20.5, limit_reset: 'monthly' },
        },
      ]),
    )
    expect(novemberWrites).toHaveLength(2)
    expect(mediaProject(h).spend_limit).toEqual({ threshold_amount: 4567 })
    expect(openRouterKey(h)).toMatchObject({ limit: 20.5, limit_reset: 'monthly' })
    expect(capDrift(november)).toEqual([])
    expect(november.capChanges.map((c) => [c.provider, c.old_usd, c.new_usd]).sort()).toEqual([
      ['openai', null, 45.67],
      ['openrouter', 20, 20.5],
    ])
  })

  it('does not write again in the new month when the limits already match', async () => {
    // Act
    const { caps } = await snapshotOf(h, december)

    // Assert
    expect(decemberWrites).toEqual([])
    expect(capDrift(december)).toEqual([])
    expect(december.capChanges).toEqual([])
    expect(caps.changes).toEqual([])
    expect(
      caps.keys
        .map((k) => [k.key, k.enforcedBy, k.limit])
        .sort((a, b) => `${a}`.localeCompare(`${b}`)),
    ).toEqual([
      [OPENAI_CAP_KEY, 'provider', 45.67],
      [OPENROUTER_CAP_KEY, 'provider', 20.5],
    ])
  })

  it('starts the month to date afresh in December while the caps stay enforced', () => {
    expect(novemberRows.get(OPENAI_CAP_KEY)?.at(2)).not.toBe('$0.00')
    expect(decemberRows.get(OPENAI_CAP_KEY)).toEqual([
      '$30.00',
      '$45.67',
      '$0.00',
      expect.any(String),
      'provider',
    ])
    expect(decemberRows.get(OPENROUTER_CAP_KEY)?.slice(1)).toEqual([
      '$20.50',
      '$0.00',
      expect.any(String),
      'provider',
    ])
  })
})

describe('caps: enforce when the provider refuses the write', () => {
  let h: AuditHarness
  let report: AuditReport
  let writes: Write[]

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    await commitInventory(h, enforceMode, { date: at(-1) })
    openRouterKey(h).limit = 10
    const from = mark(h)
    report = await h.runAudit({
      now: T0,
      faults: {
        openai: [{ kind: 'forbidden', method: 'POST', path: SPEND_LIMIT_PATH }],
        openrouter: [{ kind: 'forbidden', method: 'PATCH', path: '/api/v1/keys/*' }],
      },
    })
    writes = writesSince(h, from)
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it('completes the run and commits the snapshot', async () => {
    expect(report.committed).toBe(true)
    expect(report.gaps).toEqual([])
    expect((await snapshotOf(h, report)).caps.changes).toEqual([])
    expect(report.capChanges).toEqual([])
  })

  it('tries each write once (a 403 is not retried) and changes nothing at the provider', () => {
    expect(writes.map((w) => `${w.provider} ${w.method} ${w.path}`).sort()).toEqual([
      `openai POST ${SPEND_LIMIT_PATH}`,
      `openrouter PATCH /api/v1/keys/${openRouterKey(h).hash}`,
    ])
    expect(mediaProject(h).spend_limit ?? null).toBeNull()
    expect(openRouterKey(h).limit).toBe(10)
  })

  it.each([
    [OPENAI_CAP_KEY, OPENAI_WRITE_PERMISSION],
    [OPENROUTER_CAP_KEY, OPENROUTER_WRITE_PERMISSION],
  ])('reports %s as a cap-drift error naming the permission it needs', async (key, permission) => {
    // Act
    const drift = capDrift(report, key)
    const recorded = (await snapshotOf(h, report)).findings.filter(
      (f) => f.rule === 'cap-drift' && f.key === key,
    )

    // Assert
    expect(drift).toHaveLength(1)
    expect(drift[0]?.severity).toBe('error')
    expect(drift[0]?.message).toContain('refused')
    expect(drift[0]?.message).toContain('403')
    expect(drift[0]?.message).toContain(`Setting limits needs ${permission}.`)
    expect(recorded).toEqual([expect.objectContaining({ severity: 'error' })])
  })

  it('shows both capped keys as watched only on the dashboard', async () => {
    const { rows } = await budgetsAndCaps(h)
    expect(rows.get(OPENAI_CAP_KEY)?.at(4)).toBe('keyward (watch only)')
    expect(rows.get(OPENROUTER_CAP_KEY)?.at(4)).toBe('keyward (watch only)')
  })
})

describe('caps: enforce on an OpenAI organization without the spend-limit API', () => {
  let h: AuditHarness
  let report: AuditReport
  let writes: Write[]
  let spendLimitReads: number

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    h.dataset.openai.spendLimits = false
    await commitInventory(h, enforceMode, { date: at(-1) })
    const from = mark(h)
    report = await h.runAudit({ now: T0 })
    writes = writesSince(h, from)
    spendLimitReads = h.providers.servers.openai.requests
      .slice(from.openai)
      .filter((r) => r.path.endsWith('/spend_limit')).length
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it('says once that spend limits are not available, with no gap and no write', () => {
    expect(report.notes.filter((n) => /not available/.test(n))).toEqual([
      expect.stringContaining('OpenAI project spend limits are not available'),
    ])
    expect(spendLimitReads).toBe(1)
    expect(report.gaps).toEqual([])
    expect(report.committed).toBe(true)
    expect(writes).toEqual([])
    expect(capDrift(report, OPENAI_CAP_KEY)).toEqual([])
  })

  it('reports the capped key as watched only, in the snapshot and on the dashboard', async () => {
    // Act
    const { caps } = await snapshotOf(h, report)
    const { rows } = await budgetsAndCaps(h)

    // Assert
    expect(caps.keys.find((k) => k.key === OPENAI_CAP_KEY)).toMatchObject({
      enforcedBy: 'keyward',
      note: expect.stringContaining('no spend-limit API'),
    })
    expect(rows.get(OPENAI_CAP_KEY)?.at(4)).toBe('keyward (watch only)')
    expect(rows.get(OPENROUTER_CAP_KEY)?.at(4)).toBe('provider')
  })
})

describe('caps: enforce with --dry-run', () => {
  let h: AuditHarness
  let report: AuditReport
  let writes: Write[]
  let historyBefore: string
  let historyAfter: string

  beforeAll(async () => {
    h = await startAuditHarness({ now: T0 })
    await commitInventory(h, enforceMode, { date: at(-1) })
    historyBefore = await h.git('log', '--format=%H')
    const from = mark(h)
    report = await h.runAudit({ now: T0, dryRun: true })
    writes = writesSince(h, from)
    historyAfter = await h.git('log', '--format=%H')
  }, RUNS_TIMEOUT)
  afterAll(async () => {
    await h?.stop()
  })

  it('logs the limit it would set', () => {
    expect(h.lines).toContainEqual({
      level: 'info',
      message: `dry run: would set openai project ${MEDIA_PROJECT}: none → $45.00 monthly`,
    })
    expect(capDrift(report)[0]?.message).toContain(
      'keyward would set it to $45.00 (dry run: nothing was written)',
    )
  })

  it('writes nothing: no provider write, no change recorded, no commit', async () => {
    expect(writes).toEqual([])
    expect(mediaProject(h).spend_limit ?? null).toBeNull()
    expect(report.capChanges).toEqual([])
    expect(report.snapshot).toBeUndefined()
    expect(historyAfter).toBe(historyBefore)
    expect(await h.git('status', '--porcelain', '--untracked-files=all')).toBe('')
  })
})

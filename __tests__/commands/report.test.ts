import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { localForge, OUTBOX } from '../../src/adapters/forge/local.js'
import { repoFileReader } from '../../src/adapters/fs/repo-files.js'
import { gitChangeLog } from '../../src/adapters/git/change-log.js'
import { report, type ReportResult } from '../../src/commands/report.js'
import { LEDGER_FILE, parseLedger } from '../../src/ledger/chain.js'
import type { UsageRecord } from '../../src/records.js'
import { median } from '../../src/analysis/baseline.js'
import { renderReviewJson, reviewLabelOf } from '../../src/report/review-markdown.js'
import {
  captureLog,
  CONFIG_FILE,
  startAuditHarness,
  type AuditHarness,
} from '../../test/fakes/audit-harness.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'
import { memoryForge } from '../../test/fakes/memory-forge.js'
import type { ChangeLog } from '../../src/ports/change-log.js'

/**
 * `report()` on the demo repository: three real audits a week apart build the ledger, a person
 * edits keyward.yaml in between, then the reviews of two weeks run on the local forge.
 */

const run = promisify(execFile)
const T = '2026-11-27T12:00:00Z' // a Friday: the review of 2026-W48
const DAY = 86_400_000
const before = (days: number) => new Date(Date.parse(T) - days * DAY).toISOString()

let h: AuditHarness
let w47: ReportResult
let w48: ReportResult
let again: ReportResult
let headBeforeAgain: string
let headAfterAgain: string

const runReport = (now: string) =>
  report(
    { configFile: CONFIG_FILE, since: '7d', dryRun: false },
    {
      readFile: repoFileReader(h.root),
      forge: localForge(h.root),
      changeLog: gitChangeLog(h.root),
      clock: fixedClock(now),
      log: captureLog([]),
    },
  )

/** The outbox issues carrying a review marker, with their header and comments. */
async function reviewIssues() {
  const dir = join(h.root, OUTBOX, 'issues')
  const files = (await readdir(dir)).filter((f) => f.endsWith('.md')).sort()
  const out = []
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8')
    const label = reviewLabelOf(text)
    if (!label) continue
    const header = JSON.parse(
      text
        .slice(0, text.indexOf('\n'))
        .replace(/^<!-- keyward:outbox /, '')
        .replace(/ -->$/, ''),
    ) as { number: number; state: string; stateReason: string | null; title: string }
    const comments = await readFile(
      join(dir, file.replace(/\.md$/, '.comments.txt')),
      'utf8',
    ).catch(() => '')
    out.push({ label, header, body: text.slice(text.indexOf('\n') + 1), comments })
  }
  return out
}

beforeAll(async () => {
  h = await startAuditHarness({ now: T })
  await h.runAudit({ now: before(13) })
  await h.runAudit({ now: before(7) })
  w47 = await runReport(before(7))
  // Maria adds a place the blog key is used, three days before T.
  const config = join(h.root, CONFIG_FILE)
  const text = await readFile(config, 'utf8')
  await writeFile(
    config,
    text.replace('used_in: [WordPress AI plugin]', 'used_in: [WordPress AI plugin, Newsletter]'),
  )
  const date = `@${Math.floor(Date.parse(before(3)) / 1000)} +0000`
  await run(
    'git',
    [
      '-c',
      'commit.gpgsign=false',
      'commit',
      '--quiet',
      '--no-verify',
      '-am',
      'Blog key: also the newsletter',
    ],
    {
      cwd: h.root,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Maria',
        GIT_AUTHOR_EMAIL: 'maria@example.com',
        GIT_COMMITTER_NAME: 'Maria',
        GIT_COMMITTER_EMAIL: 'maria@example.com',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    },
  )
  await h.runAudit({ now: T })
  w48 = await runReport(T)
  headBeforeAgain = (await h.git('rev-parse', 'HEAD')).trim()
  again = await runReport(T)
  headAfterAgain = (await h.git('rev-parse', 'HEAD')).trim()
}, 180_000)

afterAll(async () => {
  await h?.stop()
})

describe('the seeded incidents', () => {
  // canary-used is left out: the fake lists the canary's last_used_at (T-5h) to every run, so
  // the runs "before" T already see it; its own test below checks the time of use instead.
  const eventKinds = ['spend-spike', 'off-hours', 'unexpected-model', 'unfamiliar-ip']

  it('names the weeks 2026-W47 and 2026-W48', () => {
    expect(w47.review.period.label).toBe('2026-W47')
    expect(w48.review.period.label).toBe('2026-W48')
    expect(w48.file).toBe('reports/2026-W48.md')
  })

  it('shows each incident of the last days as a finding opened in W48, not W47', () => {
    for (const incident of h.dataset.incidents.filter((i) => eventKinds.includes(i.kind))) {
      const match = (f: { rule: string; key: string | null }) =>
        f.rule === incident.kind && f.key === incident.keyId
      expect({ incident: incident.kind, w48: w48.review.findings.opened.some(match) }).toEqual({
        incident: incident.kind,
        w48: true,
      })
      expect(w47.review.findings.opened.some(match)).toBe(false)
    }
    const spike = w48.review.findings.opened.find((f) => f.rule === 'spend-spike')
    const seeded = h.dataset.incidents.find((i) => i.kind === 'spend-spike')
    expect(spike?.period).toBe(seeded?.at.slice(0, 10))
    expect(w48.body).toContain('`spend-spike` on `avatar-video-openai` (2026-11-25)')
  })

  it('dates the canary use inside W48', () => {
    const canary = [...w47.review.findings.opened, ...w48.review.findings.opened].find(
      (f) => f.rule === 'canary-used',
    )
    const first = Date.parse(String(canary?.numbers.first))
    expect(first).toBeGreaterThan(Date.parse(w48.review.period.start))
    expect(first).toBeLessThanOrEqual(Date.parse(w48.review.period.end))
  })

  it('opens the unmanaged key in the week keyward first saw it, and the idle key once idle', () => {
    const rules = (r: ReportResult) => r.review.findings.opened.map((f) => f.rule)
    expect(rules(w47)).toContain('unmanaged-key')
    expect(rules(w48)).not.toContain('unmanaged-key')
    expect(rules(w48)).toContain('idle-key')
    expect(rules(w47)).not.toContain('idle-key')
  })

  it('lists the overdue rotation and the change Maria made, with who and which key', () => {
    expect(w48.review.rotation.map((r) => [r.key, r.due, r.daysLeft])).toEqual([
      ['avatar-video-openai', '2026-10-31', -27],
    ])
    // The harness's own first commit is dated by the real clock: look at Maria's only.
    const byPerson = (r: ReportResult) => r.review.changes.filter((c) => c.author === 'Maria')
    expect(byPerson(w48)).toEqual([
      expect.objectContaining({
        author: 'Maria',
        email: 'maria@example.com',
        at: before(3),
        keys: [{ id: 'blog-writer-anthropic', change: 'changed', fields: ['used_in'] }],
      }),
    ])
    expect(byPerson(w47)).toEqual([])
    expect(w48.review.actions).toHaveLength(3)
    expect(w48.review.actions[0]).toMatch(/error finding/)
  })
})

describe('the numbers', () => {
  /** Usage of every committed snapshot, deduplicated as the audit does. */
  async function committedUsage(): Promise<{ usage: UsageRecord[]; head: string | null }> {
    const ledger = parseLedger((await readFile(join(h.root, LEDGER_FILE), 'utf8')) ?? '')
    const byId = new Map<string, UsageRecord>()
    for (const entry of ledger.entries) {
      const body = JSON.parse(await readFile(join(h.root, entry.path), 'utf8')) as {
        providers: Record<string, { usage: UsageRecord[] }>
      }
      for (const p of Object.values(body.providers))
        for (const u of p.usage)
          byId.set(
            [u.provider, u.providerKeyId, u.start, u.model, u.operation, u.project].join('|'),
            u,
          )
    }
    return { usage: [...byId.values()], head: ledger.entries.at(-1)?.sha256 ?? null }
  }

  it('match sums over the committed snapshots, per key, per period, against the baseline', async () => {
    const { usage, head } = await committedUsage()
    const end = Date.parse(T)
    const sums = (providerKeyId: string) =>
      Array.from({ length: 5 }, (_, i) => {
        const inPeriod = usage.filter((u) => {
          const mid = (Date.parse(u.start) + Date.parse(u.end)) / 2
          return (
            u.providerKeyId === providerKeyId &&
            mid >= end - (i + 1) * 7 * DAY &&
            mid < end - i * 7 * DAY
          )
        })
        return {
          usd: inPeriod.reduce((s, u) => s + (u.costUsd ?? 0), 0),
          tokens: inPeriod.reduce((s, u) => s + u.inputTokens + u.outputTokens, 0),
        }
      })
    for (const id of ['avatar-video-openai', 'blog-writer-anthropic'] as const) {
      const expected = sums(h.dataset.providerKeyIds[id])
      const key = w48.review.keys.find((k) => k.id === id)
      expect(key?.spendUsd).toBeCloseTo(expected[0]?.usd ?? NaN, 5)
      expect(key?.tokens).toBe(expected[0]?.tokens)
      expect(key?.spendUsd).toBeGreaterThan(0)
      // The ledger starts with a 35-day backfill before T-14d: all four baseline weeks are covered.
      expect(w48.review.baselinePeriods).toBe(4)
      expect(key?.baselineSpendUsd).toBeCloseTo(median(expected.slice(1).map((e) => e.usd)), 5)
    }
    const unmanaged = w48.review.unattributed.find((u) => u.provider === 'openai')
    expect(unmanaged?.providerKeyIds).toContain(h.dataset.unmanagedKeyId)
    expect(w48.review.ledger.head).toBe(head)
    expect(w48.body).toContain(`Head \`${head}\``)
  })

  it('gives the same numbers as JSON', () => {
    const json = JSON.parse(
      renderReviewJson(w48.review, { file: w48.file, issue: w48.issue.number ?? null }),
    ) as {
      period: { label: string }
      keys: { id: string; spend_usd: number; baseline_spend_usd: number | null }[]
      file: string
    }
    const key = w48.review.keys.find((k) => k.id === 'avatar-video-openai')
    expect(json.period.label).toBe('2026-W48')
    expect(json.file).toBe('reports/2026-W48.md')
    expect(json.keys.find((k) => k.id === 'avatar-video-openai')).toMatchObject({
      spend_usd: key?.spendUsd,
      baseline_spend_usd: key?.baselineSpendUsd,
    })
  })
})

describe('one review issue per period', () => {
  it('commits the full report for each week', async () => {
    expect(w47.committed).toBe(true)
    expect(w48.committed).toBe(true)
    expect(await h.git('show', `HEAD:${w48.file}`)).toBe(w48.full)
    expect(await h.git('show', `HEAD:${w47.file}`)).toBe(w47.full)
  })

  it('creates one issue per week, links the previous one and closes it', async () => {
    const issues = await reviewIssues()
    expect(issues.map((i) => i.label)).toEqual(['2026-W47', '2026-W48'])
    const [first, second] = issues
    expect(w48.previous).toEqual({ number: first?.header.number, closed: true })
    expect(first?.header).toMatchObject({ state: 'closed', stateReason: 'completed' })
    expect(first?.comments).toContain(`#${second?.header.number}`)
    expect(second?.header).toMatchObject({ state: 'open', title: 'keyward review 2026-W48' })
    expect(second?.body).toBe(w48.body)
    expect(second?.body).toContain(`previous review: #${first?.header.number}`)
    expect(second?.body).toContain('full report: [reports/2026-W48.md](reports/2026-W48.md)')
  })

  it('changes nothing when the same period is reviewed again', async () => {
    expect(again.issue).toEqual({ ...w48.issue, action: 'unchanged' })
    expect(again.committed).toBe(false)
    expect(again.previous).toEqual({ number: w48.previous?.number, closed: false })
    expect(headAfterAgain).toBe(headBeforeAgain)
    expect((await reviewIssues()).length).toBe(2)
  })
})

describe('review issues on a forge that already has some', () => {
  const INVENTORY = `version: 1
providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml
workflows:
  blog:
    label: Blog
    owner: "@me"
keys:
  blog-openai:
    label: Blog - OpenAI
    workflow: blog
    provider: openai
    secret: keys/blog-openai.sops.yaml
    created: 2026-11-01
`
  const noHistory: ChangeLog = {
    commits: async () => [],
    readAt: async () => undefined,
  }
  const arrange = (seed: Parameters<typeof memoryForge>[0]) => {
    const { forge, state } = memoryForge(seed)
    const deps = {
      readFile: async (path: string) =>
        path === 'keyward.yaml' ? new TextEncoder().encode(INVENTORY) : undefined,
      forge,
      changeLog: noHistory,
      clock: fixedClock(T),
      log: captureLog([]),
    }
    return { state, deps }
  }

  it('keeps a "not planned" close, closes duplicates and the previous week', async () => {
    const { state, deps } = arrange([
      {
        number: 1,
        body: '<!-- keyward:review 2026-W46 -->\nold',
        state: 'closed',
        stateReason: 'completed',
      },
      { number: 2, body: '<!-- keyward:review 2026-W47 -->\nlast week' },
      {
        number: 3,
        body: '<!-- keyward:review 2026-W48 -->\nx',
        state: 'closed',
        stateReason: 'not_planned',
      },
      { number: 4, body: '<!-- keyward:review 2026-W48 -->\ncopy' },
    ])

    const result = await report({ configFile: 'keyward.yaml', since: '7d', dryRun: false }, deps)

    expect(result.issue).toMatchObject({ number: 3, action: 'updated' })
    expect(state.issues.get(3)).toMatchObject({ state: 'closed', stateReason: 'not_planned' })
    expect(state.issues.get(3)?.body).toContain('previous review: #2')
    expect(state.issues.get(4)).toMatchObject({ state: 'closed', stateReason: 'not_planned' })
    expect(state.issues.get(4)?.comments).toEqual([
      'A duplicate of #3, which keyward keeps for 2026-W48.',
    ])
    expect(state.issues.get(2)).toMatchObject({ state: 'closed', stateReason: 'completed' })
    expect(state.issues.get(1)?.comments).toEqual([])
    expect(
      state.writes.filter((w) => w.op === 'commit').map((w) => w.op === 'commit' && w.paths),
    ).toEqual([['reports/2026-W48.md']])
  })

  it('writes nothing in a dry run', async () => {
    const { state, deps } = arrange([
      { number: 7, body: '<!-- keyward:review 2026-W47 -->\nlast week' },
    ])

    const result = await report({ configFile: 'keyward.yaml', since: '7d', dryRun: true }, deps)

    expect(result.issue.action).toBe('created')
    expect(result.previous).toEqual({ number: 7, closed: false })
    expect(state.writes).toEqual([])
  })

  it('refuses a --since that is not a duration', async () => {
    const { deps } = arrange([])

    await expect(
      report({ configFile: 'keyward.yaml', since: 'weekly', dryRun: false }, deps),
    ).rejects.toThrow('--since must be a duration such as 7d, 2w or 36h; got "weekly"')
  })
})

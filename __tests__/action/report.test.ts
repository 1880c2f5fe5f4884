import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import * as core from '../../__fixtures__/core.js'
import { LEDGER_FILE } from '../../src/ledger/chain.js'
import { reviewLabelOf } from '../../src/report/review-markdown.js'
import {
  at,
  filesOf,
  GOV,
  head,
  ledgerEntries,
  runActionWith,
  startRig,
  writesOf,
  type ActionRun,
  type Rig,
  type RunAction,
} from '../../test/fakes/action-rig.js'
import { validateGitHubResponse } from '../../test/fakes/github-openapi.js'
import type { FakeIssue, GitHubFake } from '../../test/fakes/github-server.js'
import {
  startRecordingProxy,
  type ProviderExchange,
  type RecordingProxy,
} from '../../test/fakes/recording-proxy.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/action/main.js')

/**
 * `command: report` (issue 8, README "Weekly review") through the action's `run()`, in process,
 * on the rig of `audit.test.ts` (test/fakes/action-rig.ts): audit runs spread over two days fill
 * the ledger on the GitHub fake's `main`, each scheduled run starting from `actions/checkout`
 * (`rig.checkout()`), then the weekly review is run, run again the same week, and run in the
 * next ISO week. Only @actions/core is mocked. A recording proxy sits between Octokit and the
 * fake, so every response the action received is checked against GitHub's published REST
 * description.
 */

/**
 * One run with the rig's inputs (`runActionWith` sets them for `command: audit`), except that the
 * `command` input reads `report`, as the weekly workflow's step gives it.
 */
const asReport: RunAction = async (overrides) => {
  const given = core.getInput.getMockImplementation()
  if (!given) throw new Error('the core fixture has no getInput implementation')
  core.getInput.mockImplementation((name, options) =>
    name === 'command' ? 'report' : given(name, options),
  )
  await run(overrides)
}

const SERVER = 'https://github.com'
const WEEK = '2026-W48'
const NEXT_WEEK = '2026-W49'
const fileOf = (label: string) => `reports/${label}.md`
const blobUrl = (sha: string, path: string) => `${SERVER}/owner/repo/blob/${sha}/${GOV}/${path}`
/** What the issue body adds to the committed report: the link to it, in the header line. */
const fullReportLink = (label: string, sha: string) =>
  ` · full report: [${fileOf(label)}](${blobUrl(sha, fileOf(label))})`

const reviews = (github: GitHubFake, label?: string) =>
  github
    .issues()
    .filter((i) => reviewLabelOf(i.body ?? '') !== undefined)
    .filter((i) => label === undefined || reviewLabelOf(i.body ?? '') === label)
const numbers = (r: ActionRun, output: string) => JSON.parse(r.outputs[output] ?? 'null') as unknown
const issueWrites = (r: ActionRun) =>
  writesOf(r.calls).filter((w) => /\/issues(\/\d+(\/comments)?)?$/.test(w))

interface Moment {
  head: string
  commits: number
  issues: FakeIssue[]
}
const moment = (github: GitHubFake): Moment => ({
  head: head(github),
  commits: github.commitsOn('main').length,
  issues: github.issues().map((i) => ({ ...i, labels: [...i.labels] })),
})

describe('command report, after a day of audits, again the same week, and in the next week', () => {
  let rig: Rig
  let proxy: RecordingProxy
  const exchanges: ProviderExchange[] = []
  const audits: ActionRun[] = []
  let beforeReport: Moment
  let first: ActionRun
  let afterFirst: Moment
  let again: ActionRun
  let afterAgain: Moment
  let beforeUpdate: Moment
  let updated: ActionRun
  let afterUpdate: Moment
  let beforeNextWeek: Moment
  let nextWeek: ActionRun
  let afterNextWeek: Moment
  let nextWeekAgain: ActionRun

  const audit = async (hours: number) => {
    await rig.checkout()
    const r = await runActionWith(run, rig, { now: at(hours) })
    audits.push(r)
    return r
  }
  const report = async (hours: number) => {
    await rig.checkout()
    return runActionWith(asReport, rig, { now: at(hours) })
  }

  beforeAll(async () => {
    rig = await startRig()
    proxy = await startRecordingProxy('github', rig.apiUrl, exchanges)
    rig.env.GITHUB_API_URL = proxy.origin

    // Friday 2026-11-27 12:00 UTC to Saturday 06:00: four scheduled audits.
    for (const hours of [0, 6, 12, 18]) await audit(hours)
    beforeReport = moment(rig.github)
    // Saturday 08:00: the review of the week in progress (its last whole day is Friday, W48).
    first = await report(20)
    afterFirst = moment(rig.github)
    // The same run again: nothing changed.
    again = await report(20)
    afterAgain = moment(rig.github)
    // One more audit, then the review again the same week.
    await audit(21)
    beforeUpdate = moment(rig.github)
    updated = await report(22)
    afterUpdate = moment(rig.github)
    // Tuesday 2026-12-01: an audit, then the review of W49 (its last whole day is Monday).
    await audit(94)
    beforeNextWeek = moment(rig.github)
    nextWeek = await report(96)
    afterNextWeek = moment(rig.github)
    // And once more that Tuesday: the previous review is already closed.
    nextWeekAgain = await report(96)
  }, 180_000)

  afterAll(async () => {
    await proxy?.stop()
    await rig?.stop()
  })

  it('audits and reports without failing', () => {
    expect(audits.map((r) => r.failed)).toEqual(audits.map(() => []))
    expect([first, again, updated, nextWeek, nextWeekAgain].map((r) => r.failed)).toEqual([
      [],
      [],
      [],
      [],
      [],
    ])
    expect(first.warnings).toEqual([])
  })

  it('commits the full review as reports/YYYY-Www.md in the governance folder, in one commit on main', () => {
    const commits = rig.github.commitsOn('main')
    expect(afterFirst.commits).toBe(beforeReport.commits + 1)
    const commit = commits.find((c) => c.sha === afterFirst.head)
    expect(commit?.parents).toEqual([beforeReport.head])
    expect(commit?.message).toMatch(new RegExp(`^keyward report ${WEEK}\\n`))
    // Exactly one file added, nothing else touched.
    const before = filesOf(rig.github, beforeReport.head)
    const after = filesOf(rig.github, afterFirst.head)
    const changed = Object.keys({ ...before, ...after }).filter((p) => before[p] !== after[p])
    expect(changed).toEqual([`${GOV}/${fileOf(WEEK)}`])
    // Nothing written outside gov/, no Contents API writes.
    expect(rig.github.fileAt(afterFirst.head, fileOf(WEEK))).toBeUndefined()
    expect(writesOf(first.calls).some((w) => w.includes('/contents/'))).toBe(false)
  })

  it('writes the review of the audited week into the report file', () => {
    const text = rig.github.fileAt(afterFirst.head, `${GOV}/${fileOf(WEEK)}`) ?? ''
    const ledgerHead = audits[3]?.outputs['ledger-head'] as string
    expect(ledgerHead).toMatch(/^sha256:[0-9a-f]{64}$/)

    expect(text.startsWith(`<!-- keyward:review ${WEEK} -->\n## keyward review ${WEEK}\n`)).toBe(
      true,
    )
    expect(text).toContain('**2026-11-21 08:00 UTC → 2026-11-28 08:00 UTC** (7 days)')
    for (const workflow of [
      'Avatar Video Pipeline (`avatar-video`)',
      'Blog Writer (`blog-writer`)',
      'Nightly Transcript Batch (`night-batch`)',
    ])
      expect(text).toContain(`| ${workflow} |`)
    expect(text).toContain('4 audit runs in the period')
    // Budgets and caps: the newest snapshot's rows, with the demo's two capped keys.
    const budgets = text.split('### Budgets and caps\n')[1]?.split('\n### ')[0] ?? ''
    expect(budgets).toMatch(/^\n\| key \| budget \| cap \| month to date \| forecast \|/)
    expect(budgets).toMatch(/\| `avatar-video-openai` \| \$30\.00 \| \$45\.00 \|/)
    expect(budgets).toMatch(/\| `night-batch-openrouter` \| \$15\.00 \| \$20\.00 \|/)
    expect(budgets).toMatch(/\| `blog-writer-anthropic` \| \$25\.00 \| — \|/)
    // The ledger the four audits left on the branch.
    expect(text).toContain(
      `Head \`${ledgerHead}\` after 4 snapshot(s); newest \`audit/snapshots/2026/11/28/060000Z.json\`.`,
    )
    expect(text).toContain(`keyward ledger verify --anchor ${ledgerHead}`)
    // The committed report is the issue body without the link to itself.
    const issue = reviews(rig.github, WEEK)[0]
    const sha = afterFirst.head
    expect(text).toBe(
      afterFirst.issues
        .find((i) => i.number === issue?.number)
        ?.body?.replace(fullReportLink(WEEK, sha), ''),
    )
  })

  it('opens one review issue with the marker, the keyward labels, a body under the limit and a link to the report', () => {
    const opened = afterFirst.issues.filter((i) => reviewLabelOf(i.body ?? '') !== undefined)
    expect(opened).toHaveLength(1)
    const [issue] = opened as [FakeIssue]
    expect(issue.title).toBe(`keyward review ${WEEK}`)
    expect(issue.state).toBe('open')
    expect(issue.labels).toEqual(expect.arrayContaining(['keyward', 'keyward:review']))
    expect(issue.body?.startsWith(`<!-- keyward:review ${WEEK} -->\n`)).toBe(true)
    expect((issue.body ?? '').length).toBeLessThan(65_536)
    expect(issue.body).toContain(fullReportLink(WEEK, afterFirst.head))
    expect(writesOf(first.calls).filter((w) => w === 'POST /repos/owner/repo/issues')).toHaveLength(
      1,
    )
    // The audits' issues are not touched by the report.
    for (const before of beforeReport.issues)
      expect(afterFirst.issues.find((i) => i.number === before.number)).toEqual(before)
  })

  it('sets the outputs, narrates, and writes the issue body as the job summary', () => {
    const [issue] = reviews(rig.github, WEEK) as [FakeIssue]
    expect(first.info).toEqual(
      expect.arrayContaining([
        `committed ${fileOf(WEEK)}`,
        `review ${WEEK}: issue ${issue.number} created`,
      ]),
    )
    expect(again.info).toEqual(
      expect.arrayContaining([
        `${fileOf(WEEK)} is up to date`,
        `review ${WEEK}: issue ${issue.number} unchanged`,
      ]),
    )
    expect(first.outputs).toEqual({
      findings: '[]',
      'issues-created': JSON.stringify([issue.number]),
      'issues-updated': '[]',
      'issues-closed': '[]',
      'pull-requests-opened': '[]',
      snapshot: '',
      'ledger-head': audits[3]?.outputs['ledger-head'],
    })
    expect(JSON.parse(first.summary)).toEqual([
      {
        kind: 'raw',
        text: afterFirst.issues.find((i) => i.number === issue.number)?.body,
        addEOL: true,
      },
      { kind: 'write' },
    ])
  })

  it('run again with nothing changed: no commit, the issue left as it is, no second issue', () => {
    expect(afterAgain.head).toBe(afterFirst.head)
    expect(afterAgain.commits).toBe(afterFirst.commits)
    expect(afterAgain.issues).toEqual(afterFirst.issues)
    expect(issueWrites(again)).toEqual([])
    expect(numbers(again, 'issues-created')).toEqual([])
    expect(numbers(again, 'issues-updated')).toEqual([])
    expect(again.outputs['ledger-head']).toBe(first.outputs['ledger-head'])
  })

  it('run again after another audit the same week: the report re-committed, the same issue updated', () => {
    const [issue] = reviews(rig.github, WEEK) as [FakeIssue]
    const ledgerHead = audits[4]?.outputs['ledger-head'] as string
    expect(ledgerHead).not.toBe(first.outputs['ledger-head'])

    expect(afterUpdate.commits).toBe(beforeUpdate.commits + 1)
    expect(rig.github.commitsOn('main').find((c) => c.sha === afterUpdate.head)?.parents).toEqual([
      beforeUpdate.head,
    ])
    const text = rig.github.fileAt(afterUpdate.head, `${GOV}/${fileOf(WEEK)}`) ?? ''
    expect(text).toContain(`Head \`${ledgerHead}\` after 5 snapshot(s)`)
    expect(afterUpdate.issues.filter((i) => reviewLabelOf(i.body ?? '') === WEEK)).toHaveLength(1)
    const now = afterUpdate.issues.find((i) => i.number === issue.number)
    expect(now?.state).toBe('open')
    expect(now?.body).toContain(fullReportLink(WEEK, afterUpdate.head))
    expect(now?.body).toContain(`Head \`${ledgerHead}\``)
    expect(issueWrites(updated)).toEqual([`PATCH /repos/owner/repo/issues/${issue.number}`])
    expect(numbers(updated, 'issues-created')).toEqual([])
    expect(numbers(updated, 'issues-updated')).toEqual([issue.number])
    expect(updated.outputs['ledger-head']).toBe(ledgerHead)
  })

  it('in the next ISO week: a new issue linking the previous review, which it closes with a comment', () => {
    const [previous] = reviews(rig.github, WEEK) as [FakeIssue]
    const current = reviews(rig.github, NEXT_WEEK)
    expect(current).toHaveLength(1)
    const [issue] = current as [FakeIssue]
    const nowHead = head(rig.github)

    expect(issue.number).not.toBe(previous.number)
    expect(issue.title).toBe(`keyward review ${NEXT_WEEK}`)
    expect(issue.state).toBe('open')
    expect(issue.body).toContain(`previous review: #${previous.number}`)
    expect(issue.body).toContain(fullReportLink(NEXT_WEEK, nowHead))
    expect(previous.state).toBe('closed')
    expect(previous.stateReason).toBe('completed')
    expect(rig.github.comments(previous.number).map((c) => c.body)).toEqual([
      `Superseded by the review for ${NEXT_WEEK}: #${issue.number}.`,
    ])
    // The new report sits next to the previous one, in its own commit.
    expect(rig.github.commitsOn('main')[0]?.parents).toEqual([beforeNextWeek.head])
    expect(rig.github.fileAt('main', `${GOV}/${fileOf(WEEK)}`)).toBe(
      rig.github.fileAt(afterUpdate.head, `${GOV}/${fileOf(WEEK)}`),
    )
    const text = rig.github.fileAt('main', `${GOV}/${fileOf(NEXT_WEEK)}`) ?? ''
    expect(text.startsWith(`<!-- keyward:review ${NEXT_WEEK} -->\n`)).toBe(true)
    expect(text).toContain(`previous review: #${previous.number}`)
    expect(text).toBe(issue.body?.replace(fullReportLink(NEXT_WEEK, nowHead), ''))
    expect(nextWeek.outputs).toMatchObject({
      'issues-created': JSON.stringify([issue.number]),
      'issues-updated': '[]',
      'issues-closed': JSON.stringify([previous.number]),
      'ledger-head': audits[5]?.outputs['ledger-head'],
    })
    const ledger = ledgerEntries(rig.github.fileAt('main', `${GOV}/${LEDGER_FILE}`))
    expect(ledger.at(-1)?.sha256).toBe(nextWeek.outputs['ledger-head'])
    expect(text).toContain(`Head \`${nextWeek.outputs['ledger-head']}\` after 6 snapshot(s)`)
  })

  it('run again in the next week: nothing written, the previous review neither reopened nor commented again', () => {
    const [previous] = reviews(rig.github, WEEK) as [FakeIssue]
    expect(head(rig.github)).toBe(afterNextWeek.head)
    expect(rig.github.issues()).toEqual(afterNextWeek.issues)
    expect(issueWrites(nextWeekAgain)).toEqual([])
    expect(rig.github.comments(previous.number)).toHaveLength(1)
    expect(nextWeekAgain.outputs).toMatchObject({
      'issues-created': '[]',
      'issues-updated': '[]',
      'issues-closed': '[]',
    })
  })

  it('the audits after a report leave the review issue alone', () => {
    const [issue] = reviews(rig.github, WEEK) as [FakeIssue]
    for (const later of audits.slice(4))
      expect(writesOf(later.calls).filter((w) => w.includes(`/issues/${issue.number}`))).toEqual([])
    expect(beforeUpdate.issues.find((i) => i.number === issue.number)).toEqual(
      afterAgain.issues.find((i) => i.number === issue.number),
    )
    expect(beforeNextWeek.issues.find((i) => i.number === issue.number)).toEqual(
      afterUpdate.issues.find((i) => i.number === issue.number),
    )
  })

  it('leaks no decrypted key into the reports, the issues, the comments, the logs or the summaries', () => {
    expect(rig.plaintext.length).toBeGreaterThanOrEqual(7)
    const texts = [
      ...[first, again, updated, nextWeek, nextWeekAgain, ...audits].map((r) => r.allText),
      ...Object.values(filesOf(rig.github, 'main')),
      ...rig.github.issues().flatMap((i) => [i.title, i.body ?? '']),
      ...rig.github.issues().flatMap((i) => rig.github.comments(i.number).map((c) => c.body)),
      ...rig.github.commitsOn('main').map((c) => c.message),
    ]
    for (const secret of rig.plaintext)
      expect(texts.filter((text) => text.includes(secret))).toEqual([])
  })

  it('received from GitHub only responses the published REST description allows', () => {
    expect(exchanges.length).toBeGreaterThan(0)
    const reportCalls = [first, again, updated, nextWeek, nextWeekAgain].reduce(
      (n, r) => n + r.calls.length,
      0,
    )
    expect(reportCalls).toBeGreaterThan(0)
    // The forge reads files with the raw media type (`mediaType: { format: 'raw' }`): a 200 from
    // the contents API is the file itself, validated as a string even when the file is JSON.
    const raw = (e: ProviderExchange, path: string) =>
      e.method === 'GET' && e.status === 200 && /^\/repos\/owner\/repo\/contents\//.test(path)
    const failures = exchanges
      .map((e) => {
        const path = e.path.split('?')[0] ?? e.path
        const body: unknown =
          e.responseBody === ''
            ? undefined
            : raw(e, path)
              ? e.responseBody
              : (JSON.parse(e.responseBody) as unknown)
        return {
          call: `${e.method} ${path} → ${e.status}`,
          ...validateGitHubResponse(e.method, path, e.status, body),
        }
      })
      .filter((v) => !v.ok)
    expect(failures).toEqual([])
  })
})

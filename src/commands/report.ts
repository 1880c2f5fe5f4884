import { UsageError, errorMessage } from '../errors.js'
import { mapLimited } from '../map-limited.js'
import { checkInventory } from '../inventory/check.js'
import { parseDuration } from '../inventory/duration.js'
import type { Inventory } from '../inventory/types.js'
import { LEDGER_FILE, parseLedger } from '../ledger/chain.js'
import type { ChangeLog } from '../ports/change-log.js'
import type { Clock } from '../ports/clock.js'
import type { Forge, ForgeIssue } from '../ports/forge.js'
import type { Log } from '../ports/log.js'
import {
  computeReview,
  describeConfigCommit,
  periodLabel,
  reviewHistoryMs,
  type ConfigChange,
  type LedgerSnapshot,
  type Review,
  type SnapshotBody,
} from '../report/review.js'
import { renderReviewMarkdown, reviewLabelOf, reviewTitle } from '../report/review-markdown.js'

/** Where the full reports are committed, one per ISO week. */
export const REPORTS_DIR = 'reports'
const COMMIT_ATTEMPTS = 3
const READ_CONCURRENCY = 8

export interface ReportDeps {
  readFile(path: string): Promise<Uint8Array | undefined>
  forge: Forge
  changeLog: ChangeLog
  clock: Clock
  log: Log
}

export interface ReportInput {
  configFile: string
  /** The period, ending now: `7d`, `2w`, `36h`. */
  since: string
  dryRun: boolean
  /** A link to a committed file at a commit, for the issue body (default: the path itself). */
  fileUrl?: (path: string, sha: string | undefined) => string
}

export interface ReportResult {
  review: Review
  /** `reports/YYYY-Www.md` */
  file: string
  /** The committed report (everything). */
  full: string
  /** The issue body (summarized under GitHub's limit; the job summary uses it too). */
  body: string
  committed: boolean
  issue: {
    number: number | undefined
    url: string | undefined
    action: 'created' | 'updated' | 'unchanged'
  }
  /** The previous period's review, linked and closed. */
  previous: { number: number; closed: boolean } | undefined
  notes: string[]
}

async function loadInventory(input: ReportInput, deps: ReportDeps, now: Date): Promise<Inventory> {
  const bytes = await deps.readFile(input.configFile)
  if (bytes === undefined) throw new UsageError(`cannot read ${input.configFile}: no such file`)
  const { parsed, findings } = checkInventory(input.configFile, bytes, { now })
  const errors = findings.filter((f) => f.severity === 'error')
  if (!parsed || errors.length > 0) {
    const first = errors[0]
    throw new UsageError(
      `${input.configFile} has ${errors.length} error(s)${first ? `, first ${first.file}:${first.line}:${first.column}: ${first.message}` : ''}; run \`keyward validate\` and fix them first`,
    )
  }
  return parsed.value as Inventory
}

/** Commits to keyward.yaml and keys/ in the period, with the keys each one touched. */
async function configChanges(
  changeLog: ChangeLog,
  configFile: string,
  inventory: Inventory,
  since: Date,
  until: Date,
): Promise<ConfigChange[]> {
  const commits = await changeLog.commits([configFile, 'keys/'], since, until)
  return Promise.all(
    commits.map(async (commit) => {
      const touched = commit.files.includes(configFile)
      const parent = commit.parents[0]
      const [before, after] = touched
        ? await Promise.all([
            parent ? changeLog.readAt(configFile, parent) : Promise.resolve(undefined),
            changeLog.readAt(configFile, commit.sha),
          ])
        : [undefined, undefined]
      return describeConfigCommit(commit, { configFile, before, after, inventory })
    }),
  )
}

/**
 * `keyward report` (issue 8): the weekly review, from the committed ledger only. Reads the
 * snapshots of the period and its baseline, the git history of the governance files, commits
 * the full report to `reports/YYYY-Www.md`, and keeps one review issue per period that
 * links the previous period's review and closes it.
 */
export async function report(input: ReportInput, deps: ReportDeps): Promise<ReportResult> {
  const { forge, log } = deps
  const now = deps.clock.now()
  const periodMs = parseDuration(input.since)
  if (periodMs === undefined)
    throw new UsageError(`--since must be a duration such as 7d, 2w or 36h; got "${input.since}"`)
  const notes: string[] = []
  const inventory = await log.group('Inventory', () => loadInventory(input, deps, now))

  // 1. The ledger and the snapshots the period, its baseline and the charts need.
  const head = await forge.head()
  const { snapshots, ledger } = await log.group('Ledger', async () => {
    const parsed = parseLedger((await forge.readFile(LEDGER_FILE, head)) ?? '')
    for (const problem of parsed.problems)
      notes.push(`${LEDGER_FILE} line ${problem.line}: ${problem.message}`)
    const entries = parsed.entries.filter((e) => Date.parse(e.at) <= now.getTime())
    const cutoff = now.getTime() - reviewHistoryMs(periodMs)
    const wanted = entries.filter((e) => Date.parse(e.at) >= cutoff)
    const read = await mapLimited(
      wanted,
      READ_CONCURRENCY,
      async (entry): Promise<LedgerSnapshot | undefined> => {
        const text = await forge.readFile(entry.path, head)
        if (text === undefined) {
          notes.push(`${entry.path} is in the ledger but missing; run \`keyward ledger verify\``)
          return undefined
        }
        try {
          const { path, sha256, at } = entry
          return { path, sha256, at, body: JSON.parse(text) as SnapshotBody }
        } catch {
          notes.push(`${entry.path} is not valid JSON; its data is left out`)
          return undefined
        }
      },
    )
    log.info(`Read ${wanted.length} of ${entries.length} snapshot(s)`)
    return {
      snapshots: read.filter((s): s is LedgerSnapshot => s !== undefined),
      ledger: { head: entries.at(-1)?.sha256 ?? null, snapshots: entries.length },
    }
  })

  // 2. Who changed keyward.yaml and the key files in the period (git history).
  const start = new Date(now.getTime() - periodMs)
  const changes = await log.group('Changes', async () => {
    try {
      return await configChanges(deps.changeLog, input.configFile, inventory, start, now)
    } catch (error) {
      notes.push(
        `the git history of keyward.yaml and keys/ could not be read: ${errorMessage(error)}`,
      )
      return []
    }
  })

  const review = computeReview({ inventory, snapshots, ledger, changes, now, periodMs, notes })
  const label = periodLabel(now)
  const file = `${REPORTS_DIR}/${label}.md`
  const fileUrl = input.fileUrl ?? ((path: string) => path)

  // 3. The review issues: this period's, the previous one, and stray copies.
  const issues = (await forge.listIssues())
    .map((issue) => ({ issue, label: reviewLabelOf(issue.body) }))
    .filter((r): r is { issue: ForgeIssue; label: string } => r.label !== undefined)
  const current = issues
    .filter((r) => r.label === label)
    .map((r) => r.issue)
    .sort((a, b) => a.number - b.number)
  const previous = issues
    .filter((r) => r.label < label)
    .sort((a, b) => b.label.localeCompare(a.label) || b.issue.number - a.issue.number)[0]?.issue
  const links = previous ? { previous: { number: previous.number, url: previous.url } } : {}

  // 4. The full report, committed (its own commit; a moved branch only means retry on the new head).
  const full = renderReviewMarkdown(review, { mode: 'full', links })
  let committed = false
  let sha = head
  await log.group('Report file', async () => {
    if (input.dryRun) {
      log.info(`dry run: would commit ${file}`)
      return
    }
    let parent = head
    for (let attempt = 1; ; attempt++) {
      const outcome = await forge.commitFiles(
        [{ path: file, content: full }],
        `keyward report ${label}\n\nThe weekly review for ${review.period.start} to ${review.period.end}.\nLedger head ${review.ledger.head ?? 'none'}`,
        parent,
      )
      if (outcome.status === 'committed') {
        committed = true
        sha = outcome.sha
        log.info(`committed ${file}`)
        return
      }
      if (outcome.status === 'unchanged') {
        log.info(`${file} is up to date`)
        return
      }
      if (attempt >= COMMIT_ATTEMPTS)
        throw new Error(
          `the branch kept moving during ${COMMIT_ATTEMPTS} attempts to commit ${file}; run the report again`,
        )
      parent = await forge.head()
      sha = parent
    }
  })

  const body = renderReviewMarkdown(review, {
    mode: 'issue',
    links: { ...links, fullReport: { path: file, url: fileUrl(file, sha) } },
  })
  const title = reviewTitle(review)

  const result = await log.group('Review issue', async () => {
    const [found, ...extra] = current
    let issue: ReportResult['issue']
    if (found && found.title === title && found.body === body && found.state === 'open')
      issue = { number: found.number, url: found.url, action: 'unchanged' }
    else if (input.dryRun)
      issue = { number: found?.number, url: found?.url, action: found ? 'updated' : 'created' }
    else if (found) {
      // A person's "not planned" close is kept; otherwise this period's review stays open.
      const reopen = found.state === 'closed' && found.stateReason !== 'not_planned'
      await forge.updateIssue(found.number, {
        title,
        body,
        ...(reopen ? { state: 'open' as const } : {}),
      })
      issue = { number: found.number, url: found.url, action: 'updated' }
    } else {
      const created = await forge.createIssue({
        title,
        body,
        labels: ['keyward', 'keyward:review'],
        assignees: [],
      })
      issue = { number: created.number, url: created.url, action: 'created' }
    }
    log.info(`review ${label}: issue ${issue.number ?? '(new)'} ${issue.action}`)
    if (input.dryRun) return { issue, previousClosed: false }
    for (const copy of extra.filter((i) => i.state === 'open')) {
      await forge.comment(
        copy.number,
        `A duplicate of #${issue.number}, which keyward keeps for ${label}.`,
      )
      await forge.updateIssue(copy.number, { state: 'closed', stateReason: 'not_planned' })
    }
    let previousClosed = false
    if (previous && previous.state === 'open') {
      await forge.comment(
        previous.number,
        `Superseded by the review for ${label}: #${issue.number}.`,
      )
      await forge.updateIssue(previous.number, { state: 'closed', stateReason: 'completed' })
      previousClosed = true
    }
    return { issue, previousClosed }
  })

  return {
    review,
    file,
    full,
    body,
    committed,
    issue: result.issue,
    previous: previous ? { number: previous.number, closed: result.previousClosed } : undefined,
    notes,
  }
}

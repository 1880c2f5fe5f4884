import type { AuditFinding } from '../analysis/audit-findings.js'
import type { Forge, ForgeIssue, IssueDraft } from '../ports/forge.js'
import type { Log } from '../ports/log.js'
import { errorMessage } from '../errors.js'
import { markerOf, providerOf } from '../report/issue-body.js'

export interface IssuePlanItem {
  finding: AuditFinding
  draft: IssueDraft
}

export interface ReconcileOptions {
  /** Writes allowed this run (max-issues-per-run); the rest wait for the next run. */
  maxWrites: number
  dryRun: boolean
  /** Providers that could not be read this run: their findings are unknown, not resolved. */
  unreadProviders: ReadonlySet<string>
  /** The run's one listing of keyward issues, when the caller already has it. */
  existing?: readonly ForgeIssue[]
}

export interface ReconcileResult {
  created: number[]
  updated: number[]
  closed: number[]
  /** Findings left for the next run because the write budget ran out. */
  deferred: string[]
  /** Findings whose issue a person closed as "not planned" for this period. */
  respected: string[]
  /** Writes made (or, in a dry run, that would have been made). */
  writes: number
  /** The issue of each finding, where there is one. */
  issueOf: Map<string, number>
}

const sameLabels = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((l) => b.includes(l))

/**
 * Brings the forge's keyward issues in line with this run's findings (STYLE §4.4): one issue
 * per fingerprint, found by its hidden marker, never by title. Creates what is new, updates
 * only what changed, reopens a condition that came back, leaves a "not planned" close alone,
 * closes duplicates and resolved conditions. Idempotent: a second run writes nothing.
 */
export async function reconcileIssues(
  forge: Forge,
  plan: readonly IssuePlanItem[],
  options: ReconcileOptions,
  log: Log,
): Promise<ReconcileResult> {
  const result: ReconcileResult = {
    created: [],
    updated: [],
    closed: [],
    deferred: [],
    respected: [],
    writes: 0,
    issueOf: new Map(),
  }
  const existing = options.existing ?? (await forge.listIssues())
  const byFingerprint = new Map<string, ForgeIssue>()
  const duplicates: ForgeIssue[] = []
  for (const issue of [...existing].sort((a, b) => a.number - b.number)) {
    const fingerprint = markerOf(issue.body)
    if (!fingerprint) continue
    if (byFingerprint.has(fingerprint)) {
      if (issue.state === 'open') duplicates.push(issue)
    } else byFingerprint.set(fingerprint, issue)
  }

  /** Runs a write if the budget allows; false when it had to be deferred. */
  let stopped = false
  /**
   * Runs a write if the budget allows; false when it is left for the next run. One rejected
   * write never ends the run (STYLE §4.6): it is warned about and deferred, and a rate limit
   * (403/429) stops the run's remaining issue writes, since more would only be refused.
   */
  const write = async (what: string, action: () => Promise<void>): Promise<boolean> => {
    if (stopped || result.writes >= options.maxWrites) {
      result.deferred.push(what)
      return false
    }
    result.writes++
    if (options.dryRun) return true
    try {
      await action()
      return true
    } catch (error) {
      const status = (error as { status?: unknown } | null)?.status
      if (status === 403 || status === 429) stopped = true
      log.warning(`issue write for ${what} failed, left for the next run: ${errorMessage(error)}`)
      result.deferred.push(what)
      return false
    }
  }

  for (const issue of duplicates) {
    const original = byFingerprint.get(markerOf(issue.body) ?? '')
    await write(`#${issue.number}`, async () => {
      await forge.comment(
        issue.number,
        `Duplicate of #${original?.number ?? '?'}; keyward keeps one issue per finding.`,
      )
      await forge.updateIssue(issue.number, { state: 'closed', stateReason: 'not_planned' })
    })
  }

  const current = new Set<string>()
  for (const { finding, draft } of plan) {
    // One issue per fingerprint, even if a detector repeats itself.
    if (current.has(finding.fingerprint)) {
      log.warning(
        `finding ${finding.fingerprint} (${finding.rule}) appears twice in one run; keeping the first`,
      )
      continue
    }
    current.add(finding.fingerprint)
    const issue = byFingerprint.get(finding.fingerprint)
    if (issue) result.issueOf.set(finding.fingerprint, issue.number)
    if (!issue) {
      let created: ForgeIssue | undefined
      if (
        await write(
          finding.fingerprint,
          async () => void (created = await forge.createIssue(draft)),
        )
      ) {
        // A dry run creates nothing, so it has no number to report.
        if (created) {
          result.created.push(created.number)
          result.issueOf.set(finding.fingerprint, created.number)
          byFingerprint.set(finding.fingerprint, created)
        }
        log.info(
          created
            ? `created issue #${created.number}: ${draft.title}`
            : `would create an issue: ${draft.title}`,
        )
      }
      continue
    }
    if (issue.state === 'closed') {
      // A person's decision stands: "not planned" for this period, "completed" for an event.
      if (issue.stateReason === 'not_planned' || finding.kind === 'event') {
        result.respected.push(finding.fingerprint)
        continue
      }
      if (
        await write(finding.fingerprint, () =>
          forge.updateIssue(issue.number, {
            state: 'open',
            stateReason: 'reopened',
            title: draft.title,
            body: draft.body,
            labels: draft.labels,
          }),
        )
      ) {
        result.updated.push(issue.number)
        log.info(`reopened #${issue.number}: the condition is back`)
      }
      continue
    }
    if (
      issue.title === draft.title &&
      issue.body === draft.body &&
      sameLabels(issue.labels, draft.labels)
    )
      continue
    if (
      await write(finding.fingerprint, () =>
        forge.updateIssue(issue.number, {
          title: draft.title,
          body: draft.body,
          labels: draft.labels,
        }),
      )
    ) {
      result.updated.push(issue.number)
      log.info(`updated #${issue.number}: ${draft.title}`)
    }
  }

  for (const [fingerprint, issue] of byFingerprint) {
    if (issue.state !== 'open' || current.has(fingerprint)) continue
    // Events are a person's to close; a condition whose provider was not read is unknown.
    if (!/_keyward closes this issue when the condition is gone\._/.test(issue.body)) continue
    const provider = providerOf(issue.body)
    if (provider && options.unreadProviders.has(provider)) continue
    if (
      await write(fingerprint, async () => {
        await forge.comment(
          issue.number,
          'Resolved: the latest audit no longer finds this. keyward reopens the issue if it comes back.',
        )
        await forge.updateIssue(issue.number, { state: 'closed', stateReason: 'completed' })
      })
    ) {
      result.closed.push(issue.number)
      log.info(`closed #${issue.number}: resolved`)
    }
  }
  // Two runs at once may both have created an issue for one finding: list again and keep the
  // lowest number, so racing runs agree on which copy stays. Counts against the budget like
  // any write; the next run's duplicate check catches whatever is left.
  if (result.created.length > 0 && !options.dryRun) {
    const mine = new Set(
      [...result.issueOf].filter(([, n]) => result.created.includes(n)).map(([fp]) => fp),
    )
    const copies = new Map<string, ForgeIssue[]>()
    for (const issue of await forge.listIssues()) {
      const fingerprint = markerOf(issue.body)
      if (fingerprint && mine.has(fingerprint) && issue.state === 'open')
        copies.set(fingerprint, [...(copies.get(fingerprint) ?? []), issue])
    }
    for (const [fingerprint, list] of copies) {
      const [keep, ...extra] = list.sort((a, b) => a.number - b.number)
      if (!keep) continue
      result.issueOf.set(fingerprint, keep.number)
      for (const issue of extra) {
        if (
          await write(`#${issue.number}`, async () => {
            await forge.comment(
              issue.number,
              `Duplicate of #${keep.number}: another keyward run created the same finding at the same time.`,
            )
            await forge.updateIssue(issue.number, { state: 'closed', stateReason: 'not_planned' })
          })
        )
          result.closed.push(issue.number)
      }
    }
  }
  if (result.deferred.length > 0)
    log.warning(
      `${result.deferred.length} issue write(s) wait for the next run: max-issues-per-run (${options.maxWrites}) was reached`,
    )
  return result
}

/**
 * report: the weekly review of the synthetic organization (1,000 keys × 90 days of hourly
 * snapshots), computed and rendered as `keyward report` does. Issue 8's target: under 1 s.
 */
import type { ConfigChange, LedgerSnapshot, SnapshotBody } from '../../src/report/review.js'
import { computeReview, reviewHistoryMs } from '../../src/report/review.js'
import { renderReviewJson, renderReviewMarkdown } from '../../src/report/review-markdown.js'
import type { Scenario } from '../scenario.js'
import {
  DAY_MS,
  END,
  HISTORY_HOURS,
  HOUR_MS,
  keysLabel,
  numberParam,
  snapshotPath,
  snapshotText,
  syntheticOrg,
  type SyntheticOrg,
} from '../synthetic-org.js'
import type { Row } from '../table.js'

const WEEK_MS = 7 * DAY_MS
/** Issue 8: rendering the report for 1,000 keys × 90 days takes under 1 s. */
const TARGET_MS = 1_000
/** GitHub's issue-body limit. */
const ISSUE_BODY_LIMIT = 65_536

/** A few findings in one snapshot a day (spend spikes and off-hours use on some keys). */
function findingsOf(org: SyntheticOrg, hour: number): string[] {
  if (hour % 24 !== 23) return []
  const day = new Date(END.getTime() - (HISTORY_HOURS - hour) * HOUR_MS).toISOString().slice(0, 10)
  return org.keys
    .filter((k) => (k.index + hour) % 50 === 0)
    .map((k) => {
      const rule = k.index % 2 === 0 ? 'spend-spike' : 'off-hours'
      return `{"fingerprint":"sha256:${rule}-${k.id}-${day}","key":"${k.id}","numbers":{"baseline_usd":2.5,"value_usd":19.75},"period":"${day}","rule":"${rule}","severity":"${rule === 'spend-spike' ? 'error' : 'warning'}","subject":"${k.id}"}`
    })
}

/** Commits to keyward.yaml in the period, as the git change log gives them. */
function changesOf(org: SyntheticOrg): ConfigChange[] {
  return org.keys.slice(0, 300).map((k, i) => ({
    sha: `${i}`.padStart(40, 'a'),
    author: `Person ${i % 12}`,
    email: `person${i % 12}@example.com`,
    at: new Date(END.getTime() - ((i + 1) * HOUR_MS) / 2).toISOString(),
    subject: `Change ${k.id}`,
    files: ['keyward.yaml'],
    keys: [{ id: k.id, change: 'changed' as const, fields: ['label'] }],
    other: [],
  }))
}

const FULL_REPORT = {
  path: 'reports/2026-W51.md',
  url: 'https://github.com/o/r/blob/main/reports/2026-W51.md',
}

export const reportScenario: Scenario = {
  name: 'report',
  describe: [
    `**report**: the weekly review (\`--since 7d\`) of the audit-analysis organization, from the snapshots \`keyward report\` reads: the hourly snapshots of the last ${reviewHistoryMs(WEEK_MS) / DAY_MS} days (\`reviewHistoryMs\`) of a 90-day ledger, each canonical JSON with that hour's usage, the key listings and matches (whole in the first snapshot of each UTC day, \`"unchanged"\` in the others, as the audit writes them), and a few findings a day; plus 300 changes to \`keyward.yaml\` in the period. Timed: \`computeReview\`, then \`renderReviewMarkdown\` as the issue body (summarized under GitHub's limit, checked) and as the full committed report, and \`renderReviewJson\`. The row "with snapshot parsing" also times JSON.parse of the snapshot files, as the command does after reading them (reading from git is not timed). No floor; the target is issue 8's: under ${TARGET_MS.toLocaleString('en-US')} ms.`,
  ],
  tasks: {
    async review(params, measure) {
      const org = syntheticOrg(numberParam(params, 'keys'), numberParam(params, 'seed'))
      const parseInside = params.parse === true
      const first = HISTORY_HOURS - reviewHistoryMs(WEEK_MS) / HOUR_MS
      const texts: { path: string; at: string; text: string }[] = []
      for (let hour = first; hour < HISTORY_HOURS; hour++) {
        texts.push({
          path: snapshotPath(hour),
          at: new Date(END.getTime() - (HISTORY_HOURS - hour - 1) * HOUR_MS).toISOString(),
          text: snapshotText(org, hour, true, findingsOf(org, hour)),
        })
      }
      const sha256 = `sha256:${'1'.repeat(64)}`
      const snapshotsOf = (): LedgerSnapshot[] =>
        texts.map(({ path, at, text }) => ({
          path,
          sha256,
          at,
          body: JSON.parse(text) as SnapshotBody,
        }))
      const parsed = parseInside ? undefined : snapshotsOf()
      const changes = changesOf(org)
      const out = await measure(() => {
        const review = computeReview({
          inventory: org.inventory,
          snapshots: parsed ?? snapshotsOf(),
          ledger: { head: sha256, snapshots: HISTORY_HOURS },
          changes,
          now: END,
          periodMs: WEEK_MS,
        })
        const issue = renderReviewMarkdown(review, {
          mode: 'issue',
          links: { fullReport: FULL_REPORT },
        })
        const full = renderReviewMarkdown(review, { mode: 'full' })
        const json = renderReviewJson(review, { file: FULL_REPORT.path })
        return { keys: review.keys.length, issue, full, json }
      })
      if (out.keys !== org.keys.length) throw new Error(`the review lists ${out.keys} keys`)
      if (out.issue.length >= ISSUE_BODY_LIMIT)
        throw new Error(`the issue body is ${out.issue.length} characters`)
    },
  },

  async run(ctx) {
    const keys = ctx.quick ? 100 : 1_000
    const p = { keys, seed: ctx.seed }
    const m = await ctx.measure(
      {
        review: ctx.child('review', { ...p, parse: false }),
        parsed: ctx.child('review', { ...p, parse: true }),
      },
      3,
      { label: `report ${keysLabel(keys)}` },
    )
    const verdict = (wall: number | undefined) =>
      keys !== 1_000
        ? ' (the 1 s target is for 1,000 keys)'
        : wall === undefined
          ? ''
          : `, ${wall < TARGET_MS ? 'under' : 'over'} the ${TARGET_MS.toLocaleString('en-US')} ms target (wall)`
    const size = `${keysLabel(keys)} × 90 days`
    const rows: Row[] = [
      {
        kind: 'measured',
        scenario: `report: compute + render${verdict(m.review.wall?.median)}`,
        size,
        measurement: m.review,
      },
      {
        kind: 'measured',
        scenario: `report: with snapshot parsing${verdict(m.parsed.wall?.median)}`,
        size,
        measurement: m.parsed,
      },
    ]
    return rows
  },
}

import { median } from '../baseline.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS, daysInMonth, monthStart, utcDay, utcMonth } from '../time.js'
import {
  costOf,
  keyViews,
  ownerFields,
  usageOf,
  type DetectorContext,
  type KeyView,
} from './context.js'

type Threshold = 'budget' | 'forecast' | 'typical'

interface Spend {
  monthToDate: number
  forecast: number
  /** A typical month for this key: 28-day median daily spend × days in this month. */
  typicalMonth: number
}

function spendOf(
  ctx: DetectorContext,
  records: readonly { start: string; costUsd: number | undefined }[],
): Spend {
  const start = monthStart(ctx.now)
  const month = utcMonth(ctx.now)
  let monthToDate = 0
  const perDay = new Map<string, number>()
  for (const u of records) {
    const cost = u.costUsd ?? 0
    if (u.start.startsWith(month)) monthToDate += cost
    perDay.set(u.start.slice(0, 10), (perDay.get(u.start.slice(0, 10)) ?? 0) + cost)
  }
  const elapsedDays = Math.max((ctx.now.getTime() - start.getTime()) / DAY_MS, 1)
  const days = daysInMonth(ctx.now)
  // The 28 days before this month started: the baseline must not include what it judges.
  const history = Array.from(
    { length: 28 },
    (_, i) => perDay.get(utcDay(new Date(start.getTime() - (i + 1) * DAY_MS))) ?? 0,
  )
  return {
    monthToDate,
    forecast: (monthToDate / elapsedDays) * days,
    typicalMonth: median(history) * days,
  }
}

const usd = (n: number) => `$${n.toFixed(2)}`

/**
 * `budget`: month-to-date spend past the budget, a month-end forecast past it, or spend past
 * typical_month_factor × a typical month; for keys and for whole workflows. Each threshold
 * has its own fingerprint for the month, so each fires once per period.
 */
export function detectBudgets(ctx: DetectorContext): AuditFinding[] {
  const factor = ctx.inventory.defaults?.typical_month_factor ?? 1.2
  const month = utcMonth(ctx.now)
  const out: AuditFinding[] = []
  const check = (
    subject: string,
    label: string,
    budget: number | undefined,
    spend: Spend,
    extra: { key?: string; workflow?: string; owner?: string },
  ) => {
    const fire = (threshold: Threshold, severity: 'error' | 'warning', message: string) =>
      out.push(
        finding({
          rule: 'budget',
          severity,
          kind: 'condition',
          subject,
          period: month,
          variant: threshold,
          title: `${threshold === 'typical' ? 'Unusual month' : 'Budget'}: ${label} (${month})`,
          message,
          numbers: {
            month,
            threshold,
            month_to_date_usd: round(spend.monthToDate),
            forecast_usd: round(spend.forecast),
            ...(budget !== undefined ? { budget_usd: budget } : {}),
            typical_month_usd: round(spend.typicalMonth),
          },
          ...extra,
        }),
      )
    if (budget !== undefined && spend.monthToDate >= budget) {
      fire(
        'budget',
        'error',
        `${label} has spent ${usd(spend.monthToDate)} this month, past its budget of ${usd(budget)}.`,
      )
    } else if (budget !== undefined && spend.forecast >= budget) {
      fire(
        'forecast',
        'warning',
        `${label} has spent ${usd(spend.monthToDate)} so far and is on course for ${usd(spend.forecast)} by month end, past its budget of ${usd(budget)}.`,
      )
    }
    if (spend.typicalMonth > 0 && spend.monthToDate > factor * spend.typicalMonth) {
      fire(
        'typical',
        'warning',
        `${label} has spent ${usd(spend.monthToDate)} this month, more than ${Math.round(factor * 100)}% of a typical month (${usd(spend.typicalMonth)}).`,
      )
    }
  }

  const byWorkflow = new Map<string, KeyView[]>()
  for (const key of keyViews(ctx)) {
    const records = usageOf(ctx, key)
    byWorkflow.set(key.entry.workflow, [...(byWorkflow.get(key.entry.workflow) ?? []), key])
    if (records.length === 0) continue
    check(
      key.id,
      `${key.id} (${key.entry.label})`,
      key.entry.budget_usd_month,
      spendOf(ctx, records),
      { key: key.id, ...ownerFields(key) },
    )
  }
  for (const [id, workflow] of Object.entries(ctx.inventory.workflows)) {
    if (workflow.budget_usd_month === undefined) continue
    const records = (byWorkflow.get(id) ?? []).flatMap((key) => usageOf(ctx, key))
    if (records.length === 0) continue
    const spend = spendOf(
      ctx,
      records.map((u) => ({ start: u.start, costUsd: costOf(u) })),
    )
    check(
      `workflow:${id}`,
      `workflow ${id} (${workflow.label})`,
      workflow.budget_usd_month,
      spend,
      { workflow: id, owner: workflow.owner },
    )
  }
  return out
}

const round = (n: number) => Math.round(n * 100) / 100

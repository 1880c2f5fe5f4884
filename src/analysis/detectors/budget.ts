import { medianOfFinite } from '../baseline.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS, daysInMonth, monthStart, utcDay, utcMonth } from '../time.js'
import {
  costOn,
  keyViews,
  ownerFields,
  seriesOf,
  type DetectorContext,
  type KeyView,
  type UsageSeries,
} from './context.js'

type Threshold = 'budget' | 'forecast' | 'typical'

interface Spend {
  monthToDate: number
  forecast: number
  /** A typical month for this key: 28-day median daily spend × days in this month. */
  typicalMonth: number
}

/** The 28 days before this month started: the baseline must not include what it judges. */
const baselineDays = new WeakMap<DetectorContext, string[]>()

/** Month-to-date spend and a day's spend (by `YYYY-MM-DD`) → the figures a budget is judged by. */
function spendOf(
  ctx: DetectorContext,
  monthToDate: number,
  dayCost: (day: string) => number,
): Spend {
  const start = monthStart(ctx.now)
  const elapsedDays = Math.max((ctx.now.getTime() - start.getTime()) / DAY_MS, 1)
  const days = daysInMonth(ctx.now)
  let ids = baselineDays.get(ctx)
  if (!ids) {
    ids = Array.from({ length: 28 }, (_, i) => utcDay(new Date(start.getTime() - (i + 1) * DAY_MS)))
    baselineDays.set(ctx, ids)
  }
  const history = new Float64Array(ids.length)
  for (let i = 0; i < ids.length; i++) history[i] = dayCost(ids[i] as string)
  return {
    monthToDate,
    forecast: (monthToDate / elapsedDays) * days,
    typicalMonth: medianOfFinite(history) * days,
  }
}

/** A key's spend, from its shared series (summed in record order, as a scan would). */
function keySpend(ctx: DetectorContext, series: UsageSeries): Spend {
  return spendOf(ctx, series.monthToDate, (day) => costOn(series, day))
}

/**
 * A workflow's spend: its keys' month so far and each day's spend, added up in key order. (A
 * single scan over all its keys' records, as this once was, cannot be carried between runs:
 * the days summed per key are what the history keeps.)
 */
function workflowSpend(ctx: DetectorContext, series: readonly UsageSeries[]): Spend {
  let monthToDate = 0
  for (const s of series) monthToDate += s.monthToDate
  return spendOf(ctx, monthToDate, (day) => {
    let cost = 0
    for (const s of series) cost += costOn(s, day)
    return cost
  })
}

const usd = (n: number) => `$${n.toFixed(2)}`

/** Each key's month-to-date spend and month-end forecast, for the dashboard's caps table. */
export function keyMonthSpend(
  ctx: DetectorContext,
): Map<string, { monthToDate: number; forecast: number }> {
  const out = new Map<string, { monthToDate: number; forecast: number }>()
  for (const key of keyViews(ctx, { canaries: true })) {
    const spend = keySpend(ctx, seriesOf(ctx, key))
    out.set(key.id, { monthToDate: spend.monthToDate, forecast: spend.forecast })
  }
  return out
}

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
    const series = seriesOf(ctx, key)
    const keys = byWorkflow.get(key.entry.workflow)
    if (keys) keys.push(key)
    else byWorkflow.set(key.entry.workflow, [key])
    if (!series.hasUsage) continue
    check(
      key.id,
      `${key.id} (${key.entry.label})`,
      key.entry.budget_usd_month,
      keySpend(ctx, series),
      { key: key.id, ...ownerFields(key) },
    )
  }
  for (const [id, workflow] of Object.entries(ctx.inventory.workflows)) {
    if (workflow.budget_usd_month === undefined) continue
    const series = (byWorkflow.get(id) ?? []).map((key) => seriesOf(ctx, key))
    if (series.every((s) => !s.hasUsage)) continue
    check(
      `workflow:${id}`,
      `workflow ${id} (${workflow.label})`,
      workflow.budget_usd_month,
      workflowSpend(ctx, series),
      { workflow: id, owner: workflow.owner },
    )
  }
  return out
}

const round = (n: number) => Math.round(n * 100) / 100

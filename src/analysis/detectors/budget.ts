import { median } from '../baseline.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS, daysInMonth, monthStart, utcDay, utcMonth } from '../time.js'
import type { UsageRecord } from '../../records.js'
import {
  costOf,
  keyViews,
  ownerFields,
  seriesOf,
  usageOf,
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

/** Month-to-date spend and a day's spend (by `YYYY-MM-DD`) → the figures a budget is judged by. */
function spendOf(
  ctx: DetectorContext,
  monthToDate: number,
  dayCost: (day: string) => number,
): Spend {
  const start = monthStart(ctx.now)
  const elapsedDays = Math.max((ctx.now.getTime() - start.getTime()) / DAY_MS, 1)
  const days = daysInMonth(ctx.now)
  // The 28 days before this month started: the baseline must not include what it judges.
  const history = Array.from({ length: 28 }, (_, i) =>
    dayCost(utcDay(new Date(start.getTime() - (i + 1) * DAY_MS))),
  )
  return {
    monthToDate,
    forecast: (monthToDate / elapsedDays) * days,
    typicalMonth: median(history) * days,
  }
}

/** A key's spend, from its shared series (summed in record order, as a scan would). */
function keySpend(ctx: DetectorContext, series: UsageSeries): Spend {
  return spendOf(
    ctx,
    series.months.get(utcMonth(ctx.now)) ?? 0,
    (day) => series.days.get(day)?.cost ?? 0,
  )
}

/**
 * A workflow's spend: its keys' records summed one by one in key order, not from the keys'
 * own sums, so the floating-point totals stay exactly those of one scan over all of them.
 */
function workflowSpend(ctx: DetectorContext, lists: readonly (readonly UsageRecord[])[]): Spend {
  const month = utcMonth(ctx.now)
  let monthToDate = 0
  const perDay = new Map<string, { cost: number }>()
  for (const records of lists) {
    let day = ''
    // Replaced at the first record: an empty `day` never counts as a match below.
    let slot = { cost: 0 }
    for (const u of records) {
      const cost = costOf(u)
      if (u.start.startsWith(month)) monthToDate += cost
      // Records run in time order: look the day up only when it changes (with a 10-character
      // day, startsWith(day) ⇔ start.slice(0, 10) === day). The additions stay in record order.
      if (day.length !== 10 || !u.start.startsWith(day)) {
        day = u.start.slice(0, 10)
        const known = perDay.get(day)
        if (known) slot = known
        else {
          slot = { cost: 0 }
          perDay.set(day, slot)
        }
      }
      slot.cost += cost
    }
  }
  return spendOf(ctx, monthToDate, (day) => perDay.get(day)?.cost ?? 0)
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
    const series = seriesOf(ctx, key)
    const keys = byWorkflow.get(key.entry.workflow)
    if (keys) keys.push(key)
    else byWorkflow.set(key.entry.workflow, [key])
    if (series.records.length === 0) continue
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
    const lists = (byWorkflow.get(id) ?? []).map((key) => usageOf(ctx, key))
    if (lists.every((records) => records.length === 0)) continue
    check(
      `workflow:${id}`,
      `workflow ${id} (${workflow.label})`,
      workflow.budget_usd_month,
      workflowSpend(ctx, lists),
      { workflow: id, owner: workflow.owner },
    )
  }
  return out
}

const round = (n: number) => Math.round(n * 100) / 100

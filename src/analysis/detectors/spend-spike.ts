import { baselineOf } from '../baseline.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS, utcDay } from '../time.js'
import { costOf, keyViews, ownerFields, usageOf, type DetectorContext } from './context.js'

/** Below these a "spike" is noise: nobody should be paged over cents. */
export const SPIKE_FLOOR = { usd: 1, tokens: 200_000 } as const
const BASELINE_DAYS = 28
/** Days (counting today) always checked, so a bucket the provider reports late still counts. */
const RECHECKED_DAYS = 2
/** A day is judged only with at least this much history before it. */
const MIN_HISTORY_DAYS = 14

/**
 * `spend-spike`: a day's spend (tokens where the provider reports no cost) far above the
 * key's own trailing 28-day baseline (days of this run's new data, plus the last two): over spike_factor × the median, over median + 5 MAD,
 * and over a floor. Days without usage count as zero, so a quiet key that bursts is caught.
 */
export function detectSpendSpikes(ctx: DetectorContext): AuditFinding[] {
  const factor = ctx.inventory.defaults?.spike_factor ?? 3
  const today = Date.UTC(ctx.now.getUTCFullYear(), ctx.now.getUTCMonth(), ctx.now.getUTCDate())
  const out: AuditFinding[] = []
  for (const key of keyViews(ctx)) {
    const records = usageOf(ctx, key)
    if (records.length === 0) continue
    const useCost = records.some((u) => u.costUsd !== undefined)
    const perDay = new Map<string, number>()
    for (const u of records) {
      const day = u.start.slice(0, 10)
      perDay.set(
        day,
        (perDay.get(day) ?? 0) + (useCost ? costOf(u) : u.inputTokens + u.outputTokens),
      )
    }
    // Every day of this run's new data (a first run's whole backfill) that has enough history.
    const firstDay = Date.parse(`${[...perDay.keys()].sort()[0] ?? utcDay(ctx.now)}T00:00:00Z`)
    const windowDay = Date.parse(`${utcDay(ctx.windowStart)}T00:00:00Z`)
    const from = Math.max(
      Math.min(windowDay, today - (RECHECKED_DAYS - 1) * DAY_MS),
      firstDay + MIN_HISTORY_DAYS * DAY_MS,
    )
    for (let dayStart = today; dayStart >= from; dayStart -= DAY_MS) {
      const day = utcDay(new Date(dayStart))
      const value = perDay.get(day) ?? 0
      const history = Array.from(
        { length: BASELINE_DAYS },
        (_, i) => perDay.get(utcDay(new Date(dayStart - (i + 1) * DAY_MS))) ?? 0,
      )
      const base = baselineOf(history)
      const floor = useCost ? SPIKE_FLOOR.usd : SPIKE_FLOOR.tokens
      if (value < floor || value <= factor * base.median || value <= base.median + 5 * base.mad)
        continue
      const unit = useCost ? 'USD' : 'tokens'
      const shown = (n: number) =>
        useCost ? `$${n.toFixed(2)}` : `${Math.round(n).toLocaleString('en-US')} tokens`
      const ratio = base.median > 0 ? `${(value / base.median).toFixed(1)}×` : 'far above'
      out.push(
        finding({
          rule: 'spend-spike',
          severity: 'error',
          kind: 'event',
          key: key.id,
          subject: key.id,
          period: day,
          title: `Spend spike on ${key.id} (${key.entry.label}) on ${day}`,
          message: `${key.entry.label} spent ${shown(value)} on ${day}, ${ratio} its usual day (median ${shown(base.median)} over the previous ${BASELINE_DAYS} days). A leaked key or a looping automation looks like this.`,
          numbers: {
            day,
            value: round(value),
            unit,
            baseline_median: round(base.median),
            baseline_mad: round(base.mad),
            spike_factor: factor,
          },
          ...ownerFields(key),
        }),
      )
    }
  }
  return out
}

const round = (n: number) => Math.round(n * 10_000) / 10_000

import { baselineOfFinite } from '../baseline.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS, utcDay } from '../time.js'
import {
  costOn,
  keyViews,
  ownerFields,
  seriesOf,
  tokensOn,
  type DetectorContext,
} from './context.js'

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
  // Every key looks up the same few dozen days: format each once per run.
  const dayIds = new Map<number, string>()
  const dayOf = (ms: number): string => {
    let id = dayIds.get(ms)
    if (id === undefined) {
      id = utcDay(new Date(ms))
      dayIds.set(ms, id)
    }
    return id
  }
  for (const key of keyViews(ctx)) {
    // Daily sums come from the key's shared series (built once per context for all detectors).
    const series = seriesOf(ctx, key)
    if (!series.hasUsage) continue
    const useCost = series.anyCost
    const valueOf = (day: string): number => (useCost ? costOn(series, day) : tokensOn(series, day))
    // Every day of this run's new data (a first run's whole backfill) that has enough history.
    const firstDay = Date.parse(`${series.firstDay ?? utcDay(ctx.now)}T00:00:00Z`)
    const windowDay = Date.parse(`${utcDay(ctx.windowStart)}T00:00:00Z`)
    const from = Math.max(
      Math.min(windowDay, today - (RECHECKED_DAYS - 1) * DAY_MS),
      firstDay + MIN_HISTORY_DAYS * DAY_MS,
    )
    if (from > today) continue
    // Each day's value from the first baseline day on, looked up once for all the days judged.
    const first = from - BASELINE_DAYS * DAY_MS
    const values = new Float64Array((today - first) / DAY_MS + 1)
    for (let i = 0; i < values.length; i++) values[i] = valueOf(dayOf(first + i * DAY_MS))
    const floor = useCost ? SPIKE_FLOOR.usd : SPIKE_FLOOR.tokens
    for (let dayStart = today; dayStart >= from; dayStart -= DAY_MS) {
      const at = (dayStart - first) / DAY_MS
      const value = values[at] as number
      // Under the floor nothing fires, whatever the baseline: do not build one.
      if (value < floor) continue
      const day = dayOf(dayStart)
      const base = baselineOfFinite(values.slice(at - BASELINE_DAYS, at))
      if (value <= factor * base.median || value <= base.median + 5 * base.mad) continue
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

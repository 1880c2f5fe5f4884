/**
 * The pure arithmetic of the harness: samples from runs, summaries of them, and ratios.
 */

/** What one run of one probe reports. Absent fields were not measured by that probe. */
export interface Sample {
  /** Wall-clock milliseconds of the measured work. */
  wallMs: number
  /** User + system CPU milliseconds of the measured work (the whole process for commands). */
  cpuMs?: number
  /** Peak resident set size of the process, in MiB (`process.resourceUsage().maxRSS`). */
  rssMb?: number
}

/** Median, min and max of several runs. */
export interface Summary {
  median: number
  min: number
  max: number
  n: number
}

/** The metrics a table row shows; a ratio to a floor compares one of them. */
export const METRICS = ['wall', 'cpu', 'rss'] as const
export type Metric = (typeof METRICS)[number]

export type Measurement = Partial<Record<Metric, Summary>> & { runs: number }

/** Median (the mean of the middle two for an even count), min and max; throws on no values. */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize: no values')
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number, n: sorted.length }
}

/** Summarizes each metric that every sample reports. */
export function measurementOf(samples: readonly Sample[]): Measurement {
  const pick = (get: (s: Sample) => number | undefined): Summary | undefined => {
    const values = samples.map(get)
    return values.every((v): v is number => v !== undefined) && values.length > 0
      ? summarize(values)
      : undefined
  }
  const measurement: Measurement = { runs: samples.length }
  const wall = pick((s) => s.wallMs)
  const cpu = pick((s) => s.cpuMs)
  const rss = pick((s) => s.rssMb)
  if (wall) measurement.wall = wall
  if (cpu) measurement.cpu = cpu
  if (rss) measurement.rss = rss
  return measurement
}

/** measured / floor on the medians; undefined when either side lacks the metric or the floor is 0. */
export function ratioOf(
  measured: Measurement,
  floor: Measurement,
  metric: Metric,
): number | undefined {
  const top = measured[metric]?.median
  const bottom = floor[metric]?.median
  if (top === undefined || bottom === undefined || bottom <= 0) return undefined
  return top / bottom
}

/**
 * The exponent k in cost ∝ size^k between two sizes: 1 is linear, above 1 worse than linear.
 * Fixed costs (start-up, schema compilation) pull it below 1 at small sizes.
 */
export function growthExponent(
  from: { units: number; cost: number },
  to: { units: number; cost: number },
): number {
  if (from.units <= 0 || to.units <= from.units || from.cost <= 0 || to.cost <= 0) {
    throw new Error('growthExponent: needs two increasing sizes with positive costs')
  }
  return Math.log(to.cost / from.cost) / Math.log(to.units / from.units)
}

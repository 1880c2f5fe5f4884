/** Robust statistics for baselines: the median and the median absolute deviation. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

/** Median absolute deviation, scaled (×1.4826) to estimate a standard deviation. */
export function mad(values: readonly number[]): number {
  const m = median(values)
  return 1.4826 * median(values.map((v) => Math.abs(v - m)))
}

export interface Baseline {
  median: number
  mad: number
  /** How many values it was built from. */
  samples: number
}

export function baselineOf(values: readonly number[]): Baseline {
  return { median: median(values), mad: mad(values), samples: values.length }
}

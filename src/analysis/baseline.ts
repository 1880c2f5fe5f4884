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

/**
 * median() of finite values in a typed array, which it sorts in place: a numeric sort without a
 * comparison callback, for the detectors' many small baselines. The same result as median().
 */
export function medianOfFinite(values: Float64Array): number {
  if (values.length === 0) return 0
  values.sort()
  return middleOfSorted(values)
}

/** baselineOf() of finite values in a typed array it sorts in place; the same result. */
export function baselineOfFinite(values: Float64Array): Baseline {
  const n = values.length
  if (n === 0) return { median: 0, mad: 0, samples: 0 }
  values.sort()
  const m = middleOfSorted(values)
  const deviations = new Float64Array(n)
  for (let i = 0; i < n; i++) deviations[i] = Math.abs((values[i] as number) - m)
  deviations.sort()
  return { median: m, mad: 1.4826 * middleOfSorted(deviations), samples: n }
}

function middleOfSorted(sorted: Float64Array): number {
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

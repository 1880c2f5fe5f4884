/** Edit distance (Levenshtein), bounded: returns `limit + 1` once it is certain to exceed it. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    let best = i
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      const value = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      )
      current.push(value)
      best = Math.min(best, value)
    }
    if (best > limit) return limit + 1
    previous = current
  }
  return previous[b.length] ?? limit + 1
}

/** The declared name closest to a typo, if one is close enough to be what was meant. */
export function nearest(typo: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.min(3, Math.floor(typo.length / 3)))
  let best: string | undefined
  let bestDistance = limit + 1
  const lower = typo.toLowerCase()
  for (const candidate of candidates) {
    const d =
      candidate.toLowerCase() === lower ? 0 : distance(lower, candidate.toLowerCase(), limit)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** `did you mean "x"? ` or nothing. */
export function didYouMean(typo: string, candidates: Iterable<string>): string {
  const match = nearest(typo, candidates)
  return match === undefined || match === typo ? '' : `did you mean "${match}"? `
}

/** A short list for messages: `a, b, c` (or `a, b, … and 7 more`). */
export function listNames(names: readonly string[], max = 8): string {
  if (names.length === 0) return 'none'
  if (names.length <= max) return names.join(', ')
  return `${names.slice(0, max).join(', ')}, … and ${names.length - max} more`
}

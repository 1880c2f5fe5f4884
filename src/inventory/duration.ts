/** Durations as SPEC §1 writes them: `<integer><unit>`, unit h, d or w. */

const HOUR_MS = 3_600_000
const UNIT_MS = { h: HOUR_MS, d: 24 * HOUR_MS, w: 7 * 24 * HOUR_MS } as const

const DURATION = /^([1-9][0-9]{0,5})([hdw])$/

/** Milliseconds of a duration, or undefined when the text is not one. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text)
  if (!match) return undefined
  const unit = match[2] as keyof typeof UNIT_MS
  return Number(match[1]) * UNIT_MS[unit]
}

/** Whole days between two instants, rounded down. */
export function wholeDaysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / UNIT_MS.d)
}

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

/**
 * When a key created on `created` (`YYYY-MM-DD`, UTC midnight) falls due for rotation under
 * `rotateAfter`, in milliseconds; undefined when either cannot be read. Validate's and the
 * audit's rotation-due checks both ask this, so they always agree on the day.
 */
export function rotationDueAt(created: string, rotateAfter: string): number | undefined {
  const limit = parseDuration(rotateAfter)
  const createdAt = Date.parse(`${created}T00:00:00Z`)
  return limit === undefined || Number.isNaN(createdAt) ? undefined : createdAt + limit
}

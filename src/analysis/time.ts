/** Calendar arithmetic in UTC and in a workflow's IANA timezone (pure; `now` is passed in). */

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
    formatters.set(timeZone, f)
  }
  return f
}

/** Local date (`YYYY-MM-DD`) and minutes after local midnight of an instant in a timezone. */
export function localTime(at: Date, timeZone: string): { date: string; minutes: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  )
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  }
}

/**
 * localTime of ISO start strings, each (zone, start) converted once: keys' hourly buckets share
 * their start times, and Intl formatting is the costly part of counting off-hours use.
 */
export function localTimes(): (start: string, zone: string) => { date: string; minutes: number } {
  const locals = new Map<string, Map<string, { date: string; minutes: number }>>()
  return (start, zone) => {
    let byStart = locals.get(zone)
    if (!byStart) {
      byStart = new Map()
      locals.set(zone, byStart)
    }
    let local = byStart.get(start)
    if (!local) {
      local = localTime(new Date(start), zone)
      byStart.set(start, local)
    }
    return local
  }
}

/** `YYYY-MM-DD` of an instant in UTC. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10)

/** `YYYY-MM` of an instant in UTC. */
export const utcMonth = (at: Date): string => at.toISOString().slice(0, 7)

export const DAY_MS = 86_400_000

/** Days in the UTC month of `at`. */
export function daysInMonth(at: Date): number {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 0)).getUTCDate()
}

/** Start of the UTC month of `at`. */
export function monthStart(at: Date): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
}

/** Whether minutes-after-midnight fall inside `start`–`end`, which may wrap midnight. */
export function withinHours(minutes: number, start: number, end: number): boolean {
  return start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end
}

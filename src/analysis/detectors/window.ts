import { localTime } from '../time.js'

/**
 * What an audit run judges (issue 5).
 *
 * Event detectors judge the run's new data: usage and audit events from the earliest start of
 * its provider reads on (the window start; a first run's is its backfill). Older events were
 * judged by earlier runs, and what those could not write yet is carried to the next run
 * (`pending` in the snapshot), so nothing depends on judging them again; this is what keeps an
 * hourly run's cost in proportion to the hours it reads.
 *
 * Records from the UTC day of the window start on are held raw; the days before it may be
 * carried as daily sums (analysis/usage-days.ts). `off-hours` reports a whole local day (hours,
 * tokens, first use), and in a timezone east of UTC that day starts before the UTC midnight: the
 * carried days keep each key's off-hours count for the local day in progress when they end, so
 * the detector adds the raw records to it (usage-days.ts, OffHoursDay).
 */

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

/**
 * An instant at or before the start of the local day holding `at` in `zone`: `at` less the
 * local time of day, less an hour in case a DST change fell between that midnight and `at`.
 * An unknown zone (validate reports it) gives `at` less a day and an hour, which is always
 * early enough.
 */
export function localDayBound(at: Date, zone: string): number {
  const ms = at.getTime()
  let minutes: number
  try {
    minutes = localTime(at, zone).minutes
  } catch {
    return ms - 25 * HOUR_MS
  }
  return ms - (ms % MINUTE_MS) - minutes * MINUTE_MS - HOUR_MS
}

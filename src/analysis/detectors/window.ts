import type { Inventory } from '../../inventory/types.js'
import { localTime } from '../time.js'

/**
 * What an audit run judges, and which records it must hold raw to do so (issue 5).
 *
 * Event detectors judge the run's new data: usage and audit events from the earliest start of
 * its provider reads on (the window start; a first run's is its backfill). Older events were
 * judged by earlier runs, and what those could not write yet is carried to the next run
 * (audit.ts, `pending` in audit/state.json), so nothing depends on judging them again; this is
 * what keeps an hourly run's cost in proportion to the hour it reads.
 *
 * One detector reads a little further back: `off-hours` reports a whole local day (hours,
 * tokens, first use), so the local day holding the window start must be complete, in every
 * timezone whose workflow has active_hours. Records from `rawStart` on are held raw (the days
 * before it may be carried as daily sums, analysis/usage-days.ts).
 */

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS

/** The timezones of the workflows with active_hours (off-hours judges in those). */
export function activeHoursZones(inventory: Inventory): Set<string> {
  const fallback = inventory.defaults?.timezone ?? 'UTC'
  const zones = new Set<string>()
  for (const workflow of Object.values(inventory.workflows))
    if (workflow.active_hours) zones.add(workflow.timezone ?? fallback)
  return zones
}

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

/** The earliest record time the detectors read raw for a window starting at `windowStart`. */
export function rawStart(inventory: Inventory, windowStart: Date): Date {
  let earliest = windowStart.getTime()
  for (const zone of activeHoursZones(inventory))
    earliest = Math.min(earliest, localDayBound(windowStart, zone))
  return new Date(earliest)
}

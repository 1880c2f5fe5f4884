import type { Clock } from '../../src/ports/clock.js'

/** A clock stopped at one instant, so date-dependent rules are reproducible. */
export function fixedClock(iso: string): Clock {
  const at = new Date(iso)
  return { now: () => new Date(at) }
}

/** The instant the inventory fixtures' golden files were written for. */
export const FIXTURE_NOW = '2026-11-27T12:00:00Z'

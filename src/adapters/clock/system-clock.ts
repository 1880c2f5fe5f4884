import type { Clock } from '../../ports/clock.js'

/** The real time. The only `new Date()` in src/ (STYLE §4.1). */
export const systemClock: Clock = { now: () => new Date() }

import { parseActiveHours } from '../../inventory/policy.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { localTime, localTimes, withinHours } from '../time.js'
import type { UsageRecord } from '../../records.js'
import type { Inventory } from '../../inventory/types.js'
import type { OffHoursRule } from '../usage-days.js'
import { firstIndexFrom, keyViews, ownerFields, seriesOf, type DetectorContext } from './context.js'
import { localDayBound } from './window.js'

/**
 * How off-hours judges each matched provider key (its workflow's timezone and active hours), for
 * the off-hours day the carried days keep (usage-days.ts). Canary keys and keys whose workflow
 * has no valid active hours or timezone are left out, as the detector leaves them out.
 */
export function offHoursRules(
  inventory: Inventory,
  matches: ReadonlyMap<string, { providerKeyId: string }>,
): Map<string, Map<string, OffHoursRule>> {
  const out = new Map<string, Map<string, OffHoursRule>>()
  const defaultZone = inventory.defaults?.timezone ?? 'UTC'
  const zones = new Map<string, boolean>()
  for (const [id, entry] of Object.entries(inventory.keys)) {
    const workflow = inventory.workflows[entry.workflow]
    const providerKeyId = matches.get(id)?.providerKeyId
    if (entry.canary === true || !workflow?.active_hours || providerKeyId === undefined) continue
    const window = parseActiveHours(workflow.active_hours)
    const zone = workflow.timezone ?? defaultZone
    if (!zones.has(zone)) zones.set(zone, isTimeZone(zone))
    if ('error' in window || zones.get(zone) !== true) continue
    let byKey = out.get(entry.provider)
    if (!byKey) {
      byKey = new Map()
      out.set(entry.provider, byKey)
    }
    // One provider key behind two entries (shared-key): the first entry's workflow counts.
    if (!byKey.has(providerKeyId))
      byKey.set(providerKeyId, { zone, hours: workflow.active_hours, ...window })
  }
  return out
}

function isTimeZone(zone: string): boolean {
  try {
    localTime(new Date(0), zone)
    return true
  } catch {
    return false
  }
}

/**
 * `off-hours`: usage in hours outside the workflow's active_hours, in its timezone (which
 * may wrap midnight and moves with DST). One finding per key and local day, for the local days
 * this run's new data falls in, each counted whole (window.ts: the records from the carried
 * days' end are raw, the day's hours before it come carried with them), so a day's numbers
 * never shrink from one run to the next.
 */
export function detectOffHours(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  const defaultZone = ctx.inventory.defaults?.timezone ?? 'UTC'
  // Per timezone: the local day holding the window start, and an instant before its midnight.
  const firstDays = new Map<string, { date: string; bound: number }>()
  const localTimeOf = localTimes()
  for (const key of keyViews(ctx)) {
    const hours = key.workflow?.active_hours
    if (!hours) continue
    const window = parseActiveHours(hours)
    if ('error' in window) continue
    const zone = key.workflow?.timezone ?? defaultZone
    const perDay = new Map<
      string,
      { buckets: number; requests: number; tokens: number; first: string }
    >()
    const series = seriesOf(ctx, key)
    const { records, startMs } = series
    // From the local day holding the window start: records before its bound are on earlier days.
    let first = firstDays.get(zone)
    if (!first) {
      first = {
        date: localTime(ctx.windowStart, zone).date,
        bound: localDayBound(ctx.windowStart, zone),
      }
      firstDays.set(zone, first)
    }
    const { date: firstDate, bound } = first
    // The day's hours before the carried days end, when its raw records start later.
    const carried = key.providerKeyId
      ? ctx.earlier?.keys.get(key.entry.provider)?.get(key.providerKeyId)?.offHours
      : undefined
    if (carried && carried.zone === zone && carried.hours === hours && carried.date >= firstDate)
      perDay.set(carried.date, {
        buckets: carried.buckets,
        requests: carried.requests,
        tokens: carried.tokens,
        first: carried.first,
      })
    for (let i = firstIndexFrom(series, bound); i < records.length; i++) {
      const u = records[i] as UsageRecord
      if ((startMs[i] as number) < bound) continue
      const used = (u.requests ?? 0) + u.inputTokens + u.outputTokens
      if (used === 0) continue
      const local = localTimeOf(u.start, zone)
      if (local.date < firstDate) continue
      if (withinHours(local.minutes, window.start, window.end)) continue
      const day = perDay.get(local.date) ?? { buckets: 0, requests: 0, tokens: 0, first: u.start }
      day.buckets++
      day.requests += u.requests ?? 0
      day.tokens += u.inputTokens + u.outputTokens
      if (u.start < day.first) day.first = u.start
      perDay.set(local.date, day)
    }
    for (const [date, day] of perDay) {
      out.push(
        finding({
          rule: 'off-hours',
          severity: 'warning',
          kind: 'event',
          key: key.id,
          subject: key.id,
          period: date,
          title: `Off-hours use of ${key.id} (${key.entry.label}) on ${date}`,
          message: `${key.entry.label} was used outside its active hours (${hours}, ${zone}) on ${date}: ${day.tokens.toLocaleString('en-US')} tokens in ${day.buckets} hour(s), first at ${day.first}. If nobody ran it then, the key may be in someone else's hands.`,
          numbers: {
            date,
            timezone: zone,
            active_hours: hours,
            hours_used: day.buckets,
            requests: day.requests,
            tokens: day.tokens,
            first: day.first,
          },
          ...ownerFields(key),
        }),
      )
    }
  }
  return out
}

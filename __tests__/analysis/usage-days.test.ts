import { describe, expect, it } from '@jest/globals'
import { keyMonthSpend } from '../../src/analysis/detectors/budget.js'
import type { DetectorContext } from '../../src/analysis/detectors/context.js'
import { runDetectors } from '../../src/analysis/detectors/index.js'
import { fingerprintOf } from '../../src/analysis/audit-findings.js'
import { offHoursRules } from '../../src/analysis/detectors/off-hours.js'
import { HISTORY_DAYS } from '../../src/commands/audit-history.js'
import { mergeEvents, mergeUsage } from '../../src/analysis/fetch-window.js'
import {
  carryForward,
  dayStartMs,
  emptyUsageDays,
  fromUsageDaysJson,
  toUsageDaysJson,
  type SnapshotHistory,
  type UsageDays,
} from '../../src/analysis/usage-days.js'
import type { Inventory } from '../../src/inventory/types.js'
import type { AuditEvent, UsageRecord } from '../../src/records.js'
import { context, providerKey, usage } from '../../test/fakes/detector-context.js'

/**
 * The detectors over one history read two ways (issue 5): every record raw, as a full read of
 * the snapshots gives it, and the earlier days carried from run to run as daily sums
 * (carryForward, through JSON as state.json keeps them) plus the raw window. Same findings, to
 * the last bit of every number.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
/**
 * Early in a month (carried days all in the last one), late (this month's first days carried),
 * and a week after New York's clocks went back (1 November 2026, a 25-hour local day), whose
 * window starts on 2 November UTC, still 1 November in New York: the carried days end inside
 * that long local day.
 */
const RUNS = [
  '2026-12-03T09:20:00.000Z',
  '2026-12-21T15:40:00.000Z',
  '2026-11-09T03:20:00.000Z',
] as const

function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const KEYS = {
  costly: 'key_costly',
  tokens: 'key_tokens',
  canary: 'key_canary',
  quiet: 'key_quiet',
} as const

const inventory: Inventory = {
  version: 1,
  defaults: { idle_after: '10d', typical_month_factor: 1.1 },
  providers: { openai: { admin_key: 'keys/admin/openai.sops.yaml' } },
  workflows: {
    day: {
      label: 'Day shift',
      owner: '@day',
      active_hours: '08:00-18:00',
      timezone: 'Europe/Berlin',
      allowed_models: ['gpt-4o-mini'],
      budget_usd_month: 3,
    },
    night: { label: 'Night', owner: '@night', budget_usd_month: 1000 },
    // West of UTC: its local day starts after the UTC midnight, and ends after the next one.
    late: {
      label: 'Late shift',
      owner: '@late',
      active_hours: '09:00-17:00',
      timezone: 'America/New_York',
    },
  },
  keys: {
    costly: {
      label: 'Costly',
      workflow: 'day',
      provider: 'openai',
      secret: 'keys/costly.sops.yaml',
      created: '2026-01-01',
      provider_key_id: KEYS.costly,
      budget_usd_month: 2,
    },
    tokens: {
      label: 'Tokens only',
      workflow: 'late',
      provider: 'openai',
      secret: 'keys/tokens.sops.yaml',
      created: '2026-01-01',
      provider_key_id: KEYS.tokens,
    },
    canary: {
      label: 'Canary',
      workflow: 'night',
      provider: 'openai',
      secret: 'keys/canary.sops.yaml',
      created: '2026-01-01',
      provider_key_id: KEYS.canary,
      canary: true,
      used_in: ['.env.example'],
    },
    quiet: {
      label: 'Quiet',
      workflow: 'night',
      provider: 'openai',
      secret: 'keys/quiet.sops.yaml',
      created: '2026-01-01',
      provider_key_id: KEYS.quiet,
    },
  },
}

/** One snapshot: when it was written, the usage records it stores, its events. */
interface Snapshot extends SnapshotHistory {
  usage: UsageRecord[]
}

const iso = (ms: number) => new Date(ms).toISOString()

/**
 * Hourly runs from 50 days before NOW: each snapshot stores the hour it read, plus now and then
 * a revised earlier bucket (a later read wins), events, and a daily bucket of another width.
 */
function history(now: string): Snapshot[] {
  const random = seededRandom(7)
  const end = Math.floor(Date.parse(now) / HOUR_MS) * HOUR_MS
  const start = end - 50 * DAY_MS
  const snapshots: Snapshot[] = []
  const cents = () => Math.round(random() * 1e6) / 1e7 + random() * 1e-9
  for (let hour = start; hour < end; hour += HOUR_MS) {
    const records: UsageRecord[] = []
    const events: AuditEvent[] = []
    const at = hour + HOUR_MS + 5 * 60_000
    const utcHour = new Date(hour).getUTCHours()
    const spike = hour >= end - 30 * HOUR_MS && hour < end - 26 * HOUR_MS ? 40 : 1
    if (random() < 0.6) {
      const model = random() < 0.05 ? 'o1' : 'gpt-4o-mini'
      records.push(
        usage(iso(hour), { providerKeyId: KEYS.costly, model, costUsd: cents() * spike }),
      )
      if (random() < 0.3)
        records.push(
          usage(iso(hour), { providerKeyId: KEYS.costly, model: 'gpt-4o', costUsd: cents() }),
        )
    }
    if ((utcHour >= 7 && utcHour < 17) || random() < 0.03)
      records.push(
        usage(iso(hour), {
          providerKeyId: KEYS.tokens,
          costUsd: undefined,
          costSource: 'none',
          inputTokens: Math.round(random() * 5000 * spike),
          outputTokens: Math.round(random() * 900),
        }),
      )
    if (hour === start + 3 * DAY_MS || hour === end - 20 * DAY_MS)
      records.push(usage(iso(hour), { providerKeyId: KEYS.canary, costUsd: 0.5 }))
    if (hour === start + DAY_MS) records.push(usage(iso(hour), { providerKeyId: KEYS.quiet }))
    // Unattributed, and a cost-only line: neither is use.
    if (utcHour === 0) {
      records.push(usage(iso(hour), { providerKeyId: undefined, costUsd: 1 }))
      records.push(
        usage(iso(hour - DAY_MS), {
          end: iso(hour),
          operation: 'cost',
          model: undefined,
          requests: undefined,
          inputTokens: 0,
          outputTokens: 0,
          costUsd: cents(),
          providerKeyId: KEYS.tokens,
        }),
      )
    }
    // A revised read of a bucket from three hours earlier.
    if (random() < 0.1)
      records.push(usage(iso(hour - 3 * HOUR_MS), { providerKeyId: KEYS.costly, costUsd: cents() }))
    if (random() < 0.02 || hour === end - 5 * HOUR_MS) {
      const ip =
        hour === end - 5 * HOUR_MS
          ? '203.0.113.77'
          : random() < 0.7
            ? '192.0.2.1'
            : `198.51.100.${Math.floor(random() * 200)}`
      events.push({
        provider: 'openai',
        eventId: `ev-${hour}`,
        type: 'api_key.used',
        at: iso(hour + 10 * 60_000),
        actor: undefined,
        ip,
        userAgent: undefined,
        providerKeyId: KEYS.costly,
      })
    }
    snapshots.push({ atMs: at, usage: records, events, rotations: [] })
  }
  return snapshots
}

const day = (ms: number) => iso(ms).slice(0, 10)

describe.each(RUNS)('carried usage days, run at %s', (NOW) => {
  const SNAPSHOTS = history(NOW)
  /** The history's first day: as the audit keeps it (HISTORY_DAYS). */
  const FROM = day(Date.parse(NOW) - HISTORY_DAYS * DAY_MS)

  function baseContext(windowStart: Date): DetectorContext {
    const keys = Object.values(KEYS).map((id) => providerKey({ providerKeyId: id }))
    return context({
      inventory,
      now: NOW,
      windowStart,
      providerKeys: new Map([['openai', keys]]),
      matches: new Map(
        Object.entries(inventory.keys).map(([id, k]) => [
          id,
          providerKey({ providerKeyId: k.provider_key_id ?? '' }),
        ]),
      ),
    })
  }

  /** Every record and event raw, as reading all snapshots gives them (today's way). */
  function readAll(windowStart: Date): DetectorContext {
    const records = SNAPSHOTS.flatMap((s) => s.usage).filter((r) => r.start >= FROM)
    return {
      ...baseContext(windowStart),
      usage: mergeUsage(records, []).sort((a, b) => a.start.localeCompare(b.start)),
      events: mergeEvents(
        SNAPSHOTS.flatMap((s) => s.events),
        [],
      ),
    }
  }

  /** One run's history as audit-history.ts reads it with `base` carried: later snapshots only. */
  function carried(base: UsageDays, before: number, through: string, from = FROM) {
    const after = SNAPSHOTS.filter((s) => s.atMs > dayStartMs(base.through) && s.atMs <= before)
    return carryForward({
      base,
      history: after.flatMap((s) => s.usage).filter((r) => r.start >= base.through),
      fresh: [],
      snapshots: after,
      freshEvents: [],
      from,
      through,
      offHours: offHoursRules(inventory, baseContext(windowStart).matches),
    })
  }

  const viaJson = (days: UsageDays | undefined): UsageDays => {
    const parsed = fromUsageDaysJson(JSON.parse(JSON.stringify(toUsageDaysJson(days as UsageDays))))
    if (!parsed) throw new Error('the carried days did not survive JSON')
    return parsed
  }

  /** The findings, with every number and word. */
  const outcome = (ctx: DetectorContext) => {
    const { findings, errors } = runDetectors(ctx)
    return {
      errors,
      findings: findings.map((f) => [f.fingerprint, f.numbers, f.message]),
      spend: [...keyMonthSpend(ctx)],
    }
  }

  const windowStart = new Date(Date.parse(NOW) - 7 * DAY_MS)

  it('give the detectors the same findings as the whole history read raw', () => {
    // Arrange: runs a day apart over the last three weeks, each carrying the last one's days.
    const full = outcome(readAll(windowStart))
    let base = emptyUsageDays(FROM)
    for (let run = Date.parse(NOW) - 21 * DAY_MS; run < Date.parse(NOW); run += DAY_MS) {
      const result = carried(base, run, day(run - 8 * DAY_MS))
      base = viaJson(result.carry)
    }

    // Act
    // Raw from the UTC day of the window start, as the audit; off-hours days carried.
    const last = carried(base, Date.parse(NOW), day(windowStart.getTime()))
    const ctx = {
      ...baseContext(windowStart),
      usage: last.usage,
      earlier: last.earlier,
      events: last.events,
    }

    // Assert
    expect(last.usage.length).toBeLessThan(SNAPSHOTS.flatMap((s) => s.usage).length / 4)
    expect(outcome(ctx)).toEqual(full)
    if (NOW.startsWith('2026-11')) {
      // The hours of New York's 1 November before the carried days end came from them.
      expect(last.earlier.keys.get('openai')?.get(KEYS.tokens)?.offHours?.date).toBe('2026-11-01')
      expect(
        full.findings.some((f) => f[0] === fingerprintOf('off-hours', 'tokens', '2026-11-01')),
      ).toBe(true)
    }
    expect(new Set(full.findings.map((f) => (f[0] as string).length))).toEqual(new Set([16]))
  })

  it('exercise every detector that reads usage or events', () => {
    const rules: string[] = runDetectors(readAll(windowStart)).findings.map((f) => f.rule)
    // The November run is there for New York's long day; its random spike is too small.
    const spikes = NOW.startsWith('2026-12') ? ['spend-spike'] : []
    for (const rule of [
      ...spikes,
      'budget',
      'off-hours',
      'unexpected-model',
      'canary-used',
      'idle-key',
      'unfamiliar-ip',
    ])
      expect({ rule, found: rules.includes(rule) }).toEqual({ rule, found: true })
  })

  it('are the same whether built in one go or run by run', () => {
    const through = day(windowStart.getTime())
    const once = carried(emptyUsageDays(FROM), Date.parse(NOW), through)
    let base = emptyUsageDays(FROM)
    for (let run = Date.parse(NOW) - 30 * DAY_MS; run < Date.parse(NOW); run += 6 * HOUR_MS)
      base = viaJson(carried(base, run, day(run - 7 * DAY_MS)).carry)
    const stepwise = carried(base, Date.parse(NOW), through)

    expect(toUsageDaysJson(viaJson(stepwise.carry))).toEqual(toUsageDaysJson(viaJson(once.carry)))
    expect(stepwise.usage).toEqual(once.usage)
  })

  it('are the same run by run when the history start moves with every run', () => {
    // Each run keeps 20 days, so every day's run drops the oldest carried day.
    const fromOf = (ms: number) => day(ms - 20 * DAY_MS)
    const through = day(windowStart.getTime())
    const once = carried(
      emptyUsageDays(fromOf(Date.parse(NOW))),
      Date.parse(NOW),
      through,
      fromOf(Date.parse(NOW)),
    )
    let base = emptyUsageDays(fromOf(Date.parse(NOW) - 30 * DAY_MS))
    for (let run = Date.parse(NOW) - 30 * DAY_MS; run < Date.parse(NOW); run += 6 * HOUR_MS)
      base = viaJson(carried(base, run, day(run - 7 * DAY_MS), fromOf(run)).carry)
    const stepwise = carried(base, Date.parse(NOW), through, fromOf(Date.parse(NOW)))

    const json = toUsageDaysJson(viaJson(stepwise.carry))
    expect(json).toEqual(toUsageDaysJson(viaJson(once.carry)))
    expect(json.from).toBe(fromOf(Date.parse(NOW)))
    expect(Object.values(json.keys.openai ?? {}).some((k) => (k.days ?? []).length > 5)).toBe(true)
    expect(stepwise.usage).toEqual(once.usage)
  })

  it('reject anything but their own JSON form', () => {
    const good = toUsageDaysJson(
      carried(emptyUsageDays(FROM), Date.parse(NOW), day(windowStart.getTime())).carry as UsageDays,
    )
    expect(fromUsageDaysJson(good)).toBeDefined()
    // Version 1 carried days were checked against canonical JSON, not their text.
    expect(fromUsageDaysJson({ ...good, version: 1 })).toBeUndefined()
    expect(fromUsageDaysJson({ ...good, version: 3 })).toBeUndefined()
    expect(fromUsageDaysJson({ ...good, through: '2026-01-01' })).toBeUndefined()
    expect(
      fromUsageDaysJson({ ...good, keys: { openai: { k: { days: [['x', 1]] } } } }),
    ).toBeUndefined()
    expect(fromUsageDaysJson('nope')).toBeUndefined()
    const offHours = {
      zone: 'Europe/Berlin',
      hours: '08:00-18:00',
      date: '2026-12-01',
      buckets: 1,
      requests: 2,
      tokens: 3,
      first: '2026-11-30T23:00:00.000Z',
    }
    const withOffHours = (value: unknown) => ({
      ...good,
      keys: { openai: { k: { off_hours: value } } },
    })
    expect(
      fromUsageDaysJson(withOffHours(offHours))?.keys.get('openai')?.get('k')?.offHours,
    ).toEqual(offHours)
    for (const bad of [
      { ...offHours, buckets: 0 },
      { ...offHours, tokens: -1 },
      { ...offHours, date: 'soon' },
      { ...offHours, zone: 1 },
      [],
    ])
      expect(fromUsageDaysJson(withOffHours(bad))).toBeUndefined()
  })
})

describe('carried usage days', () => {
  it('drop the days, months, IPs and rotations before the history start', () => {
    const result = carryForward({
      base: emptyUsageDays('2026-10-01'),
      history: [
        usage('2026-10-01T10:00:00.000Z'),
        usage('2026-10-31T10:00:00.000Z'),
        usage('2026-11-02T10:00:00.000Z'),
      ],
      fresh: [],
      snapshots: [
        {
          atMs: Date.parse('2026-10-01T11:00:00Z'),
          events: [
            {
              provider: 'openai',
              eventId: 'e1',
              type: 't',
              at: '2026-10-01T10:30:00Z',
              actor: undefined,
              ip: '192.0.2.9',
              userAgent: undefined,
              providerKeyId: 'key_k',
            },
          ],
          rotations: [7],
        },
      ],
      freshEvents: [],
      from: '2026-10-20',
      through: '2026-11-10',
    })
    const json = toUsageDaysJson(result.carry as UsageDays)
    expect(json.from).toBe('2026-10-20')
    expect(json.keys.openai?.key_k?.days?.filter((d) => d !== null)).toHaveLength(2)
    expect(Object.keys(json.keys.openai?.key_k?.months ?? {})).toEqual(['2026-11'])
    expect(json.keys.openai?.key_k?.ips).toBeUndefined()
    expect(json.rotations).toEqual({})
  })

  it('are the same whichever way the times are written', () => {
    // Two models in some hours, the last bucket of a day ending at the next midnight, and a
    // key used only on one day; then the same with times in another form, which are read by
    // Date.parse rather than digit by digit.
    const records: UsageRecord[] = []
    for (let hour = 0; hour < 6 * 24; hour += 5) {
      const start = Date.UTC(2026, 10, 3, 1) + hour * HOUR_MS
      const at = new Date(start).toISOString()
      const end = new Date(start + HOUR_MS).toISOString()
      records.push(usage(at, { end, costUsd: hour / 7 }))
      if (hour % 3 === 0) records.push(usage(at, { end, model: 'gpt-4o', costUsd: 0.1 }))
      if (hour < 24) records.push(usage(at, { end, providerKeyId: 'key_day', costUsd: 0.3 }))
    }
    records.push(usage('2026-11-04T23:00:00.000Z', { end: '2026-11-05T00:00:00.000Z' }))
    // One key's times without milliseconds: the same order, the same instants.
    const plain = (r: UsageRecord) =>
      r.providerKeyId === 'key_k'
        ? { ...r, start: r.start.replace('.000Z', 'Z'), end: r.end.replace('.000Z', 'Z') }
        : r
    const carry = (history: UsageRecord[]) =>
      toUsageDaysJson(
        carryForward({
          base: emptyUsageDays('2026-11-01'),
          history,
          fresh: [],
          snapshots: [],
          freshEvents: [],
          from: '2026-11-01',
          through: '2026-11-07',
        }).carry as UsageDays,
      )

    const exact = carry(records)

    expect(exact.keys.openai?.key_k?.days?.filter((d) => d !== null)).toHaveLength(4)
    expect(carry(records.map(plain))).toEqual(exact)
  })

  it('are not carried when a used bucket reaches past the next midnight', () => {
    const result = carryForward({
      base: emptyUsageDays('2026-11-01'),
      history: [
        usage('2026-11-05T10:00:00.000Z', { end: '2026-11-07T00:00:00.000Z' }),
        usage('2026-11-20T10:00:00.000Z'),
      ],
      fresh: [],
      snapshots: [],
      freshEvents: [],
      from: '2026-11-01',
      through: '2026-11-10',
    })
    expect(result.carry).toBeUndefined()
    expect(result.earlier.through).toBe('2026-11-01')
    expect(result.usage).toHaveLength(2)
  })
})

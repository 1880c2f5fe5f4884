import { describe, expect, it } from '@jest/globals'
import { detectBudgets } from '../../../src/analysis/detectors/budget.js'
import {
  detectIdleKeys,
  detectOrphanedKeys,
  detectSharedKeys,
  detectUnmanagedKeys,
} from '../../../src/analysis/detectors/key-inventory.js'
import { detectOffHours } from '../../../src/analysis/detectors/off-hours.js'
import { localDayBound } from '../../../src/analysis/detectors/window.js'
import { offHoursRules } from '../../../src/analysis/detectors/off-hours.js'
import type { Inventory } from '../../../src/inventory/types.js'
import { detectIngestionFailures } from '../../../src/analysis/detectors/run-health.js'
import { detectSpendSpikes } from '../../../src/analysis/detectors/spend-spike.js'
import { detectUnfamiliarIps, inCidr } from '../../../src/analysis/detectors/unfamiliar-ip.js'
import {
  detectCanaryUse,
  detectUnexpectedModels,
} from '../../../src/analysis/detectors/usage-rules.js'
import {
  context,
  dailySeries,
  inventoryWith,
  providerKey,
  usage,
} from '../../../test/fakes/detector-context.js'

describe('spend-spike', () => {
  const now = '2026-11-27T18:00:00Z'

  it('fires on a day far above a steady baseline, with the numbers behind it', () => {
    const history = dailySeries('2026-11-27', 28, () => 2)
    const spike = usage('2026-11-27T03:00:00Z', { costUsd: 30 })
    const [f, ...rest] = detectSpendSpikes(
      context({ inventory: inventoryWith(), now, usage: [...history, spike] }),
    )
    expect(rest).toEqual([])
    expect(f).toEqual(
      expect.objectContaining({
        rule: 'spend-spike',
        key: 'k',
        period: '2026-11-27',
        severity: 'error',
        owner: '@owner',
      }),
    )
    expect(f?.numbers).toEqual(expect.objectContaining({ value: 30, baseline_median: 2 }))
    expect(f?.message).toContain('15.0×')
  })

  it('stays quiet on a steady ramp', () => {
    const ramp = dailySeries('2026-11-28', 29, (i) => 1 + i * 0.1)
    expect(detectSpendSpikes(context({ inventory: inventoryWith(), now, usage: ramp }))).toEqual([])
  })

  it('stays quiet below the floor even for a tiny key that multiplies', () => {
    const history = dailySeries('2026-11-27', 28, () => 0.01)
    const burst = usage('2026-11-27T03:00:00Z', { costUsd: 0.5 })
    expect(
      detectSpendSpikes(context({ inventory: inventoryWith(), now, usage: [...history, burst] })),
    ).toEqual([])
  })

  it('keeps the same fingerprint across runs on the same day', () => {
    const data = [
      ...dailySeries('2026-11-27', 28, () => 2),
      usage('2026-11-27T03:00:00Z', { costUsd: 30 }),
    ]
    const first = detectSpendSpikes(context({ inventory: inventoryWith(), now, usage: data }))
    const later = detectSpendSpikes(
      context({ inventory: inventoryWith(), now: '2026-11-27T23:00:00Z', usage: data }),
    )
    expect(later.map((f) => f.fingerprint)).toEqual(first.map((f) => f.fingerprint))
  })
})

describe('budget', () => {
  it('fires once per threshold per month: spent past budget', () => {
    const data = [usage('2026-11-03T10:00:00Z', { costUsd: 45 })]
    const findings = detectBudgets(
      context({
        inventory: inventoryWith({ key: { budget_usd_month: 40 } }),
        now: '2026-11-20T00:00:00Z',
        usage: data,
      }),
    )
    expect(findings.map((f) => [f.rule, f.numbers.threshold, f.severity])).toEqual([
      ['budget', 'budget', 'error'],
    ])
  })

  it('forecasts the month end from the month so far', () => {
    // $15 in the first 10 days → $45 by the end of a 30-day month.
    const data = [usage('2026-11-05T10:00:00Z', { costUsd: 15 })]
    const [f] = detectBudgets(
      context({
        inventory: inventoryWith({ key: { budget_usd_month: 40 } }),
        now: '2026-11-11T00:00:00Z',
        usage: data,
      }),
    )
    expect(f?.numbers).toEqual(expect.objectContaining({ threshold: 'forecast', forecast_usd: 45 }))
  })

  it('does not count last month into this month at the month boundary', () => {
    const data = [
      usage('2026-10-31T23:00:00Z', { costUsd: 100 }),
      usage('2026-11-01T00:00:00Z', { costUsd: 1 }),
    ]
    const findings = detectBudgets(
      context({
        inventory: inventoryWith({ key: { budget_usd_month: 40 } }),
        now: '2026-11-15T00:00:00Z',
        usage: data,
      }),
    )
    expect(findings.filter((f) => f.numbers.threshold !== 'typical')).toEqual([])
  })

  it('fires past typical_month_factor × a typical month', () => {
    const data = [
      ...dailySeries('2026-11-01', 28, () => 1),
      usage('2026-11-02T10:00:00Z', { costUsd: 40 }),
    ]
    const findings = detectBudgets(
      context({ inventory: inventoryWith(), now: '2026-11-03T00:00:00Z', usage: data }),
    )
    expect(findings.map((f) => f.numbers.threshold)).toEqual(['typical'])
    expect(findings[0]?.numbers.typical_month_usd).toBe(30)
  })
})

describe('off-hours', () => {
  const wrap = inventoryWith({
    workflow: { active_hours: '22:00-06:00', timezone: 'Europe/Berlin' },
  })

  it('accepts use inside hours that wrap midnight and flags use outside them', () => {
    const inside = usage('2026-11-26T23:30:00Z') // 00:30 in Berlin (UTC+1)
    const outside = usage('2026-11-27T11:00:00Z') // 12:00 in Berlin
    const findings = detectOffHours(
      context({ inventory: wrap, now: '2026-11-27T12:00:00Z', usage: [inside, outside] }),
    )
    expect(findings.map((f) => [f.period, f.numbers.hours_used])).toEqual([['2026-11-27', 1]])
  })

  it('follows the workflow timezone across a DST change', () => {
    // Berlin leaves summer time (UTC+2) for winter time (UTC+1) on 2026-10-25.
    const inventory = inventoryWith({
      workflow: { active_hours: '09:00-17:00', timezone: 'Europe/Berlin' },
    })
    const summer = usage('2026-10-24T07:30:00Z') // 09:30 CEST: inside
    const winter = usage('2026-10-26T07:30:00Z') // 08:30 CET: outside
    const findings = detectOffHours(
      context({
        inventory,
        now: '2026-10-26T12:00:00Z',
        windowStart: new Date('2026-10-20T00:00:00Z'),
        usage: [summer, winter],
      }),
    )
    expect(findings.map((f) => f.period)).toEqual(['2026-10-26'])
  })

  it('counts the whole local day holding the window start, so a day never shrinks between runs', () => {
    // Arrange: 06:00 and 14:00 in Tokyo (UTC+9) on 27 November, both outside 09:00-12:00.
    const inventory = inventoryWith({
      workflow: { active_hours: '09:00-12:00', timezone: 'Asia/Tokyo' },
    })
    const early = usage('2026-11-26T21:00:00Z')
    const late = usage('2026-11-27T05:00:00Z')
    const judged = (windowStart: string) =>
      detectOffHours(
        context({
          inventory,
          now: '2026-11-27T07:00:00Z',
          windowStart: new Date(windowStart),
          usage: [early, late],
        }),
      ).map((f) => [f.period, f.numbers.hours_used, f.numbers.first])

    // Act: a window from 02:00 UTC (11:00 in Tokyo) still counts the 06:00 use of that day.
    const fromMidday = judged('2026-11-27T02:00:00Z')
    const fromBefore = judged('2026-11-26T00:00:00Z')

    // Assert
    expect(fromMidday).toEqual([['2026-11-27', 2, '2026-11-26T21:00:00Z']])
    expect(fromMidday).toEqual(fromBefore)
    // A window starting on the next local day leaves 27 November to the runs that judged it.
    expect(judged('2026-11-27T15:30:00Z')).toEqual([])
  })
})

describe('the local day off-hours counts (detectors/window.ts)', () => {
  const at = (iso: string) => new Date(iso)

  it.each([
    // [zone, window start, bound]: an hour before the local midnight of the window start's day.
    ['Europe/Berlin', '2026-12-05T12:00:00Z', '2026-12-04T22:00:00.000Z'],
    ['America/New_York', '2026-12-05T12:00:00Z', '2026-12-05T04:00:00.000Z'],
    ['Asia/Kolkata', '2026-12-05T12:00:00Z', '2026-12-04T17:30:00.000Z'],
    // 02:00 on 6 December in Kiritimati (UTC+14).
    ['Pacific/Kiritimati', '2026-12-05T12:00:00Z', '2026-12-05T09:00:00.000Z'],
    // 1 November 2026 ends summer time in New York at 06:00 UTC: a 25-hour local day, whose
    // midnight (04:00 UTC) is 19 hours before 18:00 local: the spare hour reaches it exactly.
    ['America/New_York', '2026-11-01T23:00:00Z', '2026-11-01T04:00:00.000Z'],
  ])('in %s, for a window from %s, starts no later than %s', (zone, start, bound) => {
    expect(localDayBound(at(start), zone)).toBe(Date.parse(bound))
  })

  it('reaches a day and an hour back for a timezone it cannot read', () => {
    expect(localDayBound(at('2026-12-05T12:00:00Z'), 'Mars/Olympus')).toBe(
      Date.parse('2026-12-04T11:00:00.000Z'),
    )
  })

  it("is judged per provider key under its workflow's zone and hours, as the detector judges", () => {
    const matched = new Map([['k', { providerKeyId: 'key_x' }]])
    const rulesOf = (inventory: Inventory) => offHoursRules(inventory, matched)
    const hours = { workflow: { active_hours: '09:00-17:00' } }

    expect(rulesOf(inventoryWith({ ...hours, defaults: { timezone: 'Europe/Berlin' } }))).toEqual(
      new Map([
        [
          'openai',
          new Map([
            ['key_x', { zone: 'Europe/Berlin', hours: '09:00-17:00', start: 540, end: 1020 }],
          ]),
        ],
      ]),
    )
    // Not matched, a canary, no active hours, or a zone it cannot read: nothing to count.
    expect(offHoursRules(inventoryWith(hours), new Map()).size).toBe(0)
    expect(rulesOf(inventoryWith({ ...hours, key: { canary: true } })).size).toBe(0)
    expect(rulesOf(inventoryWith()).size).toBe(0)
    const mars = { workflow: { active_hours: '09:00-17:00', timezone: 'Mars/Olympus' } }
    expect(rulesOf(inventoryWith(mars)).size).toBe(0)
  })
})

describe('unfamiliar-ip', () => {
  const event = (at: string, ip: string) => ({
    provider: 'openai',
    eventId: `${at}-${ip}`,
    type: 'api_key.used',
    at,
    actor: undefined,
    ip,
    userAgent: undefined,
    providerKeyId: 'key_k',
  })

  it('flags an IP outside allowed_ips and accepts one inside', () => {
    const inventory = inventoryWith({ key: { allowed_ips: ['203.0.113.0/24'] } })
    const events = [
      event('2026-11-27T10:00:00Z', '203.0.113.9'),
      event('2026-11-27T11:00:00Z', '198.51.100.7'),
    ]
    const findings = detectUnfamiliarIps(
      context({ inventory, now: '2026-11-27T12:00:00Z', events }),
    )
    expect(findings.map((f) => f.period)).toEqual(['198.51.100.7'])
  })

  it('without allowed_ips, flags only IPs not seen before the window', () => {
    const events = [
      event('2026-11-01T10:00:00Z', '192.0.2.1'),
      event('2026-11-27T10:00:00Z', '192.0.2.1'),
      event('2026-11-27T11:00:00Z', '192.0.2.99'),
    ]
    const findings = detectUnfamiliarIps(
      context({ inventory: inventoryWith(), now: '2026-11-27T12:00:00Z', events }),
    )
    expect(findings.map((f) => f.period)).toEqual(['192.0.2.99'])
  })

  it.each([
    ['203.0.113.9', '203.0.113.0/24', true],
    ['203.0.114.9', '203.0.113.0/24', false],
    ['2001:db8::1', '2001:db8::/32', true],
    ['2001:db9::1', '2001:db8::/32', false],
    ['203.0.113.9', '2001:db8::/32', false],
  ])('inCidr(%s, %s) is %s', (ip, cidr, expected) => expect(inCidr(ip, cidr)).toBe(expected))
})

describe('inventory against provider', () => {
  const now = '2026-11-27T12:00:00Z'

  it('reports an active provider key nobody claims, but not the admin key', () => {
    const stray = providerKey({ providerKeyId: 'key_stray', name: 'old laptop' })
    const admin = providerKey({ providerKeyId: 'key_admin' })
    const findings = detectUnmanagedKeys(
      context({
        inventory: inventoryWith(),
        now,
        providerKeys: new Map([['openai', [providerKey(), stray, admin]]]),
        adminProviderKeyIds: new Set(['key_admin']),
      }),
    )
    expect(findings.map((f) => f.subject)).toEqual(['openai:key_stray'])
  })

  it('reports an inventory key its provider lists as inactive or not at all, but not when the listing failed', () => {
    const gone = context({ inventory: inventoryWith(), now, matches: new Map() })
    expect(detectOrphanedKeys(gone).map((f) => f.numbers.status)).toEqual(['missing'])
    const inactive = context({
      inventory: inventoryWith(),
      now,
      matches: new Map([['k', providerKey({ status: 'inactive' })]]),
    })
    expect(detectOrphanedKeys(inactive).map((f) => f.numbers.status)).toEqual(['inactive'])
    const failed = context({
      inventory: inventoryWith(),
      now,
      matches: new Map(),
      providerKeys: new Map(),
    })
    expect(detectOrphanedKeys(failed)).toEqual([])
  })

  it('reports a key unused for longer than idle_after, not a young one', () => {
    const old = context({ inventory: inventoryWith(), now, usage: [usage('2026-10-01T10:00:00Z')] })
    expect(detectIdleKeys(old).map((f) => f.key)).toEqual(['k'])
    const young = context({ inventory: inventoryWith({ key: { created: '2026-11-20' } }), now })
    expect(detectIdleKeys(young)).toEqual([])
    const busy = context({
      inventory: inventoryWith(),
      now,
      usage: [usage('2026-11-26T10:00:00Z')],
    })
    expect(detectIdleKeys(busy)).toEqual([])
  })

  it('reports one secret behind two entries', () => {
    const findings = detectSharedKeys(
      context({
        inventory: inventoryWith(),
        now,
        secretFingerprints: new Map([
          ['a', 'x'],
          ['b', 'x'],
          ['c', 'y'],
        ]),
      }),
    )
    expect(findings.map((f) => f.subject)).toEqual(['a+b'])
  })
})

describe('usage rules', () => {
  const now = '2026-11-27T12:00:00Z'

  it('reports any use of a canary key', () => {
    const inventory = inventoryWith({ key: { canary: true, used_in: ['.env.example'] } })
    expect(detectCanaryUse(context({ inventory, now })).length).toBe(0)
    const findings = detectCanaryUse(
      context({ inventory, now, usage: [usage('2026-11-27T02:00:00Z')] }),
    )
    expect(findings.map((f) => [f.rule, f.severity])).toEqual([['canary-used', 'error']])
    expect(findings[0]?.message).toContain('.env.example')
  })

  it('files a use by the month it happened in, so a run on the 1st does not re-report it', () => {
    const canaryInventory = inventoryWith({ key: { canary: true } })
    const modelInventory = inventoryWith({ workflow: { allowed_models: ['gpt-4o-mini'] } })
    const late = '2026-11-30T22:00:00Z'
    const runs = ['2026-11-30T23:00:00Z', '2026-12-01T01:00:00Z'].map((at) => ({
      canary: detectCanaryUse(
        context({ inventory: canaryInventory, now: at, usage: [usage(late)] }),
      ),
      model: detectUnexpectedModels(
        context({ inventory: modelInventory, now: at, usage: [usage(late, { model: 'o1' })] }),
      ),
    }))

    for (const run of runs) {
      expect(run.canary.map((f) => f.period)).toEqual(['2026-11'])
      expect(run.model.map((f) => f.period)).toEqual(['2026-11'])
    }
    expect(runs[1]?.canary[0]?.fingerprint).toBe(runs[0]?.canary[0]?.fingerprint)
    expect(runs[1]?.model[0]?.fingerprint).toBe(runs[0]?.model[0]?.fingerprint)
  })

  it('reports a model outside allowed_models once per model', () => {
    const inventory = inventoryWith({ workflow: { allowed_models: ['gpt-4o-mini'] } })
    const data = [
      usage('2026-11-27T02:00:00Z'),
      usage('2026-11-27T03:00:00Z', { model: 'o1' }),
      usage('2026-11-27T04:00:00Z', { model: 'o1' }),
    ]
    const findings = detectUnexpectedModels(context({ inventory, now, usage: data }))
    expect(findings.map((f) => [f.numbers.model, f.numbers.tokens])).toEqual([['o1', 300]])
  })

  it('opens ingestion-failed only after gap_runs consecutive failures', () => {
    const inventory = inventoryWith()
    expect(
      detectIngestionFailures(context({ inventory, now, failedRuns: new Map([['openai', 2]]) })),
    ).toEqual([])
    expect(
      detectIngestionFailures(
        context({ inventory, now, failedRuns: new Map([['openai', 3]]) }),
      ).map((f) => f.subject),
    ).toEqual(['openai'])
  })
})

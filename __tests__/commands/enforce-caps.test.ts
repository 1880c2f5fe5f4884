import { describe, expect, it } from '@jest/globals'
import {
  capFindings,
  planCaps,
  type CapPlan,
  type ProviderLimits,
} from '../../src/analysis/caps.js'
import { enforceCaps } from '../../src/commands/enforce-caps.js'
import type { Inventory, KeyEntry } from '../../src/inventory/types.js'
import type { Log } from '../../src/ports/log.js'
import type { Provider, ProviderLimit, WriteResult } from '../../src/ports/provider.js'
import type { ProviderKey } from '../../src/records.js'

/**
 * `enforceCaps` (`defaults.caps: enforce`) against an in-memory provider that keeps the limits
 * it is given: what it writes, what it records, and that a second run has nothing left to do.
 */

interface LogLine {
  level: 'info' | 'warning' | 'debug' | 'group'
  message: string
}

function captureLog(lines: LogLine[]): Log {
  return {
    info: (message) => void lines.push({ level: 'info', message }),
    warning: (message) => void lines.push({ level: 'warning', message }),
    debug: (message) => void lines.push({ level: 'debug', message }),
    group: async (name, work) => {
      lines.push({ level: 'group', message: name })
      return work()
    },
  }
}

interface LimitStore {
  provider: Provider
  /** target → limit, as the provider holds it. */
  limits: Map<string, ProviderLimit>
  /** Every setLimit call, in order. */
  calls: { target: string; usd: number }[]
}

/**
 * An OpenRouter-like provider: per-key monthly limits held in memory. `refuse` lists targets
 * whose writes it answers with 403; `readBack` overrides what a write reads back.
 */
function memoryProvider(
  id: string,
  initial: ProviderLimit[],
  options: { refuse?: string[]; readBack?: (usd: number) => number | null } = {},
): LimitStore {
  const limits = new Map(initial.map((l) => [l.target, { ...l }]))
  const calls: LimitStore['calls'] = []
  const empty = { data: [], gaps: [], notes: [], requests: 0 }
  const provider: Provider = {
    id,
    type: 'openrouter',
    capabilities: () => ({
      listKeys: 'yes',
      usage: 'yes',
      usageGranularity: '1d',
      cost: 'reported',
      auditEvents: 'no',
      apiTrafficIp: 'no',
      limitations: [],
    }),
    listKeys: async () => empty,
    usage: async () => empty,
    auditEvents: async () => empty,
    limitControl: () => ({ scope: 'key', note: 'per-key limits' }),
    readLimits: async () => ({ ...empty, data: [...limits.values()] }),
    setLimit: async (target, usd): Promise<WriteResult<ProviderLimit>> => {
      calls.push({ target: target.target, usd })
      if (options.refuse?.includes(target.target))
        return {
          ok: false,
          status: 403,
          reason: `PATCH /keys/${target.target}: 403 forbidden`,
          permission: 'a provisioning (management) key',
          requests: 1,
        }
      const value: ProviderLimit = {
        scope: target.scope,
        target: target.target,
        usd: options.readBack ? options.readBack(usd) : usd,
        reset: 'monthly',
      }
      limits.set(target.target, value)
      return { ok: true, value, requests: 1 }
    },
  }
  return { provider, limits, calls }
}

function keyEntry(cap: number): KeyEntry {
  return {
    label: 'Label',
    workflow: 'batch',
    provider: 'openrouter',
    secret: 'keys/x.sops.yaml',
    created: '2026-10-01',
    cap_usd_month: cap,
  }
}

const inventory: Inventory = {
  version: 1,
  defaults: { caps: 'enforce' },
  providers: { openrouter: { admin_key: 'keys/admin/openrouter.sops.yaml' } },
  workflows: { batch: { label: 'Batch', owner: '@jeff' } },
  keys: { 'key-a': keyEntry(45), 'key-b': keyEntry(20) },
}

const providerKey = (id: string): ProviderKey => ({
  provider: 'openrouter',
  providerKeyId: id,
  hint: undefined,
  name: id,
  created: undefined,
  lastUsed: undefined,
  status: 'active',
  project: undefined,
  owner: undefined,
})

const matches = new Map([
  ['key-a', providerKey('hash_a')],
  ['key-b', providerKey('hash_b')],
])

/** The plan built from what the provider holds now, as an audit run builds it. */
async function planFrom(store: LimitStore): Promise<CapPlan> {
  const read = await store.provider.readLimits?.([...matches.values()])
  const limits: ProviderLimits = { control: store.provider.limitControl(), limits: read?.data }
  return planCaps(inventory, matches, new Map([['openrouter', limits]]))
}

const startingLimits = (): ProviderLimit[] => [
  { scope: 'key', target: 'hash_a', usd: null, reset: null },
  { scope: 'key', target: 'hash_b', usd: 10, reset: 'monthly' },
]

const REQUESTED_BY = 'abc1234 (Jeff <jeff@example.com>)'

describe('enforceCaps', () => {
  it('writes nothing in report mode, and logs each limit that differs', async () => {
    const store = memoryProvider('openrouter', startingLimits())
    const plan = await planFrom(store)
    const lines: LogLine[] = []

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', store.provider]]),
      { mode: 'report', dryRun: false, requestedBy: REQUESTED_BY },
      captureLog(lines),
    )

    expect(store.calls).toEqual([])
    expect(result.changes).toEqual([])
    expect(result.requests).toBe(0)
    expect([...result.outcomes.values()]).toEqual([{ status: 'planned' }, { status: 'planned' }])
    expect(lines.map((l) => l.message)).toEqual([
      'cap differs openrouter key hash_a: none → $45.00 monthly',
      'cap differs openrouter key hash_b: $10.00 → $20.00 monthly',
    ])
    expect(plan.status.map((s) => s.enforcedBy)).toEqual(['keyward', 'keyward'])
  })

  it('writes nothing in a dry run, and says what it would set', async () => {
    const store = memoryProvider('openrouter', startingLimits())
    const plan = await planFrom(store)
    const lines: LogLine[] = []

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', store.provider]]),
      { mode: 'enforce', dryRun: true, requestedBy: REQUESTED_BY },
      captureLog(lines),
    )

    expect(store.calls).toEqual([])
    expect(result.changes).toEqual([])
    expect(lines.map((l) => l.message)).toEqual([
      'dry run: would set openrouter key hash_a: none → $45.00 monthly',
      'dry run: would set openrouter key hash_b: $10.00 → $20.00 monthly',
    ])
    expect(store.limits.get('hash_a')?.usd).toBeNull()
  })

  it('writes each planned limit once, records the change and marks the caps as enforced', async () => {
    const store = memoryProvider('openrouter', startingLimits())
    const plan = await planFrom(store)
    const lines: LogLine[] = []

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', store.provider]]),
      { mode: 'enforce', dryRun: false, requestedBy: REQUESTED_BY },
      captureLog(lines),
    )

    expect(store.calls).toEqual([
      { target: 'hash_a', usd: 45 },
      { target: 'hash_b', usd: 20 },
    ])
    expect(result.requests).toBe(2)
    expect(result.changes).toEqual([
      {
        provider: 'openrouter',
        scope: 'key',
        target: 'hash_a',
        keys: ['key-a'],
        old_usd: null,
        old_reset: null,
        new_usd: 45,
        requested_by: REQUESTED_BY,
      },
      {
        provider: 'openrouter',
        scope: 'key',
        target: 'hash_b',
        keys: ['key-b'],
        old_usd: 10,
        old_reset: 'monthly',
        new_usd: 20,
        requested_by: REQUESTED_BY,
      },
    ])
    expect([...result.outcomes.values()]).toEqual([
      { status: 'written', readBack: 45 },
      { status: 'written', readBack: 20 },
    ])
    expect(plan.status.map((s) => [s.key, s.enforcedBy, s.limit])).toEqual([
      ['key-a', 'provider', 45],
      ['key-b', 'provider', 20],
    ])
    expect(capFindings(inventory, plan, result.outcomes, 'enforce')).toEqual([])
    expect(lines.filter((l) => l.level === 'warning')).toEqual([])
  })

  it('has nothing to write on the next run (idempotent)', async () => {
    const store = memoryProvider('openrouter', startingLimits())
    const providers = new Map([['openrouter', store.provider]])
    const options = { mode: 'enforce' as const, dryRun: false, requestedBy: REQUESTED_BY }
    await enforceCaps(await planFrom(store), providers, options, captureLog([]))

    const second = await planFrom(store)
    const result = await enforceCaps(second, providers, options, captureLog([]))

    expect(second.writes).toEqual([])
    expect(second.status.map((s) => s.enforcedBy)).toEqual(['provider', 'provider'])
    expect(store.calls).toHaveLength(2)
    expect(result.changes).toEqual([])
    expect(result.requests).toBe(0)
  })

  it('records a refused write and goes on with the next one', async () => {
    const store = memoryProvider('openrouter', startingLimits(), { refuse: ['hash_a'] })
    const plan = await planFrom(store)
    const lines: LogLine[] = []

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', store.provider]]),
      { mode: 'enforce', dryRun: false, requestedBy: REQUESTED_BY },
      captureLog(lines),
    )

    expect(store.calls.map((c) => c.target)).toEqual(['hash_a', 'hash_b'])
    expect([...result.outcomes.values()]).toEqual([
      {
        status: 'refused',
        reason: 'PATCH /keys/hash_a: 403 forbidden',
        permission: 'a provisioning (management) key',
      },
      { status: 'written', readBack: 20 },
    ])
    expect(result.requests).toBe(2)
    expect(result.changes.map((c) => c.target)).toEqual(['hash_b'])
    // The provider adapter warns with the provider's answer (writes.ts); no second warning here.
    expect(lines.filter((l) => l.level === 'warning')).toEqual([])
    expect(plan.status.map((s) => [s.key, s.enforcedBy])).toEqual([
      ['key-a', 'keyward'],
      ['key-b', 'provider'],
    ])
    const findings = capFindings(inventory, plan, result.outcomes, 'enforce')
    expect(findings.map((f) => [f.key, f.severity])).toEqual([['key-a', 'error']])
  })

  it('in enforce mode, reports a provider without setLimit as unable to write, writing nothing', async () => {
    const store = memoryProvider('openrouter', startingLimits())
    const { setLimit: _unused, ...readOnly } = store.provider
    const plan = await planFrom(store)

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', readOnly]]),
      { mode: 'enforce', dryRun: false, requestedBy: REQUESTED_BY },
      captureLog([]),
    )

    expect(store.calls).toEqual([])
    const outcomes = [...result.outcomes.values()]
    expect(outcomes).toHaveLength(2)
    for (const outcome of outcomes)
      expect(outcome).toEqual({
        status: 'refused',
        reason: 'keyward has no way to set openrouter limits by API',
      })
  })

  it('does not call a cap enforced by the provider when the read-back differs from it', async () => {
    // The provider stores whole dollars only: 45 reads back as 40.
    const store = memoryProvider('openrouter', startingLimits(), {
      readBack: (usd) => (usd === 45 ? 40 : usd),
    })
    const plan = await planFrom(store)

    const result = await enforceCaps(
      plan,
      new Map([['openrouter', store.provider]]),
      { mode: 'enforce', dryRun: false, requestedBy: REQUESTED_BY },
      captureLog([]),
    )

    expect(result.changes[0]?.new_usd).toBe(40)
    expect(capFindings(inventory, plan, result.outcomes, 'enforce')).toHaveLength(1)
    // CapStatus: `provider` means "the provider enforces a limit equal to the cap".
    expect(plan.status.find((s) => s.key === 'key-a')).toMatchObject({
      enforcedBy: 'keyward',
      limit: 40,
    })
  })
})

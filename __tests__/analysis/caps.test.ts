import { describe, expect, it } from '@jest/globals'
import {
  capFindings,
  planCaps,
  type CapOutcome,
  type CapPlan,
  type CapWrite,
  type ProviderLimits,
} from '../../src/analysis/caps.js'
import type { Inventory, KeyEntry } from '../../src/inventory/types.js'
import type { LimitControl, ProviderLimit } from '../../src/ports/provider.js'
import type { ProviderKey } from '../../src/records.js'

/**
 * `planCaps` and `capFindings` (SPEC §1 `cap_usd_month`, §4 `cap-drift`): what each provider
 * enforces against what the inventory asks for, and the findings left when they disagree.
 */

const OPENROUTER: LimitControl = { scope: 'key', note: 'OpenRouter limits each key' }
const OPENAI: LimitControl = { scope: 'project', note: 'OpenAI limits each project' }
const ANTHROPIC: LimitControl = {
  scope: 'none',
  note: 'Anthropic sets spend limits per workspace in the Console',
}

function keyEntry(provider: string, extra: Partial<KeyEntry> = {}): KeyEntry {
  return {
    label: `Label of ${provider}`,
    workflow: 'blog',
    provider,
    secret: `keys/${provider}.sops.yaml`,
    created: '2026-10-01',
    ...extra,
  }
}

function inventoryOf(keys: Record<string, KeyEntry>): Inventory {
  return {
    version: 1,
    providers: {
      openrouter: { admin_key: 'keys/admin/openrouter.sops.yaml' },
      openai: { admin_key: 'keys/admin/openai.sops.yaml' },
      anthropic: { admin_key: 'keys/admin/anthropic.sops.yaml' },
    },
    workflows: { blog: { label: 'Blog', owner: '@maria' } },
    keys,
  }
}

function providerKey(provider: string, id: string, project?: string): ProviderKey {
  return {
    provider,
    providerKeyId: id,
    hint: undefined,
    name: id,
    created: undefined,
    lastUsed: undefined,
    status: 'active',
    project,
    owner: undefined,
  }
}

const keyLimit = (
  target: string,
  usd: number | null,
  reset: ProviderLimit['reset'] = 'monthly',
): ProviderLimit => ({ scope: 'key', target, usd, reset })

const projectLimit = (target: string, usd: number | null): ProviderLimit => ({
  scope: 'project',
  target,
  usd,
  reset: 'monthly',
})

/** One OpenRouter key `or-key` (provider id `or_hash_1`) capped at `cap`, its limit `limit`. */
function openRouterPlan(cap: number, limit: ProviderLimit | undefined, budget?: number) {
  const inventory = inventoryOf({
    'or-key': keyEntry('openrouter', {
      cap_usd_month: cap,
      ...(budget !== undefined ? { budget_usd_month: budget } : {}),
    }),
  })
  const matches = new Map([['or-key', providerKey('openrouter', 'or_hash_1')]])
  const providers = new Map<string, ProviderLimits>([
    ['openrouter', { control: OPENROUTER, limits: limit ? [limit] : [] }],
  ])
  return { inventory, plan: planCaps(inventory, matches, providers) }
}

describe('planCaps: key limits (OpenRouter)', () => {
  it('plans a write when the key has no limit', () => {
    const { plan } = openRouterPlan(45, keyLimit('or_hash_1', null, null))

    expect(plan.writes).toEqual([
      {
        provider: 'openrouter',
        scope: 'key',
        target: 'or_hash_1',
        keys: ['or-key'],
        current: null,
        currentReset: null,
        wanted: 45,
        why: 'missing',
      },
    ])
    expect(plan.status).toEqual([
      {
        key: 'or-key',
        provider: 'openrouter',
        cap: 45,
        budget: undefined,
        enforcedBy: 'keyward',
        limit: null,
      },
    ])
  })

  it('plans a write when the limit is a different number', () => {
    const { plan } = openRouterPlan(45, keyLimit('or_hash_1', 30))

    expect(plan.writes).toHaveLength(1)
    expect(plan.writes[0]).toMatchObject({ current: 30, wanted: 45, why: 'differs' })
    expect(plan.status[0]).toMatchObject({ enforcedBy: 'keyward', limit: 30 })
  })

  it.each([['daily' as const], ['weekly' as const], [null]])(
    'plans a write when the number matches but the limit resets %s, not monthly',
    (reset) => {
      const { plan } = openRouterPlan(45, keyLimit('or_hash_1', 45, reset))

      expect(plan.writes).toHaveLength(1)
      expect(plan.writes[0]).toMatchObject({
        current: 45,
        currentReset: reset,
        wanted: 45,
        why: 'reset',
      })
      expect(plan.status[0]?.enforcedBy).toBe('keyward')
    },
  )

  it('writes nothing when the monthly limit equals the cap, and says the provider enforces it', () => {
    const { plan } = openRouterPlan(45, keyLimit('or_hash_1', 45))

    expect(plan.writes).toEqual([])
    expect(plan.status).toEqual([
      {
        key: 'or-key',
        provider: 'openrouter',
        cap: 45,
        budget: undefined,
        enforcedBy: 'provider',
        limit: 45,
      },
    ])
  })

  it('compares dollars to the cent: 45.004 is 45, 45.01 is not', () => {
    expect(openRouterPlan(45, keyLimit('or_hash_1', 45.004)).plan.writes).toEqual([])
    expect(openRouterPlan(45.004, keyLimit('or_hash_1', 45)).plan.writes).toEqual([])
    expect(openRouterPlan(45, keyLimit('or_hash_1', 45.01)).plan.writes).toMatchObject([
      { why: 'differs' },
    ])
  })

  it('only watches a key that is not matched to a provider key, and says why', () => {
    const inventory = inventoryOf({ 'or-key': keyEntry('openrouter', { cap_usd_month: 45 }) })
    const providers = new Map<string, ProviderLimits>([
      ['openrouter', { control: OPENROUTER, limits: [keyLimit('or_hash_1', null)] }],
    ])

    const plan = planCaps(inventory, new Map(), providers)

    expect(plan.writes).toEqual([])
    expect(plan.status).toHaveLength(1)
    expect(plan.status[0]).toMatchObject({ enforcedBy: 'keyward', limit: undefined })
    expect(plan.status[0]?.note).toContain('"or-key" is not matched to a openrouter key')
  })

  it('only watches a matched key whose limit was not read', () => {
    const { plan } = openRouterPlan(45, undefined)

    expect(plan.writes).toEqual([])
    expect(plan.status[0]).toMatchObject({
      enforcedBy: 'keyward',
      limit: undefined,
      note: 'limit not read',
    })
  })

  it('leaves keys without cap_usd_month out of the plan and the status', () => {
    const inventory = inventoryOf({ free: keyEntry('openrouter') })
    const matches = new Map([['free', providerKey('openrouter', 'or_hash_1')]])
    const providers = new Map<string, ProviderLimits>([
      ['openrouter', { control: OPENROUTER, limits: [keyLimit('or_hash_1', null)] }],
    ])

    expect(planCaps(inventory, matches, providers)).toEqual({
      writes: [],
      belowBudget: [],
      status: [],
    })
  })
})

describe('planCaps: project limits (OpenAI)', () => {
  const twoKeys = inventoryOf({
    'a-openai': keyEntry('openai', { cap_usd_month: 30 }),
    'b-openai': keyEntry('openai', { cap_usd_month: 15 }),
    'c-openai': keyEntry('openai'), // uncapped: adds nothing to the project's limit
  })
  const matches = new Map([
    ['a-openai', providerKey('openai', 'key_a', 'proj_1')],
    ['b-openai', providerKey('openai', 'key_b', 'proj_1')],
    ['c-openai', providerKey('openai', 'key_c', 'proj_1')],
  ])
  const read = (limits: ProviderLimit[] | undefined) =>
    new Map<string, ProviderLimits>([['openai', { control: OPENAI, limits }]])

  it('plans one write for a project holding two capped keys, with the sum of their caps', () => {
    const plan = planCaps(twoKeys, matches, read([projectLimit('proj_1', 20)]))

    expect(plan.writes).toEqual([
      {
        provider: 'openai',
        scope: 'project',
        target: 'proj_1',
        keys: ['a-openai', 'b-openai'],
        current: 20,
        currentReset: 'monthly',
        wanted: 45,
        why: 'differs',
      },
    ])
    expect(plan.status.map((s) => [s.key, s.enforcedBy, s.limit, s.note])).toEqual([
      ['a-openai', 'keyward', 20, 'project proj_1 limit covers a-openai, b-openai'],
      ['b-openai', 'keyward', 20, 'project proj_1 limit covers a-openai, b-openai'],
    ])
  })

  it('writes nothing when the project limit already is the sum', () => {
    const plan = planCaps(twoKeys, matches, read([projectLimit('proj_1', 45)]))

    expect(plan.writes).toEqual([])
    expect(plan.status.map((s) => s.enforcedBy)).toEqual(['provider', 'provider'])
  })

  it('sums caps to the cent, without floating-point residue', () => {
    const inventory = inventoryOf({
      'a-openai': keyEntry('openai', { cap_usd_month: 0.1 }),
      'b-openai': keyEntry('openai', { cap_usd_month: 0.2 }),
    })

    const equal = planCaps(inventory, matches, read([projectLimit('proj_1', 0.3)]))
    const missing = planCaps(inventory, matches, read([projectLimit('proj_1', null)]))

    expect(equal.writes).toEqual([])
    expect(missing.writes[0]?.wanted).toBe(0.3)
  })

  it('plans one write per project', () => {
    const split = new Map([
      ['a-openai', providerKey('openai', 'key_a', 'proj_1')],
      ['b-openai', providerKey('openai', 'key_b', 'proj_2')],
    ])

    const plan = planCaps(
      twoKeys,
      split,
      read([projectLimit('proj_1', null), projectLimit('proj_2', null)]),
    )

    expect(plan.writes.map((w) => [w.target, w.keys, w.wanted])).toEqual([
      ['proj_1', ['a-openai'], 30],
      ['proj_2', ['b-openai'], 15],
    ])
  })

  it('only watches the keys when the project limits could not be read', () => {
    const plan = planCaps(twoKeys, matches, read(undefined))

    expect(plan.writes).toEqual([])
    expect(plan.status).toEqual([
      expect.objectContaining({
        key: 'a-openai',
        enforcedBy: 'keyward',
        limit: undefined,
        note: 'limit not read',
      }),
      expect.objectContaining({
        key: 'b-openai',
        enforcedBy: 'keyward',
        limit: undefined,
        note: 'limit not read',
      }),
    ])
  })
})

describe('planCaps: providers without a limit API (Anthropic)', () => {
  it("writes nothing and gives the control's note as the reason it is only watched", () => {
    const inventory = inventoryOf({
      'blog-anthropic': keyEntry('anthropic', { cap_usd_month: 20 }),
    })
    const matches = new Map([['blog-anthropic', providerKey('anthropic', 'apikey_1', 'wrk_1')]])
    const providers = new Map<string, ProviderLimits>([
      ['anthropic', { control: ANTHROPIC, limits: [] }],
    ])

    const plan = planCaps(inventory, matches, providers)

    expect(plan.writes).toEqual([])
    expect(plan.status).toEqual([
      {
        key: 'blog-anthropic',
        provider: 'anthropic',
        cap: 20,
        budget: undefined,
        enforcedBy: 'keyward',
        limit: undefined,
        note: ANTHROPIC.note,
      },
    ])
  })

  it('says so when the provider was not read at all this run', () => {
    const inventory = inventoryOf({ 'or-key': keyEntry('openrouter', { cap_usd_month: 20 }) })

    const plan = planCaps(inventory, new Map(), new Map())

    expect(plan.status[0]?.note).toBe('openrouter was not read this run')
  })
})

describe('planCaps: caps below budget', () => {
  it('lists a key whose cap is below its own budget', () => {
    const { plan } = openRouterPlan(20, keyLimit('or_hash_1', 20), 30)

    expect(plan.belowBudget).toEqual([{ key: 'or-key', cap: 20, budget: 30 }])
  })

  it('does not list a cap equal to or above the budget', () => {
    expect(openRouterPlan(30, keyLimit('or_hash_1', 30), 30).plan.belowBudget).toEqual([])
    expect(openRouterPlan(45, keyLimit('or_hash_1', 45), 30).plan.belowBudget).toEqual([])
  })

  it('lists it even for a provider that cannot enforce the cap', () => {
    const inventory = inventoryOf({
      'blog-anthropic': keyEntry('anthropic', { cap_usd_month: 10, budget_usd_month: 25 }),
    })
    const providers = new Map<string, ProviderLimits>([
      ['anthropic', { control: ANTHROPIC, limits: [] }],
    ])

    const plan = planCaps(inventory, new Map(), providers)

    expect(plan.belowBudget).toEqual([{ key: 'blog-anthropic', cap: 10, budget: 25 }])
  })
})

describe('capFindings', () => {
  const only = (plan: CapPlan): CapWrite => {
    expect(plan.writes).toHaveLength(1)
    return plan.writes[0] as CapWrite
  }

  it('in report mode says nothing was written and names `defaults.caps: enforce`', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 30))

    const findings = capFindings(inventory, plan, new Map(), 'report')

    expect(findings).toHaveLength(1)
    expect(findings[0]).toMatchObject({
      rule: 'cap-drift',
      severity: 'warning',
      kind: 'condition',
      key: 'or-key',
      workflow: 'blog',
      owner: '@maria',
      provider: 'openrouter',
    })
    expect(findings[0]?.message).toContain('nothing was written')
    expect(findings[0]?.message).toContain('`defaults.caps: enforce`')
    expect(findings[0]?.message).toContain('$45.00')
    expect(findings[0]?.message).toContain('is $30.00')
  })

  it('in an enforce dry run says it is a dry run', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', null))

    const [only] = capFindings(inventory, plan, new Map(), 'enforce')

    expect(only?.message).toContain('is not set')
    expect(only?.message).toContain('dry run: nothing was written')
    expect(only?.message).not.toContain('report')
  })

  it('names the reset period when the number matches but the limit is not monthly', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 45, 'daily'))

    const [only] = capFindings(inventory, plan, new Map(), 'report')

    expect(only?.message).toContain('is $45.00 but resets daily, not monthly')
  })

  it('makes a refused write an error that names the missing permission', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 30))
    const outcomes = new Map<CapWrite, CapOutcome>([
      [
        only(plan),
        {
          status: 'refused',
          reason: 'PATCH /keys/or_hash_1: 403 forbidden',
          permission: 'a provisioning key',
        },
      ],
    ])

    const findings = capFindings(inventory, plan, outcomes, 'enforce')

    expect(findings).toHaveLength(1)
    expect(findings[0]?.severity).toBe('error')
    expect(findings[0]?.message).toContain(
      'openrouter refused: PATCH /keys/or_hash_1: 403 forbidden',
    )
    expect(findings[0]?.message).toContain('Setting limits needs a provisioning key.')
    expect(findings[0]?.numbers.refused).toBe('PATCH /keys/or_hash_1: 403 forbidden')
  })

  it('has no finding for a write whose read-back equals the cap', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 30))

    const exact = new Map<CapWrite, CapOutcome>([[only(plan), { status: 'written', readBack: 45 }]])
    const rounded = new Map<CapWrite, CapOutcome>([
      [only(plan), { status: 'written', readBack: 45.004 }],
    ])

    expect(capFindings(inventory, plan, exact, 'enforce')).toEqual([])
    expect(capFindings(inventory, plan, rounded, 'enforce')).toEqual([])
  })

  it('keeps a finding when the read-back is not what was written', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 30))
    const outcomes = new Map<CapWrite, CapOutcome>([
      [only(plan), { status: 'written', readBack: 40 }],
    ])
    const unset = new Map<CapWrite, CapOutcome>([
      [only(plan), { status: 'written', readBack: null }],
    ])

    const [differs] = capFindings(inventory, plan, outcomes, 'enforce')
    const [none] = capFindings(inventory, plan, unset, 'enforce')

    expect(differs?.severity).toBe('warning')
    expect(differs?.message).toContain('keyward set it to $45.00 but openrouter now reports $40.00')
    expect(none?.message).toContain('now reports no limit')
  })

  it('keeps the same fingerprint across runs with different numbers, so the issue is updated', () => {
    const first = openRouterPlan(45, keyLimit('or_hash_1', 30))
    const later = openRouterPlan(60, keyLimit('or_hash_1', null, null))
    const otherKey = openRouterPlan(45, keyLimit('or_hash_2', 30))
    const otherMatches = new Map([['or-key', providerKey('openrouter', 'or_hash_2')]])
    const otherPlan = planCaps(
      otherKey.inventory,
      otherMatches,
      new Map([['openrouter', { control: OPENROUTER, limits: [keyLimit('or_hash_2', 30)] }]]),
    )

    const [a] = capFindings(first.inventory, first.plan, new Map(), 'report')
    const [b] = capFindings(later.inventory, later.plan, new Map(), 'enforce')
    const [c] = capFindings(otherKey.inventory, otherPlan, new Map(), 'report')

    expect(a?.message).not.toBe(b?.message)
    expect(a?.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(b?.fingerprint).toBe(a?.fingerprint)
    expect(c?.fingerprint).not.toBe(a?.fingerprint)
  })

  it('gives a project write one finding that names the project and every key it covers', () => {
    const inventory = inventoryOf({
      'a-openai': keyEntry('openai', { cap_usd_month: 30 }),
      'b-openai': keyEntry('openai', { cap_usd_month: 15 }),
    })
    const matches = new Map([
      ['a-openai', providerKey('openai', 'key_a', 'proj_1')],
      ['b-openai', providerKey('openai', 'key_b', 'proj_1')],
    ])
    const plan = planCaps(
      inventory,
      matches,
      new Map([['openai', { control: OPENAI, limits: [projectLimit('proj_1', 20)] }]]),
    )

    const findings = capFindings(inventory, plan, new Map(), 'report')

    expect(findings).toHaveLength(1)
    expect(findings[0]?.key).toBeUndefined()
    expect(findings[0]?.title).toBe('Spending cap out of step: openai project proj_1')
    expect(findings[0]?.message).toContain('project proj_1 (keys a-openai, b-openai)')
    expect(findings[0]?.numbers).toMatchObject({ cap_usd_month: 45, provider_limit_usd: 20 })
  })

  it('gives a cap below budget its own finding, with a fingerprint of its own that stays stable', () => {
    const first = openRouterPlan(20, keyLimit('or_hash_1', 30), 30)
    const later = openRouterPlan(10, keyLimit('or_hash_1', 5), 50)

    const findingsA = capFindings(first.inventory, first.plan, new Map(), 'report')
    const findingsB = capFindings(later.inventory, later.plan, new Map(), 'report')

    expect(findingsA).toHaveLength(2)
    const [drift, below] = findingsA
    expect(below?.title).toBe('Cap below budget: or-key (Label of openrouter)')
    expect(below?.message).toContain('cap_usd_month $20.00, below its budget_usd_month $30.00')
    expect(below?.numbers).toEqual({ cap_usd_month: 20, budget_usd_month: 30 })
    expect(below?.fingerprint).not.toBe(drift?.fingerprint)
    expect(findingsB[1]?.fingerprint).toBe(below?.fingerprint)
    expect(findingsB[0]?.fingerprint).toBe(drift?.fingerprint)
  })

  it('has no finding when every limit matches and no cap is below its budget', () => {
    const { inventory, plan } = openRouterPlan(45, keyLimit('or_hash_1', 45), 30)

    expect(capFindings(inventory, plan, new Map(), 'report')).toEqual([])
  })
})

import type { DetectorContext } from '../../src/analysis/detectors/context.js'
import type { Inventory } from '../../src/inventory/types.js'
import type { ProviderKey, UsageRecord } from '../../src/records.js'

/** A one-key inventory (key `k`, workflow `w`, provider `openai`) with overrides. */
export function inventoryWith(
  overrides: {
    key?: Partial<Inventory['keys'][string]>
    workflow?: Partial<Inventory['workflows'][string]>
    defaults?: Inventory['defaults']
  } = {},
): Inventory {
  return {
    version: 1,
    ...(overrides.defaults ? { defaults: overrides.defaults } : {}),
    providers: { openai: { admin_key: 'keys/admin/openai.sops.yaml' } },
    workflows: { w: { label: 'Workflow', owner: '@owner', ...overrides.workflow } },
    keys: {
      k: {
        label: 'Key K',
        workflow: 'w',
        provider: 'openai',
        secret: 'keys/k.sops.yaml',
        created: '2026-01-01',
        provider_key_id: 'key_k',
        ...overrides.key,
      },
    },
  }
}

export function providerKey(overrides: Partial<ProviderKey> = {}): ProviderKey {
  return {
    provider: 'openai',
    providerKeyId: 'key_k',
    hint: 'sk-…abcd',
    name: 'k',
    created: '2026-01-01T00:00:00Z',
    lastUsed: undefined,
    status: 'active',
    project: undefined,
    owner: undefined,
    ...overrides,
  }
}

/** An hourly usage record of key_k starting at `start`. */
export function usage(start: string, overrides: Partial<UsageRecord> = {}): UsageRecord {
  const end = new Date(Date.parse(start) + 3_600_000).toISOString()
  return {
    provider: 'openai',
    providerKeyId: 'key_k',
    start,
    end,
    model: 'gpt-4o-mini',
    operation: 'completions',
    requests: 1,
    inputTokens: 100,
    outputTokens: 50,
    cachedTokens: 0,
    costUsd: 0.01,
    costSource: 'reported',
    ...overrides,
  }
}

/** One record per day at 12:00 UTC for `days` days ending the day before `end`, costing `cost(i)`. */
export function dailySeries(end: string, days: number, cost: (i: number) => number): UsageRecord[] {
  const endMs = Date.parse(`${end}T12:00:00Z`)
  return Array.from({ length: days }, (_, i) =>
    usage(new Date(endMs - (days - i) * 86_400_000).toISOString(), { costUsd: cost(i) }),
  )
}

export function context(
  overrides: Partial<Omit<DetectorContext, 'now'>> & { inventory: Inventory; now: string },
): DetectorContext {
  const { now, ...rest } = overrides
  return {
    providerKeys: new Map([['openai', [providerKey()]]]),
    matches: new Map([['k', providerKey()]]),
    adminProviderKeyIds: new Set(),
    usage: [],
    events: [],
    windowStart: new Date(Date.parse(now) - 86_400_000),
    failedRuns: new Map(),
    secretFingerprints: new Map(),
    tampered: [],
    leaks: [],
    ...rest,
    now: new Date(now),
  }
}

import { afterEach, describe, expect, it } from '@jest/globals'
import { createOpenRouterProvider } from '../../../src/adapters/providers/openrouter.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import {
  startOpenRouterFake,
  type OpenRouterFakeData,
  type OpenRouterFakeKey,
} from '../../../src/demo/fake-openrouter.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
import {
  capturingLog,
  DAY,
  dump,
  fakeAdminKey,
  NOW,
  NOW_S,
  recordingSleep,
  testClient,
} from './provider-helpers.js'

const ADMIN = fakeAdminKey('sk-or-v1', 'openrouter')
const hash = (n: number) => n.toString(16).padStart(64, '0')
const dayIso = (offset: number) =>
  new Date((NOW_S - (NOW_S % DAY) + offset * DAY) * 1000).toISOString().slice(0, 10)

function key(n: number, overrides: Partial<OpenRouterFakeKey> = {}): OpenRouterFakeKey {
  return {
    hash: hash(n),
    name: `key ${n}`,
    label: `sk-or-v1-${String(n).padStart(3, '0')}...${String(n).padStart(4, '0')}`,
    disabled: false,
    limit: 20,
    limit_reset: 'monthly',
    created_at: new Date((NOW_S - n * 60) * 1000).toISOString(),
    updated_at: null,
    creator_user_id: 'user_1',
    workspace_id: 'ws-1',
    ...overrides,
  }
}

function dataset(overrides: Partial<OpenRouterFakeData> = {}): OpenRouterFakeData {
  return {
    now: NOW_S,
    keys: [
      key(1),
      key(2, { disabled: true, limit: null }),
      key(3, { name: 'twin' }),
      key(4, { name: 'twin' }),
    ],
    activity: [
      {
        date: dayIso(-2),
        key_hash: hash(1),
        model: 'openai/gpt-4o-mini',
        provider_name: 'OpenAI',
        usage: 0.5,
        requests: 10,
        prompt_tokens: 1000,
        completion_tokens: 300,
      },
      {
        date: dayIso(-2),
        key_hash: hash(1),
        model: 'openai/gpt-4o-mini',
        provider_name: 'Azure',
        usage: 0.25,
        requests: 5,
        prompt_tokens: 500,
        completion_tokens: 100,
      },
      {
        date: dayIso(-1),
        key_hash: hash(3),
        model: 'anthropic/claude-haiku-4.5',
        provider_name: 'Anthropic',
        usage: 1,
        requests: 1,
        prompt_tokens: 1,
        completion_tokens: 1,
      },
      {
        date: dayIso(0),
        key_hash: hash(1),
        model: 'openai/gpt-4o-mini',
        provider_name: 'OpenAI',
        usage: 0.125,
        requests: 1,
        prompt_tokens: 10,
        completion_tokens: 10,
      },
    ],
    ...overrides,
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup(data: OpenRouterFakeData = dataset()) {
  fake = await startOpenRouterFake(data, { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('openrouter', sleep)
  log = capturingLog()
  return createOpenRouterProvider({
    id: 'openrouter',
    adminKey: ADMIN,
    baseUrl: `${fake.origin}/api/v1`,
    http,
    log,
    now: () => NOW,
  })
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

const since = new Date((NOW_S - 7 * DAY) * 1000)

describe('OpenRouter adapter against the loopback fake', () => {
  it('lists keys (disabled included) with label hint, spend limit and its reset', async () => {
    const provider = await setup()

    const result = await provider.listKeys()

    expect(result.data).toHaveLength(4)
    expect(result.data.find((k) => k.providerKeyId === hash(1))).toEqual({
      provider: 'openrouter',
      providerKeyId: hash(1),
      hint: 'sk-or-v1-001...0001',
      name: 'key 1',
      created: new Date((NOW_S - 60) * 1000).toISOString(),
      lastUsed: undefined,
      status: 'active',
      project: 'ws-1',
      owner: 'user_1',
      limitUsd: 20,
      limitReset: 'monthly',
    })
    expect(result.data.find((k) => k.providerKeyId === hash(2))).toMatchObject({
      status: 'disabled',
      limitUsd: null,
      limitReset: 'monthly',
    })
    // One page of keys, then the empty page that ends the list.
    expect(fake.requests.map((r) => r.query.offset?.[0])).toEqual(['0', '100'])
  })

  it('reads daily usage and cost per key and model from analytics, mapping names to hashes', async () => {
    const provider = await setup()

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    expect(result.data).toContainEqual({
      provider: 'openrouter',
      providerKeyId: hash(1),
      start: `${dayIso(-2)}T00:00:00.000Z`,
      end: `${dayIso(-1)}T00:00:00.000Z`,
      model: 'openai/gpt-4o-mini',
      operation: 'activity',
      requests: 15,
      inputTokens: 1500,
      outputTokens: 400,
      cachedTokens: 0,
      costUsd: 0.75,
      costSource: 'reported',
    })
    // Two keys named "twin": reported, never guessed.
    expect(
      result.data.find((r) => r.model === 'anthropic/claude-haiku-4.5')?.providerKeyId,
    ).toBeUndefined()
    expect(result.notes.join()).toMatch(/1 key name\(s\) .* unattributed/)
    const queries = fake.requests.filter((r) => r.path === '/api/v1/analytics/query')
    expect(queries.length).toBeGreaterThan(0)
    expect(queries[0]?.body).toMatchObject({
      dimensions: ['api_key_id', 'model'],
      granularity: 'day',
    })
  })

  it('falls back to the key counters when analytics is not available, saying so once', async () => {
    const provider = await setup(dataset({ analytics: false }))

    const first = await provider.usage(since, NOW)
    const second = await provider.usage(since, NOW)

    expect(first.gaps).toEqual([])
    expect(first.notes).toEqual([expect.stringMatching(/analytics API not available \(HTTP 403\)/)])
    expect(first.data).toEqual([
      expect.objectContaining({
        providerKeyId: hash(1),
        operation: 'key-counter',
        costUsd: 0.125,
        start: `${dayIso(0)}T00:00:00.000Z`,
      }),
    ])
    expect(second.notes).toEqual([])
    expect(fake.requests.filter((r) => r.path === '/api/v1/analytics/query')).toHaveLength(1)
  })

  it('has no audit log and says so in its capabilities', async () => {
    const provider = await setup()

    const result = await provider.auditEvents(since, NOW)

    expect(result).toEqual({ data: [], gaps: [], notes: [], requests: 0 })
    expect(provider.capabilities().auditEvents).toBe('no')
  })

  it.each([
    ['rate-limit', { retryAfter: '1' }, [1000]],
    ['unavailable', { retryAfter: '2' }, [2000]],
    ['server-error', {}, [375]],
    ['reset', {}, [375]],
    ['slow', { delayMs: 2000 }, [375]],
  ] as const)('retries %s on /keys and succeeds', async (kind, extra, waits) => {
    const provider = await setup()
    fake.inject({ kind, path: '/api/v1/keys', ...extra })

    const result = await provider.listKeys()

    expect(result.gaps).toEqual([])
    expect(result.data).toHaveLength(4)
    expect(sleep.waits).toEqual(waits)
  })

  it.each([
    ['truncated', /malformed-json/],
    ['server-error', /HTTP 500 \(500\)/],
  ] as const)('records a persistent %s on analytics as a gap', async (kind, reason) => {
    const provider = await setup()
    fake.inject({ kind, path: '/api/v1/analytics/query', times: Infinity })

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([
      {
        provider: 'openrouter',
        endpoint: '/analytics/query',
        reason: expect.stringMatching(reason),
      },
    ])
  })

  it('records a wrong type in the key list as a gap with the field path', async () => {
    const provider = await setup()
    fake.inject({ kind: 'wrong-type', path: '/api/v1/keys' })

    const result = await provider.listKeys()

    expect(result.gaps).toEqual([
      {
        provider: 'openrouter',
        endpoint: '/keys',
        reason: expect.stringMatching(/schema: \/data\/0\/limit must be number,null/),
      },
    ])
    expect(result.data).toEqual([])
  })

  it('never retries a 403', async () => {
    const provider = await setup()
    fake.inject({ kind: 'forbidden', path: '/api/v1/keys', times: Infinity })

    const result = await provider.listKeys()

    expect(result.gaps[0]?.reason).toMatch(/HTTP 403/)
    expect(result.requests).toBe(1)
    expect(sleep.waits).toEqual([])
  })

  it('keeps the management key out of every output', async () => {
    const provider = await setup()
    fake.inject({ kind: 'server-error', times: Infinity })

    const out = [await provider.listKeys(), await provider.usage(since, NOW)]

    const text = dump(out, log.lines, fake.requests)
    expect(text).not.toContain(ADMIN)
  })
})

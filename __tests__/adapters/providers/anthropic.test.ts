import { afterEach, describe, expect, it } from '@jest/globals'
import { createAnthropicProvider } from '../../../src/adapters/providers/anthropic.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import { startAnthropicFake, type AnthropicFakeData } from '../../../src/demo/fake-anthropic.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
import {
  capturingLog,
  DAY,
  dump,
  fakeAdminKey,
  HOUR,
  NOW,
  NOW_S,
  recordingSleep,
  testClient,
} from './provider-helpers.js'

const ADMIN = fakeAdminKey('sk-ant-admin01', 'anthropic')
const DAY0 = NOW_S - (NOW_S % DAY) - 2 * DAY
const iso = (s: number) => new Date(s * 1000).toISOString()

function dataset(overrides: Partial<AnthropicFakeData> = {}): AnthropicFakeData {
  return {
    now: NOW_S,
    keys: [
      {
        id: 'apikey_blog',
        name: 'Blog',
        created_at: '2026-10-15T09:00:00.123456Z',
        created_by: { id: 'user_m', type: 'user' },
        partial_key_hint: 'sk-ant-api03-Abc...xyAA',
        status: 'active',
        workspace_id: 'wrkspc_1',
      },
      {
        id: 'apikey_old',
        name: 'Old',
        created_at: '2026-01-01T00:00:00Z',
        created_by: { id: 'user_m', type: 'user' },
        partial_key_hint: 'sk-ant-api03-Old...zzAA',
        status: 'archived',
        workspace_id: null,
      },
    ],
    usage: [
      {
        at: DAY0 + 10 * HOUR,
        api_key_id: 'apikey_blog',
        workspace_id: 'wrkspc_1',
        model: 'claude-sonnet-4-5-20250929',
        uncached_input_tokens: 1_000_000,
        cache_read_input_tokens: 1_000_000,
        cache_creation_5m: 0,
        cache_creation_1h: 0,
        output_tokens: 100_000,
      },
      {
        at: DAY0 + 10 * HOUR + 5,
        api_key_id: null,
        workspace_id: null,
        model: 'claude-haiku-4-5',
        uncached_input_tokens: 10,
        cache_read_input_tokens: 0,
        cache_creation_5m: 0,
        cache_creation_1h: 0,
        output_tokens: 10,
      },
      {
        at: DAY0 + 11 * HOUR,
        api_key_id: 'apikey_blog',
        workspace_id: 'wrkspc_1',
        model: 'mystery-model',
        uncached_input_tokens: 5,
        cache_read_input_tokens: 0,
        cache_creation_5m: 0,
        cache_creation_1h: 0,
        output_tokens: 5,
      },
    ],
    costs: [
      {
        at: DAY0 + 10 * HOUR,
        workspace_id: 'wrkspc_1',
        description: 'Claude Sonnet 4.5 Usage - Input Tokens',
        cents: 12345,
      },
    ],
    activities: [
      {
        id: 'activity_1',
        created_at: iso(DAY0 + 9 * HOUR),
        organization_id: 'org_1',
        type: 'api_key_created',
        actor: {
          type: 'user_actor',
          email_address: 'maria@example.com',
          user_id: 'user_m',
          ip_address: '203.0.113.5',
          user_agent: 'Mozilla/5.0',
        },
      },
      {
        id: 'activity_2',
        created_at: iso(DAY0 + 12 * HOUR),
        organization_id: 'org_1',
        type: 'file_uploaded',
        actor: {
          type: 'api_actor',
          api_key_id: 'apikey_blog',
          ip_address: '192.0.2.44',
          user_agent: 'python-httpx',
        },
      },
    ],
    compliance: 'enabled',
    ...overrides,
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup(data: AnthropicFakeData = dataset()) {
  fake = await startAnthropicFake(data, { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('anthropic', sleep)
  log = capturingLog()
  return createAnthropicProvider({
    id: 'anthropic',
    adminKey: ADMIN,
    baseUrl: fake.origin,
    http,
    log,
    now: () => NOW,
  })
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

const since = new Date((DAY0 - DAY) * 1000)

describe('Anthropic adapter against the loopback fake', () => {
  it('lists keys with partial hint, workspace, creator and status', async () => {
    const provider = await setup()

    const result = await provider.listKeys()

    expect(result.data).toEqual([
      {
        provider: 'anthropic',
        providerKeyId: 'apikey_blog',
        hint: 'sk-ant-api03-Abc...xyAA',
        name: 'Blog',
        created: '2026-10-15T09:00:00.123Z',
        lastUsed: undefined,
        status: 'active',
        project: 'wrkspc_1',
        owner: 'user_m',
      },
      expect.objectContaining({
        providerKeyId: 'apikey_old',
        status: 'archived',
        project: undefined,
      }),
    ])
    expect(fake.requests[0]?.query).toEqual({ limit: ['1000'] })
    expect(fake.requests.every((r) => r.authPresent)).toBe(true)
  })

  it('reads hourly usage by key and model, estimating cost from the price table', async () => {
    const provider = await setup()

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    const blog = result.data.find((r) => r.model === 'claude-sonnet-4-5-20250929')
    expect(blog).toEqual({
      provider: 'anthropic',
      providerKeyId: 'apikey_blog',
      start: iso(DAY0 + 10 * HOUR),
      end: iso(DAY0 + 11 * HOUR),
      model: 'claude-sonnet-4-5-20250929',
      operation: 'messages',
      requests: undefined,
      inputTokens: 2_000_000,
      outputTokens: 100_000,
      cachedTokens: 1_000_000,
      // 1M × $3 + 1M cache reads × $0.30 + 100k × $15, per million.
      costUsd: 3 + 0.3 + 1.5,
      costSource: 'estimated',
      project: undefined,
    })
    // Console usage has no key: kept, unattributed.
    expect(result.data.find((r) => r.model === 'claude-haiku-4-5')?.providerKeyId).toBeUndefined()
    // Unknown model: no invented price.
    expect(result.data.find((r) => r.model === 'mystery-model')).toMatchObject({
      costUsd: undefined,
      costSource: 'none',
    })
    // Reported cost is per workspace, in cents.
    expect(result.data.filter((r) => r.operation === 'cost')).toEqual([
      expect.objectContaining({
        providerKeyId: undefined,
        costUsd: 123.45,
        costSource: 'reported',
        project: 'wrkspc_1',
        start: iso(DAY0),
      }),
    ])
    const usageCall = fake.requests.find((r) => r.path.endsWith('/messages'))
    expect(usageCall?.query['group_by[]']).toEqual(['api_key_id', 'model'])
    expect(usageCall?.query.bucket_width).toEqual(['1h'])
  })

  it('reads compliance activities with the IP of API traffic', async () => {
    const provider = await setup()

    const result = await provider.auditEvents(since, NOW)

    expect(result.data.map((e) => e.eventId)).toEqual(['activity_2', 'activity_1'])
    expect(result.data[0]).toEqual({
      provider: 'anthropic',
      eventId: 'activity_2',
      type: 'file_uploaded',
      at: iso(DAY0 + 12 * HOUR),
      actor: 'apikey_blog',
      ip: '192.0.2.44',
      userAgent: 'python-httpx',
      providerKeyId: 'apikey_blog',
    })
  })

  it.each(['forbidden', 'not-found'] as const)(
    'records a %s compliance feed as "not available" once, not as a gap',
    async (mode) => {
      const provider = await setup(dataset({ compliance: mode }))

      const first = await provider.auditEvents(since, NOW)
      const second = await provider.auditEvents(since, NOW)

      expect(first.gaps).toEqual([])
      expect(first.data).toEqual([])
      expect(first.notes).toEqual([expect.stringMatching(/not available .*HTTP 40[34]/)])
      expect(second.notes).toEqual([])
      expect(second.requests).toBe(0)
      expect(fake.requests.filter((r) => r.path === '/v1/compliance/activities')).toHaveLength(1)
    },
  )

  it.each([
    ['overloaded', {}, [375]],
    ['rate-limit', { retryAfter: 'Fri, 27 Nov 2026 12:00:03 GMT' }, [3000]],
    ['server-error', {}, [375]],
    ['reset', {}, [375]],
    ['slow', { delayMs: 2000 }, [375]],
  ] as const)('retries %s and succeeds', async (kind, extra, waits) => {
    const provider = await setup()
    fake.inject({ kind, path: '/v1/organizations/usage_report/messages', ...extra })

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    expect(sleep.waits).toEqual(waits)
    expect(result.data.some((r) => r.providerKeyId === 'apikey_blog')).toBe(true)
  })

  it.each([
    ['overloaded', /HTTP 529 \(overloaded_error\)/],
    ['truncated', /malformed-json/],
    ['wrong-type', /\/data\/\d+\/results\/0\/uncached_input_tokens must be integer/],
    ['forbidden', /HTTP 403 \(permission_error\)/],
  ] as const)(
    'records a persistent %s as a gap and keeps the cost report',
    async (kind, reason) => {
      const provider = await setup()
      fake.inject({ kind, path: '/v1/organizations/usage_report/messages', times: Infinity })

      const result = await provider.usage(since, NOW)

      expect(result.gaps).toEqual([
        {
          provider: 'anthropic',
          endpoint: '/v1/organizations/usage_report/messages',
          reason: expect.stringMatching(reason),
        },
      ])
      expect(result.data.filter((r) => r.operation === 'cost')).toHaveLength(1)
    },
  )

  it('follows next_page through an empty page', async () => {
    const provider = await setup()
    fake.inject({ kind: 'empty-page', path: '/v1/organizations/usage_report/messages' })

    const result = await provider.usage(new Date((NOW_S - 20 * DAY) * 1000), NOW)

    expect(result.gaps).toEqual([])
    // 20 days = 480 hours = 3 pages of 168, plus the empty one.
    expect(fake.requests.filter((r) => r.path.endsWith('/messages'))).toHaveLength(4)
    expect(result.data.filter((r) => r.operation === 'messages')).toHaveLength(3)
  })

  it('keeps the admin key out of every output, even on failures', async () => {
    const provider = await setup()
    fake.inject({ kind: 'server-error', times: Infinity })

    const out = [
      await provider.listKeys(),
      await provider.usage(since, NOW),
      await provider.auditEvents(since, NOW),
    ]

    expect(out.every((r) => r.gaps.length > 0)).toBe(true)
    const text = dump(out, log.lines, fake.requests)
    expect(text).not.toContain(ADMIN)
    expect(text).not.toContain(ADMIN.slice(-16))
  })
})

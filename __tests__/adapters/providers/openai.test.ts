import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createOpenAiProvider } from '../../../src/adapters/providers/openai.js'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import { startOpenAiFake, type OpenAiFakeData } from '../../../src/demo/fake-openai.js'
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

const ADMIN = fakeAdminKey('sk-admin', 'openai')
const DAY0 = NOW_S - (NOW_S % DAY) - 2 * DAY // two whole days back, UTC midnight

function dataset(overrides: Partial<OpenAiFakeData> = {}): OpenAiFakeData {
  return {
    now: NOW_S,
    projects: [
      { id: 'proj_a', name: 'A', created_at: DAY0 - 90 * DAY, status: 'active' },
      { id: 'proj_b', name: 'B', created_at: DAY0 - 90 * DAY, status: 'active' },
    ],
    keys: [
      {
        project_id: 'proj_a',
        id: 'key_one',
        name: 'one',
        redacted_value: 'sk-pro...a1b',
        created_at: DAY0 - 30 * DAY,
        last_used_at: DAY0 + HOUR,
        owner_project_access: 'active',
        owner: { type: 'user', user: { id: 'user_1', email: 'jeff@example.com' } },
      },
      {
        project_id: 'proj_b',
        id: 'key_two',
        name: 'two',
        redacted_value: 'sk-svc...c2d',
        created_at: DAY0 - 10 * DAY,
        last_used_at: null,
        owner_project_access: 'inactive',
        owner: { type: 'service_account', service_account: { id: 'svc_1', name: 'bot' } },
      },
    ],
    usage: [
      {
        type: 'completions',
        at: DAY0 + 3 * HOUR + 5,
        api_key_id: 'key_one',
        project_id: 'proj_a',
        model: 'gpt-4o-mini',
        input_tokens: 1000,
        output_tokens: 200,
        input_cached_tokens: 100,
        num_model_requests: 3,
      },
      {
        type: 'completions',
        at: DAY0 + 3 * HOUR + 900,
        api_key_id: 'key_one',
        project_id: 'proj_a',
        model: 'gpt-4o-mini',
        input_tokens: 500,
        output_tokens: 50,
        input_cached_tokens: 0,
        num_model_requests: 1,
      },
      {
        type: 'completions',
        at: DAY0 + 3 * HOUR + 60,
        api_key_id: 'key_one',
        project_id: 'proj_a',
        model: 'gpt-4o',
        input_tokens: 10,
        output_tokens: 10,
        input_cached_tokens: 0,
        num_model_requests: 1,
      },
      {
        type: 'embeddings',
        at: DAY0 + 30 * HOUR,
        api_key_id: 'key_two',
        project_id: 'proj_b',
        model: 'text-embedding-3-small',
        input_tokens: 4000,
        output_tokens: 0,
        input_cached_tokens: 0,
        num_model_requests: 2,
      },
    ],
    costs: [
      {
        at: DAY0 + 3 * HOUR,
        api_key_id: 'key_one',
        project_id: 'proj_a',
        line_item: 'gpt-4o-mini, input',
        usd: 0.25,
      },
      {
        at: DAY0 + 4 * HOUR,
        api_key_id: 'key_one',
        project_id: 'proj_a',
        line_item: 'gpt-4o-mini, output',
        usd: 0.5,
      },
      {
        at: DAY0 + 30 * HOUR,
        api_key_id: 'key_two',
        project_id: 'proj_b',
        line_item: 'embeddings',
        usd: 0.01,
      },
    ],
    auditLogs: [
      {
        id: 'audit_log-1',
        type: 'api_key.created',
        effective_at: DAY0 + 2 * HOUR,
        actor: {
          type: 'session',
          session: {
            user: { id: 'user_1', email: 'jeff@example.com' },
            ip_address: '198.51.100.7',
            user_agent: 'Mozilla/5.0',
          },
        },
        'api_key.created': { id: 'key_two', data: { scopes: [] } },
      },
      {
        id: 'audit_log-2',
        type: 'login.succeeded',
        effective_at: DAY0 + 5 * HOUR,
        actor: {
          type: 'session',
          session: { user: { id: 'user_1', email: 'jeff@example.com' }, ip_address: '203.0.113.9' },
        },
      },
    ],
    ...overrides,
  }
}

let fake: FakeServer
let http: HttpClient
let sleep: ReturnType<typeof recordingSleep>
let log: ReturnType<typeof capturingLog>

async function setup(data: OpenAiFakeData = dataset(), maxPages?: number) {
  fake = await startOpenAiFake(data, { adminKey: ADMIN })
  sleep = recordingSleep()
  http = testClient('openai', sleep)
  log = capturingLog()
  return createOpenAiProvider({
    id: 'openai',
    adminKey: ADMIN,
    baseUrl: `${fake.origin}/v1`,
    http,
    log,
    now: () => NOW,
    maxPages,
  })
}

afterEach(async () => {
  await http.close()
  await fake.stop()
})

const since = new Date((DAY0 - DAY) * 1000)

describe('OpenAI adapter against the loopback fake', () => {
  let provider: Awaited<ReturnType<typeof setup>>
  beforeEach(async () => {
    provider = await setup()
  })

  it('lists every project key with hint, dates, owner, owner type and status', async () => {
    const result = await provider.listKeys()

    expect(result.gaps).toEqual([])
    expect(result.data).toEqual([
      {
        provider: 'openai',
        providerKeyId: 'key_one',
        hint: 'sk-pro...a1b',
        name: 'one',
        created: new Date((DAY0 - 30 * DAY) * 1000).toISOString(),
        lastUsed: new Date((DAY0 + HOUR) * 1000).toISOString(),
        status: 'active',
        project: 'proj_a',
        owner: 'jeff@example.com',
        ownerType: 'user',
      },
      expect.objectContaining({
        providerKeyId: 'key_two',
        status: 'inactive',
        owner: 'svc_1',
        ownerType: 'service_account',
        lastUsed: undefined,
      }),
    ])
    expect(result.requests).toBe(3)
    const keyCalls = fake.requests.filter((r) => r.path.endsWith('/api_keys'))
    expect(keyCalls.every((r) => r.query.owner_project_access?.[0] === 'any')).toBe(true)
    expect(fake.requests.every((r) => r.authPresent)).toBe(true)
  })

  it('reads hourly usage grouped by key and model, and reported daily cost per key', async () => {
    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    const completions = result.data.filter((r) => r.operation === 'completions')
    expect(completions).toHaveLength(2)
    const mini = completions.find((r) => r.model === 'gpt-4o-mini')
    expect(mini).toEqual({
      provider: 'openai',
      providerKeyId: 'key_one',
      start: new Date((DAY0 + 3 * HOUR) * 1000).toISOString(),
      end: new Date((DAY0 + 4 * HOUR) * 1000).toISOString(),
      model: 'gpt-4o-mini',
      operation: 'completions',
      requests: 4,
      inputTokens: 1500,
      outputTokens: 250,
      cachedTokens: 100,
      costUsd: undefined,
      costSource: 'none',
      // Usage is grouped by key and model only; the key list says which project a key is in.
      project: undefined,
    })
    const costs = result.data.filter((r) => r.operation === 'cost')
    expect(costs.find((c) => c.providerKeyId === 'key_one')).toMatchObject({
      costUsd: 0.75,
      costSource: 'reported',
      start: new Date(DAY0 * 1000).toISOString(),
      inputTokens: 0,
    })
    expect(result.data.find((r) => r.operation === 'embeddings')).toMatchObject({
      providerKeyId: 'key_two',
      inputTokens: 4000,
      requests: 2,
    })
    // Grouped by key: never one request per key.
    const usageCalls = fake.requests.filter((r) => r.path.includes('/usage/'))
    expect(usageCalls.every((r) => r.query['group_by[]']?.join() === 'api_key_id,model')).toBe(true)
    expect(usageCalls.some((r) => 'api_key_ids[]' in r.query)).toBe(false)
  })

  it('estimates cost from tokens when costs cannot be grouped by key', async () => {
    await http.close()
    await fake.stop()
    provider = await setup(dataset({ costsByKey: false }))

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    expect(result.notes.join()).toMatch(/estimated from tokens/)
    const mini = result.data.find((r) => r.model === 'gpt-4o-mini')
    // 1400 uncached × 0.15 + 100 cached × 0.075 + 250 output × 0.6, per million.
    expect(mini?.costUsd).toBeCloseTo((1400 * 0.15 + 100 * 0.075 + 250 * 0.6) / 1e6, 9)
    expect(mini?.costSource).toBe('estimated')
    expect(result.data.some((r) => r.operation === 'cost')).toBe(false)
  })

  it('reads audit events with actor, IP and the key concerned', async () => {
    const result = await provider.auditEvents(since, NOW)

    expect(result.gaps).toEqual([])
    expect(result.data).toContainEqual({
      provider: 'openai',
      eventId: 'audit_log-1',
      type: 'api_key.created',
      at: new Date((DAY0 + 2 * HOUR) * 1000).toISOString(),
      actor: 'jeff@example.com',
      ip: '198.51.100.7',
      userAgent: 'Mozilla/5.0',
      providerKeyId: 'key_two',
    })
    expect(result.data).toHaveLength(2)
  })

  it('records "not available" once when audit logging is off', async () => {
    await http.close()
    await fake.stop()
    provider = await setup(dataset({ auditLogging: false }))

    const first = await provider.auditEvents(since, NOW)
    const second = await provider.auditEvents(since, NOW)

    expect(first.gaps).toEqual([])
    expect(first.notes).toEqual([expect.stringMatching(/not available \(HTTP 403\)/)])
    expect(second.notes).toEqual([])
    expect(second.requests).toBe(0)
  })

  it.each([
    ['rate-limit', { retryAfter: '2' }, [2000]],
    ['rate-limit', { retryAfterMs: '1500' }, [1500]],
    ['server-error', {}, [375]],
    ['reset', {}, [375]],
    ['slow', { delayMs: 2000 }, [375]],
  ] as const)('retries a %s and succeeds (%j)', async (kind, extra, waits) => {
    fake.inject({ kind, path: '/v1/organization/usage/completions', ...extra })

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([])
    expect(result.data.filter((r) => r.operation === 'completions')).toHaveLength(2)
    expect(sleep.waits).toEqual(waits)
  })

  it.each([
    ['server-error', 'http-status', /HTTP 500 \(server_error\).*after 3 attempts/],
    ['truncated', 'malformed-json', /not valid JSON/],
    ['wrong-type', 'schema', /\/data\/0\/start_time must be integer/],
    [
      'slow',
      'timeout',
      /timeout: no (response headers|complete response) within the (timeout|request deadline) after 3 attempts/,
    ],
  ] as const)(
    'turns a persistent %s into a gap naming the endpoint',
    async (kind, failure, reason) => {
      fake.inject({ kind, path: '/v1/organization/usage/embeddings', times: Infinity })

      const result = await provider.usage(since, NOW)

      expect(result.gaps).toEqual([
        {
          provider: 'openai',
          endpoint: '/organization/usage/embeddings',
          reason: expect.stringMatching(reason),
        },
      ])
      expect(result.gaps[0]?.reason).toContain(failure)
      // The other usage types and the costs still arrive.
      expect(result.data.filter((r) => r.operation === 'completions')).toHaveLength(2)
      expect(
        log.lines.some(
          (l) => l.startsWith('warning') && l.includes('/organization/usage/embeddings'),
        ),
      ).toBe(true)
    },
  )

  it('makes a Retry-After above the cap a gap instead of waiting', async () => {
    fake.inject({ kind: 'rate-limit', path: '/v1/organization/costs', retryAfter: '3600' })

    const result = await provider.usage(since, NOW)

    expect(result.gaps).toEqual([
      expect.objectContaining({
        endpoint: '/organization/costs',
        reason: expect.stringMatching(/retry-after-too-long/),
      }),
    ])
    expect(sleep.waits).toEqual([])
  })

  it('follows the page cursor through an empty page and across many pages', async () => {
    fake.inject({ kind: 'empty-page', path: '/v1/organization/usage/completions' })

    const result = await provider.usage(new Date((NOW_S - 30 * DAY) * 1000), NOW)

    expect(result.gaps).toEqual([])
    const pages = fake.requests.filter((r) => r.path === '/v1/organization/usage/completions')
    // 30 days = 720 hourly buckets = 5 pages of 168, plus the injected empty one.
    expect(pages).toHaveLength(6)
    expect(result.data.filter((r) => r.operation === 'completions')).toHaveLength(2)
  })

  it('stops at the page cap and records a gap', async () => {
    await http.close()
    await fake.stop()
    provider = await setup(dataset(), 2)

    const result = await provider.usage(new Date((NOW_S - 30 * DAY) * 1000), NOW)

    expect(result.gaps).toContainEqual(
      expect.objectContaining({
        endpoint: '/organization/usage/completions',
        reason: expect.stringMatching(/after 2 pages/),
      }),
    )
  })

  it('never lets the admin key reach a record, gap, note, log line or URL', async () => {
    fake.inject({ kind: 'server-error', times: Infinity, path: '/v1/organization/costs' })
    fake.inject({ kind: 'wrong-type', path: '/v1/organization/audit_logs' })

    const out = [
      await provider.listKeys(),
      await provider.usage(since, NOW),
      await provider.auditEvents(since, NOW),
    ]

    const text = dump(out, log.lines, fake.requests)
    expect(text).not.toContain(ADMIN)
    expect(text).not.toContain(ADMIN.slice(-20))
    expect(out[1]?.gaps.length).toBeGreaterThan(0)
  })
})

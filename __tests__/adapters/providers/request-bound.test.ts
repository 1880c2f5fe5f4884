import { afterEach, describe, expect, it } from '@jest/globals'
import type { HttpClient } from '../../../src/adapters/http/client.js'
import { createAnthropicProvider } from '../../../src/adapters/providers/anthropic.js'
import { createOpenAiProvider } from '../../../src/adapters/providers/openai.js'
import { createOpenRouterProvider } from '../../../src/adapters/providers/openrouter.js'
import { startAnthropicFake } from '../../../src/demo/fake-anthropic.js'
import {
  startOpenAiFake,
  type OpenAiFakeKey,
  type OpenAiFakeUsage,
} from '../../../src/demo/fake-openai.js'
import { startOpenRouterFake } from '../../../src/demo/fake-openrouter.js'
import type { FakeServer } from '../../../src/demo/fake-server.js'
import type { Provider } from '../../../src/ports/provider.js'
import {
  capturingLog,
  DAY,
  HOUR,
  NOW,
  NOW_S,
  recordingSleep,
  testClient,
} from './provider-helpers.js'

/**
 * Issue 4 "Efficiency": requests grow with pages of data, not with keys. A 500-key organization
 * with usage on every key costs the same report requests as a 5-key one; only key-list pages grow.
 */
const DAYS = 35
const since = new Date((NOW_S - DAYS * DAY) * 1000)
let servers: FakeServer[] = []
let clients: HttpClient[] = []

afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()))
  await Promise.all(servers.map((s) => s.stop()))
  servers = []
  clients = []
})

async function readAll(provider: Provider): Promise<number> {
  const results = [
    await provider.listKeys(),
    await provider.usage(since, NOW),
    await provider.auditEvents(since, NOW),
  ]
  for (const r of results) expect(r.gaps).toEqual([])
  return results.reduce((n, r) => n + r.requests, 0)
}

function common(id: string) {
  const http = testClient(id, recordingSleep())
  clients.push(http)
  return { id, adminKey: `admin-${id}`, http, log: capturingLog(), now: () => NOW }
}

async function openAi(keys: number): Promise<number> {
  const keyList: OpenAiFakeKey[] = []
  const usage: OpenAiFakeUsage[] = []
  for (let i = 0; i < keys; i++) {
    const id = `key_${i}`
    keyList.push({
      project_id: 'proj_1',
      id,
      name: id,
      redacted_value: 'sk-abc...def',
      created_at: NOW_S - 90 * DAY,
      last_used_at: null,
      owner_project_access: 'active',
      owner: { type: 'user', user: { id: 'u', email: 'u@example.com' } },
    })
    usage.push({
      type: 'completions',
      at: NOW_S - ((i % DAYS) + 1) * DAY + (i % 24) * HOUR,
      api_key_id: id,
      project_id: 'proj_1',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 1,
      input_cached_tokens: 0,
      num_model_requests: 1,
    })
  }
  const fake = await startOpenAiFake({
    now: NOW_S,
    projects: [{ id: 'proj_1', name: 'p', created_at: 0, status: 'active' }],
    keys: keyList,
    usage,
    costs: [],
    auditLogs: [],
  })
  servers.push(fake)
  const provider = createOpenAiProvider({ ...common('openai'), baseUrl: `${fake.origin}/v1` })
  const requests = await readAll(provider)
  const perKey = fake.requests.filter((r) =>
    Object.keys(r.query).some((q) => q.startsWith('api_key_ids')),
  )
  expect(perKey).toEqual([])
  return requests
}

async function anthropic(keys: number): Promise<number> {
  const fake = await startAnthropicFake({
    now: NOW_S,
    keys: Array.from({ length: keys }, (_, i) => ({
      id: `apikey_${i}`,
      name: `k${i}`,
      created_at: '2026-01-01T00:00:00Z',
      created_by: { id: 'u', type: 'user' as const },
      partial_key_hint: 'sk-ant-api03-abc...wxAA',
      status: 'active' as const,
      workspace_id: null,
    })),
    usage: Array.from({ length: keys }, (_, i) => ({
      at: NOW_S - ((i % DAYS) + 1) * DAY,
      api_key_id: `apikey_${i}`,
      workspace_id: null,
      model: 'claude-haiku-4-5',
      uncached_input_tokens: 10,
      cache_read_input_tokens: 0,
      cache_creation_5m: 0,
      cache_creation_1h: 0,
      output_tokens: 1,
    })),
    costs: [],
    activities: [],
    compliance: 'not-found',
  })
  servers.push(fake)
  return readAll(createAnthropicProvider({ ...common('anthropic'), baseUrl: fake.origin }))
}

async function openRouter(keys: number): Promise<number> {
  const hash = (i: number) => i.toString(16).padStart(64, '0')
  const fake = await startOpenRouterFake({
    now: NOW_S,
    keys: Array.from({ length: keys }, (_, i) => ({
      hash: hash(i),
      name: `k${i}`,
      label: 'sk-or-v1-abc...abcd',
      disabled: false,
      limit: null,
      limit_reset: null,
      created_at: new Date((NOW_S - i) * 1000).toISOString(),
      updated_at: null,
      creator_user_id: null,
      workspace_id: 'w',
    })),
    activity: Array.from({ length: keys }, (_, i) => ({
      date: new Date((NOW_S - ((i % DAYS) + 1) * DAY) * 1000).toISOString().slice(0, 10),
      key_hash: hash(i),
      model: 'm',
      provider_name: 'p',
      usage: 0.01,
      requests: 1,
      prompt_tokens: 1,
      completion_tokens: 1,
    })),
  })
  servers.push(fake)
  const requests = await readAll(
    createOpenRouterProvider({ ...common('openrouter'), baseUrl: `${fake.origin}/api/v1` }),
  )
  expect(fake.requests.filter((r) => r.path === '/api/v1/activity')).toEqual([])
  return requests
}

describe('requests per run grow with pages, not keys', () => {
  it('OpenAI: 500 keys cost only the extra key-list pages', async () => {
    const small = await openAi(5)
    const large = await openAi(500)

    // projects 1 + key pages 1 + costs 1 + 6 usage types × 5 pages (35 days of 1h, 168 per page) + audit 1
    expect(small).toBe(1 + 1 + 1 + 6 * 5 + 1)
    expect(large - small).toBe(4) // 500 keys = 5 pages of 100 instead of 1
  })

  it('Anthropic: 500 keys fit one key page; usage is 5 pages either way', async () => {
    const small = await anthropic(5)
    const large = await anthropic(500)

    // keys 1 + usage 5 + cost 2 (36 days / 31 per page) + compliance probe 1
    expect(small).toBe(1 + 5 + 2 + 1)
    expect(large).toBe(small)
  })

  it('OpenRouter: key pages of 100 plus one analytics query per week', async () => {
    const small = await openRouter(5)
    const large = await openRouter(500)

    // listKeys (pages + empty end) once, reused to map analytics names + 6 weekly queries
    expect(small).toBe(2 + 6)
    expect(large).toBe(6 + 6)
  })
})

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { MockAgent } from 'undici'
import {
  createHttpClient,
  describeFailure,
  type HttpClientOptions,
  safeUrl,
} from '../../../src/adapters/http/client.js'
import { paginate } from '../../../src/adapters/http/paginate.js'

const ORIGIN = 'https://api.example.test'
const NOW = Date.parse('2026-11-27T12:00:00Z')
const SECRET = ['sk', 'admin', 'Zq9'.repeat(12)].join('-')
const validate = new Ajv2020({ strict: true }).compile<{ items: Array<{ n: number }> }>({
  type: 'object',
  required: ['items'],
  properties: {
    items: {
      type: 'array',
      items: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
    },
  },
})

let agent: MockAgent
let waits: number[]

beforeEach(() => {
  agent = new MockAgent()
  agent.disableNetConnect()
  waits = []
})

afterEach(async () => {
  agent.assertNoPendingInterceptors()
  await agent.close()
})

function client(overrides: Partial<HttpClientOptions> = {}) {
  return createHttpClient({
    provider: 'example',
    dispatcher: agent,
    sleep: async (ms) => void waits.push(ms),
    random: () => 0,
    nowMs: () => NOW,
    ...overrides,
  })
}

const get = (http: ReturnType<typeof client>, path = '/v1/things') =>
  http.json({
    url: new URL(ORIGIN + path),
    endpoint: '/v1/things',
    headers: { authorization: `Bearer ${SECRET}` },
    validate,
  })

const ok = { items: [{ n: 1 }] }

describe('http client', () => {
  it('backs off exponentially with jitter on 5xx, then succeeds', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({ path: '/v1/things' }).reply(500, { error: { type: 'server_error' } })
    pool.intercept({ path: '/v1/things' }).reply(502, {})
    pool.intercept({ path: '/v1/things' }).reply(200, ok)
    const http = client({ baseDelayMs: 100, maxAttempts: 4 })

    const result = await get(http)

    expect(result).toEqual({ ok: true, value: ok, status: 200 })
    // random() = 0: half of 100, then half of 200.
    expect(waits).toEqual([50, 100])
    expect(http.requestCount()).toBe(3)
  })

  it('honours Retry-After in seconds and as an HTTP date, and retry-after-ms', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({ path: '/v1/things' }).reply(429, {}, { headers: { 'retry-after': '7' } })
    pool
      .intercept({ path: '/v1/things' })
      .reply(429, {}, { headers: { 'retry-after': 'Fri, 27 Nov 2026 12:00:02 GMT' } })
    pool.intercept({ path: '/v1/things' }).reply(429, {}, { headers: { 'retry-after-ms': '120' } })
    pool.intercept({ path: '/v1/things' }).reply(200, ok)

    const result = await get(client({ maxAttempts: 4 }))

    expect(result.ok).toBe(true)
    expect(waits).toEqual([7000, 2000, 120])
  })

  it('retries 409 and 529 only when told to (extraRetryStatuses covers non-5xx)', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({ path: '/v1/things' }).reply(409, {})
    pool
      .intercept({ path: '/v1/things' })
      .reply(529, { type: 'error', error: { type: 'overloaded_error' } })
    pool.intercept({ path: '/v1/things' }).reply(200, ok)

    expect((await get(client())).ok).toBe(true)
    expect(waits).toHaveLength(2)
  })

  it.each([401, 402, 403, 404])(
    'never retries %s, and reports the provider error type',
    async (status) => {
      agent
        .get(ORIGIN)
        .intercept({ path: '/v1/things' })
        .reply(status, { error: { type: 'permission_error', message: `bad key ${SECRET}` } })

      const result = await get(client())

      expect(result.ok).toBe(false)
      if (result.ok) return
      expect(result.failure).toMatchObject({
        kind: 'http-status',
        status,
        errorType: 'permission_error',
        attempts: 1,
        method: 'GET',
      })
      expect(waits).toEqual([])
      expect(JSON.stringify(result) + describeFailure(result.failure)).not.toContain(SECRET)
    },
  )

  it('respects x-should-retry: false on a 500', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/v1/things' })
      .reply(500, {}, { headers: { 'x-should-retry': 'false' } })

    const result = await get(client())

    expect(result.ok || result.failure.attempts).toBe(1)
  })

  it('gives up with a budget failure instead of sleeping past the budget', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({ path: '/v1/things' }).reply(429, {}, { headers: { 'retry-after': '30' } })
    pool.intercept({ path: '/v1/things' }).reply(429, {}, { headers: { 'retry-after': '30' } })

    const http = client({ budgetMs: 45_000, maxRetryAfterMs: 60_000 })
    const result = await get(http)

    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.failure).toMatchObject({ kind: 'budget', status: 429, attempts: 2 })
    expect(waits).toEqual([30_000])
  })

  it('turns a Retry-After above the cap into a failure without waiting', async () => {
    agent
      .get(ORIGIN)
      .intercept({ path: '/v1/things' })
      .reply(429, {}, { headers: { 'retry-after': '600' } })

    const result = await get(client({ maxRetryAfterMs: 60_000 }))

    expect(result.ok || result.failure.kind).toBe('retry-after-too-long')
    expect(waits).toEqual([])
  })

  it('retries a connection error and reports it after the last attempt', async () => {
    const pool = agent.get(ORIGIN)
    pool
      .intercept({ path: '/v1/things' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    pool
      .intercept({ path: '/v1/things' })
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))

    const result = await get(client({ maxAttempts: 2 }))

    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.failure).toMatchObject({ kind: 'network', attempts: 2 })
    expect(waits).toHaveLength(1)
  })

  // Timeouts are exercised against the real loopback fakes ('slow' fault): MockAgent ignores headersTimeout.

  it('reports malformed JSON without quoting the body, and schema errors with the field path', async () => {
    const pool = agent.get(ORIGIN)
    pool.intercept({ path: '/v1/things' }).reply(200, '{"items": [{"n": 1}, {"n": ')
    pool.intercept({ path: '/v1/things' }).reply(200, { items: [{ n: 1 }, { n: 'two' }] })
    const http = client()

    const malformed = await get(http)
    const wrong = await get(http)

    expect(malformed.ok || malformed.failure.kind).toBe('malformed-json')
    expect(malformed.ok || malformed.failure.detail).not.toContain('items')
    expect(wrong.ok || wrong.failure).toMatchObject({
      kind: 'schema',
      detail: '/items/1/n must be integer',
    })
    expect(waits).toEqual([])
  })

  it('masks credential-like query values in URLs and never carries headers', () => {
    const url = new URL(`${ORIGIN}/v1/x?key=${SECRET}&api_key_ids[]=key_1&limit=5`)

    expect(safeUrl(url)).toBe(`${ORIGIN}/v1/x?key=***&api_key_ids[]=key_1&limit=5`)
  })

  it('holds at most perHostConcurrency requests in flight per host', async () => {
    const pool = agent.get(ORIGIN)
    for (let i = 0; i < 6; i++) pool.intercept({ path: '/v1/things' }).reply(200, ok).delay(20)
    let inFlight = 0
    let peak = 0
    const http = client({ perHostConcurrency: 2 })
    const tracked = async () => {
      inFlight++
      peak = Math.max(peak, inFlight)
      try {
        return await get(http)
      } finally {
        inFlight--
      }
    }
    // inFlight counts callers; the semaphore must serialize the requests themselves.
    const started = Date.now()
    const results = await Promise.all(Array.from({ length: 6 }, tracked))

    expect(results.every((r) => r.ok)).toBe(true)
    expect(peak).toBe(6)
    expect(Date.now() - started).toBeGreaterThanOrEqual(55) // 3 waves of ~20 ms
  })
})

describe('paginate', () => {
  it('stops at the hard page cap and when a cursor repeats', async () => {
    const endless = await paginate<number>({
      maxPages: 3,
      fetch: async (c) => ({ ok: true, value: Number(c ?? 0), status: 200 }),
      next: (p) => String(p + 1),
    })
    const looping = await paginate<number>({
      maxPages: 10,
      fetch: async () => ({ ok: true, value: 1, status: 200 }),
      next: () => 'same',
    })

    expect(endless).toEqual({ pages: [0, 1, 2], failure: undefined, capped: true })
    expect(looping.pages).toHaveLength(2)
    expect(looping.capped).toBe(true)
  })
})

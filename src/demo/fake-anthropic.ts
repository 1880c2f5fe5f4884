import { BucketIndex, type BucketWidth, WIDTH_SECONDS } from './fake-buckets.js'
import {
  decodeCursor,
  encodeCursor,
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  queryAll,
  queryInt,
  startFakeServer,
} from './fake-server.js'

/**
 * A loopback Anthropic Admin API (providers.md §2): `api_keys` with `after_id` (§2.5), the
 * messages usage report in buckets with `group_by[]` and `page` (§2.3), the cost report in
 * cents per workspace (§2.4), the Compliance Activity Feed when enabled (§2.6), and the
 * documented error body and types (§2.10). Credentials: `x-api-key` plus `anthropic-version`.
 * `POST /v1/organizations/api_keys/{id}` updates a key's name or status (§2.5) in `data`, in
 * place, so later reads see it.
 */

export interface AnthropicFakeKey {
  id: string
  name: string
  created_at: string
  created_by: { id: string; type: 'user' }
  partial_key_hint: string
  status: 'active' | 'inactive' | 'archived'
  workspace_id: string | null
}

export interface AnthropicFakeUsage {
  at: number
  api_key_id: string | null
  workspace_id: string | null
  model: string
  uncached_input_tokens: number
  cache_read_input_tokens: number
  cache_creation_5m: number
  cache_creation_1h: number
  output_tokens: number
}

export interface AnthropicFakeCost {
  at: number
  workspace_id: string | null
  description: string
  /** Cents, as the API reports them. */
  cents: number
}

export interface AnthropicFakeData {
  now: number
  keys: AnthropicFakeKey[]
  usage: AnthropicFakeUsage[]
  costs: AnthropicFakeCost[]
  /** Activities exactly as §2.6 documents them. */
  activities: Array<Record<string, unknown> & { id: string; created_at: string }>
  /** Not enabled (the default for Console organizations): 404 from the feed. */
  compliance?: 'enabled' | 'forbidden' | 'not-found'
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'api_error',
  529: 'overloaded_error',
}

export function anthropicErrorBody(status: number): unknown {
  return {
    type: 'error',
    error: { type: ERROR_TYPES[status] ?? 'api_error', message: `fake Anthropic error ${status}` },
    request_id: `req_fake_${status}`,
  }
}

const KEY_STATUSES = ['active', 'inactive', 'archived'] as const

const LIMITS: Record<BucketWidth, { def: number; max: number }> = {
  '1d': { def: 7, max: 31 },
  '1h': { def: 24, max: 168 },
  '1m': { def: 60, max: 1440 },
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function seconds(value: string | null): number | undefined {
  if (value === null) return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? Number.NaN : Math.floor(ms / 1000)
}

export async function startAnthropicFake(
  data: AnthropicFakeData,
  options: { adminKey?: string } = {},
): Promise<FakeServer> {
  const usageIndex = new BucketIndex(
    data.usage.map((u) => ({
      at: u.at,
      groups: {
        api_key_id: u.api_key_id,
        workspace_id: u.workspace_id,
        model: u.model,
        service_tier: 'standard',
        context_window: '0-200k',
      },
      counters: {
        uncached_input_tokens: u.uncached_input_tokens,
        cache_read_input_tokens: u.cache_read_input_tokens,
        cache_5m: u.cache_creation_5m,
        cache_1h: u.cache_creation_1h,
        output_tokens: u.output_tokens,
      },
    })),
  )
  const costIndex = new BucketIndex(
    data.costs.map((c) => ({
      at: c.at,
      groups: { workspace_id: c.workspace_id, description: c.description },
      counters: { cents: c.cents },
    })),
  )
  const fail = (status: number): FakeResponse => ({ status, body: anthropicErrorBody(status) })

  function report(
    q: URLSearchParams,
    index: BucketIndex,
    groupNames: string[],
    widths: BucketWidth[],
    shape: (
      counters: Record<string, number>,
      groups: Record<string, string | null>,
    ) => Record<string, unknown>,
  ): FakeResponse {
    const start = seconds(q.get('starting_at'))
    if (start === undefined || Number.isNaN(start)) return fail(400)
    const width = (q.get('bucket_width') ?? '1d') as BucketWidth
    if (!widths.includes(width)) return fail(400)
    const step = WIDTH_SECONDS[width]
    const limit = queryInt(q, 'limit') ?? LIMITS[width].def
    if (!Number.isInteger(limit) || limit < 1 || limit > LIMITS[width].max) return fail(400)
    const groupBy = queryAll(q, 'group_by')
    if (groupBy.some((g) => !groupNames.includes(g))) return fail(400)
    const endParam = seconds(q.get('ending_at'))
    if (Number.isNaN(endParam)) return fail(400)
    const end = Math.min(endParam ?? data.now, Math.ceil(data.now / step) * step)
    const cursor = decodeCursor(q.get('page'))
    const from = cursor === undefined ? Math.floor(start / step) * step : Number(cursor)
    const buckets: unknown[] = []
    let at = from
    for (; at < end && buckets.length < limit; at += step) {
      const bucket = index.bucket(at, width, groupBy, groupNames)
      buckets.push({
        starting_at: iso(bucket.start),
        ending_at: iso(bucket.end),
        results: bucket.results.map((r) => shape(r.counters, r.groups)),
      })
    }
    const more = at < end
    return {
      status: 200,
      body: { data: buckets, has_more: more, next_page: more ? encodeCursor(at) : null },
    }
  }

  function list<T extends { id: string }>(
    items: T[],
    q: URLSearchParams,
    max: number,
    def: number,
  ): FakeResponse {
    const limit = queryInt(q, 'limit') ?? def
    if (!Number.isInteger(limit) || limit < 1 || limit > max) return fail(400)
    const after = q.get('after_id')
    const from = after === null ? 0 : items.findIndex((i) => i.id === after) + 1
    const page = items.slice(from, from + limit)
    return {
      status: 200,
      body: {
        data: page,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: from + limit < items.length,
      },
    }
  }

  /** §2.2 `GET`/`POST /v1/organizations/api_keys/{id}`: body `{name?, status?}`, answers the ApiKey. */
  function oneKey(req: FakeRequest, id: string): FakeResponse {
    const key = data.keys.find((k) => k.id === id)
    if (!key) return fail(404)
    if (req.method === 'POST') {
      if (typeof req.body !== 'object' || req.body === null) return fail(400)
      const { name, status } = req.body as { name?: unknown; status?: unknown }
      if (name !== undefined && (typeof name !== 'string' || name.length === 0)) return fail(400)
      if (
        status !== undefined &&
        (typeof status !== 'string' || !KEY_STATUSES.some((s) => s === status))
      ) {
        return fail(400)
      }
      if (typeof name === 'string') key.name = name
      if (typeof status === 'string') key.status = status as AnthropicFakeKey['status']
    } else if (req.method !== 'GET') {
      return fail(404)
    }
    return { status: 200, body: { type: 'api_key', ...key } }
  }

  function route(req: FakeRequest): FakeResponse {
    const { path, query: q } = req
    const keyMatch = /^\/v1\/organizations\/api_keys\/([^/]+)$/.exec(path)
    if (keyMatch) return oneKey(req, decodeURIComponent(keyMatch[1] ?? ''))
    if (req.method !== 'GET') return fail(404)
    if (path === '/v1/organizations/api_keys') {
      const status = q.get('status')
      const keys = data.keys
        .filter((k) => status === null || k.status === status)
        .map((k) => ({ type: 'api_key', ...k }))
      return list(keys, q, 1000, 20)
    }
    if (path === '/v1/organizations/usage_report/messages') {
      return report(
        q,
        usageIndex,
        ['api_key_id', 'workspace_id', 'model', 'service_tier', 'context_window'],
        ['1m', '1h', '1d'],
        (c, g) => ({
          uncached_input_tokens: c.uncached_input_tokens ?? 0,
          cache_creation: {
            ephemeral_1h_input_tokens: c.cache_1h ?? 0,
            ephemeral_5m_input_tokens: c.cache_5m ?? 0,
          },
          cache_read_input_tokens: c.cache_read_input_tokens ?? 0,
          output_tokens: c.output_tokens ?? 0,
          server_tool_use: { web_search_requests: 0 },
          ...g,
        }),
      )
    }
    if (path === '/v1/organizations/cost_report') {
      return report(q, costIndex, ['workspace_id', 'description'], ['1d'], (c, g) => ({
        currency: 'USD',
        amount: (c.cents ?? 0).toFixed(5),
        workspace_id: g.workspace_id ?? null,
        description: g.description ?? null,
        cost_type: g.description === null ? null : 'tokens',
        context_window: null,
        model: null,
        service_tier: null,
        token_type: null,
      }))
    }
    if (path === '/v1/compliance/activities') {
      const mode = data.compliance ?? 'not-found'
      if (mode === 'forbidden') return fail(403)
      if (mode === 'not-found') return fail(404)
      const gte = seconds(q.get('created_at.gte'))
      const lt = seconds(q.get('created_at.lt'))
      const items = data.activities
        .filter((a) => {
          const at = seconds(a.created_at) ?? 0
          return (gte === undefined || at >= gte) && (lt === undefined || at < lt)
        })
        .sort((a, b) => b.created_at.localeCompare(a.created_at) || a.id.localeCompare(b.id))
      return list(items, q, 5000, 100)
    }
    return fail(404)
  }

  return startFakeServer({
    name: 'anthropic',
    credential: (headers) => {
      // §2.1: both headers are required; a missing version is a 400 at the real API, here a 401.
      const key = headers['x-api-key']
      return headers['anthropic-version'] === '2023-06-01' && typeof key === 'string'
        ? key
        : undefined
    },
    expectedCredential: options.adminKey,
    errorBody: anthropicErrorBody,
    route,
    emptyPage: (req, real) => {
      if (!req.path.includes('_report')) return undefined
      const first = (real as { data?: Array<{ starting_at: string }> }).data?.[0]
      if (!first) return undefined
      return { data: [], has_more: true, next_page: encodeCursor(seconds(first.starting_at) ?? 0) }
    },
  })
}

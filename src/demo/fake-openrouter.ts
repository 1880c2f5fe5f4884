import { randomBytes } from 'node:crypto'
import { redactedHint } from '../analysis/key-matching.js'
import {
  type FakeRequest,
  type FakeResponse,
  type FakeServer,
  queryInt,
  startFakeServer,
} from './fake-server.js'

/**
 * A loopback OpenRouter management API (providers.md §3): `/keys` in offset pages of 100
 * (§3.2), `/key`, `/activity` (last 30 completed days, §3.2), `POST /analytics/query` with
 * `dimensions` key × model by day (§3.3), and the `{error:{code,message}}` body (§3.5).
 * Paths are under `/api/v1`, as the real base URL is.
 */

/** A key object exactly as §3.2 documents it. */
export interface OpenRouterFakeKey {
  hash: string
  name: string
  label: string
  disabled: boolean
  limit: number | null
  limit_reset: 'daily' | 'weekly' | 'monthly' | null
  created_at: string
  updated_at: string | null
  creator_user_id: string | null
  workspace_id: string
  /** False when absent. */
  include_byok_in_limit?: boolean
  /** ISO 8601 UTC; null (never) when absent. */
  expires_at?: string | null
}

export interface OpenRouterFakeActivity {
  /** UTC day, YYYY-MM-DD. */
  date: string
  key_hash: string
  model: string
  provider_name: string
  usage: number
  requests: number
  prompt_tokens: number
  completion_tokens: number
}

export interface OpenRouterFakeData {
  now: number
  keys: OpenRouterFakeKey[]
  activity: OpenRouterFakeActivity[]
  /** Not enabled: 403 from the analytics API. */
  analytics?: boolean
}

export function openRouterErrorBody(status: number): unknown {
  return { error: { code: status, message: `fake OpenRouter error ${status}` } }
}

const PAGE = 100
const DAY_MS = 86_400_000
const LIMIT_RESETS = ['daily', 'weekly', 'monthly']
/** Where a key created without `workspace_id` goes (§3.2: "the default workspace"). */
export const OPENROUTER_FAKE_DEFAULT_WORKSPACE = '00000000-0000-4000-8000-000000000000'

export async function startOpenRouterFake(
  data: OpenRouterFakeData,
  options: { adminKey?: string } = {},
): Promise<FakeServer> {
  const fail = (status: number): FakeResponse => ({ status, body: openRouterErrorBody(status) })
  const nowMs = data.now * 1000
  const today = new Date(Math.floor(nowMs / DAY_MS) * DAY_MS).toISOString().slice(0, 10)
  const weekStart = (() => {
    const d = new Date(Math.floor(nowMs / DAY_MS) * DAY_MS)
    return new Date(d.getTime() - ((d.getUTCDay() + 6) % 7) * DAY_MS).toISOString().slice(0, 10)
  })()
  const monthStart = today.slice(0, 8) + '01'

  function keyObject(k: OpenRouterFakeKey): Record<string, unknown> {
    const rows = data.activity.filter((a) => a.key_hash === k.hash && a.date <= today)
    const sum = (from: string) =>
      round(rows.filter((a) => a.date >= from).reduce((t, a) => t + a.usage, 0))
    const usage = sum('0000-00-00')
    return {
      ...k,
      limit_remaining: k.limit === null ? null : round(k.limit - sum(monthStart)),
      include_byok_in_limit: k.include_byok_in_limit ?? false,
      usage,
      usage_daily: sum(today),
      usage_weekly: sum(weekStart),
      usage_monthly: sum(monthStart),
      byok_usage: 0,
      byok_usage_daily: 0,
      byok_usage_weekly: 0,
      byok_usage_monthly: 0,
      expires_at: k.expires_at ?? null,
    }
  }

  /** The §3.2 PATCH fields present in `body`, or undefined when one has the wrong type. */
  function keyFields(body: Record<string, unknown>): Partial<OpenRouterFakeKey> | undefined {
    const fields: Partial<OpenRouterFakeKey> = {}
    const { name, disabled, limit, limit_reset: reset, include_byok_in_limit: byok } = body
    if (name !== undefined) {
      if (typeof name !== 'string' || name.length === 0) return undefined
      fields.name = name
    }
    if (disabled !== undefined) {
      if (typeof disabled !== 'boolean') return undefined
      fields.disabled = disabled
    }
    if (limit !== undefined) {
      if (limit !== null && (typeof limit !== 'number' || !(limit >= 0))) return undefined
      fields.limit = limit
    }
    if (reset !== undefined) {
      if (reset !== null && !LIMIT_RESETS.includes(reset as string)) return undefined
      fields.limit_reset = reset as OpenRouterFakeKey['limit_reset']
    }
    if (byok !== undefined) {
      if (typeof byok !== 'boolean') return undefined
      fields.include_byok_in_limit = byok
    }
    return fields
  }

  /** §3.2 `POST /keys` (201): the plaintext key is in this answer only. */
  function createKey(body: unknown): FakeResponse {
    if (typeof body !== 'object' || body === null) return fail(400)
    const b = body as Record<string, unknown>
    const fields = keyFields(b)
    if (fields?.name === undefined || fields.disabled !== undefined) return fail(400)
    const optionalString = (v: unknown) => v === undefined || v === null || typeof v === 'string'
    if (
      !optionalString(b.expires_at) ||
      !optionalString(b.creator_user_id) ||
      (b.workspace_id !== undefined && typeof b.workspace_id !== 'string')
    ) {
      return fail(400)
    }
    const secret = `sk-or-v1-${randomBytes(32).toString('hex')}`
    const key: OpenRouterFakeKey = {
      hash: randomBytes(32).toString('hex'),
      name: fields.name,
      // §3.6: the first 12 characters and the last 4.
      label: redactedHint('openrouter', secret),
      disabled: false,
      limit: fields.limit ?? null,
      limit_reset: fields.limit_reset ?? null,
      created_at: new Date(nowMs).toISOString(),
      updated_at: null,
      creator_user_id: (b.creator_user_id as string | null | undefined) ?? null,
      workspace_id: (b.workspace_id as string | undefined) ?? OPENROUTER_FAKE_DEFAULT_WORKSPACE,
      include_byok_in_limit: fields.include_byok_in_limit ?? false,
      expires_at: (b.expires_at as string | null | undefined) ?? null,
    }
    data.keys.push(key)
    return { status: 201, body: { data: keyObject(key), key: secret } }
  }

  /** §3.2 `GET`, `PATCH`, `DELETE /keys/{hash}`. */
  function oneKey(req: FakeRequest, hash: string): FakeResponse {
    const index = data.keys.findIndex((k) => k.hash === hash)
    const key = data.keys[index]
    if (!key) return fail(404)
    if (req.method === 'GET') return { status: 200, body: { data: keyObject(key) } }
    if (req.method === 'DELETE') {
      data.keys.splice(index, 1)
      return { status: 200, body: { deleted: true } }
    }
    if (req.method !== 'PATCH') return fail(404)
    if (typeof req.body !== 'object' || req.body === null) return fail(400)
    const fields = keyFields(req.body as Record<string, unknown>)
    if (!fields) return fail(400)
    Object.assign(key, fields, { updated_at: new Date(nowMs).toISOString() })
    return { status: 200, body: { data: keyObject(key) } }
  }

  function analytics(body: unknown): FakeResponse {
    if (data.analytics === false) return fail(403)
    const query = body as {
      metrics?: string[]
      dimensions?: string[]
      granularity?: string
      time_range?: { start?: string; end?: string }
      limit?: number
    }
    if (!Array.isArray(query?.metrics) || query.metrics.length === 0) return fail(400)
    const dims = query.dimensions ?? []
    if (dims.length > 2) return fail(400)
    if (query.granularity !== undefined && query.granularity !== 'day') return fail(400)
    const start = Date.parse(query.time_range?.start ?? '')
    const end = Date.parse(query.time_range?.end ?? '')
    if (Number.isNaN(start) || Number.isNaN(end)) return fail(400)
    const names = new Map(data.keys.map((k) => [k.hash, k.name]))
    const groups = new Map<string, Record<string, number | string | null>>()
    for (const a of data.activity) {
      const day = Date.parse(`${a.date}T00:00:00Z`)
      if (day < start || day >= end) continue
      const row: Record<string, number | string | null> = { date__day: a.date }
      // §3.3: the api_key_id dimension comes back as key names.
      if (dims.includes('api_key_id')) row.api_key_id = names.get(a.key_hash) ?? null
      if (dims.includes('model')) row.model = a.model
      const id = JSON.stringify(row)
      const entry = groups.get(id) ?? {
        ...row,
        total_usage: 0,
        request_count: 0,
        tokens_prompt: 0,
        tokens_completion: 0,
      }
      entry.total_usage = round(Number(entry.total_usage) + a.usage)
      entry.request_count = Number(entry.request_count) + a.requests
      entry.tokens_prompt = Number(entry.tokens_prompt) + a.prompt_tokens
      entry.tokens_completion = Number(entry.tokens_completion) + a.completion_tokens
      groups.set(id, entry)
    }
    const limit = query.limit ?? 1000
    // Count metrics may come back as strings (§3.3): the fake sends request_count as one.
    const rows = [...groups.values()].map((r) => ({ ...r, request_count: String(r.request_count) }))
    return {
      status: 200,
      body: {
        data: {
          data: rows.slice(0, limit),
          metadata: {
            query_time_ms: 3,
            row_count: Math.min(rows.length, limit),
            truncated: rows.length > limit,
          },
        },
      },
    }
  }

  function route(req: FakeRequest): FakeResponse {
    const { path, query: q } = req
    if (path === '/api/v1/keys' && req.method === 'GET') {
      const offset = queryInt(q, 'offset') ?? 0
      if (!Number.isInteger(offset) || offset < 0) return fail(400)
      const all =
        q.get('include_disabled') === 'true' ? data.keys : data.keys.filter((k) => !k.disabled)
      // "List the most recent 100 API keys".
      const sorted = [...all].sort(
        (a, b) => b.created_at.localeCompare(a.created_at) || a.hash.localeCompare(b.hash),
      )
      return { status: 200, body: { data: sorted.slice(offset, offset + PAGE).map(keyObject) } }
    }
    if (path === '/api/v1/keys' && req.method === 'POST') return createKey(req.body)
    const keyMatch = /^\/api\/v1\/keys\/([^/]+)$/.exec(path)
    if (keyMatch) return oneKey(req, decodeURIComponent(keyMatch[1] ?? ''))
    if (path === '/api/v1/activity' && req.method === 'GET') {
      const date = q.get('date')
      const hash = q.get('api_key_hash')
      const rows = data.activity
        .filter(
          (a) =>
            a.date < today &&
            (date === null || a.date === date) &&
            (hash === null || a.key_hash === hash),
        )
        .map((a) => ({
          date: a.date,
          model: a.model,
          model_permaslug: a.model,
          endpoint_id: `endpoint-${a.model}`,
          provider_name: a.provider_name,
          usage: a.usage,
          byok_usage_inference: 0,
          requests: a.requests,
          prompt_tokens: a.prompt_tokens,
          completion_tokens: a.completion_tokens,
          reasoning_tokens: 0,
        }))
      return { status: 200, body: { data: rows } }
    }
    if (path === '/api/v1/analytics/query' && req.method === 'POST') return analytics(req.body)
    return fail(404)
  }

  return startFakeServer({
    name: 'openrouter',
    credential: (headers) => /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1],
    expectedCredential: options.adminKey,
    errorBody: openRouterErrorBody,
    route,
  })
}

function round(value: number): number {
  return Math.round(value * 1e8) / 1e8
}

import { randomBytes } from 'node:crypto'
import { redactedHint } from '../analysis/key-matching.js'
import { BucketIndex, type BucketRow, type BucketWidth, WIDTH_SECONDS } from './fake-buckets.js'
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
 * A loopback OpenAI Administration API (providers.md §1), serving a dataset in the documented
 * shapes: projects and project keys (§1.6), usage per type with buckets, `group_by` and the
 * `page` cursor (§1.3), costs in 1d buckets (§1.4), audit logs with `after` (§1.5), and the
 * `ErrorResponse` body (§1.9). Paths are under `/v1`, as the real base URL is.
 *
 * Writes, in the shapes of OpenAI's API reference: a project's `spend_limit` (GET/POST),
 * creating a service account (which comes with one key), deleting a service account (and its
 * keys) or a user's project key (a service account's key answers 400, §1.2). They change
 * `data` in place, so later reads (and the test) see them.
 */

export interface OpenAiFakeProject {
  id: string
  name: string
  created_at: number
  status: 'active' | 'archived'
  /** Integer cents; none (0) when absent. */
  spend_limit?: { threshold_amount: number }
}

/** A service account created through the fake; accounts of the dataset live in key owners. */
export interface OpenAiFakeServiceAccount {
  project_id: string
  id: string
  name: string
  created_at: number
}

/** A project key as §1.6 documents it, plus the project it lives in. */
export interface OpenAiFakeKey {
  project_id: string
  id: string
  name: string
  redacted_value: string
  created_at: number
  last_used_at: number | null
  owner_project_access: 'active' | 'inactive'
  owner:
    | { type: 'user'; user: { id: string; email: string } }
    | { type: 'service_account'; service_account: { id: string; name: string } }
}

export interface OpenAiFakeUsage {
  type: string
  /** Unix seconds within the hour of use. */
  at: number
  api_key_id: string | null
  project_id: string
  model: string
  input_tokens: number
  output_tokens: number
  input_cached_tokens: number
  num_model_requests: number
}

export interface OpenAiFakeCost {
  at: number
  api_key_id: string | null
  project_id: string
  line_item: string
  usd: number
}

export interface OpenAiFakeData {
  /** Buckets past `now` are not served: the provider has no future. Unix seconds. */
  now: number
  projects: OpenAiFakeProject[]
  keys: OpenAiFakeKey[]
  usage: OpenAiFakeUsage[]
  costs: OpenAiFakeCost[]
  /** AuditLog objects exactly as §1.5 documents them. */
  auditLogs: Array<Record<string, unknown> & { id: string; type: string; effective_at: number }>
  /** False: an older organization, whose costs endpoint rejects `group_by=api_key_id` (§1.4). */
  costsByKey?: boolean
  /** False: audit logging was never turned on (§1.5); the fake then answers 403. */
  auditLogging?: boolean
  /** False: an organization without the project spend-limit API; `…/spend_limit` answers 404. */
  spendLimits?: boolean
  /** Service accounts created through the fake. */
  serviceAccounts?: OpenAiFakeServiceAccount[]
}

const USAGE_GROUPS = ['project_id', 'user_id', 'api_key_id', 'model', 'batch', 'service_tier']
const COST_GROUPS = ['project_id', 'line_item', 'api_key_id']
const LIMITS: Record<BucketWidth, { def: number; max: number }> = {
  '1d': { def: 7, max: 31 },
  '1h': { def: 24, max: 168 },
  '1m': { def: 60, max: 1440 },
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'invalid_request_error',
  404: 'invalid_request_error',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  503: 'server_error',
  529: 'server_error',
}

export function openAiErrorBody(status: number): unknown {
  // §1.9 ErrorResponse.
  return {
    error: {
      type: ERROR_TYPES[status] ?? 'server_error',
      message: `fake OpenAI error ${status}`,
      param: null,
      code: null,
    },
  }
}

export async function startOpenAiFake(
  data: OpenAiFakeData,
  options: { adminKey?: string } = {},
): Promise<FakeServer> {
  const usageIndex = new Map<string, BucketIndex>()
  const byType = new Map<string, BucketRow[]>()
  for (const u of data.usage) {
    const rows = byType.get(u.type) ?? []
    rows.push({
      at: u.at,
      groups: { api_key_id: u.api_key_id, project_id: u.project_id, model: u.model },
      counters: {
        input_tokens: u.input_tokens,
        output_tokens: u.output_tokens,
        input_cached_tokens: u.input_cached_tokens,
        num_model_requests: u.num_model_requests,
      },
    })
    byType.set(u.type, rows)
  }
  for (const [type, rows] of byType) usageIndex.set(type, new BucketIndex(rows))
  const costIndex = new BucketIndex(
    data.costs.map((c) => ({
      at: c.at,
      groups: { api_key_id: c.api_key_id, project_id: c.project_id, line_item: c.line_item },
      counters: { usd: c.usd },
    })),
  )

  const fail = (status: number): FakeResponse => ({ status, body: openAiErrorBody(status) })

  function list<T extends { id: string }>(items: T[], q: URLSearchParams, max = 100): FakeResponse {
    const limit = queryInt(q, 'limit') ?? 20
    if (!Number.isInteger(limit) || limit < 1 || limit > max) return fail(400)
    const after = q.get('after')
    const from = after === null ? 0 : items.findIndex((i) => i.id === after) + 1
    const page = items.slice(from, from + limit)
    return {
      status: 200,
      body: {
        object: 'list',
        data: page,
        first_id: page[0]?.id ?? null,
        last_id: page.at(-1)?.id ?? null,
        has_more: from + limit < items.length,
      },
    }
  }

  /** §1.3/§1.4: every bucket of [start_time, end_time) in pages of `limit` buckets. */
  function report(
    q: URLSearchParams,
    index: BucketIndex | undefined,
    groupNames: string[],
    object: string,
    shape: (counters: Record<string, number>) => Record<string, unknown>,
    widths: BucketWidth[],
    defaultLimit?: { def: number; max: number },
  ): FakeResponse {
    const start = queryInt(q, 'start_time')
    if (start === undefined || Number.isNaN(start)) return fail(400)
    const width = (q.get('bucket_width') ?? '1d') as BucketWidth
    if (!widths.includes(width)) return fail(400)
    const step = WIDTH_SECONDS[width]
    const bounds = defaultLimit ?? LIMITS[width]
    const limit = queryInt(q, 'limit') ?? bounds.def
    if (!Number.isInteger(limit) || limit < 1 || limit > bounds.max) return fail(400)
    const groupBy = queryAll(q, 'group_by')
    if (groupBy.some((g) => !groupNames.includes(g))) return fail(400)
    const end = Math.min(queryInt(q, 'end_time') ?? data.now, Math.ceil(data.now / step) * step)
    const first = Math.floor(start / step) * step
    const cursor = decodeCursor(q.get('page'))
    const from = cursor === undefined ? first : Number(cursor)
    const buckets: unknown[] = []
    let at = from
    for (; at < end && buckets.length < limit; at += step) {
      const bucket = index?.bucket(at, width, groupBy, groupNames) ?? {
        start: at,
        end: at + step,
        results: [],
      }
      buckets.push({
        object: 'bucket',
        start_time: bucket.start,
        end_time: bucket.end,
        results: bucket.results.map((r) => ({ object, ...shape(r.counters), ...r.groups })),
      })
    }
    const more = at < end
    return {
      status: 200,
      body: {
        object: 'page',
        data: buckets,
        has_more: more,
        next_page: more ? encodeCursor(at) : null,
      },
    }
  }

  const project = (id: string) => data.projects.find((p) => p.id === id)

  function spendLimit(req: FakeRequest, p: OpenAiFakeProject): FakeResponse {
    if (data.spendLimits === false) return fail(404)
    if (req.method === 'POST') {
      const body = req.body as Record<string, unknown> | undefined
      const cents = body?.threshold_amount
      if (
        typeof cents !== 'number' ||
        !Number.isInteger(cents) ||
        cents < 0 ||
        body?.currency !== 'USD' ||
        body.interval !== 'month'
      ) {
        return fail(400)
      }
      p.spend_limit = { threshold_amount: cents }
    } else if (req.method !== 'GET') {
      return fail(404)
    }
    const cents = p.spend_limit?.threshold_amount ?? 0
    return {
      status: 200,
      body: {
        object: 'project.spend_limit',
        threshold_amount: cents,
        currency: 'USD',
        interval: 'month',
        enforcement: { status: cents > 0 ? 'enforcing' : 'inactive' },
      },
    }
  }

  function createServiceAccount(req: FakeRequest, p: OpenAiFakeProject): FakeResponse {
    const name = (req.body as { name?: unknown } | undefined)?.name
    if (typeof name !== 'string' || name.length === 0) return fail(400)
    const account: OpenAiFakeServiceAccount = {
      project_id: p.id,
      id: `svc_acct_${randomBytes(12).toString('hex')}`,
      name,
      created_at: data.now,
    }
    const secret = `sk-svcacct-${randomBytes(36).toString('base64url')}`
    const key: OpenAiFakeKey = {
      project_id: p.id,
      id: `key_${randomBytes(12).toString('hex')}`,
      name,
      redacted_value: redactedHint('openai', secret),
      created_at: data.now,
      last_used_at: null,
      owner_project_access: 'active',
      owner: { type: 'service_account', service_account: { id: account.id, name } },
    }
    ;(data.serviceAccounts ??= []).push(account)
    data.keys.push(key)
    return {
      status: 200,
      body: {
        object: 'organization.project.service_account',
        id: account.id,
        name,
        role: 'member',
        created_at: account.created_at,
        api_key: {
          object: 'organization.project.service_account.api_key',
          value: secret,
          name,
          created_at: key.created_at,
          id: key.id,
        },
      },
    }
  }

  const ownedBy = (k: OpenAiFakeKey, projectId: string, account: string) =>
    k.project_id === projectId &&
    k.owner.type === 'service_account' &&
    k.owner.service_account.id === account

  function deleteServiceAccount(projectId: string, account: string): FakeResponse {
    const known =
      (data.serviceAccounts ?? []).some((a) => a.project_id === projectId && a.id === account) ||
      data.keys.some((k) => ownedBy(k, projectId, account))
    if (!known) return fail(404)
    data.serviceAccounts = (data.serviceAccounts ?? []).filter(
      (a) => !(a.project_id === projectId && a.id === account),
    )
    data.keys = data.keys.filter((k) => !ownedBy(k, projectId, account))
    return {
      status: 200,
      body: { object: 'organization.project.service_account.deleted', id: account, deleted: true },
    }
  }

  function deleteKey(projectId: string, id: string): FakeResponse {
    const key = data.keys.find((k) => k.project_id === projectId && k.id === id)
    if (!key) return fail(404)
    // §1.2: a service account's key cannot be deleted on its own.
    if (key.owner.type === 'service_account') return fail(400)
    data.keys = data.keys.filter((k) => k !== key)
    return {
      status: 200,
      body: { object: 'organization.project.api_key.deleted', id, deleted: true },
    }
  }

  /** The write routes, and the spend-limit read; undefined for every other request. */
  function projectRoute(req: FakeRequest): FakeResponse | undefined {
    const match =
      /^\/v1\/organization\/projects\/([^/]+)\/(spend_limit|service_accounts|api_keys)(?:\/([^/]+))?$/.exec(
        req.path,
      )
    if (!match) return undefined
    const [, rawProject = '', kind, rawId] = match
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId)
    const write = req.method !== 'GET'
    if (kind === 'spend_limit' && id === undefined) {
      const p = project(decodeURIComponent(rawProject))
      return p ? spendLimit(req, p) : fail(404)
    }
    if (!write) return undefined
    const p = project(decodeURIComponent(rawProject))
    if (!p) return fail(404)
    if (kind === 'service_accounts' && id === undefined && req.method === 'POST') {
      return createServiceAccount(req, p)
    }
    if (kind === 'service_accounts' && id !== undefined && req.method === 'DELETE') {
      return deleteServiceAccount(p.id, id)
    }
    if (kind === 'api_keys' && id !== undefined && req.method === 'DELETE') {
      return deleteKey(p.id, id)
    }
    return fail(404)
  }

  function route(req: FakeRequest): FakeResponse {
    const { path, query: q } = req
    const written = projectRoute(req)
    if (written) return written
    if (req.method !== 'GET') return fail(404)
    if (path === '/v1/organization/projects') {
      const projects =
        q.get('include_archived') === 'true'
          ? data.projects
          : data.projects.filter((p) => p.status === 'active')
      return list(
        projects.map((p) => ({
          object: 'organization.project',
          id: p.id,
          name: p.name,
          created_at: p.created_at,
          archived_at: null,
          status: p.status,
        })),
        q,
      )
    }
    const keysMatch = /^\/v1\/organization\/projects\/([^/]+)\/api_keys$/.exec(path)
    if (keysMatch) {
      const projectId = decodeURIComponent(keysMatch[1] ?? '')
      if (!data.projects.some((p) => p.id === projectId)) return fail(404)
      const access = q.get('owner_project_access') ?? 'active'
      const keys = data.keys
        .filter(
          (k) =>
            k.project_id === projectId && (access === 'any' || k.owner_project_access === access),
        )
        .map(({ project_id: _project, ...k }) => ({ object: 'organization.project.api_key', ...k }))
      return list(keys, q)
    }
    const usageMatch = /^\/v1\/organization\/usage\/([a-z_]+)$/.exec(path)
    if (usageMatch) {
      const type = usageMatch[1] ?? ''
      return report(
        q,
        usageIndex.get(type),
        USAGE_GROUPS,
        `organization.usage.${type}.result`,
        (c) => ({
          input_tokens: c.input_tokens ?? 0,
          output_tokens: c.output_tokens ?? 0,
          input_cached_tokens: c.input_cached_tokens ?? 0,
          num_model_requests: c.num_model_requests ?? 0,
          ...(type === 'images' ? { images: c.num_model_requests ?? 0 } : {}),
          ...(type === 'audio_speeches' ? { characters: 0 } : {}),
          ...(type === 'audio_transcriptions' ? { seconds: 0 } : {}),
        }),
        ['1m', '1h', '1d'],
      )
    }
    if (path === '/v1/organization/costs') {
      if (data.costsByKey === false && queryAll(q, 'group_by').includes('api_key_id'))
        return fail(400)
      return report(
        q,
        costIndex,
        COST_GROUPS,
        'organization.costs.result',
        (c) => ({
          amount: { value: Math.round((c.usd ?? 0) * 1e6) / 1e6, currency: 'usd' },
          quantity: null,
          quantity_unit: null,
        }),
        ['1d'],
        { def: 7, max: 180 },
      )
    }
    if (path === '/v1/organization/audit_logs') {
      if (data.auditLogging === false) return fail(403)
      const gte = queryInt(q, 'effective_at[gte]')
      const lt = queryInt(q, 'effective_at[lt]')
      const logs = data.auditLogs
        .filter(
          (l) =>
            (gte === undefined || l.effective_at >= gte) &&
            (lt === undefined || l.effective_at < lt),
        )
        .sort((a, b) => b.effective_at - a.effective_at || a.id.localeCompare(b.id))
      return list(logs, q)
    }
    return fail(404)
  }

  return startFakeServer({
    name: 'openai',
    credential: (headers) => /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1],
    expectedCredential: options.adminKey,
    errorBody: openAiErrorBody,
    route,
    emptyPage: (req, real) => {
      if (!req.path.startsWith('/v1/organization/usage/') && req.path !== '/v1/organization/costs')
        return undefined
      const page = real as { data?: Array<{ start_time: number }> }
      const first = page.data?.[0]
      if (!first) return undefined
      // An empty page that still says "more" and points at the buckets it did not send.
      return { object: 'page', data: [], has_more: true, next_page: encodeCursor(first.start_time) }
    },
  })
}

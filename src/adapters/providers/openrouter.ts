import type {
  LimitControl,
  MintedKey,
  Provider,
  ProviderCapabilities,
  ProviderLimit,
  ProviderResult,
  WriteResult,
} from '../../ports/provider.js'
import type { AuditEvent, ProviderKey, UsageRecord } from '../../records.js'
import type { HttpResult, JsonRequest } from '../http/client.js'
import { paginate } from '../http/paginate.js'
import {
  CallRecorder,
  ceilTo,
  DEFAULT_MAX_PAGES,
  floorTo,
  joinUrl,
  normalizeIso,
  type ProviderAdapterOptions,
} from './common.js'
import {
  type OpenRouterAnalytics,
  type OpenRouterKey,
  validateAnalytics,
  validateCreatedKey,
  validateKey,
  validateKeys,
} from './openrouter-schemas.js'
import { invalidUsd, refuseWrite, sendWrite, type WriteContext } from './writes.js'

export const OPENROUTER_DEFAULT_BASE_URL = 'https://openrouter.ai/api/v1'
/** §3.2: "List the most recent 100 API keys"; the next page is `offset=100`. */
const KEYS_PAGE = 100
const DAY_MS = 86_400_000
/** Analytics queries span at most this many days, so one answer stays under the row limit. */
const ANALYTICS_CHUNK_DAYS = 7

const LIMIT_CONTROL: LimitControl = {
  scope: 'key',
  note: 'OpenRouter enforces a limit on each key (USD credits, reset daily/weekly/monthly at midnight UTC)',
}

/** §3.1: keys are managed with a management key; an inference key gets 401/403. */
export const OPENROUTER_WRITE_PERMISSION =
  'an OpenRouter management key (openrouter.ai/settings/management-keys)'

const CAPABILITIES: ProviderCapabilities = {
  listKeys: 'yes',
  usage: 'yes',
  usageGranularity: '1d',
  cost: 'reported',
  auditEvents: 'no',
  apiTrafficIp: 'no',
  limitations: [
    'No audit log and no IP of API traffic (providers.md §3.5).',
    'Usage per key is daily at best; hourly off-hours detection is not possible (§6.4).',
    'No last-used time on keys (§3.2).',
  ],
}

/**
 * OpenRouter management API (providers.md §3): keys by offset pages, per-key daily usage and
 * cost from one Analytics query per week (dimensions key × model), never one call per key.
 */
export function createOpenRouterProvider(options: ProviderAdapterOptions): Provider {
  const base = options.baseUrl ?? OPENROUTER_DEFAULT_BASE_URL
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES
  const headers = { authorization: `Bearer ${options.adminKey}` }
  let analyticsUnavailable = false

  const recorder = () => new CallRecorder(options.id, options.http, options.log)
  const call = <T>(
    endpoint: string,
    query: Array<[string, string]>,
    validate: JsonRequest<T>['validate'],
    body?: unknown,
  ): Promise<HttpResult<T>> =>
    options.http.json<T>({
      method: body === undefined ? 'GET' : 'POST',
      url: joinUrl(base, endpoint, query),
      endpoint,
      headers,
      body,
      validate,
    })

  async function readKeys(rec: CallRecorder): Promise<OpenRouterKey[]> {
    const endpoint = '/keys'
    let offset = 0
    const pages = rec.pages(
      endpoint,
      await paginate<{ data: OpenRouterKey[] }>({
        maxPages,
        fetch: (cursor) => {
          offset = Number(cursor ?? '0')
          return call(
            endpoint,
            [
              ['include_disabled', 'true'],
              ['offset', String(offset)],
            ],
            validateKeys,
          )
        },
        // §6.2: `offset += 100` until an empty page (that stop condition is itself unconfirmed).
        next: (page) => (page.data.length === 0 ? undefined : String(offset + KEYS_PAGE)),
      }),
      maxPages,
    )
    return pages.flatMap((p) => p.data)
  }

  function toProviderKey(key: OpenRouterKey): ProviderKey {
    const expires = key.expires_at ? Date.parse(key.expires_at) : Number.NaN
    const expired = !Number.isNaN(expires) && expires <= options.now().getTime()
    return {
      provider: options.id,
      providerKeyId: key.hash,
      hint: key.label,
      name: key.name,
      created: normalizeIso(key.created_at),
      lastUsed: undefined,
      status: key.disabled ? 'disabled' : expired ? 'expired' : 'active',
      project: key.workspace_id ?? undefined,
      owner: key.creator_user_id ?? undefined,
      limitUsd: key.limit,
      limitReset: limitReset(key.limit_reset),
    }
  }

  /**
   * The last complete listing: an audit lists the keys and then reads usage, which needs the
   * same listing to map analytics key names to hashes; one run need not list them twice.
   */
  let listed: OpenRouterKey[] | undefined

  async function listKeys(): Promise<ProviderResult<ProviderKey[]>> {
    const rec = recorder()
    const keys = await readKeys(rec)
    const result = rec.result(keys.map(toProviderKey))
    listed = result.gaps.length === 0 ? keys : undefined
    return result
  }

  async function usage(since: Date, until: Date): Promise<ProviderResult<UsageRecord[]>> {
    const rec = recorder()
    const keys = listed ?? (await readKeys(rec))
    // The analytics `api_key_id` dimension carries key names (§3.3): map them back to hashes,
    // and refuse to guess when two keys share a name.
    const byName = new Map<string, string[]>()
    for (const k of keys) byName.set(k.name, [...(byName.get(k.name) ?? []), k.hash])
    const records: UsageRecord[] = []

    if (!analyticsUnavailable) {
      const endpoint = '/analytics/query'
      const ambiguous = new Set<string>()
      const start = floorTo(since, '1d')
      const end = ceilTo(until, '1d')
      for (
        let from = start.getTime();
        from < end.getTime();
        from += ANALYTICS_CHUNK_DAYS * DAY_MS
      ) {
        const to = Math.min(end.getTime(), from + ANALYTICS_CHUNK_DAYS * DAY_MS)
        const result = await call<OpenRouterAnalytics>(endpoint, [], validateAnalytics, {
          metrics: ['total_usage', 'request_count', 'tokens_prompt', 'tokens_completion'],
          dimensions: ['api_key_id', 'model'],
          granularity: 'day',
          time_range: { start: new Date(from).toISOString(), end: new Date(to).toISOString() },
          limit: 10_000,
        })
        if (!result.ok) {
          if (
            records.length === 0 &&
            (result.failure.status === 403 || result.failure.status === 404)
          ) {
            analyticsUnavailable = true
            rec.note(
              `analytics API not available (HTTP ${result.failure.status}); per-key usage from key counters only`,
            )
          } else {
            rec.failure(result.failure)
          }
          break
        }
        if (result.value.data.metadata?.truncated) {
          rec.gap(
            endpoint,
            `rows truncated for ${new Date(from).toISOString().slice(0, 10)} onwards; usage incomplete`,
          )
        }
        for (const row of result.value.data.data) {
          const day = Date.parse(
            row.date__day.length === 10 ? `${row.date__day}T00:00:00Z` : row.date__day,
          )
          if (Number.isNaN(day)) continue
          const hashes = row.api_key_id === null ? [] : (byName.get(row.api_key_id) ?? [])
          if (row.api_key_id !== null && hashes.length !== 1) ambiguous.add(row.api_key_id)
          records.push({
            provider: options.id,
            providerKeyId: hashes.length === 1 ? hashes[0] : undefined,
            start: new Date(day).toISOString(),
            end: new Date(day + DAY_MS).toISOString(),
            model: row.model ?? undefined,
            operation: 'activity',
            requests: num(row.request_count),
            inputTokens: num(row.tokens_prompt) ?? 0,
            outputTokens: num(row.tokens_completion) ?? 0,
            cachedTokens: 0,
            costUsd: num(row.total_usage),
            costSource: num(row.total_usage) === undefined ? 'none' : 'reported',
          })
        }
      }
      if (ambiguous.size > 0) {
        rec.note(
          `${ambiguous.size} key name(s) in analytics match no single key; their usage is unattributed`,
        )
      }
    }
    if (analyticsUnavailable) {
      // Fallback: each key's running `usage_daily` (USD, current UTC day, §3.2) as a partial-day record.
      const today = floorTo(options.now(), '1d')
      for (const key of keys) {
        if (key.usage_daily === undefined || key.usage_daily === 0) continue
        records.push({
          provider: options.id,
          providerKeyId: key.hash,
          start: today.toISOString(),
          end: new Date(today.getTime() + DAY_MS).toISOString(),
          model: undefined,
          operation: 'key-counter',
          requests: undefined,
          inputTokens: 0,
          outputTokens: 0,
          cachedTokens: 0,
          costUsd: key.usage_daily,
          costSource: 'reported',
        })
      }
    }
    return rec.result(records)
  }

  async function auditEvents(): Promise<ProviderResult<AuditEvent[]>> {
    const rec = recorder()
    return rec.result([])
  }

  const writes: WriteContext = {
    provider: options.id,
    http: options.http,
    log: options.log,
    permission: OPENROUTER_WRITE_PERMISSION,
  }
  const keyPath = (hash: string) => `/keys/${encodeURIComponent(hash)}`

  /** §3.2: the limits are on the listed keys already; no request. */
  async function readLimits(
    keys: readonly ProviderKey[],
  ): Promise<ProviderResult<ProviderLimit[]>> {
    const rec = recorder()
    return rec.result(
      keys
        .filter((k) => k.provider === options.id)
        .map((k) => ({
          scope: 'key',
          target: k.providerKeyId,
          usd: k.limitUsd ?? null,
          reset: k.limitReset ?? null,
        })),
    )
  }

  /** §3.2 `PATCH /keys/{hash}` with `limit` and `limit_reset: monthly`, read back from `{data: Key}`. */
  async function setLimit(
    target: Pick<ProviderLimit, 'scope' | 'target'>,
    usd: number,
  ): Promise<WriteResult<ProviderLimit>> {
    const what = `set the limit of key ${target.target} to $${usd} a month`
    if (target.scope !== 'key') {
      return refuseWrite(writes, what, `OpenRouter limits are per key, not per ${target.scope}`)
    }
    const invalid = invalidUsd(usd)
    if (invalid) return refuseWrite(writes, what, invalid)
    return sendWrite(
      writes,
      {
        method: 'PATCH',
        url: joinUrl(base, keyPath(target.target)),
        endpoint: '/keys/{hash}',
        headers,
        body: { limit: usd, limit_reset: 'monthly' },
        validate: validateKey,
        retry: 'server-errors',
      },
      {
        what,
        read: ({ data }) => ({
          scope: 'key',
          target: data.hash,
          usd: data.limit,
          reset: limitReset(data.limit_reset),
        }),
      },
    )
  }

  /** §3.2 `POST /keys` (201): one attempt only, since a retry could create a second key. */
  async function mintKey(
    like: ProviderKey,
    name: string,
    limitUsd: number | null,
  ): Promise<WriteResult<MintedKey>> {
    const what = `create key "${name}" to replace ${like.providerKeyId}`
    if (limitUsd !== null) {
      const invalid = invalidUsd(limitUsd)
      if (invalid) return refuseWrite(writes, what, invalid)
    }
    return sendWrite(
      writes,
      {
        method: 'POST',
        url: joinUrl(base, '/keys'),
        endpoint: '/keys',
        headers,
        body: {
          name,
          limit: limitUsd,
          limit_reset: limitUsd === null ? null : 'monthly',
          ...(like.project === undefined ? {} : { workspace_id: like.project }),
        },
        validate: validateCreatedKey,
        retry: false,
      },
      {
        what,
        read: (created) => ({ key: toProviderKey(created.data), secret: created.key }),
        uncertain: `OpenRouter may have created the key all the same: look for "${name}" in the key list before trying again`,
      },
    )
  }

  /** §3.2 `PATCH /keys/{hash}` `{disabled: true}`: reversible, and the same answer when repeated. */
  async function deactivateKey(key: ProviderKey): Promise<WriteResult<null>> {
    const what = `disable key ${key.providerKeyId}`
    if (key.provider !== options.id) {
      return refuseWrite(writes, what, `the key belongs to provider ${key.provider}`)
    }
    return sendWrite(
      writes,
      {
        method: 'PATCH',
        url: joinUrl(base, keyPath(key.providerKeyId)),
        endpoint: '/keys/{hash}',
        headers,
        body: { disabled: true },
        validate: validateKey,
        retry: 'server-errors',
      },
      {
        what,
        read: () => null,
        check: ({ data }) => (data.disabled ? undefined : 'the key is still enabled'),
      },
    )
  }

  return {
    id: options.id,
    type: 'openrouter',
    capabilities: () => CAPABILITIES,
    listKeys,
    usage,
    auditEvents,
    limitControl: () => LIMIT_CONTROL,
    readLimits,
    setLimit,
    canMint: () => true,
    mintKey,
    deactivateKey,
  }
}

const LIMIT_RESETS = ['daily', 'weekly', 'monthly'] as const

/** §3.2 `limit_reset`; an unknown value reads as null (no known reset) rather than failing the key. */
function limitReset(value: string | null | undefined): ProviderLimit['reset'] {
  return LIMIT_RESETS.find((r) => r === value) ?? null
}

function num(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = typeof value === 'number' ? value : Number(value)
  return Number.isFinite(n) ? n : undefined
}

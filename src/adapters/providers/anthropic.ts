import type {
  LimitControl,
  Provider,
  ProviderCapabilities,
  ProviderResult,
  WriteResult,
} from '../../ports/provider.js'
import type { AuditEvent, ProviderKey, ProviderKeyStatus, UsageRecord } from '../../records.js'
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
  rfc3339,
} from './common.js'
import {
  type AnthropicActivity,
  type AnthropicApiKey,
  type AnthropicCostResult,
  type AnthropicList,
  type AnthropicReport,
  type AnthropicUsageResult,
  validateActivities,
  validateApiKey,
  validateApiKeys,
  validateCostReport,
  validateUsageReport,
} from './anthropic-schemas.js'
import { estimateCostUsd } from './prices.js'
import { refuseWrite, sendWrite, type WriteContext } from './writes.js'

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com'
/** §2.1: required on every Admin API call; the SDK's default. */
export const ANTHROPIC_VERSION = '2023-06-01'

const LIMIT_CONTROL: LimitControl = {
  scope: 'none',
  note: 'Anthropic sets spend limits per workspace in the Console only (console.anthropic.com → Settings → Workspaces → the workspace → Limits); keyward watches, it cannot set them',
}

/** §2.1: the Admin API takes an Admin key, which only an organization admin can create. */
export const ANTHROPIC_WRITE_PERMISSION = 'an Anthropic admin key (sk-ant-admin01-…)'

const CAPABILITIES: ProviderCapabilities = {
  listKeys: 'yes',
  usage: 'yes',
  usageGranularity: '1h',
  cost: 'estimated',
  auditEvents: 'feature-detected',
  apiTrafficIp: 'feature-detected',
  limitations: [
    'No cost per key: cost_report groups by workspace and description only; per-key cost is tokens × the dated price table (providers.md §2.4).',
    'No last-used time on keys; it is derived from usage (§2.5).',
    'The Compliance Activity Feed is enabled on request; without it there are no audit events (§2.6).',
    'Console (Workbench) usage has no api_key_id (§2.3).',
  ],
}

const STATUSES: Record<string, ProviderKeyStatus> = {
  active: 'active',
  inactive: 'inactive',
  archived: 'archived',
  expired: 'expired',
}

/** Anthropic Admin API (providers.md §2) and, when the organization has it, the Compliance Activity Feed (§2.6). */
export function createAnthropicProvider(options: ProviderAdapterOptions): Provider {
  const base = options.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES
  const headers = { 'x-api-key': options.adminKey, 'anthropic-version': ANTHROPIC_VERSION }
  const workspaces = options.projects ? new Set(options.projects) : undefined
  let complianceUnavailable = false

  const recorder = () => new CallRecorder(options.id, options.http, options.log)
  const get = <T>(
    endpoint: string,
    query: Array<[string, string]>,
    validate: JsonRequest<T>['validate'],
  ): Promise<HttpResult<T>> =>
    options.http.json<T>({ url: joinUrl(base, endpoint, query), endpoint, headers, validate })
  const cursor = (name: string, value: string | undefined): Array<[string, string]> =>
    value === undefined ? [] : [[name, value]]

  async function listKeys(): Promise<ProviderResult<ProviderKey[]>> {
    const rec = recorder()
    const endpoint = '/v1/organizations/api_keys'
    const pages = rec.pages(
      endpoint,
      await paginate<AnthropicList<AnthropicApiKey>>({
        maxPages,
        // §2.2: limit up to 1000, `after_id=<last_id>` while has_more.
        fetch: (after) =>
          get(endpoint, [['limit', '1000'], ...cursor('after_id', after)], validateApiKeys),
        next: (page) => (page.has_more && page.last_id ? page.last_id : undefined),
      }),
      maxPages,
    )
    const now = options.now().getTime()
    const keys = pages
      .flatMap((p) => p.data)
      .filter((k) => !workspaces || workspaces.has(k.workspace_id ?? 'default'))
      .map((k): ProviderKey => {
        const expiresAt = k.expires_at ? Date.parse(k.expires_at) : Number.NaN
        const status: ProviderKeyStatus =
          !Number.isNaN(expiresAt) && expiresAt <= now
            ? 'expired'
            : (STATUSES[k.status] ?? 'inactive')
        return {
          provider: options.id,
          providerKeyId: k.id,
          hint: k.partial_key_hint ?? undefined,
          name: k.name ?? undefined,
          created: normalizeIso(k.created_at),
          lastUsed: undefined,
          status,
          project: k.workspace_id ?? undefined,
          owner: k.created_by?.id,
        }
      })
    return rec.result(keys)
  }

  async function usage(since: Date, until: Date): Promise<ProviderResult<UsageRecord[]>> {
    const rec = recorder()
    const records: UsageRecord[] = []
    const workspaceFilter: Array<[string, string]> = (options.projects ?? []).map((w) => [
      'workspace_ids[]',
      w,
    ])

    const usageEndpoint = '/v1/organizations/usage_report/messages'
    const start = floorTo(since, '1h')
    const end = ceilTo(until, '1h')
    const usagePages = rec.pages(
      usageEndpoint,
      await paginate<AnthropicReport<AnthropicUsageResult>>({
        maxPages,
        fetch: (page) =>
          get(
            usageEndpoint,
            [
              ['starting_at', rfc3339(start)],
              ['ending_at', rfc3339(end)],
              ['bucket_width', '1h'],
              ['limit', '168'],
              ['group_by[]', 'api_key_id'],
              ['group_by[]', 'model'],
              ...workspaceFilter,
              ...cursor('page', page),
            ],
            validateUsageReport,
          ),
        next: (page) => (page.has_more && page.next_page ? page.next_page : undefined),
      }),
      maxPages,
    )
    for (const page of usagePages) {
      for (const bucket of page.data) {
        for (const r of bucket.results) records.push(toUsage(bucket, r))
      }
    }

    // §2.4: reported cost exists per workspace only; kept unattributed (no key), for reconciliation.
    const costEndpoint = '/v1/organizations/cost_report'
    const costPages = rec.pages(
      costEndpoint,
      await paginate<AnthropicReport<AnthropicCostResult>>({
        maxPages,
        fetch: (page) =>
          get(
            costEndpoint,
            [
              ['starting_at', rfc3339(floorTo(since, '1d'))],
              ['ending_at', rfc3339(ceilTo(until, '1d'))],
              ['bucket_width', '1d'],
              ['limit', '31'],
              ['group_by[]', 'workspace_id'],
              ...cursor('page', page),
            ],
            validateCostReport,
          ),
        next: (page) => (page.has_more && page.next_page ? page.next_page : undefined),
      }),
      maxPages,
    )
    for (const page of costPages) {
      for (const bucket of page.data) {
        for (const r of bucket.results) {
          if (r.amount === null) continue
          if (workspaces && !workspaces.has(r.workspace_id ?? 'default')) continue
          records.push({
            provider: options.id,
            providerKeyId: undefined,
            start: normalizeIso(bucket.starting_at) ?? bucket.starting_at,
            end: normalizeIso(bucket.ending_at) ?? bucket.ending_at,
            model: r.model ?? undefined,
            operation: 'cost',
            requests: undefined,
            inputTokens: 0,
            outputTokens: 0,
            cachedTokens: 0,
            // "123.45" means 123.45 cents (§2.4).
            costUsd: Number(r.amount) / 100,
            costSource: 'reported',
            project: r.workspace_id ?? undefined,
          })
        }
      }
    }
    return rec.result(records)
  }

  function toUsage(
    bucket: { starting_at: string; ending_at: string },
    r: AnthropicUsageResult,
  ): UsageRecord {
    const write5m = r.cache_creation?.ephemeral_5m_input_tokens ?? 0
    const write1h = r.cache_creation?.ephemeral_1h_input_tokens ?? 0
    const model = r.model ?? undefined
    const cost = estimateCostUsd(model, {
      uncachedInput: r.uncached_input_tokens,
      output: r.output_tokens,
      cacheRead: r.cache_read_input_tokens,
      cacheWrite5m: write5m,
      cacheWrite1h: write1h,
    })
    return {
      provider: options.id,
      providerKeyId: r.api_key_id ?? undefined,
      start: normalizeIso(bucket.starting_at) ?? bucket.starting_at,
      end: normalizeIso(bucket.ending_at) ?? bucket.ending_at,
      model,
      operation: 'messages',
      requests: undefined,
      inputTokens: r.uncached_input_tokens + r.cache_read_input_tokens + write5m + write1h,
      outputTokens: r.output_tokens,
      cachedTokens: r.cache_read_input_tokens,
      costUsd: cost,
      costSource: cost === undefined ? 'none' : 'estimated',
      project: r.workspace_id ?? undefined,
    }
  }

  async function auditEvents(since: Date, until: Date): Promise<ProviderResult<AuditEvent[]>> {
    const rec = recorder()
    if (complianceUnavailable) return rec.result([])
    const endpoint = '/v1/compliance/activities'
    const result = await paginate<AnthropicList<AnthropicActivity>>({
      maxPages,
      // §2.6: newest first; `after_id` walks to older entries.
      fetch: (after) =>
        get(
          endpoint,
          [
            ['created_at.gte', rfc3339(since)],
            ['created_at.lt', rfc3339(until)],
            ['limit', '1000'],
            ...cursor('after_id', after),
          ],
          validateActivities,
        ),
      next: (page) => (page.has_more && page.last_id ? page.last_id : undefined),
    })
    const status = result.failure?.status
    if (result.pages.length === 0 && (status === 403 || status === 404)) {
      // Feature detection (§2.6): the feed is enabled on request. Not an error; said once.
      complianceUnavailable = true
      rec.note(
        `compliance activity feed not available for this organization (HTTP ${status}); no audit events`,
      )
      return rec.result([])
    }
    const events = rec
      .pages(endpoint, result, maxPages)
      .flatMap((p) => p.data)
      .map((a): AuditEvent => {
        const detailKey = typeof a.api_key_id === 'string' ? a.api_key_id : undefined
        return {
          provider: options.id,
          eventId: a.id,
          type: a.type,
          at: normalizeIso(a.created_at) ?? a.created_at,
          actor:
            a.actor.email_address ??
            a.actor.user_id ??
            a.actor.api_key_id ??
            a.actor.admin_api_key_id,
          ip: a.actor.ip_address,
          userAgent: a.actor.user_agent,
          providerKeyId: a.actor.api_key_id ?? detailKey,
        }
      })
    return rec.result(events)
  }

  const writes: WriteContext = {
    provider: options.id,
    http: options.http,
    log: options.log,
    permission: ANTHROPIC_WRITE_PERMISSION,
  }

  /**
   * §2.5: `POST /v1/organizations/api_keys/{id}` with `status: inactive`, read back from the
   * ApiKey it answers with. Setting the same status again answers the same, so it is repeatable.
   * Keys cannot be created by API (§2.5), and limits live in the Console: no mint, no setLimit.
   */
  async function deactivateKey(key: ProviderKey): Promise<WriteResult<null>> {
    const what = `deactivate key ${key.providerKeyId}`
    if (key.provider !== options.id) {
      return refuseWrite(writes, what, `the key belongs to provider ${key.provider}`)
    }
    return sendWrite(
      writes,
      {
        method: 'POST',
        url: joinUrl(base, `/v1/organizations/api_keys/${encodeURIComponent(key.providerKeyId)}`),
        endpoint: '/v1/organizations/api_keys/{api_key_id}',
        headers,
        body: { status: 'inactive' },
        validate: validateApiKey,
        retry: 'server-errors',
      },
      {
        what,
        read: () => null,
        check: (k) => (k.status === 'inactive' ? undefined : `the key is ${k.status}`),
      },
    )
  }

  return {
    id: options.id,
    type: 'anthropic',
    capabilities: () => CAPABILITIES,
    listKeys,
    usage,
    auditEvents,
    limitControl: () => LIMIT_CONTROL,
    deactivateKey,
  }
}

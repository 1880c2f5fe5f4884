/**
 * A synthetic organization for the audit and report benchmarks, generated deterministically
 * from a seed: the inventory of test/fakes/inventory-generator.ts, and for each of its keys
 * hourly usage over 90 days. Each key is active in about 30% of the hours: mostly inside its
 * workflow's active hours, rarely outside them; about 10% of its active hours also use a
 * second model.
 *
 * The same usage comes out in three forms: provider pages (OpenAI's
 * `/organization/usage/completions` shape, grouped by `api_key_id` and `model`, served to the
 * real OpenAI adapter through an in-memory HttpClient), snapshot files as `keyward audit`
 * writes them (canonical JSON, one per hourly run), and nothing else: the UsageRecords the
 * code under test sees are always the adapter's own, or JSON.parse of the snapshots.
 */
import { canonicalJson } from '../src/ledger/canonical-json.js'
import { parse } from 'yaml'
import type { HttpClient, HttpResult, JsonRequest } from '../src/adapters/http/client.js'
import { createOpenAiProvider } from '../src/adapters/providers/openai.js'
import { estimateCostUsd } from '../src/adapters/providers/prices.js'
import type { DetectorContext } from '../src/analysis/detectors/context.js'
import { matchKeys } from '../src/analysis/key-matching.js'
import type { Inventory } from '../src/inventory/types.js'
import { silentLog } from '../src/ports/log.js'
import type { Provider } from '../src/ports/provider.js'
import type { ProviderKey, UsageRecord } from '../src/records.js'
import { generateInventory } from '../test/fakes/inventory-generator.js'
import { untimed } from './child.js'

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS
export const HISTORY_DAYS = 90
export const HISTORY_HOURS = HISTORY_DAYS * 24
/** The end of the 90 days (exclusive), hour-aligned. */
export const END = new Date('2026-12-15T12:00:00Z')
export const START = new Date(END.getTime() - HISTORY_HOURS * HOUR_MS)
/** Share of hours in which a key is used. */
export const ACTIVE_SHARE = 0.3
/** Chance that an active key-hour also uses a second model. */
const SECOND_MODEL_SHARE = 0.1
/** Chance of use in an hour outside the workflow's active hours. */
const OFF_HOURS_SHARE = 0.02

const MODELS: Record<string, readonly [string, string]> = {
  openai: ['gpt-4o-mini', 'gpt-4o'],
  anthropic: ['claude-sonnet-4-5', 'claude-haiku-4-5'],
  openrouter: ['openai/gpt-4.1-mini', 'openai/gpt-4.1-nano'],
}

/** A uniform value in [0, 1) for (seed, a, b, c): independent of generation order. */
function unit(seed: number, a: number, b: number, c: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ a
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) ^ b
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) ^ c
  h = Math.imul(h ^ (h >>> 16), 0x2c1b3c6d)
  return ((h ^ (h >>> 15)) >>> 0) / 2 ** 32
}

interface SyntheticKey {
  index: number
  id: string
  provider: string
  providerKeyId: string
  models: readonly [string, string]
  /** Workflow's UTC offset in hours (its zone in December, DST ignored) and active hours. */
  offset: number
  from: number
  to: number
  /** Chance of use in an active hour, so the key's daily mean is ACTIVE_SHARE. */
  inHours: number
  /** Typical input tokens per hour. */
  scale: number
}

export interface SyntheticOrg {
  seed: number
  inventory: Inventory
  keys: SyntheticKey[]
  /** Per provider, the keys its listing returns (what listKeys would give). */
  providerKeys: Map<string, ProviderKey[]>
}

export function syntheticOrg(size: number, seed: number): SyntheticOrg {
  const inventory = parse(generateInventory(size, seed)) as Inventory
  const keys = Object.entries(inventory.keys).map(([id, entry], index): SyntheticKey => {
    const workflow = inventory.workflows[entry.workflow]
    const [from, to] = (workflow?.active_hours ?? '00:00-24:00')
      .split('-')
      .map((t) => Number(t.slice(0, 2)))
    const activeHours = ((to ?? 24) - (from ?? 0) + 24) % 24 || 24
    const inHours = Math.min(
      1,
      (ACTIVE_SHARE * 24 - OFF_HOURS_SHARE * (24 - activeHours)) / activeHours,
    )
    return {
      index,
      id,
      provider: entry.provider,
      providerKeyId: entry.provider_key_id ?? `pk_${index}`,
      models: MODELS[entry.provider] ?? ['gpt-4o-mini', 'gpt-4o'],
      offset: workflow?.timezone === 'America/New_York' ? -5 : 1,
      from: from ?? 0,
      to: to ?? 24,
      inHours,
      scale: Math.round(500 + 20_000 * unit(seed, index, 0, 7) ** 2),
    }
  })
  const providerKeys = new Map<string, ProviderKey[]>()
  for (const key of keys) {
    const list = providerKeys.get(key.provider) ?? []
    list.push({
      provider: key.provider,
      providerKeyId: key.providerKeyId,
      hint: `sk-…${String(key.index).padStart(4, '0')}`,
      name: key.id,
      created: '2026-09-01T00:00:00.000Z',
      lastUsed: undefined,
      status: 'active',
      project: 'proj_bench',
      owner: undefined,
    })
    providerKeys.set(key.provider, list)
  }
  return { seed, inventory, keys, providerKeys }
}

/** The providers of the inventory, in a stable order. */
export const providersOf = (org: SyntheticOrg) => Object.keys(org.inventory.providers)

interface Use {
  model: string
  requests: number
  input: number
  output: number
  cached: number
}

/** What key `key` used in hour `hour` (hours since START): nothing, one model, or two. */
function usesOf(org: SyntheticOrg, key: SyntheticKey, hour: number): Use[] {
  const utcHour = (END.getUTCHours() + hour) % 24
  const local = (utcHour + key.offset + 24) % 24
  const inside =
    key.from < key.to ? local >= key.from && local < key.to : local >= key.from || local < key.to
  if (unit(org.seed, key.index, hour, 1) >= (inside ? key.inHours : OFF_HOURS_SHARE)) return []
  const one = (model: string, salt: number): Use => {
    const input = Math.round(key.scale * (0.4 + 1.2 * unit(org.seed, key.index, hour, salt)))
    return {
      model,
      requests: 1 + Math.floor(input / 900),
      input,
      output: Math.round(input * 0.3),
      cached: Math.round(input * 0.2),
    }
  }
  const uses = [one(key.models[0], 2)]
  if (unit(org.seed, key.index, hour, 3) < SECOND_MODEL_SHARE) uses.push(one(key.models[1], 4))
  return uses
}

const seconds = (hour: number) => START.getTime() / 1000 + hour * 3600

/** Keys per provider, in inventory order. */
function keysByProvider(org: SyntheticOrg): Map<string, SyntheticKey[]> {
  const by = new Map<string, SyntheticKey[]>(providersOf(org).map((p) => [p, []]))
  for (const key of org.keys) by.get(key.provider)?.push(key)
  return by
}

/** A provider's pages, each made when it is asked for (as a server sends it) and not kept. */
export interface PageList {
  count: number
  page(index: number): string
}

/**
 * Provider pages of hourly buckets for hours [from, to) (since START), `hoursPerPage` buckets
 * a page, per provider: `/organization/usage/completions` pages as OpenAI returns them with
 * `group_by=api_key_id,model`, chained by `next_page`. Nothing is generated until a page is
 * asked for.
 */
export function usagePageLists(
  org: SyntheticOrg,
  from: number,
  to: number,
  hoursPerPage: number,
): Map<string, PageList> {
  const lists = new Map<string, PageList>()
  const count = Math.max(0, Math.ceil((to - from) / hoursPerPage))
  for (const [provider, keys] of keysByProvider(org)) {
    lists.set(provider, {
      count,
      page(index) {
        const first = from + index * hoursPerPage
        const last = Math.min(to, first + hoursPerPage)
        const buckets: string[] = []
        for (let hour = first; hour < last; hour++) {
          const results: string[] = []
          for (const key of keys)
            for (const u of usesOf(org, key, hour))
              results.push(
                `{"object":"organization.usage.completions.result","input_tokens":${u.input},"output_tokens":${u.output},"num_model_requests":${u.requests},"project_id":"proj_bench","user_id":null,"api_key_id":"${key.providerKeyId}","model":"${u.model}","batch":false,"input_cached_tokens":${u.cached},"input_audio_tokens":0,"output_audio_tokens":0}`,
              )
          buckets.push(
            `{"object":"bucket","start_time":${seconds(hour)},"end_time":${seconds(hour + 1)},"results":[${results.join(',')}]}`,
          )
        }
        const more = last < to
        return `{"object":"page","data":[${buckets.join(',')}],"has_more":${more},"next_page":${more ? `"${index + 1}"` : 'null'}}`
      },
    })
  }
  return lists
}

/** The pages of usagePageLists, all made at once (for callers that keep them). */
export function usagePages(
  org: SyntheticOrg,
  from: number,
  to: number,
  hoursPerPage: number,
): Map<string, string[]> {
  const pages = new Map<string, string[]>()
  for (const [provider, list] of usagePageLists(org, from, to, hoursPerPage))
    pages.set(
      provider,
      Array.from({ length: list.count }, (_, i) => list.page(i)),
    )
  return pages
}

const EMPTY_PAGE = '{"object":"page","data":[],"has_more":false,"next_page":null}'

/**
 * An HttpClient that serves pages the way the real client answers: JSON.parse of the body, then
 * the adapter's schema check. `/organization/usage/completions` gets `pages` (cursor = `page`),
 * each made when asked for, outside the timing (`untimed`), and dropped after, as a body read
 * over HTTP is; the other usage families get an empty page, and `/organization/costs` a 400: an
 * organization without per-key costs, so the adapter estimates cost from tokens.
 */
export function pageServer(pages: PageList): HttpClient {
  let requests = 0
  return {
    async json<T>(spec: JsonRequest<T>): Promise<HttpResult<T>> {
      requests++
      const path = spec.url.pathname.replace(/^\/v1/, '')
      if (path === '/organization/costs') {
        return {
          ok: false,
          failure: {
            kind: 'http-status',
            provider: 'bench',
            endpoint: spec.endpoint,
            method: 'GET',
            url: spec.url.toString(),
            status: 400,
            errorType: 'invalid_request_error',
            attempts: 1,
            detail: 'group_by api_key_id not supported',
          },
        }
      }
      const index = Number(spec.url.searchParams.get('page') ?? '0')
      const body =
        path === '/organization/usage/completions' && index < pages.count
          ? untimed(() => pages.page(index))
          : EMPTY_PAGE
      const value = JSON.parse(body) as unknown
      if (!spec.validate(value)) throw new Error(`bench page does not match ${spec.endpoint}`)
      return { ok: true, value, status: 200 }
    },
    requestCount: () => requests,
    close: async () => {},
  }
}

/** The real OpenAI adapter for provider `id`, reading `pages`. */
export function servedProvider(id: string, pages: PageList): Provider {
  return createOpenAiProvider({
    id,
    adminKey: 'sk-admin-bench',
    http: pageServer(pages),
    log: silentLog,
    now: () => END,
  })
}

/** Every provider's usage in [since, until) through the adapter; throws on a gap. */
export async function readUsage(
  pages: ReadonlyMap<string, PageList>,
  since: Date,
  until: Date,
): Promise<UsageRecord[]> {
  let all: UsageRecord[] = []
  for (const [id, list] of pages) {
    const result = await servedProvider(id, list).usage(since, until)
    if (result.gaps.length > 0) throw new Error(`${id}: ${result.gaps[0]?.reason}`)
    // As the audit's flatMap over its reads: one copy, not a push per record.
    all = all.length === 0 ? result.data : all.concat(result.data)
  }
  return all
}

/**
 * The DetectorContext as `keyward audit` builds it (step 5 and 7 of src/commands/audit.ts):
 * keys matched by `provider_key_id`, usage merged and in time order, no events, no failures.
 */
export function detectorContext(
  org: SyntheticOrg,
  usage: readonly UsageRecord[],
  now: Date,
  windowStart: Date,
): DetectorContext {
  const listed = [...org.providerKeys.values()].flat()
  const byId = new Map(listed.map((k) => [`${k.provider}\u0000${k.providerKeyId}`, k]))
  const report = matchKeys(
    Object.entries(org.inventory.keys).map(([keyId, key]) => ({
      keyId,
      provider: key.provider,
      ...(key.provider_key_id ? { providerKeyId: key.provider_key_id } : {}),
    })),
    listed,
  )
  const matches = new Map<string, ProviderKey>()
  for (const m of report.matches) {
    if (m.status !== 'matched') continue
    const key = byId.get(`${org.inventory.keys[m.keyId]?.provider}\u0000${m.providerKeyId}`)
    if (key) matches.set(m.keyId, key)
  }
  return {
    inventory: org.inventory,
    now,
    providerKeys: org.providerKeys,
    matches,
    adminProviderKeyIds: new Set(),
    usage,
    events: [],
    windowStart,
    failedRuns: new Map(providersOf(org).map((p) => [p, 0])),
    secretFingerprints: new Map(),
    tampered: [],
    leaks: [],
  }
}

/** A UsageRecord as canonical JSON writes it (keys sorted), as the adapter would have built it. */
function recordJson(provider: string, key: SyntheticKey, hour: number, u: Use): string {
  const cost = estimateCostUsd(u.model, {
    uncachedInput: Math.max(0, u.input - u.cached),
    output: u.output,
    cacheRead: u.cached,
  })
  const start = new Date(START.getTime() + hour * HOUR_MS).toISOString()
  const end = new Date(START.getTime() + (hour + 1) * HOUR_MS).toISOString()
  const costPart =
    cost === undefined
      ? '"costSource":"none"'
      : `"costSource":"estimated","costUsd":${JSON.stringify(cost)}`
  return `{"cachedTokens":${u.cached},${costPart},"end":"${end}","inputTokens":${u.input},"model":"${u.model}","operation":"completions","outputTokens":${u.output},"project":"proj_bench","provider":"${provider}","providerKeyId":"${key.providerKeyId}","requests":${u.requests},"start":"${start}"}`
}

/**
 * The snapshot `keyward audit` commits for the hourly run that read hour `hour`: canonical
 * JSON (keys sorted), that hour's usage per provider, the window it read (24 h overlap), some
 * findings (canonical JSON objects) and the digest of the usage days the run carried
 * (`usage_days_sha256`). With `listings`, the key listings and matches as the audit writes them:
 * whole in the first snapshot of each UTC day, `"unchanged"` in the others; without, none.
 */
export function snapshotText(
  org: SyntheticOrg,
  hour: number,
  listings: boolean,
  findings: readonly string[] = [],
  usageDaysDigest?: string,
): string {
  const at = new Date(START.getTime() + (hour + 1) * HOUR_MS).toISOString()
  const since = new Date(START.getTime() + (hour - 24) * HOUR_MS).toISOString()
  // The first snapshot of a UTC day (written at 00:00 for the hour before) holds them whole.
  const whole = listings && at.slice(11, 13) === '00'
  const providers: string[] = []
  for (const [provider, keys] of [...keysByProvider(org)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const usage: string[] = []
    for (const key of keys)
      for (const u of usesOf(org, key, hour)) usage.push(recordJson(provider, key, hour, u))
    const listing = !listings
      ? 'null'
      : whole
        ? canonicalJson(org.providerKeys.get(provider) ?? []).trimEnd()
        : '"unchanged"'
    providers.push(
      `"${provider}":{"events":[],"keys":${listing},"notes":[],"requests":9,"usage":[${usage.join(',')}],"window":{"since":"${since}","until":"${at}"}}`,
    )
  }
  const matches = !listings
    ? '{}'
    : whole
      ? `{${org.keys
          .map((k) => `"${k.id}":{"by":"provider_key_id","provider_key_id":"${k.providerKeyId}"}`)
          .sort()
          .join(',')}}`
      : '"unchanged"'
  const digest = usageDaysDigest === undefined ? '' : `"usage_days_sha256":"${usageDaysDigest}",`
  return `{"at":"${at}","findings":[${findings.join(',')}],"gaps":[],"matches":${matches},"providers":{${providers.join(',')}},"secret_sha256":{},${digest}"vault_access":[],"version":1}\n`
}

/** Path of the snapshot of `hour` (SPEC §7 layout). */
export function snapshotPath(hour: number): string {
  const at = new Date(START.getTime() + (hour + 1) * HOUR_MS).toISOString()
  return `audit/snapshots/${at.slice(0, 10)}/${at.slice(11, 19).replaceAll(':', '')}Z.json`
}

/** Usage records of `hours` of the org (expected record count), without building them. */
export function countRecords(org: SyntheticOrg, from: number, to: number): number {
  let n = 0
  for (const key of org.keys) for (let h = from; h < to; h++) n += usesOf(org, key, h).length
  return n
}

export const keysLabel = (keys: number) => `${keys.toLocaleString('en-US')} keys`

export function numberParam(params: Record<string, unknown>, name: string): number {
  const value = params[name]
  if (typeof value !== 'number') throw new Error(`missing parameter ${name}`)
  return value
}

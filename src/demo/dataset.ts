import { redactedHint } from '../analysis/key-matching.js'
import { estimateCostUsd } from '../adapters/providers/prices.js'
import type { AnthropicFakeData } from './fake-anthropic.js'
import type { OpenAiFakeData } from './fake-openai.js'
import type { OpenRouterFakeData } from './fake-openrouter.js'

/**
 * The recorded demo dataset (issue 4 §7): deterministic provider data for the keys of
 * `examples/demo/keyward.yaml`, plus one key the inventory does not know, hourly over the last
 * `days` days up to `now`, with seeded incidents the audit detectors must find. Same seed and
 * `now` → the same bytes.
 */

export const DEMO_KEY_IDS = [
  'avatar-video-openai',
  'blog-writer-anthropic',
  'night-batch-openrouter',
  'honeypot-openai',
] as const
export type DemoKeyId = (typeof DEMO_KEY_IDS)[number]

export type DemoIncidentKind =
  | 'spend-spike'
  | 'off-hours'
  | 'idle-key'
  | 'canary-used'
  | 'unexpected-model'
  | 'unfamiliar-ip'
  | 'unmanaged-key'
  | 'cap-drift'

export interface DemoIncident {
  kind: DemoIncidentKind
  provider: 'openai' | 'anthropic' | 'openrouter'
  /** The inventory key id; undefined for the key the inventory does not know. */
  keyId: DemoKeyId | undefined
  providerKeyId: string
  /** ISO 8601 UTC: the hour or day the incident sits in. */
  at: string
  detail: string
}

export interface DemoDataset {
  now: string
  seed: number
  openai: OpenAiFakeData
  anthropic: AnthropicFakeData
  openrouter: OpenRouterFakeData
  /** Inventory key → provider key id the fakes serve. */
  providerKeyIds: Record<DemoKeyId, string>
  /** The provider key the inventory does not list. */
  unmanagedKeyId: string
  incidents: DemoIncident[]
}

export interface DemoDatasetOptions {
  now: Date
  seed?: number
  /** Hours of history; at least 35 days so baselines exist. */
  days?: number
  /**
   * The decrypted demo keys, when the caller has them: the hints of hint-matched keys are made
   * from them so matching works. Otherwise `demoSecrets(seed)` stands in.
   */
  secrets?: Partial<Record<DemoKeyId, string>>
}

const HOUR = 3_600
const DAY = 86_400

/** mulberry32: small, fast, deterministic; good enough for demo data. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

function randomChars(random: () => number, alphabet: string, length: number): string {
  let out = ''
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)]
  return out
}

/**
 * Fake plaintext keys shaped like the real ones, built at run time from pieces (a repository
 * hook rejects key-shaped literals). They unlock nothing.
 */
export function demoSecrets(seed = 7): Record<DemoKeyId, string> {
  const random = seededRandom(seed ^ 0x5eed)
  const openai = (kind: string) =>
    [
      'sk',
      kind,
      randomChars(random, B64URL, 58) + ['T3Bl', 'bkFJ'].join('') + randomChars(random, B64URL, 58),
    ].join('-')
  return {
    'avatar-video-openai': openai('proj'),
    'honeypot-openai': openai('proj'),
    'blog-writer-anthropic': ['sk', 'ant', 'api03', randomChars(random, B64URL, 93) + 'AA'].join(
      '-',
    ),
    'night-batch-openrouter': ['sk', 'or', 'v1', randomChars(random, '0123456789abcdef', 64)].join(
      '-',
    ),
  }
}

/** The local hour (0–23) of a Unix time in an IANA zone; Intl is pure, no clock read. */
function localHour(seconds: number, timeZone: string): number {
  const formatted = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hour: 'numeric',
    hourCycle: 'h23',
  }).format(new Date(seconds * 1000))
  return Number(formatted) % 24
}

function inHours(hour: number, from: number, to: number): boolean {
  return from <= to ? hour >= from && hour < to : hour >= from || hour < to
}

function isoDay(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10)
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString()
}

export function buildDemoDataset(options: DemoDatasetOptions): DemoDataset {
  const seed = options.seed ?? 7
  const random = seededRandom(seed)
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const days = Math.max(35, options.days ?? 40)
  const secrets = { ...demoSecrets(seed), ...options.secrets }
  const nowS = Math.floor(options.now.getTime() / 1000)
  const endHour = Math.floor(nowS / HOUR) * HOUR // the current, partial hour is not served
  const today = Math.floor(nowS / DAY) * DAY
  const startHour = today - days * DAY
  const incidents: DemoIncident[] = []

  const ids = {
    'avatar-video-openai': 'key_demo_avatar01',
    'honeypot-openai': 'key_demo_honeypot01',
    'blog-writer-anthropic': 'apikey_demo_blog01',
    'night-batch-openrouter': randomChars(random, '0123456789abcdef', 64),
  } satisfies Record<DemoKeyId, string>
  const unmanaged = 'key_demo_unknown01'

  // Incident times, fixed relative to `now` so every demo run shows them.
  const spikeDay = today - 2 * DAY
  const offHoursDay = today - DAY
  const opusDay = today - 3 * DAY
  const canaryHour = endHour - 5 * HOUR
  const idleSince = today - 33 * DAY

  // ---- OpenAI (providers.md §1) ----
  const openai: OpenAiFakeData = {
    now: nowS,
    projects: [
      { id: 'proj_demo_media', name: 'Media', created_at: today - 400 * DAY, status: 'active' },
      { id: 'proj_demo_web', name: 'Website', created_at: today - 400 * DAY, status: 'active' },
    ],
    keys: [],
    usage: [],
    costs: [],
    auditLogs: [],
  }
  const costByDay = new Map<
    string,
    { at: number; key: string; project: string; model: string; usd: number }
  >()
  const addOpenAi = (
    key: string,
    project: string,
    at: number,
    model: string,
    input: number,
    output: number,
    requests: number,
  ) => {
    const cached = Math.floor(input * 0.1)
    openai.usage.push({
      type: 'completions',
      at,
      api_key_id: key,
      project_id: project,
      model,
      input_tokens: input,
      output_tokens: output,
      input_cached_tokens: cached,
      num_model_requests: requests,
    })
    const usd =
      estimateCostUsd(model, { uncachedInput: input - cached, output, cacheRead: cached }) ?? 0
    const day = Math.floor(at / DAY) * DAY
    const id = `${day}|${key}|${model}`
    const entry = costByDay.get(id) ?? { at: day, key, project, model, usd: 0 }
    entry.usd += usd
    costByDay.set(id, entry)
  }
  let lastAvatar = 0
  for (let h = startHour; h < endHour; h += HOUR) {
    // avatar-video: New York 07:00–22:00, most active hours, gpt-4o-mini with some gpt-4o.
    if (inHours(localHour(h, 'America/New_York'), 7, 22) && random() < 0.6) {
      const factor = Math.floor(h / DAY) * DAY === spikeDay ? 8 : 1
      const model = random() < 0.7 ? 'gpt-4o-mini' : 'gpt-4o'
      addOpenAi(
        ids['avatar-video-openai'],
        'proj_demo_media',
        h + int(0, 3599),
        model,
        int(20_000, 40_000) * factor,
        int(2_000, 6_000) * factor,
        int(4, 12) * factor,
      )
      lastAvatar = h
    }
    // The key nobody declared: a little use most days, at any hour.
    if (random() < 0.05) {
      addOpenAi(
        unmanaged,
        'proj_demo_web',
        h + int(0, 3599),
        'gpt-4o-mini',
        int(1_000, 8_000),
        int(200, 900),
        int(1, 3),
      )
    }
  }
  addOpenAi(
    ids['honeypot-openai'],
    'proj_demo_web',
    canaryHour + 1_234,
    'gpt-4o-mini',
    1_200,
    80,
    1,
  )
  openai.costs = [...costByDay.values()].map((c) => ({
    at: c.at + int(0, DAY - 1),
    api_key_id: c.key,
    project_id: c.project,
    line_item: `${c.model}, input`,
    usd: Math.round(c.usd * 1e6) / 1e6,
  }))
  openai.keys = [
    {
      project_id: 'proj_demo_media',
      id: ids['avatar-video-openai'],
      name: 'avatar-video',
      redacted_value: redactedHint('openai', secrets['avatar-video-openai']),
      created_at: today - 80 * DAY,
      last_used_at: lastAvatar || null,
      owner_project_access: 'active',
      owner: { type: 'user', user: { id: 'user_demo_jeff', email: 'jeff@example.com' } },
    },
    {
      project_id: 'proj_demo_web',
      id: ids['honeypot-openai'],
      name: 'website-example-env',
      redacted_value: redactedHint('openai', secrets['honeypot-openai']),
      created_at: today - 120 * DAY,
      last_used_at: canaryHour + 1_234,
      owner_project_access: 'active',
      owner: { type: 'user', user: { id: 'user_demo_jeff', email: 'jeff@example.com' } },
    },
    {
      project_id: 'proj_demo_web',
      id: unmanaged,
      name: 'old-laptop',
      redacted_value: `sk-pro...${randomChars(random, B64URL, 3)}`,
      created_at: today - 200 * DAY,
      last_used_at: endHour - HOUR,
      owner_project_access: 'active',
      owner: {
        type: 'service_account',
        service_account: { id: 'svc_demo_laptop', name: 'laptop' },
      },
    },
  ]
  for (let d = startHour; d < today; d += DAY) {
    openai.auditLogs.push({
      id: `audit_log-demo-login-${isoDay(d)}`,
      type: 'login.succeeded',
      effective_at: d + 13 * HOUR + int(0, 3_000),
      actor: {
        type: 'session',
        session: {
          user: { id: 'user_demo_jeff', email: 'jeff@example.com' },
          ip_address: '192.0.2.10',
          user_agent: 'Mozilla/5.0',
        },
      },
      'login.succeeded': {},
    })
  }
  openai.auditLogs.push({
    id: 'audit_log-demo-honeypot-created',
    type: 'api_key.created',
    effective_at: today - 120 * DAY + 600,
    actor: {
      type: 'session',
      session: {
        user: { id: 'user_demo_jeff', email: 'jeff@example.com' },
        ip_address: '192.0.2.10',
      },
    },
    'api_key.created': { id: ids['honeypot-openai'], data: { scopes: ['model.read'] } },
  })
  incidents.push(
    {
      kind: 'spend-spike',
      provider: 'openai',
      keyId: 'avatar-video-openai',
      providerKeyId: ids['avatar-video-openai'],
      at: iso(spikeDay),
      detail: 'eight times the usual tokens all day',
    },
    {
      kind: 'canary-used',
      provider: 'openai',
      keyId: 'honeypot-openai',
      providerKeyId: ids['honeypot-openai'],
      at: iso(canaryHour),
      detail: 'one request with the canary key',
    },
    {
      kind: 'unmanaged-key',
      provider: 'openai',
      keyId: undefined,
      providerKeyId: unmanaged,
      at: iso(startHour),
      detail: 'a project key the inventory does not list, in use',
    },
  )

  // ---- Anthropic (providers.md §2) ----
  const workspace = 'wrkspc_demo_blog'
  const anthropic: AnthropicFakeData = {
    now: nowS,
    keys: [
      {
        id: ids['blog-writer-anthropic'],
        name: 'blog-writer',
        created_at: iso(today - 45 * DAY),
        created_by: { id: 'user_demo_maria', type: 'user' },
        partial_key_hint: redactedHint('anthropic', secrets['blog-writer-anthropic']),
        status: 'active',
        workspace_id: workspace,
      },
    ],
    usage: [],
    costs: [],
    activities: [],
    compliance: 'enabled',
  }
  const centsByDay = new Map<number, number>()
  const addAnthropic = (at: number, model: string, input: number, output: number) => {
    const read = Math.floor(input * 0.2)
    anthropic.usage.push({
      at,
      api_key_id: ids['blog-writer-anthropic'],
      workspace_id: workspace,
      model,
      uncached_input_tokens: input - read,
      cache_read_input_tokens: read,
      cache_creation_5m: 0,
      cache_creation_1h: 0,
      output_tokens: output,
    })
    const usd =
      estimateCostUsd(model, { uncachedInput: input - read, output, cacheRead: read }) ?? 0
    const day = Math.floor(at / DAY) * DAY
    centsByDay.set(day, (centsByDay.get(day) ?? 0) + usd * 100)
  }
  for (let h = startHour; h < endHour; h += HOUR) {
    const local = localHour(h, 'Europe/Berlin')
    const day = Math.floor(h / DAY) * DAY
    if (inHours(local, 9, 19) && random() < 0.4) {
      const model = random() < 0.6 ? 'claude-sonnet-4-5-20250929' : 'claude-haiku-4-5-20251001'
      addAnthropic(h + int(0, 3599), model, int(8_000, 25_000), int(1_500, 4_000))
    }
    if (day === offHoursDay && local >= 2 && local < 5) {
      addAnthropic(
        h + int(0, 3599),
        'claude-sonnet-4-5-20250929',
        int(150_000, 200_000),
        int(20_000, 30_000),
      )
    }
    if (day === opusDay && local >= 10 && local < 13) {
      addAnthropic(
        h + int(0, 3599),
        'claude-opus-4-1-20250805',
        int(20_000, 30_000),
        int(3_000, 5_000),
      )
    }
  }
  anthropic.costs = [...centsByDay.entries()].map(([day, cents]) => ({
    at: day,
    workspace_id: workspace,
    description: 'Claude Usage - Tokens',
    cents: Math.round(cents * 1e5) / 1e5,
  }))
  for (let d = startHour; d < today; d += DAY) {
    anthropic.activities.push({
      id: `activity_demo_${isoDay(d)}`,
      created_at: iso(d + 10 * HOUR + int(0, 3_000)),
      organization_id: 'org_demo',
      organization_uuid: 'org_demo',
      type: 'platform_file_uploaded',
      actor: {
        type: 'api_actor',
        api_key_id: ids['blog-writer-anthropic'],
        ip_address: `203.0.113.${int(10, 20)}`,
        user_agent: 'WordPress/6.6',
      },
    })
  }
  const unfamiliarAt = offHoursDay + 3 * HOUR + 420
  anthropic.activities.push({
    id: 'activity_demo_unfamiliar',
    created_at: iso(unfamiliarAt),
    organization_id: 'org_demo',
    organization_uuid: 'org_demo',
    type: 'platform_file_uploaded',
    actor: {
      type: 'api_actor',
      api_key_id: ids['blog-writer-anthropic'],
      ip_address: '198.51.100.77',
      user_agent: 'curl/8.5.0',
    },
  })
  incidents.push(
    {
      kind: 'off-hours',
      provider: 'anthropic',
      keyId: 'blog-writer-anthropic',
      providerKeyId: ids['blog-writer-anthropic'],
      at: iso(offHoursDay),
      detail: 'heavy use 02:00–05:00 Berlin time',
    },
    {
      kind: 'unexpected-model',
      provider: 'anthropic',
      keyId: 'blog-writer-anthropic',
      providerKeyId: ids['blog-writer-anthropic'],
      at: iso(opusDay),
      detail: 'claude-opus-4-1 is not in allowed_models',
    },
    {
      kind: 'unfamiliar-ip',
      provider: 'anthropic',
      keyId: 'blog-writer-anthropic',
      providerKeyId: ids['blog-writer-anthropic'],
      at: iso(unfamiliarAt),
      detail: 'API activity from 198.51.100.77, outside 203.0.113.0/24',
    },
  )

  // ---- OpenRouter (providers.md §3) ----
  const openrouter: OpenRouterFakeData = {
    now: nowS,
    keys: [
      {
        hash: ids['night-batch-openrouter'],
        name: 'night-batch',
        label: redactedHint('openrouter', secrets['night-batch-openrouter']),
        disabled: false,
        limit: 20,
        limit_reset: 'monthly',
        created_at: iso(today - 60 * DAY),
        updated_at: null,
        creator_user_id: 'user_demo_jeff',
        workspace_id: '0df9e665-d932-5740-b2c7-b52af166bc11',
      },
    ],
    activity: [],
  }
  for (let d = startHour; d < idleSince; d += DAY) {
    openrouter.activity.push({
      date: isoDay(d),
      key_hash: ids['night-batch-openrouter'],
      model: 'openai/gpt-4o-mini',
      provider_name: 'OpenAI',
      usage: Math.round((0.2 + random() * 0.3) * 1e4) / 1e4,
      requests: int(40, 80),
      prompt_tokens: int(200_000, 400_000),
      completion_tokens: int(20_000, 50_000),
    })
  }
  // The Media project has no hard spend limit, while keyward.yaml caps avatar-video-openai at
  // $45 a month: in `caps: report` mode the audit says what it would set.
  incidents.push({
    kind: 'cap-drift',
    provider: 'openai',
    keyId: 'avatar-video-openai',
    providerKeyId: ids['avatar-video-openai'],
    at: iso(nowS),
    detail: 'project proj_demo_media has no spend limit; cap_usd_month is 45',
  })
  incidents.push({
    kind: 'idle-key',
    provider: 'openrouter',
    keyId: 'night-batch-openrouter',
    providerKeyId: ids['night-batch-openrouter'],
    at: iso(idleSince),
    detail: 'no use for 33 days (idle_after 30d)',
  })

  return {
    now: iso(nowS),
    seed,
    openai,
    anthropic,
    openrouter,
    providerKeyIds: ids,
    unmanagedKeyId: unmanaged,
    incidents,
  }
}

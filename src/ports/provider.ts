import type { AuditEvent, Gap, ProviderKey, UsageRecord } from '../records.js'

/**
 * What one read of a provider produced. `data` holds everything that could be read; each
 * endpoint that could not be read left a gap instead (DESIGN.md "fail loud, lose nothing").
 * `notes` say what is not available by design (not an error, reported once).
 */
export interface ProviderResult<T> {
  data: T
  gaps: Gap[]
  notes: string[]
  /** HTTP requests this call made, retries included: the efficiency bound is asserted on it. */
  requests: number
}

/** How well a provider supports a signal, as known before or learned during a run. */
export type Support = 'yes' | 'no' | 'feature-detected'

export interface ProviderCapabilities {
  listKeys: Support
  /** Per-key usage (tokens/requests); `granularity` is the smallest bucket read. */
  usage: Support
  usageGranularity: '1h' | '1d'
  /** Per-key cost: reported by the provider, estimated from tokens, or unknown. */
  cost: 'reported' | 'estimated' | 'reported-or-estimated'
  auditEvents: Support
  /** Whether audit events can carry the IP of API (inference) traffic. */
  apiTrafficIp: Support
  /** Lasting limitations, in words for reports and docs. */
  limitations: string[]
}

/** A spend limit the provider enforces, on one key (OpenRouter) or on a project (OpenAI). */
export interface ProviderLimit {
  scope: 'key' | 'project'
  /** `providerKeyId` for a key, the project id for a project. */
  target: string
  /** USD; null = no limit set. */
  usd: number | null
  /** When the provider resets what counts against it (OpenRouter `limit_reset`; OpenAI: `monthly`). */
  reset: 'daily' | 'weekly' | 'monthly' | null
}

/** Where a provider enforces spend limits, and how a person sets them when not by API. */
export interface LimitControl {
  scope: 'key' | 'project' | 'none'
  /** In words, for the dashboard and validate: e.g. Anthropic's console path. */
  note: string
}

/** The result of one write to a provider: the value read back, or why it was refused. */
export type WriteResult<T> =
  | { ok: true; value: T; requests: number }
  | {
      ok: false
      /** One line, no secret: method, path, status, the provider's error type. */
      reason: string
      status: number | undefined
      /** The right the admin key lacks, in words, when the provider refused (401/403). */
      permission?: string
      requests: number
    }

/** A key the provider just created. `secret` is the plaintext: encrypt it at once, then drop it. */
export interface MintedKey {
  key: ProviderKey
  secret: string
}

/** The Provider port (DESIGN.md): reads one provider account with its admin key. */
export interface Provider {
  /** The inventory's provider id. */
  readonly id: string
  /** The provider API: `openai`, `anthropic`, `openrouter`. */
  readonly type: string
  capabilities(): ProviderCapabilities
  listKeys(): Promise<ProviderResult<ProviderKey[]>>
  /** Usage and cost in [since, until), in the provider's finest useful buckets, grouped by key and model. */
  usage(since: Date, until: Date): Promise<ProviderResult<UsageRecord[]>>
  auditEvents(since: Date, until: Date): Promise<ProviderResult<AuditEvent[]>>

  /** Where this provider enforces spend limits (SPEC §1 `cap_usd_month`). */
  limitControl(): LimitControl
  /** The limits in force on these keys (or their projects); targets it could not read are left out, with a note or gap. */
  readLimits?(keys: readonly ProviderKey[]): Promise<ProviderResult<ProviderLimit[]>>
  /** Sets a monthly limit in USD and returns it as read back from the provider. */
  setLimit?(
    target: Pick<ProviderLimit, 'scope' | 'target'>,
    usd: number,
  ): Promise<WriteResult<ProviderLimit>>
  /** Whether a replacement for this key can be created by API (OpenRouter; OpenAI service-account keys). */
  canMint?(key: ProviderKey): boolean
  /** Creates a replacement for `like`, named `name`, with a monthly limit when given. */
  mintKey?(
    like: ProviderKey,
    name: string,
    limitUsd: number | null,
  ): Promise<WriteResult<MintedKey>>
  /** Disables, deactivates or deletes a key, whichever the provider offers (providers.md table). */
  deactivateKey?(key: ProviderKey): Promise<WriteResult<null>>
}

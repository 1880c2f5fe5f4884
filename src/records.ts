/** Provider-neutral records (DESIGN.md "Normalized records"). No plaintext key ever lives here. */

/** One decryption of a secret file, for the audit snapshot. */
export interface VaultAccess {
  /** The SOPS file, relative to the governance repository. */
  file: string
  /** The inventory key id, or `admin:<provider>` for an admin key. */
  keyId: string | undefined
  /** ISO 8601 UTC time of the decryption. */
  at: string
  /** Who or what decrypted: the GitHub run, or the local user. */
  actor: string
  purpose: string
}

/** A key's state at its provider, folded into one union across providers. */
export type ProviderKeyStatus = 'active' | 'inactive' | 'archived' | 'expired' | 'disabled'

/**
 * One key as its provider lists it. `hint` is the provider's own redacted form
 * (`sk-abc...def`); the plaintext is never known to the provider adapters.
 */
export interface ProviderKey {
  /** The inventory's provider id (`openai`, or whatever the user named the entry). */
  provider: string
  /** The provider's id for the key: `key_…`, `apikey_…`, an OpenRouter hash. */
  providerKeyId: string
  hint: string | undefined
  name: string | undefined
  /** ISO 8601 UTC. */
  created: string | undefined
  /** ISO 8601 UTC, only where the provider reports it (OpenAI). */
  lastUsed: string | undefined
  status: ProviderKeyStatus
  /** OpenAI project id, Anthropic workspace id (undefined: the default workspace), OpenRouter workspace. */
  project: string | undefined
  /** Who owns or created the key: a user email or id, or a service account id. */
  owner: string | undefined
  /** The provider-side spend limit in USD, where the provider has one (OpenRouter); null = none. */
  limitUsd?: number | null
  /** When that limit resets (OpenRouter `limit_reset`). */
  limitReset?: 'daily' | 'weekly' | 'monthly' | null
  /** Whether a person or a service account owns the key (OpenAI); minting needs a service account. */
  ownerType?: 'user' | 'service_account'
}

/** Where a record's cost comes from; `estimated` is tokens × the dated price table. */
export type CostSource = 'reported' | 'estimated' | 'none'

/**
 * Usage of one key and model in one time bucket. Records with `providerKeyId` undefined are
 * not attributable to a key (Anthropic Console usage, organization-level cost lines), and
 * cost-only records (OpenAI daily costs) carry zero tokens, so sums never double count.
 */
export interface UsageRecord {
  provider: string
  providerKeyId: string | undefined
  /** Bucket bounds, ISO 8601 UTC; start inclusive, end exclusive. */
  start: string
  end: string
  model: string | undefined
  /** The provider's usage family: `completions`, `embeddings`, `messages`, `cost`, `activity`. */
  operation: string
  /** Requests, where the provider counts them (Anthropic does not). */
  requests: number | undefined
  inputTokens: number
  outputTokens: number
  /** Part of `inputTokens` served from the provider's prompt cache. */
  cachedTokens: number
  costUsd: number | undefined
  costSource: CostSource
  /** Workspace/project of the usage, where reported. */
  project?: string | undefined
}

/** One entry of a provider's audit or activity log. */
export interface AuditEvent {
  provider: string
  eventId: string
  /** The provider's own event type (`api_key.created`, `api_key_created`). */
  type: string
  /** ISO 8601 UTC. */
  at: string
  /** Email, user id, or key id of whoever acted. */
  actor: string | undefined
  ip: string | undefined
  userAgent: string | undefined
  /** The key the event concerns or was made with, when the provider says. */
  providerKeyId: string | undefined
}

/** Data that could not be read: the run goes on, the snapshot records the hole. */
export interface Gap {
  provider: string
  /** A path without query, e.g. `/organization/usage/completions`. */
  endpoint: string
  reason: string
}

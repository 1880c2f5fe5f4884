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
}

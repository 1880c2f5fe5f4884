import { compile } from './common.js'

/**
 * Response shapes of the Anthropic Admin API (providers.md §2.2–§2.9) and the Compliance
 * Activity Feed (§2.6). Required: what the adapter reads; extra fields allowed.
 */

const nullableString = { type: ['string', 'null'] }
const count = { type: 'integer', minimum: 0 }

export interface AnthropicList<T> {
  data: T[]
  has_more: boolean
  first_id?: string | null
  last_id?: string | null
}

export interface AnthropicApiKey {
  id: string
  name: string | null
  created_at: string
  created_by?: { id?: string; type?: string } | null
  partial_key_hint: string | null
  status: string
  workspace_id?: string | null
  expires_at?: string | null
}

// §2.5 ApiKey (2025 docs: all required; 2026 makes created_by nullable, adds expires_at).
const apiKeySchema = {
  type: 'object',
  required: ['id', 'created_at', 'partial_key_hint', 'status'],
  properties: {
    id: { type: 'string' },
    name: nullableString,
    created_at: { type: 'string' },
    created_by: {
      type: ['object', 'null'],
      properties: { id: { type: 'string' }, type: { type: 'string' } },
    },
    partial_key_hint: nullableString,
    status: { type: 'string' },
    workspace_id: nullableString,
    expires_at: nullableString,
  },
}

export const validateApiKeys = compile<AnthropicList<AnthropicApiKey>>({
  type: 'object',
  required: ['data', 'has_more'],
  properties: {
    data: { type: 'array', items: apiKeySchema },
    has_more: { type: 'boolean' },
    last_id: nullableString,
  },
})

/** §2.2 `POST /v1/organizations/api_keys/{api_key_id}` answers with the updated ApiKey. */
export const validateApiKey = compile<AnthropicApiKey>(apiKeySchema)

export interface AnthropicReport<R> {
  data: Array<{ starting_at: string; ending_at: string; results: R[] }>
  has_more: boolean
  next_page: string | null
}

function reportOf(result: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['data', 'has_more', 'next_page'],
    properties: {
      data: {
        type: 'array',
        items: {
          type: 'object',
          required: ['starting_at', 'ending_at', 'results'],
          properties: {
            starting_at: { type: 'string' },
            ending_at: { type: 'string' },
            results: { type: 'array', items: result },
          },
        },
      },
      has_more: { type: 'boolean' },
      next_page: nullableString,
    },
  }
}

/** §2.3/§2.9 usage result; no request count exists. */
export interface AnthropicUsageResult {
  uncached_input_tokens: number
  cache_creation?: { ephemeral_1h_input_tokens?: number; ephemeral_5m_input_tokens?: number } | null
  cache_read_input_tokens: number
  output_tokens: number
  api_key_id?: string | null
  workspace_id?: string | null
  model?: string | null
}

export const validateUsageReport = compile<AnthropicReport<AnthropicUsageResult>>(
  reportOf({
    type: 'object',
    required: ['uncached_input_tokens', 'cache_read_input_tokens', 'output_tokens'],
    properties: {
      uncached_input_tokens: count,
      cache_creation: {
        type: ['object', 'null'],
        properties: { ephemeral_1h_input_tokens: count, ephemeral_5m_input_tokens: count },
      },
      cache_read_input_tokens: count,
      output_tokens: count,
      api_key_id: nullableString,
      workspace_id: nullableString,
      model: nullableString,
    },
  }),
)

/** §2.4 CostReportItem: `amount` is a decimal string in cents. */
export interface AnthropicCostResult {
  currency: string | null
  amount: string | null
  workspace_id?: string | null
  description?: string | null
  model?: string | null
}

export const validateCostReport = compile<AnthropicReport<AnthropicCostResult>>(
  reportOf({
    type: 'object',
    required: ['currency', 'amount'],
    properties: {
      currency: nullableString,
      amount: { type: ['string', 'null'], pattern: '^-?\\d+(\\.\\d+)?$' },
      workspace_id: nullableString,
      description: nullableString,
      model: nullableString,
    },
  }),
)

/** §2.6 activity: `id`, `created_at`, `type`, `actor` (typed by `actor.type`). */
export interface AnthropicActivity {
  id: string
  created_at: string
  type: string
  actor: {
    type: string
    email_address?: string
    user_id?: string
    api_key_id?: string
    admin_api_key_id?: string
    ip_address?: string
    user_agent?: string
  }
  [detail: string]: unknown
}

export const validateActivities = compile<AnthropicList<AnthropicActivity>>({
  type: 'object',
  required: ['data', 'has_more'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'created_at', 'type', 'actor'],
        properties: {
          id: { type: 'string' },
          created_at: { type: 'string' },
          type: { type: 'string' },
          actor: {
            type: 'object',
            required: ['type'],
            properties: {
              type: { type: 'string' },
              email_address: { type: 'string' },
              user_id: { type: 'string' },
              api_key_id: { type: 'string' },
              admin_api_key_id: { type: 'string' },
              ip_address: { type: 'string' },
              user_agent: { type: 'string' },
            },
          },
        },
      },
    },
    has_more: { type: 'boolean' },
    last_id: nullableString,
  },
})

import { compile } from './common.js'

/** Response shapes of the OpenRouter management API (providers.md §3.2–§3.4); extras allowed. */

const nullableString = { type: ['string', 'null'] }
const nullableNumber = { type: ['number', 'null'] }

export interface OpenRouterKey {
  hash: string
  name: string
  label: string
  disabled: boolean
  limit: number | null
  /** `daily`, `weekly`, `monthly` or null (§3.2); an unknown value is kept as read. */
  limit_reset?: string | null
  usage: number
  usage_daily?: number
  created_at: string
  updated_at?: string | null
  expires_at?: string | null
  creator_user_id?: string | null
  workspace_id?: string | null
}

// §3.2 `Key`.
const keySchema = {
  type: 'object',
  required: ['hash', 'name', 'label', 'disabled', 'limit', 'usage', 'created_at'],
  properties: {
    hash: { type: 'string' },
    name: { type: 'string' },
    label: { type: 'string' },
    disabled: { type: 'boolean' },
    limit: nullableNumber,
    limit_reset: nullableString,
    usage: { type: 'number' },
    usage_daily: { type: 'number' },
    created_at: { type: 'string' },
    updated_at: nullableString,
    expires_at: nullableString,
    creator_user_id: nullableString,
    workspace_id: nullableString,
  },
}

export const validateKeys = compile<{ data: OpenRouterKey[] }>({
  type: 'object',
  required: ['data'],
  properties: { data: { type: 'array', items: keySchema } },
})

/** §3.2 `GET`/`PATCH /keys/{hash}`: `{data: Key}`. */
export const validateKey = compile<{ data: OpenRouterKey }>({
  type: 'object',
  required: ['data'],
  properties: { data: keySchema },
})

/** §3.2 `POST /keys` (201): `{data: Key, key}`; the plaintext key appears only here. */
export const validateCreatedKey = compile<{ data: OpenRouterKey; key: string }>({
  type: 'object',
  required: ['data', 'key'],
  properties: { data: keySchema, key: { type: 'string', minLength: 1 } },
})

/**
 * §3.3: `{data: {data: rows, metadata}}`. Rows are keyed `date__day`, dimension values (the
 * `api_key_id` dimension holds key *names*), and metrics that may come back as strings.
 */
export interface OpenRouterAnalyticsRow {
  date__day: string
  api_key_id: string | null
  model?: string | null
  total_usage?: number | string
  request_count?: number | string
  tokens_prompt?: number | string
  tokens_completion?: number | string
}

export interface OpenRouterAnalytics {
  data: { data: OpenRouterAnalyticsRow[]; metadata?: { truncated?: boolean } }
}

const metric = { type: ['number', 'string'], pattern: '^\\d+(\\.\\d+)?$' }

export const validateAnalytics = compile<OpenRouterAnalytics>({
  type: 'object',
  required: ['data'],
  properties: {
    data: {
      type: 'object',
      required: ['data'],
      properties: {
        data: {
          type: 'array',
          items: {
            type: 'object',
            required: ['date__day', 'api_key_id'],
            properties: {
              date__day: { type: 'string' },
              api_key_id: nullableString,
              model: nullableString,
              total_usage: metric,
              request_count: metric,
              tokens_prompt: metric,
              tokens_completion: metric,
            },
          },
        },
        metadata: { type: 'object', properties: { truncated: { type: 'boolean' } } },
      },
    },
  },
})

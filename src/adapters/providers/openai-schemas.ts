import { compile } from './common.js'
import { isRecord } from '../../is-record.js'

/**
 * Response shapes of the OpenAI Administration API (providers.md §1.2–§1.8). Each schema
 * requires the fields the adapter reads and allows any extra, since providers add fields.
 */

const nullableString = { type: ['string', 'null'] }
const nullableInteger = { type: ['integer', 'null'] }

export interface OpenAiList<T> {
  object: 'list'
  data: T[]
  has_more: boolean
  last_id?: string | null
}

export interface OpenAiProject {
  id: string
  name: string
  status?: string
}

export interface OpenAiProjectApiKey {
  id: string
  name: string | null
  redacted_value: string
  created_at: number
  last_used_at: number | null
  owner_project_access?: string
  owner?: {
    type: string
    user?: { id?: string; email?: string }
    service_account?: { id?: string; name?: string }
  }
}

function listOf(item: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['object', 'data', 'has_more'],
    properties: {
      object: { const: 'list' },
      data: { type: 'array', items: item },
      has_more: { type: 'boolean' },
      last_id: nullableString,
    },
  }
}

// §1.6 Project.
export const validateProjects = compile<OpenAiList<OpenAiProject>>(
  listOf({
    type: 'object',
    required: ['id', 'name'],
    properties: { id: { type: 'string' }, name: { type: 'string' }, status: { type: 'string' } },
  }),
)

// §1.6 ProjectApiKey: all fields required by the spec; we need id, redacted_value, created_at.
export const validateProjectApiKeys = compile<OpenAiList<OpenAiProjectApiKey>>(
  listOf({
    type: 'object',
    required: ['id', 'redacted_value', 'created_at', 'last_used_at'],
    properties: {
      id: { type: 'string' },
      name: nullableString,
      redacted_value: { type: 'string' },
      created_at: { type: 'integer' },
      last_used_at: nullableInteger,
      owner_project_access: { type: 'string' },
      owner: {
        type: 'object',
        required: ['type'],
        properties: {
          type: { type: 'string' },
          user: {
            type: 'object',
            properties: { id: { type: 'string' }, email: { type: 'string' } },
          },
          service_account: {
            type: 'object',
            properties: { id: { type: 'string' }, name: { type: 'string' } },
          },
        },
      },
    },
  }),
)

/** §1.3 result objects, all usage types in one shape: the fields absent for a type stay optional. */
export interface OpenAiUsageResult {
  object: string
  api_key_id?: string | null
  model?: string | null
  project_id?: string | null
  num_model_requests?: number
  input_tokens?: number
  output_tokens?: number
  input_cached_tokens?: number
  images?: number
  characters?: number
  seconds?: number
}

export interface OpenAiBucket<R> {
  object: 'bucket'
  start_time: number
  end_time: number
  results: R[]
}

export interface OpenAiPage<R> {
  object: 'page'
  data: Array<OpenAiBucket<R>>
  has_more: boolean
  next_page: string | null
}

function pageOf(result: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    required: ['object', 'data', 'has_more', 'next_page'],
    properties: {
      object: { const: 'page' },
      data: {
        type: 'array',
        items: {
          type: 'object',
          required: ['start_time', 'end_time', 'results'],
          properties: {
            start_time: { type: 'integer' },
            end_time: { type: 'integer' },
            results: { type: 'array', items: result },
          },
        },
      },
      has_more: { type: 'boolean' },
      next_page: nullableString,
    },
  }
}

const count = { type: 'integer', minimum: 0 }

/** Per usage type, the counters §1.3 marks required. */
export const USAGE_REQUIRED: Readonly<Record<string, readonly string[]>> = {
  completions: ['input_tokens', 'output_tokens', 'num_model_requests'],
  embeddings: ['input_tokens', 'num_model_requests'],
  moderations: ['input_tokens', 'num_model_requests'],
  images: ['images', 'num_model_requests'],
  audio_speeches: ['characters', 'num_model_requests'],
  audio_transcriptions: ['seconds', 'num_model_requests'],
}

/** The schema of a usage page whose results must have the counters `required`. */
export function usagePageSchema(required: readonly string[]): Record<string, unknown> {
  return pageOf({
    type: 'object',
    required: ['object', ...required],
    properties: {
      object: { type: 'string' },
      api_key_id: nullableString,
      model: nullableString,
      project_id: nullableString,
      num_model_requests: count,
      input_tokens: count,
      output_tokens: count,
      input_cached_tokens: count,
      images: count,
      characters: count,
      seconds: { type: 'number', minimum: 0 },
    },
  })
}

export const validateUsage = Object.fromEntries(
  Object.entries(USAGE_REQUIRED).map(([type, required]) => [
    type,
    compile<OpenAiPage<OpenAiUsageResult>>(usagePageSchema(required), usagePageCheck(required)),
  ]),
)

/** A present field's check; `needed` fails an absent one too. */
const isCount = (v: unknown, needed: boolean) =>
  v === undefined ? !needed : Number.isSafeInteger(v) && (v as number) >= 0
const isNullableString = (v: unknown) => v === undefined || v === null || typeof v === 'string'

/**
 * usagePageSchema by hand: a backfill validates hundreds of thousands of results, and ajv both
 * compiled six validators for them (in the run) and walked them slower. True only for a page
 * the schema accepts (its number checks are, if anything, stricter); compile() hands the rest
 * to ajv for the verdict and the messages.
 */
export function usagePageCheck(required: readonly string[]): (data: unknown) => boolean {
  const need = new Set(required)
  const requests = need.has('num_model_requests')
  const input = need.has('input_tokens')
  const output = need.has('output_tokens')
  const cached = need.has('input_cached_tokens')
  const images = need.has('images')
  const characters = need.has('characters')
  const seconds = need.has('seconds')
  const known = [
    'num_model_requests',
    'input_tokens',
    'output_tokens',
    'input_cached_tokens',
    'images',
    'characters',
    'seconds',
  ]
  // A field this check does not know: every page goes to ajv.
  if (required.some((field) => !known.includes(field))) return () => false
  return (data) => {
    if (!isRecord(data) || data.object !== 'page' || typeof data.has_more !== 'boolean')
      return false
    if (!(data.next_page === null || typeof data.next_page === 'string')) return false
    const buckets = data.data
    if (!Array.isArray(buckets)) return false
    for (let b = 0; b < buckets.length; b++) {
      const bucket: unknown = buckets[b]
      if (!isRecord(bucket) || !Number.isSafeInteger(bucket.start_time)) return false
      if (!Number.isSafeInteger(bucket.end_time)) return false
      const results = bucket.results
      if (!Array.isArray(results)) return false
      for (let i = 0; i < results.length; i++) {
        const r: unknown = results[i]
        if (!isRecord(r) || typeof r.object !== 'string') return false
        if (!isNullableString(r.api_key_id) || !isNullableString(r.model)) return false
        if (!isNullableString(r.project_id)) return false
        if (!isCount(r.num_model_requests, requests) || !isCount(r.input_tokens, input))
          return false
        if (!isCount(r.output_tokens, output) || !isCount(r.input_cached_tokens, cached))
          return false
        if (!isCount(r.images, images) || !isCount(r.characters, characters)) return false
        const s = r.seconds
        if (s === undefined ? seconds : !(Number.isFinite(s) && (s as number) >= 0)) return false
      }
    }
    return true
  }
}

/** §1.4 `organization.costs.result`. */
export interface OpenAiCostResult {
  object: string
  amount: { value: number; currency: string }
  api_key_id?: string | null
  project_id?: string | null
  line_item?: string | null
}

export const validateCosts = compile<OpenAiPage<OpenAiCostResult>>(
  pageOf({
    type: 'object',
    required: ['object', 'amount'],
    properties: {
      object: { type: 'string' },
      amount: {
        type: 'object',
        required: ['value', 'currency'],
        properties: { value: { type: 'number' }, currency: { type: 'string' } },
      },
      api_key_id: nullableString,
      project_id: nullableString,
      line_item: nullableString,
    },
  }),
)

/** §1.5 AuditLog: `id`, `type`, `effective_at` required; the detail object is named after `type`. */
export interface OpenAiAuditLog {
  id: string
  type: string
  effective_at: number
  actor?: {
    type?: string
    session?: {
      user?: { id?: string; email?: string }
      ip_address?: string
      user_agent?: string
    }
    api_key?: {
      id?: string
      type?: string
      user?: { id?: string; email?: string }
      service_account?: { id?: string }
    }
  }
  [detail: string]: unknown
}

export const validateAuditLogs = compile<OpenAiList<OpenAiAuditLog>>(
  listOf({
    type: 'object',
    required: ['id', 'type', 'effective_at'],
    properties: {
      id: { type: 'string' },
      type: { type: 'string' },
      effective_at: { type: 'integer' },
      actor: {
        type: 'object',
        properties: {
          type: { type: 'string' },
          session: {
            type: 'object',
            properties: {
              user: {
                type: 'object',
                properties: { id: { type: 'string' }, email: { type: 'string' } },
              },
              ip_address: { type: 'string' },
              user_agent: { type: 'string' },
            },
          },
          api_key: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              type: { type: 'string' },
              user: {
                type: 'object',
                properties: { id: { type: 'string' }, email: { type: 'string' } },
              },
              service_account: { type: 'object', properties: { id: { type: 'string' } } },
            },
          },
        },
      },
    },
  }),
)

/**
 * `GET`/`POST /organization/projects/{id}/spend_limit` (OpenAI API reference; providers.md
 * §1.2 confirms the path only): `threshold_amount` in integer cents, 0 meaning none.
 */
export interface OpenAiSpendLimit {
  object?: string
  threshold_amount: number
  currency: string
  interval: string
  enforcement?: { status?: string }
}

export const validateSpendLimit = compile<OpenAiSpendLimit>({
  type: 'object',
  required: ['threshold_amount', 'currency', 'interval'],
  properties: {
    object: { type: 'string' },
    threshold_amount: { type: 'integer', minimum: 0 },
    currency: { type: 'string' },
    interval: { type: 'string' },
    enforcement: { type: 'object', properties: { status: { type: 'string' } } },
  },
})

/**
 * `POST /organization/projects/{id}/service_accounts`: the new service account with its one
 * API key, whose plaintext `value` appears only in this answer.
 */
export interface OpenAiCreatedServiceAccount {
  id: string
  name?: string | null
  created_at: number
  api_key: { value: string; id: string; name?: string | null; created_at: number }
}

export const validateCreatedServiceAccount = compile<OpenAiCreatedServiceAccount>({
  type: 'object',
  required: ['id', 'created_at', 'api_key'],
  properties: {
    id: { type: 'string' },
    name: nullableString,
    created_at: { type: 'integer' },
    api_key: {
      type: 'object',
      required: ['value', 'id', 'created_at'],
      properties: {
        value: { type: 'string', minLength: 1 },
        id: { type: 'string' },
        name: nullableString,
        created_at: { type: 'integer' },
      },
    },
  },
})

/** §1.2 deletion objects: `organization.project.api_key.deleted`, `….service_account.deleted`. */
export interface OpenAiDeleted {
  object?: string
  id: string
  deleted: boolean
}

export const validateDeleted = compile<OpenAiDeleted>({
  type: 'object',
  required: ['id', 'deleted'],
  properties: { object: { type: 'string' }, id: { type: 'string' }, deleted: { type: 'boolean' } },
})

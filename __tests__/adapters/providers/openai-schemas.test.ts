import { describe, expect, it } from '@jest/globals'
import { Ajv2020 } from 'ajv/dist/2020.js'
import {
  USAGE_REQUIRED,
  usagePageCheck,
  usagePageSchema,
  validateUsage,
} from '../../../src/adapters/providers/openai-schemas.js'

/**
 * The usage pages' hand-written check (usagePageCheck) against ajv on the same schema: it may
 * accept only what ajv accepts, and validateUsage answers as ajv does, with ajv's messages,
 * whichever of the two looked at the page.
 */

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true })

function result(type: string): Record<string, unknown> {
  const base: Record<string, unknown> = {
    object: `organization.usage.${type}.result`,
    api_key_id: 'key_1',
    model: 'gpt-4o-mini',
    project_id: null,
    num_model_requests: 3,
  }
  for (const field of USAGE_REQUIRED[type] ?? []) base[field] ??= field === 'seconds' ? 1.5 : 7
  return base
}

function page(type: string): Record<string, unknown> {
  return {
    object: 'page',
    data: [
      { object: 'bucket', start_time: 1_700_000_000, end_time: 1_700_003_600, results: [] },
      {
        object: 'bucket',
        start_time: 1_700_003_600,
        end_time: 1_700_007_200,
        results: [
          result(type),
          // Every optional field too, so that each is changed below.
          {
            ...result(type),
            api_key_id: null,
            model: null,
            project_id: 'proj_1',
            input_tokens: 10,
            output_tokens: 0,
            input_cached_tokens: 0,
            images: 1,
            characters: 2,
            seconds: 0.5,
          },
        ],
      },
    ],
    has_more: true,
    next_page: 'page_2',
  }
}

const WRONG: readonly unknown[] = [undefined, null, -1, 1.5, 2 ** 60, '3', true, {}, [], 0, 'x']

/** Every page one change away from `good`: each field (at every depth) set to each wrong value. */
function mutations(good: unknown): unknown[] {
  const out: unknown[] = [null, [], 'page', [good]]
  const visit = (value: unknown, replace: (v: unknown) => unknown) => {
    if (typeof value !== 'object' || value === null) return
    const entries = Array.isArray(value)
      ? value.map((v, i) => [i, v] as const)
      : Object.entries(value)
    for (const [field, item] of entries) {
      const swap = (v: unknown) =>
        replace(
          Array.isArray(value)
            ? value.map((x, i) => (i === field ? v : x))
            : v === undefined
              ? Object.fromEntries(Object.entries(value).filter(([k]) => k !== field))
              : { ...value, [field]: v },
        )
      for (const wrong of WRONG) out.push(swap(wrong))
      visit(item, swap)
    }
  }
  visit(good, (v) => v)
  return out
}

describe.each(Object.keys(USAGE_REQUIRED))('the %s usage page check', (type) => {
  const required = USAGE_REQUIRED[type] ?? []
  const byAjv = ajv.compile(usagePageSchema(required))
  const byHand = usagePageCheck(required)
  const validate = validateUsage[type]
  if (!validate) throw new Error(`no validator for ${type}`)

  it('accepts a well-formed page without ajv', () => {
    expect(byHand(page(type))).toBe(true)
    expect(validate(page(type))).toBe(true)
    expect(validate.errors).toBeNull()
  })

  it('accepts nothing that ajv rejects, and answers as ajv does', () => {
    const pages = mutations(page(type))
    expect(pages.length).toBeGreaterThan(200)
    let rejected = 0
    for (const candidate of pages) {
      const ok = byAjv(candidate)
      if (!ok) rejected++
      expect({ candidate, byHand: byHand(candidate) && !ok }).toEqual({ candidate, byHand: false })
      expect({ candidate, verdict: validate(candidate) }).toEqual({ candidate, verdict: ok })
      expect(validate.errors ?? null).toEqual(byAjv.errors ?? null)
    }
    expect(rejected).toBeGreaterThan(100)
  })

  it('names the field of a wrong result, as ajv does', () => {
    const bad = page(type)
    const buckets = bad.data as Array<{ results: Array<Record<string, unknown>> }>
    const first = buckets[1]?.results[0] as Record<string, unknown>
    first.num_model_requests = -2
    expect(validate(bad)).toBe(false)
    expect(validate.errors?.map((e) => `${e.instancePath} ${e.message}`)).toEqual([
      '/data/1/results/0/num_model_requests must be >= 0',
    ])
  })
})

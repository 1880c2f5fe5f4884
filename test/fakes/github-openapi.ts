/**
 * Checks a response of the GitHub fake against GitHub's published REST description (npm
 * `@octokit/openapi`, `generated/api.github.com.deref.json`: OpenAPI 3.0.3 with every `$ref`
 * resolved), so the fake cannot drift from the real API unnoticed.
 *
 * `validateGitHubResponse(method, path, status, body)` finds the operation (a concrete path is
 * matched against the `paths` templates; a template's last parameter may span slashes, as
 * `{ref}` and `{path}` do on GitHub), picks the response for the status (or `default`), and
 * validates the body with ajv (draft-07 class, `strict: false`, `allErrors: true`). OpenAPI 3.0's
 * `nullable: true` becomes `type: [t, 'null']` (or `anyOf [..., null]`); the formats `date-time`,
 * `date`, `uri` and `email` are checked (ajv-formats), every other format is accepted as is.
 *
 * The description is 70 MB: it is read once per process (per jest test file), on first use.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import addFormats from 'ajv-formats'

const DESCRIPTION = join(
  import.meta.dirname,
  '../../node_modules/@octokit/openapi/generated/api.github.com.deref.json',
)

type Schema = Record<string, unknown>

interface MediaType {
  schema?: Schema
}

interface ResponseObject {
  description?: string
  content?: Record<string, MediaType>
}

interface Operation {
  operationId?: string
  responses?: Record<string, ResponseObject>
}

interface Description {
  openapi: string
  paths: Record<string, Record<string, Operation>>
}

export interface GitHubResponseValidation {
  ok: boolean
  /** `GET /repos/{owner}/{repo}/git/ref/{ref}`, when the operation was found. */
  operation?: string
  operationId?: string
  /** The `responses` key used: the status, or `default`. */
  response?: string
  /** ajv's errors as `instancePath message (params)`, or why nothing could be checked. */
  errors: string[]
}

// ---------------------------------------------------------------------------------------------
// The description, its path templates and an ajv instance: built once

interface Template {
  template: string
  /** Segment-per-parameter match. */
  exact: RegExp
  /** The last parameter spanning slashes (`{ref}`, `{path}`, `{tree_sha}`), or undefined. */
  greedy: RegExp | undefined
  /** Characters outside parameters: the more, the more specific. */
  literal: number
}

interface Loaded {
  description: Description
  templates: Template[]
  ajv: Ajv
  compiled: Map<string, ValidateFunction>
}

let loaded: Loaded | undefined

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

function templateOf(template: string): Template {
  const parts = template.split(/(\{[^}]+\})/).filter((p) => p !== '')
  const params = parts.filter((p) => p.startsWith('{')).length
  const literal = parts.filter((p) => !p.startsWith('{')).join('').length
  const build = (greedyLast: boolean): RegExp => {
    let seen = 0
    const body = parts
      .map((p) => {
        if (!p.startsWith('{')) return escapeRegExp(p)
        seen++
        return greedyLast && seen === params ? '(.+)' : '([^/]+)'
      })
      .join('')
    return new RegExp(`^${body}$`)
  }
  return {
    template,
    exact: build(false),
    greedy: params > 0 ? build(true) : undefined,
    literal,
  }
}

function load(): Loaded {
  if (loaded) return loaded
  const description = JSON.parse(readFileSync(DESCRIPTION, 'utf8')) as Description
  const templates = Object.keys(description.paths).map(templateOf)
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateFormats: true })
  // ajv-formats is CommonJS: under NodeNext its default export is the module object.
  addFormats.default(ajv, ['date-time', 'date', 'uri', 'email'])
  loaded = { description, templates, ajv, compiled: new Map() }
  return loaded
}

/** The published description (parsed once), for tests that look operations up themselves. */
export function gitHubDescription(): Description {
  return load().description
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema draft-07

const KNOWN_FORMATS = new Set(['date-time', 'date', 'uri', 'email'])

/** `nullable: true` → `null` allowed; unknown formats dropped; OpenAPI-only keywords left (strict: false). */
export function toJsonSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toJsonSchema)
  if (typeof schema !== 'object' || schema === null) return schema
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (key === 'nullable' || key === 'example' || key === 'examples') continue
    if (key === 'format' && (typeof value !== 'string' || !KNOWN_FORMATS.has(value))) continue
    if (key === 'properties' || key === 'patternProperties') {
      out[key] = Object.fromEntries(
        Object.entries(value as Schema).map(([name, sub]) => [name, toJsonSchema(sub)]),
      )
      continue
    }
    out[key] = toJsonSchema(value)
  }
  if ((schema as Schema).nullable !== true) return out
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null]
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] }
  if (Array.isArray(out.type))
    return out.type.includes('null') ? out : { ...out, type: [...out.type, 'null'] }
  // nullable without a type (allOf/anyOf/oneOf): null, or the schema.
  return { anyOf: [{ type: 'null' }, out] }
}

// ---------------------------------------------------------------------------------------------
// Lookup

/** The operation of a concrete path (`/repos/owner/repo/issues/3`) or a template. */
export function findOperation(
  method: string,
  path: string,
): { template: string; operation: Operation } | undefined {
  const { description, templates } = load()
  const verb = method.toLowerCase()
  const bare = path.split('?')[0] ?? path
  const direct = description.paths[bare]?.[verb]
  if (direct) return { template: bare, operation: direct }
  let decoded = bare
  try {
    decoded = bare
      .split('/')
      .map((s) => decodeURIComponent(s))
      .join('/')
  } catch {
    // keep it as it came
  }
  const candidates = (greedy: boolean): Template[] =>
    templates
      .filter((t) => description.paths[t.template]?.[verb] !== undefined)
      .filter((t) => (greedy ? t.greedy?.test(decoded) : t.exact.test(decoded)))
      .sort((a, b) => b.literal - a.literal)
  const [best] = candidates(false).length > 0 ? candidates(false) : candidates(true)
  if (!best) return undefined
  return { template: best.template, operation: description.paths[best.template]?.[verb] ?? {} }
}

const formatError = (e: ErrorObject): string =>
  `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`

/**
 * Validates one response body against the published description. A `string` body (the raw media
 * type of the contents API) has no JSON schema: it passes when the operation documents the status.
 */
export function validateGitHubResponse(
  method: string,
  pathTemplateOrConcretePath: string,
  status: number,
  body: unknown,
): GitHubResponseValidation {
  const found = findOperation(method, pathTemplateOrConcretePath)
  const upper = method.toUpperCase()
  if (!found)
    return {
      ok: false,
      errors: [`no operation ${upper} ${pathTemplateOrConcretePath} in the description`],
    }
  const operation = `${upper} ${found.template}`
  const operationId = found.operation.operationId
  const responses = found.operation.responses ?? {}
  const key = responses[String(status)] !== undefined ? String(status) : 'default'
  const response = responses[key]
  const base = { operation, ...(operationId ? { operationId } : {}) }
  if (!response)
    return {
      ...base,
      ok: false,
      errors: [
        `status ${status} is not documented for ${operation} (documented: ${Object.keys(responses).join(', ')})`,
      ],
    }
  const content = response.content ?? {}
  const json =
    content['application/json'] ??
    Object.entries(content).find(([type]) => /json/.test(type))?.[1] ??
    undefined
  if (body === undefined || body === null || body === '') {
    // No content (204, 304): fine when the description has none either.
    const ok = json?.schema === undefined
    return {
      ...base,
      response: key,
      ok,
      errors: ok ? [] : [`${operation} ${status} documents a body, the response has none`],
    }
  }
  if (typeof body === 'string') return { ...base, response: key, ok: true, errors: [] }
  // An error the description names without a body (DELETE a ref → 422) does not constrain it.
  if (json?.schema === undefined && status >= 400)
    return { ...base, response: key, ok: true, errors: [] }
  if (json?.schema === undefined)
    return {
      ...base,
      response: key,
      ok: false,
      errors: [`${operation} ${status} documents no JSON body, the response has one`],
    }
  const { ajv, compiled } = load()
  const cacheKey = `${operation} ${key}`
  let validate = compiled.get(cacheKey)
  if (!validate) {
    validate = ajv.compile(toJsonSchema(json.schema) as Schema)
    compiled.set(cacheKey, validate)
  }
  const ok = validate(body) === true
  return { ...base, response: key, ok, errors: ok ? [] : (validate.errors ?? []).map(formatError) }
}

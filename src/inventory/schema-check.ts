import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import schema from '../../schemas/keyward.schema.json' with { type: 'json' }
import type { Finding } from '../analysis/findings.js'
import { asClause, describePath, showValue } from './describe.js'
import { locate, pointerToPath, type Path } from './locate.js'
import { didYouMean, listNames } from './nearest.js'
import type { ParsedYaml } from './parse.js'

export { schema as inventorySchema }

let compiled: ValidateFunction | undefined

/** Compiled once per process: compiling costs more than validating a large inventory. */
function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true })
    addFormats.default(ajv, ['date', 'uri'])
    compiled = ajv.compile(schema)
  }
  return compiled
}

interface SchemaNode {
  description?: string
  $ref?: string
  properties?: Record<string, SchemaNode>
}

/** Follows a local `$ref` (`#/$defs/x`) to the definition it names. */
function resolve(node: SchemaNode | undefined): SchemaNode | undefined {
  const ref = node?.$ref
  if (!ref?.startsWith('#/$defs/')) return node
  const defs = (schema as { $defs: Record<string, SchemaNode> }).$defs
  return defs[ref.slice('#/$defs/'.length)]
}

function describeField(parent: SchemaNode | undefined, field: string): string | undefined {
  const node = parent?.properties?.[field]
  return node?.description ?? resolve(node)?.description
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (fields indented under it)',
  array: 'a list',
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
}

function valueAt(value: unknown, path: Path): unknown {
  let node = value
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string, unknown>)[segment]
  }
  return node
}

/** Rewrites one ajv error for people: what was found, what was expected, where. */
function toFinding(parsed: ParsedYaml, error: ErrorObject): Finding | undefined {
  const path = pointerToPath(error.instancePath)
  const subject = describePath(path)
  const parent = error.parentSchema as SchemaNode | undefined
  const found = showValue(valueAt(parsed.value, path))
  const at = (where: Path, on: 'value' | 'key' = 'value') => {
    const { line, column } = locate(parsed, where, on)
    return { file: parsed.file, line, column }
  }
  const finding = (message: string, where = at(path)): Finding => ({
    rule: 'schema',
    severity: 'error',
    message,
    ...where,
    ...(path[0] === 'keys' && path[1] !== undefined ? { key: path[1] } : {}),
  })
  const params = error.params as Record<string, unknown>

  switch (error.keyword) {
    case 'required': {
      const field = String(params.missingProperty)
      const help = describeField(parent, field)
      const what =
        path.length === 0
          ? `the inventory is missing "${field}"`
          : `${subject} is missing the required field "${field}"`
      return finding(`${what}${help ? ` (${asClause(help)})` : ''}`, at(path, 'key'))
    }
    case 'additionalProperties': {
      const field = String(params.additionalProperty)
      const allowed = Object.keys(parent?.properties ?? {})
      const where = path.length === 0 ? 'at the top level' : `in ${subject}`
      return finding(
        `unknown field "${field}" ${where}; ${didYouMean(field, allowed)}expected one of: ${listNames(allowed, 20)}`,
        at([...path, field], 'key'),
      )
    }
    case 'propertyNames': {
      const name = String(params.propertyName)
      return finding(
        `"${name}" is not a valid id in ${subject}: ids use lowercase letters, digits and hyphens, start with a letter or digit, and have at most 63 characters`,
        at([...path, name], 'key'),
      )
    }
    case 'type': {
      const expected = String(params.type)
      return finding(`${subject} is ${found}; expected ${TYPE_WORDS[expected] ?? expected}`)
    }
    case 'const':
      return finding(
        `${subject} is ${found}; expected ${JSON.stringify(params.allowedValue)}${path[0] === 'version' ? ' (the only inventory format version)' : ''}`,
      )
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String)
      return finding(
        `${subject} is ${found}; ${didYouMean(String(valueAt(parsed.value, path)), allowed)}expected one of: ${allowed.join(', ')}`,
      )
    }
    case 'minProperties':
      return finding(`${subject} is empty; declare at least one entry under it`)
    case 'exclusiveMinimum':
      return finding(
        `${subject} is ${found}; expected a number greater than ${String(params.limit)}`,
      )
    case 'minimum':
      return finding(
        `${subject} is ${found}; expected a number of at least ${String(params.limit)}`,
      )
    case 'minLength':
    case 'pattern':
    case 'format': {
      const value = valueAt(parsed.value, path)
      if (typeof value === 'string' && value.trim() === '' && /label/.test(path.at(-1) ?? ''))
        return finding(`${subject} is empty; give it a name people will recognise`)
      const help = parent?.description
      return finding(
        `${subject} is ${found}; expected ${help ? asClause(help) : (error.message ?? 'a valid value')}`,
      )
    }
    default:
      return finding(`${subject} ${error.message ?? 'is not valid'}`)
  }
}

/** Checks the parsed value against schemas/keyward.schema.json; one finding per problem. */
export function checkSchema(parsed: ParsedYaml): Finding[] {
  if (parsed.value === null || parsed.value === undefined) {
    return [
      {
        rule: 'schema',
        severity: 'error',
        file: parsed.file,
        line: 1,
        column: 1,
        message:
          'the inventory is empty; expected version: 1, providers, workflows and keys (run `keyward init` for a starting point)',
      },
    ]
  }
  const validate = validator()
  if (validate(parsed.value)) return []
  const seen = new Set<string>()
  const findings: Finding[] = []
  for (const error of validate.errors ?? []) {
    // ajv reports a bad id twice: as `pattern` on the parent, then as `propertyNames`.
    if (error.propertyName !== undefined && error.keyword !== 'propertyNames') continue
    // One message per value: an empty label fails minLength and pattern alike.
    const scope = ['minLength', 'pattern', 'format'].includes(error.keyword)
      ? 'value'
      : error.keyword + JSON.stringify(error.params)
    const id = `${error.instancePath}|${scope}`
    if (seen.has(id)) continue
    seen.add(id)
    const finding = toFinding(parsed, error)
    if (finding) findings.push(finding)
  }
  return findings
}

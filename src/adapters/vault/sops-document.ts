/**
 * SOPS documents on disk: YAML (possibly multi-document), JSON and dotenv, parsed
 * into trees in file order (JS objects reorder integer-like keys, which would break
 * the MAC) with the `sops` metadata split off, and written back.
 */
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  Pair,
  parseAllDocuments,
  parseDocument,
  Scalar,
  YAMLMap,
  YAMLSeq,
  type Node as YamlNode,
} from 'yaml'
import { isSopsMap, type SopsEntry, type SopsMap, type SopsNode } from './sops-tree.js'
import { parseSimpleYaml } from './sops-yaml-fast.js'

export type SopsFormat = 'yaml' | 'json' | 'dotenv'

export interface ParsedDocument {
  format: SopsFormat
  /** The data, one branch per YAML document, without the metadata. */
  branches: SopsMap[]
  /** The `sops` mapping of the first document (unflattened for dotenv), if any. */
  metadata: SopsNode | undefined
}

/** A document that cannot be parsed; the message names no value. */
export class DocumentError extends Error {
  override readonly name = 'DocumentError'
}

/** Format by extension, as sops chooses it; anything else is sops' binary format. */
export function formatForPath(path: string): SopsFormat | undefined {
  if (/\.ya?ml$/i.test(path)) return 'yaml'
  if (/\.json$/i.test(path)) return 'json'
  if (/\.env$/i.test(path)) return 'dotenv'
  return undefined
}

function fromYaml(node: unknown, doc: Document.Parsed): SopsNode {
  if (isAlias(node)) return fromYaml(node.resolve(doc), doc) // sops expands aliases
  if (isMap(node)) {
    const entries: SopsEntry[] = []
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key
      if (typeof key !== 'string') {
        throw new DocumentError('a mapping key is not a string (sops requires string keys)')
      }
      entries.push({ key, value: fromYaml(pair.value, doc) })
    }
    return { kind: 'map', entries }
  }
  if (isSeq(node)) return node.items.map((item) => fromYaml(item, doc))
  if (node === null || node === undefined) return null
  if (isScalar(node)) {
    const { value } = node
    if (
      value === null ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'bigint' ||
      typeof value === 'boolean'
    ) {
      return value
    }
  }
  throw new DocumentError('unsupported YAML value')
}

function parseYamlText(text: string, format: 'yaml' | 'json'): SopsMap[] {
  const simple = format === 'yaml' ? parseSimpleYaml(text) : undefined
  if (simple) return [simple]
  const options = { intAsBigInt: true, uniqueKeys: true } as const
  // parseDocument is twice as fast as parseAllDocuments; fall back for multi-document YAML.
  const single = parseDocument(text, options)
  const multiple = format === 'yaml' && single.errors.some((e) => e.code === 'MULTIPLE_DOCS')
  const docs = multiple ? parseAllDocuments(text, options) : [single]
  if (!Array.isArray(docs)) throw new DocumentError('not a YAML stream')
  const branches: SopsMap[] = []
  for (const doc of docs) {
    const [first] = doc.errors
    if (first) {
      const at = first.linePos?.[0]
      const where = at ? ` at ${at.line}:${at.col}` : ''
      throw new DocumentError(
        `${format === 'json' ? 'JSON' : 'YAML'} syntax: ${first.code}${where}`,
      )
    }
    const tree: SopsNode =
      doc.contents === null ? { kind: 'map', entries: [] } : fromYaml(doc.contents, doc)
    if (!isSopsMap(tree)) throw new DocumentError('the top level is not a mapping')
    branches.push(tree)
  }
  if (branches.length === 0) throw new DocumentError('the file is empty')
  return branches
}

const MAP_SEPARATOR = '__map_'
const LIST_SEPARATOR = '__list_'

/** Rebuilds the nested metadata from sops' flattened dotenv keys (`age__list_0__map_enc`). */
function unflatten(entries: readonly SopsEntry[]): SopsMap {
  const root: SopsMap = { kind: 'map', entries: [] }
  for (const { key, value } of entries) {
    const tokens = key.split(new RegExp(`(?=${MAP_SEPARATOR}|${LIST_SEPARATOR})`))
    let container: SopsMap | SopsNode[] = root
    tokens.forEach((token, index) => {
      const last = index === tokens.length - 1
      const next = tokens[index + 1]
      const child = (): SopsNode =>
        last ? value : next?.startsWith(LIST_SEPARATOR) ? [] : { kind: 'map', entries: [] }
      if (token.startsWith(LIST_SEPARATOR)) {
        const position = Number(token.slice(LIST_SEPARATOR.length))
        if (
          !Array.isArray(container) ||
          !Number.isInteger(position) ||
          position < 0 ||
          position > 1000
        ) {
          throw new DocumentError('invalid flattened sops metadata key')
        }
        container[position] ??= child()
        if (!last) container = container[position] as SopsMap | SopsNode[]
      } else {
        const name = token.startsWith(MAP_SEPARATOR) ? token.slice(MAP_SEPARATOR.length) : token
        if (Array.isArray(container)) throw new DocumentError('invalid flattened sops metadata key')
        let entry = container.entries.find((e) => e.key === name)
        if (!entry) {
          entry = { key: name, value: child() }
          container.entries.push(entry)
        } else if (last) {
          throw new DocumentError('duplicate sops metadata key')
        }
        if (!last) container = entry.value as SopsMap | SopsNode[]
      }
      if (!last && typeof container !== 'object') {
        throw new DocumentError('invalid flattened sops metadata key')
      }
    })
  }
  return root
}

/** sops' dotenv reader: KEY=VALUE lines, `#` comments, `\n` escapes, `sops_*` metadata. */
function parseDotenv(text: string): { branch: SopsMap; metadata: SopsNode | undefined } {
  const data: SopsEntry[] = []
  const meta: SopsEntry[] = []
  const seen = new Set<string>()
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq === -1) throw new DocumentError(`line ${index + 1} is not KEY=VALUE`)
    const key = line.slice(0, eq)
    if (seen.has(key)) throw new DocumentError(`line ${index + 1} repeats a key`)
    seen.add(key)
    const value = line.slice(eq + 1).replaceAll('\\n', '\n')
    if (key.startsWith('sops_')) meta.push({ key: key.slice('sops_'.length), value })
    else data.push({ key, value })
  }
  return {
    branch: { kind: 'map', entries: data },
    metadata: meta.length ? unflatten(meta) : undefined,
  }
}

/** Parses a document and splits off its metadata; throws DocumentError. */
export function parseSopsDocument(text: string, format: SopsFormat): ParsedDocument {
  if (format === 'dotenv') {
    const { branch, metadata } = parseDotenv(text)
    return { format, branches: [branch], metadata }
  }
  const branches = parseYamlText(text, format)
  let metadata: SopsNode | undefined
  const data = branches.map((branch, index) => {
    const sops = branch.entries.find((e) => e.key === 'sops')
    if (index === 0 && sops) metadata = sops.value
    return {
      kind: 'map',
      entries: branch.entries.filter((e) => e.key !== 'sops'),
    } as const satisfies SopsMap
  })
  return { format, branches: data, metadata }
}

// ---------------------------------------------------------------- writing

function toYaml(node: SopsNode, literalMultiline: boolean): YamlNode | null {
  if (Array.isArray(node)) {
    const seq = new YAMLSeq()
    for (const item of node) seq.items.push(toYaml(item, literalMultiline))
    return seq
  }
  if (isSopsMap(node)) {
    const map = new YAMLMap()
    for (const { key, value } of node.entries) {
      map.items.push(new Pair(new Scalar(key), toYaml(value, literalMultiline)))
    }
    return map
  }
  if (node === null) return new Scalar(null)
  if (node instanceof Uint8Array) return new Scalar(Buffer.from(node).toString('base64'))
  const scalar = new Scalar(node)
  if (literalMultiline && typeof node === 'string' && node.includes('\n')) {
    scalar.type = Scalar.BLOCK_LITERAL // age armor, as sops writes `enc: |`
  }
  return scalar
}

/** The `sops` block entries with their YAML presentation (quoted lastmodified, literal enc). */
function yamlMetadata(metadata: SopsMap): YamlNode {
  const map = toYaml(metadata, true) as YAMLMap
  for (const pair of map.items) {
    if (isScalar(pair.key) && pair.key.value === 'lastmodified' && isScalar(pair.value)) {
      pair.value.type = Scalar.QUOTE_DOUBLE
    }
  }
  return map
}

function emitYaml(branches: readonly SopsMap[], metadata: SopsMap): string {
  return branches
    .map((branch) => {
      const root = toYaml(branch, false) as YAMLMap
      root.items.push(new Pair(new Scalar('sops'), yamlMetadata(metadata)))
      const doc = new Document()
      doc.contents = root
      return doc.toString({ indent: 4, indentSeq: true, lineWidth: 0 })
    })
    .join('---\n')
}

function jsonValue(node: SopsNode, indent: string): string {
  const inner = `${indent}\t`
  if (Array.isArray(node)) {
    if (node.length === 0) return '[]'
    return `[\n${node.map((item) => inner + jsonValue(item, inner)).join(',\n')}\n${indent}]`
  }
  if (isSopsMap(node)) {
    if (node.entries.length === 0) return '{}'
    const body = node.entries
      .map(({ key, value }) => `${inner}${JSON.stringify(key)}: ${jsonValue(value, inner)}`)
      .join(',\n')
    return `{\n${body}\n${indent}}`
  }
  if (typeof node === 'bigint') return node.toString()
  if (node instanceof Uint8Array) return JSON.stringify(Buffer.from(node).toString('base64'))
  if (typeof node === 'number' && !Number.isFinite(node)) {
    throw new DocumentError('JSON cannot hold NaN or Infinity')
  }
  return JSON.stringify(node)
}

function flatten(node: SopsNode, prefix: string, out: SopsEntry[]): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => flatten(item, `${prefix}${LIST_SEPARATOR}${i}`, out))
  } else if (isSopsMap(node)) {
    for (const { key, value } of node.entries) {
      flatten(value, prefix === 'sops' ? `sops_${key}` : `${prefix}${MAP_SEPARATOR}${key}`, out)
    }
  } else {
    out.push({ key: prefix, value: node })
  }
}

function dotenvLine(key: string, value: SopsNode): string {
  if (typeof value !== 'string') throw new DocumentError('dotenv values must be strings')
  return `${key}=${value.replaceAll('\n', '\\n')}\n`
}

function emitDotenv(branches: readonly SopsMap[], metadata: SopsMap): string {
  const [branch] = branches
  if (!branch || branches.length !== 1) throw new DocumentError('dotenv holds one document')
  const meta: SopsEntry[] = []
  flatten(metadata, 'sops', meta)
  return [...branch.entries, ...meta].map(({ key, value }) => dotenvLine(key, value)).join('')
}

/** Writes an encrypted tree with its metadata in `format` (JSON with a tab indent, as sops). */
export function emitSopsDocument(
  format: SopsFormat,
  branches: readonly SopsMap[],
  metadata: SopsMap,
): string {
  for (const branch of branches) {
    if (
      branch.entries.some(
        (e) => e.key === 'sops' || (format === 'dotenv' && e.key.startsWith('sops_')),
      )
    ) {
      throw new DocumentError('the data uses the key reserved for sops metadata')
    }
  }
  switch (format) {
    case 'yaml':
      return emitYaml(branches, metadata)
    case 'json': {
      const [branch] = branches
      if (!branch || branches.length !== 1) throw new DocumentError('JSON holds one document')
      const withMeta: SopsMap = {
        kind: 'map',
        entries: [...branch.entries, { key: 'sops', value: metadata }],
      }
      return `${jsonValue(withMeta, '')}\n`
    }
    case 'dotenv':
      return emitDotenv(branches, metadata)
  }
}

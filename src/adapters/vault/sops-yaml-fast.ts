/**
 * A fast path for the YAML that sops and keyward write: block mappings, block
 * sequences, literal block scalars and plain or simply quoted string scalars. The
 * `yaml` package needs ~0.1 ms for a key file — as much as all the cryptography —
 * so the common shape is read here and anything else (comments, flow collections,
 * anchors, tags, escapes, numbers, booleans, several documents) goes to `yaml`.
 * Returns undefined whenever the input is outside that subset; never guesses.
 */
import type { SopsEntry, SopsMap, SopsNode } from './sops-tree.js'

class Unsupported extends Error {}

/** Words the YAML 1.2 core schema resolves to null or booleans. */
const CORE_WORDS = new Set([
  'null',
  'Null',
  'NULL',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
])
const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?$/
/** Plain scalars that may be strings: a letter first, no quotes or `#`; checked further below. */
const PLAIN_STRING = /^[A-Za-z_][^"'#]*$/
/** A digit first (e.g. `3.9.4`): a string only if the core schema's int and float forms miss it. */
const PLAIN_DIGITS = /^[0-9][0-9A-Za-z._-]*$/
const CORE_NUMBER =
  /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)$/

interface Cursor {
  lines: string[]
  pos: number
}

function indentOf(line: string): number {
  let i = 0
  while (line.charCodeAt(i) === 32) i++
  return i
}

function scalar(text: string): string {
  if (text.startsWith('"')) {
    if (text.length < 2 || !text.endsWith('"') || /["\\]/.test(text.slice(1, -1)))
      throw new Unsupported()
    return text.slice(1, -1)
  }
  if (text.startsWith("'")) {
    if (text.length < 2 || !text.endsWith("'") || text.slice(1, -1).includes("'"))
      throw new Unsupported()
    return text.slice(1, -1)
  }
  if (
    !(PLAIN_STRING.test(text) || (PLAIN_DIGITS.test(text) && !CORE_NUMBER.test(text))) ||
    CORE_WORDS.has(text) ||
    text.includes(': ') ||
    text.endsWith(':') ||
    /\s$/.test(text)
  ) {
    throw new Unsupported()
  }
  return text
}

function literal(cursor: Cursor, parentIndent: number, clip: boolean): string {
  const first = cursor.lines[cursor.pos]
  if (first === undefined) throw new Unsupported()
  const indent = indentOf(first)
  if (indent <= parentIndent) throw new Unsupported()
  const out: string[] = []
  for (let line = cursor.lines[cursor.pos]; line !== undefined; line = cursor.lines[cursor.pos]) {
    const lineIndent = indentOf(line)
    if (lineIndent <= parentIndent) break
    if (lineIndent < indent || line.trim() === '' || /\s$/.test(line)) throw new Unsupported()
    out.push(line.slice(indent))
    cursor.pos++
  }
  return out.join('\n') + (clip ? '\n' : '')
}

function value(cursor: Cursor, indent: number, rest: string | undefined): SopsNode {
  if (rest === undefined || rest === '') {
    const next = cursor.lines[cursor.pos]
    if (next === undefined) return null
    const nextIndent = indentOf(next)
    const isItem = next.slice(nextIndent).startsWith('- ')
    if (nextIndent > indent)
      return isItem ? sequence(cursor, nextIndent) : mapping(cursor, nextIndent)
    if (nextIndent === indent && isItem) return sequence(cursor, indent)
    return null
  }
  if (rest === '|' || rest === '|-') return literal(cursor, indent, rest === '|')
  return scalar(rest)
}

function mapping(cursor: Cursor, indent: number, firstBody?: string): SopsMap {
  const entries: SopsEntry[] = []
  const seen = new Set<string>()
  let body = firstBody
  for (;;) {
    if (body === undefined) {
      const line = cursor.lines[cursor.pos]
      if (line === undefined) break
      const lineIndent = indentOf(line)
      if (lineIndent < indent) break
      if (lineIndent > indent) throw new Unsupported()
      body = line.slice(indent)
      if (body.startsWith('- ')) break // a sequence at the parent key's indent
    }
    cursor.pos++
    const match = KEY.exec(body)
    if (!match || CORE_WORDS.has(match[1] ?? '')) throw new Unsupported()
    const key = match[1] ?? ''
    if (seen.has(key)) throw new Unsupported() // yaml reports duplicates; let it
    seen.add(key)
    entries.push({ key, value: value(cursor, indent, match[2]) })
    body = undefined
  }
  return { kind: 'map', entries }
}

function sequence(cursor: Cursor, indent: number): SopsNode[] {
  const items: SopsNode[] = []
  for (let line = cursor.lines[cursor.pos]; line !== undefined; line = cursor.lines[cursor.pos]) {
    const lineIndent = indentOf(line)
    if (lineIndent < indent) break
    if (lineIndent > indent || !line.slice(indent).startsWith('- ')) {
      if (lineIndent === indent) break
      throw new Unsupported()
    }
    const item = line.slice(indent + 2)
    if (KEY.test(item)) {
      items.push(mapping(cursor, indent + 2, item)) // `- key: value` opens a mapping
    } else {
      cursor.pos++
      items.push(scalar(item))
    }
  }
  return items
}

/** The document as a tree, or undefined when it is outside the fast subset. */
export function parseSimpleYaml(text: string): SopsMap | undefined {
  if (text.includes('\t') || text.includes('\r') || !text.endsWith('\n')) return undefined
  const lines = text.slice(0, -1).split('\n')
  if (
    lines.some((line) => line.startsWith('---') || line.startsWith('...') || line.startsWith('%'))
  ) {
    return undefined
  }
  const cursor: Cursor = { lines, pos: 0 }
  try {
    const root = mapping(cursor, 0)
    return cursor.pos === lines.length && root.entries.length > 0 ? root : undefined
  } catch (error) {
    if (error instanceof Unsupported) return undefined
    throw error
  }
}

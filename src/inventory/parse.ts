import { isPair, isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml'
import type { Finding } from '../analysis/findings.js'
import { findExcessiveNesting, INVENTORY_LIMITS } from './limits.js'

/** A parsed inventory file: the Document keeps node ranges for file:line:col. */
export interface ParsedYaml {
  file: string
  doc: Document.Parsed
  lineCounter: LineCounter
  /** The plain value, or undefined when the file could not be turned into one. */
  value: unknown
}

export type ParseResult =
  { ok: true; parsed: ParsedYaml; findings: Finding[] } | { ok: false; findings: Finding[] }

const syntax = (file: string, line: number, column: number, message: string): Finding => ({
  rule: 'yaml-syntax',
  severity: 'error',
  file,
  line,
  column,
  message,
})

/** Offsets of every mapping key that repeats an earlier key of the same map (linear). */
function duplicateKeys(doc: Document.Parsed): number[] {
  const offsets: number[] = []
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>()
      for (const pair of map.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue
        const name = String(pair.key.value)
        if (seen.has(name)) offsets.push(pair.key.range?.[0] ?? 0)
        seen.add(name)
      }
    },
  })
  return offsets
}

/** The mapping key that starts at `offset` (up to its colon), for messages. */
function keyAt(text: string, offset: number): string {
  const rest = text.slice(offset, offset + 200)
  const match = /^("[^"\n]*"|'[^'\n]*'|[^:\n]*)/.exec(rest)
  return (match?.[1] ?? '').replace(/^["']|["']$/g, '')
}

/** Explains the yaml library's error codes in the words of someone editing keyward.yaml. */
function explain(code: string, message: string, source: string): string {
  const first = message.split('\n')[0] ?? message
  switch (code) {
    case 'DUPLICATE_KEY':
      return `duplicate key "${source.trim()}": every id and field may appear only once in its block, or the later one would silently replace the earlier`
    case 'BAD_SCALAR_START':
      return /@|`/.test(first)
        ? `${first}; a value that starts with @ or \` must be quoted, e.g. owner: "@jeff"`
        : first
    case 'BAD_INDENT':
    case 'BLOCK_AS_IMPLICIT_KEY':
    case 'MULTILINE_IMPLICIT_KEY':
      return `${first} (check the indentation: fields of one block line up, 2 spaces deeper than their parent)`
    case 'TAB_AS_INDENT':
      return 'a tab is used for indentation; YAML allows only spaces there (use 2 spaces per level)'
    default:
      return first.replace(/ at line \d+, column \d+:?$/, '')
  }
}

/**
 * Turns the bytes of an inventory file into a YAML Document, or into `yaml-syntax`
 * findings. Bounds what a hostile file can cost (INVENTORY_LIMITS) and never throws.
 */
export function parseYamlFile(file: string, bytes: Uint8Array): ParseResult {
  const fail = (line: number, column: number, message: string): ParseResult => ({
    ok: false,
    findings: [syntax(file, line, column, message)],
  })
  if (bytes.byteLength > INVENTORY_LIMITS.maxBytes) {
    const mib = (bytes.byteLength / 1024 / 1024).toFixed(1)
    return fail(
      1,
      1,
      `the file is ${mib} MiB; an inventory may be at most ${INVENTORY_LIMITS.maxBytes / 1024 / 1024} MiB`,
    )
  }
  const nul = bytes.indexOf(0)
  if (nul >= 0)
    return fail(
      1,
      1,
      `the file holds binary data (a NUL byte at offset ${nul}); expected YAML text`,
    )
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return fail(1, 1, 'the file is not valid UTF-8 text; expected YAML saved as UTF-8')
  }
  const deep = findExcessiveNesting(text, INVENTORY_LIMITS.maxDepth)
  if (deep) {
    return fail(
      deep.line,
      deep.column,
      `nesting is deeper than ${INVENTORY_LIMITS.maxDepth} levels; an inventory needs only 4, so this is not a keyward inventory`,
    )
  }

  const lineCounter = new LineCounter()
  // yaml's own unique-key check compares every pair of keys in a map (40,000 keys: 10 s);
  // duplicateKeys() does the same job with a Set.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false })
  const findings = doc.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0])
    return syntax(
      file,
      pos.line,
      pos.col,
      explain(error.code, error.message, keyAt(text, error.pos[0])),
    )
  })
  // Syntax errors make the rest guesswork; duplicate keys leave a usable document.
  if (findings.length > 0) return { ok: false, findings }
  for (const offset of duplicateKeys(doc)) {
    const pos = lineCounter.linePos(offset)
    findings.push(
      syntax(file, pos.line, pos.col, explain('DUPLICATE_KEY', '', keyAt(text, offset))),
    )
  }

  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: INVENTORY_LIMITS.maxAliasCount })
  } catch (error) {
    // The only throw here is the alias-expansion bound (or an alias to nothing).
    const reason =
      error instanceof ReferenceError && /alias count/i.test(error.message)
        ? `aliases expand to too much data (more than ${INVENTORY_LIMITS.maxAliasCount} alias uses); an inventory needs none`
        : `the file cannot be turned into a value: ${error instanceof Error ? error.message : String(error)}`
    findings.push(syntax(file, 1, 1, reason))
    return { ok: false, findings }
  }
  return { ok: true, parsed: { file, doc, lineCounter, value }, findings }
}

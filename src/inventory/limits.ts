/**
 * What a hostile or broken inventory may cost before keyward refuses it. The `yaml` parser
 * recurses per nesting level, and at about 10,000 levels it takes the whole process down
 * with an uncatchable out-of-memory error, so depth is bounded by a lexical pre-scan before
 * the text reaches the parser.
 */
export const INVENTORY_LIMITS = {
  /** A 20,000-key inventory is about 5 MB. */
  maxBytes: 16 * 1024 * 1024,
  /** keyward.yaml needs 4 levels; anything past this is not an inventory. */
  maxDepth: 64,
  /** Aliases resolved while converting to a value (YAML "billion laughs" bound). */
  maxAliasCount: 100,
} as const

export interface DepthViolation {
  line: number
  column: number
  depth: number
}

/**
 * Finds the first place where nesting goes past `maxDepth`, counting flow brackets
 * (`[`, `{`) outside quotes and comments, and block indentation (in steps of one space,
 * so this over-counts and stays safe). Pure and linear in the text.
 */
export function findExcessiveNesting(text: string, maxDepth: number): DepthViolation | undefined {
  let flow = 0
  let line = 1
  let column = 0
  let lineStart = true
  let indent = 0
  let quote: '"' | "'" | undefined
  let comment = false
  // The last significant character: a quote opens a quoted scalar only where a value starts,
  // so an apostrophe inside a plain scalar (`label: Jeff's key`) does not hide what follows.
  let previous = ''
  // Indentation deeper than this many columns is treated as excessive nesting too.
  const maxIndent = maxDepth * 8
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i)
    column++
    if (ch === '\n') {
      line++
      column = 0
      lineStart = true
      indent = 0
      comment = false
      previous = ''
      // Quoted scalars may span lines, so `quote` is kept.
      continue
    }
    if (lineStart) {
      if (ch === ' ' || ch === '-') {
        indent++
        if (indent > maxIndent) return { line, column, depth: indent }
        continue
      }
      lineStart = false
    }
    if (comment) continue
    if (quote) {
      if (ch === '\\' && quote === '"') i++
      else if (ch === "'" && quote === "'" && text[i + 1] === "'") i++
      else if (ch === quote) quote = undefined
      continue
    }
    if (ch === ' ' || ch === '\t' || ch === '\r') continue
    if ((ch === '"' || ch === "'") && (previous === '' || ':[{,-?'.includes(previous))) quote = ch
    else if (ch === '#' && (i === 0 || /\s/.test(text[i - 1] ?? ''))) comment = true
    else if (ch === '[' || ch === '{') {
      flow++
      if (flow > maxDepth) return { line, column, depth: flow }
    } else if ((ch === ']' || ch === '}') && flow > 0) flow--
    previous = ch
  }
  return undefined
}

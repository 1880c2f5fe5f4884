import type { Path } from './locate.js'

const SECTION_NOUN: Record<string, string> = {
  providers: 'provider',
  workflows: 'workflow',
  keys: 'key',
}

/** A path as a person reads it: `key "x": rotate_after`, `defaults.timezone`, `scan.allow[2]`. */
export function describePath(path: Path): string {
  if (path.length === 0) return 'the inventory'
  const [section, id, ...rest] = path
  const noun = section === undefined ? undefined : SECTION_NOUN[section]
  if (noun && id !== undefined) {
    const subject = `${noun} "${id}"`
    return rest.length === 0 ? subject : `${subject}: ${joinFields(rest)}`
  }
  return joinFields(path)
}

function joinFields(fields: Path): string {
  return fields.reduce(
    (out, field) => (/^\d+$/.test(field) ? `${out}[${field}]` : out ? `${out}.${field}` : field),
    '',
  )
}

/**
 * A value as it may appear in a message. Strings that look like credentials (long, no spaces,
 * mixed case and digits) are masked: a key pasted into the wrong field must not reach a log.
 */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  if (typeof value === 'string') {
    if (looksLikeSecret(value)) return `"${value.slice(0, 4)}…${value.slice(-4)}" (masked)`
    const shown = value.length > 60 ? `${value.slice(0, 57)}…` : value
    return JSON.stringify(shown)
  }
  return String(value)
}

export function looksLikeSecret(value: string): boolean {
  return (
    value.length >= 20 &&
    !/\s/.test(value) &&
    /[a-z]/.test(value) &&
    /[A-Z]/.test(value) &&
    /\d/.test(value)
  )
}

/** `a text` → `a text`, `A text.` → `a text` (for embedding a schema description). */
export function asClause(description: string): string {
  const trimmed = description.replace(/\.$/, '')
  // Keep acronyms (SOPS, IANA) as they are.
  if (/^[A-Z]{2}/.test(trimmed)) return trimmed
  return trimmed.charAt(0).toLowerCase() + trimmed.slice(1)
}

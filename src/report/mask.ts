/**
 * A key shown without revealing it: the provider prefix, `…`, and the last four
 * characters — the form providers' own dashboards use as a hint.
 */

/** Provider prefixes, longest first so `sk-ant-api03-` wins over `sk-`. */
const KNOWN_PREFIXES = [
  'sk-ant-admin01-',
  'sk-ant-api03-',
  'sk-svcacct-',
  'sk-or-v1-',
  'sk-admin-',
  'sk-proj-',
  'sk-',
] as const

/** A generic prefix: a short lower-case word and its separator (`ghp_`, `xoxb-`). */
const GENERIC_PREFIX = /^[a-z][a-z0-9]{1,9}[-_]/

/** Fewer hidden characters than this and the value is masked entirely. */
const MIN_HIDDEN = 12
const SHOWN_TAIL = 4
export const FULLY_MASKED = '****'

export function maskSecret(value: string): string {
  const chars = [...value] // code points, so a surrogate pair is never split
  const text = chars.join('')
  const prefix =
    KNOWN_PREFIXES.find((p) => text.startsWith(p)) ?? GENERIC_PREFIX.exec(text)?.[0] ?? ''
  const prefixLength = [...prefix].length
  if (chars.length - prefixLength - SHOWN_TAIL < MIN_HIDDEN) return FULLY_MASKED
  return `${prefix}…${chars.slice(-SHOWN_TAIL).join('')}`
}

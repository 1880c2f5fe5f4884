/**
 * Canonical JSON (SPEC §7): object keys sorted by code unit, no insignificant whitespace,
 * UTF-8, one trailing newline. The same value always yields the same bytes, so the hash of
 * a snapshot is a function of its content alone.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '') + '\n'
}

function encode(value: unknown, path: string): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON cannot hold ${value} (at ${path || '/'})`)
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value))
        return `[${value.map((item, i) => encode(item, `${path}/${i}`)).join(',')}]`
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v, `${path}/${k}`)}`).join(',')}}`
    }
    default:
      throw new TypeError(`canonical JSON cannot hold a ${typeof value} (at ${path || '/'})`)
  }
}

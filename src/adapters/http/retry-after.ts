/**
 * How long a provider asks us to wait before retrying, from its response headers.
 * `retry-after-ms` (OpenAI and Anthropic SDKs) wins over `retry-after`, which is either
 * delta-seconds or an HTTP date (RFC 9110 §10.2.3; providers.md §1.9, §2.10, §3.5).
 * Returns milliseconds, or undefined when no usable header is present.
 */
export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  nowMs: number,
): number | undefined {
  const ms = single(headers['retry-after-ms'])
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Math.ceil(Number(ms))
  const value = single(headers['retry-after'])
  if (value === undefined) return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000)
  // An HTTP date: IMF-fixdate, or the obsolete RFC 850 / asctime forms Date.parse also reads.
  if (!/[a-z]/i.test(trimmed)) return undefined
  const at = Date.parse(trimmed)
  if (Number.isNaN(at)) return undefined
  return Math.max(0, at - nowMs)
}

/** `x-should-retry: true|false` overrides the status-based decision, as both SDKs do. */
export function shouldRetryHeader(
  headers: Record<string, string | string[] | undefined>,
): boolean | undefined {
  const value = single(headers['x-should-retry'])
  if (value === 'true') return true
  if (value === 'false') return false
  return undefined
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

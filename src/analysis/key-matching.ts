import type { ProviderKey } from '../records.js'

/**
 * Matching inventory keys to provider keys (DESIGN.md "Normalized records"): by
 * `provider_key_id` when the inventory gives one, else by the provider's redacted hint against
 * the decrypted key the caller passes in. Ambiguous or missing matches are reported, never
 * guessed. Pure; the plaintext is only compared, never copied into the result.
 */

export interface InventoryKeyRef {
  keyId: string
  /** The inventory provider id. */
  provider: string
  providerKeyId?: string
  /** The decrypted key, when the caller has it; only needed without `providerKeyId`. */
  secret?: string
}

export type KeyMatch =
  | { keyId: string; status: 'matched'; by: 'id' | 'hint'; providerKeyId: string }
  | { keyId: string; status: 'missing'; reason: string }
  | { keyId: string; status: 'ambiguous'; candidates: string[] }

export interface MatchReport {
  matches: KeyMatch[]
  /** Provider keys no inventory entry matched: candidates for `unmanaged-key`. */
  unmatched: ProviderKey[]
}

/** `sk-abc...def`, `sk-ant-api03-R2D...igAA`, `sk-or-v1-0e6...1c96` (providers.md §5.5). */
export function parseHint(hint: string): { prefix: string; suffix: string } | undefined {
  const match = /^(.*?)(?:\.{3}|…|\*{3,})(.*)$/.exec(hint)
  if (!match) return undefined
  const prefix = match[1] ?? ''
  const suffix = match[2] ?? ''
  // A hint showing fewer than 3 trailing characters says too little to match on.
  if (suffix.length < 3) return undefined
  return { prefix, suffix }
}

export function hintMatches(hint: string | undefined, secret: string): boolean {
  if (hint === undefined) return false
  const parsed = parseHint(hint)
  if (!parsed) return false
  return (
    secret.length >= parsed.prefix.length + parsed.suffix.length &&
    secret.startsWith(parsed.prefix) &&
    secret.endsWith(parsed.suffix)
  )
}

/**
 * The redacted form a provider shows for a key: first `head` and last `tail` characters.
 * The lengths per provider are [unconfirmed] (§5.5); the demo data uses these.
 */
export const HINT_SHAPES = {
  openai: { head: 6, tail: 3 },
  anthropic: { head: 16, tail: 4 },
  openrouter: { head: 12, tail: 4 },
} as const

export function redactedHint(type: keyof typeof HINT_SHAPES, secret: string): string {
  const { head, tail } = HINT_SHAPES[type]
  return `${secret.slice(0, head)}...${secret.slice(-tail)}`
}

export function matchKeys(
  inventory: readonly InventoryKeyRef[],
  providerKeys: readonly ProviderKey[],
): MatchReport {
  const claimed = new Set<string>()
  const matches = inventory.map((ref): KeyMatch => {
    const own = providerKeys.filter((k) => k.provider === ref.provider)
    if (ref.providerKeyId !== undefined) {
      const found = own.find((k) => k.providerKeyId === ref.providerKeyId)
      if (!found) {
        return {
          keyId: ref.keyId,
          status: 'missing',
          reason: `provider ${ref.provider} lists no key ${ref.providerKeyId}`,
        }
      }
      claimed.add(`${ref.provider}\u0000${found.providerKeyId}`)
      return { keyId: ref.keyId, status: 'matched', by: 'id', providerKeyId: found.providerKeyId }
    }
    if (ref.secret === undefined) {
      return {
        keyId: ref.keyId,
        status: 'missing',
        reason: 'no provider_key_id and no decrypted key to match by hint',
      }
    }
    const secret = ref.secret
    const candidates = own.filter((k) => hintMatches(k.hint, secret))
    if (candidates.length === 0) {
      return {
        keyId: ref.keyId,
        status: 'missing',
        reason: `no key at ${ref.provider} has a hint matching this key`,
      }
    }
    if (candidates.length > 1) {
      return {
        keyId: ref.keyId,
        status: 'ambiguous',
        candidates: candidates.map((k) => k.providerKeyId).sort(),
      }
    }
    const found = candidates[0] as ProviderKey
    claimed.add(`${ref.provider}\u0000${found.providerKeyId}`)
    return { keyId: ref.keyId, status: 'matched', by: 'hint', providerKeyId: found.providerKeyId }
  })
  // A key that is a candidate of an ambiguous match is not "unmanaged": we just cannot tell which.
  for (const m of matches) {
    if (m.status !== 'ambiguous') continue
    const provider = inventory.find((r) => r.keyId === m.keyId)?.provider
    for (const id of m.candidates) claimed.add(`${provider}\u0000${id}`)
  }
  const unmatched = providerKeys.filter(
    (k) => !claimed.has(`${k.provider}\u0000${k.providerKeyId}`),
  )
  return { matches, unmatched }
}

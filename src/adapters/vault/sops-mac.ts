/**
 * Which leaves sops encrypts (sops-format.md §1.6), the MAC over the values
 * (§4), and the `lastmodified` timestamp the MAC is bound to.
 */
import { createHash, type Hash } from 'node:crypto'

export const ENCRYPTION_RULE_KEYS = [
  'unencrypted_suffix',
  'encrypted_suffix',
  'unencrypted_regex',
  'encrypted_regex',
  'unencrypted_comment_regex',
  'encrypted_comment_regex',
] as const
export type EncryptionRuleKey = (typeof ENCRYPTION_RULE_KEYS)[number]

/** The one encryption rule a file or creation rule sets; sops defaults to `_unencrypted`. */
export interface EncryptionRule {
  key: EncryptionRuleKey
  value: string
}

export const DEFAULT_ENCRYPTION_RULE = {
  key: 'unencrypted_suffix',
  value: '_unencrypted',
} as const satisfies EncryptionRule

/** sha256("sops"), fed first when `mac_only_encrypted` is set (MACOnlyEncryptedInitialization). */
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from(
  '8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69',
  'hex',
)

/**
 * Go RE2 pattern → JS RegExp. Covers what .sops.yaml files use in practice; a leading
 * inline flag group such as `(?i)` becomes a JS flag, since Node 20 has no inline flags.
 */
export function goRegExp(pattern: string): RegExp {
  const flags = /^\(\?([imsU]+)\)/.exec(pattern)
  if (!flags) return new RegExp(pattern)
  const js = [...(flags[1] ?? '')].filter((f) => f !== 'U').join('')
  return new RegExp(pattern.slice(flags[0].length), js)
}

/**
 * Compiles `rule` into a test of whether the leaf at `path` (mapping keys only, list
 * indices excluded) is encrypted. The test returns undefined for the comment-regex
 * rules, which depend on the comments above a value.
 */
export function encryptionPredicate(
  rule: EncryptionRule,
): (path: readonly string[]) => boolean | undefined {
  switch (rule.key) {
    case 'unencrypted_suffix':
      return (path) => !path.some((key) => key.endsWith(rule.value))
    case 'encrypted_suffix':
      return (path) => path.some((key) => key.endsWith(rule.value))
    case 'unencrypted_regex': {
      const re = goRegExp(rule.value)
      return (path) => !path.some((key) => re.test(key))
    }
    case 'encrypted_regex': {
      const re = goRegExp(rule.value)
      return (path) => path.some((key) => re.test(key))
    }
    case 'unencrypted_comment_regex':
    case 'encrypted_comment_regex':
      return () => undefined
  }
}

/** SHA-512 over the plaintext leaves in document order, with no framing (sops' MAC). */
export class SopsMac {
  private readonly hash: Hash
  constructor(private readonly macOnlyEncrypted: boolean) {
    this.hash = createHash('sha512')
    if (macOnlyEncrypted) this.hash.update(MAC_ONLY_ENCRYPTED_INIT)
  }

  /** Feeds one leaf's bytes; unencrypted leaves count unless `mac_only_encrypted`. */
  add(bytes: Uint8Array, encrypted: boolean): void {
    if (encrypted || !this.macOnlyEncrypted) this.hash.update(bytes)
  }

  /** Upper-case hex, as sops stores it. */
  digest(): string {
    return this.hash.digest('hex').toUpperCase()
  }
}

const RFC3339 =
  /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/**
 * `lastmodified` as Go formats it with time.RFC3339 after parsing it: the MAC's
 * AAD. Fractional seconds go, a zero offset becomes `Z`. Undefined when the text
 * is not RFC 3339.
 */
export function canonicalLastModified(text: string): string | undefined {
  const match = RFC3339.exec(text)
  if (!match) return undefined
  const hours = match[5]
  const minutes = match[6]
  const zero = match[3] !== undefined || (hours === '00' && minutes === '00')
  return `${match[1]}T${match[2]}${zero ? 'Z' : `${match[4]}${hours}:${minutes}`}`
}

/** `YYYY-MM-DDTHH:MM:SSZ`: UTC, whole seconds, as sops writes `lastmodified`. */
export function formatLastModified(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

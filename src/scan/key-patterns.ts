/**
 * The detector table of the leak scanner: one entry per kind of LLM API key.
 *
 * Sources: gitleaks, secretlint and trufflehog rules (shared/reference/providers.md §5), ported
 * from Go RE2 to JavaScript: gitleaks' `\b(...)(?:[\x60'"\s;]|\\[nr]|$)` wrapper becomes a
 * lookbehind/lookahead pair, so that a key embedded in a longer token never matches partially
 * and the match is the key itself (no capture group to pick out).
 */

/** Pattern ids; each names one key kind and is what a `LeakHit` reports as `kind`. */
export const KEY_KINDS = [
  'openai-project',
  'openai-service-account',
  'openai-admin',
  'openai-legacy',
  'anthropic-api',
  'anthropic-admin',
  'openrouter',
  'google-api',
  'groq',
  'huggingface',
  'xai',
  'perplexity',
  'age-identity',
] as const
export type KeyKind = (typeof KEY_KINDS)[number]

export interface KeyPattern {
  id: KeyKind
  /** Provider as people name it: `OpenAI`, `Hugging Face`. */
  provider: string
  /** What the key is, with its article, for messages: `an OpenAI project key`. */
  description: string
  /**
   * Global, unicode regex matching exactly the key. The named group `prefix` is the known,
   * non-secret prefix that the masked form shows (`sk-ant-api03-`). Shared: iterate it with
   * `String.prototype.matchAll`, which works on a copy, never with `exec` (it moves `lastIndex`).
   */
  regex: RegExp
  /** A literal every match starts with: a text without it is not searched (a fast pre-check). */
  literal: string
  /**
   * Minimum Shannon entropy (bits per character) of the whole match, as gitleaks uses it:
   * placeholders such as `sk-or-v1-000…` have the shape of a key but not its randomness.
   */
  minEntropy: number
  /**
   * The part after the prefix must contain a lowercase letter, an uppercase letter and a digit.
   * Set on the lenient OpenAI patterns only, whose long `[A-Za-z0-9_-]` body would otherwise
   * also match a hyphenated placeholder (the prefix followed by words and dashes). Real bodies are
   * 40+ random base64url characters, which lack one of those classes with negligible odds.
   */
  mixedCharacters?: boolean
}

// A character that continues a token. Unicode letters and digits count, so that `é` + key
// is still "embedded in a longer token".
const TOKEN_CHAR = String.raw`[\p{L}\p{N}_-]`
// Start: not preceded by a token character, or preceded by an escaped newline/tab as in a JSON
// or shell string ("…\nsk-…"), where the `n` is part of the escape, not of the token.
const START = String.raw`(?:(?<=\\[nrt])|(?<!${TOKEN_CHAR}))`
const END = `(?!${TOKEN_CHAR})`

function pattern(prefix: string, body: string): RegExp {
  return new RegExp(`${START}(?<prefix>${prefix})${body}${END}`, 'gu')
}

/**
 * Every key kind the scanner knows. Order matters only for overlapping matches, which the
 * patterns below avoid by construction (distinct prefixes; the legacy OpenAI body has no `-`).
 */
export const KEY_PATTERNS: readonly KeyPattern[] = [
  {
    id: 'openai-project',
    provider: 'OpenAI',
    description: 'an OpenAI project key',
    // gitleaks' core is `sk-proj-<58|74>T3BlbkFJ<58|74>`; newer keys vary in length and may
    // lack the `T3BlbkFJ` marker, so any long base64url body is accepted (it covers the core).
    regex: pattern('sk-proj-', '[A-Za-z0-9_-]{40,}'),
    literal: 'sk-proj-',
    minEntropy: 3,
    mixedCharacters: true,
  },
  {
    id: 'openai-service-account',
    provider: 'OpenAI',
    description: 'an OpenAI service-account key',
    // trufflehog also knows the `sk-service-` spelling.
    regex: pattern('sk-(?:svcacct|service)-', '[A-Za-z0-9_-]{40,}'),
    literal: 'sk-',
    minEntropy: 3,
    mixedCharacters: true,
  },
  {
    id: 'openai-admin',
    provider: 'OpenAI',
    description: 'an OpenAI admin key',
    regex: pattern('sk-admin-', '[A-Za-z0-9_-]{40,}'),
    literal: 'sk-admin-',
    minEntropy: 3,
    mixedCharacters: true,
  },
  {
    id: 'openai-legacy',
    provider: 'OpenAI',
    description: 'an OpenAI user key',
    // `T3BlbkFJ` is base64 of "OpenAI": a strong marker, so no extra shape check is needed.
    regex: pattern('sk-', '[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}'),
    literal: 'sk-',
    minEntropy: 3,
  },
  {
    id: 'anthropic-api',
    provider: 'Anthropic',
    description: 'an Anthropic API key',
    // 108 characters today (13 + 93 + 2); api03 and the newer api04 (secretlint), api01
    // compliance keys. The body length is lenient in case the format grows or shrinks.
    regex: pattern(String.raw`sk-ant-api0\d-`, '[A-Za-z0-9_-]{80,128}AA'),
    literal: 'sk-ant-api0',
    minEntropy: 3,
  },
  {
    id: 'anthropic-admin',
    provider: 'Anthropic',
    description: 'an Anthropic admin key',
    regex: pattern('sk-ant-admin01-', '[A-Za-z0-9_-]{80,128}AA'),
    literal: 'sk-ant-admin01-',
    minEntropy: 3,
  },
  {
    id: 'openrouter',
    provider: 'OpenRouter',
    description: 'an OpenRouter API key',
    regex: pattern('sk-or-v1-', '[0-9a-f]{64}'),
    literal: 'sk-or-v1-',
    minEntropy: 3,
  },
  {
    id: 'google-api',
    provider: 'Google',
    description: 'a Google API key',
    regex: pattern('AIza', String.raw`[\w-]{35}`),
    literal: 'AIza',
    minEntropy: 4, // gitleaks' value
  },
  {
    id: 'groq',
    provider: 'Groq',
    description: 'a Groq API key',
    regex: pattern('gsk_', '[a-zA-Z0-9]{52}'),
    literal: 'gsk_',
    minEntropy: 3,
  },
  {
    id: 'huggingface',
    provider: 'Hugging Face',
    description: 'a Hugging Face access token',
    regex: pattern('hf_', '[a-zA-Z]{34}'),
    literal: 'hf_',
    minEntropy: 2, // gitleaks' value: letters only, so less entropy per character
  },
  {
    id: 'xai',
    provider: 'xAI',
    description: 'an xAI API key',
    regex: pattern('xai-', '[0-9a-zA-Z_]{80}'),
    literal: 'xai-',
    minEntropy: 3,
  },
  {
    id: 'perplexity',
    provider: 'Perplexity',
    description: 'a Perplexity API key',
    regex: pattern('pplx-', '[a-zA-Z0-9]{48}'),
    literal: 'pplx-',
    minEntropy: 4, // gitleaks' value
  },
  {
    // Not an LLM key, but it opens every key in the vault: committing one is the worst leak.
    id: 'age-identity',
    provider: 'age',
    description: 'an age private key (it decrypts every secret file encrypted to it)',
    // Bech32: the `1` separator, then 58 characters of its alphabet (no 1, b, i, o).
    regex: pattern('AGE-SECRET-KEY-1', '[02-9AC-HJ-NP-Z]{58}'),
    literal: 'AGE-SECRET-KEY-1',
    minEntropy: 3,
  },
]

const BY_ID = new Map<KeyKind, KeyPattern>(KEY_PATTERNS.map((p) => [p.id, p]))

/** The table entry of a kind. Every `KeyKind` has one. */
export function keyPattern(kind: KeyKind): KeyPattern {
  const found = BY_ID.get(kind)
  if (found === undefined) throw new Error(`no key pattern for kind "${kind}"`)
  return found
}

/** Shannon entropy of a string in bits per character (0 for the empty string). */
function shannonEntropy(text: string): number {
  if (text.length === 0) return 0
  const counts = new Map<string, number>()
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1)
  const length = [...counts.values()].reduce((sum, count) => sum + count, 0) // code points
  let bits = 0
  for (const count of counts.values()) {
    const p = count / length
    bits -= p * Math.log2(p)
  }
  return bits
}

/** Whether a regex match is plausibly a real key, beyond its shape (see `KeyPattern`). */
export function looksLikeKey(pattern: KeyPattern, match: string, prefix: string): boolean {
  if (shannonEntropy(match) < pattern.minEntropy) return false
  if (pattern.mixedCharacters === true) {
    const body = match.slice(prefix.length)
    return /[a-z]/.test(body) && /[A-Z]/.test(body) && /[0-9]/.test(body)
  }
  return true
}

/**
 * Key-shaped test strings, built at run time from pieces so that no source file contains
 * anything a secret scanner (ours, or the repository's hook) would flag.
 */
import type { KeyKind } from '../../src/scan/key-patterns.js'

const LOWER = 'abcdefghijklmnopqrstuvwxyz'
const UPPER = LOWER.toUpperCase()
const DIGITS = '0123456789'
export const LETTERS = LOWER + UPPER
export const ALNUM = LETTERS + DIGITS
export const WORD = ALNUM + '_'
export const BASE64URL = WORD + '-'
export const HEX = DIGITS + 'abcdef'
// base64 of "OpenAI", the marker inside OpenAI keys; split so this file does not hold it whole.
export const OPENAI_MARKER = ['T3Bl', 'bkFJ'].join('')

/** Deterministic pseudo-random characters (mulberry32), so a failure reproduces. */
export function randomChars(alphabet: string, length: number, seed: number): string {
  let state = seed >>> 0
  let out = ''
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    const random = ((t ^ (t >>> 14)) >>> 0) / 4294967296
    out += alphabet.charAt(Math.floor(random * alphabet.length))
  }
  return out
}

export interface SampleKey {
  kind: KeyKind
  /** The full key. */
  key: string
  /** The known prefix the masked form shows. */
  prefix: string
}

/** One realistic sample per key kind (and a second OpenAI project key without the marker). */
export function sampleKeys(seed = 1): SampleKey[] {
  // Mixed classes up front, so the lenient OpenAI patterns' shape check always passes.
  const b64 = (n: number, s: number): string => 'aZ7' + randomChars(BASE64URL, n - 3, seed * 97 + s)
  const alnum = (n: number, s: number): string => randomChars(ALNUM, n, seed * 97 + s)
  return [
    {
      kind: 'openai-project',
      key: ['sk', 'proj', b64(74, 1) + OPENAI_MARKER + b64(74, 2)].join('-'),
      prefix: 'sk-proj-',
    },
    { kind: 'openai-project', key: ['sk', 'proj', b64(120, 3)].join('-'), prefix: 'sk-proj-' },
    {
      kind: 'openai-service-account',
      key: ['sk', 'svcacct', b64(58, 4) + OPENAI_MARKER + b64(58, 5)].join('-'),
      prefix: 'sk-svcacct-',
    },
    { kind: 'openai-admin', key: ['sk', 'admin', b64(124, 6)].join('-'), prefix: 'sk-admin-' },
    {
      kind: 'openai-legacy',
      key: ['sk', alnum(20, 7) + OPENAI_MARKER + alnum(20, 8)].join('-'),
      prefix: 'sk-',
    },
    {
      kind: 'anthropic-api',
      key: ['sk', 'ant', 'api03', b64(93, 9) + 'AA'].join('-'),
      prefix: 'sk-ant-api03-',
    },
    {
      kind: 'anthropic-admin',
      key: ['sk', 'ant', 'admin01', b64(93, 10) + 'AA'].join('-'),
      prefix: 'sk-ant-admin01-',
    },
    {
      kind: 'openrouter',
      key: ['sk', 'or', 'v1', randomChars(HEX, 64, seed * 97 + 11)].join('-'),
      prefix: 'sk-or-v1-',
    },
    {
      kind: 'google-api',
      key: ['AI', 'za', randomChars(BASE64URL, 35, seed * 97 + 12)].join(''),
      prefix: ['AI', 'za'].join(''),
    },
    { kind: 'groq', key: ['gsk', alnum(52, 13)].join('_'), prefix: 'gsk_' },
    {
      kind: 'huggingface',
      key: ['hf', randomChars(LETTERS, 34, seed * 97 + 14)].join('_'),
      prefix: 'hf_',
    },
    { kind: 'xai', key: ['xai', randomChars(WORD, 80, seed * 97 + 15)].join('-'), prefix: 'xai-' },
    { kind: 'perplexity', key: ['pplx', alnum(48, 16)].join('-'), prefix: 'pplx-' },
    {
      kind: 'age-identity',
      // Bech32's alphabet, upper-cased as age writes identities.
      key: [
        'AGE',
        'SECRET',
        'KEY',
        '1' + randomChars('QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L', 58, seed * 97 + 17),
      ].join('-'),
      prefix: 'AGE-SECRET-KEY-1',
    },
  ]
}

/** The sample of one kind (the first, for OpenAI project keys). */
export function sampleKey(kind: KeyKind, seed = 1): string {
  const found = sampleKeys(seed).find((sample) => sample.kind === kind)
  if (found === undefined) throw new Error(`no sample for ${kind}`)
  return found.key
}

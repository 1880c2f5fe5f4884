import { createHash } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { KEY_KINDS, KEY_PATTERNS } from '../../src/scan/key-patterns.js'
import { allowSet, scanLines, scanText, type ScanOptions } from '../../src/scan/scan-text.js'
import { BASE64URL, HEX, LETTERS, randomChars, sampleKey, sampleKeys } from './sample-keys.js'

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
const options = (allow: readonly string[] = []): ScanOptions => ({ allow: allowSet(allow), sha256 })

describe('KEY_PATTERNS', () => {
  it('has exactly one global, unicode pattern per kind', () => {
    expect(KEY_PATTERNS.map((p) => p.id).sort()).toEqual([...KEY_KINDS].sort())
    for (const pattern of KEY_PATTERNS) expect(pattern.regex.flags).toBe('gu')
  })

  it('has a literal that every sample of its kind starts with', () => {
    for (const { kind, key } of sampleKeys()) {
      const pattern = KEY_PATTERNS.find((p) => p.id === kind)
      expect(pattern !== undefined && key.startsWith(pattern.literal)).toBe(true)
    }
  })

  it('classifies every sample as exactly one kind', () => {
    for (const { kind, key } of sampleKeys()) {
      const kinds = KEY_PATTERNS.filter((p) => [...key.matchAll(p.regex)].length > 0).map(
        (p) => p.id,
      )
      expect(kinds).toEqual([kind])
    }
  })
})

describe('scanText', () => {
  it.each(sampleKeys().map((s) => [s.kind, s] as const))(
    'finds %s keys with their line, column, provider and hash',
    (kind, { key }) => {
      const text = `# settings\nname: demo\n  api_key: "${key}"\n`

      const hits = scanText('config/app.yaml', text, options())

      expect(hits).toHaveLength(1)
      expect(hits[0]).toMatchObject({ file: 'config/app.yaml', line: 3, column: 13, kind })
      expect(hits[0]?.provider).toBe(KEY_PATTERNS.find((p) => p.id === kind)?.provider)
      expect(hits[0]?.sha256).toBe(sha256(key))
    },
  )

  it.each(sampleKeys().map((s) => [s.kind, s] as const))(
    'shows %s keys only masked: prefix and last 4',
    (_kind, { key, prefix }) => {
      const [hit] = scanText('f', `KEY=${key}`, options())

      expect(hit?.masked).toBe(`${prefix}…${key.slice(-4)}`)
      const serialized = JSON.stringify(hit)
      expect(serialized).not.toContain(key)
      // Not even a long stretch of the secret part.
      expect(serialized).not.toContain(key.slice(prefix.length, prefix.length + 12))
    },
  )

  it('reports every key of a file, in order, with CRLF line endings', () => {
    const openai = sampleKey('openai-project')
    const groq = sampleKey('groq')
    const text = `a: 1\r\nb: ${openai}\r\n\r\nc: x ${groq} ${openai}\r\n`

    const hits = scanText('f', text, options())

    expect(hits.map((h) => [h.line, h.column, h.kind])).toEqual([
      [2, 4, 'openai-project'],
      [4, 6, 'groq'],
      [4, 7 + groq.length, 'openai-project'],
    ])
  })

  it('finds a key at the very start and the very end of the text', () => {
    const key = sampleKey('perplexity')

    expect(scanText('f', key, options()).map((h) => [h.line, h.column])).toEqual([[1, 1]])
    expect(scanText('f', `x\n${key}`, options()).map((h) => [h.line, h.column])).toEqual([[2, 1]])
  })

  it.each([
    ['a double quote', (k: string) => `"${k}"`],
    ['a single quote', (k: string) => `'${k}'`],
    ['a backtick', (k: string) => `\`${k}\``],
    ['an equals sign', (k: string) => `KEY=${k};`],
    ['a colon and a full stop', (k: string) => `the key:${k}.`],
    ['parentheses', (k: string) => `(${k})`],
    ['an escaped newline in a string', (k: string) => `"first\\n${k}\\n"`],
    ['a URL query', (k: string) => `https://example.com/v1?key=${k}&x=1`],
    ['a tab', (k: string) => `\t${k}\t`],
  ])('finds a key delimited by %s', (_what, wrap) => {
    for (const { kind, key } of sampleKeys()) {
      expect(scanText('f', wrap(key), options()).map((h) => h.kind)).toEqual([kind])
    }
  })

  it('skips keys inside a SOPS ENC[] value, but not next to it', () => {
    const inCipher = sampleKey('google-api')
    const outside = sampleKey('huggingface')
    const text = [
      'api_key: ENC[AES256_GCM,data:' + inCipher + ',iv:aGVsbG8=,tag:d29ybGQ=,type:str]',
      `note: ENC[AES256_GCM,data:${sampleKey('groq')},type:str] ${outside}`,
    ].join('\n')

    const hits = scanText('keys/a.sops.yaml', text, options())

    expect(hits.map((h) => [h.line, h.kind])).toEqual([[2, 'huggingface']])
  })

  it('skips keys whose SHA-256 is in scan.allow, in any letter case', () => {
    const allowed = sampleKey('openrouter')
    const other = sampleKey('openrouter', 2)
    const text = `${allowed}\n${other}\n`

    const hits = scanText('f', text, options([`sha256:${sha256(allowed).toUpperCase()}`]))

    expect(hits.map((h) => h.line)).toEqual([2])
  })

  it.each([
    ['prose after sk-', 'use an sk- key, e.g. sk-proj- followed by your project key'],
    [
      'a placeholder made of words',
      `OPENAI_API_KEY=sk-proj-${'replace-with-your-own-key-'.repeat(3)}`,
    ],
    [
      'a placeholder in capitals',
      ['sk', 'proj', 'YOUR_PROJECT_KEY_GOES_HERE_PLEASE_REPLACE_IT_NOW'].join('-'),
    ],
    ['a repeated-character placeholder', `sk-or-v1-${'0'.repeat(64)}`],
    ['a low-entropy Google-shaped string', ['AI', 'za'].join('') + 'a'.repeat(35)],
    ['a Google key one character short', ['AI', 'za'].join('') + randomChars(BASE64URL, 34, 5)],
    ['a Groq key one character short', 'gsk_' + randomChars(LETTERS, 51, 6)],
    ['an OpenRouter key with upper-case hex', `sk-or-v1-${randomChars(HEX, 64, 7).toUpperCase()}`],
    [
      'a Hugging Face token with a digit in it',
      `hf_${randomChars(LETTERS, 20, 8)}1${randomChars(LETTERS, 13, 9)}`,
    ],
    [
      'an Anthropic key without its AA suffix',
      `sk-ant-api03-${randomChars(BASE64URL, 95, 10)}`.replace(/AA$/, 'Ab'),
    ],
  ])('does not report %s', (_what, text) => {
    expect(scanText('f', text, options())).toEqual([])
  })

  it('does not report a key preceded by more of a token', () => {
    for (const { key } of sampleKeys()) {
      for (const text of [`x${key}`, `_${key}`, `-${key}`, `é${key}`, `9${key}`]) {
        expect(scanText('f', text, options())).toEqual([])
      }
    }
  })

  it('does not report a fixed-length key followed by more of a token', () => {
    // The lenient OpenAI patterns have no upper length: a longer token is a longer key to them.
    const variableLength = new Set(['openai-project', 'openai-service-account', 'openai-admin'])
    for (const { kind, key } of sampleKeys().filter((s) => !variableLength.has(s.kind))) {
      for (const text of [`${key}x`, `${key}_tail`, `${key}-x`, `${key}9`, `${key}é`]) {
        expect([kind, scanText('f', text, options())]).toEqual([kind, []])
      }
    }
  })
})

describe('scanLines', () => {
  it('keeps the given line numbers', () => {
    const key = sampleKey('xai')

    const hits = scanLines(
      'f',
      [
        { line: 7, text: 'nothing here' },
        { line: 42, text: `  XAI_API_KEY=${key}` },
      ],
      options(),
    )

    expect(hits.map((h) => [h.file, h.line, h.column, h.kind])).toEqual([['f', 42, 15, 'xai']])
  })
})

describe('allowSet', () => {
  it('keeps well-formed sha256 entries, lowercased, and drops the rest', () => {
    const digest = sha256('x')

    const set = allowSet([
      `SHA256:${digest.toUpperCase()}`,
      'sha256:abc',
      digest,
      ` sha256:${digest} `,
    ])

    expect([...set]).toEqual([digest])
  })
})

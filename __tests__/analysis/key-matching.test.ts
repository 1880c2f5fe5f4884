import { describe, expect, it } from '@jest/globals'
import { hintMatches, matchKeys, parseHint, redactedHint } from '../../src/analysis/key-matching.js'
import type { ProviderKey } from '../../src/records.js'

const secret = ['sk', 'or', 'v1', 'ab12'.repeat(16)].join('-')
const key = (id: string, hint: string | undefined, provider = 'openrouter'): ProviderKey => ({
  provider,
  providerKeyId: id,
  hint,
  name: id,
  created: undefined,
  lastUsed: undefined,
  status: 'active',
  project: undefined,
  owner: undefined,
})

describe('key matching', () => {
  it.each([
    ['sk-abc...def', { prefix: 'sk-abc', suffix: 'def' }],
    ['sk-ant-api03-R2D...igAA', { prefix: 'sk-ant-api03-R2D', suffix: 'igAA' }],
    ['sk-or-v1-0e6…1c96', { prefix: 'sk-or-v1-0e6', suffix: '1c96' }],
    ['sk-abc...d', undefined],
    ['no-ellipsis', undefined],
  ])('parses hint %s', (hint, expected) => {
    expect(parseHint(hint)).toEqual(expected)
  })

  it('matches a secret against its own redacted hint only', () => {
    expect(hintMatches(redactedHint('openrouter', secret), secret)).toBe(true)
    expect(hintMatches(redactedHint('openrouter', secret), secret.slice(0, -1) + 'f')).toBe(false)
    expect(hintMatches(undefined, secret)).toBe(false)
  })

  it('matches by id first, then by hint, and lists the unmatched provider keys', () => {
    const keys = [
      key('h1', redactedHint('openrouter', secret)),
      key('h2', 'sk-or-v1-zzz...zzzz'),
      key('key_a', 'sk-abc...xyz', 'openai'),
    ]

    const report = matchKeys(
      [
        { keyId: 'by-id', provider: 'openai', providerKeyId: 'key_a' },
        { keyId: 'by-hint', provider: 'openrouter', secret },
      ],
      keys,
    )

    expect(report.matches).toEqual([
      { keyId: 'by-id', status: 'matched', by: 'id', providerKeyId: 'key_a' },
      { keyId: 'by-hint', status: 'matched', by: 'hint', providerKeyId: 'h1' },
    ])
    expect(report.unmatched.map((k) => k.providerKeyId)).toEqual(['h2'])
  })

  it('reports ambiguous and missing matches instead of guessing', () => {
    const hint = redactedHint('openrouter', secret)

    const report = matchKeys(
      [
        { keyId: 'twin', provider: 'openrouter', secret },
        { keyId: 'gone', provider: 'openrouter', providerKeyId: 'nope' },
        { keyId: 'no-secret', provider: 'openrouter' },
        { keyId: 'other-provider', provider: 'anthropic', secret },
      ],
      [key('h1', hint), key('h2', hint)],
    )

    expect(report.matches).toEqual([
      { keyId: 'twin', status: 'ambiguous', candidates: ['h1', 'h2'] },
      { keyId: 'gone', status: 'missing', reason: expect.stringContaining('nope') },
      { keyId: 'no-secret', status: 'missing', reason: expect.any(String) },
      { keyId: 'other-provider', status: 'missing', reason: expect.any(String) },
    ])
    expect(report.unmatched).toEqual([])
    expect(JSON.stringify(report)).not.toContain(secret)
  })
})

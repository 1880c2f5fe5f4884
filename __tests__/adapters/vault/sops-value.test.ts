import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import {
  formatGoFloat,
  openValue,
  parseEncryptedValue,
  plaintextBytes,
  sealValue,
  typedPlaintext,
  valueAad,
} from '../../../src/adapters/vault/sops-value.js'
import { canonicalLastModified } from '../../../src/adapters/vault/sops-mac.js'

describe('sops values', () => {
  it('formats floats as Go FormatFloat(f, -1): never an exponent', () => {
    expect(formatGoFloat(3.14)).toBe('3.14')
    expect(formatGoFloat(7)).toBe('7')
    expect(formatGoFloat(1e21)).toBe('1000000000000000000000')
    expect(formatGoFloat(1.5e-7)).toBe('0.00000015')
    expect(formatGoFloat(-2.5e22)).toBe('-25000000000000000000000')
    expect(formatGoFloat(Infinity)).toBe('+Inf')
  })

  it('encodes bools as Go does and parses ParseBool forms back', () => {
    expect(plaintextBytes(true).toString()).toBe('True')
    for (const t of ['1', 't', 'TRUE', 'True'])
      expect(typedPlaintext(Buffer.from(t), 'bool')).toBe(true)
    expect(() => typedPlaintext(Buffer.from('yes'), 'bool')).toThrow()
  })

  it('builds the AAD from mapping keys, with `:` for a top-level comment', () => {
    expect(valueAad(['providers', 'openai', 'api_key'])).toBe('providers:openai:api_key:')
    expect(valueAad([])).toBe(':')
  })

  it('seals with a 32-byte IV and opens only with the same key and AAD', () => {
    const key = randomBytes(32)
    const enc = parseEncryptedValue(sealValue(Buffer.from('hello'), 'str', key, 'a:'))
    expect(enc.iv).toHaveLength(32)
    expect(openValue(enc, key, 'a:')?.toString()).toBe('hello')
    expect(openValue(enc, key, 'b:')).toBeUndefined()
    expect(openValue(enc, randomBytes(32), 'a:')).toBeUndefined()
  })

  it('rejects malformed ENC strings', () => {
    expect(() =>
      parseEncryptedValue('ENC[AES256_GCM,data:abc,iv:AAAA,tag:AAAA,type:str]'),
    ).toThrow()
    expect(() =>
      parseEncryptedValue(
        'ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:blob]',
      ),
    ).toThrow(/type/)
  })

  it('re-formats lastmodified as Go RFC 3339: no fraction, Z for a zero offset', () => {
    expect(canonicalLastModified('2024-03-25T22:08:10Z')).toBe('2024-03-25T22:08:10Z')
    expect(canonicalLastModified('2024-03-25T22:08:10.123456Z')).toBe('2024-03-25T22:08:10Z')
    expect(canonicalLastModified('2024-03-24T21:11:43-04:00')).toBe('2024-03-24T21:11:43-04:00')
    expect(canonicalLastModified('2024-03-24T21:11:43+00:00')).toBe('2024-03-24T21:11:43Z')
    expect(canonicalLastModified('yesterday')).toBeUndefined()
  })
})

/** parseEncryptedValue before its one-match fast path, as the reference. */
function referenceParse(text: string): unknown {
  const match = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$/.exec(text)
  if (!match) throw new Error('not in sops ENC[AES256_GCM,…] format')
  const [, data = '', iv = '', tag = '', type = ''] = match
  for (const [name, field] of [
    ['data', data],
    ['iv', iv],
    ['tag', tag],
  ] as const) {
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(field)) {
      throw new Error(`invalid base64 in the ${name} field`)
    }
  }
  if (!['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment'].includes(type)) {
    throw new Error(`unknown value type "${type}"`)
  }
  const tagBytes = Buffer.from(tag, 'base64')
  const ivBytes = Buffer.from(iv, 'base64')
  if (tagBytes.length !== 16) throw new Error('the tag field is not 16 bytes')
  if (ivBytes.length === 0) throw new Error('the iv field is empty')
  return { data: Buffer.from(data, 'base64'), iv: ivBytes, tag: tagBytes, type }
}

describe('parseEncryptedValue', () => {
  it('parses or refuses every value, edited or not, as the stepwise checks do', () => {
    const key = randomBytes(32)
    const field = fc.stringMatching(/^[A-Za-z0-9+/]{0,6}={0,3}$/)
    const value = fc.oneof(
      fc
        .tuple(fc.string({ maxLength: 20 }), fc.constantFrom('str', 'int', 'comment'))
        .map(([plain, type]) => sealValue(Buffer.from(plain), type, key, 'a:')),
      fc
        .tuple(field, field, field, fc.constantFrom('str', 'blob', 'int]', ''))
        .map(([d, i, t, type]) => `ENC[AES256_GCM,data:${d},iv:${i},tag:${t},type:${type}]`),
    )
    const edited = fc
      .tuple(value, fc.nat(), fc.constantFrom('', ',', '=', ':', 'A', ']', ',iv:'), fc.nat(2))
      .map(([text, at, insert, remove]) => {
        const pos = at % (text.length + 1)
        return text.slice(0, pos) + insert + text.slice(pos + remove)
      })
    const outcome = (parse: (text: string) => unknown, text: string): unknown => {
      try {
        return parse(text)
      } catch (error) {
        return { error: (error as Error).message }
      }
    }
    fc.assert(
      fc.property(fc.oneof(value, edited), (text) => {
        expect(outcome(parseEncryptedValue, text)).toEqual(outcome(referenceParse, text))
      }),
      { numRuns: 5000 },
    )
  })
})

import { describe, expect, it } from '@jest/globals'
import { decodeText, isBinary } from '../../src/scan/is-binary.js'

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

describe('isBinary', () => {
  it('treats UTF-8 text, including non-ASCII and empty files, as text', () => {
    expect(isBinary(utf8('key: välue — ✓ 🔑\n'))).toBe(false)
    expect(isBinary(new Uint8Array())).toBe(false)
  })

  it('treats a NUL byte in the first 8 KiB as binary', () => {
    const bytes = utf8('a'.repeat(8 * 1024))
    bytes[8 * 1024 - 1] = 0

    expect(isBinary(bytes)).toBe(true)
  })

  it('treats invalid UTF-8 as binary, wherever it is', () => {
    const latin1 = Uint8Array.from([0x63, 0x61, 0x66, 0xe9]) // "café" in Latin-1
    const late = new Uint8Array([...utf8('a'.repeat(20_000)), 0xff])

    expect(isBinary(latin1)).toBe(true)
    expect(isBinary(late)).toBe(true)
  })

  it('reads a NUL past the first 8 KiB as text: valid UTF-8, and git agrees', () => {
    const bytes = new Uint8Array([...utf8('a'.repeat(9 * 1024)), 0, 0x61])

    expect(isBinary(bytes)).toBe(false)
  })
})

describe('decodeText', () => {
  it('returns the text without a byte-order mark, or undefined for binary', () => {
    expect(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69]))).toBe('hi')
    expect(decodeText(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]))).toBe(
      undefined,
    )
  })
})

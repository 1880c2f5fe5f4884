import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { FULLY_MASKED, maskSecret } from '../../src/report/mask.js'

/** Provider-like keys are built at run time so no source file holds one. */
const body = (n = 48) => randomBytes(n).toString('base64url').slice(0, n)

describe('maskSecret', () => {
  it.each([
    ['sk-' + 'proj-', 'sk-proj-'],
    ['sk-' + 'ant-' + 'api03-', 'sk-ant-api03-'],
    ['sk-' + 'or-' + 'v1-', 'sk-or-v1-'],
    ['sk-', 'sk-'],
    ['ghp_', 'ghp_'],
  ])('keeps the known prefix %s and the last four characters', (prefix, shown) => {
    const key = prefix + body()
    expect(maskSecret(key)).toBe(`${shown}…${key.slice(-4)}`)
  })

  it('shows no prefix for a value without one', () => {
    const key = 'A' + body()
    expect(maskSecret(key)).toBe(`…${key.slice(-4)}`)
  })

  it('masks short values entirely', () => {
    expect(maskSecret('')).toBe(FULLY_MASKED)
    expect(maskSecret('hunter2')).toBe(FULLY_MASKED)
    expect(maskSecret('sk-' + 'proj-' + body(10))).toBe(FULLY_MASKED)
  })

  it('never shows more than the prefix and four characters of any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 120 }), (value) => {
        const masked = maskSecret(value)
        if (masked === FULLY_MASKED) return
        const [prefix = '', tail = ''] = masked.split('…')
        expect(value.startsWith(prefix)).toBe(true)
        expect(value.endsWith(tail)).toBe(true)
        expect([...tail]).toHaveLength(4)
        expect([...value].length - [...prefix].length - 4).toBeGreaterThanOrEqual(12)
      }),
    )
  })
})

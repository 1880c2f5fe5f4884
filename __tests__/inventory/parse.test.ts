import { describe, expect, it } from '@jest/globals'
import { parseYamlFile } from '../../src/inventory/parse.js'
import { findExcessiveNesting, INVENTORY_LIMITS } from '../../src/inventory/limits.js'

const bytes = (text: string) => new TextEncoder().encode(text)

describe('parseYamlFile bounds what a hostile file costs', () => {
  it('refuses flow nesting past the limit before the parser sees it, naming line and column', () => {
    // 10,000 levels crash the yaml parser with an uncatchable out-of-memory error.
    const text = 'version: 1\nkeys: ' + '['.repeat(10_000) + ']'.repeat(10_000) + '\n'
    const result = parseYamlFile('keyward.yaml', bytes(text))
    expect(result.ok).toBe(false)
    expect(result.findings).toEqual([
      expect.objectContaining({
        rule: 'yaml-syntax',
        line: 2,
        column: 6 + INVENTORY_LIMITS.maxDepth + 1,
      }),
    ])
    expect(result.findings[0]?.message).toContain('deeper than 64 levels')
  })

  it('refuses deep block indentation', () => {
    const lines = Array.from({ length: 800 }, (_, i) => `${' '.repeat(i)}k${i}:`)
    const result = parseYamlFile('keyward.yaml', bytes(lines.join('\n')))
    expect(result.ok).toBe(false)
    expect(result.findings[0]?.message).toContain('deeper than')
  })

  it('is not fooled by an apostrophe in a plain scalar before deep brackets', () => {
    const text = "label: Jeff's key\nkeys: " + '['.repeat(200) + ']'.repeat(200)
    expect(findExcessiveNesting(text, 64)).toEqual(expect.objectContaining({ line: 2 }))
  })

  it('ignores brackets inside quotes and comments', () => {
    const text = `a: "${'['.repeat(100)}"\nb: '${'{'.repeat(100)}'\n# ${'['.repeat(100)}\n`
    expect(findExcessiveNesting(text, 64)).toBeUndefined()
  })

  it('stops an alias bomb with a clear message', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for (let i = 1; i < 8; i++) {
      const prev = String.fromCharCode(96 + i)
      const name = String.fromCharCode(97 + i)
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`)
    }
    const result = parseYamlFile('keyward.yaml', bytes(levels.join('\n')))
    expect(result.ok).toBe(false)
    expect(result.findings[0]?.message).toMatch(/aliases expand to too much data/)
  })

  it('refuses binary garbage and invalid UTF-8 without throwing', () => {
    const garbage = Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)
    const nul = parseYamlFile('keyward.yaml', garbage)
    expect(nul.ok).toBe(false)
    expect(nul.findings[0]?.message).toMatch(/binary data/)
    const latin1 = parseYamlFile('keyward.yaml', Uint8Array.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]))
    expect(latin1.findings[0]?.message).toMatch(/not valid UTF-8/)
  })

  it('refuses a file over the size limit', () => {
    const big = new Uint8Array(INVENTORY_LIMITS.maxBytes + 1).fill(0x20)
    const result = parseYamlFile('keyward.yaml', big)
    expect(result.findings[0]?.message).toMatch(/MiB; an inventory may be at most 16 MiB/)
  })

  it('keeps dates as strings (YAML 1.2 core schema)', () => {
    const result = parseYamlFile('keyward.yaml', bytes('created: 2026-09-01\n'))
    expect(result.ok && result.parsed.value).toEqual({ created: '2026-09-01' })
  })

  it('reads a UTF-8 byte-order mark as nothing', () => {
    const result = parseYamlFile(
      'keyward.yaml',
      Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes('version: 1\n')]),
    )
    expect(result.ok && result.parsed.value).toEqual({ version: 1 })
  })
})

import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify, parse } from 'yaml'
import { checkInventory } from '../../src/inventory/check.js'

const now = new Date('2026-11-27T12:00:00Z')
const demo = readFileSync(join(import.meta.dirname, '../../examples/demo/keyward.yaml'), 'utf8')
const full = readFileSync(
  join(import.meta.dirname, '../../__fixtures__/inventories/valid/full.yaml'),
  'utf8',
)

/** Checks the invariant: any input ends in findings with real positions, never a throw. */
function assertWellFormed(text: string | Uint8Array): void {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text
  const lineCount = (typeof text === 'string' ? text : new TextDecoder().decode(text)).split(
    '\n',
  ).length
  const { findings } = checkInventory('keyward.yaml', bytes, { now })
  for (const f of findings) {
    expect(f.line).toBeGreaterThanOrEqual(1)
    expect(f.line).toBeLessThanOrEqual(Math.max(lineCount, 1))
    expect(f.column).toBeGreaterThanOrEqual(1)
    expect(f.message.length).toBeGreaterThan(0)
  }
}

const yamlish = fc.constantFrom(
  ':',
  '-',
  ' ',
  '\n',
  '\t',
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '#',
  '@',
  '!!str',
  '~',
  '|',
  '>',
  '0',
  'x',
  '%',
)

describe('validator never throws on mutated inventories', () => {
  it('survives character-level edits of a valid inventory', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(demo, full),
        fc.array(fc.tuple(fc.nat(), fc.nat(20), fc.oneof(yamlish, fc.string({ maxLength: 8 }))), {
          minLength: 1,
          maxLength: 6,
        }),
        (base, edits) => {
          let text = base
          for (const [at, remove, insert] of edits) {
            const i = at % (text.length + 1)
            text = text.slice(0, i) + insert + text.slice(i + remove)
          }
          assertWellFormed(text)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('survives structural edits: any field replaced by any JSON value', () => {
    const value = parse(full) as Record<string, unknown>
    const paths: string[][] = []
    const collect = (node: unknown, path: string[]) => {
      paths.push(path)
      if (node && typeof node === 'object')
        for (const [k, v] of Object.entries(node)) collect(v, [...path, k])
    }
    collect(value, [])
    fc.assert(
      fc.property(
        fc.constantFrom(...paths.filter((p) => p.length > 0)),
        fc.jsonValue({ maxDepth: 3 }),
        (path, replacement) => {
          const copy = structuredClone(value)
          let node = copy as Record<string, unknown>
          for (const segment of path.slice(0, -1)) node = node[segment] as Record<string, unknown>
          node[path.at(-1) as string] = replacement
          assertWellFormed(stringify(copy))
        },
      ),
      { numRuns: 300 },
    )
  })

  it('survives arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(() => checkInventory('keyward.yaml', bytes, { now })).not.toThrow()
      }),
      { numRuns: 300 },
    )
  })
})

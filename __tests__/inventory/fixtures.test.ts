import { describe, expect, it } from '@jest/globals'
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { checkInventory } from '../../src/inventory/check.js'
import { renderText } from '../../src/report/findings-text.js'
import { FIXTURE_NOW } from '../../test/fakes/fixed-clock.js'

// Every inventory under valid/ passes; every one under invalid/ yields exactly the findings
// in its reviewed golden file (<name>.expected.txt, the `validate` text output).
// UPDATE_GOLDEN=1 rewrites the golden files; review the diff before committing it.
const root = join(import.meta.dirname, '../../__fixtures__/inventories')
const context = { now: new Date(FIXTURE_NOW) }
const yamlFiles = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.yaml'))

describe('valid inventories', () => {
  it.each([
    ...yamlFiles('valid').map((f) => join(root, 'valid', f)),
    join(import.meta.dirname, '../../examples/demo/keyward.yaml'),
  ])('%s has no errors', (path) => {
    const { findings } = checkInventory('keyward.yaml', readFileSync(path), context)
    expect(findings.filter((f) => f.severity === 'error')).toEqual([])
  })
})

describe('invalid inventories', () => {
  it.each(yamlFiles('invalid'))('%s yields exactly its expected findings', (name) => {
    const { findings } = checkInventory(
      'keyward.yaml',
      readFileSync(join(root, 'invalid', name)),
      context,
    )
    const actual = renderText(findings)
    const golden = join(root, 'invalid', name.replace(/\.yaml$/, '.expected.txt'))
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, actual)
    expect(findings.length).toBeGreaterThan(0)
    expect(findings.some((f) => f.severity === 'error')).toBe(true)
    expect(actual).toBe(readFileSync(golden, 'utf8'))
  })
})

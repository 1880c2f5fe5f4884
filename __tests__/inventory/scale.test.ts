import { describe, expect, it } from '@jest/globals'
import { checkInventory } from '../../src/inventory/check.js'
import { generateInventory } from '../../test/fakes/inventory-generator.js'

// Speed is measured by `npm run bench` (BENCHMARKS.md); this checks correctness at scale.
describe('a 20,000-key inventory', () => {
  const text = generateInventory(20_000)
  const now = new Date('2026-11-27T12:00:00Z')

  it('validates with no findings', () => {
    const { findings } = checkInventory('keyward.yaml', new TextEncoder().encode(text), { now })
    expect(findings).toEqual([])
  })

  it('still points at the right line of one broken key deep in the file', () => {
    const broken = text.replace(
      '    workflow: wf-1234\n    provider: anthropic',
      '    workflow: wf-99999\n    provider: anthropic',
    )
    const line = broken.split('\n').findIndex((l) => l === '    workflow: wf-99999') + 1
    const { findings } = checkInventory('keyward.yaml', new TextEncoder().encode(broken), { now })
    expect(findings).toEqual([
      expect.objectContaining({ rule: 'unknown-workflow', line, column: 15 }),
    ])
  })
})

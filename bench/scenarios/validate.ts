/**
 * validate: the inventory check (syntax, schema, policy) at 100 / 2,000 / 20,000 keys against
 * a bare `yaml` parse of the same bytes, and the whole CLI `validate` at 2,000 keys.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { checkInventory } from '../../src/inventory/check.js'
import { generateInventory } from '../../test/fakes/inventory-generator.js'
import type { Scenario } from '../scenario.js'
import type { Row } from '../table.js'

/** The instant policy rules (rotation-due, future dates) are evaluated at, for every run. */
const NOW = new Date('2026-11-27T12:00:00Z')

/**
 * The floor parses with `uniqueKeys: false`, as keyward does: yaml's default duplicate-key
 * check compares each key with every earlier key of its map, quadratic in the 20,000 entries
 * of `keys:`, and keyward replaces it with a linear check. With the default, the floor
 * would cost more than checkInventory at 20,000 keys and would be no floor.
 */
const FLOOR_LABEL = 'yaml parseDocument, uniqueKeys: false'

const sizeLabel = (keys: number) => `${keys.toLocaleString('en-US')} keys`

function stringParam(params: Record<string, unknown>, name: string): string {
  const value = params[name]
  if (typeof value !== 'string') throw new Error(`missing parameter ${name}`)
  return value
}

export const validateScenario: Scenario = {
  name: 'validate',
  describe: [
    "**validate: checkInventory**: `checkInventory()` (YAML parse with positions, JSON Schema via ajv, policy rules) on a generated `keyward.yaml`, in-process, from its bytes to its findings; the first call in a fresh process, as the CLI makes it. Floor: `yaml` `parseDocument` of the same bytes with `uniqueKeys: false`, in a fresh process the same way. `uniqueKeys: false` because yaml's default duplicate-key check is quadratic in the size of a map (the 20,000 entries of `keys:`) and keyward replaces it with a linear one; with the default, checkInventory beats its own floor at 20,000 keys. Ratio on CPU.",
    '**validate: CLI, whole run**: `node dist/cli.js validate --format json` on a temporary governance folder holding the 2,000-key inventory and no key files (so its `missing-secret` findings and exit 1 are expected), timed from spawn to exit; CPU and RSS are the whole process. Floor: a Node.js process that only loads `yaml` and parses the same file. Ratio on wall time.',
  ],
  tasks: {
    async check(params, measure) {
      const bytes = readFileSync(stringParam(params, 'file'))
      const result = await measure(() => checkInventory('keyward.yaml', bytes, { now: NOW }))
      if (result.parsed === undefined) throw new Error('the generated inventory did not parse')
      const errors = result.findings.filter((f) => f.severity === 'error')
      if (errors.length > 0) throw new Error(`unexpected finding: ${errors[0]?.message}`)
    },
    async yaml(params, measure) {
      const bytes = readFileSync(stringParam(params, 'file'))
      const doc = await measure(() =>
        parseDocument(new TextDecoder().decode(bytes), { uniqueKeys: false }),
      )
      if (doc.errors.length > 0) throw new Error('the generated inventory did not parse')
    },
  },

  async run(ctx) {
    const sizes = ctx.quick ? [100, 2_000] : [100, 2_000, 20_000]
    const runsFor = (keys: number) => (ctx.quick ? 3 : keys >= 20_000 ? 5 : 9)
    const rows: Row[] = []
    const files = new Map<number, string>()
    for (const keys of sizes) {
      const dir = join(ctx.tmp, `keys-${keys}`)
      mkdirSync(dir, { recursive: true })
      const file = join(dir, 'keyward.yaml')
      writeFileSync(file, generateInventory(keys, ctx.seed))
      files.set(keys, file)
    }

    for (const keys of sizes) {
      const file = files.get(keys) as string
      const m = await ctx.measure(
        { check: ctx.child('check', { file }), floor: ctx.child('yaml', { file }) },
        runsFor(keys),
        { label: `validate ${sizeLabel(keys)}` },
      )
      rows.push(
        {
          kind: 'measured',
          scenario: 'validate: checkInventory',
          size: sizeLabel(keys),
          measurement: m.check,
          compare: { label: FLOOR_LABEL, floor: m.floor, metric: 'cpu' },
          series: { name: 'validate: checkInventory', units: keys, unit: 'key' },
        },
        { kind: 'floor', label: FLOOR_LABEL, size: sizeLabel(keys), measurement: m.floor },
      )
    }

    // The whole CLI on 2,000 keys: bundle load, inventory, vault (files absent), leak scan.
    const keys = 2_000
    const file = files.get(keys) as string
    const dir = join(ctx.tmp, `keys-${keys}`)
    const yamlEntry = createRequire(join(ctx.repo, 'package.json')).resolve('yaml')
    const floorScript = join(ctx.tmp, 'yaml-parse-only.cjs')
    writeFileSync(
      floorScript,
      `const { parseDocument } = require(${JSON.stringify(yamlEntry)})
const text = require('node:fs').readFileSync(process.argv[2], 'utf8')
const doc = parseDocument(text, { uniqueKeys: false })
if (doc.errors.length > 0) process.exitCode = 1
`,
    )
    const env = { PATH: process.env.PATH, HOME: dir }
    const m = await ctx.measure(
      {
        cli: ctx.command({
          args: [join(ctx.repo, 'dist/cli.js'), 'validate', '--format', 'json'],
          cwd: dir,
          env,
          usage: true,
          expectExit: [1],
          checkOutput: (stdout) => {
            const result = JSON.parse(stdout) as {
              findings?: { rule?: string; severity?: string }[]
            }
            const errors = result.findings?.filter((f) => f.severity === 'error') ?? []
            const rules = new Set(errors.map((f) => f.rule))
            return rules.size === 1 && rules.has('missing-secret')
              ? undefined
              : `expected only missing-secret errors, got ${[...rules].join(', ') || 'none'}`
          },
        }),
        floor: ctx.command({ args: [floorScript, file], cwd: dir, env, usage: true }),
      },
      ctx.quick ? 3 : 9,
      { label: `validate CLI ${sizeLabel(keys)}` },
    )
    const label = `node + ${FLOOR_LABEL} (one process)`
    rows.push(
      {
        kind: 'measured',
        scenario: 'validate: CLI, whole run',
        size: sizeLabel(keys),
        measurement: m.cli,
        compare: { label, floor: m.floor, metric: 'wall' },
      },
      { kind: 'floor', label, size: sizeLabel(keys), measurement: m.floor },
    )
    return rows
  },
}

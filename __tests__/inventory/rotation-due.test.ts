import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import { rotationDueFindings } from '../../src/commands/rotate.js'
import { checkInventory } from '../../src/inventory/check.js'
import type { Inventory } from '../../src/inventory/types.js'

/**
 * `rotation-due` is reported by `validate` (at the key's secret file) and by the audit (which
 * opens the rotation pull request): both must name the same keys on the same day.
 */

const inventory = `version: 1
defaults:
  rotate_after: 30d
providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml
workflows:
  blog:
    label: Blog
    owner: "@maria"
keys:
  fresh:
    label: Fresh
    workflow: blog
    provider: openai
    secret: keys/fresh.sops.yaml
    created: 2026-11-20
  due-today:
    label: Due today
    workflow: blog
    provider: openai
    secret: keys/due-today.sops.yaml
    created: 2026-10-28
  weekly:
    label: Weekly
    workflow: blog
    provider: openai
    secret: keys/weekly.sops.yaml
    created: 2026-11-19
    rotate_after: 1w
  decoy:
    label: Decoy
    workflow: blog
    provider: openai
    secret: keys/decoy.sops.yaml
    created: 2025-01-01
    canary: true
`

const validateSays = (now: Date) =>
  checkInventory('keyward.yaml', new TextEncoder().encode(inventory), { now })
    .findings.filter((f) => f.rule === 'rotation-due')
    .map((f) => f.key)
    .sort()

const auditSays = (now: Date) =>
  rotationDueFindings(parse(inventory) as Inventory, now)
    .map((f) => f.key)
    .sort()

describe('rotation-due in validate and in the audit', () => {
  it.each([
    ['2026-11-26T23:59:59Z', ['weekly']],
    ['2026-11-27T00:00:00Z', ['due-today', 'weekly']],
    ['2026-12-20T00:00:00Z', ['due-today', 'fresh', 'weekly']],
  ])('at %s both name %j, never the canary', (at, keys) => {
    const now = new Date(at)
    expect(validateSays(now)).toEqual(keys)
    expect(auditSays(now)).toEqual(keys)
  })
})

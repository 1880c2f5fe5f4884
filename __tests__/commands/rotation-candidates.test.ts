import { describe, expect, it } from '@jest/globals'
import { finding, type AuditFinding } from '../../src/analysis/audit-findings.js'
import { rotationCandidates } from '../../src/commands/rotate.js'
import type { Inventory, KeyEntry } from '../../src/inventory/types.js'

/** Which keys get a rotation pull request this run, and why: age, exposure, a used canary. */

const NOW = new Date('2026-11-27T06:00:00Z')

function keyEntry(workflow: string, created: string, extra: Partial<KeyEntry> = {}): KeyEntry {
  return {
    label: `Key of ${workflow}`,
    workflow,
    provider: 'openai',
    secret: `keys/${workflow}.sops.yaml`,
    created,
    ...extra,
  }
}

function inventoryOf(keys: Record<string, KeyEntry>, rotateAfter?: string): Inventory {
  return {
    version: 1,
    ...(rotateAfter ? { defaults: { rotate_after: rotateAfter } } : {}),
    providers: { openai: { admin_key: 'keys/admin/openai.sops.yaml' } },
    workflows: {
      video: { label: 'Video', owner: '@jeff' },
      blog: { label: 'Blog', owner: '@maria' },
    },
    keys,
  }
}

const incident = (rule: 'exposed-key' | 'canary-used', key: string): AuditFinding =>
  finding({
    rule,
    severity: 'error',
    kind: 'event',
    key,
    subject: key,
    period: '2026-11-27',
    title: `${rule} on ${key}`,
    message: 'it happened',
    numbers: {},
  })

const candidates = (inventory: Inventory, findings: AuditFinding[] = []) =>
  rotationCandidates(inventory, findings, NOW).map((c) => [c.keyId, c.reason])

describe('rotationCandidates', () => {
  it('makes a key due on the day it reaches rotate_after, not the day before', () => {
    // 2026-11-27T06:00Z minus 60 days is 2026-09-28T06:00Z.
    const inventory = inventoryOf({
      due: keyEntry('video', '2026-09-28', { rotate_after: '60d' }),
      young: keyEntry('video', '2026-09-29', { rotate_after: '60d' }),
    })

    expect(candidates(inventory)).toEqual([['due', 'rotation-due']])
  })

  it('is due exactly at rotate_after and not an hour before', () => {
    const inventory = inventoryOf({ k: keyEntry('video', '2026-11-26', { rotate_after: '30h' }) })

    expect(rotationCandidates(inventory, [], new Date('2026-11-27T06:00:00Z'))).toHaveLength(1)
    expect(rotationCandidates(inventory, [], new Date('2026-11-27T05:00:00Z'))).toHaveLength(0)
  })

  it('says when the key was due', () => {
    const inventory = inventoryOf({ due: keyEntry('video', '2026-09-28', { rotate_after: '60d' }) })

    expect(rotationCandidates(inventory, [], NOW)[0]?.why).toBe(
      'key "due" was created on 2026-09-28 and rotate_after is 60d, so it was due on 2026-11-27.',
    )
  })

  it('uses defaults.rotate_after for a key without its own', () => {
    const keys = { k: keyEntry('video', '2026-10-28') } // 30 days old on NOW

    expect(candidates(inventoryOf(keys, '30d'))).toEqual([['k', 'rotation-due']])
    expect(candidates(inventoryOf(keys, '31d'))).toEqual([])
    // Without defaults, the SPEC default of 90d applies.
    expect(candidates(inventoryOf(keys))).toEqual([])
    expect(candidates(inventoryOf({ k: keyEntry('video', '2026-08-29') }))).toEqual([
      ['k', 'rotation-due'],
    ])
  })

  it('never rotates a canary for age', () => {
    const inventory = inventoryOf({ canary: keyEntry('video', '2020-01-01', { canary: true }) })

    expect(candidates(inventory)).toEqual([])
  })

  it('rotates an exposed key at once, however young', () => {
    const inventory = inventoryOf({ fresh: keyEntry('video', '2026-11-26') })

    const [only] = rotationCandidates(inventory, [incident('exposed-key', 'fresh')], NOW)

    expect(only).toMatchObject({ keyId: 'fresh', reason: 'exposed-key' })
    expect(only?.why).toBe('the key was found in plain text (exposed-key on fresh).')
  })

  it('ignores findings without an inventory key, and keys the inventory does not have', () => {
    const inventory = inventoryOf({ fresh: keyEntry('video', '2026-11-26') })
    const { key: _none, ...noKey } = incident('exposed-key', 'fresh')

    expect(candidates(inventory, [noKey, incident('exposed-key', 'ghost')])).toEqual([])
  })

  it('rotates a used canary and every other key of its workflow, and no key of another workflow', () => {
    const inventory = inventoryOf({
      'video-canary': keyEntry('video', '2026-11-01', { canary: true }),
      'video-openai': keyEntry('video', '2026-11-01'),
      'video-other': keyEntry('video', '2026-11-20'),
      'blog-openai': keyEntry('blog', '2026-11-01'),
    })

    const result = rotationCandidates(inventory, [incident('canary-used', 'video-canary')], NOW)

    expect(result.map((c) => [c.keyId, c.reason])).toEqual([
      ['video-canary', 'canary-used'],
      ['video-openai', 'canary-used'],
      ['video-other', 'canary-used'],
    ])
    expect(result[1]?.why).toContain('the canary "video-canary" of workflow "video" was used')
  })

  it('puts exposure before age, and an exposed key that is also old is listed once, as exposed', () => {
    const inventory = inventoryOf({
      'old-a': keyEntry('blog', '2026-01-01'),
      'old-exposed': keyEntry('blog', '2026-01-01'),
      'video-canary': keyEntry('video', '2026-11-01', { canary: true }),
      'video-openai': keyEntry('video', '2026-11-01'),
      fresh: keyEntry('blog', '2026-11-20'),
    })

    const result = candidates(inventory, [
      incident('exposed-key', 'fresh'),
      incident('canary-used', 'video-canary'),
      incident('exposed-key', 'old-exposed'),
    ])

    expect(result).toEqual([
      ['fresh', 'exposed-key'],
      ['video-canary', 'canary-used'],
      ['video-openai', 'canary-used'],
      ['old-exposed', 'exposed-key'],
      ['old-a', 'rotation-due'],
    ])
  })

  it('skips a key whose created date or rotate_after cannot be read', () => {
    const inventory = inventoryOf({
      baddate: keyEntry('video', 'someday'),
      badduration: keyEntry('video', '2020-01-01', { rotate_after: 'soon' }),
    })

    expect(candidates(inventory)).toEqual([])
  })
})

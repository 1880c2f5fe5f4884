import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import { checkInventory } from '../../src/inventory/check.js'
import { editKeyEntry } from '../../src/rotation/inventory-edit.js'

/**
 * `editKeyEntry`: the rotation pull request's change to keyward.yaml touches only the values it
 * changes, so its diff is exactly `created` and `provider_key_id`.
 */

const now = new Date('2026-11-27T12:00:00Z')

const INVENTORY = `# keyward.yaml: the keys this repository governs.
version: 1

defaults:
  rotate_after: 90d # a comment that must survive

providers:
  openai:
    admin_key: keys/admin/openai.sops.yaml
  openrouter:
    admin_key: 'keys/admin/openrouter.sops.yaml'

workflows:
  blog:
    label: "Blog Writer"
    owner: "@maria"

keys:
  # The blog's key.
  blog-openai:
    label: Blog - OpenAI
    workflow: blog
    provider: openai
    secret: keys/blog-openai.sops.yaml
    created: 2026-09-01 # when the key was minted
    provider_key_id: key_old123 # the provider's id

    used_in: [WordPress plugin, "n8n"]
  batch-openrouter:
      label: Batch - OpenRouter
      provider: openrouter
      workflow: blog
      created: "2026-10-15"
      secret: keys/batch-openrouter.sops.yaml
      cap_usd_month: 20
`

const check = (text: string) =>
  checkInventory('keyward.yaml', new TextEncoder().encode(text), { now }).findings

describe('editKeyEntry', () => {
  it('starts from an inventory that validates cleanly', () => {
    expect(check(INVENTORY)).toEqual([])
  })

  it('replaces created and provider_key_id in place and leaves every other byte alone', () => {
    const out = editKeyEntry(INVENTORY, 'blog-openai', {
      created: '2026-11-27',
      provider_key_id: 'key_new456',
    })

    expect(out).toBe(
      INVENTORY.replace('created: 2026-09-01 # when', 'created: 2026-11-27 # when').replace(
        'provider_key_id: key_old123 # the',
        'provider_key_id: "key_new456" # the',
      ),
    )
    expect(check(out)).toEqual([])
  })

  it('adds a missing provider_key_id on the line after created, with the entry’s indentation', () => {
    const out = editKeyEntry(INVENTORY, 'batch-openrouter', {
      created: '2026-11-27',
      provider_key_id: 'or_hash_9',
    })

    expect(out).toBe(
      INVENTORY.replace(
        '      created: "2026-10-15"\n',
        '      created: 2026-11-27\n      provider_key_id: "or_hash_9"\n',
      ),
    )
    const parsed = parse(out) as { keys: Record<string, Record<string, unknown>> }
    expect(parsed.keys['batch-openrouter']).toMatchObject({
      created: '2026-11-27',
      provider_key_id: 'or_hash_9',
    })
    expect(check(out)).toEqual([])
  })

  it('adds the line after a created that is the last line of a file without a final newline', () => {
    const text = `${INVENTORY}  last:\n    label: Last\n    workflow: blog\n    provider: openai\n    secret: keys/last.sops.yaml\n    created: 2026-10-01`

    const out = editKeyEntry(text, 'last', { provider_key_id: 'key_z' })

    // The new line starts a line of its own even though the file ended without one.
    expect(out.endsWith('    created: 2026-10-01\n    provider_key_id: "key_z"\n')).toBe(true)
    expect(check(out)).toEqual([])
  })

  it('removes the provider_key_id line, comment and all, and nothing else', () => {
    const out = editKeyEntry(INVENTORY, 'blog-openai', {
      created: '2026-11-27',
      provider_key_id: null,
    })

    expect(out).toBe(
      INVENTORY.replace('created: 2026-09-01 #', 'created: 2026-11-27 #').replace(
        "    provider_key_id: key_old123 # the provider's id\n",
        '',
      ),
    )
    expect(check(out)).toEqual([])
  })

  it('leaves the text unchanged when asked to remove a provider_key_id that is not there', () => {
    expect(editKeyEntry(INVENTORY, 'batch-openrouter', { provider_key_id: null })).toBe(INVENTORY)
  })

  it('changes nothing when the edit is empty', () => {
    expect(editKeyEntry(INVENTORY, 'blog-openai', {})).toBe(INVENTORY)
  })

  it('keeps a provider key id made only of digits, or shaped like a number, a string', () => {
    for (const id of ['0123456789', '1e10', '0x1f', 'true', 'null']) {
      const out = editKeyEntry(INVENTORY, 'batch-openrouter', { provider_key_id: id })
      const parsed = parse(out) as { keys: Record<string, Record<string, unknown>> }

      expect(parsed.keys['batch-openrouter']?.provider_key_id).toBe(id)
      expect(check(out)).toEqual([])
    }
  })

  it('throws an error naming the key when the entry does not exist', () => {
    expect(() => editKeyEntry(INVENTORY, 'nope', { created: '2026-11-27' })).toThrow(
      'keyward.yaml has no block entry for key "nope"',
    )
  })

  it('refuses an entry written in flow style instead of corrupting it', () => {
    const flow = `version: 1
keys:
  flowy: { label: F, workflow: blog, provider: openai, secret: keys/f.sops.yaml, created: 2026-01-01 }
`
    expect(() =>
      editKeyEntry(flow, 'flowy', { created: '2026-11-27', provider_key_id: 'key_new' }),
    ).toThrow('"flowy"')
  })

  it('edits a key whose id is made only of digits (a valid id: ^[a-z0-9][a-z0-9-]{0,62}$)', () => {
    const digits = `${INVENTORY}  2024:\n    label: Y\n    workflow: blog\n    provider: openai\n    secret: keys/2024.sops.yaml\n    created: 2026-10-01\n`
    expect(check(digits)).toEqual([])

    const out = editKeyEntry(digits, '2024', { created: '2026-11-27' })

    expect(out).toBe(digits.replace('    created: 2026-10-01\n', '    created: 2026-11-27\n'))
  })
})

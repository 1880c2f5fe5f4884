import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import { secretSha256 } from '../../src/commands/vault.js'
import { parsePlaceholder, renderPlaceholder } from '../../src/rotation/placeholder.js'
import { scanText } from '../../src/scan/scan-text.js'
import { HEX, randomChars } from '../scan/sample-keys.js'

/**
 * The file a checklist rotation commits in place of a key: it names the key and the digest of
 * the old key, holds no secret, and nothing else is ever mistaken for it.
 */

// Built at run time so no source file holds a key-shaped string.
const OLD_KEY = ['sk', 'or', 'v1', randomChars(HEX, 64, 7)].join('-')
const OLD_SHA = secretSha256(OLD_KEY)
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

describe('renderPlaceholder / parsePlaceholder', () => {
  it('round-trips the key id and the old key digest', () => {
    const text = renderPlaceholder({ key: 'night-batch-openrouter', oldSecretSha256: OLD_SHA })

    expect(parsePlaceholder(text)).toEqual({
      key: 'night-batch-openrouter',
      oldSecretSha256: OLD_SHA,
    })
  })

  it('round-trips a placeholder without a digest', () => {
    const text = renderPlaceholder({ key: 'blog-openai', oldSecretSha256: undefined })

    expect(text).not.toContain('old_secret_sha256')
    expect(parsePlaceholder(text)).toEqual({ key: 'blog-openai', oldSecretSha256: undefined })
  })

  it('tells a person what to do, in comments, and is plain YAML', () => {
    const text = renderPlaceholder({ key: 'blog-openai', oldSecretSha256: OLD_SHA })

    expect(text).toContain('keyward vault add blog-openai < new-key.txt')
    expect(parse(text)).toEqual({
      keyward_rotation_pending: { key: 'blog-openai', old_secret_sha256: OLD_SHA },
    })
  })

  it('holds nothing a secret scanner would flag, and not the old key', () => {
    const text = renderPlaceholder({ key: 'night-batch-openrouter', oldSecretSha256: OLD_SHA })

    expect(
      scanText('keys/night-batch-openrouter.sops.yaml', text, { allow: new Set(), sha256 }),
    ).toEqual([])
    // The scanner does find the old key where it is present: the check above can fail.
    expect(scanText('x', OLD_KEY, { allow: new Set(), sha256 })).toHaveLength(1)
    expect(text).not.toContain(OLD_KEY)
    expect(text).not.toContain(OLD_KEY.slice(-12))
    expect(text).not.toContain('ENC[')
  })

  it('does not take a SOPS key file for a placeholder', () => {
    const sops = readFileSync(
      new URL('../../examples/demo/keys/night-batch-openrouter.sops.yaml', import.meta.url),
      'utf8',
    )
    expect(sops).toContain('sops:')

    expect(parsePlaceholder(sops)).toBeUndefined()
  })

  const INVALID = 'keyward_rotation_pending:\n  key: "unterminated\n  : ][\n'
  const DUPLICATE = 'keyward_rotation_pending:\n  key: a\n  key: b\n'

  it('has invalid-YAML cases that the yaml parser really rejects', () => {
    expect(() => parse(INVALID)).toThrow()
    expect(() => parse(DUPLICATE)).toThrow()
  })

  it.each([
    ['other YAML', 'api_key: hello\nnote: keyward_rotation_pending is mentioned here\n'],
    ['a field that is not a map', 'keyward_rotation_pending: yes\n'],
    ['a placeholder without a key', 'keyward_rotation_pending:\n  old_secret_sha256: x\n'],
    ['a key that is not a string', 'keyward_rotation_pending:\n  key: [a, b]\n'],
    ['invalid YAML', INVALID],
    ['duplicate keys', DUPLICATE],
    ['a YAML list', '- keyward_rotation_pending\n'],
    ['an empty file', ''],
  ])('returns undefined for %s, without throwing', (_name, text) => {
    expect(parsePlaceholder(text)).toBeUndefined()
  })

  it.each([
    ['not prefixed', OLD_SHA.slice('sha256:'.length)],
    ['too short', OLD_SHA.slice(0, -1)],
    ['upper-case hex', OLD_SHA.toUpperCase().replace('SHA256:', 'sha256:')],
    ['not hex', `sha256:${'z'.repeat(64)}`],
  ])('keeps the placeholder but drops a digest that is %s', (_name, sha) => {
    const text = renderPlaceholder({ key: 'blog-openai', oldSecretSha256: sha })

    expect(parsePlaceholder(text)).toEqual({ key: 'blog-openai', oldSecretSha256: undefined })
  })

  it.each([['2024'], ['true'], ['null'], ['1e3']])(
    'round-trips a key id that YAML would read as a scalar of another type (%s)',
    (key) => {
      // Ids match ^[a-z0-9][a-z0-9-]{0,62}$ (SPEC §1), so these are valid key ids.
      const text = renderPlaceholder({ key, oldSecretSha256: OLD_SHA })

      expect(parsePlaceholder(text)).toEqual({ key, oldSecretSha256: OLD_SHA })
    },
  )
})

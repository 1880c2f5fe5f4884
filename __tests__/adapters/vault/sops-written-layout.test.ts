import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { parseSopsDocument } from '../../../src/adapters/vault/sops-document.js'
import { readMetadata } from '../../../src/adapters/vault/sops-metadata.js'
import { readWrittenLayout } from '../../../src/adapters/vault/sops-written-layout.js'
import {
  FIXTURES,
  identitiesOf,
  makeVault,
  newIdentity,
  readText,
  removeDir,
  tempDir,
  writeSopsConfig,
} from './vault-helpers.js'

/** What the general path (parseSopsDocument + readMetadata) reads, or undefined when it throws. */
function general(text: string): unknown {
  try {
    const parsed = parseSopsDocument(text, 'yaml')
    if (parsed.metadata === undefined) return undefined
    return { branches: parsed.branches, meta: readMetadata(parsed.metadata) }
  } catch {
    return undefined
  }
}

describe('readWrittenLayout (the layout keyward writes)', () => {
  let root: string
  const written: string[] = []

  beforeAll(async () => {
    root = await tempDir()
    const [a, b, c] = await Promise.all([newIdentity(), newIdentity(), newIdentity()])
    const vault = makeVault(root, identitiesOf(a.secret))
    await writeSopsConfig(root, [a.recipient])
    written.push(await vault.seal('one.sops.yaml', { api_key: 'sk-one' }))
    await writeSopsConfig(root, [a.recipient, b.recipient, c.recipient])
    written.push(
      await vault.seal('many.sops.yaml', {
        api_key: 'sk-two',
        org_id: 'org-1',
        'dash-key': 'ünïcode\nand a line',
      }),
    )
    // A value kept in clear by the rule is outside the layout.
    written.push(await vault.seal('clear.sops.yaml', { api_key: 'sk', note_unencrypted: 'clear' }))
    await writeFile(
      join(root, '.sops.yaml'),
      `creation_rules:\n  - path_regex: \\.sops\\.yaml$\n    age: ${a.recipient}\n    mac_only_encrypted: true\n`,
    )
    written.push(await vault.seal('mac-only.sops.yaml', { api_key: 'sk-three' }))
    // So is an empty value, which sops leaves unencrypted.
    written.push(await vault.seal('empty-value.sops.yaml', { api_key: 'sk-four', n: '' }))
  })
  afterAll(() => removeDir(root))

  it('reads what keyward writes exactly as the general path does', () => {
    const [one = '', many = '', clear = '', macOnly = '', emptyValue = ''] = written
    for (const text of [one, many, macOnly]) {
      const fast = readWrittenLayout(text)
      expect(fast).toBeDefined()
      expect(fast).toEqual(general(text))
    }
    expect(readWrittenLayout(many)?.meta.age).toHaveLength(3)
    expect(readWrittenLayout(macOnly)?.meta.macOnlyEncrypted).toBe(true)
    expect(readWrittenLayout(clear)).toBeUndefined()
    expect(readWrittenLayout(emptyValue)).toBeUndefined()
    expect(general(clear)).toBeDefined()
  })

  it('declines files in other layouts: the sops vector (2-space indent, empty key lists)', async () => {
    const vector = await readFile(`${FIXTURES}sops-age/secret.enc.yaml`, 'utf8')
    expect(readWrittenLayout(vector)).toBeUndefined()
    const [text = ''] = written
    for (const other of [
      text.replace('unencrypted_suffix: _unencrypted', 'encrypted_regex: ^api'),
      text.replace(/^api_key/, 'true'),
      text.replace(/^api_key/, 'sops'),
      `${text.split('\n')[0]}\n${text}`, // a repeated key
      `sops:\n${text.split('\nsops:\n')[1] ?? ''}${text.split('\n')[0]}\n`, // data after sops
      text.replaceAll('\n', '\r\n'),
      text.slice(0, -1),
      text.replace('version: 3.9.4', 'version: 3.9'),
      text.replace(/lastmodified: "[^"]*"/, 'lastmodified: "yesterday"'),
    ]) {
      expect(readWrittenLayout(other)).toBeUndefined()
    }
  })

  it('never reads an edited file differently from the general path', () => {
    const pieces = [' ', '\n', '"', "'", ':', '-', '#', '=', 'A', '0', '|', '    ', 'sops:\n']
    const edit = fc.record({
      file: fc.nat(written.length - 1),
      at: fc.nat(),
      remove: fc.nat(3),
      insert: fc.constantFrom('', ...pieces),
    })
    fc.assert(
      fc.property(edit, ({ file, at, remove, insert }) => {
        const text = written[file] ?? ''
        const pos = at % (text.length + 1)
        const edited = text.slice(0, pos) + insert + text.slice(pos + remove)
        const fast = readWrittenLayout(edited)
        if (fast !== undefined) expect(fast).toEqual(general(edited))
      }),
      { numRuns: 3000 },
    )
  })

  it('never reads moved, repeated or dropped lines differently from the general path', () => {
    const edit = fc.record({
      file: fc.nat(written.length - 1),
      from: fc.nat(),
      to: fc.nat(),
      kind: fc.constantFrom('move', 'copy', 'drop'),
    })
    fc.assert(
      fc.property(edit, ({ file, from, to, kind }) => {
        const lines = (written[file] ?? '').split('\n')
        const i = from % lines.length
        const [line = ''] = lines.splice(i, kind === 'copy' ? 0 : 1)
        if (kind !== 'drop')
          lines.splice(to % (lines.length + 1), 0, kind === 'copy' ? (lines[i] ?? '') : line)
        const edited = lines.join('\n')
        const fast = readWrittenLayout(edited)
        if (fast !== undefined) expect(fast).toEqual(general(edited))
      }),
      { numRuns: 2000 },
    )
  })

  it('decrypts through the vault to the values written, on either path', async () => {
    const id = await newIdentity()
    await writeSopsConfig(root, [id.recipient])
    const vault = makeVault(root, identitiesOf(id.secret))
    await vault.encrypt('k.sops.yaml', { api_key: 'sk-five', other: 'x' })
    const text = await readText(root, 'k.sops.yaml')
    expect(readWrittenLayout(text)).toBeDefined()
    const fast = await vault.decrypt('k.sops.yaml', 'check')
    // A comment line is outside the layout: the same file, read by the general path.
    await writeFile(join(root, 'k.sops.yaml'), `# note\n${text}`)
    const slow = await vault.decrypt('k.sops.yaml', 'check')
    expect(fast.values).toEqual({ api_key: 'sk-five', other: 'x' })
    expect(slow.values).toEqual(fast.values)
  })
})

import { describe, expect, it } from '@jest/globals'
import { readFile } from 'node:fs/promises'
import fc from 'fast-check'
import { parseAllDocuments } from 'yaml'
import { parseSimpleYaml } from '../../../src/adapters/vault/sops-yaml-fast.js'
import { toPlainValue } from '../../../src/adapters/vault/sops-tree.js'
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

/** What the full `yaml` parser makes of the text, or undefined when it is not one plain mapping. */
function fullParse(text: string): unknown {
  const docs = parseAllDocuments(text)
  if (!Array.isArray(docs) || docs.length !== 1 || docs[0]?.errors.length) return undefined
  return docs[0]?.toJS()
}

describe('parseSimpleYaml (fast path)', () => {
  it('agrees with the yaml package on the sops vector and on files keyward writes', async () => {
    const vector = await readFile(`${FIXTURES}sops-age/secret.enc.yaml`, 'utf8')
    // sops 3.8 wrote `kms: []`, a flow sequence: the fast path declines and yaml reads it.
    expect(parseSimpleYaml(vector)).toBeUndefined()

    const root = await tempDir()
    try {
      const id = await newIdentity()
      await writeSopsConfig(root, [id.recipient, (await newIdentity()).recipient])
      await makeVault(root, identitiesOf(id.secret)).encrypt('k.sops.yaml', {
        api_key: 'v',
        n_unencrypted: 'x y',
      })
      const text = await readText(root, 'k.sops.yaml')
      const written = parseSimpleYaml(text)
      expect(written).toBeDefined()
      expect(toPlainValue(written ?? null)).toEqual(fullParse(text))
    } finally {
      await removeDir(root)
    }
  })

  it('declines what it does not handle instead of guessing', () => {
    for (const text of [
      'a: 1\n', // a number
      'a: true\n',
      'a: "x\\ny"\n', // an escape
      '# comment\na: b\n',
      'a: b # trailing comment\n',
      'a: &x b\nc: *x\n',
      'a: {b: c}\n',
      'a: b\n---\nc: d\n',
      'a: b\na: c\n', // duplicate key
      '10: b\n', // a non-string key
      'a: b\n  c\n', // a multi-line plain scalar
      'a: b', // no final newline
    ]) {
      expect(parseSimpleYaml(text)).toBeUndefined()
    }
  })

  it('agrees with the yaml package whenever it accepts generated documents', () => {
    const word = fc.stringMatching(/^[A-Za-z_0-9][A-Za-z0-9_.: #'"-]{0,12}$/)
    const leaf = fc.oneof(
      word,
      word.map((w) => `"${w}"`),
      word.map((w) => `'${w}'`),
    )
    const doc = fc
      .array(
        fc.tuple(
          fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/),
          leaf,
          fc.boolean(),
          fc.array(leaf, { maxLength: 3 }),
        ),
        {
          minLength: 1,
          maxLength: 5,
        },
      )
      .map((entries) =>
        entries
          .map(([key, value, nested, list]) =>
            nested
              ? `${key}:\n    inner: ${value}\n    list:\n        - ${list.join('\n        - ') || value}\n    lit: |\n        ${value}\n`
              : `${key}: ${value}\n`,
          )
          .join(''),
      )
    fc.assert(
      fc.property(doc, (text) => {
        const fast = parseSimpleYaml(text)
        if (fast !== undefined) expect(toPlainValue(fast)).toEqual(fullParse(text))
      }),
      { numRuns: 500 },
    )
  })
})

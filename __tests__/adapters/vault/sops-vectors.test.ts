import { describe, expect, it } from '@jest/globals'
import { copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll } from '@jest/globals'
import { parseAgeIdentities } from '../../../src/adapters/vault/identities.js'
import { FIXTURES, makeVault, removeDir, tempDir } from './vault-helpers.js'

const VECTORS = join(FIXTURES, 'sops-age')

describe('sops-age vectors written by the real sops', () => {
  let root: string
  let expected: Record<string, unknown>
  beforeAll(async () => {
    root = await tempDir()
    for (const name of ['secret.enc.yaml', 'secret.enc.json', 'secret.enc.env']) {
      await copyFile(join(VECTORS, name), join(root, name))
    }
    expected = JSON.parse(await readFile(join(VECTORS, 'secret.json'), 'utf8')) as Record<
      string,
      unknown
    >
  })
  afterAll(() => removeDir(root))

  async function vault() {
    const keyText = await readFile(join(VECTORS, 'key.txt'), 'utf8')
    return makeVault(root, parseAgeIdentities(keyText, 'key.txt').identities)
  }

  it('decrypts the JSON vector to secret.json and verifies its MAC', async () => {
    const { values } = await (await vault()).decrypt('secret.enc.json', 'check')
    expect(values).toEqual(expected)
  })

  it('decrypts the YAML vector to secret.json (which alone has 0word) and verifies its MAC', async () => {
    const { values } = await (await vault()).decrypt('secret.enc.yaml', 'check')
    const { '0word': _word, ...rest } = expected
    expect(values).toEqual(rest)
  })

  it('decrypts the dotenv vector to its two string values and verifies its MAC', async () => {
    const { values } = await (await vault()).decrypt('secret.enc.env', 'check')
    // The dotenv file holds the JSON's secret and `int` as a string, under another name.
    expect(values).toEqual({ secret: expected.secret, another_secret: String(expected.int) })
  })
})

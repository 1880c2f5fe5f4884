import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkSecretFile, secretSha256, vaultAdd, vaultShow } from '../../src/commands/vault.js'
import { UsageError } from '../../src/errors.js'
import type { SecretInspection, Vault } from '../../src/ports/vault.js'
import { renderPlaceholder } from '../../src/rotation/placeholder.js'
import { memoryVault, memoryVaultState } from '../../test/fakes/memory-vault.js'
import {
  fakeKey,
  identitiesOf,
  makeVault,
  newIdentity,
  removeDir,
  tempDir,
  writeSopsConfig,
  type TestIdentity,
} from '../adapters/vault/vault-helpers.js'

/**
 * `vault add` on a checklist rotation's branch: the key file is a placeholder holding the old
 * key's digest, and putting that same key back is refused.
 */

const FILE = 'keys/blog.sops.yaml'

/** The memory vault, except that `FILE` inspects as a pending rotation until it is written. */
function pendingVault(oldSecretSha256: string | undefined) {
  const state = memoryVaultState({ expected: new Map([[FILE, ['age1test']]]) })
  const inner = memoryVault(state)
  const vault: Vault = {
    ...inner,
    inspect: async (path): Promise<SecretInspection> =>
      path === FILE && !state.files.has(path)
        ? { kind: 'pending-rotation', key: 'blog', oldSecretSha256 }
        : inner.inspect(path),
  }
  return { state, vault }
}

async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('vaultAdd on a pending rotation', () => {
  const oldKey = fakeKey()

  it('refuses the key being rotated out, without quoting it, and writes nothing', async () => {
    const { state, vault } = pendingVault(secretSha256(oldKey))

    const error = await thrown(vaultAdd(vault, { id: 'blog', secretPath: FILE, key: oldKey }))

    expect(error).toBeInstanceOf(UsageError)
    const message = (error as UsageError).message
    expect(message).toBe(
      `this is the key being rotated out of ${FILE}; create a new key at the provider and add that one`,
    )
    expect(message).not.toContain(oldKey)
    expect(message).not.toContain(oldKey.slice(-4))
    expect(state.files.has(FILE)).toBe(false)
  })

  it('refuses the old key also when it arrives with the newline `echo` adds', async () => {
    const { state, vault } = pendingVault(secretSha256(oldKey))

    const error = await thrown(
      vaultAdd(vault, { id: 'blog', secretPath: FILE, key: `${oldKey}\n` }),
    )

    expect(error).toBeInstanceOf(UsageError)
    expect(state.files.has(FILE)).toBe(false)
  })

  it('writes a different key over the placeholder', async () => {
    const { state, vault } = pendingVault(secretSha256(oldKey))
    const newKey = fakeKey()

    const result = await vaultAdd(vault, { id: 'blog', secretPath: FILE, key: newKey })

    expect(result).toEqual({ kind: 'written', keyId: 'blog', file: FILE, replaced: true })
    expect(state.files.get(FILE)).toEqual({
      kind: 'sops',
      recipients: ['age1test'],
      values: { api_key: newKey },
    })
  })

  it('writes any key when the placeholder has no digest of the old one', async () => {
    const { state, vault } = pendingVault(undefined)

    await vaultAdd(vault, { id: 'blog', secretPath: FILE, key: oldKey })

    expect(state.files.get(FILE)).toMatchObject({ values: { api_key: oldKey } })
  })
})

describe('SopsAgeVault and a rotation placeholder', () => {
  let root: string
  let alice: TestIdentity
  const oldKey = fakeKey()

  beforeEach(async () => {
    root = await tempDir()
    alice = await newIdentity()
    await writeSopsConfig(root, [alice.recipient])
    await mkdir(join(root, 'keys'), { recursive: true })
    await writeFile(
      join(root, FILE),
      renderPlaceholder({ key: 'blog', oldSecretSha256: secretSha256(oldKey) }),
    )
  })
  afterEach(() => removeDir(root))
  const vault = () => makeVault(root, identitiesOf(alice.secret))

  it('inspects the placeholder as a pending rotation with the old key’s digest', async () => {
    expect(await vault().inspect(FILE)).toEqual({
      kind: 'pending-rotation',
      key: 'blog',
      oldSecretSha256: secretSha256(oldKey),
    })
    expect(await vault().inspect(`./${FILE}`)).toMatchObject({ kind: 'pending-rotation' })
  })

  it('makes vault check report the file as waiting for the new key', async () => {
    const result = await checkSecretFile(vault(), { keyId: 'blog', secretPath: FILE })

    expect(result.status).toBe('pending-rotation')
    expect(result.message).toContain('`keyward vault add blog`')
  })

  it('refuses the old key and leaves the placeholder in place', async () => {
    const before = await readFile(join(root, FILE), 'utf8')

    const error = await thrown(vaultAdd(vault(), { id: 'blog', secretPath: FILE, key: oldKey }))

    expect(error).toBeInstanceOf(UsageError)
    expect((error as Error).message).not.toContain(oldKey)
    expect(await readFile(join(root, FILE), 'utf8')).toBe(before)
  })

  it('replaces the placeholder with the new key, encrypted', async () => {
    const newKey = fakeKey()

    const result = await vaultAdd(vault(), { id: 'blog', secretPath: FILE, key: newKey })

    expect(result).toMatchObject({ kind: 'written', replaced: true })
    expect(await vault().inspect(FILE)).toMatchObject({
      kind: 'sops',
      recipients: [alice.recipient],
    })
    const text = await readFile(join(root, FILE), 'utf8')
    expect(text).not.toContain(newKey)
    expect(text).not.toContain('keyward_rotation_pending')
    const shown = await vaultShow(vault(), { keyId: 'blog', secretPath: FILE, reveal: true })
    expect(shown.value).toBe(newKey)
  })
})

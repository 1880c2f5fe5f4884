import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../../src/errors.js'
import {
  acceptKeyInput,
  vaultAdd,
  vaultCheck,
  vaultRekey,
  vaultShow,
} from '../../src/commands/vault.js'
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

describe('vault commands', () => {
  let root: string
  let alice: TestIdentity
  let bob: TestIdentity
  const masked = jest.fn<(value: string) => void>()
  beforeEach(async () => {
    root = await tempDir()
    ;[alice, bob] = await Promise.all([newIdentity(), newIdentity()])
    await writeSopsConfig(root, [alice.recipient])
    masked.mockClear()
  })
  afterEach(() => removeDir(root))
  const vault = (secret = alice.secret) => makeVault(root, identitiesOf(secret), { mask: masked })

  describe('add', () => {
    it('writes the file the inventory names, and show masks it unless revealed', async () => {
      const key = fakeKey()
      const added = await vaultAdd(vault(), {
        id: 'blog',
        secretPath: 'keys/blog.sops.yaml',
        key: `${key}\n`,
      })
      expect(added).toEqual({
        kind: 'written',
        keyId: 'blog',
        file: 'keys/blog.sops.yaml',
        replaced: false,
      })
      expect(await readFile(join(root, 'keys/blog.sops.yaml'), 'utf8')).not.toContain(key)

      const shown = await vaultShow(vault(), { keyId: 'blog', secretPath: 'keys/blog.sops.yaml' })
      expect(shown.value).toBe(`sk-proj-…${key.slice(-4)}`)
      expect(shown.revealed).toBe(false)
      expect(shown.access).toMatchObject({
        file: 'keys/blog.sops.yaml',
        keyId: 'blog',
        purpose: 'show',
      })
      expect(masked).toHaveBeenCalledWith(key)

      const revealed = await vaultShow(vault(), {
        keyId: 'blog',
        secretPath: 'keys/blog.sops.yaml',
        reveal: true,
      })
      expect(revealed.value).toBe(key)

      const again = await vaultAdd(vault(), {
        id: 'blog',
        secretPath: 'keys/blog.sops.yaml',
        key: fakeKey(),
      })
      expect(again).toMatchObject({ kind: 'written', replaced: true })
    })

    it('refuses an empty or whitespace-padded key without quoting it', async () => {
      const key = fakeKey()
      for (const bad of [
        '',
        '\n',
        ` ${key}`,
        `${key} `,
        `${key}\t\n`,
        `${key}\n\n`,
        `${key}\nsecond`,
      ]) {
        const error = await vaultAdd(vault(), {
          id: 'k',
          secretPath: 'keys/k.sops.yaml',
          key: bad,
        }).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(UsageError)
        expect((error as Error).message).not.toContain(key)
      }
      expect(acceptKeyInput(`${key}\r\n`)).toBe(key)
    })

    it('tells the user the inventory entry to add when the key is not declared', async () => {
      const result = await vaultAdd(vault(), {
        id: 'newkey',
        secretPath: undefined,
        key: fakeKey(),
      })
      expect(result).toEqual({
        kind: 'needs-inventory-entry',
        keyId: 'newkey',
        suggestedPath: 'keys/newkey.sops.yaml',
        entry: 'keys:\n  newkey:\n    secret: keys/newkey.sops.yaml\n',
      })
      const admin = await vaultAdd(vault(), {
        id: 'openai',
        admin: true,
        secretPath: undefined,
        key: fakeKey(),
      })
      expect(admin).toMatchObject({
        keyId: 'admin:openai',
        suggestedPath: 'keys/admin/openai.sops.yaml',
      })
    })
  })

  describe('check', () => {
    it('reports ok, vault-tampered, recipients-drift, missing and plaintext per file', async () => {
      const keys = Object.fromEntries(['ok', 'tampered', 'drift'].map((id) => [id, fakeKey()]))
      for (const [id, key] of Object.entries(keys)) {
        await vaultAdd(vault(), { id, secretPath: `keys/${id}.sops.yaml`, key })
      }
      const tamperedPath = join(root, 'keys/tampered.sops.yaml')
      const text = await readFile(tamperedPath, 'utf8')
      await writeFile(tamperedPath, text.replace(/^ {4}mac: .*\n/m, ''))
      // drift: the file is re-written for alice + bob, while .sops.yaml asks for alice only.
      await writeSopsConfig(root, [alice.recipient, bob.recipient])
      await vaultAdd(vault(), {
        id: 'drift',
        secretPath: 'keys/drift.sops.yaml',
        key: keys.drift ?? '',
      })
      await writeSopsConfig(root, [alice.recipient])
      const plain = fakeKey()
      await writeFile(join(root, 'keys/plain.sops.yaml'), `api_key: ${plain}\n`)

      const report = await vaultCheck(vault(), [
        { keyId: 'ok', secretPath: 'keys/ok.sops.yaml' },
        { keyId: 'tampered', secretPath: 'keys/tampered.sops.yaml' },
        { keyId: 'drift', secretPath: 'keys/drift.sops.yaml' },
        { keyId: 'gone', secretPath: 'keys/gone.sops.yaml' },
        { keyId: 'plain', secretPath: 'keys/plain.sops.yaml' },
      ])
      expect(report.ok).toBe(false)
      expect(report.results.map((r) => [r.keyId, r.status])).toEqual([
        ['ok', 'ok'],
        ['tampered', 'vault-tampered'],
        ['drift', 'recipients-drift'],
        ['gone', 'missing'],
        ['plain', 'plaintext'],
      ])
      expect(report.results[1]?.code).toBe('mac-missing')
      expect(report.results[2]?.drift).toEqual({
        actual: [alice.recipient, bob.recipient],
        expected: [alice.recipient],
        missing: [],
        extra: [bob.recipient],
      })
      const everything = JSON.stringify(report)
      for (const key of [...Object.values(keys), plain]) expect(everything).not.toContain(key)
    })

    it('a wrong identity is unreadable, not tampered; no identity stops the command', async () => {
      await vaultAdd(vault(), { id: 'a', secretPath: 'keys/a.sops.yaml', key: fakeKey() })
      const report = await vaultCheck(vault(bob.secret), [
        { keyId: 'a', secretPath: 'keys/a.sops.yaml' },
      ])
      expect(report.results[0]).toMatchObject({ status: 'unreadable', code: 'wrong-identity' })
      const none = makeVault(root, [], {
        identities: () =>
          import('../../src/adapters/vault/identities.js').then((m) =>
            m.loadAgeIdentities({ env: {} }),
          ),
      })
      await expect(
        vaultCheck(none, [{ keyId: 'a', secretPath: 'keys/a.sops.yaml' }]),
      ).rejects.toMatchObject({
        code: 'no-identity',
      })
    })
  })

  describe('rekey', () => {
    it('moves files to the .sops.yaml recipients, keeping values, and reports each file', async () => {
      const key = fakeKey()
      await vaultAdd(vault(), { id: 'a', secretPath: 'keys/a.sops.yaml', key })
      await writeSopsConfig(root, [bob.recipient])
      const report = await vaultRekey(vault(), [
        { keyId: 'a', secretPath: 'keys/a.sops.yaml' },
        { keyId: 'b', secretPath: 'keys/b.sops.yaml' },
      ])
      expect(report.results.map((r) => r.status)).toEqual(['rekeyed', 'missing'])
      expect(report.results[0]).toMatchObject({
        recipientsBefore: [alice.recipient],
        recipientsAfter: [bob.recipient],
        access: { purpose: 'rekey', keyId: 'a' },
      })
      expect(report.results[0]?.message).toContain(`removed ${alice.recipient}`)
      const shown = await vaultShow(vault(bob.secret), {
        keyId: 'a',
        secretPath: 'keys/a.sops.yaml',
        reveal: true,
      })
      expect(shown.value).toBe(key)
      const stale = await vaultRekey(vault(), [{ keyId: 'a', secretPath: 'keys/a.sops.yaml' }])
      expect(stale.results[0]).toMatchObject({ status: 'failed', code: 'wrong-identity' })
      expect(stale.ok).toBe(false)
    })
  })
})

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { armor } from 'age-encryption'
import { decryptSops } from 'sops-age'
import { parseDocument } from 'yaml'
import { decryptAgeArmored } from '../../../src/adapters/vault/age-unwrap.js'
import { VaultError, type VaultErrorCode } from '../../../src/errors.js'
import {
  fakeKey,
  FIXED_NOW,
  identitiesOf,
  makeVault,
  newIdentity,
  readText,
  removeDir,
  tempDir,
  writeSopsConfig,
  type TestIdentity,
} from './vault-helpers.js'

function findAge(): string | undefined {
  try {
    execFileSync('age', ['--version'], { stdio: 'pipe' })
    return 'age'
  } catch {
    return undefined
  }
}
const AGE = findAge()
if (!AGE && !process.env.CI) {
  console.warn('skipping the age CLI interop test: `age` is not installed (apt-get install age)')
}
// In CI the age CLI is required: without it the test runs and fails, never silently skips.
const itWithAgeCli = AGE || process.env.CI ? it : it.skip

/** Every `enc` block of a YAML SOPS file we wrote. */
function encBlocks(text: string): { recipient: string; enc: string }[] {
  const doc = parseDocument(text).toJS() as { sops: { age: { recipient: string; enc: string }[] } }
  return doc.sops.age
}

function ageDecrypt(identityFile: string, armored: string): Buffer {
  return execFileSync(AGE ?? 'age', ['--decrypt', '-i', identityFile], { input: armored })
}

/** Opens an ENC[] string with node:crypto directly, independently of the code under test. */
function openEnc(enc: string, key: Buffer, aad: string): string {
  const m = /^ENC\[AES256_GCM,data:(.*),iv:(.*),tag:(.*),type:(.*)\]$/.exec(enc)
  if (!m) throw new Error('not ENC')
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(m[2] ?? '', 'base64'))
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(Buffer.from(m[3] ?? '', 'base64'))
  return Buffer.concat([
    decipher.update(Buffer.from(m[1] ?? '', 'base64')),
    decipher.final(),
  ]).toString()
}

async function expectVaultError(
  outcome: Promise<unknown> | unknown,
  code: VaultErrorCode,
  secrets: readonly string[],
): Promise<VaultError> {
  const error =
    outcome instanceof Promise
      ? await outcome.then(
          () => undefined,
          (e: unknown) => e,
        )
      : outcome
  expect(error).toBeInstanceOf(VaultError)
  const vaultError = error as VaultError
  expect(vaultError.code).toBe(code)
  for (const secret of secrets) expect(vaultError.message).not.toContain(secret)
  return vaultError
}

describe('SopsAgeVault', () => {
  let root: string
  let alice: TestIdentity
  let bob: TestIdentity
  let mallory: TestIdentity
  beforeAll(async () => {
    root = await tempDir()
    ;[alice, bob, mallory] = await Promise.all([newIdentity(), newIdentity(), newIdentity()])
    await writeSopsConfig(root, [alice.recipient, bob.recipient])
  })
  afterAll(() => removeDir(root))

  describe('writing', () => {
    it('writes a YAML file that decrypts back, with an access record and every string masked', async () => {
      const key = fakeKey()
      const mask = jest.fn<(value: string) => void>()
      const vault = makeVault(root, identitiesOf(alice.secret), { mask, actor: 'run 42' })
      await vault.encrypt('keys/a.sops.yaml', { api_key: key })
      const text = await readText(root, 'keys/a.sops.yaml')
      expect(text).not.toContain(key)

      const { values, access } = await vault.decrypt('keys/a.sops.yaml', 'show', 'a')
      expect(values).toEqual({ api_key: key })
      expect(mask).toHaveBeenCalledWith(key)
      expect(access).toEqual({
        file: 'keys/a.sops.yaml',
        keyId: 'a',
        at: FIXED_NOW.toISOString(),
        actor: 'run 42',
        purpose: 'show',
      })
    })

    it('writes the metadata as sops does: one stanza per recipient, whole-second UTC, semver', async () => {
      const vault = makeVault(root, identitiesOf(alice.secret))
      await vault.encrypt('keys/meta.sops.yaml', { api_key: fakeKey() })
      const text = await readText(root, 'keys/meta.sops.yaml')
      const sops = (parseDocument(text).toJS() as { sops: Record<string, unknown> }).sops
      expect(Object.keys(sops)).toEqual([
        'age',
        'lastmodified',
        'mac',
        'unencrypted_suffix',
        'version',
      ])
      expect(encBlocks(text).map((s) => s.recipient)).toEqual([alice.recipient, bob.recipient])
      expect(sops.lastmodified).toBe('2026-11-27T12:34:56Z')
      expect(text).toContain('lastmodified: "2026-11-27T12:34:56Z"')
      expect(sops.version).toMatch(/^3\.\d+\.\d+$/)
      expect(text).toMatch(/^api_key: ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/m)
      // A 32-byte IV, as sops generates.
      const iv = /iv:([^,]+),/.exec(text)?.[1] ?? ''
      expect(Buffer.from(iv, 'base64')).toHaveLength(32)
      for (const { enc } of encBlocks(text)) {
        expect(enc).toMatch(
          /^-----BEGIN AGE ENCRYPTED FILE-----\n[\s\S]+\n-----END AGE ENCRYPTED FILE-----\n$/,
        )
      }
    })

    it('files it writes decrypt with sops-age, an independent implementation, in YAML, JSON and dotenv', async () => {
      const vault = makeVault(root, identitiesOf(alice.secret))
      for (const path of ['keys/x.sops.yaml', 'keys/x.sops.json', 'keys/x.sops.env']) {
        const values = { api_key: fakeKey(), note_unencrypted: 'visible', other: fakeKey('') }
        await vault.encrypt(path, values)
        const text = await readText(root, path)
        expect(text).toContain('visible')
        const type = path.endsWith('.json') ? 'json' : path.endsWith('.env') ? 'env' : 'yaml'
        const independent = await decryptSops(text, { secretKey: bob.secret, fileType: type })
        expect(independent).toEqual(values)
        expect((await vault.decrypt(path, 'check')).values).toEqual(values)
      }
    })

    itWithAgeCli(
      'each age stanza decrypts with the real age CLI to the 32-byte data key',
      async () => {
        expect(AGE).toBeDefined() // fails in CI when the age CLI is missing
        const vault = makeVault(root, identitiesOf(alice.secret))
        const key = fakeKey()
        await vault.encrypt('keys/cli.sops.yaml', { api_key: key })
        const text = await readText(root, 'keys/cli.sops.yaml')
        const stanzas = encBlocks(text)
        const keys: Buffer[] = []
        for (const [who, identity] of [
          [0, alice],
          [1, bob],
        ] as const) {
          const file = join(root, `identity-${who}.txt`)
          await writeFile(file, `# test identity\n${identity.secret}\n`, { mode: 0o600 })
          const dataKey = ageDecrypt(file, stanzas[who]?.enc ?? '')
          expect(dataKey).toHaveLength(32)
          keys.push(dataKey)
        }
        expect(keys[0]?.equals(keys[1] ?? Buffer.alloc(0))).toBe(true)
        // The data key opens the value with the path AAD, and the MAC with lastmodified as AAD.
        const dataKey = keys[0] ?? Buffer.alloc(0)
        const doc = parseDocument(text).toJS() as {
          api_key: string
          sops: { mac: string; lastmodified: string }
        }
        expect(openEnc(doc.api_key, dataKey, 'api_key:')).toBe(key)
        const mac = openEnc(doc.sops.mac, dataKey, doc.sops.lastmodified)
        expect(mac).toBe(createHash('sha512').update(key).digest('hex').toUpperCase())
      },
    )

    itWithAgeCli(
      'hashes values in document order, not JS object order (integer-like keys)',
      async () => {
        const vault = makeVault(root, identitiesOf(alice.secret))
        const file = join(root, 'identity-order.txt')
        await writeFile(file, `${alice.secret}\n`, { mode: 0o600 })
        // JS puts "10" first; the writer must keep the order of the file it writes, and the
        // MAC must follow the file.
        await vault.encrypt('keys/order.sops.yaml', { b: 'bee', '10': 'ten' })
        const text = await readText(root, 'keys/order.sops.yaml')
        const doc = parseDocument(text)
        const order = (doc.contents as { items: { key: { value: string } }[] }).items.map(
          (p) => p.key.value,
        )
        const plain = doc.toJS() as Record<string, string> & {
          sops: { age: { enc: string }[]; mac: string; lastmodified: string }
        }
        const dataKey = ageDecrypt(file, plain.sops.age[0]?.enc ?? '')
        const values = order
          .filter((k) => k !== 'sops')
          .map((k) => openEnc(plain[k] ?? '', dataKey, `${k}:`))
        const expected = createHash('sha512').update(values.join('')).digest('hex').toUpperCase()
        expect(openEnc(plain.sops.mac, dataKey, plain.sops.lastmodified)).toBe(expected)
        expect((await vault.decrypt('keys/order.sops.yaml', 'check')).values).toEqual({
          b: 'bee',
          '10': 'ten',
        })
      },
    )

    it('round-trips any string: unicode, long, quotes, newlines', async () => {
      const vault = makeVault(root, identitiesOf(alice.secret))
      const tricky = fc
        .array(
          fc.constantFrom(
            '"',
            "'",
            '\n',
            '\r\n',
            '\t',
            ' ',
            '#',
            ': ',
            '- ',
            '|',
            '>',
            '\\',
            'ENC[',
            '${x}',
            'é',
            '🔑',
            '\u0000',
            'sops',
          ),
          { maxLength: 30 },
        )
        .map((parts) => parts.join(''))
      const value = fc.oneof(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc
          .string({ unit: 'binary', maxLength: 100 })
          .filter((s) => Buffer.from(s, 'utf8').toString('utf8') === s),
        fc.string({ minLength: 2000, maxLength: 6000 }),
        tricky,
      )
      let n = 0
      await fc.assert(
        fc.asyncProperty(value, value, async (apiKey, other) => {
          const path = `prop/${n++}.sops.yaml`
          await vault.encrypt(path, { api_key: apiKey, other })
          const { values } = await vault.decrypt(path, 'check')
          expect(values).toEqual({ api_key: apiKey, other })
        }),
        { numRuns: 60 },
      )
    })

    it('refuses to write without a matching creation rule, and keeps the sops key reserved', async () => {
      const vault = makeVault(root, identitiesOf(alice.secret))
      await expect(vault.encrypt('elsewhere/a.yaml', { api_key: 'x' })).rejects.toThrow(
        /no creation rule/,
      )
      await expect(vault.encrypt('keys/r.sops.yaml', { sops: 'x' })).rejects.toMatchObject({
        code: 'malformed',
      })
      await expect(vault.encrypt('keys/r.sops.bin', { api_key: 'x' })).rejects.toMatchObject({
        code: 'unsupported',
      })
    })
  })

  describe('tampering', () => {
    let key: string
    let original: string
    const path = 'keys/t.sops.yaml'
    beforeAll(async () => {
      key = fakeKey()
      const vault = makeVault(root, identitiesOf(alice.secret))
      await vault.encrypt(path, { api_key: key, extra: fakeKey(''), owner_unencrypted: 'team-a' })
      original = await readText(root, path)
    })

    /** Writes an edited copy of the file and decrypts it. */
    async function decryptEdited(edit: (text: string) => string): Promise<unknown> {
      const edited = edit(original)
      expect(edited).not.toBe(original)
      await writeFile(join(root, path), edited)
      return makeVault(root, identitiesOf(alice.secret))
        .decrypt(path, 'check')
        .then(
          () => undefined,
          (e: unknown) => e,
        )
    }

    function replaceEnc(
      text: string,
      field: string,
      change: (enc: { data: Buffer; rest: string }) => string,
    ): string {
      const re = new RegExp(`^(${field}: )ENC\\[AES256_GCM,data:([^,]+),(.*)$`, 'm')
      return text.replace(
        re,
        (_m, head: string, data: string, rest: string) =>
          `${head}${change({ data: Buffer.from(data, 'base64'), rest })}`,
      )
    }

    it('a flipped ciphertext byte → decrypt-failed', async () => {
      const edited = (text: string) =>
        replaceEnc(text, 'api_key', ({ data, rest }) => {
          const flipped = Buffer.from(data)
          flipped[3] = (flipped[3] ?? 0) ^ 0x01
          return `ENC[AES256_GCM,data:${flipped.toString('base64')},${rest}`
        })
      const error = await expectVaultError(await decryptEdited(edited), 'decrypt-failed', [key])
      expect(error.tampered).toBe(true)
      expect(error.message).toContain(path)
      expect(error.message).toContain('api_key')
    })

    it('an edited value → mac-mismatch: a valid ciphertext of another plaintext, or a changed cleartext value', async () => {
      // Seal a different plaintext under the file's own data key and path AAD, as an
      // attacker holding the key could: GCM accepts it, only the MAC notices.
      const stanza = encBlocks(original)[0]?.enc ?? ''
      const dataKey = decryptAgeArmored(stanza, identitiesOf(alice.secret)) ?? Buffer.alloc(0)
      const iv = randomBytes(32)
      const cipher = createCipheriv('aes-256-gcm', dataKey, iv)
      cipher.setAAD(Buffer.from('api_key:'))
      const data = Buffer.concat([cipher.update(fakeKey()), cipher.final()])
      const forged = `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:str]`
      const sealed = (text: string) => text.replace(/^api_key: .*$/m, `api_key: ${forged}`)
      const error = await expectVaultError(await decryptEdited(sealed), 'mac-mismatch', [key])
      expect(error.tampered).toBe(true)

      const cleartext = (text: string) =>
        text.replace('owner_unencrypted: team-a', 'owner_unencrypted: team-b')
      await expectVaultError(await decryptEdited(cleartext), 'mac-mismatch', [key])
    })

    it('a removed value → mac-mismatch', async () => {
      const edited = (text: string) => text.replace(/^extra: .*\n/m, '')
      await expectVaultError(await decryptEdited(edited), 'mac-mismatch', [key])
    })

    it('an added value → decrypt-failed when in cleartext, mac-mismatch when unencrypted by rule', async () => {
      await expectVaultError(await decryptEdited((t) => `added: hello\n${t}`), 'decrypt-failed', [
        key,
      ])
      await expectVaultError(
        await decryptEdited((t) => `added_unencrypted: hello\n${t}`),
        'mac-mismatch',
        [key],
      )
    })

    it('a changed lastmodified → mac-mismatch', async () => {
      const edited = (text: string) => text.replace('2026-11-27T12:34:56Z', '2026-11-27T12:34:57Z')
      await expectVaultError(await decryptEdited(edited), 'mac-mismatch', [key])
    })

    it('a removed mac → mac-missing', async () => {
      const edited = (text: string) => text.replace(/^ {4}mac: .*\n/m, '')
      const error = await expectVaultError(await decryptEdited(edited), 'mac-missing', [key])
      expect(error.tampered).toBe(true)
    })

    it('a value moved to another key → decrypt-failed (the path is the AAD)', async () => {
      const edited = (text: string) => text.replace(/^api_key: /m, 'renamed_key: ')
      await expectVaultError(await decryptEdited(edited), 'decrypt-failed', [key])
    })

    it('a truncated file → malformed, never a partial result', async () => {
      for (const fraction of [0.3, 0.6, 0.9, 0.99]) {
        const edited = (text: string) => text.slice(0, Math.floor(text.length * fraction))
        const error = await expectVaultError(await decryptEdited(edited), 'malformed', [key])
        expect(error.message).toContain(path)
      }
    })

    it('a flipped byte in an age stanza payload → decrypt-failed, never a wrong data key', async () => {
      const edited = (text: string) => {
        const doc = parseDocument(text)
        const stanzas = doc.getIn(['sops', 'age']) as {
          items: { get(k: string): string; set(k: string, v: string): void }[]
        }
        for (const stanza of stanzas.items) {
          const bytes = armor.decode(stanza.get('enc'))
          bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x80
          stanza.set('enc', armor.encode(bytes))
        }
        return doc.toString({ lineWidth: 0 })
      }
      await expectVaultError(await decryptEdited(edited), 'decrypt-failed', [key])
    })

    it('the wrong identity → wrong-identity naming the recipients, not the key', async () => {
      await writeFile(join(root, path), original)
      const vault = makeVault(root, identitiesOf(mallory.secret))
      const error = await expectVaultError(vault.decrypt(path, 'check'), 'wrong-identity', [
        key,
        mallory.secret,
      ])
      expect(error.message).toContain(alice.recipient)
      expect(error.message).toContain(mallory.recipient)
      expect(error.tampered).toBe(false)
    })

    it('the untouched file still decrypts (the tests above edit a copy)', async () => {
      await writeFile(join(root, path), original)
      const { values } = await makeVault(root, identitiesOf(bob.secret)).decrypt(path, 'check')
      expect(values).toEqual(expect.objectContaining({ api_key: key, owner_unencrypted: 'team-a' }))
    })
  })

  describe('sops-age vectors, tampered', () => {
    it('reordering two list elements (same AAD) → mac-mismatch: the MAC follows document order', async () => {
      const text = await readFile(
        new URL('../../../__fixtures__/sops/sops-age/secret.enc.json', import.meta.url),
        'utf8',
      )
      const doc = JSON.parse(text) as { complex: { array: string[] } }
      doc.complex.array.reverse()
      await writeFile(join(root, 'swapped.enc.json'), JSON.stringify(doc, null, 2))
      const keyText = await readFile(
        new URL('../../../__fixtures__/sops/sops-age/key.txt', import.meta.url),
        'utf8',
      )
      const vault = makeVault(root, identitiesOf(keyText))
      await expectVaultError(vault.decrypt('swapped.enc.json', 'check'), 'mac-mismatch', [
        'this is a secret',
      ])
    })
  })

  describe('inspect and expectedRecipients', () => {
    it('tells missing, plaintext and sops files apart without an identity', async () => {
      const vault = makeVault(root, [])
      await vault.encrypt('keys/i.sops.yaml', { api_key: fakeKey() })
      await mkdir(join(root, 'plain'), { recursive: true })
      await writeFile(join(root, 'plain/p.sops.yaml'), `api_key: ${fakeKey()}\n`)
      expect(await vault.inspect('keys/none.sops.yaml')).toEqual({ kind: 'missing' })
      expect(await vault.inspect('plain/p.sops.yaml')).toMatchObject({ kind: 'plaintext' })
      expect(await vault.inspect('keys/i.sops.yaml')).toEqual({
        kind: 'sops',
        recipients: [alice.recipient, bob.recipient],
        lastModified: '2026-11-27T12:34:56Z',
      })
      expect(await vault.expectedRecipients('keys/i.sops.yaml')).toEqual([
        alice.recipient,
        bob.recipient,
      ])
      expect(await vault.expectedRecipients('elsewhere.txt')).toBeUndefined()
    })

    it('a missing file → VaultError missing; a plaintext file → not-sops', async () => {
      const vault = makeVault(root, identitiesOf(alice.secret))
      await expectVaultError(vault.decrypt('keys/none.sops.yaml', 'check'), 'missing', [])
      const key = fakeKey()
      await writeFile(join(root, 'plain/q.sops.yaml'), `api_key: ${key}\n`)
      await expectVaultError(vault.decrypt('plain/q.sops.yaml', 'check'), 'not-sops', [key])
    })
  })

  describe('rekey', () => {
    it('moves a file to the .sops.yaml recipients under a new data key, values preserved', async () => {
      const dir = await tempDir()
      try {
        await writeSopsConfig(dir, [alice.recipient])
        const vault = makeVault(dir, identitiesOf(alice.secret))
        const key = fakeKey()
        await vault.encrypt('keys/k.sops.yaml', { api_key: key, note_unencrypted: 'kept' })
        const before = await readText(dir, 'keys/k.sops.yaml')

        await writeSopsConfig(dir, [bob.recipient, mallory.recipient])
        const outcome = await vault.rekey('keys/k.sops.yaml', 'k')
        expect(outcome.recipientsBefore).toEqual([alice.recipient])
        expect(outcome.recipientsAfter).toEqual([bob.recipient, mallory.recipient])
        expect(outcome.access).toMatchObject({
          file: 'keys/k.sops.yaml',
          keyId: 'k',
          purpose: 'rekey',
        })

        const after = await readText(dir, 'keys/k.sops.yaml')
        expect(after).not.toContain(/api_key: (.*)/.exec(before)?.[1] ?? 'none')
        await expectVaultError(vault.decrypt('keys/k.sops.yaml', 'check'), 'wrong-identity', [key])
        const { values } = await makeVault(dir, identitiesOf(mallory.secret)).decrypt(
          'keys/k.sops.yaml',
          'check',
        )
        expect(values).toEqual({ api_key: key, note_unencrypted: 'kept' })
        expect(await decryptSops(after, { secretKey: bob.secret, fileType: 'yaml' })).toEqual(
          values,
        )
      } finally {
        await removeDir(dir)
      }
    })

    it('refuses to rekey a tampered file', async () => {
      const dir = await tempDir()
      try {
        await writeSopsConfig(dir, [alice.recipient])
        const vault = makeVault(dir, identitiesOf(alice.secret))
        await vault.encrypt('k.sops.yaml', { api_key: fakeKey(), a_unencrypted: '1' })
        const text = await readText(dir, 'k.sops.yaml')
        await writeFile(
          join(dir, 'k.sops.yaml'),
          text.replace('a_unencrypted: "1"', 'a_unencrypted: "2"'),
        )
        await expectVaultError(vault.rekey('k.sops.yaml'), 'mac-mismatch', [])
      } finally {
        await removeDir(dir)
      }
    })

    it('rekeys the sops-age JSON vector, keeping its types, and the result still decrypts', async () => {
      const dir = await tempDir()
      try {
        const keyText = await readFile(
          new URL('../../../__fixtures__/sops/sops-age/key.txt', import.meta.url),
          'utf8',
        )
        const vectorId = identitiesOf(keyText)
        await writeSopsConfig(dir, [alice.recipient])
        for (const name of ['secret.enc.json', 'secret.enc.yaml', 'secret.enc.env']) {
          const text = await readFile(
            new URL(`../../../__fixtures__/sops/sops-age/${name}`, import.meta.url),
            'utf8',
          )
          const target = name.replace('.enc.', '.sops.')
          await writeFile(join(dir, target), text)
          const before = await makeVault(dir, vectorId).decrypt(target, 'check')
          await makeVault(dir, vectorId).rekey(target)
          const after = await makeVault(dir, identitiesOf(alice.secret)).decrypt(target, 'check')
          expect(after.values).toEqual(before.values)
          if (name.endsWith('.yaml')) expect(await readText(dir, target)).toContain('type:int]')
        }
      } finally {
        await removeDir(dir)
      }
    })
  })

  it('keeps the identity files out of reach: a decrypt needs an identity, encrypt does not', async () => {
    const loader = jest.fn(() => Promise.reject(new VaultError('no-identity', '', 'none')))
    const vault = makeVault(root, [], { identities: loader })
    await vault.encrypt('keys/lazy.sops.yaml', { api_key: fakeKey() })
    expect(loader).not.toHaveBeenCalled()
    await expect(vault.decrypt('keys/lazy.sops.yaml', 'check')).rejects.toMatchObject({
      code: 'no-identity',
    })
  })

  it('refuses a file whose sops block uses several key groups', async () => {
    const text = await readText(root, 'keys/a.sops.yaml')
    const groups = text.replace(
      /^ {4}age:\n/m,
      '    key_groups:\n        - age: []\n        - age: []\n    age_old:\n',
    )
    await writeFile(join(root, 'keys/groups.sops.yaml'), groups)
    const vault = makeVault(root, identitiesOf(alice.secret))
    expect(existsSync(join(root, 'keys/groups.sops.yaml'))).toBe(true)
    await expectVaultError(vault.decrypt('keys/groups.sops.yaml', 'check'), 'unsupported', [])
  })
})

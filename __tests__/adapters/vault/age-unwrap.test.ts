import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { armor, Encrypter } from 'age-encryption'
import { AgeFormatError, decryptAgeArmored } from '../../../src/adapters/vault/age-unwrap.js'
import { FIXTURES, identitiesOf, newIdentity } from './vault-helpers.js'

const fixture = (name: string) => readFile(`${FIXTURES}getsops-sops/${name}`, 'utf8')

async function encryptTo(recipients: string[], plaintext: Uint8Array): Promise<string> {
  const encrypter = new Encrypter()
  for (const r of recipients) encrypter.addRecipient(r)
  return armor.encode(await encrypter.encrypt(plaintext))
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}

describe('decryptAgeArmored (native X25519)', () => {
  it('opens the armored file from getsops/sops tests with its test identity', async () => {
    const identity = identitiesOf(await fixture('age-test-identity.txt'))
    const plain = await fixture('age-mockEncryptedKey.plain')
    const opened = decryptAgeArmored(await fixture('age-mockEncryptedKey.age.armored'), identity)
    expect(opened?.toString()).toBe(plain)
  })

  it('returns undefined for an identity that matches no stanza', async () => {
    const other = identitiesOf(await fixture('age-test-other-identity.txt'))
    expect(
      decryptAgeArmored(await fixture('age-mockEncryptedKey.age.armored'), other),
    ).toBeUndefined()
  })

  it('opens files from age-encryption with several stanzas, and multi-chunk payloads', async () => {
    const [a, b] = await Promise.all([newIdentity(), newIdentity()])
    for (const size of [0, 32, 64 * 1024, 64 * 1024 + 1, 200_000]) {
      const plaintext = Uint8Array.from(randomBytes(size))
      const armored = await encryptTo([a.recipient, b.recipient], plaintext)
      expect(decryptAgeArmored(armored, identitiesOf(b.secret))).toEqual(Buffer.from(plaintext))
    }
  })

  it('reports a changed header as corrupt, and a truncated file as malformed', async () => {
    const a = await newIdentity()
    const bytes = armor.decode(await encryptTo([a.recipient], randomBytes(32)))
    // Change one character of the header MAC (`--- <mac>`): the stanza still opens with
    // our identity, so only the header MAC check can catch it.
    const changed = Uint8Array.from(bytes)
    const macAt = Buffer.from(bytes).indexOf('\n--- ') + 6
    changed[macAt] = changed[macAt] === 0x41 ? 0x42 : 0x41
    const corrupt = thrown(() => decryptAgeArmored(armor.encode(changed), identitiesOf(a.secret)))
    expect(corrupt).toBeInstanceOf(AgeFormatError)
    expect((corrupt as AgeFormatError).kind).toBe('corrupt')

    const armored = armor.encode(bytes)
    const truncated = thrown(() =>
      decryptAgeArmored(armored.slice(0, armored.length / 2), identitiesOf(a.secret)),
    )
    expect((truncated as AgeFormatError).kind).toBe('malformed')
  })
})

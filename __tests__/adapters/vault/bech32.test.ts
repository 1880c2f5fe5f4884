import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { generateIdentity, identityToRecipient } from 'age-encryption'
import { bech32Decode, bech32Encode } from '../../../src/adapters/vault/bech32.js'
import { x25519Identity } from '../../../src/adapters/vault/identities.js'

describe('bech32', () => {
  it('round-trips 32-byte payloads under the age prefixes', () => {
    for (const hrp of ['age', 'age-secret-key-']) {
      const bytes = Uint8Array.from(randomBytes(32))
      const text = bech32Encode(hrp, bytes)
      expect(bech32Decode(text)).toEqual({ hrp, bytes })
      expect(bech32Decode(text.toUpperCase())).toEqual({ hrp, bytes })
    }
  })

  it('derives the same recipient as age-encryption from a generated identity', async () => {
    const secret = await generateIdentity()
    expect(x25519Identity(secret, 'test').recipient).toBe(await identityToRecipient(secret))
    // Identities are case-insensitive: sops and age accept the lower-case form too.
    expect(x25519Identity(secret.toLowerCase(), 'test').recipient).toBe(
      await identityToRecipient(secret),
    )
  })

  it('rejects a changed character, mixed case and a short string', () => {
    const text = bech32Encode('age', Uint8Array.from(randomBytes(32)))
    const last = text.at(-1) === 'q' ? 'p' : 'q'
    expect(() => bech32Decode(text.slice(0, -1) + last)).toThrow(/checksum/)
    expect(() => bech32Decode(text.slice(0, 5).toUpperCase() + text.slice(5))).toThrow(/mixed-case/)
    expect(() => bech32Decode('age1qq')).toThrow()
    expect(() => bech32Decode(`${text.slice(0, 10)}b${text.slice(11)}`)).toThrow(/character/)
  })
})

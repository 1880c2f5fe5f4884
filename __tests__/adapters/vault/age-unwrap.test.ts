import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { armor, Encrypter } from 'age-encryption'
import fc from 'fast-check'
import {
  AgeFormatError,
  decodeAgeArmor,
  decodeUnpadded,
  decryptAgeArmored,
  parseAgeHeader,
  parseAgeHeaderLines,
} from '../../../src/adapters/vault/age-unwrap.js'
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

/** The armor decoding before its one-match fast path, line by line, as the reference. */
function referenceArmor(text: string): Buffer {
  const lines = text.trim().split(/\r?\n/)
  if (lines[0] !== '-----BEGIN AGE ENCRYPTED FILE-----') throw new Error('missing age armor header')
  if (lines.at(-1) !== '-----END AGE ENCRYPTED FILE-----') {
    throw new Error('missing age armor footer (truncated?)')
  }
  const body = lines.slice(1, -1)
  for (const [i, line] of body.entries()) {
    const last = i === body.length - 1
    if ((!last && line.length !== 64) || (last && line.length > 64)) {
      throw new Error('invalid age armor line')
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(line)) throw new Error('invalid age armor line')
  }
  const joined = body.join('')
  if (joined.length % 4 !== 0) throw new Error('invalid age armor length')
  return Buffer.from(joined, 'base64')
}

/** The base64 check before the canonical-tail test: a round trip. */
function referenceUnpadded(text: string): Buffer {
  const bytes = Buffer.from(text, 'base64')
  if (!/^[A-Za-z0-9+/]*$/.test(text) || bytes.toString('base64').replace(/=+$/, '') !== text) {
    throw new Error('invalid base64')
  }
  return bytes
}

function outcome(fn: () => Buffer): string {
  try {
    return `ok ${fn().toString('hex')}`
  } catch (error) {
    return `error ${(error as Error).message}`
  }
}

describe('age parsing fast paths agree with the line-by-line reading', () => {
  it('decodeAgeArmor: every armor, edited or not, decodes or fails as line by line', () => {
    const armorOf = (bytes: Uint8Array, width: number, eol: string) =>
      [
        '-----BEGIN AGE ENCRYPTED FILE-----',
        ...(Buffer.from(bytes)
          .toString('base64')
          .match(new RegExp(`.{1,${width}}`, 'g')) ?? []),
        '-----END AGE ENCRYPTED FILE-----',
      ].join(eol) + eol
    const input = fc
      .record({
        bytes: fc.uint8Array({ maxLength: 300 }),
        width: fc.constantFrom(64, 64, 64, 63, 65, 4),
        eol: fc.constantFrom('\n', '\r\n', '\r'),
        at: fc.nat(),
        insert: fc.constantFrom('', '=', '==', ' ', '\n', '\r\n', 'A', '-', '\t'),
        remove: fc.nat(2),
      })
      .map(({ bytes, width, eol, at, insert, remove }) => {
        const text = armorOf(bytes, width, eol)
        const pos = at % (text.length + 1)
        return text.slice(0, pos) + insert + text.slice(pos + remove)
      })
    fc.assert(
      fc.property(input, (text) => {
        const fast = outcome(() => decodeAgeArmor(text)).replace(/^error .*/, 'error')
        expect(fast).toBe(outcome(() => referenceArmor(text)).replace(/^error .*/, 'error'))
      }),
      { numRuns: 3000 },
    )
  })

  it('decodeUnpadded: the canonical-tail check is the round trip', () => {
    const text = fc.stringMatching(/^[A-Za-z0-9+/=]{0,12}$/)
    fc.assert(
      fc.property(text, (t) => {
        const fast = outcome(() => decodeUnpadded(t, 'x')).replace(/^error .*/, 'error')
        expect(fast).toBe(outcome(() => referenceUnpadded(t)).replace(/^error .*/, 'error'))
      }),
      { numRuns: 3000 },
    )
  })

  it('parseAgeHeader reads every header, edited or not, as parseAgeHeaderLines does', async () => {
    const a = await newIdentity()
    const files = await Promise.all(
      [0, 32, 100].map(async (size) =>
        Buffer.from(armor.decode(await encryptTo([a.recipient], randomBytes(size)))),
      ),
    )
    const read = (parse: (file: Buffer) => unknown, file: Buffer): unknown => {
      try {
        return parse(file)
      } catch (error) {
        return { error: (error as Error).message }
      }
    }
    const edit = fc.record({
      file: fc.nat(files.length - 1),
      at: fc.nat(200),
      byte: fc.constantFrom(0x0a, 0x20, 0x41, 0x2d, 0x3d, 0x2b, 0x51, 0x45, 0x00),
      remove: fc.nat(2),
    })
    fc.assert(
      fc.property(edit, ({ file, at, byte, remove }) => {
        const bytes = files[file] ?? Buffer.alloc(0)
        const pos = at % (bytes.length + 1)
        const edited = Buffer.concat([
          bytes.subarray(0, pos),
          Buffer.from([byte]),
          bytes.subarray(pos + remove),
        ])
        expect(read(parseAgeHeader, edited)).toEqual(read(parseAgeHeaderLines, edited))
        expect(read(parseAgeHeader, bytes)).toEqual(read(parseAgeHeaderLines, bytes))
      }),
      { numRuns: 3000 },
    )
  })
})

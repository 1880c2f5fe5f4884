/**
 * Opens the armored age files that sops keeps in `sops.age[].enc`, with native
 * node:crypto only (X25519, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305): this is
 * the hot path of every decryption, and a pure-JS curve is ten times slower.
 * Format: https://age-encryption.org/v1 (X25519 recipient stanzas only).
 */
import {
  createDecipheriv,
  createHmac,
  createPublicKey,
  diffieHellman,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'

/** An X25519 identity ready for native Diffie-Hellman. */
export interface X25519Identity {
  privateKey: KeyObject
  /** The identity's own public key (32 bytes), part of the HKDF salt. */
  publicKey: Uint8Array
}

/** Why an age file could not be opened: it is not valid age, or it failed authentication. */
export class AgeFormatError extends Error {
  override readonly name = 'AgeFormatError'
  constructor(
    readonly kind: 'malformed' | 'corrupt',
    message: string,
  ) {
    super(message)
  }
}

const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----'
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----'
const VERSION_LINE = 'age-encryption.org/v1'
const X25519_LABEL = Buffer.from('age-encryption.org/v1/X25519')
const ZERO_NONCE = Buffer.alloc(12)
const ONE = Buffer.from([1])
const CHUNK_SIZE = 64 * 1024
const TAG_SIZE = 16
const STANDARD_B64 = /^[A-Za-z0-9+/]*={0,2}$/
const UNPADDED_B64 = /^[A-Za-z0-9+/]*$/

/** Decodes PEM-style age armor (64-column standard base64, CRLF tolerated). */
export function decodeAgeArmor(text: string): Buffer {
  const lines = text.trim().split(/\r?\n/)
  if (lines[0] !== ARMOR_BEGIN) throw new AgeFormatError('malformed', 'missing age armor header')
  if (lines.at(-1) !== ARMOR_END) {
    throw new AgeFormatError('malformed', 'missing age armor footer (truncated?)')
  }
  const body = lines.slice(1, -1)
  for (const [i, line] of body.entries()) {
    const last = i === body.length - 1
    if ((!last && line.length !== 64) || (last && line.length > 64) || !STANDARD_B64.test(line)) {
      throw new AgeFormatError('malformed', 'invalid age armor line')
    }
  }
  const joined = body.join('')
  if (joined.length % 4 !== 0) throw new AgeFormatError('malformed', 'invalid age armor length')
  return Buffer.from(joined, 'base64')
}

function decodeUnpadded(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'base64')
  // age requires canonical unpadded base64; Buffer.from is lenient, so compare round trips.
  if (!UNPADDED_B64.test(text) || bytes.toString('base64').replace(/=+$/, '') !== text) {
    throw new AgeFormatError('malformed', `invalid base64 in age ${what}`)
  }
  return bytes
}

interface Stanza {
  type: string
  args: string[]
  body: Buffer
}

interface AgeHeader {
  stanzas: Stanza[]
  /** The header bytes the MAC covers: everything up to and including `---`. */
  macInput: Buffer
  mac: Buffer
  payload: Buffer
}

function parseHeader(file: Buffer): AgeHeader {
  let pos = 0
  const nextLine = (): string => {
    const end = file.indexOf(0x0a, pos)
    if (end === -1) throw new AgeFormatError('malformed', 'truncated age header')
    const line = file.subarray(pos, end).toString('latin1')
    pos = end + 1
    return line
  }
  if (nextLine() !== VERSION_LINE) throw new AgeFormatError('malformed', 'not an age v1 file')
  const stanzas: Stanza[] = []
  for (;;) {
    const lineStart = pos
    const line = nextLine()
    if (line.startsWith('--- ')) {
      return {
        stanzas,
        macInput: file.subarray(0, lineStart + 3),
        mac: decodeUnpadded(line.slice(4), 'header MAC'),
        payload: file.subarray(pos),
      }
    }
    const words = line.split(' ')
    if (words[0] !== '->' || words.length < 2 || words.some((w) => w === '')) {
      throw new AgeFormatError('malformed', 'invalid age stanza line')
    }
    const bodyParts: Buffer[] = []
    for (;;) {
      const bodyLine = nextLine()
      if (bodyLine.length > 64) throw new AgeFormatError('malformed', 'age stanza line too long')
      bodyParts.push(decodeUnpadded(bodyLine, 'stanza body'))
      if (bodyLine.length < 64) break
    }
    stanzas.push({ type: words[1] ?? '', args: words.slice(2), body: Buffer.concat(bodyParts) })
  }
}

function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_SIZE) return undefined
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE })
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE))
  const out = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE))
  try {
    return Buffer.concat([out, decipher.final()])
  } catch {
    return undefined
  }
}

/**
 * HKDF-SHA256 for one 32-byte block (RFC 5869): extract, then one expand step. Two
 * HMACs directly cost a fraction of hkdfSync, which this path calls three times a file.
 */
function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest()
  return createHmac('sha256', prk).update(info).update(ONE).digest()
}

/** Opens one X25519 stanza; undefined when the stanza is for someone else. */
function unwrapX25519(stanza: Stanza, identity: X25519Identity): Buffer | undefined {
  const [shareText, ...rest] = stanza.args
  if (shareText === undefined || rest.length > 0) {
    throw new AgeFormatError('malformed', 'invalid X25519 stanza')
  }
  const share = decodeUnpadded(shareText, 'X25519 share')
  if (share.length !== 32 || stanza.body.length !== 32) {
    throw new AgeFormatError('malformed', 'invalid X25519 stanza')
  }
  // JWK import is about 8x cheaper than DER/SPKI import in Node 20, and this runs per file.
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: share.toString('base64url') },
    format: 'jwk',
  })
  const shared = diffieHellman({ privateKey: identity.privateKey, publicKey })
  // A low-order share yields the all-zero secret; age rejects it rather than use a known key.
  if (shared.every((b) => b === 0)) throw new AgeFormatError('malformed', 'low-order X25519 share')
  const wrapKey = hkdf(shared, Buffer.concat([share, identity.publicKey]), X25519_LABEL)
  return chachaOpen(wrapKey, ZERO_NONCE, stanza.body)
}

function decryptPayload(fileKey: Buffer, payload: Buffer): Buffer {
  if (payload.length < 16) throw new AgeFormatError('malformed', 'truncated age payload')
  const key = hkdf(fileKey, payload.subarray(0, 16), 'payload')
  const body = payload.subarray(16)
  const chunks: Buffer[] = []
  const nonce = Buffer.alloc(12)
  let offset = 0
  for (let counter = 0; ; counter++) {
    const end = Math.min(offset + CHUNK_SIZE + TAG_SIZE, body.length)
    const last = end === body.length
    nonce.writeUIntBE(counter, 5, 6) // 11-byte big-endian counter; the high bytes stay zero
    nonce[11] = last ? 1 : 0
    const chunk = chachaOpen(key, nonce, body.subarray(offset, end))
    if (chunk === undefined)
      throw new AgeFormatError('corrupt', 'age payload failed to authenticate')
    // Only a file that is entirely empty may end with an empty chunk.
    if (last && chunk.length === 0 && counter > 0) {
      throw new AgeFormatError('malformed', 'empty final age chunk')
    }
    chunks.push(chunk)
    if (last) return Buffer.concat(chunks)
    offset = end
  }
}

/**
 * Decrypts an armored age file with the first identity that opens one of its X25519
 * stanzas. Returns undefined when none does; throws AgeFormatError when the file is
 * malformed or, once a stanza opened, its header MAC or payload fails authentication.
 */
export function decryptAgeArmored(
  armored: string,
  identities: readonly X25519Identity[],
): Buffer | undefined {
  const header = parseHeader(decodeAgeArmor(armored))
  for (const stanza of header.stanzas) {
    if (stanza.type !== 'X25519') continue
    for (const identity of identities) {
      const fileKey = unwrapX25519(stanza, identity)
      if (fileKey === undefined) continue
      if (fileKey.length !== 16) throw new AgeFormatError('malformed', 'invalid age file key')
      const macKey = hkdf(fileKey, Buffer.alloc(0), 'header')
      const mac = createHmac('sha256', macKey).update(header.macInput).digest()
      if (header.mac.length !== mac.length || !timingSafeEqual(header.mac, mac)) {
        throw new AgeFormatError('corrupt', 'age header MAC mismatch')
      }
      return decryptPayload(fileKey, header.payload)
    }
  }
  return undefined
}

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
  type Decipher,
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
/** The payload nonce of a file that fits one chunk: counter 0, last-chunk flag set. */
const LAST_FIRST_NONCE = Buffer.from('000000000000000000000001', 'hex')
const ONE = Buffer.from([1])
const EMPTY = Buffer.alloc(0)
const ZERO_SHARED = Buffer.alloc(32)
const CHUNK_SIZE = 64 * 1024
const TAG_SIZE = 16
const STANDARD_B64 = /^[A-Za-z0-9+/]*={0,2}$/
const UNPADDED_B64 = /^[A-Za-z0-9+/]*$/
/**
 * The characters that may end canonical unpadded base64 whose length leaves 2 or 3
 * characters over 4: the bits past the last byte are zero.
 */
const CANONICAL_LAST = ['', '', 'AQgw', 'AEIMQUYcgkosw048']
/**
 * The armor as age writes it: full 64-column lines, then a last line of at most 64
 * characters (padding only there), LF or CRLF. Anything else takes the line-by-line check.
 */
const ARMOR_COMMON = new RegExp(
  `^${ARMOR_BEGIN}\\r?\\n((?:[A-Za-z0-9+/]{64}\\r?\\n)*)` +
    `((?=[A-Za-z0-9+/=]{0,64}\\r?\\n)[A-Za-z0-9+/]*={0,2})\\r?\\n${ARMOR_END}$`,
)

/** Decodes PEM-style age armor (64-column standard base64, CRLF tolerated). */
export function decodeAgeArmor(text: string): Buffer {
  const trimmed = text.trim()
  const common = ARMOR_COMMON.exec(trimmed)
  // Full lines are 64 characters, a multiple of 4: only the last line decides the length.
  // The body runs from the first line break to the last; Buffer.from skips the line
  // breaks (and CRs), as the join below would.
  if (common && (common[2] ?? '').length % 4 === 0) {
    return Buffer.from(
      trimmed.slice(trimmed.indexOf('\n') + 1, trimmed.lastIndexOf('\n')),
      'base64',
    )
  }
  const lines = trimmed.split(/\r?\n/)
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

/** Decodes canonical unpadded base64 (age's encoding); throws AgeFormatError naming `what`. */
export function decodeUnpadded(text: string, what: string): Buffer {
  // age requires canonical unpadded base64; Buffer.from is lenient, so check the text first.
  const rest = text.length % 4
  if (
    rest === 1 ||
    !UNPADDED_B64.test(text) ||
    (rest > 1 && !(CANONICAL_LAST[rest] ?? '').includes(text.charAt(text.length - 1)))
  ) {
    throw new AgeFormatError('malformed', `invalid base64 in age ${what}`)
  }
  return Buffer.from(text, 'base64')
}

export interface Stanza {
  type: string
  args: string[]
  body: Buffer
}

export interface AgeHeader {
  stanzas: Stanza[]
  /** The header bytes the MAC covers: everything up to and including `---`. */
  macInput: Buffer
  mac: Buffer
  payload: Buffer
}

/** Where the header line starting at `pos` ends (its LF). */
function lineEnd(text: string, pos: number): number {
  const end = text.indexOf('\n', pos)
  if (end === -1) throw new AgeFormatError('malformed', 'truncated age header')
  return end
}

/**
 * The header as latin1 text, one character per byte: up to the end of the first
 * `---` line, or all of the file when there is none (parseAgeHeaderLines then fails as it
 * would on the whole file). The header never reaches past that line.
 */
function headerText(file: Buffer): string {
  const macLine = file.indexOf('\n--- ')
  const end = macLine === -1 ? -1 : file.indexOf(0x0a, macLine + 1)
  return end === -1 ? file.toString('latin1') : file.toString('latin1', 0, end + 1)
}

/** The header of a file with one X25519 stanza, as age writes it for one recipient. */
const COMMON_HEADER_SIZE = 168
const CANONICAL_32 = '[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]' // 32 bytes, unpadded
const COMMON_HEADER = new RegExp(
  `^${VERSION_LINE.replaceAll('.', '\\.')}\\n-> X25519 (${CANONICAL_32})\\n(${CANONICAL_32})\\n` +
    `--- (${CANONICAL_32})\\n$`,
)

/** Parses the age header: the common one in one match, any other line by line. */
export function parseAgeHeader(file: Buffer): AgeHeader {
  return parseCommonHeader(file) ?? parseAgeHeaderLines(file)
}

/** The common header in one match: what parseAgeHeaderLines reads from it, or undefined. */
function parseCommonHeader(file: Buffer): AgeHeader | undefined {
  const match = COMMON_HEADER.exec(file.toString('latin1', 0, COMMON_HEADER_SIZE))
  if (match === null) return undefined
  return {
    stanzas: [
      { type: 'X25519', args: [match[1] ?? ''], body: Buffer.from(match[2] ?? '', 'base64') },
    ],
    macInput: file.subarray(0, COMMON_HEADER_SIZE - 45), // up to and including `---`
    mac: Buffer.from(match[3] ?? '', 'base64'),
    payload: file.subarray(COMMON_HEADER_SIZE),
  }
}

/** Parses any age header line by line; throws AgeFormatError. */
export function parseAgeHeaderLines(file: Buffer): AgeHeader {
  const text = headerText(file)
  let end = lineEnd(text, 0)
  if (text.slice(0, end) !== VERSION_LINE) {
    throw new AgeFormatError('malformed', 'not an age v1 file')
  }
  let pos = end + 1
  const stanzas: Stanza[] = []
  for (;;) {
    const lineStart = pos
    end = lineEnd(text, pos)
    const line = text.slice(pos, end)
    pos = end + 1
    if (line.startsWith('--- ')) {
      return {
        stanzas,
        macInput: file.subarray(0, lineStart + 3),
        mac: decodeUnpadded(line.slice(4), 'header MAC'),
        payload: file.subarray(pos),
      }
    }
    const words = line.split(' ')
    if (words[0] !== '->' || words.length < 2 || words.includes('')) {
      throw new AgeFormatError('malformed', 'invalid age stanza line')
    }
    const bodyParts: Buffer[] = []
    for (;;) {
      end = lineEnd(text, pos)
      const bodyLine = text.slice(pos, end)
      pos = end + 1
      if (bodyLine.length > 64) throw new AgeFormatError('malformed', 'age stanza line too long')
      bodyParts.push(decodeUnpadded(bodyLine, 'stanza body'))
      if (bodyLine.length < 64) break
    }
    const body = bodyParts.length === 1 ? bodyParts[0] : undefined
    stanzas.push({
      type: words[1] ?? '',
      args: words.slice(2),
      body: body ?? Buffer.concat(bodyParts),
    })
  }
}

function chachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < TAG_SIZE) return undefined
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_SIZE })
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE))
  return authenticated(decipher, decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE)))
}

/** `out` once final() authenticates (a stream cipher's final adds no bytes), else undefined. */
function authenticated(decipher: Decipher, out: Buffer): Buffer | undefined {
  let tail: Buffer
  try {
    tail = decipher.final()
  } catch {
    return undefined
  }
  return tail.length === 0 ? out : Buffer.concat([out, tail])
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
  const shareText = stanza.args[0]
  if (shareText === undefined || stanza.args.length > 1) {
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
  if (ZERO_SHARED.equals(shared)) throw new AgeFormatError('malformed', 'low-order X25519 share')
  const salt = Buffer.allocUnsafe(share.length + identity.publicKey.length)
  salt.set(share)
  salt.set(identity.publicKey, share.length)
  const wrapKey = hkdf(shared, salt, X25519_LABEL)
  return chachaOpen(wrapKey, ZERO_NONCE, stanza.body)
}

function decryptPayload(fileKey: Buffer, payload: Buffer): Buffer {
  if (payload.length < 16) throw new AgeFormatError('malformed', 'truncated age payload')
  const key = hkdf(fileKey, payload.subarray(0, 16), 'payload')
  const body = payload.subarray(16)
  if (body.length <= CHUNK_SIZE + TAG_SIZE) {
    // One chunk, the last (counter 0): the loop below, first turn.
    const chunk = chachaOpen(key, LAST_FIRST_NONCE, body)
    if (chunk === undefined)
      throw new AgeFormatError('corrupt', 'age payload failed to authenticate')
    return chunk
  }
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
    if (last) return chunks.length === 1 ? chunk : Buffer.concat(chunks)
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
  const header = parseAgeHeader(decodeAgeArmor(armored))
  for (const stanza of header.stanzas) {
    if (stanza.type !== 'X25519') continue
    for (const identity of identities) {
      const fileKey = unwrapX25519(stanza, identity)
      if (fileKey === undefined) continue
      if (fileKey.length !== 16) throw new AgeFormatError('malformed', 'invalid age file key')
      const macKey = hkdf(fileKey, EMPTY, 'header')
      const mac = createHmac('sha256', macKey).update(header.macInput).digest()
      if (header.mac.length !== mac.length || !timingSafeEqual(header.mac, mac)) {
        throw new AgeFormatError('corrupt', 'age header MAC mismatch')
      }
      return decryptPayload(fileKey, header.payload)
    }
  }
  return undefined
}

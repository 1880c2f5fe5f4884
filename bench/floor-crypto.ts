/**
 * The floor for vault decryption: the cryptography one SOPS+age key file needs, done with
 * node:crypto directly. `parseKeyFile` (text, YAML, armor, base64; not timed) prepares the
 * inputs; `openKeyFile` (timed) does only what no implementation can skip: the X25519 share
 * import and Diffie-Hellman, HKDF and ChaCha20-Poly1305 for the file key, the age header MAC,
 * HKDF and ChaCha20-Poly1305 for the payload (the SOPS data key), AES-256-GCM for the value,
 * SHA-512 over the plaintext and AES-256-GCM for the stored MAC.
 */
import {
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  timingSafeEqual,
  type KeyObject,
} from 'node:crypto'
import { parse } from 'yaml'

interface Sealed {
  data: Buffer
  iv: Buffer
  tag: Buffer
}

/** One key file, parsed into bytes. */
export interface ParsedKeyFile {
  share: Buffer
  wrappedFileKey: Buffer
  headerMacInput: Buffer
  headerMac: Buffer
  payloadNonce: Buffer
  payload: Buffer
  value: Sealed
  valueAad: string
  mac: Sealed
  macAad: string
}

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_LABEL = Buffer.from('age-encryption.org/v1/X25519')
const ZERO_NONCE = Buffer.alloc(12)
const LAST_CHUNK_NONCE = Buffer.from('000000000000000000000001', 'hex')
const ONE = Buffer.from([1])

function sealed(text: string): Sealed {
  const match = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:str\]$/.exec(text)
  if (!match) throw new Error('not a sops string value')
  const [, data = '', iv = '', tag = ''] = match
  return {
    data: Buffer.from(data, 'base64'),
    iv: Buffer.from(iv, 'base64'),
    tag: Buffer.from(tag, 'base64'),
  }
}

/** Parses a file written by SopsAgeVault.encrypt(path, { api_key }) with one X25519 recipient. */
export function parseKeyFile(text: string): ParsedKeyFile {
  const doc = parse(text) as {
    api_key: string
    sops: { age: { enc: string }[]; lastmodified: string; mac: string }
  }
  const armored = doc.sops.age[0]?.enc ?? ''
  const body = armored.trim().split('\n').slice(1, -1).join('')
  const age = Buffer.from(body, 'base64')
  const text1 = age.toString('latin1')
  const lines = text1.split('\n')
  // age-encryption.org/v1 \n -> X25519 <share> \n <body> \n --- <mac> \n payload
  const share = Buffer.from((lines[1] ?? '').split(' ')[2] ?? '', 'base64')
  const wrappedFileKey = Buffer.from(lines[2] ?? '', 'base64')
  const macLineStart = text1.indexOf('\n--- ') + 1
  const payloadStart = text1.indexOf('\n', macLineStart) + 1
  const headerMac = Buffer.from(text1.slice(macLineStart + 4, payloadStart - 1), 'base64')
  if (share.length !== 32 || wrappedFileKey.length !== 32 || headerMac.length !== 32) {
    throw new Error('unexpected age header layout')
  }
  return {
    share,
    wrappedFileKey,
    headerMacInput: age.subarray(0, macLineStart + 3),
    headerMac,
    payloadNonce: age.subarray(payloadStart, payloadStart + 16),
    payload: age.subarray(payloadStart + 16),
    value: sealed(doc.api_key),
    valueAad: 'api_key:',
    mac: sealed(doc.sops.mac),
    macAad: doc.sops.lastmodified,
  }
}

/** The identity's private key object and public key, from its 32 secret bytes. */
export function importIdentity(secret: Uint8Array): { privateKey: KeyObject; publicKey: Buffer } {
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  return { privateKey, publicKey: spki.subarray(spki.length - 32) }
}

function hkdf(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string): Buffer {
  const prk = createHmac('sha256', salt).update(ikm).digest()
  return createHmac('sha256', prk).update(info).update(ONE).digest()
}

function chacha(key: Uint8Array, nonce: Uint8Array, sealedBytes: Buffer): Buffer {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 })
  decipher.setAuthTag(sealedBytes.subarray(sealedBytes.length - 16))
  return Buffer.concat([
    decipher.update(sealedBytes.subarray(0, sealedBytes.length - 16)),
    decipher.final(),
  ])
}

function gcm(key: Uint8Array, value: Sealed, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, value.iv, { authTagLength: 16 })
  decipher.setAAD(Buffer.from(aad, 'utf8'))
  decipher.setAuthTag(value.tag)
  return Buffer.concat([decipher.update(value.data), decipher.final()])
}

/** Decrypts the value and verifies both MACs; throws when anything fails to authenticate. */
export function openKeyFile(
  file: ParsedKeyFile,
  identity: { privateKey: KeyObject; publicKey: Buffer },
): string {
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: file.share.toString('base64url') },
    format: 'jwk',
  })
  const shared = diffieHellman({ privateKey: identity.privateKey, publicKey })
  const wrapKey = hkdf(shared, Buffer.concat([file.share, identity.publicKey]), X25519_LABEL)
  const fileKey = chacha(wrapKey, ZERO_NONCE, file.wrappedFileKey)
  const headerMac = createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(file.headerMacInput)
    .digest()
  if (!timingSafeEqual(headerMac, file.headerMac)) throw new Error('age header MAC mismatch')
  // The payload (the 32-byte SOPS data key) fits in one chunk, the last one.
  const dataKey = chacha(
    hkdf(fileKey, file.payloadNonce, 'payload'),
    LAST_CHUNK_NONCE,
    file.payload,
  )
  const value = gcm(dataKey, file.value, file.valueAad)
  const mac = createHash('sha512').update(value).digest('hex').toUpperCase()
  if (gcm(dataKey, file.mac, file.macAad).toString('utf8') !== mac) throw new Error('MAC mismatch')
  return value.toString('utf8')
}

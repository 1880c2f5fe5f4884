/**
 * One SOPS value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (sops-format.md §1.3–1.5),
 * and the Go formatting sops applies to plaintext before it is encrypted or hashed.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

export const SOPS_VALUE_TYPES = ['str', 'int', 'float', 'bool', 'bytes', 'time', 'comment'] as const
export type SopsValueType = (typeof SOPS_VALUE_TYPES)[number]

export interface EncryptedValue {
  data: Buffer
  iv: Buffer
  tag: Buffer
  type: SopsValueType
}

/** A plaintext leaf as keyward holds it. `bigint` keeps YAML integers above 2^53 exact. */
export type PlainScalar = string | number | bigint | boolean

const ENC_PATTERN = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]$/
const STD_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const B64_FIELD = '([A-Za-z0-9+/]+={0,2})'
/**
 * A well-formed value in one match, but for the length of its fields: base64 of a
 * length divisible by 4 is what STD_B64 accepts (non-empty), and the type is known.
 */
const WELL_FORMED = new RegExp(
  `^ENC\\[AES256_GCM,data:${B64_FIELD},iv:${B64_FIELD},tag:${B64_FIELD},` +
    `type:(${SOPS_VALUE_TYPES.join('|')})\\]$`,
)
const NONCE_SIZE = 32 // sops' nonceSize; GCM derives J0 through GHASH for non-96-bit IVs
const TAG_SIZE = 16

/** Whether a leaf looks like a sops-encrypted value (it may still be malformed). */
export function isEncryptedValue(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('ENC[')
}

/** Parses an ENC[] string; throws an Error (naming no value) when it is malformed. */
export function parseEncryptedValue(text: string): EncryptedValue {
  // One match and three lengths cover the common case; anything else takes the stepwise
  // checks, which name what is wrong. They accept whatever this accepts, alike.
  const match = WELL_FORMED.exec(text)
  if (
    match !== null &&
    (((match[1] ?? '').length | (match[2] ?? '').length | (match[3] ?? '').length) & 3) === 0
  ) {
    return decodeFields(match[1] ?? '', match[2] ?? '', match[3] ?? '', match[4] ?? '')
  }
  return parseStepwise(text)
}

function parseStepwise(text: string): EncryptedValue {
  const match = ENC_PATTERN.exec(text)
  if (!match) throw new Error('not in sops ENC[AES256_GCM,…] format')
  const [, data = '', iv = '', tag = '', type = ''] = match
  for (const [name, field] of [
    ['data', data],
    ['iv', iv],
    ['tag', tag],
  ] as const) {
    if (!STD_B64.test(field)) throw new Error(`invalid base64 in the ${name} field`)
  }
  if (!(SOPS_VALUE_TYPES as readonly string[]).includes(type)) {
    throw new Error(`unknown value type "${type}"`)
  }
  return decodeFields(data, iv, tag, type)
}

function decodeFields(data: string, iv: string, tag: string, type: string): EncryptedValue {
  const tagBytes = Buffer.from(tag, 'base64')
  const ivBytes = Buffer.from(iv, 'base64')
  if (tagBytes.length !== TAG_SIZE) throw new Error('the tag field is not 16 bytes')
  if (ivBytes.length === 0) throw new Error('the iv field is empty')
  return {
    data: Buffer.from(data, 'base64'),
    iv: ivBytes,
    tag: tagBytes,
    type: type as SopsValueType,
  }
}

export function formatEncryptedValue(value: EncryptedValue): string {
  return (
    `ENC[AES256_GCM,data:${value.data.toString('base64')},iv:${value.iv.toString('base64')},` +
    `tag:${value.tag.toString('base64')},type:${value.type}]`
  )
}

/** AES-256-GCM open; undefined when authentication fails (wrong key, AAD or a changed byte). */
export function openValue(value: EncryptedValue, key: Uint8Array, aad: string): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, value.iv, { authTagLength: TAG_SIZE })
  decipher.setAAD(Buffer.from(aad, 'utf8'))
  decipher.setAuthTag(value.tag)
  const head = decipher.update(value.data)
  let tail: Buffer
  try {
    tail = decipher.final()
  } catch {
    return undefined
  }
  // GCM's final() authenticates and adds no bytes; skip the copy.
  return tail.length === 0 ? head : Buffer.concat([head, tail])
}

/** AES-256-GCM seal with a fresh 32-byte IV, as sops does. */
export function sealValue(
  plaintext: Uint8Array,
  type: SopsValueType,
  key: Uint8Array,
  aad: string,
): string {
  const iv = randomBytes(NONCE_SIZE)
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_SIZE })
  cipher.setAAD(Buffer.from(aad, 'utf8'))
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return formatEncryptedValue({ data, iv, tag: cipher.getAuthTag(), type })
}

/** The AAD sops binds a value to: mapping keys from the root, each followed by `:`. */
export function valueAad(path: readonly string[]): string {
  return path.map((key) => `${key}:`).join('') || ':'
}

/** Go `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : '-Inf'
  if (Object.is(value, -0)) return '-0'
  const text = String(value)
  const match = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text)
  if (!match) return text
  const [, sign = '', int = '', frac = '', exp = '0'] = match
  const digits = int + frac
  const point = int.length + Number(exp)
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
}

/** sops' `ToBytes` and the plaintext it encrypts: strings as UTF-8, bools as `True`/`False`. */
export function plaintextBytes(value: PlainScalar, isInteger = false): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False')
  if (typeof value === 'bigint') return Buffer.from(value.toString())
  return Buffer.from(isInteger ? value.toFixed(0) : formatGoFloat(value))
}

/** The sops type a plaintext leaf is encrypted as. */
export function valueType(value: PlainScalar, isInteger = false): SopsValueType {
  if (typeof value === 'string') return 'str'
  if (typeof value === 'boolean') return 'bool'
  if (typeof value === 'bigint' || isInteger) return 'int'
  return 'float'
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/**
 * Converts decrypted plaintext back to a typed value (sops-format.md §1.4).
 * `bytes` (legacy, never written by Go sops) stays raw; `time` stays its RFC 3339 text.
 */
export function typedPlaintext(plaintext: Buffer, type: SopsValueType): unknown {
  const text = plaintext.toString('utf8')
  switch (type) {
    case 'str':
    case 'time':
    case 'comment':
      return text
    case 'bytes':
      return Uint8Array.from(plaintext)
    case 'int':
      // bigint keeps the type (and precision) so a rekey writes `int` again.
      if (!/^[+-]?\d+$/.test(text)) throw new Error('an int value does not hold an integer')
      return BigInt(text)
    case 'float': {
      const number = Number(text.replace(/^([+-]?)Inf$/, '$1Infinity'))
      if (text.trim() === '' || (Number.isNaN(number) && text !== 'NaN')) {
        throw new Error('a float value does not hold a number')
      }
      return number
    }
    case 'bool':
      if (GO_TRUE.has(text)) return true
      if (GO_FALSE.has(text)) return false
      throw new Error('a bool value does not hold a boolean')
  }
}

/**
 * Bech32 (BIP 173, not bech32m) as age uses it for `age1…` recipients and
 * `AGE-SECRET-KEY-1…` identities. Unlike BIP 173, age sets no 90-character limit.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

export interface Bech32Data {
  /** Human-readable part, lower case (e.g. `age`, `age-secret-key-`). */
  hrp: string
  bytes: Uint8Array
}

function polymod(values: readonly number[]): number {
  let chk = 1
  for (const value of values) {
    const top = chk >>> 25
    chk = ((chk & 0x1ffffff) << 5) ^ value
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk ^= GENERATORS[i] ?? 0
    }
  }
  return chk >>> 0
}

function hrpExpand(hrp: string): number[] {
  const high: number[] = []
  const low: number[] = []
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i)
    high.push(c >>> 5)
    low.push(c & 31)
  }
  return [...high, 0, ...low]
}

/** Regroups bits; `pad` adds zero bits on encode, and on decode excess bits must be zero padding. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0
  let bits = 0
  const out: number[] = []
  const maxv = (1 << to) - 1
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | (data[i] ?? 0)
    bits += from
    while (bits >= to) {
      bits -= to
      out.push((acc >>> bits) & maxv)
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv)
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    throw new Error('invalid bech32 padding')
  }
  return out
}

/** Decodes a bech32 string; throws an Error (without echoing the input) when it is invalid. */
export function bech32Decode(text: string): Bech32Data {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    throw new Error('mixed-case bech32 string')
  }
  const lower = text.toLowerCase()
  const separator = lower.lastIndexOf('1')
  if (separator < 1 || separator + 7 > lower.length) throw new Error('bech32 string too short')
  const hrp = lower.slice(0, separator)
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i)
    if (c < 33 || c > 126) throw new Error('invalid bech32 prefix character')
  }
  const values: number[] = []
  for (const char of lower.slice(separator + 1)) {
    const value = CHARSET.indexOf(char)
    if (value === -1) throw new Error('invalid bech32 character')
    values.push(value)
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) throw new Error('bad bech32 checksum')
  return { hrp, bytes: Uint8Array.from(convertBits(values.slice(0, -6), 5, 8, false)) }
}

/** Encodes bytes as lower-case bech32 with the given human-readable part. */
export function bech32Encode(hrp: string, bytes: Uint8Array): string {
  const lowerHrp = hrp.toLowerCase()
  const data = convertBits(bytes, 8, 5, true)
  const chk = polymod([...hrpExpand(lowerHrp), ...data, 0, 0, 0, 0, 0, 0]) ^ 1
  const checksum: number[] = []
  for (let i = 0; i < 6; i++) checksum.push((chk >>> (5 * (5 - i))) & 31)
  return `${lowerHrp}1${[...data, ...checksum].map((v) => CHARSET[v]).join('')}`
}

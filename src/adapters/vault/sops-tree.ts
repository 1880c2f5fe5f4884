/**
 * The document tree in file order, and the three walks over it: decrypt (with the
 * MAC), encrypt (with the MAC) and re-encrypt under a new data key. The walk
 * mirrors sops' walkBranch/walkSlice: the path holds mapping keys only, so every
 * element of a list shares its list's path (sops-format.md §1.5).
 */
import { encryptionPredicate, SopsMac, type EncryptionRule } from './sops-mac.js'
import {
  isEncryptedValue,
  openValue,
  parseEncryptedValue,
  plaintextBytes,
  sealValue,
  typedPlaintext,
  valueAad,
  valueType,
  type PlainScalar,
  type SopsValueType,
} from './sops-value.js'

/** A leaf: `bigint` is an integer, `number` a float; Uint8Array only for legacy `bytes`. */
export type SopsLeaf = PlainScalar | null | Uint8Array
export interface SopsMap {
  kind: 'map'
  entries: SopsEntry[]
}
export interface SopsEntry {
  key: string
  value: SopsNode
}
export type SopsNode = SopsMap | SopsNode[] | SopsLeaf

export function isSopsMap(node: SopsNode): node is SopsMap {
  return typeof node === 'object' && node !== null && !Array.isArray(node) && 'kind' in node
}

/** A problem found while walking, located by its key path; the vault adds the file. */
export class TreeError extends Error {
  override readonly name = 'TreeError'
  constructor(
    readonly kind: 'malformed' | 'decrypt-failed' | 'cleartext',
    readonly path: readonly string[],
    message: string,
  ) {
    super(message)
  }
}

/** Returned by a visitor to drop a list element (encrypted comments stored in lists). */
const DROP = Symbol('drop')
type Visitor = (leaf: SopsLeaf, path: string[], inList: boolean) => SopsNode | typeof DROP

function walk(
  node: SopsNode,
  path: string[],
  inList: boolean,
  visit: Visitor,
): SopsNode | typeof DROP {
  if (Array.isArray(node)) {
    const out: SopsNode[] = []
    for (const item of node) {
      const next = walk(item, path, true, visit)
      if (next !== DROP) out.push(next)
    }
    return out
  }
  if (isSopsMap(node)) {
    const entries: SopsEntry[] = []
    for (const { key, value } of node.entries) {
      const next = walk(value, [...path, key], false, visit)
      entries.push({ key, value: next === DROP ? null : next })
    }
    return { kind: 'map', entries }
  }
  return visit(node, path, inList)
}

function walkBranches(branches: readonly SopsMap[], visit: Visitor): SopsMap[] {
  return branches.map((branch) => walk(branch, [], false, visit) as SopsMap)
}

export interface TreeCipherOptions {
  rule: EncryptionRule
  macOnlyEncrypted: boolean
}

interface OpenedLeaf {
  plaintext: Buffer
  type: SopsValueType
}

/** Opens one leaf that the rules (or, for comment rules, its form) say is encrypted. */
function openLeaf(leaf: SopsLeaf, path: string[], dataKey: Uint8Array): OpenedLeaf | '' {
  if (leaf === '') return '' // sops never encrypts the empty string
  if (!isEncryptedValue(leaf)) {
    throw new TreeError(
      'cleartext',
      path,
      'is in cleartext although the file says it is encrypted (added or edited outside sops?)',
    )
  }
  let parsed
  try {
    parsed = parseEncryptedValue(leaf)
  } catch (error) {
    throw new TreeError('malformed', path, error instanceof Error ? error.message : 'malformed')
  }
  const plaintext = openValue(parsed, dataKey, valueAad(path))
  if (plaintext === undefined) {
    throw new TreeError(
      'decrypt-failed',
      path,
      'failed authentication (changed ciphertext, or moved to another key)',
    )
  }
  return { plaintext, type: parsed.type }
}

function leafBytes(leaf: SopsLeaf): Buffer {
  if (leaf instanceof Uint8Array) return Buffer.from(leaf)
  return plaintextBytes(leaf as PlainScalar)
}

export interface DecryptedTree {
  branches: SopsMap[]
  /** The MAC computed over the plaintext, to compare with the file's. */
  mac: string
}

/**
 * Decrypts every encrypted leaf and computes the MAC in document order. `onString`
 * sees each decrypted string the moment it exists (masking). Throws TreeError.
 */
export function decryptTree(
  branches: readonly SopsMap[],
  dataKey: Uint8Array,
  options: TreeCipherOptions & { onString?: (value: string) => void },
): DecryptedTree {
  const encrypted = encryptionPredicate(options.rule)
  const mac = new SopsMac(options.macOnlyEncrypted)
  const out = walkBranches(branches, (leaf, path, inList) => {
    if (leaf === null) return null
    const isEncrypted = encrypted(path) ?? isEncryptedValue(leaf)
    if (!isEncrypted) {
      mac.add(leafBytes(leaf), false)
      return leaf
    }
    const opened = openLeaf(leaf, path, dataKey)
    if (opened === '') return ''
    if (opened.type === 'comment') {
      if (inList) return DROP // a comment sops stored as a list element; never in the MAC
      throw new TreeError('malformed', path, 'holds a comment where a value belongs')
    }
    let value: unknown
    try {
      value = typedPlaintext(opened.plaintext, opened.type)
    } catch (error) {
      throw new TreeError('malformed', path, error instanceof Error ? error.message : 'malformed')
    }
    if (typeof value === 'string' && value !== '') options.onString?.(value)
    mac.add(opened.plaintext, true)
    return value as SopsLeaf
  })
  return { branches: out, mac: mac.digest() }
}

/** Encrypts plaintext leaves as sops does (§2.1 step 5); returns the tree and its MAC. */
export function encryptTree(
  branches: readonly SopsMap[],
  dataKey: Uint8Array,
  options: TreeCipherOptions,
): DecryptedTree {
  const encrypted = encryptionPredicate(options.rule)
  const mac = new SopsMac(options.macOnlyEncrypted)
  const out = walkBranches(branches, (leaf, path) => {
    if (leaf === null) return null
    // Comment rules: keyward's trees hold no comments, so unencrypted_comment_regex
    // encrypts everything; encrypted_comment_regex is refused before we get here.
    const isEncrypted = encrypted(path) ?? options.rule.key === 'unencrypted_comment_regex'
    const bytes = leafBytes(leaf)
    mac.add(bytes, isEncrypted)
    if (!isEncrypted || leaf === '') return leaf
    const type: SopsValueType =
      leaf instanceof Uint8Array ? 'bytes' : valueType(leaf as PlainScalar)
    return sealValue(bytes, type, dataKey, valueAad(path))
  })
  return { branches: out, mac: mac.digest() }
}

/**
 * Moves every encrypted leaf (list comments included) to `newKey`, keeping each
 * plaintext byte for byte and its sops type, and computes the MAC on the way.
 */
export function reencryptTree(
  branches: readonly SopsMap[],
  oldKey: Uint8Array,
  newKey: Uint8Array,
  options: TreeCipherOptions & { onString?: (value: string) => void },
): DecryptedTree {
  const encrypted = encryptionPredicate(options.rule)
  const mac = new SopsMac(options.macOnlyEncrypted)
  const out = walkBranches(branches, (leaf, path, inList) => {
    if (leaf === null) return null
    const isEncrypted = encrypted(path) ?? isEncryptedValue(leaf)
    if (!isEncrypted) {
      mac.add(leafBytes(leaf), false)
      return leaf
    }
    const opened = openLeaf(leaf, path, oldKey)
    if (opened === '') return ''
    if (opened.type === 'comment' && !inList) {
      throw new TreeError('malformed', path, 'holds a comment where a value belongs')
    }
    if (opened.type !== 'comment') {
      try {
        typedPlaintext(opened.plaintext, opened.type) // same validation as a decrypt
      } catch (error) {
        throw new TreeError('malformed', path, error instanceof Error ? error.message : 'malformed')
      }
      if (opened.type === 'str' && opened.plaintext.length > 0) {
        options.onString?.(opened.plaintext.toString('utf8'))
      }
      mac.add(opened.plaintext, true)
    }
    return sealValue(opened.plaintext, opened.type, newKey, valueAad(path))
  })
  return { branches: out, mac: mac.digest() }
}

/** The tree as plain JS values; safe integers become numbers. */
export function toPlainValue(node: SopsNode): unknown {
  if (Array.isArray(node)) return node.map(toPlainValue)
  if (isSopsMap(node)) {
    const out: Record<string, unknown> = {}
    for (const { key, value } of node.entries) {
      Object.defineProperty(out, key, {
        value: toPlainValue(value),
        enumerable: true,
        writable: true,
        configurable: true,
      })
    }
    return out
  }
  if (typeof node === 'bigint') {
    return node >= BigInt(Number.MIN_SAFE_INTEGER) && node <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(node)
      : node
  }
  return node
}

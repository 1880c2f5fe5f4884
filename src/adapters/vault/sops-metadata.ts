/** The `sops` metadata block (sops-format.md §1.2): read, checked, and built for writing. */
import {
  canonicalLastModified,
  DEFAULT_ENCRYPTION_RULE,
  ENCRYPTION_RULE_KEYS,
  type EncryptionRule,
} from './sops-mac.js'
import { isSopsMap, type SopsEntry, type SopsMap, type SopsNode } from './sops-tree.js'

export interface AgeStanza {
  recipient: string
  /** Armored age file holding the 32-byte data key. */
  enc: string
}

export interface SopsMetadata {
  age: AgeStanza[]
  /** `lastmodified` as written. */
  lastModified: string
  /** `lastmodified` as Go re-formats it: the AAD of the MAC. */
  macAad: string
  mac: string | undefined
  rule: EncryptionRule
  macOnlyEncrypted: boolean
  version: string
}

export class MetadataError extends Error {
  override readonly name = 'MetadataError'
  constructor(
    readonly kind: 'malformed' | 'unsupported',
    message: string,
  ) {
    super(message)
  }
}

/**
 * The version keyward writes. sops parses it as semver (and refuses a file whose
 * version does not parse); 3.9.0 is the first release that knows `mac_only_encrypted`,
 * and nothing keyward writes needs anything newer.
 */
export const SOPS_WRITTEN_VERSION = '3.9.4'

const OTHER_MASTER_KEYS = ['pgp', 'kms', 'gcp_kms', 'hckms', 'azure_kv', 'hc_vault'] as const
const SEMVER = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/

function get(map: SopsMap, key: string): SopsNode | undefined {
  return map.entries.find((e) => e.key === key)?.value
}

/** A key list that may be absent, `null` or `[]` (files before sops 3.10 write empty lists). */
function list(map: SopsMap, key: string): SopsNode[] {
  const value = get(map, key)
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) throw new MetadataError('malformed', `sops.${key} is not a list`)
  return value
}

function ageList(map: SopsMap, where: string): AgeStanza[] {
  return list(map, 'age').map((entry, i) => {
    if (entry === null || !isSopsMap(entry)) {
      throw new MetadataError('malformed', `${where}.age[${i}] is not a mapping`)
    }
    const recipient = get(entry, 'recipient')
    const enc = get(entry, 'enc')
    if (typeof recipient !== 'string' || typeof enc !== 'string') {
      throw new MetadataError('malformed', `${where}.age[${i}] lacks a recipient or enc string`)
    }
    return { recipient, enc }
  })
}

/** The age stanzas of the file's single key group (a lone `key_groups` entry counts). */
export function readAgeStanzas(meta: SopsMap): AgeStanza[] {
  const flat = ageList(meta, 'sops')
  const hasOtherFlat = OTHER_MASTER_KEYS.some((key) => list(meta, key).length > 0)
  if (flat.length > 0 || hasOtherFlat) return flat
  const groups = list(meta, 'key_groups')
  if (groups.length > 1) {
    throw new MetadataError(
      'unsupported',
      `uses ${groups.length} key_groups (a Shamir split); keyward supports one group of age recipients`,
    )
  }
  const [group] = groups
  if (group === undefined) return []
  if (group === null || !isSopsMap(group)) {
    throw new MetadataError('malformed', 'sops.key_groups[0] is not a mapping')
  }
  return ageList(group, 'sops.key_groups[0]')
}

function otherKeyTypes(meta: SopsMap): string[] {
  return OTHER_MASTER_KEYS.filter((key) => list(meta, key).length > 0)
}

function readRule(meta: SopsMap): EncryptionRule {
  const set = ENCRYPTION_RULE_KEYS.flatMap((key) => {
    const value = get(meta, key)
    if (value === undefined || value === null || value === '') return []
    if (typeof value !== 'string')
      throw new MetadataError('malformed', `sops.${key} is not a string`)
    return [{ key, value }]
  })
  if (set.length > 1) {
    throw new MetadataError(
      'malformed',
      `sets ${set.map((r) => r.key).join(' and ')}; sops allows at most one of them`,
    )
  }
  return set[0] ?? DEFAULT_ENCRYPTION_RULE
}

function readBool(meta: SopsMap, key: string): boolean {
  const value = get(meta, key)
  // Weakly typed, as sops decodes it: dotenv metadata holds the string "true".
  if (value === undefined || value === null || value === false || value === 'false') return false
  if (value === true || value === 'true') return true
  throw new MetadataError('malformed', `sops.${key} is not a boolean`)
}

/** Reads and checks the metadata; throws MetadataError. */
export function readMetadata(node: SopsNode): SopsMetadata {
  if (node === null || !isSopsMap(node)) {
    throw new MetadataError('malformed', 'the sops metadata is not a mapping')
  }
  const age = readAgeStanzas(node)
  if (age.length === 0) {
    const others = otherKeyTypes(node)
    throw others.length > 0
      ? new MetadataError(
          'unsupported',
          `is encrypted with ${others.join(', ')} only; keyward reads age recipients`,
        )
      : new MetadataError('malformed', 'the sops metadata names no keys (truncated or edited?)')
  }
  const lastModified = get(node, 'lastmodified')
  const macAad = typeof lastModified === 'string' ? canonicalLastModified(lastModified) : undefined
  if (typeof lastModified !== 'string' || macAad === undefined) {
    throw new MetadataError('malformed', 'sops.lastmodified is missing or not an RFC 3339 time')
  }
  const version = get(node, 'version')
  if (typeof version !== 'string' || !SEMVER.test(version)) {
    throw new MetadataError('malformed', 'sops.version is missing or not semver (truncated?)')
  }
  const mac = get(node, 'mac')
  if (mac !== undefined && mac !== null && typeof mac !== 'string') {
    throw new MetadataError('malformed', 'sops.mac is not a string')
  }
  return {
    age,
    lastModified,
    macAad,
    mac: typeof mac === 'string' && mac !== '' ? mac : undefined,
    rule: readRule(node),
    macOnlyEncrypted: readBool(node, 'mac_only_encrypted'),
    version,
  }
}

/** The metadata block keyward writes, in the order sops emits it (§2.1 step 9). */
export function metadataTree(meta: {
  age: readonly AgeStanza[]
  lastModified: string
  mac: string
  rule: EncryptionRule
  macOnlyEncrypted: boolean
  version: string
}): SopsMap {
  const entries: SopsEntry[] = [
    {
      key: 'age',
      value: meta.age.map((stanza): SopsMap => ({
        kind: 'map',
        entries: [
          { key: 'recipient', value: stanza.recipient },
          { key: 'enc', value: stanza.enc },
        ],
      })),
    },
    { key: 'lastmodified', value: meta.lastModified },
    { key: 'mac', value: meta.mac },
    { key: meta.rule.key, value: meta.rule.value },
  ]
  if (meta.macOnlyEncrypted) entries.push({ key: 'mac_only_encrypted', value: true })
  entries.push({ key: 'version', value: meta.version })
  return { kind: 'map', entries }
}

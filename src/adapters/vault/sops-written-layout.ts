/**
 * The YAML layout keyward writes (emitSopsDocument for `vault add`: `key: ENC[…]`
 * lines, then the metadata with a 4-space indent, one armored age file per recipient,
 * the default rule), read with a few regular expressions. For 1,000 key files in a
 * fresh process, parseSopsDocument + readMetadata take about 90 ms of CPU (35 ms once
 * warm), mostly interpreter time and optimizing-compiler work; this takes about 20 ms
 * (7 ms), next to some 170 ms of cryptography. Anything else (other rules, indents,
 * values kept in clear, comments, key order) returns undefined and takes the general
 * path, which reads every file this accepts the same way
 * (__tests__/adapters/vault/sops-written-layout.test.ts).
 */
import { canonicalLastModified, DEFAULT_ENCRYPTION_RULE } from './sops-mac.js'
import type { AgeStanza, SopsMetadata } from './sops-metadata.js'
import type { SopsEntry, SopsMap } from './sops-tree.js'

/** An `ENC[…]` plain scalar: no spaces, quotes or `#`, so YAML reads it as this string. */
const ENC = 'ENC\\[[A-Za-z0-9_,:+/=]*\\]'
/**
 * A data line: a plain key that YAML's core schema reads as a string (not null or a
 * boolean, which sops refuses) and is not `sops`, then an `ENC[…]` value.
 */
const DATA_LINE = new RegExp(
  '^(?!(?:null|Null|NULL|true|True|TRUE|false|False|FALSE|sops):)' +
    `([A-Za-z_][A-Za-z0-9_-]*): (${ENC})$`,
)
const INDENT = ' '.repeat(14)
/** One `age` entry; `(` opens its two groups (recipient, armored enc) or none. */
const stanza = (open: '(' | '(?:') =>
  `        - recipient: ${open}age1[0-9a-z]+)\\n          enc: \\|\\n` +
  `${open}${INDENT}-----BEGIN AGE ENCRYPTED FILE-----\\n` +
  `(?:${INDENT}[A-Za-z0-9+/=]+\\n)*` +
  `${INDENT}-----END AGE ENCRYPTED FILE-----\\n)`
const STANZAS = new RegExp(stanza('('), 'g')
const METADATA = new RegExp(
  `^sops:\\n    age:\\n((?:${stanza('(?:')})+)` +
    `    lastmodified: "([^"\\\\\\n]*)"\\n` +
    `    mac: (${ENC})\\n` +
    `    ${DEFAULT_ENCRYPTION_RULE.key}: ${DEFAULT_ENCRYPTION_RULE.value}\\n` +
    `(    mac_only_encrypted: true\\n)?` +
    `    version: ([0-9]+\\.[0-9]+\\.[0-9]+)\\n$`,
)

export interface WrittenLayout {
  /** The data, one branch, as parseSopsDocument gives it. */
  branches: SopsMap[]
  /** The metadata, as readMetadata gives it. */
  meta: SopsMetadata
}

/** The data lines before `sops:`, or undefined when one is not `key: ENC[…]` or keys repeat. */
function dataEntries(text: string): SopsEntry[] | undefined {
  const entries: SopsEntry[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = DATA_LINE.exec(lines[i] ?? '')
    const key = match?.[1]
    const value = match?.[2]
    if (key === undefined || value === undefined) return undefined
    entries.push({ key, value })
  }
  // YAML refuses a repeated key.
  if (entries.length > 1 && new Set(entries.map((e) => e.key)).size < entries.length) {
    return undefined
  }
  return entries
}

/** The file as parseSopsDocument + readMetadata read it, or undefined outside the layout. */
export function readWrittenLayout(text: string): WrittenLayout | undefined {
  const at = metadataStart(text)
  const match = at === -1 ? null : METADATA.exec(at === 0 ? text : text.slice(at))
  if (match === null) return undefined
  const entries = at === 0 ? [] : dataEntries(text.slice(0, at - 1))
  const meta = entries && metadata(match)
  return meta && { branches: [{ kind: 'map', entries }], meta }
}

/** Where the top-level `sops:` line starts, or -1. */
function metadataStart(text: string): number {
  if (text.startsWith('sops:\n')) return 0
  const at = text.indexOf('\nsops:\n')
  return at === -1 ? -1 : at + 1
}

/** The metadata from a METADATA match, or undefined when lastmodified is not RFC 3339. */
function metadata(match: RegExpExecArray): SopsMetadata | undefined {
  const lastModified = match[2] ?? ''
  const macAad = canonicalLastModified(lastModified)
  if (macAad === undefined) return undefined
  return {
    age: ageStanzas(match[1] ?? ''),
    lastModified,
    macAad,
    mac: match[3] ?? '',
    rule: { ...DEFAULT_ENCRYPTION_RULE },
    macOnlyEncrypted: match[4] !== undefined,
    version: match[5] ?? '',
  }
}

function ageStanzas(text: string): AgeStanza[] {
  const age: AgeStanza[] = []
  STANZAS.lastIndex = 0
  for (let stanza = STANZAS.exec(text); stanza; stanza = STANZAS.exec(text)) {
    // The literal block without its indent, ending in one newline (`|` clips).
    const enc = (stanza[2] ?? '').slice(INDENT.length).replaceAll(`\n${INDENT}`, '\n')
    age.push({ recipient: stanza[1] ?? '', enc })
  }
  return age
}

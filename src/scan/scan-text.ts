import { KEY_PATTERNS, looksLikeKey, type KeyKind, type KeyPattern } from './key-patterns.js'

/** A plaintext key found in a file. Deliberately carries no plaintext: only a masked form. */
export interface LeakHit {
  /** As the caller named the file (relative to the governance repository). */
  file: string
  /** 1-based. */
  line: number
  /** 1-based, in UTF-16 code units (SARIF's default column kind). */
  column: number
  kind: KeyKind
  provider: string
  /** Known prefix + `…` + last 4 characters, e.g. `sk-proj-…wxyz`. */
  masked: string
  /** Lowercase hex SHA-256 of the exact key string: what `scan.allow` lists. */
  sha256: string
}

export interface ScanOptions {
  /** Lowercase hex SHA-256 digests of known test keys (see `allowSet`). */
  allow: ReadonlySet<string>
  /** Hex SHA-256 of a string. Injected so this module does no I/O (callers pass node:crypto). */
  sha256: (text: string) => string
}

/** A line of text with its own 1-based line number, as `addedLines` yields them. */
export interface NumberedLine {
  line: number
  text: string
}

// A whole SOPS value, e.g. `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`. Its base64 can contain
// key-shaped runs (`data:AIza…`), and it is encrypted, so nothing inside it is a leak.
const SOPS_VALUE = /ENC\[AES256_GCM,[^\]\r\n]*\]/g

const ALLOW_ENTRY = /^sha256:([0-9a-f]{64})$/i

/**
 * The digests of `scan.allow` entries (`"sha256:<hex>"`), lowercased. Entries of another shape
 * are ignored here: the schema rejects them, and an unusable entry must not allow anything.
 */
export function allowSet(entries: readonly string[]): Set<string> {
  const digests = new Set<string>()
  for (const entry of entries) {
    const digest = ALLOW_ENTRY.exec(entry.trim())?.[1]
    if (digest !== undefined) digests.add(digest.toLowerCase())
  }
  return digests
}

/** The only form of a key keyward ever shows: its known prefix, `…`, and its last 4 characters. */
export function maskKey(key: string, prefix: string): string {
  return `${prefix}…${key.slice(-4)}`
}

/** Finds plaintext LLM keys in a file's text. Hits are ordered by position. */
export function scanText(path: string, text: string, options: ScanOptions): LeakHit[] {
  const found = findKeys(text, options)
  if (found.length === 0) return []
  const lineStarts = lineStartOffsets(text)
  return found.map(({ offset, hit }) => {
    const lineIndex = lineIndexOf(lineStarts, offset)
    return {
      file: path,
      line: lineIndex + 1,
      column: offset - (lineStarts[lineIndex] ?? 0) + 1,
      ...hit,
    }
  })
}

/**
 * Finds plaintext LLM keys in separate lines that keep their own numbers, such as the lines a
 * pull request adds (`addedLines`). A key cannot span lines, so each line is scanned alone.
 */
export function scanLines(
  path: string,
  lines: readonly NumberedLine[],
  options: ScanOptions,
): LeakHit[] {
  return lines.flatMap(({ line, text }) =>
    findKeys(text, options).map(({ offset, hit }) => ({
      file: path,
      line,
      column: offset + 1,
      ...hit,
    })),
  )
}

type HitBody = Omit<LeakHit, 'file' | 'line' | 'column'>

interface Candidate {
  start: number
  end: number
  key: string
  prefix: string
  pattern: KeyPattern
}

function findKeys(text: string, options: ScanOptions): { offset: number; hit: HitBody }[] {
  const candidates: Candidate[] = []
  for (const pattern of KEY_PATTERNS) {
    if (!text.includes(pattern.literal)) continue
    for (const match of text.matchAll(pattern.regex)) {
      const key = match[0]
      const prefix = match.groups?.['prefix'] ?? ''
      if (!looksLikeKey(pattern, key, prefix)) continue
      candidates.push({ start: match.index, end: match.index + key.length, key, prefix, pattern })
    }
  }
  if (candidates.length === 0) return []

  const encrypted = sopsValueRanges(text)
  const insideSopsValue = (offset: number): boolean =>
    encrypted.some(([start, end]) => offset >= start && offset < end)

  // Earliest first, longest first at one position; then drop anything overlapping a kept match,
  // so one key is never reported twice under two kinds.
  candidates.sort((a, b) => a.start - b.start || b.end - a.end)
  const results: { offset: number; hit: HitBody }[] = []
  let keptEnd = -1
  for (const candidate of candidates) {
    if (candidate.start < keptEnd || insideSopsValue(candidate.start)) continue
    keptEnd = candidate.end
    const sha256 = options.sha256(candidate.key).toLowerCase()
    if (options.allow.has(sha256)) continue
    results.push({
      offset: candidate.start,
      hit: {
        kind: candidate.pattern.id,
        provider: candidate.pattern.provider,
        masked: maskKey(candidate.key, candidate.prefix),
        sha256,
      },
    })
  }
  return results
}

function sopsValueRanges(text: string): [number, number][] {
  if (!text.includes('ENC[')) return []
  return [...text.matchAll(SOPS_VALUE)].map((m) => [m.index, m.index + m[0].length])
}

/** Offsets at which each line starts. `\r\n` and `\n` both end a line (`\r` stays on it). */
function lineStartOffsets(text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

/** Index of the last line start at or before `offset` (binary search). */
function lineIndexOf(lineStarts: readonly number[], offset: number): number {
  let low = 0
  let high = lineStarts.length - 1
  while (low < high) {
    const mid = (low + high + 1) >> 1
    if ((lineStarts[mid] ?? 0) <= offset) low = mid
    else high = mid - 1
  }
  return low
}

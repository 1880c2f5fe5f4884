/**
 * The hash chain over audit snapshots (SPEC §7, DESIGN.md "Ledger"). Pure: callers hand in
 * bytes and listings; hashing is injected so this module does no I/O.
 */

export type Sha256 = (bytes: Uint8Array) => string

/** One line of `audit/ledger.jsonl`. */
export interface LedgerEntry {
  path: string
  /** `sha256:<hex>` of the snapshot's bytes. */
  sha256: string
  /** The previous entry's `sha256`, or null for the first. */
  prev: string | null
  /** ISO 8601 UTC time of the run. */
  at: string
}

export const LEDGER_FILE = 'audit/ledger.jsonl'
export const SNAPSHOT_DIR = 'audit/snapshots'

/** `audit/snapshots/YYYY/MM/DD/HHMMSSZ.json` for a run at `at` (UTC). */
export function snapshotPath(at: Date): string {
  const iso = at.toISOString() // 2026-11-27T06:00:00.000Z
  const [date = '', time = ''] = iso.split('T')
  const [y, m, d] = date.split('-')
  return `${SNAPSHOT_DIR}/${y}/${m}/${d}/${time.slice(0, 8).replace(/:/g, '')}Z.json`
}

export function ledgerLine(entry: LedgerEntry): string {
  // Fixed field order keeps lines stable and readable in diffs.
  return (
    JSON.stringify({ path: entry.path, sha256: entry.sha256, prev: entry.prev, at: entry.at }) +
    '\n'
  )
}

export interface ParsedLedger {
  entries: LedgerEntry[]
  /** Lines that are not ledger entries, with their 1-based line numbers. */
  problems: { line: number; message: string }[]
}

const HASH = /^sha256:[0-9a-f]{64}$/

export function parseLedger(text: string): ParsedLedger {
  const entries: LedgerEntry[] = []
  const problems: ParsedLedger['problems'] = []
  const lines = text.split('\n')
  lines.forEach((raw, index) => {
    if (raw.trim() === '') return
    const line = index + 1
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      problems.push({ line, message: 'not JSON' })
      return
    }
    const entry = value as Partial<LedgerEntry>
    if (
      typeof entry.path !== 'string' ||
      typeof entry.sha256 !== 'string' ||
      !HASH.test(entry.sha256) ||
      !(entry.prev === null || (typeof entry.prev === 'string' && HASH.test(entry.prev))) ||
      typeof entry.at !== 'string'
    ) {
      problems.push({
        line,
        message: 'expected {"path","sha256":"sha256:<hex>","prev":"sha256:<hex>"|null,"at"}',
      })
      return
    }
    entries.push({ path: entry.path, sha256: entry.sha256, prev: entry.prev ?? null, at: entry.at })
  })
  return { entries, problems }
}

/** What verification found; `broken` names the first link that does not hold. */
export interface VerifyReport {
  ok: boolean
  snapshots: number
  head: string | null
  broken?: { file: string; line: number; message: string }
  note?: string
}

export interface ChainSource {
  ledgerText: string | undefined
  /** Every file under audit/snapshots, relative to the repository root. */
  snapshotFiles: string[]
  readSnapshot(path: string): Uint8Array | undefined
  sha256: Sha256
}

/**
 * Replays the chain: every ledger line names an existing snapshot whose bytes hash to the
 * recorded value and whose `prev` is the line before's hash; times never go back; every
 * snapshot on disk is in the ledger. With an anchor (the head hash kept outside the branch,
 * on the dashboard issue), a ledger whose head is older than the anchor was cut short.
 */
export function verifyChain(source: ChainSource, anchor?: string): VerifyReport {
  const fail = (
    file: string,
    line: number,
    message: string,
    snapshots: number,
    head: string | null,
  ): VerifyReport => ({
    ok: false,
    snapshots,
    head,
    broken: { file, line, message },
  })
  if (source.ledgerText === undefined) {
    if (source.snapshotFiles.length > 0)
      return fail(
        LEDGER_FILE,
        1,
        `${LEDGER_FILE} is missing but ${source.snapshotFiles.length} snapshots exist`,
        0,
        null,
      )
    if (anchor)
      return fail(
        LEDGER_FILE,
        1,
        `${LEDGER_FILE} is missing, but the anchor ${anchor} says snapshots were written`,
        0,
        null,
      )
    return { ok: true, snapshots: 0, head: null }
  }
  const { entries, problems } = parseLedger(source.ledgerText)
  const first = problems[0]
  if (first)
    return fail(
      LEDGER_FILE,
      first.line,
      `line ${first.line} is malformed: ${first.message}`,
      0,
      null,
    )

  const lineOf = (index: number) => {
    // Entries skip blank lines; recover the real line number for messages.
    let seen = -1
    const lines = source.ledgerText?.split('\n') ?? []
    for (let i = 0; i < lines.length; i++)
      if ((lines[i] ?? '').trim() !== '' && ++seen === index) return i + 1
    return index + 1
  }
  let previous: LedgerEntry | undefined
  const listed = new Set<string>()
  for (const [index, entry] of entries.entries()) {
    const line = lineOf(index)
    const done = index
    const head = previous?.sha256 ?? null
    if (listed.has(entry.path))
      return fail(LEDGER_FILE, line, `${entry.path} is listed twice`, done, head)
    listed.add(entry.path)
    const expectedPrev = previous?.sha256 ?? null
    if (entry.prev !== expectedPrev) {
      return fail(
        LEDGER_FILE,
        line,
        `${entry.path}: prev is ${entry.prev ?? 'null'} but the entry before it has ${expectedPrev ?? 'no hash (this should be the first)'}; a snapshot was removed, inserted or reordered`,
        done,
        head,
      )
    }
    if (previous && entry.at < previous.at)
      return fail(
        LEDGER_FILE,
        line,
        `${entry.path} is dated ${entry.at}, before the entry above it (${previous.at}); the ledger was reordered`,
        done,
        head,
      )
    const bytes = source.readSnapshot(entry.path)
    if (bytes === undefined)
      return fail(
        entry.path,
        1,
        `${entry.path} is listed in the ledger (line ${line}) but does not exist; it was removed`,
        done,
        head,
      )
    const actual = source.sha256(bytes)
    if (actual !== entry.sha256)
      return fail(
        entry.path,
        1,
        `${entry.path} has hash ${actual}, but the ledger (line ${line}) recorded ${entry.sha256}; the snapshot was edited`,
        done,
        head,
      )
    let inner: unknown
    try {
      inner = JSON.parse(new TextDecoder().decode(bytes))
    } catch {
      return fail(entry.path, 1, `${entry.path} is not JSON`, done, head)
    }
    const innerPrev = (inner as { prev?: unknown } | null)?.prev ?? null
    if (innerPrev !== expectedPrev)
      return fail(
        entry.path,
        1,
        `${entry.path} says prev ${String(innerPrev)} but the snapshot before it hashes to ${expectedPrev ?? 'nothing (it should be the first)'}`,
        done,
        head,
      )
    previous = entry
  }
  const head = previous?.sha256 ?? null
  const stray = source.snapshotFiles.filter((file) => !listed.has(file)).sort()[0]
  if (stray)
    return fail(
      stray,
      1,
      `${stray} is not in ${LEDGER_FILE}; a snapshot was inserted outside keyward`,
      entries.length,
      head,
    )
  if (anchor && anchor !== head) {
    const at = entries.findIndex((e) => e.sha256 === anchor)
    if (at < 0) {
      const message = `the anchor ${anchor} is not in the ledger, whose newest snapshot is ${head ?? 'none'}; the newest snapshots were removed or history was rewritten`
      return fail(
        LEDGER_FILE,
        lineOf(Math.max(entries.length - 1, 0)),
        message,
        entries.length,
        head,
      )
    }
    // Runs after the one that wrote the anchor extend an intact chain: nothing was lost.
    return {
      ok: true,
      snapshots: entries.length,
      head,
      note: `the chain continues ${entries.length - at - 1} snapshot(s) past the anchor`,
    }
  }
  return { ok: true, snapshots: entries.length, head }
}

/** The bytes, path and ledger entry of the next snapshot after `prev` (the writer's side). */
export function nextSnapshot(
  body: Record<string, unknown>,
  prev: string | null,
  at: Date,
  sha256: Sha256,
  encode: (value: unknown) => string,
): { path: string; bytes: Uint8Array; entry: LedgerEntry } {
  const bytes = new TextEncoder().encode(encode({ ...body, prev }))
  const path = snapshotPath(at)
  return { path, bytes, entry: { path, sha256: sha256(bytes), prev, at: at.toISOString() } }
}

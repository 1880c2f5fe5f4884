import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { canonicalJson } from '../../src/ledger/canonical-json.js'
import {
  ledgerLine,
  nextSnapshot,
  snapshotPath,
  verifyChain,
  type ChainSource,
  type LedgerEntry,
} from '../../src/ledger/chain.js'

const sha256 = (bytes: Uint8Array) => 'sha256:' + createHash('sha256').update(bytes).digest('hex')

interface Repo {
  files: Map<string, Uint8Array>
  entries: LedgerEntry[]
}

/** A ledger of `n` hourly snapshots, built with the writer's own function. */
function buildRepo(n: number): Repo {
  const files = new Map<string, Uint8Array>()
  const entries: LedgerEntry[] = []
  let prev: string | null = null
  for (let i = 0; i < n; i++) {
    const at = new Date(Date.UTC(2026, 10, 27, i))
    const snap = nextSnapshot({ run: i, gaps: [] }, prev, at, sha256, canonicalJson)
    files.set(snap.path, snap.bytes)
    entries.push(snap.entry)
    prev = snap.entry.sha256
  }
  return { files, entries }
}

const source = (repo: Repo, ledgerText = repo.entries.map(ledgerLine).join('')): ChainSource => ({
  ledgerText,
  snapshotFiles: [...repo.files.keys()],
  readSnapshot: (path) => repo.files.get(path),
  sha256,
})

describe('canonicalJson', () => {
  it('sorts keys at every level, drops whitespace and ends with one newline', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}\n',
    )
  })
  it('refuses values JSON cannot hold exactly', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/NaN \(at \/a\)/)
  })
})

describe('snapshotPath', () => {
  it('is audit/snapshots/YYYY/MM/DD/HHMMSSZ.json in UTC', () => {
    expect(snapshotPath(new Date('2026-11-27T06:00:09.500Z'))).toBe(
      'audit/snapshots/2026/11/27/060009Z.json',
    )
  })
})

describe('verifyChain', () => {
  it('accepts an intact chain and reports its head', () => {
    const repo = buildRepo(4)
    expect(verifyChain(source(repo))).toEqual({
      ok: true,
      snapshots: 4,
      head: repo.entries[3]?.sha256,
    })
  })

  it('names an edited snapshot', () => {
    const repo = buildRepo(4)
    const path = repo.entries[1]?.path ?? ''
    repo.files.set(
      path,
      new TextEncoder().encode(
        new TextDecoder().decode(repo.files.get(path)).replace('"run":1', '"run":9'),
      ),
    )
    expect(verifyChain(source(repo)).broken).toEqual({
      file: path,
      line: 1,
      message: expect.stringContaining('the snapshot was edited'),
    })
  })

  it('names a removed snapshot file', () => {
    const repo = buildRepo(4)
    const path = repo.entries[2]?.path ?? ''
    repo.files.delete(path)
    expect(verifyChain(source(repo)).broken?.message).toContain('does not exist; it was removed')
  })

  it('names the link after a removed ledger line and snapshot', () => {
    const repo = buildRepo(4)
    const [gone] = repo.entries.splice(1, 1)
    repo.files.delete(gone?.path ?? '')
    expect(verifyChain(source(repo)).broken).toEqual({
      file: 'audit/ledger.jsonl',
      line: 2,
      message: expect.stringContaining('removed, inserted or reordered'),
    })
  })

  it('names reordered entries', () => {
    const repo = buildRepo(4)
    const [a, b] = [repo.entries[1], repo.entries[2]]
    if (a && b) [repo.entries[1], repo.entries[2]] = [b, a]
    expect(verifyChain(source(repo)).broken?.line).toBe(2)
  })

  it('names a snapshot inserted outside the ledger', () => {
    const repo = buildRepo(3)
    repo.files.set(
      'audit/snapshots/2026/11/27/235959Z.json',
      new TextEncoder().encode('{"prev":null}\n'),
    )
    expect(verifyChain(source(repo)).broken?.message).toContain('not in audit/ledger.jsonl')
  })

  it('detects a consistently rewritten newest snapshot only through the anchor', () => {
    const repo = buildRepo(3)
    const anchor = repo.entries[2]?.sha256
    // Drop the newest snapshot and its line: the rest of the chain is intact.
    const [last] = repo.entries.splice(2, 1)
    repo.files.delete(last?.path ?? '')
    expect(verifyChain(source(repo)).ok).toBe(true)
    const report = verifyChain(source(repo), anchor)
    expect(report.ok).toBe(false)
    expect(report.broken?.message).toContain('the newest snapshots were removed')
  })

  it('accepts a chain that continues past an older anchor', () => {
    const repo = buildRepo(3)
    const report = verifyChain(source(repo), repo.entries[1]?.sha256)
    expect(report).toEqual(
      expect.objectContaining({
        ok: true,
        note: expect.stringContaining('1 snapshot(s) past the anchor'),
      }),
    )
  })

  it('names a malformed ledger line', () => {
    const repo = buildRepo(2)
    const text = repo.entries.map(ledgerLine).join('') + '{"path":1}\n'
    expect(verifyChain(source(repo, text)).broken).toEqual({
      file: 'audit/ledger.jsonl',
      line: 3,
      message: expect.stringContaining('malformed'),
    })
  })
})

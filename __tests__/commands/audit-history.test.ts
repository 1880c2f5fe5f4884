import { describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { carryForward, emptyUsageDays, toUsageDaysJson } from '../../src/analysis/usage-days.js'
import { formatUsageDays } from '../../src/commands/audit-state.js'
import { FreshBuckets } from '../../src/analysis/fetch-window.js'
import {
  HISTORY_DAYS,
  readHistory,
  UNCHANGED,
  unlessRepeated,
  USAGE_DAYS_DIGEST_FIELD,
  usageDaysDigest,
  type HistoryOptions,
} from '../../src/commands/audit-history.js'
import type { LedgerEntry } from '../../src/ledger/chain.js'
import type { UsageRecord } from '../../src/records.js'
import { usage } from '../../test/fakes/detector-context.js'
import { memoryForge } from '../../test/fakes/memory-forge.js'
import { captureLog, type LogLine } from '../../test/fakes/audit-harness.js'

/**
 * readHistory: with the carried days of state.json it reads only the snapshots after them, and
 * it reads them all again whenever those days cannot be trusted or cannot serve this run.
 */

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS
const NOW = new Date('2026-12-15T12:05:00Z')
const iso = (ms: number) => new Date(ms).toISOString()

/** Daily snapshots over 20 days, each with its day's usage (two hours of it). */
function ledger(): { entries: LedgerEntry[]; texts: Map<string, string>; usage: UsageRecord[] } {
  const entries: LedgerEntry[] = []
  const texts = new Map<string, string>()
  const all: UsageRecord[] = []
  for (let d = 20; d >= 1; d--) {
    const at = Date.parse('2026-12-15T12:00:00Z') - d * DAY_MS
    const records = [usage(iso(at - 3 * HOUR_MS)), usage(iso(at - 2 * HOUR_MS), { costUsd: d })]
    all.push(...records)
    const path = `audit/snapshots/${iso(at).slice(0, 10)}.json`
    entries.push({
      path,
      sha256: `sha256:${d}`,
      prev: d === 20 ? null : `sha256:${d + 1}`,
      at: iso(at),
    })
    texts.set(path, JSON.stringify({ providers: { openai: { usage: records, events: [] } } }))
  }
  return { entries, texts, usage: all }
}

/** State as a run a day ago left it: days before `through` carried, digest in the last snapshot. */
function carriedState(through: string) {
  const { entries, texts, usage: all } = ledger()
  const from = iso(NOW.getTime() - HISTORY_DAYS * DAY_MS).slice(0, 10)
  const carry = carryForward({
    base: emptyUsageDays(from),
    history: all,
    fresh: [],
    snapshots: [],
    freshEvents: [],
    from,
    through,
  }).carry
  if (!carry) throw new Error('no carry')
  const text = formatUsageDays(toUsageDaysJson(carry))
  const holder = entries.at(-1) as LedgerEntry
  const snapshot = JSON.parse(texts.get(holder.path) ?? '{}') as Record<string, unknown>
  texts.set(
    holder.path,
    JSON.stringify({ ...snapshot, [USAGE_DAYS_DIGEST_FIELD]: usageDaysDigest(text) }),
  )
  return { entries, texts, usage: all, carried: { text, snapshot: holder.sha256 } }
}

async function read(
  setup: ReturnType<typeof carriedState>,
  options: Partial<HistoryOptions> = {},
): Promise<{ reads: string[]; lines: LogLine[]; result: Awaited<ReturnType<typeof readHistory>> }> {
  const reads: string[] = []
  const lines: LogLine[] = []
  const { forge } = memoryForge()
  const result = await readHistory(
    forge,
    async (path) => {
      reads.push(path)
      const text = setup.texts.get(path)
      return text === undefined ? undefined : new TextEncoder().encode(text)
    },
    setup.entries,
    {
      now: NOW,
      windowStart: new Date(NOW.getTime() - 7 * DAY_MS),
      freshFirstStart: iso(NOW.getTime() - 25 * HOUR_MS),
      carried: setup.carried,
      ...options,
    },
    captureLog(lines),
  )
  return { reads, lines, result }
}

describe('usageDaysDigest', () => {
  it('is the SHA-256 of the text in UTF-8, ASCII or not', () => {
    const sha = (text: string) =>
      `sha256:${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`
    for (const text of ['{"keys":{}}', '{"keys":{"clé":1}}', '{"keys":{"\u{1F511}":1}}', ''])
      expect(usageDaysDigest(text)).toBe(sha(text))
    // Latin-1 alone would hash "ā" (U+0101) as the byte 0x01: the digest must tell them apart.
    expect(usageDaysDigest('"\u0101"')).not.toBe(usageDaysDigest('"\u0001"'))
  })
})

describe('readHistory', () => {
  it('reads only the snapshots written after the carried days', async () => {
    const setup = carriedState('2026-12-08')
    const { reads, result } = await read(setup)
    expect(result.carried).toBe(true)
    // The snapshots of 8 December (12:00) to 14 December.
    expect(reads).toEqual(setup.entries.slice(-7).map((e) => e.path))
    expect(result.usage.every((u) => u.start >= '2026-12-08')).toBe(true)
  })

  it('leaves out the stored records of buckets read again, noting which of those changed', async () => {
    // Arrange: this run reads again the last two snapshots' hours; one bucket's cost changed.
    const setup = carriedState('2026-12-08')
    const stored = setup.usage.slice(-4)
    const fresh = stored.map((r, i) => (i === 1 ? { ...r, costUsd: 99 } : { ...r }))
    const buckets = new FreshBuckets(fresh)

    // Act
    const { result } = await read(setup, { fresh: buckets })
    const all = await read(setup)

    // Assert
    expect(result.usage).toEqual(all.result.usage.slice(0, -4))
    expect(buckets.changed(fresh)).toEqual([fresh[1]])
    const againstAll = new FreshBuckets(fresh)
    for (const r of all.result.usage) againstAll.meet(r)
    expect(buckets.changed(fresh)).toEqual(againstAll.changed(fresh))
  })

  it('reads a snapshot saved with a byte-order mark as one without', async () => {
    const setup = carriedState('2026-12-08')
    const plain = await read(setup, { carried: undefined })
    const last = setup.entries.at(-1) as LedgerEntry
    setup.texts.set(last.path, `\uFEFF${setup.texts.get(last.path) ?? ''}`)

    const marked = await read(setup, { carried: undefined })

    expect(marked.lines.filter((l) => l.level === 'warning')).toEqual([])
    expect(marked.result.usage).toEqual(plain.result.usage)
    expect(marked.result.usage.length).toBeGreaterThan(0)
  })

  it('reads everything again, with a warning, when the carried days do not match their digest', async () => {
    const setup = carriedState('2026-12-08')
    // One day's cost changed by a digit, the text still valid JSON of the same form.
    const edited = setup.carried.text.replace(
      /\[(\d)/,
      (_, digit: string) => `[${(Number(digit) + 1) % 10}`,
    )
    expect(edited).not.toBe(setup.carried.text)
    const { reads, lines, result } = await read({
      ...setup,
      carried: { ...setup.carried, text: edited },
    })
    expect(result.carried).toBe(false)
    expect(reads.length).toBe(7 + setup.entries.length)
    expect(
      lines
        .filter((l) => l.level === 'warning')
        .map((l) => l.message)
        .join('\n'),
    ).toMatch(/do not match the digest/)
  })

  it.each([
    [
      'the window starts before the carried days end',
      { windowStart: new Date('2026-12-07T10:00:00Z') },
    ],
    ['this run read usage of a carried day', { freshFirstStart: '2026-12-07T23:00:00.000Z' }],
  ])('reads everything again when %s', async (_why, options) => {
    const { reads, result } = await read(carriedState('2026-12-08'), options)
    expect(result.carried).toBe(false)
    expect(reads.length).toBe(20)
  })

  it('reads everything again when a snapshot after the carried days adds to one of them', async () => {
    const setup = carriedState('2026-12-08')
    const late = {
      path: 'audit/snapshots/late.json',
      sha256: 'sha256:late',
      prev: 'sha256:1',
      at: iso(NOW.getTime() - HOUR_MS),
    }
    setup.entries.push(late)
    setup.texts.set(
      late.path,
      JSON.stringify({ providers: { openai: { usage: [usage('2026-12-01T10:00:00.000Z')] } } }),
    )
    const { result, lines } = await read(setup)
    expect(result.carried).toBe(false)
    expect(lines.map((l) => l.message).join('\n')).toMatch(/holds usage of 2026-12-01/)
  })

  it('reads everything when the carried days name a snapshot the ledger does not list', async () => {
    const setup = carriedState('2026-12-08')
    const { result } = await read({
      ...setup,
      carried: { ...setup.carried, snapshot: 'sha256:gone' },
    })
    expect(result.carried).toBe(false)
  })
})

describe('unlessRepeated (listings written once a day)', () => {
  const listing = [{ providerKeyId: 'a', status: 'active', owner: undefined }]
  const same = [{ status: 'active', providerKeyId: 'a' }]
  const earlier = (iso: string, value: unknown) => ({ atMs: Date.parse(iso), value })

  it.each([
    ['the same listing earlier the same UTC day', earlier('2026-12-15T00:30:00Z', same), true],
    ['the same listing the day before', earlier('2026-12-14T23:59:00Z', same), false],
    [
      'a listing that differs',
      earlier('2026-12-15T11:00:00Z', [{ providerKeyId: 'a', status: 'disabled' }]),
      false,
    ],
    ['no listing yet', undefined, false],
  ])('%s: %s', (_what, latest, unchanged) => {
    expect(unlessRepeated(listing, latest, NOW)).toBe(unchanged ? UNCHANGED : listing)
  })
})

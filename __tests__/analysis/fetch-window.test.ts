import { describe, expect, it } from '@jest/globals'
import {
  fetchWindow,
  FreshBuckets,
  mergeEvents,
  mergeUsage,
  mergeUsageByKey,
  nextWatermark,
  usageBucketKey,
} from '../../src/analysis/fetch-window.js'
import { canonicalJson } from '../../src/ledger/canonical-json.js'
import type { UsageRecord } from '../../src/records.js'

const NOW = new Date('2026-11-27T12:34:56Z')

/** The records of `fresh` that are new or changed against `known`, as an audit finds them. */
function changedUsage(known: readonly UsageRecord[], fresh: readonly UsageRecord[]) {
  const buckets = new FreshBuckets(fresh)
  for (const r of known) buckets.meet(r)
  return buckets.changed(fresh)
}

const record = (
  start: string,
  input: number,
  overrides: Partial<UsageRecord> = {},
): UsageRecord => ({
  provider: 'openai',
  providerKeyId: 'key_a',
  start,
  end: new Date(Date.parse(start) + 3_600_000).toISOString(),
  model: 'gpt-4o-mini',
  operation: 'completions',
  requests: 1,
  inputTokens: input,
  outputTokens: 0,
  cachedTokens: 0,
  costUsd: undefined,
  costSource: 'none',
  ...overrides,
})

describe('fetch window', () => {
  it('backfills 35 days on a first run', () => {
    expect(fetchWindow(undefined, NOW)).toEqual({
      since: new Date('2026-10-23T12:00:00Z'),
      until: new Date('2026-11-27T12:00:00Z'),
      backfill: true,
    })
    expect(fetchWindow(undefined, NOW, { backfillDays: 7 }).since).toEqual(
      new Date('2026-11-20T12:00:00Z'),
    )
  })

  it('resumes from the watermark with an overlap, bounded by the backfill', () => {
    expect(fetchWindow('2026-11-27T06:00:00.000Z', NOW)).toEqual({
      since: new Date('2026-11-26T06:00:00Z'),
      until: new Date('2026-11-27T12:00:00Z'),
      backfill: false,
    })
    expect(fetchWindow('2020-01-01T00:00:00Z', NOW).since).toEqual(new Date('2026-10-23T12:00:00Z'))
    expect(fetchWindow('not a date', NOW).backfill).toBe(true)
  })

  it('keeps the watermark when the read left a gap', () => {
    const window = fetchWindow('2026-11-27T06:00:00Z', NOW)
    expect(nextWatermark('2026-11-27T06:00:00Z', window, true)).toBe('2026-11-27T06:00:00Z')
    expect(nextWatermark('2026-11-27T06:00:00Z', window, false)).toBe('2026-11-27T12:00:00.000Z')
  })

  it('never double counts an overlapping re-fetch: the latest read of a bucket wins', () => {
    const first = [record('2026-11-27T10:00:00.000Z', 100), record('2026-11-27T11:00:00.000Z', 40)]
    const second = [record('2026-11-27T11:00:00.000Z', 60), record('2026-11-27T12:00:00.000Z', 5)]

    const merged = mergeUsage(first, second)

    expect(merged.map((r) => r.inputTokens)).toEqual([100, 60, 5])
    expect(mergeUsage(merged, second)).toEqual(merged)
    // Another model in the same hour is another bucket.
    expect(
      mergeUsage(first, [record('2026-11-27T11:00:00.000Z', 1, { model: 'gpt-4o' })]),
    ).toHaveLength(3)
  })

  it('deduplicates audit events by id', () => {
    const event = {
      provider: 'openai',
      eventId: 'e1',
      type: 't',
      at: '2026-11-27T10:00:00Z',
      actor: undefined,
      ip: undefined,
      userAgent: undefined,
      providerKeyId: undefined,
    }
    expect(
      mergeEvents([event], [event, { ...event, eventId: 'e0', at: '2026-11-27T09:00:00Z' }]).map(
        (e) => e.eventId,
      ),
    ).toEqual(['e0', 'e1'])
  })
})

describe('mergeUsageByKey', () => {
  /** A known read and a fresh one as audits see them: mostly in time order, but not all. */
  function reads(seed: number): [UsageRecord[], UsageRecord[]] {
    let state = seed
    const random = () => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
      return state / 2 ** 32
    }
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
    const at = (hour: number) => new Date(Date.UTC(2026, 10, 20) + hour * 3_600_000).toISOString()
    const all: UsageRecord[] = []
    for (let hour = 0; hour < 72; hour++) {
      const here: UsageRecord[] = []
      for (const providerKeyId of ['key_b', 'key_a', undefined, 'key_c'])
        if (random() < 0.6)
          for (const model of ['gpt-4o-mini', 'gpt-4o', 'o1', undefined])
            if (random() < 0.4)
              here.push(record(at(hour), all.length + here.length, { providerKeyId, model }))
      // Within an hour in any order; now and then a bucket of another width, another operation
      // or project, a re-read of a recent hour (which replaces it) or a provider of its own.
      here.sort(() => random() - 0.5)
      if (random() < 0.1) here.push(record(at(hour), -1, { end: at(hour + 24) }))
      if (random() < 0.1) here.push(record(at(hour), -2, { operation: 'embeddings' }))
      if (random() < 0.1) here.push(record(at(hour), -3, { project: pick(['proj_b', 'proj_a']) }))
      if (random() < 0.2 && hour > 3) {
        const back = at(hour - 1 - Math.floor(random() * 3))
        here.push(record(back, all.length + here.length, { model: pick(['gpt-4o', 'o1']) }))
      }
      if (random() < 0.05) here.push(record(at(hour), -4, { provider: 'anthropic' }))
      for (const r of here) all.push({ ...r, requests: all.length })
    }
    const cut = Math.floor(all.length * 0.6)
    return [all.slice(0, cut), all.slice(cut - 40)]
  }

  /** mergeUsage, each key's records in time order (a stable sort), from `first` on. */
  function expected(known: UsageRecord[], fresh: UsageRecord[], first: string | undefined) {
    const merged = mergeUsage(known, fresh)
      .filter((r) => r.providerKeyId !== undefined && (first === undefined || r.start >= first))
      .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
    const out = new Map<string, Map<string, UsageRecord[]>>()
    for (const r of merged) {
      const byKey = out.get(r.provider) ?? new Map<string, UsageRecord[]>()
      out.set(r.provider, byKey)
      byKey.set(r.providerKeyId as string, [...(byKey.get(r.providerKeyId as string) ?? []), r])
    }
    return [...out.keys()]
      .sort()
      .map((p) => [p, [...(out.get(p)?.keys() ?? [])].sort().map((k) => [k, out.get(p)?.get(k)])])
  }

  it.each([1, 2, 3, 4, 5])(
    'FreshBuckets keeps the fresh records a bucket-key comparison keeps (seed %d)',
    (seed) => {
      // Arrange: the known read as snapshots give it back (canonical JSON, a few records twice
      // with the later copy changed), and fresh records of which some changed.
      const [known, fresh] = reads(seed)
      const stored = known.map((r) => JSON.parse(canonicalJson(r)) as UsageRecord)
      for (let i = 0; i < stored.length; i += 17)
        stored.push({ ...(stored[i] as UsageRecord), outputTokens: 7 })
      const read = fresh.map((r, i) => (i % 5 === 0 ? { ...r, inputTokens: r.inputTokens + 1 } : r))
      // The comparison the audit made before: one key string per record, canonical JSON.
      const latest = new Map(stored.map((r) => [usageBucketKey(r), r]))
      const reference = read.filter((r) => {
        const before = latest.get(usageBucketKey(r))
        return before === undefined || canonicalJson(before) !== canonicalJson(r)
      })

      // Act
      const changed = changedUsage(stored, read)

      // Assert
      expect(changed).toEqual(reference)
      expect(changed.length).toBeGreaterThan(0)
      expect(changed.length).toBeLessThan(read.length)
    },
  )

  const listed = (merged: Map<string, Map<string, UsageRecord[]>>) =>
    [...merged].map(([p, byKey]) => [p, [...byKey]])

  it.each([1, 2, 3, 4, 5])(
    'gives each key the records of mergeUsage in time order (seed %d)',
    (seed) => {
      const [known, fresh] = reads(seed)
      const first = '2026-11-21T05:00:00.000Z'

      expect(listed(mergeUsageByKey(known, fresh))).toEqual(expected(known, fresh, undefined))
      expect(listed(mergeUsageByKey(known, fresh, first))).toEqual(expected(known, fresh, first))
      expect(listed(mergeUsageByKey([], [...known, ...fresh], first))).toEqual(
        expected(known, fresh, first),
      )
    },
  )
})

describe('FreshBuckets against history read back from snapshots', () => {
  it('treats a record with the same content in another key order as unchanged', async () => {
    const { canonicalJson } = await import('../../src/ledger/canonical-json.js')
    const fresh = {
      provider: 'openai',
      providerKeyId: 'key_a',
      start: '2026-11-27T10:00:00.000Z',
      end: '2026-11-27T11:00:00.000Z',
      model: 'gpt-4o-mini',
      operation: 'completions',
      requests: 3,
      inputTokens: 10,
      outputTokens: 5,
      cachedTokens: 0,
      costUsd: undefined,
      costSource: 'none' as const,
    }
    // A snapshot stores canonical JSON: keys sorted, undefined fields dropped.
    const fromSnapshot = JSON.parse(canonicalJson(fresh)) as typeof fresh
    expect(changedUsage([fromSnapshot], [fresh])).toEqual([])
    expect(changedUsage([fromSnapshot], [{ ...fresh, requests: 4 }])).toHaveLength(1)
  })
})

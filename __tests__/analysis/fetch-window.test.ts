import { describe, expect, it } from '@jest/globals'
import {
  fetchWindow,
  mergeEvents,
  mergeUsage,
  nextWatermark,
} from '../../src/analysis/fetch-window.js'
import type { UsageRecord } from '../../src/records.js'

const NOW = new Date('2026-11-27T12:34:56Z')

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

describe('changedUsage against history read back from snapshots', () => {
  it('treats a record with the same content in another key order as unchanged', async () => {
    const { changedUsage } = await import('../../src/analysis/fetch-window.js')
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

import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'
import type { Inventory, KeyEntry } from '../../src/inventory/types.js'
import type { Gap, ProviderKey, UsageRecord } from '../../src/records.js'
import {
  computeReview,
  describeConfigCommit,
  isoWeek,
  periodLabel,
  type LedgerSnapshot,
  type ReviewInput,
  type SnapshotBody,
  type SnapshotFinding,
} from '../../src/report/review.js'
import {
  renderReviewJson,
  renderReviewMarkdown,
  reviewLabelOf,
} from '../../src/report/review-markdown.js'
import { generateInventory } from '../../test/fakes/inventory-generator.js'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const WEEK = 7 * DAY
const NOW = '2026-11-27T12:00:00Z'

function inventory(overrides: Partial<Inventory> = {}): Inventory {
  return {
    version: 1,
    defaults: { timezone: 'UTC', rotate_after: '90d' },
    providers: { openai: { admin_key: 'keys/admin/openai.sops.yaml' } },
    workflows: {
      video: {
        label: 'Video',
        owner: '@jeff',
        timezone: 'America/New_York',
        active_hours: '07:00-22:00',
      },
    },
    keys: {
      'video-openai': {
        label: 'Video - OpenAI',
        workflow: 'video',
        provider: 'openai',
        secret: 'keys/video-openai.sops.yaml',
        created: '2026-11-01',
        provider_key_id: 'key_video',
      },
    },
    ...overrides,
  }
}

function usage(
  start: number,
  options: Partial<UsageRecord> & { hours?: number } = {},
): UsageRecord {
  const { hours = 1, ...rest } = options
  return {
    provider: 'openai',
    providerKeyId: 'key_video',
    start: new Date(start).toISOString(),
    end: new Date(start + hours * HOUR).toISOString(),
    model: 'gpt-4o-mini',
    operation: 'completions',
    requests: 1,
    inputTokens: 100,
    outputTokens: 0,
    cachedTokens: 0,
    costUsd: 1,
    costSource: 'estimated',
    ...rest,
  }
}

function snapshot(
  at: string,
  options: {
    since?: string
    usage?: UsageRecord[]
    keys?: ProviderKey[] | null | 'unchanged'
    matches?: SnapshotBody['matches']
    gaps?: Gap[]
    findings?: SnapshotFinding[]
    unread?: boolean
  } = {},
): LedgerSnapshot {
  return {
    path: `audit/snapshots/${at}.json`,
    sha256: `sha256:${'0'.repeat(64)}`,
    at,
    body: {
      at,
      providers: options.unread
        ? {}
        : {
            openai: {
              window: { since: options.since ?? at, until: at },
              keys: options.keys === undefined ? null : options.keys,
              usage: options.usage ?? [],
            },
          },
      gaps: options.gaps ?? [],
      matches: options.matches ?? {},
      findings: options.findings ?? [],
    },
  }
}

function review(overrides: Partial<ReviewInput> & Pick<ReviewInput, 'snapshots'>) {
  return computeReview({
    inventory: inventory(),
    ledger: { head: null, snapshots: overrides.snapshots.length },
    changes: [],
    now: new Date(NOW),
    periodMs: WEEK,
    ...overrides,
  })
}

const providerKey = (id: string, status: ProviderKey['status'] = 'active'): ProviderKey => ({
  provider: 'openai',
  providerKeyId: id,
  hint: undefined,
  name: id,
  created: undefined,
  lastUsed: undefined,
  status,
  project: undefined,
  owner: undefined,
})

const finding = (
  rule: string,
  fingerprint: string,
  key: string | null = 'video-openai',
): SnapshotFinding => ({
  rule,
  severity: rule === 'spend-spike' ? 'error' : 'warning',
  key,
  subject: key ?? 'key_other',
  period: '-',
  fingerprint,
  numbers: { value: 1 },
})

describe('period sums and the baseline', () => {
  const end = Date.parse(NOW)
  /** $ per period, newest first: this week 30, then 10, 12, 8, 14 (median 11). */
  const perPeriod = [30, 10, 12, 8, 14]
  const records = perPeriod.flatMap((usd, i) =>
    Array.from({ length: usd }, (_, n) => usage(end - i * WEEK - (n + 1) * 3 * HOUR)),
  )

  it('sums the period and divides by the median of the four periods before it', () => {
    const r = review({
      snapshots: [snapshot(NOW, { since: new Date(end - 40 * DAY).toISOString(), usage: records })],
    })

    const key = r.keys.find((k) => k.id === 'video-openai')
    expect(key).toMatchObject({
      spendUsd: 30,
      tokens: 3_000,
      requests: 30,
      baselineSpendUsd: 11,
      baselineTokens: 1_100,
      spendRatio: Number((30 / 11).toFixed(3)),
    })
    expect(r.workflows[0]).toMatchObject({ id: 'video', spendUsd: 30, baselineSpendUsd: 11 })
    expect(r.totals.spendUsd).toBe(30)
    expect(r.baselinePeriods).toBe(4)
  })

  it('counts a record whose middle is on the period start in the period, once across overlapping snapshots', () => {
    const boundary = usage(end - WEEK - HOUR / 2) // middle exactly at the start
    const before = usage(end - WEEK - HOUR) // middle half an hour before
    const r = review({
      snapshots: [
        snapshot('2026-11-21T00:00:00Z', { since: '2026-10-01T00:00:00Z', usage: [boundary] }),
        snapshot('2026-11-22T00:00:00Z', { usage: [boundary, before] }),
      ],
    })

    expect(r.keys[0]?.spendUsd).toBe(1)
  })

  it('uses only baseline periods the ledger covers, and gives no ratio without one', () => {
    const covered = review({
      snapshots: [snapshot(NOW, { since: new Date(end - 15 * DAY).toISOString(), usage: records })],
    })
    const fresh = review({
      snapshots: [snapshot(NOW, { since: new Date(end - 3 * DAY).toISOString(), usage: records })],
    })

    expect(covered.baselinePeriods).toBe(1)
    expect(covered.keys[0]?.baselineSpendUsd).toBe(10)
    expect(fresh.baselinePeriods).toBe(0)
    expect(fresh.keys[0]).toMatchObject({ baselineSpendUsd: null, spendRatio: null })
  })

  it('keeps unknown provider keys and organization-level cost lines apart', () => {
    const r = review({
      snapshots: [
        snapshot(NOW, {
          usage: [
            usage(end - 2 * HOUR, { providerKeyId: 'key_unknown', costUsd: 2.5 }),
            usage(end - 3 * HOUR, { providerKeyId: undefined, costUsd: 0.5, operation: 'cost' }),
            usage(end - 4 * HOUR),
          ],
        }),
      ],
    })

    expect(r.unattributed).toEqual([
      {
        provider: 'openai',
        spendUsd: 2.5,
        tokens: 100,
        providerKeyIds: ['key_unknown'],
        organizationCostUsd: 0.5,
      },
    ])
    expect(r.keys[0]?.spendUsd).toBe(1)
    // Organization-level cost lines may repeat the per-key figures: not in the totals.
    expect(r.totals.spendUsd).toBe(3.5)
  })
})

describe('days and hours in the workflow timezone', () => {
  it('charts 30 consecutive days across a month boundary', () => {
    const now = new Date('2026-11-03T12:00:00Z')
    const records = Array.from({ length: 40 }, (_, d) =>
      usage(Date.parse('2026-09-25T15:00:00Z') + d * DAY),
    )
    const r = review({
      now,
      inventory: inventory({
        workflows: { video: { label: 'Video', owner: '@jeff', timezone: 'UTC' } },
      }),
      snapshots: [snapshot(now.toISOString(), { usage: records })],
    })

    const days = r.workflows[0]?.daily ?? []
    expect(days).toHaveLength(30)
    expect(days[0]?.day).toBe('2026-10-05')
    expect(days.at(-1)?.day).toBe('2026-11-03')
    expect(days.map((d) => d.day)).toContain('2026-10-31')
    expect(days.find((d) => d.day === '2026-11-01')?.spendUsd).toBe(1)
    expect(days.at(-1)?.spendUsd).toBe(0) // 15:00 has not come yet on the 3rd
    expect(days.reduce((sum, d) => sum + d.spendUsd, 0)).toBe(29)
  })

  it('gives the day DST ends in New York 25 hours, and counts its repeated hour twice', () => {
    const now = new Date('2026-11-03T12:00:00Z')
    // Every hour from Oct 31 00:00 EDT (04:00Z) to Nov 3 00:00 EST (05:00Z): 73 hours.
    const from = Date.parse('2026-10-31T04:00:00Z')
    const records = Array.from({ length: 73 }, (_, h) => usage(from + h * HOUR))
    const r = review({ now, snapshots: [snapshot(now.toISOString(), { usage: records })] })

    const w = r.workflows[0]
    const byDay = Object.fromEntries((w?.daily ?? []).map((d) => [d.day, d.spendUsd]))
    expect(byDay).toMatchObject({ '2026-10-31': 24, '2026-11-01': 25, '2026-11-02': 24 })
    expect(w?.hours[1]?.tokens).toBe(400) // 01:00 on Oct 31, twice on Nov 1, Nov 2
    expect(w?.hours[0]?.tokens).toBe(300)
    expect(w?.hours.filter((h) => h.active).map((h) => h.hour)).toEqual(
      Array.from({ length: 15 }, (_, i) => i + 7),
    )
    // Outside 07:00–22:00: 0–6 and 22–23 local.
    expect(w?.offHoursTokens).toBe(400 + 8 * 300)
    expect(w?.offHoursShare).toBeCloseTo(2800 / 7300, 4)
  })

  it('leaves daily buckets out of the hour of day', () => {
    const end = Date.parse(NOW)
    const r = review({
      snapshots: [snapshot(NOW, { usage: [usage(end - 2 * DAY, { hours: 24 })] })],
    })

    expect(r.workflows[0]?.spendUsd).toBe(1)
    expect(r.workflows[0]?.hours.every((h) => h.tokens === 0)).toBe(true)
  })
})

describe('keys due for rotation', () => {
  it.each([
    ['2026-09-01', '60d', '2026-10-31', -27],
    ['2026-09-20', '90d', '2026-12-19', 22],
    ['2026-09-28', '90d', '2026-12-27', 30],
    ['2026-09-29', '90d', undefined, undefined],
    ['2026-10-15', '12w', '2027-01-07', 41],
  ])('created %s, rotate_after %s → due %s', (created, rotateAfter, due, daysLeft) => {
    const inv = inventory()
    inv.keys['video-openai'] = {
      ...inv.keys['video-openai']!,
      created,
      rotate_after: rotateAfter,
    }
    const r = review({ inventory: inv, snapshots: [] })

    expect(r.rotation.find((x) => x.key === 'video-openai')?.due).toBe(
      daysLeft !== undefined && daysLeft <= 30 ? due : undefined,
    )
    if (daysLeft !== undefined && daysLeft <= 30) expect(r.rotation[0]?.daysLeft).toBe(daysLeft)
  })
})

describe('period names', () => {
  it.each([
    ['2026-11-27T12:00:00Z', '2026-W48'],
    ['2027-01-01T00:00:00Z', '2026-W53'],
    ['2024-12-30T00:00:00Z', '2025-W01'],
    ['2021-01-03T00:00:00Z', '2020-W53'],
  ])('%s is in ISO week %s', (at, week) => {
    expect(isoWeek(new Date(at))).toBe(week)
  })

  it.each([
    ['2026-11-30T06:00:00Z', '2026-W48'], // Monday morning: last week
    ['2026-12-03T12:00:00Z', '2026-W49'], // Thursday: the week in progress
    ['2026-12-07T00:00:00Z', '2026-W49'],
  ])('a run at %s reviews %s', (at, label) => {
    expect(periodLabel(new Date(at))).toBe(label)
  })
})

describe('findings, provider keys, ingestion', () => {
  const s1 = '2026-11-19T12:00:00Z' // before the period
  const s2 = '2026-11-22T12:00:00Z'
  const s3 = '2026-11-25T12:00:00Z'

  it('lists findings first seen in the period, and conditions a later run no longer found', () => {
    const r = review({
      snapshots: [
        snapshot(s1, { findings: [finding('unmanaged-key', 'aaaa', null)] }),
        snapshot(s2, {
          findings: [
            finding('unmanaged-key', 'aaaa', null),
            finding('spend-spike', 'bbbb'),
            finding('idle-key', 'cccc'),
          ],
        }),
        snapshot(s3, { gaps: [{ provider: 'openai', endpoint: '/x', reason: 'HTTP 500' }] }),
        snapshot('2026-11-26T12:00:00Z'),
      ],
    })

    expect(r.findings.opened.map((f) => f.fingerprint)).toEqual(['bbbb', 'cccc'])
    // aaaa concerns no inventory key: s3 closes it; cccc's provider had a gap in s3.
    expect(r.findings.closed.map((f) => [f.fingerprint, f.closedAt])).toEqual([
      ['aaaa', s3],
      ['cccc', '2026-11-26T12:00:00Z'],
    ])
    expect(r.findings.closed.some((f) => f.fingerprint === 'bbbb')).toBe(false) // an event
  })

  it('compares the key listing before the period with the latest one', () => {
    const r = review({
      snapshots: [
        snapshot(s1, { keys: [providerKey('key_video'), providerKey('key_old')] }),
        snapshot(s2, { keys: null }), // listing failed
        snapshot(s3, {
          keys: [
            providerKey('key_video'),
            providerKey('key_new'),
            providerKey('key_old', 'inactive'),
          ],
        }),
      ],
    })

    expect(r.providerKeys.new.map((k) => [k.providerKeyId, k.key])).toEqual([['key_new', null]])
    expect(r.providerKeys.gone.map((k) => [k.providerKeyId, k.status])).toEqual([
      ['key_old', 'inactive'],
    ])
    expect(r.actions[0]).toContain('key_new')
  })

  it('reads listings and matches written once a day, with "unchanged" in the hours between', () => {
    // Arrange: a key matched only through the snapshots (no provider_key_id in the inventory).
    const plain = inventory()
    const { provider_key_id: _id, ...unpinned } = plain.keys['video-openai'] as KeyEntry
    const matches = { 'video-openai': { provider_key_id: 'key_new', by: 'hint' } }
    const daily = [
      snapshot(s1, { keys: [providerKey('key_video'), providerKey('key_old')], matches }),
      snapshot(s2, { keys: [providerKey('key_video'), providerKey('key_new')], matches }),
      snapshot(s3, {
        keys: [
          providerKey('key_video'),
          providerKey('key_new'),
          providerKey('key_old', 'inactive'),
        ],
        matches,
      }),
    ]
    const hourly = (s: LedgerSnapshot, hours: number) =>
      snapshot(new Date(Date.parse(s.at) + hours * HOUR).toISOString(), {
        keys: 'unchanged',
        matches: 'unchanged',
      })
    const withHours = daily.flatMap((s) => [s, hourly(s, 1), hourly(s, 2)])
    const of = (snapshots: LedgerSnapshot[]) =>
      review({ inventory: { ...plain, keys: { 'video-openai': unpinned } }, snapshots })

    // Act
    const sparse = of(withHours)

    // Assert: the same key changes and owners as from the daily snapshots alone.
    expect(sparse.providerKeys).toEqual(of(daily).providerKeys)
    expect(sparse.providerKeys.new.map((k) => [k.providerKeyId, k.key])).toEqual([
      ['key_new', 'video-openai'],
    ])
  })

  it('counts runs with gaps and the longest stretch without a run', () => {
    const r = review({
      snapshots: [
        snapshot(s2),
        snapshot(s3, { gaps: [{ provider: 'openai', endpoint: '/usage', reason: 'HTTP 503' }] }),
        snapshot('2026-11-26T12:00:00Z', { unread: true }),
      ],
    })

    expect(r.ingestion).toEqual({
      runs: 3,
      longestSilenceHours: 72, // Nov 22 → Nov 25
      providers: [
        {
          provider: 'openai',
          runs: 3,
          runsWithGaps: 2,
          reasons: ['/usage: HTTP 503 (1×)'],
        },
      ],
    })
  })

  it('counts a run at the end of the period in it, and one at its start in the period before', () => {
    const r = review({
      snapshots: [
        snapshot('2026-11-20T12:00:00Z', { findings: [finding('idle-key', 'start')] }),
        snapshot(NOW, { findings: [finding('idle-key', 'start'), finding('budget', 'end')] }),
      ],
    })

    expect(r.ingestion.runs).toBe(1)
    expect(r.findings.opened.map((f) => f.fingerprint)).toEqual(['end'])
  })

  it('always opens with three lines to act on', () => {
    const quiet = review({ snapshots: [snapshot(s2)] })
    const none = review({ snapshots: [] })

    expect(quiet.actions).toHaveLength(3)
    expect(none.actions).toHaveLength(3)
    expect(none.actions[0]).toContain('No audit ran')
  })
})

describe('describeConfigCommit', () => {
  it('names the keys a commit added, removed and changed, and the secret files it rewrote', () => {
    const before = `version: 1
providers: { openai: { admin_key: keys/admin/openai.sops.yaml } }
workflows: { video: { label: Video, owner: "@jeff" } }
keys:
  a: { label: A, workflow: video, provider: openai, secret: keys/a.sops.yaml, created: 2026-01-01 }
  b: { label: B, workflow: video, provider: openai, secret: keys/b.sops.yaml, created: 2026-01-01 }
`
    const after = before
      .replace('  b: { label: B', '  c: { label: C')
      .replace('keys/a.sops.yaml, created: 2026-01-01', 'keys/a.sops.yaml, created: 2026-11-20')
      .replace('owner: "@jeff"', 'owner: "@maria"')

    const change = describeConfigCommit(
      {
        sha: 'f'.repeat(40),
        author: 'Maria',
        email: 'maria@example.com',
        authoredAt: '2026-11-20T09:00:00.000Z',
        subject: 'Rotate a',
        files: ['keyward.yaml', 'keys/a.sops.yaml', 'keys/admin/openai.sops.yaml'],
      },
      { configFile: 'keyward.yaml', before, after, inventory: inventory() },
    )

    expect(change.keys).toEqual([
      { id: 'a', change: 'changed', fields: ['created'] },
      { id: 'b', change: 'removed', fields: [] },
      { id: 'c', change: 'added', fields: [] },
      { id: 'admin:openai', change: 'secret', fields: [] },
    ])
    expect(change.other).toEqual(['workflow video'])
  })
})

describe('size: 1,000 keys × 90 days', () => {
  it('renders an issue body under GitHub limit that links the full report', () => {
    const inv = parse(generateInventory(1_000)) as Inventory
    const now = new Date('2026-12-15T12:00:00Z')
    const end = now.getTime()
    const ids = Object.entries(inv.keys)
    const snapshots: LedgerSnapshot[] = []
    for (let week = 12; week >= 0; week--) {
      const at = end - week * WEEK
      const records: UsageRecord[] = []
      const findings: SnapshotFinding[] = []
      ids.forEach(([id, key], k) => {
        for (let d = 7; d >= 1; d--) {
          const dayStart = Math.floor((at - d * DAY) / DAY) * DAY
          if (week === 0) {
            // The last week hourly, so the hour of day has data.
            for (let h = 0; h < 24; h += 3)
              records.push(
                usage(at - d * DAY + h * HOUR, {
                  provider: key.provider,
                  providerKeyId: key.provider_key_id,
                  costUsd: ((k % 7) + 1) / 8,
                  inputTokens: 1_000 + k,
                }),
              )
          } else
            records.push(
              usage(dayStart, {
                hours: 24,
                provider: key.provider,
                providerKeyId: key.provider_key_id,
                costUsd: (k % 5) + 1,
                inputTokens: 8_000 + k,
              }),
            )
        }
        if (week === 0 && k % 2 === 0)
          findings.push({ ...finding('spend-spike', `f${k}`, id), period: '2026-12-14' })
      })
      snapshots.push({
        path: `audit/snapshots/w${week}.json`,
        sha256: `sha256:${'1'.repeat(64)}`,
        at: new Date(at).toISOString(),
        body: {
          providers: Object.fromEntries(
            Object.keys(inv.providers).map((p) => [
              p,
              {
                window: { since: new Date(at - 8 * DAY).toISOString(), until: '' },
                keys: null,
                usage: records.filter((u) => u.provider === p),
              },
            ]),
          ),
          gaps: [],
          findings,
        },
      })
    }
    const changes = Array.from({ length: 300 }, (_, i) => ({
      sha: `${i}`.padStart(40, 'a'),
      author: `Person ${i}`,
      email: 'p@example.com',
      at: new Date(end - (i + 1) * HOUR).toISOString(),
      subject: `Change key-${i}`,
      files: ['keyward.yaml'],
      keys: [{ id: `key-${i}`, change: 'changed' as const, fields: ['label'] }],
      other: [],
    }))

    const started = performance.now()
    const r = computeReview({
      inventory: inv,
      snapshots,
      ledger: { head: `sha256:${'1'.repeat(64)}`, snapshots: 13 },
      changes,
      now,
      periodMs: WEEK,
    })
    const body = renderReviewMarkdown(r, {
      mode: 'issue',
      links: {
        fullReport: {
          path: 'reports/2026-W51.md',
          url: 'https://x/blob/s/reports/2026-W51.md',
        },
      },
    })
    const full = renderReviewMarkdown(r, { mode: 'full' })
    const json = renderReviewJson(r)
    const elapsed = performance.now() - started
    console.log(
      `review of 1,000 keys × 90 days: ${Math.round(elapsed)} ms; issue body ${body.length} chars, full ${full.length}, JSON ${json.length}`,
    )

    expect(r.keys).toHaveLength(1_000)
    expect(r.keys.find((k) => k.id === 'key-3')?.spendUsd).toBeCloseTo(7 * 8 * (4 / 8), 6)
    expect(r.keys.find((k) => k.id === 'key-3')?.baselineSpendUsd).toBe(7 * 4)
    expect(body.length).toBeLessThan(65_536)
    expect(full.length).toBeGreaterThan(65_536)
    expect(reviewLabelOf(body)).toBe('2026-W51')
    expect(body).toContain('in the [full report](https://x/blob/s/reports/2026-W51.md)')
    expect(body).toContain('```mermaid')
    expect(elapsed).toBeLessThan(10_000)
  })
})

describe('budgets and caps', () => {
  const withSpend = (at: string, monthToDate: number, enforcedBy: 'provider' | 'keyward') => {
    const s = snapshot(at)
    s.body.caps = {
      spend: [
        {
          key: 'video-openai',
          budget_usd_month: 30,
          cap_usd_month: 45,
          month_to_date_usd: monthToDate,
          forecast_usd: monthToDate * 2,
          enforced_by: enforcedBy,
        },
      ],
    }
    return s
  }

  it('shows the newest snapshot’s budget, cap, month to date, forecast and enforcer per key', () => {
    const r = review({
      snapshots: [
        withSpend('2026-11-26T12:00:00Z', 10, 'keyward'),
        withSpend('2026-11-27T11:00:00Z', 20, 'provider'),
      ],
    })

    expect(r.spend).toEqual([
      {
        key: 'video-openai',
        budget: 30,
        cap: 45,
        monthToDate: 20,
        forecast: 40,
        enforcedBy: 'provider',
      },
    ])
    const markdown = renderReviewMarkdown(r, { mode: 'full' })
    expect(markdown).toContain('### Budgets and caps')
    expect(markdown).toContain(
      '| `video-openai` | $30.00 | $45.00 | $20.00 | $40.00 ⚠️ | provider |',
    )
  })

  it('leaves the section out when no snapshot of the period carries it', () => {
    const r = review({ snapshots: [snapshot('2026-11-27T11:00:00Z')] })

    expect(r.spend).toEqual([])
    expect(renderReviewMarkdown(r, { mode: 'full' })).not.toContain('Budgets and caps')
  })
})

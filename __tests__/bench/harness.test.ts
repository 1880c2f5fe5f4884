import { describe, expect, it } from '@jest/globals'
import { growthExponent, measurementOf, ratioOf, summarize } from '../../bench/stats.js'
import {
  findFlags,
  formatNumber,
  formatRatio,
  formatSummary,
  keptNotes,
  NOTES_END,
  NOTES_START,
  renderFlags,
  renderTable,
  type Row,
} from '../../bench/table.js'

const m = (wall: number, cpu?: number) =>
  measurementOf([{ wallMs: wall, ...(cpu === undefined ? {} : { cpuMs: cpu }) }])

describe('summarize', () => {
  it.each([
    [[5], { median: 5, min: 5, max: 5, n: 1 }],
    [[3, 1, 2], { median: 2, min: 1, max: 3, n: 3 }],
    [[4, 1, 3, 2], { median: 2.5, min: 1, max: 4, n: 4 }],
    [[10, 10, 90, 10, 11], { median: 10, min: 10, max: 90, n: 5 }],
  ])('summarizes %j', (values, expected) => {
    expect(summarize(values)).toEqual(expected)
  })

  it('refuses an empty list', () => {
    expect(() => summarize([])).toThrow('no values')
  })

  it('summarizes only the metrics every sample has', () => {
    const measurement = measurementOf([
      { wallMs: 2, cpuMs: 1, rssMb: 50 },
      { wallMs: 4, rssMb: 60 },
    ])
    expect(measurement).toEqual({
      runs: 2,
      wall: { median: 3, min: 2, max: 4, n: 2 },
      rss: { median: 55, min: 50, max: 60, n: 2 },
    })
  })
})

describe('ratios and growth', () => {
  it('divides medians, and has no ratio without the metric or with a zero floor', () => {
    expect(ratioOf(m(30, 20), m(10, 10), 'wall')).toBe(3)
    expect(ratioOf(m(30), m(10, 10), 'cpu')).toBeUndefined()
    expect(ratioOf(m(30, 20), m(0, 0), 'cpu')).toBeUndefined()
  })

  it('gives exponent 1 for linear growth and 2 for quadratic', () => {
    expect(growthExponent({ units: 10, cost: 5 }, { units: 100, cost: 50 })).toBeCloseTo(1)
    expect(growthExponent({ units: 10, cost: 1 }, { units: 100, cost: 100 })).toBeCloseTo(2)
  })

  it.each([
    [0.853, '0.85×'],
    [1, '1.0×'],
    [2.34, '2.3×'],
    [14.4, '14×'],
    [undefined, '—'],
  ])('formats ratio %p as %p', (ratio, text) => {
    expect(formatRatio(ratio)).toBe(text)
  })

  it.each([
    [0.12345, '0.123'],
    [1.234, '1.23'],
    [12.34, '12.3'],
    [123.4, '123'],
    [12345.6, '12,346'],
  ])('formats %p with three significant digits as %p', (value, text) => {
    expect(formatNumber(value)).toBe(text)
  })

  it('shows a summary as median (min–max)', () => {
    expect(formatSummary(summarize([1.5, 1.25, 2]))).toBe('1.50 (1.25–2.00)')
    expect(formatSummary(undefined)).toBe('—')
  })
})

describe('table', () => {
  const rows: Row[] = [
    {
      kind: 'measured',
      scenario: 'validate',
      size: '100 keys',
      measurement: m(12, 10),
      compare: { label: 'yaml', floor: m(6, 4), metric: 'cpu' },
      series: { name: 'validate', units: 100, unit: 'key' },
    },
    { kind: 'floor', label: 'yaml', size: '100 keys', measurement: m(6, 4) },
    {
      kind: 'measured',
      scenario: 'validate',
      size: '1,000 keys',
      measurement: m(300, 300),
      compare: { label: 'yaml', floor: m(200, 200), metric: 'cpu' },
      series: { name: 'validate', units: 1000, unit: 'key' },
    },
    { kind: 'pending', scenario: 'report', sizes: '1,000 keys × 90 days', issue: 8 },
  ]

  it('renders measured, floor and pending rows, bolding ratios above 2×', () => {
    expect(renderTable(rows).split('\n')).toEqual([
      '| scenario | size | runs | wall ms | CPU ms | peak RSS MB | vs floor |',
      '|---|---|--:|--:|--:|--:|---|',
      '| validate | 100 keys | 1 | 12.0 | 10.0 | — | **2.5× CPU** |',
      '| ↳ floor: yaml | 100 keys | 1 | 6.00 | 4.00 | — |  |',
      '| validate | 1,000 keys | 1 | 300 | 300 | — | 1.5× CPU |',
      '| report | 1,000 keys × 90 days | — | — | — | — | not built yet (issue 8) |',
    ])
  })

  it('flags ratios above 2× and growth worse than linear, each with a TODO', () => {
    const flags = findFlags(rows)
    expect(flags.map((f) => [f.kind, f.subject])).toEqual([
      ['ratio', 'validate, 100 keys'],
      ['growth', 'validate, 100 keys → 1,000 keys'],
    ])
    const text = renderFlags(flags)
    expect(text.match(/TODO\(lead\)/g)).toHaveLength(2)
    expect(text).toContain('size^1.48')
  })

  it('has no TODO when nothing is flagged', () => {
    expect(renderFlags(findFlags([rows[1] as Row, rows[3] as Row]))).not.toContain('TODO')
  })
})

describe('notes kept across reruns', () => {
  it('keeps the text between the markers and drops the TODO of a row it explains', () => {
    const previous = `# Benchmarks\n\n${NOTES_START}\nvalidate, 100 keys: ajv compiles the schema once per process.\n${NOTES_END}\n`
    const notes = keptNotes(previous)
    expect(notes).toBe('validate, 100 keys: ajv compiles the schema once per process.')
    const text = renderFlags(
      [{ kind: 'ratio', subject: 'validate, 100 keys', detail: 'CPU 2.5× the floor' }],
      notes,
    )
    expect(text).toBe('- **validate, 100 keys**: CPU 2.5× the floor. Explained under "Notes".')
  })

  it('keeps only the innermost notes when a start marker was pasted into them', () => {
    const pasted = `${NOTES_START}\n| table | row |\n## Notes\n${NOTES_START}\nthe notes\n${NOTES_END}\n`
    expect(keptNotes(`# Benchmarks\n\n${pasted}`)).toBe('the notes')
  })

  it('has no notes without the markers', () => {
    expect(keptNotes('# Benchmarks\n')).toBe('')
    expect(keptNotes(undefined)).toBe('')
  })
})

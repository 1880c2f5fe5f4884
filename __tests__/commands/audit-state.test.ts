import { describe, expect, it } from '@jest/globals'
import { USAGE_DAYS_VERSION, type UsageDaysJson } from '../../src/analysis/usage-days.js'
import {
  formatState,
  formatUsageDays,
  readState,
  type AuditState,
} from '../../src/commands/audit-state.js'

/**
 * audit/state.json: the carried days are kept as the exact text their digest covers, so a run
 * that keeps them writes them back byte for byte, and anything else reads as "not carried".
 */

const DAYS: UsageDaysJson = {
  version: USAGE_DAYS_VERSION,
  from: '2026-11-05',
  through: '2026-12-14',
  keys: {
    openai: {
      key_a: {
        days: [null, [0.1 + 0.2, 1200, 3_600_000]],
        months: { '2026-11': 0.30000000000000004 },
      },
      key_b: { last_used: [1, 2], ips: { '203.0.113.7': 5 } },
    },
    anthropic: {},
  },
  rotations: { '12': 1, '9': 2 },
}

const STATE: AuditState = {
  version: 1,
  providers: { openai: { watermark: '2026-12-15T12:00:00.000Z', failed_runs: 0 } },
  usage_days: { text: formatUsageDays(DAYS), snapshot: 'sha256:abc' },
}

describe('audit/state.json', () => {
  it('reads back its carried days as the very text written, and writes it again unchanged', () => {
    const text = formatState(STATE)

    const read = readState(text)

    expect(read.usage_days?.text).toBe(formatUsageDays(DAYS))
    expect(read.usage_days?.snapshot).toBe('sha256:abc')
    expect(read.providers).toEqual(STATE.providers)
    expect(formatState(read)).toBe(text)
    // The whole file is still JSON, with the carried days where a reader expects them.
    expect(JSON.parse(text)).toEqual({
      version: 1,
      providers: STATE.providers,
      usage_days_snapshot: 'sha256:abc',
      usage_days: DAYS,
    })
  })

  it('keeps each key on one line', () => {
    const lines = formatUsageDays(DAYS).split('\n')
    expect(lines.filter((l) => l.includes('"key_a"'))).toHaveLength(1)
    expect(lines.length).toBeLessThan(20)
  })

  it('reads a state without carried days, and writes it without them', () => {
    const { usage_days: _, ...plain } = STATE
    const text = formatState(plain)
    expect(readState(text)).toEqual(plain)
    expect(text).not.toMatch(/usage_days/)
  })

  it('gives the watermarks of a reformatted file, and carried days that no longer match', () => {
    // Someone reformats state.json (4-space indent): the text the digest covered is gone.
    const reformatted = `${JSON.stringify(JSON.parse(formatState(STATE)), null, 4)}\n`

    const read = readState(reformatted)

    expect(read.providers).toEqual(STATE.providers)
    expect(read.usage_days?.text).not.toBe(formatUsageDays(DAYS))
  })

  it.each([
    ['a missing file', undefined],
    ['an empty file', ''],
    ['not JSON', '{"providers": '],
    ['a list', '[]'],
    ['providers that are not an object', '{"providers": []}\n'],
    ['a broken head before the carried days', '{"providers": ,\n  "usage_days": {}\n}\n'],
  ])('starts over from %s', (_, text) => {
    expect(readState(text)).toEqual({ version: 1, providers: {} })
  })
})

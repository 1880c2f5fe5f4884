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

export async function runChildTask(
  task: ChildTask,
  params: Record<string, unknown>,
): Promise<void> {
  let timed: { wallMs: number; cpuMs: number } | undefined
  await task(params, async (work) => {
    if (timed) throw new Error('a child task measures exactly once')
    const cpu0 = cpuMicros()
    const wall0 = performance.now()
    const result = await work()
    const wallMs = performance.now() - wall0
    timed = { wallMs, cpuMs: (cpuMicros() - cpu0) / 1000 }
    return result
  })
  if (!timed) throw new Error('the child task never called measure()')
  const sample: Sample = { ...timed, rssMb: process.resourceUsage().maxRSS / 1024 }
  process.stdout.write(`${JSON.stringify(sample)}\n`)
}

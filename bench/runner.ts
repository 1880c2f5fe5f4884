/**
 * The parent side: spawns the fresh processes that take samples, and alternates probes.
 */
import { spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { CommandSpec, Probe } from './scenario.js'
import { measurementOf, type Measurement, type Sample } from './stats.js'

interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Milliseconds from spawn to exit, or to the first stdout line in `first-line` mode. */
  wallMs: number
}

function run(
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; until: 'exit' | 'first-line' },
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    let end: number | undefined
    const child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8')
    child.stderr.setEncoding('utf8')
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk
      if (options.until === 'first-line' && end === undefined && stdout.includes('\n')) {
        end = performance.now()
        child.kill('SIGTERM')
      }
    })
    child.stderr.on('data', (chunk: string) => (stderr += chunk))
    child.on('exit', () => {
      if (options.until === 'exit') end = performance.now()
    })
    child.on('error', reject)
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, wallMs: (end ?? performance.now()) - start }),
    )
  })
}

/** The line that says what went wrong (a thrown error's first line), else the last lines. */
function tail(text: string): string {
  const lines = text.trim().split('\n')
  return (
    lines.find((line) => /^(\w*Error\b|::error::|keyward:)/.test(line)) ??
    lines.slice(-3).join('\n')
  )
}

/** A probe that runs one task of the bench bundle in a fresh process. */
export function childProbe(
  bundle: string,
  repo: string,
  taskId: string,
  params: Record<string, unknown>,
): Probe {
  return async () => {
    const done = await run([bundle, '--child', taskId, JSON.stringify(params)], {
      cwd: repo,
      env: { ...process.env, NODE_OPTIONS: '' },
      until: 'exit',
    })
    if (done.code !== 0) {
      throw new Error(`task ${taskId} exited ${done.code ?? done.signal}: ${tail(done.stderr)}`)
    }
    const last = done.stdout.trim().split('\n').at(-1) ?? ''
    return JSON.parse(last) as Sample
  }
}

/** Writes the `--require` hook that reports a process's CPU and peak RSS when it exits. */
export function writeUsageHook(dir: string): string {
  const hook = join(dir, 'usage-hook.cjs')
  writeFileSync(
    hook,
    `const { writeFileSync } = require('node:fs')
process.on('exit', () => {
  const u = process.resourceUsage()
  writeFileSync(process.env.KEYWARD_BENCH_USAGE, JSON.stringify({
    cpuMs: (u.userCPUTime + u.systemCPUTime) / 1000, rssMb: u.maxRSS / 1024 }))
})
`,
  )
  return hook
}

/** A probe that spawns a Node.js process described by spec. */
export function commandProbe(spec: CommandSpec, hook: string, usageFile: string): Probe {
  return async () => {
    const until = spec.until ?? 'exit'
    const args = spec.usage ? ['--require', hook, ...spec.args] : spec.args
    const env = spec.usage ? { ...spec.env, KEYWARD_BENCH_USAGE: usageFile } : spec.env
    rmSync(usageFile, { force: true })
    const done = await run(args, { cwd: spec.cwd, env, until })
    const what = `node ${spec.args.join(' ')}`
    if (until === 'exit' && !(spec.expectExit ?? [0]).includes(done.code ?? -1)) {
      throw new Error(
        `${what} exited ${done.code ?? done.signal}: ${tail(done.stderr) || tail(done.stdout)}`,
      )
    }
    if (until === 'first-line' && !done.stdout.includes('\n')) {
      throw new Error(`${what} printed no line: ${tail(done.stderr)}`)
    }
    const problem = spec.checkOutput?.(done.stdout)
    if (problem) throw new Error(`${what}: ${problem}`)
    const sample: Sample = { wallMs: done.wallMs }
    if (spec.usage) {
      const usage = JSON.parse(readFileSync(usageFile, 'utf8')) as { cpuMs: number; rssMb: number }
      sample.cpuMs = usage.cpuMs
      sample.rssMb = usage.rssMb
    }
    return sample
  }
}

/**
 * Runs each probe `runs` times after `warmup` discarded rounds. Rounds alternate the probes'
 * order (ABBA…), so a change in machine load or a cache warming up hits each probe alike.
 */
export async function measureProbes<K extends string>(
  probes: Record<K, Probe>,
  runs: number,
  options: { warmup?: number; onRound?: (round: number, total: number) => void },
): Promise<Record<K, Measurement>> {
  const names = Object.keys(probes) as K[]
  const samples = new Map<K, Sample[]>(names.map((n) => [n, []]))
  const warmup = options.warmup ?? 0
  for (let round = 0; round < warmup + runs; round++) {
    if (round >= warmup) options.onRound?.(round - warmup + 1, runs)
    const order = round % 2 === 0 ? names : [...names].reverse()
    for (const name of order) {
      const sample = await probes[name]()
      if (round >= warmup) samples.get(name)?.push(sample)
    }
  }
  return Object.fromEntries(names.map((n) => [n, measurementOf(samples.get(n) ?? [])])) as Record<
    K,
    Measurement
  >
}

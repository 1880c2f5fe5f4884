/**
 * What a scenario is. Adding one to the table is one `Scenario` value added to the list in
 * bench/main.ts: its child tasks (the work, run in fresh processes) and its `run`, which sets
 * up data, measures probes and returns rows.
 */
import type { Measurement, Sample } from './stats.js'
import type { Row } from './table.js'

/**
 * Child-side work: receives its params, does any setup, and calls `measure` exactly once
 * around the work to time. Runs in its own process, so peak RSS is the scenario's own.
 */
export type ChildTask = (params: Record<string, unknown>, measure: MeasureOnce) => Promise<void>
export type MeasureOnce = <T>(work: () => T | Promise<T>) => Promise<T>

/** One way to take one sample (a child task, a spawned command). */
export type Probe = () => Promise<Sample>

/** A Node.js process to spawn (process.execPath, the same Node that runs the bench). */
export interface CommandSpec {
  /** Arguments to node: a script and its arguments, or `-e 0`. */
  args: readonly string[]
  cwd: string
  env: NodeJS.ProcessEnv
  /** `exit` (default) times to exit; `first-line` to the first line on stdout, then stops it. */
  until?: 'exit' | 'first-line'
  /** Also report the process's CPU and peak RSS (through a `--require` hook). */
  usage?: boolean
  /** Exit codes that count as success (default [0]). */
  expectExit?: readonly number[]
  /** Checks stdout after each run; return a message to fail the run. */
  checkOutput?: (stdout: string) => string | undefined
}

export interface BenchContext {
  quick: boolean
  seed: number
  /** The keyward repository (package.json, dist/, examples/). */
  repo: string
  /** A fresh folder for this scenario's data, removed after the bench. */
  tmp: string
  /** A probe that runs `task` (one of this scenario's tasks) in a fresh bench process. */
  child(task: string, params?: Record<string, unknown>): Probe
  /** A probe that spawns a Node.js process and times it from the outside. */
  command(spec: CommandSpec): Probe
  /**
   * Runs every probe `runs` times, alternating between them so drift in machine load hits
   * all alike, after `warmup` discarded rounds (default 0).
   */
  measure<K extends string>(
    probes: Record<K, Probe>,
    runs: number,
    options?: { warmup?: number; label?: string },
  ): Promise<Record<K, Measurement>>
  /** A progress line on stderr. */
  progress(message: string): void
}

export interface Scenario {
  name: string
  /** One sentence per row group: what is measured, how, and against which floor. */
  describe: readonly string[]
  tasks: Record<string, ChildTask>
  run(ctx: BenchContext): Promise<Row[]>
}

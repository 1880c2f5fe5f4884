/**
 * `npm run bench`: runs every scenario, prints the table and writes BENCHMARKS.md.
 * The same bundle is the child process: `--child <task> <params>` runs one measurement.
 *
 *   npm run bench                      full run, writes BENCHMARKS.md (under 10 minutes on 2 cores)
 *   npm run bench -- --quick           small sizes, few runs; writes nothing unless --write
 *   npm run bench -- --only validate   only the named scenarios (comma-separated)
 *   npm run bench -- --seed 7          another generated data set
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { runChildTask } from './child.js'
import { childProbe, commandProbe, measureProbes, writeUsageHook } from './runner.js'
import type { BenchContext, ChildTask, Scenario } from './scenario.js'
import { coldStartScenario } from './scenarios/cold-start.js'
import { apiCallsScenario } from './scenarios/api-calls.js'
import { auditAnalysisScenario } from './scenarios/audit-analysis.js'
import { incrementalAuditScenario } from './scenarios/incremental-audit.js'
import { reportScenario } from './scenarios/report.js'
import { validateScenario } from './scenarios/validate.js'
import { vaultDecryptScenario } from './scenarios/vault-decrypt.js'
import { formatNumber, renderBenchmarksMd, renderTable, type Row } from './table.js'

/** The table's rows, in issue 9's order. Add a scenario here. */
const SCENARIOS: readonly Scenario[] = [
  validateScenario,
  vaultDecryptScenario,
  auditAnalysisScenario,
  incrementalAuditScenario,
  apiCallsScenario,
  coldStartScenario,
  reportScenario,
]

/** A child that only loads the bench bundle: the baseline under every peak RSS figure. */
const HARNESS: Scenario = {
  name: 'harness',
  describe: [],
  tasks: {
    async idle(_params, measure) {
      await measure(() => undefined)
    },
  },
  run: async () => [],
}

function findTask(id: string): ChildTask {
  const [scenarioName, taskName] = id.split('/')
  const scenario = [...SCENARIOS, HARNESS].find((s) => s.name === scenarioName)
  const task = taskName === undefined ? undefined : scenario?.tasks[taskName]
  if (!task) throw new Error(`no bench task ${id}`)
  return task
}

function machine(): {
  cpu: string
  cores: number
  memoryGiB: number
  os: string
  loadAverage: string
} {
  let cpu = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (model?.[1]) cpu = model[1].trim()
  } catch {
    // Not Linux: os.cpus() names the model.
  }
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    os: `${process.platform} ${release()} ${process.arch}`,
    loadAverage: loadavg()
      .map((l) => l.toFixed(2))
      .join(' / '),
  }
}

/** keyward's version and commit, and whether src/ or dist/ differ from it. */
function build(repo: string): string {
  const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    version: string
  }
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim()
    const commit = git('rev-parse', '--short', 'HEAD')
    const dirty = git('status', '--porcelain', '--', 'src', 'dist') !== ''
    return `keyward ${version} at ${commit}${dirty ? ', with uncommitted changes to src/ or dist/' : ''}`
  } catch {
    return `keyward ${version} (not a git checkout)`
  }
}

async function runBench(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      only: { type: 'string' },
      seed: { type: 'string', default: '1' },
    },
  })
  const quick = values.quick === true
  const seed = Number(values.seed)
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error('--seed must be a whole number')
  const only = values.only?.split(',').map((s) => s.trim())
  const selected = only ? SCENARIOS.filter((s) => only.includes(s.name)) : SCENARIOS
  if (only && selected.length !== only.length) {
    throw new Error(`--only takes some of: ${SCENARIOS.map((s) => s.name).join(', ')}`)
  }
  const write = values.write === true || (!quick && only === undefined)
  const repo = process.cwd()
  const bundle = process.argv[1] ?? ''
  const started = performance.now()
  const startedAt = new Date()
  const host = machine()
  const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`)
  progress(
    `${quick ? 'quick' : 'full'} run, seed ${seed}, Node ${process.version}, load ${host.loadAverage}`,
  )

  const work = mkdtempSync(join(tmpdir(), 'keyward-bench-data-'))
  const rows: Row[] = []
  const notes: string[] = []
  let failed = false
  try {
    const hook = writeUsageHook(work)
    const usageFile = join(work, 'usage.json')
    const contextFor = (scenario: Scenario): BenchContext => {
      const tmp = join(work, scenario.name.replace(/[^a-z0-9-]+/gi, '-'))
      mkdirSync(tmp, { recursive: true })
      return {
        quick,
        seed,
        repo,
        tmp,
        child: (task, params = {}) => childProbe(bundle, repo, `${scenario.name}/${task}`, params),
        command: (spec) => commandProbe(spec, hook, usageFile),
        measure: (probes, runs, options = {}) =>
          measureProbes(probes, runs, {
            warmup: options.warmup ?? 0,
            onRound: (round, total) =>
              progress(`${options.label ?? scenario.name}: run ${round}/${total}`),
          }),
        progress,
      }
    }

    const idle = await contextFor(HARNESS).measure(
      { idle: childProbe(bundle, repo, 'harness/idle', {}) },
      3,
      { label: 'harness baseline' },
    )
    if (idle.idle.rss) {
      notes.push(
        `Peak RSS of a bench child includes the bench bundle itself: a child that loads it and does nothing peaks at ${formatNumber(idle.idle.rss.median)} MB. Command rows (CLI, action) are their own processes.`,
      )
    }
    notes.push(
      'The CLI and action rows run the `dist/` bundles as they are in the working tree; after changing `src/`, run `npm run build` first.',
    )

    for (const scenario of selected) {
      const scenarioStart = performance.now()
      try {
        rows.push(...(await scenario.run(contextFor(scenario))))
      } catch (error) {
        failed = true
        const message = error instanceof Error ? error.message : String(error)
        progress(`${scenario.name} failed: ${message}`)
        const oneLine = message.replace(/\s*\n\s*/g, ' / ')
        rows.push({ kind: 'failed', scenario: scenario.name, message: oneLine.slice(0, 300) })
      }
      progress(`${scenario.name}: ${((performance.now() - scenarioStart) / 1000).toFixed(1)} s`)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }

  const durationS = (performance.now() - started) / 1000
  const table = renderTable(rows)
  process.stdout.write(`${table}\n\n`)
  progress(`done in ${durationS.toFixed(0)} s`)
  if (write) {
    const target = join(repo, 'BENCHMARKS.md')
    const markdown = renderBenchmarksMd({
      date: startedAt.toISOString(),
      machine: host,
      node: process.version,
      seed,
      durationS,
      mode: quick ? 'quick' : 'full',
      rows,
      descriptions: selected.flatMap((s) => s.describe),
      notes,
      build: build(repo),
      previous: existsSync(target) ? readFileSync(target, 'utf8') : undefined,
    })
    writeFileSync(target, markdown)
    progress('wrote BENCHMARKS.md')
  } else {
    progress('BENCHMARKS.md not written (quick or --only run; add --write to write it)')
  }
  if (failed) process.exitCode = 1
}

const [mode, taskId, params] = process.argv.slice(2)
if (mode === '--child') {
  await runChildTask(findTask(taskId ?? ''), JSON.parse(params ?? '{}') as Record<string, unknown>)
} else {
  await runBench(process.argv.slice(2))
}

/**
 * cold start: how long the bundles take before they do anything, against an empty Node.js.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import type { Scenario } from '../scenario.js'
import type { Row } from '../table.js'

/** INPUT_* from action.yml defaults as the runner derives them (hyphens kept, upper-cased). */
function actionInputs(repo: string, overrides: Record<string, string>): Record<string, string> {
  const action = parse(readFileSync(join(repo, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: unknown }>
  }
  const env: Record<string, string> = {}
  for (const [name, spec] of Object.entries(action.inputs)) {
    const value = String(spec.default ?? '')
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value.includes('${{')
      ? 'fake-token'
      : value
  }
  for (const [name, value] of Object.entries(overrides)) env[`INPUT_${name.toUpperCase()}`] = value
  return env
}

export const coldStartScenario: Scenario = {
  name: 'cold-start',
  describe: [
    '**cold start**: wall time from spawn, measured from the bench process. `dist/cli.js --version` to exit; `dist/index.js` (the action) with `INPUT_COMMAND=validate` on `examples/demo`, with the environment the runner gives it (`INPUT_*` from the `action.yml` defaults, `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, the demo identity as `age-key`), to its first line on stdout and to exit. Floor: `node -e 0` to exit. One discarded warm-up round.',
  ],
  tasks: {},

  async run(ctx) {
    const { repo } = ctx
    const dir = join(ctx.tmp, 'runner')
    mkdirSync(dir, { recursive: true })
    const files = {
      output: join(dir, 'output'),
      summary: join(dir, 'summary'),
      event: join(dir, 'event.json'),
    }
    writeFileSync(files.event, '{}')
    writeFileSync(files.output, '')
    writeFileSync(files.summary, '')
    const base = { PATH: process.env.PATH, HOME: dir }
    const actionEnv = {
      ...base,
      ...actionInputs(repo, {
        command: 'validate',
        config: 'examples/demo/keyward.yaml',
        'age-key': readFileSync(join(repo, 'examples/demo/demo-age-key.txt'), 'utf8'),
      }),
      GITHUB_OUTPUT: files.output,
      GITHUB_STEP_SUMMARY: files.summary,
      GITHUB_WORKSPACE: repo,
      GITHUB_REPOSITORY: 'keyward/bench',
      GITHUB_EVENT_NAME: 'workflow_dispatch',
      GITHUB_EVENT_PATH: files.event,
      GITHUB_API_URL: 'http://127.0.0.1:9',
      GITHUB_ACTOR: 'bench',
      GITHUB_RUN_ID: '1',
    }
    const action = join(repo, 'dist/index.js')
    const m = await ctx.measure(
      {
        version: ctx.command({
          args: [join(repo, 'dist/cli.js'), '--version'],
          cwd: repo,
          env: base,
        }),
        actionFirstLine: ctx.command({
          args: [action],
          cwd: repo,
          env: actionEnv,
          until: 'first-line',
        }),
        actionExit: ctx.command({ args: [action], cwd: repo, env: actionEnv }),
        floor: ctx.command({ args: ['-e', '0'], cwd: repo, env: base }),
      },
      ctx.quick ? 5 : 20,
      { warmup: 1, label: 'cold start' },
    )
    const label = 'node -e 0'
    const compare = { label, floor: m.floor, metric: 'wall' } as const
    const rows: Row[] = [
      {
        kind: 'measured',
        scenario: 'cold start: `dist/cli.js --version`',
        size: 'to exit',
        measurement: m.version,
        compare,
      },
      {
        kind: 'measured',
        scenario: 'cold start: `dist/index.js`, validate on examples/demo',
        size: 'to first line',
        measurement: m.actionFirstLine,
        compare,
      },
      {
        kind: 'measured',
        scenario: 'cold start: `dist/index.js`, validate on examples/demo',
        size: 'to exit (whole run, no ratio)',
        measurement: m.actionExit,
      },
      { kind: 'floor', label, size: 'to exit', measurement: m.floor },
    ]
    return rows
  },
}

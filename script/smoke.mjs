// Runs the committed bundles exactly as their users do: dist/index.js the way the Actions
// runner runs it (INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, an event
// payload, the GitHub API at GITHUB_API_URL, here a loopback fake), and dist/cli.js as a
// person does. Exits non-zero on the first broken expectation. Works on Node 20 and 24.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const demoIdentity = readFileSync(join(repo, 'examples/demo/demo-age-key.txt'), 'utf8')
let failures = 0

function expect(condition, what) {
  if (condition) console.log(`  ok: ${what}`)
  else {
    failures++
    console.log(`  FAILED: ${what}`)
  }
}

/** INPUT_* from action.yml defaults, as the runner derives them (hyphens kept, upper-cased). */
function actionEnv(overrides) {
  const action = parse(readFileSync(join(repo, 'action.yml'), 'utf8'))
  const env = {}
  for (const [name, spec] of Object.entries(action.inputs)) {
    const value = String(spec.default ?? '')
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value.includes('${{')
      ? 'fake-token'
      : value
  }
  for (const [name, value] of Object.entries(overrides)) env[`INPUT_${name.toUpperCase()}`] = value
  return env
}

function readOutputs(file) {
  // core.setOutput writes `name<<delimiter\nvalue\ndelimiter` blocks.
  const outputs = {}
  const lines = readFileSync(file, 'utf8').split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i])
    if (!match) continue
    const end = lines.indexOf(match[2], i + 1)
    outputs[match[1]] = lines.slice(i + 1, end).join('\n')
    i = end
  }
  return outputs
}

async function runAction(name, { inputs, event, github }) {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-smoke-'))
  const files = {
    output: join(dir, 'output'),
    summary: join(dir, 'summary'),
    event: join(dir, 'event.json'),
  }
  for (const file of [files.output, files.summary]) writeFileSync(file, '')
  writeFileSync(files.event, JSON.stringify(event?.payload ?? {}))
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    ...actionEnv(inputs),
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_WORKSPACE: repo,
    GITHUB_REPOSITORY: 'keyward/smoke',
    GITHUB_EVENT_NAME: event?.name ?? 'workflow_dispatch',
    GITHUB_EVENT_PATH: files.event,
    GITHUB_API_URL: github ?? 'http://127.0.0.1:9',
    GITHUB_ACTOR: 'smoke',
    GITHUB_RUN_ID: '1',
  }
  // Asynchronous, so the loopback GitHub in this process can answer while the action runs.
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, [join(repo, 'dist/index.js')], { env, cwd: repo })
  let stdout = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stdout += d))
  const status = await new Promise((resolve) => child.on('close', resolve))
  console.log(`action: ${name} (exit ${status})`)
  return {
    status,
    stdout,
    outputs: readOutputs(files.output),
    summary: readFileSync(files.summary, 'utf8'),
  }
}

console.log(`smoke on Node ${process.version}`)

// 1. validate on the demo governance repository, as a push or workflow_dispatch would.
{
  const run = await runAction('validate on examples/demo', {
    inputs: { command: 'validate', config: 'examples/demo/keyward.yaml', 'age-key': demoIdentity },
  })
  expect(run.status === 0, 'exits 0 on the demo')
  const findings = JSON.parse(run.outputs.findings ?? 'null')
  expect(
    Array.isArray(findings) && findings.every((f) => f.severity !== 'error'),
    'findings output is a JSON array without errors',
  )
  expect(run.summary.includes('keyward validate'), 'writes the job summary')
  // `::add-mask::` lines are consumed by the runner, which masks the value everywhere after.
  const logged = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'))
  expect(
    logged.every((line) => !line.includes('AGE-SECRET-KEY-1')),
    'the age identity reaches the log only to be masked',
  )
}

// 2. validate on a pull request that adds a plaintext key: the diff comes from a loopback GitHub.
{
  const leaked = ['sk', 'or', 'v1', randomBytes(32).toString('hex')].join('-')
  const calls = []
  const server = createServer((req, res) => {
    calls.push(`${req.method} ${req.url}`)
    if (req.url?.startsWith('/repos/keyward/smoke/pulls/7/files')) {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(
        JSON.stringify([
          {
            sha: 'a'.repeat(40),
            filename: 'examples/demo/notes.md',
            status: 'added',
            additions: 2,
            deletions: 0,
            changes: 2,
            patch: `@@ -0,0 +1,2 @@\n+# notes\n+OPENROUTER_API_KEY=${leaked}`,
          },
        ]),
      )
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ message: 'Not Found' }))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const run = await runAction('validate on a pull request that adds a key', {
    inputs: { command: 'validate', config: 'examples/demo/keyward.yaml', 'age-key': demoIdentity },
    event: { name: 'pull_request', payload: { pull_request: { number: 7 } } },
    github: `http://127.0.0.1:${port}`,
  })
  server.close()
  expect(run.status === 1, 'exits 1 when the pull request adds a key')
  expect(
    calls.some((c) => c.startsWith('GET /repos/keyward/smoke/pulls/7/files')),
    'reads the pull request files from GITHUB_API_URL',
  )
  expect(
    /::error .*file=examples\/demo\/notes\.md,line=2/.test(run.stdout),
    'annotates the added line of the pull request',
  )
  expect(
    run.stdout.split('\n').every((line) => !line.includes(leaked)) &&
      !JSON.stringify(run.outputs).includes(leaked) &&
      !run.summary.includes(leaked),
    'the leaked key appears nowhere in logs, outputs or summary',
  )
}

// 3. The CLI as a person runs it.
{
  const env = {
    PATH: process.env.PATH,
    HOME: tmpdir(),
    SOPS_AGE_KEY_FILE: join(repo, 'examples/demo/demo-age-key.txt'),
  }
  const run = spawnSync(
    process.execPath,
    [
      join(repo, 'dist/cli.js'),
      'validate',
      '--config',
      'examples/demo/keyward.yaml',
      '--format',
      'json',
    ],
    { cwd: repo, env, encoding: 'utf8' },
  )
  console.log(`cli: validate --format json (exit ${run.status})`)
  expect(run.status === 0, 'exits 0 on the demo')
  expect(JSON.parse(run.stdout).ok === true, 'prints SPEC §2 JSON with ok: true')
  const bad = spawnSync(
    process.execPath,
    [join(repo, 'dist/cli.js'), 'validate', '--format', 'yaml'],
    { cwd: repo, env, encoding: 'utf8' },
  )
  expect(
    bad.status === 2 && /--format must be one of/.test(bad.stderr),
    'bad arguments exit 2 with a clear message',
  )
}

// 4. The main job on the embedded demo, and the canary check: no demo key in any output or file.
{
  const env = { PATH: process.env.PATH, HOME: tmpdir() }
  const cli = (...args) =>
    spawnSync(process.execPath, [join(repo, 'dist/cli.js'), ...args], {
      cwd: repo,
      env,
      encoding: 'utf8',
    })
  const keys = [
    'avatar-video-openai',
    'blog-writer-anthropic',
    'night-batch-openrouter',
    'honeypot-openai',
  ].map((id) =>
    spawnSync(
      process.execPath,
      [
        join(repo, 'dist/cli.js'),
        'vault',
        'show',
        id,
        '--reveal',
        '--config',
        'examples/demo/keyward.yaml',
      ],
      {
        cwd: repo,
        env: { ...env, SOPS_AGE_KEY_FILE: join(repo, 'examples/demo/demo-age-key.txt') },
        encoding: 'utf8',
      },
    ).stdout.trim(),
  )
  expect(
    keys.every((k) => k.length > 20),
    'vault show --reveal prints the demo keys (the canaries)',
  )
  const run = cli('audit', '--demo')
  console.log(`cli: audit --demo (exit ${run.status})`)
  expect(run.status === 0, 'exits 0')
  const folder = /in (\S+keyward-demo-\S+)/.exec(run.stdout)?.[1]
  expect(
    folder !== undefined && /canary-used/.test(run.stdout) && /spend-spike/.test(run.stdout),
    'prints where it ran and the seeded findings',
  )
  const written = folder
    ? spawnSync('git', ['ls-files', '--others', '--cached'], { cwd: folder, encoding: 'utf8' })
        .stdout.split('\n')
        .filter((f) => f && !f.startsWith('keys/'))
    : []
  const contents = written.map((f) => readFileSync(join(folder, f), 'utf8')).join('\n')
  expect(
    written.some((f) => f.startsWith('audit/snapshots/')) &&
      written.some((f) => f.startsWith('.keyward/outbox/issues/')),
    'commits a snapshot and writes the outbox',
  )
  expect(
    keys.every((k) => !run.stdout.includes(k) && !run.stderr.includes(k) && !contents.includes(k)),
    'no demo key appears in stdout, stderr, the snapshot, the ledger or an issue',
  )
  const json = cli('audit', '--demo', '--json')
  const parsed = JSON.parse(json.stdout)
  expect(
    json.status === 0 &&
      typeof parsed.ledger_head === 'string' &&
      Array.isArray(parsed.findings) &&
      Array.isArray(parsed.issues.created),
    'audit --json prints the SPEC §4 object',
  )
}

if (failures > 0) {
  console.log(`smoke: ${failures} expectation(s) failed`)
  process.exitCode = 1
} else console.log('smoke: all expectations met')

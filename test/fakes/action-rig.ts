/**
 * The rig of the in-process action tests (`__tests__/action/audit*.test.ts`): the demo governance
 * repository in `gov/` of a git workspace and of the loopback GitHub fake, the demo provider
 * fakes, the real vault, Octokit (throttling off unless asked), forge and leak scanner; only
 * `@actions/core` is mocked (`__fixtures__/core.ts`, registered by the test file before it
 * imports `run`).
 */
import { expect } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import { promisify } from 'node:util'
import * as core from '../../__fixtures__/core.js'
import type { ActionDeps } from '../../src/action/main.js'
import { githubForge } from '../../src/adapters/forge/github.js'
import { createOctokit } from '../../src/adapters/forge/octokit.js'
import { createIdentityLoader } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { buildDemoDataset, type DemoDataset } from '../../src/demo/dataset.js'
import {
  startDemoProviders,
  type DemoProviders,
  readDemoSecrets,
} from '../../src/demo/demo-providers.js'
import type { ProviderSettings } from '../../src/inventory/types.js'
import { LEDGER_FILE, SNAPSHOT_DIR, verifyChain } from '../../src/ledger/chain.js'
import { silentLog } from '../../src/ports/log.js'
import { DASHBOARD_MARKER } from '../../src/report/dashboard.js'
import { fixedClock } from './fixed-clock.js'
import {
  startRecordingProxy,
  type ProviderExchange,
  type RecordingProxy,
} from './recording-proxy.js'
import {
  startGitHubFake,
  type FakeIssue,
  type GitHubFake,
  type RecordedCall,
} from './github-server.js'

export type { ProviderExchange } from './recording-proxy.js'

const exec = promisify(execFile)
const DEMO = join(import.meta.dirname, '../../examples/demo')
export const GOV = 'gov'
export const T0 = '2026-11-27T12:00:00Z'
export const HOUR_MS = 3_600_000
export const at = (hours: number) => new Date(Date.parse(T0) + hours * HOUR_MS).toISOString()
const GIT = ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false']

// ---------------------------------------------------------------------------------------------
// The rig

/** Every file under `dir`, relative to it, posix, without .git. */
export async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = []
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name === '.git') continue
    const path = prefix ? posix.join(prefix, entry.name) : entry.name
    if (entry.isDirectory()) out.push(...(await walk(dir, path)))
    else out.push(path)
  }
  return out.sort()
}

export interface Rig {
  workspace: string
  github: GitHubFake
  apiUrl: string
  providers: DemoProviders
  /** The data the provider fakes serve; mutable (a test adds activity, say). */
  dataset: DemoDataset
  identity: string
  /** The plaintext of every key and admin key in the demo vault. */
  plaintext: string[]
  /** Requests and answers of the providers, when started with `recordProviderResponses`. */
  exchanges: ProviderExchange[]
  env: NodeJS.ProcessEnv
  /**
   * The GitHub fake's clock (pull request, merge and commit times). `runActionWith` sets it to
   * the run's time; a test sets it before `mergePull` or `closePull`.
   */
  setGitHubTime(iso: string): void
  /**
   * What `actions/checkout` gives the next run: every file of `gov/` on the fake's `ref`,
   * written into the workspace and committed there.
   */
  checkout(ref?: string): Promise<void>
  stop(): Promise<void>
}

export interface RigOptions {
  /** Rewrites keyward.yaml (base_url already set) before the workspace and the fake are seeded. */
  inventory?: (text: string) => string
  /** Puts a recording proxy in front of each provider fake (`rig.exchanges`). */
  recordProviderResponses?: boolean
}

export interface DemoInventory {
  providers: Record<string, ProviderSettings>
  keys: Record<string, { secret: string }>
}

/** The demo copied to `gov/` of a git workspace and of the GitHub fake, providers on loopback. */
export async function startRig(options: RigOptions = {}): Promise<Rig> {
  const workspace = await mkdtemp(join(tmpdir(), 'keyward-action-audit-'))
  const gov = join(workspace, GOV)
  await cp(DEMO, gov, { recursive: true })
  const identity = await readFile(join(gov, 'demo-age-key.txt'), 'utf8')

  const { parse } = await import('yaml')
  const inventory = parse(await readFile(join(gov, 'keyward.yaml'), 'utf8')) as DemoInventory
  const vault = new SopsAgeVault({
    root: gov,
    identities: createIdentityLoader({ env: {}, ageKey: identity, defaultKeysFile: false }),
    now: () => new Date(T0),
    actor: 'test',
  })
  const { keys: secrets, admin } = await readDemoSecrets(vault, inventory)
  const dataset = buildDemoDataset({ now: new Date(T0), secrets })
  const providers = await startDemoProviders(dataset, admin)

  // Each provider's base_url at its demo fake (or at a recording proxy in front of it).
  const exchanges: ProviderExchange[] = []
  const proxies: RecordingProxy[] = []
  const urls: Record<string, string> = { ...providers.baseUrls }
  if (options.recordProviderResponses)
    for (const [id, url] of Object.entries(urls)) {
      const { origin, pathname } = new URL(url)
      const proxy = await startRecordingProxy(id, origin, exchanges)
      proxies.push(proxy)
      urls[id] = `${proxy.origin}${pathname === '/' ? '' : pathname}`
    }
  let yaml = (await readFile(join(gov, 'keyward.yaml'), 'utf8')).replace(
    /^( {4}admin_key: keys\/admin\/(\w+)\.sops\.yaml)(.*)$/gm,
    (_all, line: string, id: string, rest: string) => `${line}${rest}\n    base_url: ${urls[id]}`,
  )
  expect(yaml.match(/base_url: http:\/\/127\.0\.0\.1/g)).toHaveLength(3)
  if (options.inventory) yaml = options.inventory(yaml)
  await writeFile(join(gov, 'keyward.yaml'), yaml)

  const git = (...args: string[]) => exec('git', [...GIT, ...args], { cwd: workspace })
  await git('init', '--quiet', '-b', 'main')
  await git('add', '-A')
  await git('commit', '--quiet', '--no-verify', '-m', 'governance repository')

  const files: Record<string, string> = { 'README.md': '# governance\n' }
  for (const path of await walk(gov))
    files[`${GOV}/${path}`] = await readFile(join(gov, path), 'utf8')
  let githubTime = new Date(T0)
  const github = await startGitHubFake({ files, now: () => githubTime })

  return {
    workspace,
    github,
    apiUrl: github.url,
    providers,
    dataset,
    identity,
    plaintext: [...Object.values(secrets), ...Object.values(admin)],
    exchanges,
    setGitHubTime(iso) {
      githubTime = new Date(iso)
    },
    async checkout(ref = 'main') {
      for (const [path, text] of Object.entries(filesOf(github, ref))) {
        if (!path.startsWith(`${GOV}/`)) continue
        const file = join(workspace, path)
        await mkdir(join(file, '..'), { recursive: true })
        await writeFile(file, text)
      }
      await git('add', '-A')
      await git('commit', '--quiet', '--no-verify', '--allow-empty', '-m', `checkout ${ref}`)
    },
    env: {
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: 'owner/repo',
      GITHUB_API_URL: github.url,
      GITHUB_RUN_ID: '1',
      GITHUB_ACTOR: 'keyward-bot',
      HOME: workspace,
      PATH: process.env.PATH,
    },
    async stop() {
      await github.stop()
      await Promise.all(proxies.map((p) => p.stop()))
      await providers.stop()
      await rm(workspace, { recursive: true, force: true })
    },
  }
}

/** Every file of the fake's `ref` (a branch or a commit), path → text. */
export function filesOf(github: GitHubFake, ref: string): Record<string, string> {
  const { state } = github
  const sha = state.refs.get(ref) ?? ref
  const commit = state.commits.get(sha)
  if (commit === undefined) throw new Error(`no branch or commit ${ref} in the fake`)
  const out: Record<string, string> = {}
  const visit = (tree: string, prefix: string) => {
    for (const entry of state.trees.get(tree) ?? []) {
      if (entry.type === 'tree') visit(entry.sha, `${prefix}${entry.name}/`)
      else if (entry.type === 'blob')
        out[`${prefix}${entry.name}`] = state.blobs.get(entry.sha)?.toString('utf8') ?? ''
    }
  }
  visit(commit.tree, '')
  return out
}

/** What one `run()` did, taken from the core fixture before it is reset. */
export interface ActionRun {
  outputs: Record<string, string>
  info: string[]
  warnings: string[]
  debug: string[]
  failed: string[]
  secrets: string[]
  summary: string
  /** Calls the fake recorded during the run. */
  calls: RecordedCall[]
  /** Every string the run handed to core except setSecret: logs, outputs, summary, failure. */
  allText: string
}

const strings = (mock: { mock: { calls: unknown[][] } }) =>
  mock.mock.calls.map((args) =>
    args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '),
  )

export type RunAction = (overrides?: Partial<ActionDeps>) => Promise<void>

/** One `run()` of `command: audit` with the rig's inputs; `run` is imported after core is mocked. */
export async function runActionWith(
  run: RunAction,
  rig: Rig,
  options: {
    now: string
    dryRun?: boolean
    maxIssues?: number
    maxPrs?: number
    throttle?: boolean
  },
): Promise<ActionRun> {
  core.resetCore()
  rig.setGitHubTime(options.now)
  core.setInputs({
    command: 'audit',
    config: `${GOV}/keyward.yaml`,
    'age-key': rig.identity,
    'github-token': 'test-token',
    'dry-run': options.dryRun ? 'true' : 'false',
    'max-issues-per-run': String(options.maxIssues ?? 50),
    'max-prs-per-run': String(options.maxPrs ?? 5),
  })
  const before = rig.github.calls.length
  await run({
    env: rig.env,
    clock: fixedClock(options.now),
    throttle: options.throttle ?? false,
    providerHttp: { sleep: async () => {}, random: () => 0 },
  })
  const outputs = Object.fromEntries(
    core.setOutput.mock.calls.map(([name, value]) => [name, String(value)]),
  )
  const summary = JSON.stringify(core.summaryRecord.entries)
  const result: ActionRun = {
    outputs,
    info: strings(core.info),
    warnings: strings(core.warning),
    debug: strings(core.debug),
    failed: strings(core.setFailed),
    secrets: strings(core.setSecret),
    summary,
    calls: rig.github.calls.slice(before),
    allText: '',
  }
  result.allText = [
    ...result.info,
    ...result.warnings,
    ...result.debug,
    ...result.failed,
    ...strings(core.error),
    ...strings(core.notice),
    ...strings(core.group),
    ...strings(core.startGroup),
    ...Object.values(outputs),
    summary,
  ].join('\n')
  return result
}

export const head = (github: GitHubFake) => github.commitsOn('main')[0]?.sha as string
export const isDashboard = (i: FakeIssue) => (i.body ?? '').includes(DASHBOARD_MARKER)
export const findingIssues = (github: GitHubFake) => github.issues().filter((i) => !isDashboard(i))
export const dashboards = (github: GitHubFake) => github.issues().filter(isDashboard)
export const writesOf = (calls: readonly RecordedCall[]) =>
  calls.filter((c) => c.method !== 'GET' && c.method !== 'HEAD').map((c) => `${c.method} ${c.path}`)
export const findingsOf = (r: ActionRun) =>
  JSON.parse(r.outputs.findings ?? '[]') as {
    rule: string
    fingerprint: string
    severity: string
  }[]

/** The findings answered by an issue: `rotation-due` is answered by a pull request (SPEC §4). */
export const issueFindingsOf = (r: ActionRun) =>
  findingsOf(r).filter((f) => f.rule !== 'rotation-due')

export const sha256 = (bytes: Uint8Array) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`

/** `ledger verify` over the files of the fake's branch, in the governance folder. */
export async function verifyOnFake(rig: Rig, ref = 'main') {
  const forge = githubForge(
    createOctokit({
      token: 'test-token',
      baseUrl: rig.github.url,
      log: silentLog,
      throttle: false,
    }),
    { owner: 'owner', repo: 'repo', branch: ref, root: GOV, log: silentLog },
  )
  const snapshotFiles = await forge.listFiles(SNAPSHOT_DIR)
  const ledgerText = rig.github.fileAt(ref, `${GOV}/${LEDGER_FILE}`)
  return {
    ledgerText,
    report: verifyChain({
      ledgerText,
      snapshotFiles,
      readSnapshot: (path) => {
        const text = rig.github.fileAt(ref, `${GOV}/${path}`)
        return text === undefined ? undefined : new TextEncoder().encode(text)
      },
      sha256,
    }),
  }
}

export const ledgerEntries = (text: string | undefined) =>
  (text ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { path: string; sha256: string; prev: string | null; at: string })

/**
 * What `actions/checkout` gives the next scheduled run: the ledger's snapshots, committed on the
 * fake's branch, written into the workspace (readHistory reads them locally, not over the API).
 */
export async function checkoutSnapshots(rig: Rig, ref = 'main'): Promise<void> {
  for (const { path } of ledgerEntries(rig.github.fileAt(ref, `${GOV}/${LEDGER_FILE}`))) {
    const file = join(rig.workspace, GOV, path)
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, rig.github.fileAt(ref, `${GOV}/${path}`) ?? '')
  }
}

import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, posix } from 'node:path'
import * as core from '../../__fixtures__/core.js'
import { githubForge } from '../../src/adapters/forge/github.js'
import { createOctokit } from '../../src/adapters/forge/octokit.js'
import { repoFileReader } from '../../src/adapters/fs/repo-files.js'
import { gitLeakScanner } from '../../src/adapters/git/leak-scanner.js'
import { buildProvider } from '../../src/adapters/providers/registry.js'
import { createIdentityLoader } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { audit, type AuditReport } from '../../src/commands/audit.js'
import { LEDGER_FILE } from '../../src/ledger/chain.js'
import type { Forge } from '../../src/ports/forge.js'
import { silentLog } from '../../src/ports/log.js'
import { DASHBOARD_MARKER, ledgerHeadMarker } from '../../src/report/dashboard.js'
import { markerOf } from '../../src/report/issue-body.js'
import {
  at,
  dashboards,
  findingIssues,
  findingsOf,
  issueFindingsOf,
  GOV,
  head,
  ledgerEntries,
  runActionWith,
  startRig,
  verifyOnFake,
  writesOf,
  type ActionRun,
  type Rig,
} from '../../test/fakes/action-rig.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/action/main.js')

/**
 * `command: audit` through the action's `run()`, in process: the rig (test/fakes/action-rig.ts)
 * puts the demo governance repository in `gov/` of a git workspace and of the loopback GitHub
 * fake, with the demo provider fakes, the real vault, Octokit (throttling off), forge and leak
 * scanner; only @actions/core is mocked.
 */

const runAction = (rig: Rig, options: { now: string; dryRun?: boolean; maxIssues?: number }) =>
  runActionWith(run, rig, options)
/** The wiring of runAudit, for runs that need a Forge wrapped around githubForge. */
async function auditDirect(
  rig: Rig,
  now: string,
  wrap: (forge: Forge) => Forge = (f) => f,
  onRequest?: (method: string, url: string) => void,
): Promise<AuditReport> {
  const root = join(rig.workspace, GOV)
  const clock = fixedClock(now)
  const octokit = createOctokit({
    token: 'test-token',
    baseUrl: rig.apiUrl,
    log: silentLog,
    throttle: false,
  })
  if (onRequest) octokit.hook.before('request', (r) => onRequest(r.method, r.url))
  const forge = githubForge(octokit, {
    owner: 'owner',
    repo: 'repo',
    branch: 'main',
    root: GOV,
    log: silentLog,
  })
  return audit(
    { configFile: 'keyward.yaml', dryRun: false, maxIssuesPerRun: 50 },
    {
      readFile: repoFileReader(root),
      vault: new SopsAgeVault({
        root,
        identities: createIdentityLoader({ env: {}, ageKey: rig.identity, defaultKeysFile: false }),
        now: () => clock.now(),
        actor: 'test',
      }),
      forge: wrap(forge),
      scanner: gitLeakScanner(root, { log: silentLog }),
      clock,
      log: silentLog,
      openProvider: (id, settings, adminKey) => {
        const built = buildProvider(id, settings, adminKey, {
          log: silentLog,
          clock,
          http: { sleep: async () => {}, random: () => 0 },
        })
        return built && { provider: built.provider, close: () => built.http.close() }
      },
    },
  )
}

// ---------------------------------------------------------------------------------------------

describe('command audit, run hourly on the demo governance repository', () => {
  let rig: Rig
  let first: ActionRun
  let second: ActionRun
  let commitsBefore: number
  let afterFirst: { head: string; commits: number; dashboardBody: string; issues: number }

  beforeAll(async () => {
    rig = await startRig()
    commitsBefore = rig.github.commitsOn('main').length
    first = await runAction(rig, { now: at(0) })
    afterFirst = {
      head: head(rig.github),
      commits: rig.github.commitsOn('main').length,
      dashboardBody: dashboards(rig.github)[0]?.body ?? '',
      issues: rig.github.issues().length,
    }
    second = await runAction(rig, { now: at(1) })
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finishes without failing, twice', () => {
    expect(first.failed).toEqual([])
    expect(second.failed).toEqual([])
  })

  it('commits the snapshot, ledger line and state in one commit in the governance folder', () => {
    const commits = rig.github.commitsOn('main')
    expect(afterFirst.commits).toBe(commitsBefore + 1)
    const commit = commits.find((c) => c.sha === afterFirst.head)
    const parent = commit?.parents[0] as string
    const snapshot = first.outputs.snapshot as string
    expect(snapshot).toBe('audit/snapshots/2026/11/27/120000Z.json')
    expect(rig.github.fileAt(afterFirst.head, `${GOV}/${snapshot}`)).toBeDefined()
    expect(rig.github.fileAt(parent, `${GOV}/${snapshot}`)).toBeUndefined()
    expect(ledgerEntries(rig.github.fileAt(afterFirst.head, `${GOV}/${LEDGER_FILE}`))).toEqual([
      expect.objectContaining({ path: snapshot, sha256: first.outputs['ledger-head'], prev: null }),
    ])
    const state = JSON.parse(rig.github.fileAt(afterFirst.head, `${GOV}/audit/state.json`) ?? '{}')
    expect(Object.keys(state.providers ?? {}).sort()).toEqual(['anthropic', 'openai', 'openrouter'])
    // Nothing outside gov/ was written.
    expect(rig.github.fileAt(afterFirst.head, 'audit/ledger.jsonl')).toBeUndefined()
    // One tree, one commit, one ref update of main, no force, no Contents API writes; each
    // rotation pull request (the demo has keys past rotate_after) adds its own branch.
    const gitWrites = writesOf(first.calls).filter((w) => w.includes('/git/'))
    const branches = gitWrites.filter((w) => w.startsWith('POST') && w.endsWith('/git/refs'))
    expect(branches.length).toBeGreaterThan(0)
    expect(JSON.parse(first.outputs['pull-requests-opened'] ?? '[]')).toHaveLength(branches.length)
    expect(gitWrites.filter((w) => w.endsWith('/git/trees'))).toHaveLength(1 + branches.length)
    expect(gitWrites.filter((w) => w.endsWith('/git/commits'))).toHaveLength(1 + branches.length)
    expect(
      gitWrites.filter((w) => w.startsWith('PATCH') && w.endsWith('/git/refs/heads/main')),
    ).toHaveLength(1)
    expect(writesOf(first.calls).some((w) => w.includes('/contents/'))).toBe(false)
  })

  it('sets the snapshot, ledger-head, findings and issues outputs', () => {
    expect(first.outputs['ledger-head']).toMatch(/^sha256:[0-9a-f]{64}$/)
    const findings = issueFindingsOf(first)
    expect(findings.length).toBeGreaterThan(0)
    const created = JSON.parse(first.outputs['issues-created'] ?? 'null') as number[]
    expect(created).toHaveLength(findings.length)
    expect(created.sort((a, b) => a - b)).toEqual(
      findingIssues(rig.github)
        .map((i) => i.number)
        .filter((n) => created.includes(n)),
    )
    // The demo's keys past rotate_after (and the canary's workflow) get rotation pull requests.
    const opened = JSON.parse(first.outputs['pull-requests-opened'] ?? 'null') as number[]
    expect(opened.length).toBeGreaterThan(0)
    expect(opened.sort((a, b) => a - b)).toEqual(
      rig.github
        .pulls()
        .map((p) => p.number)
        .sort((a, b) => a - b),
    )
  })

  it('opens one issue per finding, with the SPEC §5 marker and the keyward label', () => {
    const findings = issueFindingsOf(first)
    const issues = findingIssues(rig.github)
    expect(issues).toHaveLength(findings.length)
    for (const issue of issues) {
      expect(issue.labels).toContain('keyward')
      expect(issue.body).toMatch(/<!-- keyward:finding \S+ -->/)
    }
    expect(issues.map((i) => markerOf(i.body ?? '')).sort()).toEqual(
      findings.map((f) => f.fingerprint).sort(),
    )
    for (const issue of issues) {
      const finding = findings.find((f) => f.fingerprint === markerOf(issue.body ?? ''))
      expect(issue.labels).toEqual(
        expect.arrayContaining([`keyward:${finding?.rule}`, `severity:${finding?.severity}`]),
      )
    }
  })

  it('keeps one dashboard issue carrying the ledger head of each run', () => {
    expect(afterFirst.dashboardBody).toContain(DASHBOARD_MARKER)
    expect(afterFirst.dashboardBody).toContain(
      ledgerHeadMarker(first.outputs['ledger-head'] as string),
    )
    const boards = dashboards(rig.github)
    expect(boards).toHaveLength(1)
    expect(boards[0]?.labels).toContain('keyward')
    expect(boards[0]?.state).toBe('open')
    expect(boards[0]?.body).toContain(
      `<!-- keyward:ledger-head ${second.outputs['ledger-head']} -->`,
    )
    expect(writesOf(second.calls)).toContain(`PATCH /repos/owner/repo/issues/${boards[0]?.number}`)
  })

  it('lists every open finding issue on the dashboard, also those this run did not find again', () => {
    const board = dashboards(rig.github)[0]?.body ?? ''
    const open = findingIssues(rig.github).filter((i) => i.state === 'open')
    const missing = open.filter((i) => !board.includes(`#${i.number} `)).map((i) => i.title)
    expect(missing).toEqual([])
  })

  it('reports the GitHub requests it made in the job summary', () => {
    for (const r of [first, second]) {
      const count = /(\d+) GitHub requests?/.exec(r.summary)?.[1]
      expect(count).toBeDefined()
      expect(Number(count)).toBe(r.calls.length)
    }
    expect(first.summary).toContain('"kind":"write"')
  })

  it('an hour later: one more commit, no new issue, the dashboard updated and not duplicated', () => {
    expect(rig.github.commitsOn('main')).toHaveLength(afterFirst.commits + 1)
    expect(rig.github.commitsOn('main')[0]?.parents).toEqual([afterFirst.head])
    expect(second.outputs.snapshot).toBe('audit/snapshots/2026/11/27/130000Z.json')
    expect(JSON.parse(second.outputs['issues-created'] ?? 'null')).toEqual([])
    expect(writesOf(second.calls).filter((w) => w === 'POST /repos/owner/repo/issues')).toEqual([])
    expect(rig.github.issues()).toHaveLength(afterFirst.issues)
    expect(dashboards(rig.github)).toHaveLength(1)
  })

  it('leaves a ledger that verifies, chained across both runs', async () => {
    const { report, ledgerText } = await verifyOnFake(rig)
    expect(report).toMatchObject({ ok: true, snapshots: 2, head: second.outputs['ledger-head'] })
    const [one, two] = ledgerEntries(ledgerText)
    expect(two?.prev).toBe(one?.sha256)
  })

  it('masks every decrypted key and leaks none into issues, files, outputs, logs or the summary', () => {
    expect(rig.plaintext.length).toBeGreaterThanOrEqual(7)
    const masked = [...first.secrets, ...second.secrets]
    const texts = [
      first.allText,
      second.allText,
      ...rig.github.issues().flatMap((i) => [i.title, i.body ?? '']),
      ...rig.github.issues().flatMap((i) => rig.github.comments(i.number).map((c) => c.body)),
      ...[...rig.github.state.blobs.values()].map((b) => b.toString('utf8')),
      ...rig.github.commitsOn('main').map((c) => c.message),
    ]
    for (const secret of rig.plaintext) {
      expect(masked).toContain(secret)
      for (const text of texts) expect(text.includes(secret)).toBe(false)
    }
    const identityLine = rig.identity
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-')) as string
    expect(masked).toContain(identityLine)
    expect([first.allText, second.allText].some((t) => t.includes(identityLine))).toBe(false)
  })
})

describe('max-issues-per-run', () => {
  let rig: Rig

  beforeAll(async () => {
    rig = await startRig()
  })

  afterAll(async () => {
    await rig?.stop()
  })

  it('creates two issues, warns naming the input, and creates the rest on the next run', async () => {
    const capped = await runAction(rig, { now: at(0), maxIssues: 2 })
    const findings = issueFindingsOf(capped)

    expect(capped.failed).toEqual([])
    expect(findings.length).toBeGreaterThan(2)
    expect(JSON.parse(capped.outputs['issues-created'] ?? 'null')).toHaveLength(2)
    expect(findingIssues(rig.github)).toHaveLength(2)
    expect(capped.warnings.some((w) => w.includes('max-issues-per-run'))).toBe(true)
    // The dashboard lists every finding, those still without an issue included.
    const board = dashboards(rig.github)[0]?.body ?? ''
    expect(board).toContain(`Warnings (`)
    expect(capped.summary).toMatch(/left for the next run \(max-issues-per-run\)/)

    const rest = await runAction(rig, { now: at(1) })

    expect(JSON.parse(rest.outputs['issues-created'] ?? 'null')).toHaveLength(findings.length - 2)
    const fingerprints = findingIssues(rig.github).map((i) => markerOf(i.body ?? ''))
    expect(new Set(fingerprints).size).toBe(fingerprints.length)
    expect(fingerprints.sort()).toEqual(findings.map((f) => f.fingerprint).sort())
    expect(dashboards(rig.github)).toHaveLength(1)
  }, 60_000)
})

describe('dry-run', () => {
  let rig: Rig

  beforeAll(async () => {
    rig = await startRig()
  })

  afterAll(async () => {
    await rig?.stop()
  })

  it('computes the findings and writes nothing at all to GitHub', async () => {
    const headBefore = head(rig.github)

    const dry = await runAction(rig, { now: at(0), dryRun: true })

    expect(dry.failed).toEqual([])
    expect(rig.github.writeCalls()).toEqual([])
    expect(findingsOf(dry).length).toBeGreaterThan(0)
    expect(dry.outputs.snapshot).toBe('')
    expect(JSON.parse(dry.outputs['issues-created'] ?? 'null')).toEqual([])
    expect(head(rig.github)).toBe(headBefore)
    expect(rig.github.issues()).toEqual([])
    expect(dry.summary).toContain('Dry run')
  }, 60_000)
})

describe('concurrent writers', () => {
  let rig: Rig

  beforeAll(async () => {
    rig = await startRig()
    const firstRun = await runAction(rig, { now: at(0) })
    expect(firstRun.failed).toEqual([])
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('a push between the read and the commit: the audit rebuilds on it and loses nothing', async () => {
    let pushed: string | undefined
    const report = await auditDirect(rig, at(1), (forge) => ({
      ...forge,
      async commitFiles(files, message, parent) {
        pushed ??= rig.github.advanceHead('main', { 'gov/notes/person.md': 'a person pushed\n' })
        return forge.commitFiles(files, message, parent)
      },
    }))

    expect(report.committed).toBe(true)
    const [top] = rig.github.commitsOn('main')
    expect(top?.parents).toEqual([pushed])
    expect(rig.github.fileAt('main', 'gov/notes/person.md')).toBe('a person pushed\n')
    expect(rig.github.fileAt('main', `${GOV}/${report.snapshot}`)).toBeDefined()
    const { report: verified } = await verifyOnFake(rig)
    expect(verified).toMatchObject({ ok: true, snapshots: 2, head: report.ledgerHead })
  }, 60_000)

  it('a push between the new commit and the ref update (422): re-planned on the new head, without force', async () => {
    let pushed: string | undefined
    const before = rig.github.calls.length
    const report = await auditDirect(
      rig,
      at(2),
      (forge) => forge,
      (method, url) => {
        if (method === 'PATCH' && url.includes('/git/refs/') && !pushed)
          pushed = rig.github.advanceHead('main', { 'gov/notes/second.md': 'second push\n' })
      },
    )

    expect(report.committed).toBe(true)
    const refUpdates = rig.github.calls
      .slice(before)
      .filter((c) => c.method === 'PATCH' && c.path === '/repos/owner/repo/git/refs/heads/main')
    expect(refUpdates.map((c) => c.status)).toEqual([422, 200])
    const [top] = rig.github.commitsOn('main')
    expect(top?.parents).toEqual([pushed])
    for (const file of ['gov/notes/person.md', 'gov/notes/second.md'])
      expect(rig.github.fileAt('main', file)).toBeDefined()
    const { report: verified } = await verifyOnFake(rig)
    expect(verified).toMatchObject({ ok: true, snapshots: 3, head: report.ledgerHead })
  }, 60_000)
})

describe('two runs at once on a fresh repository, both listing the issues before either writes', () => {
  let rig: Rig
  let a: AuditReport
  let b: AuditReport

  beforeAll(async () => {
    rig = await startRig()
    // The worst interleaving: each run lists the keyward issues before the other creates any.
    let waiting = 0
    let release: () => void = () => {}
    const bothListed = new Promise<void>((resolve) => (release = resolve))
    const barrier = (forge: Forge): Forge => ({
      ...forge,
      async listIssues() {
        const issues = await forge.listIssues()
        if (++waiting === 2) release()
        await bothListed
        return issues
      },
    })
    // And the run whose clock is later commits first (it started later but read faster):
    // the earlier run re-plans its ledger line on top of it.
    let bCommitted: () => void = () => {}
    const bFirst = new Promise<void>((resolve) => (bCommitted = resolve))
    const commitsSecond = (forge: Forge): Forge => ({
      ...barrier(forge),
      async commitFiles(files, message, parent) {
        await bFirst
        return forge.commitFiles(files, message, parent)
      },
    })
    const commitsFirst = (forge: Forge): Forge => ({
      ...barrier(forge),
      async commitFiles(files, message, parent) {
        try {
          return await forge.commitFiles(files, message, parent)
        } finally {
          bCommitted()
        }
      },
    })
    ;[a, b] = await Promise.all([
      auditDirect(rig, at(0), commitsSecond),
      auditDirect(rig, new Date(Date.parse(at(0)) + 60_000).toISOString(), commitsFirst),
    ])
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('lands both snapshots in one chained ledger, losing no commit', async () => {
    expect(a.committed && b.committed).toBe(true)
    const { report, ledgerText } = await verifyOnFake(rig)
    expect(report.broken).toBeUndefined()
    expect(report).toMatchObject({ ok: true, snapshots: 2 })
    expect(
      ledgerEntries(ledgerText)
        .map((e) => e.path)
        .sort(),
    ).toEqual([a.snapshot, b.snapshot].sort())
    expect(rig.github.commitsOn('main')).toHaveLength(3)
  })

  it('leaves one open issue per finding and one dashboard', () => {
    const open = findingIssues(rig.github).filter((i) => i.state === 'open')
    const fingerprints = open.map((i) => markerOf(i.body ?? ''))
    expect(fingerprints.length - new Set(fingerprints).size).toBe(0)
    expect(dashboards(rig.github).filter((i) => i.state === 'open')).toHaveLength(1)
  })

  it('converges on the next run: duplicates closed, one open issue per finding', async () => {
    const next = await runAction(rig, { now: at(1) })

    expect(next.failed).toEqual([])
    const open = findingIssues(rig.github).filter((i) => i.state === 'open')
    const fingerprints = open.map((i) => markerOf(i.body ?? ''))
    expect(fingerprints.length - new Set(fingerprints).size).toBe(0)
  }, 60_000)
})

describe('GitHub calls per run', () => {
  let rig: Rig

  beforeAll(async () => {
    rig = await startRig()
  })

  afterAll(async () => {
    await rig?.stop()
  })

  it('reads a bounded number of times, however many snapshots the ledger holds', async () => {
    const runs: ActionRun[] = []
    for (let hour = 0; hour < 4; hour++) {
      runs.push(await runAction(rig, { now: at(hour) }))
      // Each scheduled run starts from actions/checkout: the committed snapshots are local.
      const ledger = rig.github.fileAt('main', `${GOV}/audit/ledger.jsonl`) ?? ''
      for (const line of ledger.split('\n').filter(Boolean)) {
        const { path } = JSON.parse(line) as { path: string }
        const file = join(rig.workspace, GOV, path)
        await mkdir(join(file, '..'), { recursive: true })
        await writeFile(file, rig.github.fileAt('main', `${GOV}/${path}`) ?? '')
      }
    }
    const reads = runs.map((r) => r.calls.filter((c) => c.method === 'GET').length)

    expect(runs.every((r) => r.failed.length === 0)).toBe(true)
    // Runs 2, 3 and 4 do the same work; only the number of earlier snapshots differs.
    expect(reads[2]).toBe(reads[1])
    expect(reads[3]).toBe(reads[1])
  }, 60_000)
})

describe('the bundled action, spawned as the runner spawns it', () => {
  const BUNDLE = join(import.meta.dirname, '../../dist/index.js')
  let rig: Rig

  beforeAll(async () => {
    rig = await startRig()
  })

  afterAll(async () => {
    await rig?.stop()
  })

  /** `name<<delimiter` blocks of a GITHUB_OUTPUT file. */
  function parseOutputs(text: string): Record<string, string> {
    const out: Record<string, string> = {}
    const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm
    for (const m of text.matchAll(re)) out[m[1] as string] = m[3] as string
    return out
  }

  it('audits through dist/index.js with INPUT_* from action.yml: exit 0, outputs, one commit', async () => {
    const { parse } = await import('yaml')
    const action = parse(await readFile(join(import.meta.dirname, '../../action.yml'), 'utf8')) as {
      inputs: Record<string, { default?: string }>
    }
    const given: Record<string, string> = {
      config: `${GOV}/keyward.yaml`,
      'age-key': rig.identity,
      'max-issues-per-run': '2',
    }
    const inputs: Record<string, string> = {}
    for (const [name, spec] of Object.entries(action.inputs)) {
      const fallback = String(spec.default ?? '')
      const value = given[name] ?? (/\$\{\{/.test(fallback) ? 'test-token' : fallback)
      inputs[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
    }
    expect(inputs['INPUT_DRY-RUN']).toBe('false')
    expect(inputs['INPUT_GITHUB-TOKEN']).toBe('test-token')
    const files = join(rig.workspace, '..', `${posix.basename(rig.workspace)}-runner`)
    await rm(files, { recursive: true, force: true })
    await mkdir(files, { recursive: true })
    const outputFile = join(files, 'output')
    const summaryFile = join(files, 'summary')
    const eventFile = join(files, 'event.json')
    await writeFile(outputFile, '')
    await writeFile(summaryFile, '')
    await writeFile(eventFile, '{}')
    const headBefore = head(rig.github)

    try {
      const child = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            process.execPath,
            [BUNDLE],
            {
              cwd: rig.workspace,
              env: {
                ...rig.env,
                ...inputs,
                GITHUB_OUTPUT: outputFile,
                GITHUB_STEP_SUMMARY: summaryFile,
                GITHUB_EVENT_PATH: eventFile,
                GITHUB_EVENT_NAME: 'schedule',
                GITHUB_ACTIONS: 'true',
              },
              timeout: 90_000,
            },
            (error, stdout, stderr) =>
              resolve({
                code: error ? ((error as { code?: number }).code ?? 1) : 0,
                stdout,
                stderr,
              }),
          )
        },
      )
      const outputs = parseOutputs(await readFile(outputFile, 'utf8'))
      const summary = await readFile(summaryFile, 'utf8')

      expect({
        code: child.code,
        errors: child.stdout.split('\n').filter((l) => l.startsWith('::error')),
      }).toEqual({ code: 0, errors: [] })
      expect(outputs.snapshot).toMatch(/^audit\/snapshots\/\d{4}\/\d{2}\/\d{2}\/\d{6}Z\.json$/)
      expect(outputs['ledger-head']).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(JSON.parse(outputs['issues-created'] ?? 'null')).toHaveLength(2)
      expect(child.stdout).toMatch(/::warning::.*max-issues-per-run/)
      const [top] = rig.github.commitsOn('main')
      expect(top?.parents).toEqual([headBefore])
      expect(rig.github.fileAt('main', `${GOV}/${outputs.snapshot}`)).toBeDefined()
      expect(summary).toMatch(/\d+ GitHub requests?/)
      // Decrypted keys reach the runner only to be masked.
      for (const secret of rig.plaintext) {
        const lines = [...child.stdout.split('\n'), ...child.stderr.split('\n')]
        expect(lines.filter((l) => l.includes(secret) && !l.startsWith('::add-mask::'))).toEqual([])
        expect(lines.some((l) => l === `::add-mask::${secret}`)).toBe(true)
        expect(summary.includes(secret) || JSON.stringify(outputs).includes(secret)).toBe(false)
      }
    } finally {
      await rm(files, { recursive: true, force: true })
    }
  }, 120_000)
})

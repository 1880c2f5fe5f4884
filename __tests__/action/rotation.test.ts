import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { decryptSops } from 'sops-age'
import * as core from '../../__fixtures__/core.js'
import { createIdentityLoader } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { redactedHint } from '../../src/analysis/key-matching.js'
import { LEDGER_FILE } from '../../src/ledger/chain.js'
import { main, type CliDeps } from '../../src/cli/main.js'
import { productionDeps } from '../../src/cli/wiring.js'
import type { RecordedRequest } from '../../src/demo/fake-server.js'
import {
  at,
  checkoutSnapshots,
  filesOf,
  findingIssues,
  findingsOf,
  GOV,
  head,
  ledgerEntries,
  runActionWith,
  startRig,
  T0,
  verifyOnFake,
  walk,
  type ActionRun,
  type Rig,
} from '../../test/fakes/action-rig.js'
import { fixedClock } from '../../test/fakes/fixed-clock.js'
import type { FakeIssue } from '../../test/fakes/github-server.js'

jest.unstable_mockModule('@actions/core', () => core)
const { run } = await import('../../src/action/main.js')

/**
 * Rotation (issue #7) through the action's `run()`, in process, on the rig of
 * test/fakes/action-rig.ts: the loopback GitHub fake (a person merges, closes and pushes with its
 * test controls), the demo provider fakes, the real SOPS+age vault and the demo identity. Only
 * @actions/core is mocked. Each run is one scheduled run: `rig.checkout()` before it plays
 * `actions/checkout` of the fake's main branch.
 */

const runAction = (rig: Rig, options: { now: string; maxPrs?: number }) =>
  runActionWith(run, rig, options)

const OR_KEY = 'night-batch-openrouter'
const OR_LABEL = 'Nightly Transcript Batch - OpenRouter'
const OR_FILE = 'keys/night-batch-openrouter.sops.yaml'
const AVATAR = 'avatar-video-openai'
const CANARY = 'honeypot-openai'
const BLOG = 'blog-writer-anthropic'
const BLOG_FILE = 'keys/blog-writer-anthropic.sops.yaml'
const branchOf = (keyId: string) => `keyward/rotate/${keyId}`
const refPath = (branch: string) => `/repos/owner/repo/git/refs/heads/${branch}`
const MINTS = (r: RecordedRequest) => r.method === 'POST' && r.path === '/api/v1/keys'

/** keyward.yaml with `keyId`'s `created` moved: an old date makes its rotation due. */
const withCreated = (keyId: string, created: string) => (text: string) => {
  const entry = new RegExp(`(\\n  ${keyId}:\\n(?: {4}.*\\n)*? {4}created: )\\d{4}-\\d{2}-\\d{2}`)
  expect(text).toMatch(entry)
  return text.replace(entry, `$1${created}`)
}
const both =
  (...edits: ((text: string) => string)[]) =>
  (text: string) =>
    edits.reduce((t, edit) => edit(t), text)

/** The rotation pull requests of a key, by number. */
const pullsOf = (rig: Rig, keyId: string) =>
  rig.github.pulls().filter((p) => p.pull?.head === branchOf(keyId))

/** The hidden marker of a rotation pull request, read as JSON (not through src). */
function markerOf(pr: FakeIssue | undefined): Record<string, unknown> | undefined {
  const json = /<!-- keyward:rotation (\{[^\n]*\}) -->/.exec(pr?.body ?? '')?.[1]
  return json === undefined ? undefined : (JSON.parse(json) as Record<string, unknown>)
}

interface Snapshot {
  providers: Record<
    string,
    {
      keys: { providerKeyId: string; status: string }[] | null | 'unchanged'
      usage: { providerKeyId?: string; start: string; requests?: number }[]
    }
  >
  matches: Record<string, { provider_key_id?: string }>
  rotation: {
    opened: number[]
    minted: unknown[]
    recorded: unknown[]
    deactivated: unknown[]
  }
}

const snapshotOf = (rig: Rig, r: ActionRun) =>
  JSON.parse(rig.github.fileAt('main', `${GOV}/${r.outputs.snapshot}`) ?? 'null') as Snapshot

/**
 * A provider's key listing as of a run: its snapshot's, or (`"unchanged"`, written when the
 * listing is the same as earlier that day) the latest earlier snapshot's that holds one.
 */
function listingAt(rig: Rig, r: ActionRun, provider: string) {
  const paths = ledgerEntries(rig.github.fileAt('main', `${GOV}/${LEDGER_FILE}`)).map((e) => e.path)
  for (let i = paths.indexOf(r.outputs.snapshot ?? ''); i >= 0; i--) {
    const text = rig.github.fileAt('main', `${GOV}/${paths[i]}`) ?? 'null'
    const keys = (JSON.parse(text) as Snapshot).providers[provider]?.keys
    if (Array.isArray(keys)) return keys
  }
  return undefined
}

const opened = (r: ActionRun) => JSON.parse(r.outputs['pull-requests-opened'] ?? 'null') as number[]

/** Writes (not reads) of one branch's ref during a run. */
const refWrites = (r: ActionRun, branch: string) =>
  r.calls.filter((c) => c.method !== 'GET' && c.path === refPath(branch))

/** A provider fake's requests made from `from` on. */
const since = (requests: readonly RecordedRequest[], from: number) => requests.slice(from)

const identityLine = (rig: Rig) =>
  rig.identity.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-')) as string

const demoVault = (rig: Rig, root: string) =>
  new SopsAgeVault({
    root,
    identities: createIdentityLoader({ env: {}, ageKey: rig.identity, defaultKeysFile: false }),
    now: () => new Date(T0),
    actor: 'test',
  })

/** The governance folder of a branch on the fake, as a fresh git repository (a clone). */
async function cloneGov(rig: Rig, ref: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-rotation-clone-'))
  for (const [path, text] of Object.entries(filesOf(rig.github, ref))) {
    if (!path.startsWith(`${GOV}/`)) continue
    const file = join(dir, path.slice(GOV.length + 1))
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, text)
  }
  const git = (...args: string[]) =>
    promisify(execFile)(
      'git',
      ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false', ...args],
      { cwd: dir },
    )
  await git('init', '--quiet', '-b', 'main')
  await git('add', '-A')
  await git('commit', '--quiet', '--no-verify', '-m', `clone of ${ref}`)
  return dir
}

/** Plaintext needles: each secret whole, and a middle slice that no hint could hold. */
const needlesOf = (secrets: readonly string[]) =>
  secrets.flatMap((s) => [s, s.slice(Math.floor(s.length / 2) - 8, Math.floor(s.length / 2) + 8)])

/** The texts (shortened) that hold any of the needles. */
const leaksIn = (texts: readonly string[], secrets: readonly string[]) =>
  texts.filter((t) => needlesOf(secrets).some((n) => t.includes(n))).map((t) => t.slice(0, 120))

/** Every text a secret must never reach: runs, issues, pull requests, comments, git objects. */
function everyText(rig: Rig, runs: readonly ActionRun[]): string[] {
  const items = [...rig.github.state.issues.values()]
  return [
    ...runs.map((r) => r.allText),
    ...items.flatMap((i) => [i.title, i.body ?? '']),
    ...rig.github.state.comments.map((c) => c.body),
    ...[...rig.github.state.blobs.values()].map((b) => b.toString('utf8')),
    ...[...rig.github.state.commits.values()].map((c) => c.message),
  ]
}

// ---------------------------------------------------------------------------------------------

describe('a minted rotation of the OpenRouter key, from the pull request to the old key switched off', () => {
  let rig: Rig
  let oldHash: string
  const runs: Record<'opened' | 'pending' | 'merged' | 'retired' | 'settled', ActionRun> =
    {} as never
  /** OpenRouter requests of each run. */
  const orRequests: Record<string, RecordedRequest[]> = {}
  let pr: FakeIssue | undefined
  let minted: { hash: string; secret: string; request: unknown } | undefined
  let branchFiles: Record<string, string>
  let mainFilesAtOpen: Record<string, string>
  let mainHeadBeforeOpen: string
  let humanlessBranchHead: string | undefined
  let mergeSha: string | undefined

  const step = async (name: keyof typeof runs, now: string) => {
    const requests = rig.providers.servers.openrouter.requests
    const from = requests.length
    await rig.checkout()
    runs[name] = await runAction(rig, { now })
    orRequests[name] = since(requests, from)
  }

  beforeAll(async () => {
    rig = await startRig({
      inventory: withCreated(OR_KEY, '2026-05-01'),
      recordProviderResponses: true,
    })
    oldHash = rig.dataset.providerKeyIds[OR_KEY]
    mainHeadBeforeOpen = head(rig.github)
    mainFilesAtOpen = filesOf(rig.github, 'main')

    await step('opened', at(0))
    pr = pullsOf(rig, OR_KEY)[0]
    const mint = rig.exchanges.find(
      (e) => e.provider === 'openrouter' && e.method === 'POST' && e.path === '/api/v1/keys',
    )
    if (mint) {
      const answer = JSON.parse(mint.responseBody) as { data: { hash: string }; key: string }
      minted = { hash: answer.data.hash, secret: answer.key, request: JSON.parse(mint.requestBody) }
    }
    branchFiles = pr ? filesOf(rig.github, branchOf(OR_KEY)) : {}
    humanlessBranchHead = rig.github.state.refs.get(branchOf(OR_KEY))

    await step('pending', at(0.25))

    if (pr) {
      rig.setGitHubTime(at(0.5))
      mergeSha = rig.github.mergePull(pr.number, { by: 'maria' })
    }
    await step('merged', at(1.5))
    await step('retired', at(25))
    await step('settled', at(26))
  }, 120_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finishes every run without failing', () => {
    for (const r of Object.values(runs)) expect(r.failed).toEqual([])
  })

  it('opens one pull request from keyward/rotate/<key-id>, labelled, assigned to the owner, with a marker', () => {
    expect(pullsOf(rig, OR_KEY)).toHaveLength(1)
    expect(pr).toBeDefined()
    expect(opened(runs.opened)).toContain(pr?.number)
    expect(pr).toMatchObject({
      title: `Rotate ${OR_KEY} (${OR_LABEL})`,
      labels: expect.arrayContaining(['keyward', 'keyward:rotation']),
      assignees: ['jeff'],
      pull: { base: 'main' },
    })
    expect(markerOf(pr)).toEqual({
      key: OR_KEY,
      provider: 'openrouter',
      old: oldHash,
      new: minted?.hash,
      mode: 'minted',
      reason: 'rotation-due',
      period: '2026-11',
    })
  })

  it('mints the replacement once, named by the label, with the cap and the old key’s workspace', () => {
    const mints = Object.values(orRequests).flat().filter(MINTS)
    expect(mints).toHaveLength(1)
    expect(minted?.request).toEqual({
      name: OR_LABEL,
      limit: 20,
      limit_reset: 'monthly',
      workspace_id: rig.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.workspace_id,
    })
    expect(minted?.secret).toMatch(/^sk-or-v1-[0-9a-f]{64}$/)
  })

  it('commits only the key file and keyward.yaml, in one keyward commit on top of main', () => {
    const commit = rig.github.commitsOn(branchOf(OR_KEY))[0]
    expect(commit?.sha).toBe(humanlessBranchHead)
    expect(commit?.parents).toEqual([mainHeadBeforeOpen])
    expect(commit?.message).toMatch(/\nKeyward-Rotation: night-batch-openrouter$/)
    const changed = [...new Set([...Object.keys(branchFiles), ...Object.keys(mainFilesAtOpen)])]
      .filter((path) => branchFiles[path] !== mainFilesAtOpen[path])
      .sort()
    expect(changed).toEqual([`${GOV}/${OR_FILE}`, `${GOV}/keyward.yaml`])
  })

  it('sets created to today and provider_key_id to the minted key in keyward.yaml, nothing else', () => {
    const before = mainFilesAtOpen[`${GOV}/keyward.yaml`] ?? ''
    const expected = before.replace(
      /(\n {2}night-batch-openrouter:\n(?: {4}.*\n)*? {4}created: )2026-05-01\n/,
      `$12026-11-27\n    provider_key_id: "${minted?.hash}"\n`,
    )
    expect(expected).not.toBe(before)
    expect(branchFiles[`${GOV}/keyward.yaml`]).toBe(expected)
  })

  it('encrypts the minted key to the .sops.yaml recipients: keyward and sops-age both decrypt it, MAC verified', async () => {
    const text = branchFiles[`${GOV}/${OR_FILE}`] ?? ''
    expect(text).toContain('ENC[AES256_GCM,')
    const dir = await mkdtemp(join(tmpdir(), 'keyward-minted-'))
    try {
      await writeFile(join(dir, '.sops.yaml'), mainFilesAtOpen[`${GOV}/.sops.yaml`] ?? '')
      await mkdir(join(dir, 'keys'))
      await writeFile(join(dir, OR_FILE), text)
      const vault = demoVault(rig, dir)

      const { values } = await vault.decrypt(OR_FILE, 'check', OR_KEY)
      const independent = await decryptSops(text, {
        secretKey: identityLine(rig),
        fileType: 'yaml',
      })
      const inspection = await vault.inspect(OR_FILE)

      expect(minted?.secret).toBeDefined()
      expect(values).toEqual({ api_key: minted?.secret })
      expect(independent).toEqual({ api_key: minted?.secret })
      expect(inspection).toMatchObject({
        kind: 'sops',
        recipients: await vault.expectedRecipients(OR_FILE),
      })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('masks the minted key the moment it exists', () => {
    expect(runs.opened.secrets).toContain(minted?.secret)
  })

  it('records the minted key in the snapshot of the run that opened the pull request', () => {
    expect(snapshotOf(rig, runs.opened).rotation).toMatchObject({
      opened: expect.arrayContaining([pr?.number]),
      minted: [
        {
          key: OR_KEY,
          provider: 'openrouter',
          provider_key_id: minted?.hash,
          pull_request: pr?.number,
        },
      ],
      recorded: [],
      deactivated: [],
    })
  })

  it('while the pull request is open: mints nothing more, opens nothing, leaves the branch alone', () => {
    expect(orRequests.pending?.filter(MINTS)).toEqual([])
    expect(opened(runs.pending)).toEqual([])
    expect(refWrites(runs.pending, branchOf(OR_KEY))).toEqual([])
    expect(rig.github.state.refs.get(branchOf(OR_KEY))).toBe(humanlessBranchHead)
  })

  it('does not report its own minted key as an unmanaged key while the pull request is open', () => {
    const unmanaged = findingsOf(runs.pending).filter(
      (f) => f.rule === 'unmanaged-key' && JSON.stringify(f).includes(minted?.hash ?? '-'),
    )
    expect(unmanaged).toEqual([])
    expect(findingIssues(rig.github).map((i) => i.title)).not.toContainEqual(
      expect.stringContaining(`"${OR_LABEL}"`),
    )
  })

  it('after the merge, records the rotation once: old and new key ids, pull request, who merged it', () => {
    expect(mergeSha).toBeDefined()
    expect(snapshotOf(rig, runs.merged).rotation.recorded).toEqual([
      {
        key: OR_KEY,
        provider: 'openrouter',
        old_provider_key_id: oldHash,
        new_provider_key_id: minted?.hash,
        pull_request: pr?.number,
        merged_by: 'maria',
        merged_at: '2026-11-27T12:30:00Z',
      },
    ])
    expect(snapshotOf(rig, runs.retired).rotation.recorded).toEqual([])
    expect(snapshotOf(rig, runs.settled).rotation.recorded).toEqual([])
    // The merged inventory points at the new key, and the new key is no longer due.
    expect(snapshotOf(rig, runs.merged).matches[OR_KEY]?.provider_key_id).toBe(minted?.hash)
    expect(findingsOf(runs.merged).filter((f) => f.rule === 'rotation-due')).not.toContainEqual(
      expect.objectContaining({ fingerprint: expect.stringContaining(OR_KEY) }),
    )
  })

  it('leaves the old key enabled within rotation_grace (24h) of the merge', () => {
    const writes = orRequests.merged?.filter(
      (r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query',
    )
    expect(writes).toEqual([])
    const old = listingAt(rig, runs.merged, 'openrouter')?.find((k) => k.providerKeyId === oldHash)
    expect(old?.status).toBe('active')
    expect(snapshotOf(rig, runs.merged).rotation.deactivated).toEqual([])
  })

  it('does not report the rotated-out key as unmanaged during the grace period', () => {
    const unmanaged = findingsOf(runs.merged).filter(
      (f) => f.rule === 'unmanaged-key' && JSON.stringify(f).includes(oldHash),
    )
    expect(unmanaged).toEqual([])
  })

  it('disables the old key with PATCH {disabled: true} once the grace period is over, and records it', () => {
    const writes = orRequests.retired?.filter(
      (r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query',
    )
    expect(writes?.map((r) => ({ method: r.method, path: r.path, body: r.body }))).toEqual([
      { method: 'PATCH', path: `/api/v1/keys/${oldHash}`, body: { disabled: true } },
    ])
    expect(rig.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.disabled).toBe(true)
    expect(rig.dataset.openrouter.keys.find((k) => k.hash === minted?.hash)?.disabled).toBe(false)
    expect(snapshotOf(rig, runs.retired).rotation.deactivated).toEqual([
      { key: OR_KEY, provider: 'openrouter', provider_key_id: oldHash, at: at(25) },
    ])
  })

  it('a later run writes nothing more to the provider or to any rotation branch', () => {
    const writes = orRequests.settled?.filter(
      (r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query',
    )
    expect(writes).toEqual([])
    expect(snapshotOf(rig, runs.settled).rotation).toEqual({
      opened: [],
      minted: [],
      recorded: [],
      deactivated: [],
    })
    expect(
      runs.settled.calls.filter(
        (c) => c.method !== 'GET' && c.path.startsWith(refPath('keyward/rotate/')),
      ),
    ).toEqual([])
    expect(
      runs.settled.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/pulls')),
    ).toEqual([])
  })

  it('keeps a ledger that verifies across the five runs', async () => {
    const { report } = await verifyOnFake(rig)
    expect(report).toMatchObject({ ok: true, snapshots: 5 })
  })

  it('puts no plaintext key in a pull request, a branch, a commit, an issue, the logs, the summary or the ledger', async () => {
    expect(minted?.secret).toBeDefined()
    const secrets = [...rig.plaintext, minted?.secret as string]
    const workspace = await Promise.all(
      (await walk(join(rig.workspace, GOV, 'audit'))).map((p) =>
        readFile(join(rig.workspace, GOV, 'audit', p), 'utf8'),
      ),
    )
    const texts = [...everyText(rig, Object.values(runs)), ...workspace]
    expect(texts.length).toBeGreaterThan(20)
    expect(leaksIn(texts, secrets)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------

describe('a person’s commit on a rotation branch', () => {
  let rig: Rig
  let first: ActionRun
  let next: ActionRun
  let nextMonth: ActionRun
  let pr: FakeIssue | undefined
  let human: string
  let personFile: string
  let afterNext: { state?: string; pulls: number[] } = { pulls: [] }

  beforeAll(async () => {
    rig = await startRig()
    first = await runAction(rig, { now: at(0) })
    pr = pullsOf(rig, AVATAR)[0]
    // The person stores the new key on the branch, as the checklist asks.
    personFile = await demoVault(rig, join(rig.workspace, GOV)).seal(`keys/${AVATAR}.sops.yaml`, {
      api_key: ['sk', 'proj', randomBytes(40).toString('base64url')].join('-'),
    })
    rig.setGitHubTime(at(0.5))
    human = rig.github.pushCommit(
      branchOf(AVATAR),
      { [`${GOV}/keys/${AVATAR}.sops.yaml`]: personFile },
      'Store the new avatar key',
      { name: 'Jeff', email: 'jeff@example.com' },
    )
    await checkoutSnapshots(rig)
    next = await runAction(rig, { now: at(1) })
    afterNext = {
      state: pullsOf(rig, AVATAR)[0]?.state,
      pulls: pullsOf(rig, AVATAR).map((p) => p.number),
    }
    // Closed unmerged; next month the key is due again, and the branch still has the commit.
    rig.setGitHubTime(at(2))
    if (pr) rig.github.closePull(pr.number)
    await rig.checkout()
    nextMonth = await runAction(rig, { now: '2026-12-01T12:00:00.000Z' })
  }, 120_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finishes every run without failing', () => {
    expect([first.failed, next.failed, nextMonth.failed]).toEqual([[], [], []])
  })

  it('survives the next run: the branch head is still the person’s commit, never force-updated', () => {
    expect(pr).toBeDefined()
    expect(refWrites(next, branchOf(AVATAR))).toEqual([])
    expect(rig.github.state.refs.get(branchOf(AVATAR))).toBe(human)
    expect(rig.github.fileAt(branchOf(AVATAR), `${GOV}/keys/${AVATAR}.sops.yaml`)).toBe(personFile)
  })

  it('keeps the pull request open and opens no other for the key', () => {
    expect(opened(next)).toEqual([])
    expect(afterNext).toEqual({ state: 'open', pulls: [pr?.number] })
  })

  it('next month, with the pull request closed: opens no new one over the person’s branch and says why', () => {
    expect(refWrites(nextMonth, branchOf(AVATAR))).toEqual([])
    expect(rig.github.state.refs.get(branchOf(AVATAR))).toBe(human)
    expect(pullsOf(rig, AVATAR)).toHaveLength(1)
    const comments = rig.github.comments(pr?.number ?? 0).map((c) => c.body)
    expect(comments).toContainEqual(expect.stringContaining('pushed by a person'))
    expect(nextMonth.allText).toContain(
      `branch ${branchOf(AVATAR)} has 1 commit(s) pushed by a person`,
    )
  })
})

// ---------------------------------------------------------------------------------------------

describe('a rotation pull request closed without merging', () => {
  let rig: Rig
  let first: ActionRun
  let snoozed: ActionRun
  let december: ActionRun
  let closed: { avatar?: FakeIssue; openrouter?: FakeIssue }
  let heads: { avatar?: string; openrouter?: string }
  let firstMint: string | undefined
  let orFrom = 0
  let orSnoozed: RecordedRequest[] = []
  let pullsAfterSnooze: { avatar: string[]; openrouter: string[] } = { avatar: [], openrouter: [] }
  let orDecember: RecordedRequest[] = []

  beforeAll(async () => {
    rig = await startRig({
      inventory: withCreated(OR_KEY, '2026-05-01'),
      recordProviderResponses: true,
    })
    first = await runAction(rig, { now: at(0) })
    closed = { avatar: pullsOf(rig, AVATAR)[0], openrouter: pullsOf(rig, OR_KEY)[0] }
    heads = {
      avatar: rig.github.state.refs.get(branchOf(AVATAR)),
      openrouter: rig.github.state.refs.get(branchOf(OR_KEY)),
    }
    const mint = rig.exchanges.find((e) => e.method === 'POST' && e.path === '/api/v1/keys')
    firstMint = mint && (JSON.parse(mint.responseBody) as { data: { hash: string } }).data.hash
    rig.setGitHubTime(at(0.5))
    for (const p of Object.values(closed)) if (p) rig.github.closePull(p.number)

    const requests = rig.providers.servers.openrouter.requests
    orFrom = requests.length
    await rig.checkout()
    snoozed = await runAction(rig, { now: at(1) })
    orSnoozed = since(requests, orFrom)
    pullsAfterSnooze = {
      avatar: pullsOf(rig, AVATAR).map((p) => p.state),
      openrouter: pullsOf(rig, OR_KEY).map((p) => p.state),
    }
    orFrom = requests.length
    await rig.checkout()
    december = await runAction(rig, { now: '2026-12-01T12:00:00.000Z' })
    orDecember = since(requests, orFrom)
  }, 120_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finishes every run without failing', () => {
    expect([first.failed, snoozed.failed, december.failed]).toEqual([[], [], []])
  })

  it('snoozes the key for the rest of the month: no new pull request, no mint, the branch untouched', () => {
    expect(closed.avatar && closed.openrouter).toBeDefined()
    expect(opened(snoozed)).toEqual([])
    expect(pullsAfterSnooze).toEqual({ avatar: ['closed'], openrouter: ['closed'] })
    expect(orSnoozed.filter(MINTS)).toEqual([])
    expect(refWrites(snoozed, branchOf(AVATAR))).toEqual([])
    expect(refWrites(snoozed, branchOf(OR_KEY))).toEqual([])
  })

  it('next month opens a new pull request on the keyward-only branch, rebuilt on main', () => {
    const avatar = pullsOf(rig, AVATAR)
    expect(avatar.map((p) => p.state)).toEqual(['closed', 'open'])
    expect(markerOf(avatar[1])).toMatchObject({ key: AVATAR, period: '2026-12' })
    const tip = rig.github.commitsOn(branchOf(AVATAR))[0]
    expect(tip?.sha).not.toBe(heads.avatar)
    // Rebuilt on the audit branch as it was when the run started, not stacked on the old commit.
    expect(tip?.parents).not.toEqual([heads.avatar])
    expect(rig.github.commitsOn('main').map((c) => c.sha)).toContain(tip?.parents[0])
    expect(opened(december)).toEqual(
      expect.arrayContaining([avatar[1]?.number, pullsOf(rig, OR_KEY)[1]?.number]),
    )
  })

  it('next month mints a fresh key for the OpenRouter rotation', () => {
    const openrouter = pullsOf(rig, OR_KEY)
    expect(openrouter.map((p) => p.state)).toEqual(['closed', 'open'])
    expect(orDecember.filter(MINTS)).toHaveLength(1)
    expect(markerOf(openrouter[1])?.new).not.toBe(firstMint)
  })

  it('does not leave the key minted for the closed pull request live at the provider', () => {
    expect(firstMint).toBeDefined()
    const key = rig.dataset.openrouter.keys.find((k) => k.hash === firstMint)
    // Deactivated (or deleted): nobody can use it, and no one will, since its PR was closed.
    expect(key === undefined || key.disabled).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------

describe('max-prs-per-run', () => {
  let rig: Rig
  const runs: ActionRun[] = []
  const mintsPerRun: number[] = []

  beforeAll(async () => {
    rig = await startRig({ inventory: withCreated(OR_KEY, '2026-05-01') })
    const requests = rig.providers.servers.openrouter.requests
    for (let hour = 0; hour < 4; hour++) {
      const from = requests.length
      await rig.checkout()
      runs.push(await runAction(rig, { now: at(hour), maxPrs: 1 }))
      mintsPerRun.push(since(requests, from).filter(MINTS).length)
    }
  }, 120_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('opens one pull request per run, exposure first, and the rest on later runs', () => {
    expect(runs.map((r) => r.failed)).toEqual([[], [], [], []])
    expect(runs.map((r) => opened(r).length)).toEqual([1, 1, 1, 0])
    const keyOf = (n: number | undefined) =>
      markerOf(rig.github.pulls().find((p) => p.number === n))?.key
    expect(runs.slice(0, 3).map((r) => keyOf(opened(r)[0]))).toEqual([CANARY, AVATAR, OR_KEY])
    expect(rig.github.pulls()).toHaveLength(3)
  })

  it('mints nothing for a key that waits for the budget', () => {
    expect(mintsPerRun).toEqual([0, 0, 1, 0])
  })

  it('names the input and the waiting keys while some wait', () => {
    const first = runs[0] as ActionRun
    expect(first.allText).toContain(
      `2 rotation pull request(s) wait for the next run (max-prs-per-run): ${AVATAR}, ${OR_KEY}`,
    )
    expect((runs[3] as ActionRun).allText).not.toContain('wait for the next run (max-prs-per-run)')
  })

  it('warns (as max-issues-per-run does) when pull requests wait for the budget', () => {
    const first = runs[0] as ActionRun
    expect(first.warnings.some((w) => w.includes('max-prs-per-run'))).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------

describe('a checklist rotation of the Anthropic key (Anthropic cannot mint keys by API)', () => {
  let rig: Rig
  let first: ActionRun
  let pushed: ActionRun
  let merged: ActionRun
  let retired: ActionRun
  let pr: FakeIssue | undefined
  let oldSecret: string
  const newSecret = ['sk', 'ant', 'api03', randomBytes(70).toString('base64url') + 'AA'].join('-')
  let branchFiles: Record<string, string>
  let human: string
  /** Anthropic requests of the runs before the merge. */
  let beforeMerge: RecordedRequest[] = []
  const cli: {
    validateBefore?: { code: number; out: string }
    addOld?: { code: number; out: string; fileBefore: string; fileAfter: string }
    addNew?: { code: number; out: string }
    validateAfter?: { code: number; out: string }
    stored?: unknown
    file?: string
  } = {}

  /** The CLI on a clone of the rotation branch, with the demo identity. */
  async function keyward(dir: string, argv: string[], stdin = '') {
    const out: string[] = []
    const deps: CliDeps = {
      ...productionDeps(),
      stdout: { write: (t: string) => void out.push(t) },
      stderr: { write: (t: string) => void out.push(t) },
      readSecret: async () => stdin,
      env: { SOPS_AGE_KEY_FILE: join(dir, 'demo-age-key.txt'), PATH: process.env.PATH },
      cwd: dir,
      interactive: false,
      clock: fixedClock(at(1)),
    }
    const code = await main([...argv, '--config', join(dir, 'keyward.yaml')], deps)
    return { code, out: out.join('') }
  }

  beforeAll(async () => {
    rig = await startRig({
      inventory: both(withCreated(BLOG, '2026-05-01'), (text) =>
        text.replace(
          '    used_in: [WordPress AI plugin]\n',
          '    used_in: [WordPress AI plugin]\n    auto_rotate: true\n',
        ),
      ),
    })
    oldSecret = (await demoVault(rig, join(rig.workspace, GOV)).decrypt(BLOG_FILE, 'check', BLOG))
      .values.api_key as string
    const requests = rig.providers.servers.anthropic.requests
    const from = requests.length
    first = await runAction(rig, { now: at(0) })
    pr = pullsOf(rig, BLOG)[0]
    branchFiles = pr ? filesOf(rig.github, branchOf(BLOG)) : {}

    // A person follows the checklist on a clone of the branch.
    const dir = await cloneGov(rig, branchOf(BLOG))
    try {
      cli.validateBefore = await keyward(dir, ['validate'])
      const fileBefore = await readFile(join(dir, BLOG_FILE), 'utf8')
      const addOld = await keyward(dir, ['vault', 'add', BLOG], `${oldSecret}\n`)
      cli.addOld = {
        ...addOld,
        fileBefore,
        fileAfter: await readFile(join(dir, BLOG_FILE), 'utf8'),
      }
      cli.addNew = await keyward(dir, ['vault', 'add', BLOG], `${newSecret}\n`)
      cli.validateAfter = await keyward(dir, ['validate'])
      cli.file = await readFile(join(dir, BLOG_FILE), 'utf8')
      cli.stored = (await demoVault(rig, dir).decrypt(BLOG_FILE, 'check', BLOG)).values.api_key
    } finally {
      await rm(dir, { recursive: true, force: true })
    }

    // ...pushes it, creates the key at Anthropic (the fake lists it), and merges the next day.
    rig.setGitHubTime(at(0.75))
    human = rig.github.pushCommit(
      branchOf(BLOG),
      { [`${GOV}/${BLOG_FILE}`]: cli.file ?? '' },
      `Store the new key of ${BLOG}`,
      { name: 'Maria', email: 'maria@example.com' },
    )
    rig.dataset.anthropic.keys.push({
      id: 'apikey_demo_blog02',
      name: 'Blog Writer - Anthropic',
      created_at: at(0.7),
      created_by: { id: 'user_demo_maria', type: 'user' },
      partial_key_hint: redactedHint('anthropic', newSecret),
      status: 'active',
      workspace_id: rig.dataset.anthropic.keys.find((k) => k.id === 'apikey_demo_blog01')
        ?.workspace_id as string | null,
    })
    await rig.checkout()
    pushed = await runAction(rig, { now: at(1) })
    beforeMerge = since(requests, from)
    rig.setGitHubTime(at(1.5))
    if (pr) rig.github.mergePull(pr.number, { by: 'maria' })
    await rig.checkout()
    merged = await runAction(rig, { now: at(2) })
    await rig.checkout()
    retired = await runAction(rig, { now: at(26) })
  }, 120_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finishes every run without failing', () => {
    expect([first, pushed, merged, retired].map((r) => r.failed)).toEqual([[], [], [], []])
  })

  it('opens a checklist pull request, says why it could not mint, and asks Anthropic for nothing', () => {
    expect(markerOf(pr)).toEqual({
      key: BLOG,
      provider: 'anthropic',
      old: 'apikey_demo_blog01',
      mode: 'checklist',
      reason: 'rotation-due',
      period: '2026-11',
    })
    expect(pr?.body).toContain(`keyward vault add ${BLOG}`)
    expect(pr?.body).toContain('- [ ] WordPress AI plugin')
    expect(first.allText).toContain(
      `key "${BLOG}" has auto_rotate, but anthropic cannot mint it by API`,
    )
    // Up to the merge, nothing is created or changed at Anthropic.
    expect(
      beforeMerge.filter(
        (r) => r.method !== 'GET' && r.path.startsWith('/v1/organizations/api_keys'),
      ),
    ).toEqual([])
  })

  it('puts a placeholder holding the old key’s SHA-256 (not the key) in place of the key file', () => {
    const placeholder = branchFiles[`${GOV}/${BLOG_FILE}`] ?? ''
    const sha = `sha256:${createHash('sha256').update(oldSecret).digest('hex')}`
    expect(placeholder).toContain('keyward_rotation_pending:')
    expect(placeholder).toContain(`old_secret_sha256: "${sha}"`)
    expect(placeholder).not.toContain(oldSecret)
    expect(placeholder).not.toContain('ENC[')
  })

  it('sets created to today and drops provider_key_id in keyward.yaml', () => {
    const yaml = branchFiles[`${GOV}/keyward.yaml`] ?? ''
    const entry = /\n {2}blog-writer-anthropic:\n((?: {4}.*\n)*)/.exec(yaml)?.[1] ?? ''
    expect(entry).toContain('    created: 2026-11-27\n')
    expect(entry).not.toContain('provider_key_id')
  })

  it('keyward validate fails on the branch until the new key is stored', () => {
    expect(cli.validateBefore?.code).toBe(1)
    expect(cli.validateBefore?.out).toContain(BLOG_FILE)
    expect(cli.validateAfter).toMatchObject({ code: 0 })
  })

  it('vault add refuses the old key, without quoting it, and leaves the placeholder', () => {
    expect(cli.addOld?.code).toBe(2)
    expect(cli.addOld?.out).toContain('this is the key being rotated out')
    expect(cli.addOld?.out).not.toContain(oldSecret)
    expect(cli.addOld?.fileAfter).toBe(cli.addOld?.fileBefore)
  })

  it('vault add writes the new key over the placeholder', () => {
    expect(cli.addNew?.code).toBe(0)
    expect(cli.stored).toBe(newSecret)
  })

  it('leaves the person’s push alone on the next run', () => {
    expect(refWrites(pushed, branchOf(BLOG))).toEqual([])
    expect(opened(pushed)).toEqual([])
    expect(pr?.number).toBeDefined()
    expect(rig.github.state.refs.get(branchOf(BLOG))).toBe(human)
    // The merge brought the person's commit to main.
    expect(rig.github.commitsOn('main').some((c) => c.parents.includes(human))).toBe(true)
  })

  it('after the merge, records the rotation with the new key matched by its hint', () => {
    expect(snapshotOf(rig, merged).rotation.recorded).toEqual([
      {
        key: BLOG,
        provider: 'anthropic',
        old_provider_key_id: 'apikey_demo_blog01',
        new_provider_key_id: 'apikey_demo_blog02',
        pull_request: pr?.number,
        merged_by: 'maria',
        merged_at: '2026-11-27T13:30:00Z',
      },
    ])
  })

  it('sets the old key inactive at Anthropic after the grace period', () => {
    const old = rig.dataset.anthropic.keys.find((k) => k.id === 'apikey_demo_blog01')
    expect(old?.status).toBe('inactive')
    expect(snapshotOf(rig, merged).rotation.deactivated).toEqual([])
    expect(snapshotOf(rig, retired).rotation.deactivated).toEqual([
      { key: BLOG, provider: 'anthropic', provider_key_id: 'apikey_demo_blog01', at: at(26) },
    ])
  })

  it('puts neither key in a pull request, a branch, an issue, the logs or the ledger', () => {
    const texts = everyText(rig, [first, pushed, merged, retired])
    expect(leaksIn(texts, [...rig.plaintext, newSecret])).toEqual([])
    expect(
      [cli.validateBefore, cli.addOld, cli.addNew, cli.validateAfter]
        .map((r) => r?.out ?? '')
        .join('\n'),
    ).not.toContain(newSecret)
  })
})

// ---------------------------------------------------------------------------------------------

describe('exposure: a used canary', () => {
  let rig: Rig
  let first: ActionRun

  beforeAll(async () => {
    // The canary's sibling is young: only the incident can make it due.
    rig = await startRig({ inventory: withCreated(AVATAR, '2026-11-20') })
    first = await runAction(rig, { now: at(0) })
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finds the canary used', () => {
    expect(first.failed).toEqual([])
    expect(findingsOf(first).map((f) => f.rule)).toContain('canary-used')
    expect(findingsOf(first).filter((f) => f.rule === 'rotation-due')).toEqual([])
  })

  it('opens rotation pull requests for the canary and every key of its workflow, whatever their age', () => {
    const keys = rig.github.pulls().map((p) => markerOf(p)?.key)
    expect(keys.sort()).toEqual([AVATAR, CANARY].sort())
    for (const key of [AVATAR, CANARY]) {
      const [pr] = pullsOf(rig, key)
      expect(markerOf(pr)).toMatchObject({ reason: 'canary-used', mode: 'checklist' })
      expect(pr?.body).toMatch(/\*\*Why:\*\* the canary (key )?"honeypot-openai"/)
    }
  })

  it('opens none for keys of other workflows', () => {
    expect(pullsOf(rig, BLOG)).toEqual([])
    expect(pullsOf(rig, OR_KEY)).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------

describe('rotation-overdue', () => {
  describe('a rotation pull request left open past rotation_grace', () => {
    let rig: Rig
    let within: ActionRun
    let past: ActionRun
    let afterMerge: ActionRun
    let overdueIssues: FakeIssue[] = []

    beforeAll(async () => {
      rig = await startRig()
      await runAction(rig, { now: at(0) })
      await rig.checkout()
      within = await runAction(rig, { now: at(23) })
      await rig.checkout()
      past = await runAction(rig, { now: at(25) })
      overdueIssues = findingIssues(rig.github).filter((i) =>
        i.labels.includes('keyward:rotation-overdue'),
      )
      const [avatar] = pullsOf(rig, AVATAR)
      rig.setGitHubTime(at(25.5))
      if (avatar) rig.github.mergePull(avatar.number, { by: 'jeff' })
      await rig.checkout()
      afterMerge = await runAction(rig, { now: at(26) })
    }, 60_000)

    afterAll(async () => {
      await rig?.stop()
    })

    it('is not overdue within the grace period', () => {
      expect(within.failed).toEqual([])
      expect(findingsOf(within).filter((f) => f.rule === 'rotation-overdue')).toEqual([])
    })

    it('is a rotation-overdue warning, with an issue, once open longer than rotation_grace (24h)', () => {
      expect(past.failed).toEqual([])
      const overdue = findingsOf(past).filter((f) => f.rule === 'rotation-overdue')
      expect(overdue).toHaveLength(rig.github.pulls().length)
      expect(overdue.every((f) => f.severity === 'warning')).toBe(true)
      const titles = findingIssues(rig.github)
        .filter((i) => i.labels.includes('keyward:rotation-overdue'))
        .map((i) => i.title)
        .sort()
      expect(titles).toEqual(
        [
          `Rotation overdue: ${AVATAR} (Avatar Video Pipeline - OpenAI)`,
          `Rotation overdue: ${CANARY} (Canary - do not use)`,
        ].sort(),
      )
    })

    it('closes the overdue issue of a rotation once its pull request is merged, and only that one', () => {
      expect(afterMerge.failed).toEqual([])
      const state = (title: string) =>
        rig.github
          .issues()
          .find((i) => i.title === title && overdueIssues.some((o) => o.number === i.number))?.state
      expect(state(`Rotation overdue: ${AVATAR} (Avatar Video Pipeline - OpenAI)`)).toBe('closed')
      expect(state(`Rotation overdue: ${CANARY} (Canary - do not use)`)).toBe('open')
    })
  })

  describe('the old key still used after the switch', () => {
    let rig: Rig
    let oldHash: string
    let after: ActionRun
    let monthLater: ActionRun
    let orWrites: RecordedRequest[] = []

    beforeAll(async () => {
      rig = await startRig({ inventory: withCreated(OR_KEY, '2026-05-01') })
      oldHash = rig.dataset.providerKeyIds[OR_KEY]
      await runAction(rig, { now: at(0) })
      const [pr] = pullsOf(rig, OR_KEY)
      rig.setGitHubTime(at(0.5))
      if (pr) rig.github.mergePull(pr.number, { by: 'maria' })
      // Something still calls with the old key a day after the switch (merge + 24h).
      rig.dataset.openrouter.activity.push({
        date: '2026-11-29',
        key_hash: oldHash,
        model: 'openai/gpt-4o-mini',
        provider_name: 'OpenAI',
        usage: 0.31,
        requests: 42,
        prompt_tokens: 250_000,
        completion_tokens: 30_000,
      })
      const requests = rig.providers.servers.openrouter.requests
      const from = requests.length
      await rig.checkout()
      after = await runAction(rig, { now: '2026-11-30T06:00:00.000Z' })
      orWrites = since(requests, from).filter(
        (r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query',
      )
      // It goes on being used every day for a month.
      for (let day = Date.parse('2026-11-30'); day <= Date.parse('2026-12-29'); day += 86_400_000)
        rig.dataset.openrouter.activity.push({
          date: new Date(day).toISOString().slice(0, 10),
          key_hash: oldHash,
          model: 'openai/gpt-4o-mini',
          provider_name: 'OpenAI',
          usage: 0.3,
          requests: 40,
          prompt_tokens: 240_000,
          completion_tokens: 30_000,
        })
      await rig.checkout()
      monthLater = await runAction(rig, { now: '2026-12-30T06:00:00.000Z' })
    }, 60_000)

    afterAll(async () => {
      await rig?.stop()
    })

    it('is a rotation-overdue error naming the old key and its last use', () => {
      expect(after.failed).toEqual([])
      const issue = findingIssues(rig.github).find(
        (i) => i.title === `Old key still in use after rotation: ${OR_KEY} (${OR_LABEL})`,
      )
      expect(issue?.labels).toEqual(
        expect.arrayContaining(['keyward:rotation-overdue', 'severity:error']),
      )
      expect(issue?.body).toContain(oldHash)
      // The first run names the first use after the switch; the issue follows the latest one.
      const first = findingsOf(after).find(
        (f) => f.rule === 'rotation-overdue' && f.severity === 'error',
      ) as { message?: string } | undefined
      expect(first?.message).toContain('2026-11-30T00:00:00.000Z')
      expect(issue?.body).toContain('2026-12-30T00:00:00.000Z')
    })

    it('leaves the old key enabled', () => {
      expect(orWrites).toEqual([])
      expect(rig.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.disabled).toBe(false)
      expect(snapshotOf(rig, after).rotation.deactivated).toEqual([])
    })

    it('still reports the old key a month after the merge while it is active and used', () => {
      expect(monthLater.failed).toEqual([])
      // The run read the old key's use of the last days, and the key is still enabled.
      const read = snapshotOf(rig, monthLater).providers.openrouter?.usage ?? []
      expect(
        read.filter((u) => u.providerKeyId === oldHash && u.start >= '2026-12-20'),
      ).not.toEqual([])
      expect(rig.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.disabled).toBe(false)
      const stillUsed = findingsOf(monthLater).filter(
        (f) => f.rule === 'rotation-overdue' && JSON.stringify(f).includes(oldHash),
      )
      expect(stillUsed).toHaveLength(1)
      const issue = findingIssues(rig.github).find(
        (i) => i.title === `Old key still in use after rotation: ${OR_KEY} (${OR_LABEL})`,
      )
      // Its issue stays open: nothing was resolved.
      expect(issue?.state).toBe('open')
    })
  })
})

// ---------------------------------------------------------------------------------------------

describe('a rotation pull request opened last month and closed this month', () => {
  let rig: Rig
  let december: ActionRun
  let pr: FakeIssue | undefined

  beforeAll(async () => {
    rig = await startRig()
    await runAction(rig, { now: at(0) })
    pr = pullsOf(rig, AVATAR)[0]
    rig.setGitHubTime('2026-12-02T12:00:00.000Z')
    if (pr) rig.github.closePull(pr.number)
    await rig.checkout()
    december = await runAction(rig, { now: '2026-12-02T13:00:00.000Z' })
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('snoozes the key until the month after the close, not after the opening', () => {
    expect(december.failed).toEqual([])
    expect(pr).toBeDefined()
    expect(pullsOf(rig, AVATAR).map((p) => p.number)).toEqual([pr?.number])
    expect(refWrites(december, branchOf(AVATAR))).toEqual([])
  })
})

// ---------------------------------------------------------------------------------------------

describe('dry-run', () => {
  let rig: Rig
  let dryOpen: ActionRun
  let dryRetire: ActionRun
  let orDryOpen: RecordedRequest[] = []
  let orDryRetire: RecordedRequest[] = []
  let oldHash: string

  beforeAll(async () => {
    rig = await startRig({ inventory: withCreated(OR_KEY, '2026-05-01') })
    oldHash = rig.dataset.providerKeyIds[OR_KEY]
    const requests = rig.providers.servers.openrouter.requests
    let from = requests.length
    dryOpen = await runActionWith(run, rig, { now: at(0), dryRun: true })
    orDryOpen = since(requests, from)
    await runAction(rig, { now: at(1) })
    const [pr] = pullsOf(rig, OR_KEY)
    rig.setGitHubTime(at(1.5))
    if (pr) rig.github.mergePull(pr.number, { by: 'maria' })
    await rig.checkout()
    from = requests.length
    dryRetire = await runActionWith(run, rig, { now: at(30), dryRun: true })
    orDryRetire = since(requests, from)
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('mints no key and opens no pull request, but says what it would do', () => {
    expect(dryOpen.failed).toEqual([])
    expect(
      orDryOpen.filter((r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query'),
    ).toEqual([])
    expect(dryOpen.calls.filter((c) => c.method !== 'GET')).toEqual([])
    expect(dryOpen.allText).toContain(
      `dry run: would open a minted rotation pull request for "${OR_KEY}" (rotation-due)`,
    )
  })

  it('deactivates nothing after the grace period, but says what it would do', () => {
    expect(dryRetire.failed).toEqual([])
    expect(
      orDryRetire.filter((r) => r.method !== 'GET' && r.path !== '/api/v1/analytics/query'),
    ).toEqual([])
    expect(rig.dataset.openrouter.keys.find((k) => k.hash === oldHash)?.disabled).toBe(false)
    expect(dryRetire.allText).toContain(`dry run: would deactivate openrouter key ${oldHash}`)
  })
})

// ---------------------------------------------------------------------------------------------

describe('exposure: a key found in plain text in the repository', () => {
  let rig: Rig
  let first: ActionRun
  let secret: string
  let mintedSecret: string | undefined

  beforeAll(async () => {
    // Not due by age (26w); only the leak makes it rotate.
    rig = await startRig({ recordProviderResponses: true })
    secret = (await demoVault(rig, join(rig.workspace, GOV)).decrypt(OR_FILE, 'check', OR_KEY))
      .values.api_key as string
    await writeFile(join(rig.workspace, GOV, 'night-batch.env'), `OPENROUTER_API_KEY=${secret}\n`)
    const git = (...args: string[]) =>
      promisify(execFile)('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
        cwd: rig.workspace,
      })
    await git('add', '-A')
    await git('commit', '--quiet', '--no-verify', '-m', 'a key committed by mistake')
    first = await runAction(rig, { now: at(0) })
    const mint = rig.exchanges.find((e) => e.method === 'POST' && e.path === '/api/v1/keys')
    mintedSecret = mint && (JSON.parse(mint.responseBody) as { key: string }).key
  }, 60_000)

  afterAll(async () => {
    await rig?.stop()
  })

  it('finds the exposed key and opens a minted rotation for it at once, whatever its age', () => {
    expect(first.failed).toEqual([])
    expect(findingsOf(first).map((f) => f.rule)).toContain('exposed-key')
    const [pr] = pullsOf(rig, OR_KEY)
    expect(markerOf(pr)).toMatchObject({ reason: 'exposed-key', mode: 'minted' })
    expect(mintedSecret).toBeDefined()
  })

  it('quotes neither the exposed key nor its replacement anywhere it writes', () => {
    const texts = everyText(rig, [first])
    expect(leaksIn(texts, [...rig.plaintext, secret, mintedSecret ?? 'missing'])).toEqual([])
  })
})

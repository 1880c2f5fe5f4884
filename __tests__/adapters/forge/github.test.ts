import { afterEach, describe, expect, it } from '@jest/globals'
import { githubForge } from '../../../src/adapters/forge/github.js'
import { createOctokit, type GitHubClient } from '../../../src/adapters/forge/octokit.js'
import type { Forge, ForgeFile } from '../../../src/ports/forge.js'
import { silentLog, type Log } from '../../../src/ports/log.js'
import { startGitHubFake, type GitHubFake } from '../../../test/fakes/github-server.js'

/**
 * The GitHub Forge against the loopback GitHub fake, through the real Octokit (throttling off,
 * retry on): what goes over the wire, not only what comes back.
 */

const REPO = '/repos/owner/repo'

/** The parameters of every request Octokit sends (the fake records no bodies). */
interface SentRequest {
  method: string
  url: string
  params: Record<string, unknown>
}

let fake: GitHubFake | undefined

afterEach(async () => {
  await fake?.stop()
  fake = undefined
})

async function setup(
  options: { files?: Record<string, string>; root?: string; branch?: string; log?: Log } = {},
): Promise<{ fake: GitHubFake; octokit: GitHubClient; forge: Forge; sent: SentRequest[] }> {
  fake = await startGitHubFake({
    files: options.files ?? {
      'README.md': '# repo\n',
      'gov/keyward.yaml': 'version: 1\n',
      'gov/audit/ledger.jsonl': '{"line":1}\n',
      'gov/audit/snapshots/2026/11/27/120000Z.json': '{}\n',
      'gov/auditX/not-under.json': '{}\n',
      'audit/state.json': '{"outside":"gov"}\n',
    },
  })
  const octokit = createOctokit({
    token: 'test-token',
    baseUrl: fake.url,
    log: silentLog,
    throttle: false,
  })
  const sent: SentRequest[] = []
  octokit.hook.before('request', (request) => {
    const { method, url, ...params } = request as unknown as {
      method: string
      url: string
    } & Record<string, unknown>
    sent.push({ method, url, params })
  })
  const forge = githubForge(octokit, {
    owner: 'owner',
    repo: 'repo',
    branch: options.branch ?? 'main',
    ...(options.root !== undefined ? { root: options.root } : {}),
    log: options.log ?? silentLog,
  })
  return { fake, octokit, forge, sent }
}

const headOf = (f: GitHubFake, branch = 'main') => f.commitsOn(branch)[0]?.sha
const callsTo = (f: GitHubFake, method: string, path: string | RegExp) =>
  f.calls.filter(
    (c) => c.method === method && (typeof path === 'string' ? c.path === path : path.test(c.path)),
  )

const AUDIT_FILES: ForgeFile[] = [
  { path: 'audit/snapshots/2026/11/27/130000Z.json', content: '{"at":"13"}\n' },
  { path: 'audit/ledger.jsonl', content: '{"line":1}\n{"line":2}\n' },
  { path: 'audit/state.json', content: '{"version":1}\n' },
]

describe('reading the branch', () => {
  it('gives the head of the branch, and undefined for a branch that does not exist', async () => {
    const { fake, forge } = await setup()

    expect(await forge.head()).toBe(headOf(fake))
    const other = githubForge(
      createOctokit({ token: 'test-token', baseUrl: fake.url, log: silentLog, throttle: false }),
      { owner: 'owner', repo: 'repo', branch: 'keyward-audit', log: silentLog },
    )
    expect(await other.head()).toBeUndefined()
  })

  it('reads files at the repository root, and undefined for a missing file', async () => {
    const { forge } = await setup()

    expect(await forge.readFile('README.md')).toBe('# repo\n')
    expect(await forge.readFile('gov/keyward.yaml')).toBe('version: 1\n')
    expect(await forge.readFile('no/such/file.txt')).toBeUndefined()
  })

  it('reads a file as it was at an older commit when given a ref', async () => {
    const { fake, forge } = await setup()
    const before = headOf(fake) as string
    fake.advanceHead('main', { 'README.md': '# changed\n' })

    expect(await forge.readFile('README.md')).toBe('# changed\n')
    expect(await forge.readFile('README.md', before)).toBe('# repo\n')
  })

  it('lists the files under a folder, sorted, relative to the repository', async () => {
    const { forge } = await setup()

    expect(await forge.listFiles('gov/audit')).toEqual([
      'gov/audit/ledger.jsonl',
      'gov/audit/snapshots/2026/11/27/120000Z.json',
    ])
    expect(await forge.listFiles('nothing-here')).toEqual([])
  })

  it("with root 'gov', reads and lists relative to the governance folder", async () => {
    const { forge } = await setup({ root: 'gov' })

    expect(await forge.readFile('keyward.yaml')).toBe('version: 1\n')
    expect(await forge.readFile('audit/ledger.jsonl')).toBe('{"line":1}\n')
    // The repository's own audit/state.json is outside the governance folder.
    expect(await forge.readFile('audit/state.json')).toBeUndefined()
    expect(await forge.listFiles('audit')).toEqual([
      'audit/ledger.jsonl',
      'audit/snapshots/2026/11/27/120000Z.json',
    ])
    expect(await forge.listFiles('audit/')).toEqual(await forge.listFiles('audit'))
  })

  it('lists nothing on a branch that does not exist', async () => {
    const { forge } = await setup({ branch: 'keyward-audit' })

    expect(await forge.listFiles('gov')).toEqual([])
    expect(await forge.readFile('README.md')).toBeUndefined()
  })
})

describe('commitFiles', () => {
  it('makes exactly one commit with every file through the Git Data API, without force', async () => {
    const { fake, forge, sent } = await setup({ root: 'gov' })
    const parent = headOf(fake) as string
    const commitsBefore = fake.commitsOn('main').length
    fake.calls.length = 0

    const outcome = await forge.commitFiles(AUDIT_FILES, 'keyward audit', parent)

    expect(outcome).toEqual({ status: 'committed', sha: headOf(fake) })
    const commits = fake.commitsOn('main')
    expect(commits).toHaveLength(commitsBefore + 1)
    expect(commits[0]?.parents).toEqual([parent])
    expect(commits[0]?.message).toBe('keyward audit')
    for (const file of AUDIT_FILES)
      expect(fake.fileAt('main', `gov/${file.path}`)).toBe(file.content)
    // Files the commit did not name stay as they were (base_tree).
    expect(fake.fileAt('main', 'README.md')).toBe('# repo\n')
    expect(fake.fileAt('main', 'gov/audit/snapshots/2026/11/27/120000Z.json')).toBe('{}\n')
    expect(fake.fileAt('main', 'audit/state.json')).toBe('{"outside":"gov"}\n')

    const writes = fake.writeCalls().map((c) => `${c.method} ${c.path}`)
    expect(writes.filter((w) => w === `POST ${REPO}/git/trees`)).toHaveLength(1)
    expect(writes.filter((w) => w === `POST ${REPO}/git/commits`)).toHaveLength(1)
    expect(writes.filter((w) => w === `PATCH ${REPO}/git/refs/heads/main`)).toHaveLength(1)
    // No Contents API writes, no branch creation, no force: nothing but the Git Data API.
    expect(writes.every((w) => /\/git\/(blobs|trees|commits|refs\/heads\/main)$/.test(w))).toBe(
      true,
    )
    const refUpdates = sent.filter((r) => r.method === 'PATCH' && r.url.includes('/git/refs/'))
    expect(refUpdates).toHaveLength(1)
    expect(refUpdates[0]?.params.force ?? false).toBe(false)
    expect(refUpdates[0]?.params.sha).toBe(headOf(fake))
  })

  it('returns unchanged and writes no commit when the content is already there', async () => {
    const { fake, forge } = await setup({ root: 'gov' })
    const first = await forge.commitFiles(AUDIT_FILES, 'first', headOf(fake))
    const head = headOf(fake)
    fake.calls.length = 0

    const again = await forge.commitFiles(AUDIT_FILES, 'second', head)

    expect(first.status).toBe('committed')
    expect(again).toEqual({ status: 'unchanged' })
    expect(headOf(fake)).toBe(head)
    expect(callsTo(fake, 'POST', `${REPO}/git/commits`)).toHaveLength(0)
    expect(callsTo(fake, 'PATCH', /\/git\/refs\//)).toHaveLength(0)
  })

  it('returns conflict and writes nothing when the parent is stale', async () => {
    const { fake, forge } = await setup()
    const stale = headOf(fake) as string
    const moved = fake.advanceHead('main', { 'someone-else.md': 'pushed\n' })
    fake.calls.length = 0

    const outcome = await forge.commitFiles(AUDIT_FILES, 'keyward audit', stale)

    expect(outcome).toEqual({ status: 'conflict' })
    expect(fake.writeCalls()).toEqual([])
    expect(headOf(fake)).toBe(moved)
    expect(fake.fileAt('main', 'someone-else.md')).toBe('pushed\n')
  })

  it('returns conflict, never forcing, when the branch moves between its read and the ref update', async () => {
    const { fake, octokit, forge, sent } = await setup()
    const parent = headOf(fake) as string
    let pushed: string | undefined
    octokit.hook.before('request', (request) => {
      if (request.method === 'PATCH' && request.url.includes('/git/refs/') && !pushed)
        pushed = fake.advanceHead('main', { 'someone-else.md': 'pushed\n' })
    })

    const outcome = await forge.commitFiles(AUDIT_FILES, 'keyward audit', parent)

    expect(outcome).toEqual({ status: 'conflict' })
    expect(pushed).toBeDefined()
    expect(headOf(fake)).toBe(pushed)
    expect(fake.fileAt('main', 'someone-else.md')).toBe('pushed\n')
    expect(fake.fileAt('main', AUDIT_FILES[0]?.path as string)).toBeUndefined()
    const refUpdates = callsTo(fake, 'PATCH', `${REPO}/git/refs/heads/main`)
    expect(refUpdates.map((c) => c.status)).toEqual([422])
    expect(
      sent.filter((r) => r.method === 'PATCH').every((r) => (r.params.force ?? false) === false),
    ).toBe(true)
  })

  it('refuses to commit to a branch that does not exist', async () => {
    const { forge } = await setup({ branch: 'keyward-audit' })

    await expect(forge.commitFiles(AUDIT_FILES, 'keyward audit', undefined)).rejects.toThrow(
      /keyward-audit does not exist/,
    )
  })
})

describe('issues', () => {
  it('lists every keyward issue in one paginated listing, skipping pull requests and other labels', async () => {
    const { fake, forge } = await setup()
    for (let i = 0; i < 130; i++)
      fake.seedIssue({
        title: `open ${i}`,
        body: `<!-- keyward:finding f${i} -->`,
        labels: ['keyward'],
      })
    for (let i = 0; i < 20; i++)
      fake.seedIssue({
        title: `closed ${i}`,
        labels: ['keyward', 'keyward:idle-key'],
        state: 'closed',
        stateReason: i % 2 ? 'not_planned' : 'completed',
      })
    for (let i = 0; i < 5; i++)
      fake.seedPullRequest({ head: `keyward/rotate/k${i}`, title: `pr ${i}`, labels: ['keyward'] })
    for (let i = 0; i < 7; i++) fake.seedIssue({ title: `other ${i}`, labels: ['bug'] })
    fake.calls.length = 0

    const issues = await forge.listIssues()

    expect(issues).toHaveLength(150)
    expect(issues.some((i) => i.title.startsWith('pr '))).toBe(false)
    expect(issues.some((i) => i.title.startsWith('other '))).toBe(false)
    expect(issues.filter((i) => i.state === 'closed')).toHaveLength(20)
    expect(issues.filter((i) => i.stateReason === 'not_planned')).toHaveLength(10)
    const listings = callsTo(fake, 'GET', `${REPO}/issues`)
    expect(listings).toHaveLength(2) // 155 entries, 100 a page
    expect(listings.every((c) => c.query.labels === 'keyward' && c.query.state === 'all')).toBe(
      true,
    )
    expect(listings.every((c) => c.query.per_page === '100')).toBe(true)
    expect(fake.calls).toHaveLength(2) // no search, no call per issue
  })

  it('creates an issue and each missing label once per run', async () => {
    const { fake, forge } = await setup()
    fake.seedIssue({ title: 'makes the keyward label exist', labels: ['keyward'] })
    fake.calls.length = 0

    const first = await forge.createIssue({
      title: 'Spend spike on k1',
      body: '<!-- keyward:finding a -->\nbody',
      labels: ['keyward', 'keyward:spend-spike', 'severity:error'],
      assignees: ['jeff'],
    })
    const second = await forge.createIssue({
      title: 'Idle key k2',
      body: '<!-- keyward:finding b -->\nbody',
      labels: ['keyward', 'keyward:idle-key', 'severity:error'],
      assignees: [],
    })

    expect(first).toMatchObject({
      title: 'Spend spike on k1',
      body: '<!-- keyward:finding a -->\nbody',
      state: 'open',
      stateReason: null,
      labels: ['keyward', 'keyward:spend-spike', 'severity:error'],
    })
    expect(first.url).toMatch(/\/issues\/\d+$/)
    expect(second.number).toBeGreaterThan(first.number)
    const created = callsTo(fake, 'POST', `${REPO}/labels`)
    expect(created).toHaveLength(3) // keyward:spend-spike, severity:error, keyward:idle-key
    const looked = callsTo(fake, 'GET', /\/labels\/[^/]+$/)
    expect(looked).toHaveLength(4) // each distinct label once, keyward included
    expect(fake.state.labels.get('severity:error')?.color).toBe('b60205')
    expect(fake.state.labels.get('keyward:idle-key')?.description).toBe('Managed by keyward')
    const stored = fake.issues().find((i) => i.number === first.number)
    expect(stored?.assignees).toEqual(['jeff'])
    expect(callsTo(fake, 'POST', `${REPO}/issues`)).toHaveLength(2)
  })

  it('closes an issue as not planned, and says so in the next listing', async () => {
    const { fake, forge } = await setup()
    const number = fake.seedIssue({ title: 'duplicate', body: 'x', labels: ['keyward'] })
    fake.calls.length = 0

    await forge.updateIssue(number, { state: 'closed', stateReason: 'not_planned' })

    const stored = fake.issues().find((i) => i.number === number)
    expect(stored).toMatchObject({
      state: 'closed',
      stateReason: 'not_planned',
      title: 'duplicate',
    })
    expect(fake.writeCalls().map((c) => `${c.method} ${c.path}`)).toEqual([
      `PATCH ${REPO}/issues/${number}`,
    ])
    const listed = (await forge.listIssues()).find((i) => i.number === number)
    expect(listed).toMatchObject({ state: 'closed', stateReason: 'not_planned' })
  })

  it('updates title, body and labels, creating a new label first', async () => {
    const { fake, forge } = await setup()
    const number = fake.seedIssue({ title: 'old', body: 'old', labels: ['keyward'] })

    await forge.updateIssue(number, {
      title: 'new',
      body: 'new body',
      labels: ['keyward', 'severity:warning'],
    })

    expect(fake.issues().find((i) => i.number === number)).toMatchObject({
      title: 'new',
      body: 'new body',
      state: 'open',
      labels: ['keyward', 'severity:warning'],
    })
    expect(fake.state.labels.get('severity:warning')?.color).toBe('fbca04')
  })

  it('comments on an issue', async () => {
    const { fake, forge } = await setup()
    const number = fake.seedIssue({ title: 't', labels: ['keyward'] })

    await forge.comment(number, 'Resolved: the latest audit no longer finds this.')

    expect(fake.comments(number).map((c) => c.body)).toEqual([
      'Resolved: the latest audit no longer finds this.',
    ])
  })
})

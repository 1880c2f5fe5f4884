import { afterEach, describe, expect, it } from '@jest/globals'
import { githubForge } from '../../../src/adapters/forge/github.js'
import { createOctokit, type GitHubClient } from '../../../src/adapters/forge/octokit.js'
import type { Forge, ForgeFile } from '../../../src/ports/forge.js'
import { silentLog, type Log } from '../../../src/ports/log.js'
import { validateGitHubResponse } from '../../../test/fakes/github-openapi.js'
import {
  startGitHubFake,
  type GitHubFake,
  type GitHubFakeOptions,
} from '../../../test/fakes/github-server.js'

/**
 * The GitHub Forge's branch and pull-request verbs against the loopback GitHub fake, through the
 * real Octokit (throttling off). Every response the forge received is checked against GitHub's
 * published REST description after each test.
 */

const REPO = '/repos/owner/repo'
const BRANCH = 'keyward/rotate/k1'

interface SentRequest {
  method: string
  url: string
  params: Record<string, unknown>
}

interface Received {
  method: string
  path: string
  status: number
  body: unknown
}

let fake: GitHubFake | undefined
let received: Received[] = []

afterEach(async () => {
  const failures = received
    .map((r) => ({
      call: `${r.method} ${r.path} → ${r.status}`,
      ...validateGitHubResponse(r.method, r.path, r.status, r.body),
    }))
    .filter((v) => !v.ok)
  received = []
  await fake?.stop()
  fake = undefined
  expect(failures).toEqual([])
})

async function setup(
  options: { root?: string; log?: Log; fake?: GitHubFakeOptions } = {},
): Promise<{ fake: GitHubFake; octokit: GitHubClient; forge: Forge; sent: SentRequest[] }> {
  fake = await startGitHubFake({
    files: { 'README.md': '# repo\n', 'gov/keyward.yaml': 'version: 1\n' },
    ...options.fake,
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
  const record = (
    options: { method: string },
    response: { url: string; status: number; data?: unknown },
  ): void => {
    received.push({
      method: options.method,
      path: new URL(response.url).pathname,
      status: response.status,
      body: response.data,
    })
  }
  octokit.hook.after('request', (response, options) => record(options, response))
  octokit.hook.error('request', (error, options) => {
    const { response } = error as { response?: { url: string; status: number; data?: unknown } }
    if (response) record(options, response)
    throw error
  })
  const forge = githubForge(octokit, {
    owner: 'owner',
    repo: 'repo',
    branch: 'main',
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

const ROTATION: ForgeFile[] = [
  { path: 'keys/k1.yaml', content: 'id: k1\nsecret_ref: vault/k1-v2\n' },
  { path: 'vault/k1-v2.enc.yaml', content: 'sops: {}\n' },
]

function recordingLog(): Log & { warnings: string[] } {
  const warnings: string[] = []
  return { ...silentLog, warnings, warning: (message) => warnings.push(message) }
}

describe('commitToBranch', () => {
  it('creates a missing branch at one new commit on the parent, with createRef', async () => {
    const { fake, forge } = await setup()
    const parent = headOf(fake) as string
    fake.calls.length = 0

    const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'keyward: rotate k1', parent)

    const head = headOf(fake, BRANCH)
    expect(outcome).toEqual({ status: 'committed', sha: head })
    expect(await forge.branchHead(BRANCH)).toBe(head)
    expect(fake.commitsOn(BRANCH)[0]?.parents).toEqual([parent])
    expect(fake.fileAt(BRANCH, 'keys/k1.yaml')).toBe('id: k1\nsecret_ref: vault/k1-v2\n')
    expect(fake.fileAt(BRANCH, 'README.md')).toBe('# repo\n')
    expect(headOf(fake)).toBe(parent) // the audit branch did not move
    expect(callsTo(fake, 'POST', `${REPO}/git/refs`).map((c) => c.status)).toEqual([201])
    expect(callsTo(fake, 'PATCH', /\/git\/refs\//)).toEqual([])
  })

  it('puts a second commit on top of the head, without force', async () => {
    const { fake, forge, sent } = await setup()
    const first = await forge.commitToBranch(BRANCH, ROTATION, 'first', headOf(fake) as string)
    const firstSha = first.status === 'committed' ? first.sha : ''

    const second = await forge.commitToBranch(
      BRANCH,
      [{ path: 'keys/k1.yaml', content: 'id: k1\nsecret_ref: vault/k1-v3\n' }],
      'second',
      firstSha,
    )

    expect(second).toEqual({ status: 'committed', sha: headOf(fake, BRANCH) })
    expect(fake.commitsOn(BRANCH)[0]?.parents).toEqual([firstSha])
    expect(fake.fileAt(BRANCH, 'vault/k1-v2.enc.yaml')).toBe('sops: {}\n')
    const updates = sent.filter((r) => r.method === 'PATCH' && r.url.includes('/git/refs/'))
    expect(updates.map((r) => r.params.force)).toEqual([false])
  })

  it('returns conflict and writes nothing when the parent is stale', async () => {
    const { fake, forge } = await setup()
    const base = headOf(fake) as string
    await forge.commitToBranch(BRANCH, ROTATION, 'first', base)
    const pushed = fake.pushCommit(BRANCH, { 'notes.md': 'by hand\n' }, 'A note')
    fake.calls.length = 0

    const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'rebuilt', base)

    expect(outcome).toEqual({ status: 'conflict' })
    expect(fake.writeCalls()).toEqual([])
    expect(headOf(fake, BRANCH)).toBe(pushed)
  })

  it('returns conflict when another run creates the branch first', async () => {
    const { fake, octokit, forge } = await setup()
    const parent = headOf(fake) as string
    octokit.hook.before('request', (request) => {
      if (request.method === 'POST' && request.url === '/repos/{owner}/{repo}/git/refs')
        fake.pushCommit(BRANCH, { 'other.md': 'other run\n' }, 'the other run')
    })

    const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'keyward: rotate k1', parent)

    expect(outcome).toEqual({ status: 'conflict' })
    expect(callsTo(fake, 'POST', `${REPO}/git/refs`).map((c) => c.status)).toEqual([422])
    expect(fake.fileAt(BRANCH, 'other.md')).toBe('other run\n')
  })

  it('with replace, moves a keyward-only branch onto the new base with one forced update', async () => {
    const { fake, forge, sent } = await setup()
    await forge.commitToBranch(BRANCH, ROTATION, 'rotate on the old base', headOf(fake) as string)
    const newBase = fake.advanceHead('main', { 'keys/k2.yaml': 'id: k2\n' })

    const outcome = await forge.commitToBranch(
      BRANCH,
      ROTATION,
      'rotate on the new base',
      newBase,
      {
        replace: true,
      },
    )

    expect(outcome).toEqual({ status: 'committed', sha: headOf(fake, BRANCH) })
    expect(fake.commitsOn(BRANCH)[0]?.parents).toEqual([newBase])
    expect(fake.fileAt(BRANCH, 'keys/k2.yaml')).toBe('id: k2\n')
    expect(await forge.branchCommits(BRANCH)).toEqual([
      { sha: headOf(fake, BRANCH), message: 'rotate on the new base' },
    ])
    const updates = sent.filter((r) => r.method === 'PATCH' && r.url.includes('/git/refs/'))
    expect(updates.map((r) => r.params.force)).toEqual([true])
  })

  it('with replace, still gives conflict when a person pushes while the commit is written', async () => {
    const { fake, octokit, forge } = await setup()
    await forge.commitToBranch(BRANCH, ROTATION, 'rotate', headOf(fake) as string)
    const newBase = fake.advanceHead('main', { 'keys/k2.yaml': 'id: k2\n' })
    let pushed: string | undefined
    octokit.hook.before('request', (request) => {
      if (request.method === 'POST' && request.url.endsWith('/git/commits') && !pushed)
        pushed = fake.pushCommit(BRANCH, { 'notes.md': 'by hand\n' }, 'A person fixes it')
    })

    const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'rebuilt', newBase, {
      replace: true,
    })

    expect(outcome).toEqual({ status: 'conflict' })
    expect(headOf(fake, BRANCH)).toBe(pushed)
    expect(callsTo(fake, 'PATCH', /\/git\/refs\//)).toEqual([])
  })

  it('returns unchanged, and leaves a missing branch missing, when the files change nothing', async () => {
    const { fake, forge } = await setup()
    fake.calls.length = 0

    const outcome = await forge.commitToBranch(
      BRANCH,
      [{ path: 'README.md', content: '# repo\n' }],
      'nothing',
      headOf(fake) as string,
    )

    expect(outcome).toEqual({ status: 'unchanged' })
    expect(await forge.branchHead(BRANCH)).toBeUndefined()
    expect(callsTo(fake, 'POST', `${REPO}/git/commits`)).toEqual([])
  })

  it("with root 'gov', writes the files under the governance folder", async () => {
    const { fake, forge } = await setup({ root: 'gov' })

    await forge.commitToBranch(BRANCH, ROTATION, 'rotate', headOf(fake) as string)

    expect(fake.fileAt(BRANCH, 'gov/keys/k1.yaml')).toBe('id: k1\nsecret_ref: vault/k1-v2\n')
    expect(fake.fileAt(BRANCH, 'keys/k1.yaml')).toBeUndefined()
  })
})

describe('branchCommits', () => {
  it("lists keyward's commits and a person's, oldest first, with their messages", async () => {
    const { fake, forge } = await setup()
    const outcome = await forge.commitToBranch(
      BRANCH,
      ROTATION,
      'keyward: rotate k1\n\nKeyward-Rotation: k1',
      headOf(fake) as string,
    )
    const human = fake.pushCommit(
      BRANCH,
      { 'keys/k1.yaml': 'id: k1\nowner: jeff\n' },
      'Fix owner',
      {
        name: 'Jeff',
        email: 'jeff@example.com',
      },
    )
    fake.advanceHead('main', { 'elsewhere.md': 'audit moved on\n' })
    fake.calls.length = 0

    const commits = await forge.branchCommits(BRANCH)

    expect(commits).toEqual([
      {
        sha: outcome.status === 'committed' ? outcome.sha : '',
        message: 'keyward: rotate k1\n\nKeyward-Rotation: k1',
      },
      { sha: human, message: 'Fix owner' },
    ])
    expect(callsTo(fake, 'GET', /\/compare\//).map((c) => c.path)).toEqual([
      `${REPO}/compare/main...${BRANCH}`,
    ])
  })

  it('is empty for a missing branch and for a branch the audit branch has merged', async () => {
    const { fake, forge } = await setup()
    fake.pushCommit(BRANCH, { 'a.md': 'a\n' }, 'a')
    const pr = fake.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })
    fake.mergePull(pr, { by: 'jeff' })

    expect(await forge.branchCommits('keyward/rotate/none')).toEqual([])
    expect(await forge.branchCommits(BRANCH)).toEqual([])
  })

  it('pages through a comparison of more than 100 commits', async () => {
    const { fake, forge } = await setup()
    for (let i = 0; i < 130; i++) fake.pushCommit(BRANCH, { 'n.txt': `${i}\n` }, `commit ${i}`)
    fake.calls.length = 0

    const commits = await forge.branchCommits(BRANCH)

    expect(commits.map((c) => c.message)).toEqual(
      Array.from({ length: 130 }, (_, i) => `commit ${i}`),
    )
    expect(callsTo(fake, 'GET', /\/compare\//)).toHaveLength(2)
  })
})

describe('pull requests', () => {
  it('opens a pull request from the branch onto the audit branch, with labels and assignees', async () => {
    const log = recordingLog()
    const { fake, forge, sent } = await setup({ log, fake: { assignable: ['jeff'] } })
    await forge.commitToBranch(BRANCH, ROTATION, 'rotate', headOf(fake) as string)

    const pr = await forge.createPullRequest({
      title: 'Rotate k1',
      body: '<!-- keyward:rotation k1 -->\nWhy and how.',
      branch: BRANCH,
      labels: ['keyward', 'keyward:rotation'],
      assignees: ['jeff', 'outsider'],
    })

    expect(pr).toEqual({
      number: pr.number,
      title: 'Rotate k1',
      body: '<!-- keyward:rotation k1 -->\nWhy and how.',
      state: 'open',
      branch: BRANCH,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      mergedAt: undefined,
      mergedBy: undefined,
      closedAt: undefined,
      url: `https://github.com/owner/repo/pull/${pr.number}`,
    })
    const create = sent.find((r) => r.method === 'POST' && r.url.endsWith('/pulls'))
    expect(create?.params).toMatchObject({ base: 'main', head: BRANCH })
    const stored = fake.pulls().find((p) => p.number === pr.number)
    expect(stored?.labels).toEqual(['keyward', 'keyward:rotation'])
    expect(stored?.assignees).toEqual(['jeff'])
    expect(fake.state.labels.get('keyward:rotation')?.description).toBe('Managed by keyward')
    expect(callsTo(fake, 'POST', `${REPO}/issues/${pr.number}/labels`)).toHaveLength(1)
    expect(callsTo(fake, 'POST', `${REPO}/issues/${pr.number}/assignees`)).toHaveLength(1)
    expect(log.warnings).toEqual([
      `could not assign outsider; pull request #${pr.number} stays unassigned for them`,
    ])
  })

  it('sends no label or assignee request when the draft has none', async () => {
    const { fake, forge } = await setup()
    await forge.commitToBranch(BRANCH, ROTATION, 'rotate', headOf(fake) as string)
    fake.calls.length = 0

    await forge.createPullRequest({
      title: 'Rotate k1',
      body: 'b',
      branch: BRANCH,
      labels: [],
      assignees: [],
    })

    expect(fake.writeCalls().map((c) => `${c.method} ${c.path}`)).toEqual([`POST ${REPO}/pulls`])
  })

  it('updates the body, the title and the state', async () => {
    const { fake, forge } = await setup()
    await forge.commitToBranch(BRANCH, ROTATION, 'rotate', headOf(fake) as string)
    const pr = await forge.createPullRequest({
      title: 'Rotate k1',
      body: 'old',
      branch: BRANCH,
      labels: [],
      assignees: [],
    })

    await forge.updatePullRequest(pr.number, { body: 'new body' })
    const [afterBody] = await forge.listPullRequests('keyward/rotate/')
    await forge.updatePullRequest(pr.number, { title: 'Rotate k1 (again)', state: 'closed' })
    const [afterClose] = await forge.listPullRequests('keyward/rotate/')

    expect(afterBody).toMatchObject({ title: 'Rotate k1', body: 'new body', state: 'open' })
    expect(afterClose).toMatchObject({
      title: 'Rotate k1 (again)',
      body: 'new body',
      state: 'closed',
      closedAt: expect.any(String),
      mergedAt: undefined,
    })
  })

  it('lists open, closed and merged pull requests under the prefix, with who merged', async () => {
    const { fake, forge } = await setup()
    const base = headOf(fake) as string
    const open = await openRotation(forge, 'keyward/rotate/open', base)
    const closed = await openRotation(forge, 'keyward/rotate/closed', base)
    const merged = await openRotation(forge, 'keyward/rotate/merged', base)
    fake.seedPullRequest({ head: 'feature/unrelated', title: 'Not keyward' })
    fake.closePull(closed)
    const mergeCommit = fake.mergePull(merged, { by: 'jeff' })

    const pulls = await forge.listPullRequests('keyward/rotate/')

    expect(pulls.map((p) => [p.number, p.branch, p.state])).toEqual([
      [open, 'keyward/rotate/open', 'open'],
      [closed, 'keyward/rotate/closed', 'closed'],
      [merged, 'keyward/rotate/merged', 'closed'],
    ])
    expect(pulls[0]).toMatchObject({ mergedAt: undefined, closedAt: undefined })
    expect(pulls[1]).toMatchObject({ mergedAt: undefined, mergedBy: undefined })
    expect(pulls[1]?.closedAt).toMatch(/Z$/)
    expect(pulls[2]).toMatchObject({ mergedBy: 'jeff' })
    expect(pulls[2]?.mergedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(pulls[2]?.closedAt).toBe(pulls[2]?.mergedAt)
    expect(fake.commitsOn('main')[0]?.sha).toBe(mergeCommit)
    expect(fake.fileAt('main', 'keys/k1.yaml')).toBe('id: k1\nsecret_ref: vault/k1-v2\n')
  })

  it('lists with one request per 100 pull requests, plus one read per merged one', async () => {
    const { fake, forge } = await setup()
    const numbers: number[] = []
    for (let i = 0; i < 230; i++)
      numbers.push(fake.seedPullRequest({ head: `keyward/rotate/k${i}`, title: `Rotate k${i}` }))
    for (let i = 0; i < 20; i++) fake.seedPullRequest({ head: `other/${i}`, title: `Other ${i}` })
    fake.mergePull(numbers[3] as number, { by: 'jeff' })
    fake.mergePull(numbers[200] as number, { by: 'ana' })
    fake.calls.length = 0

    const pulls = await forge.listPullRequests('keyward/rotate/')

    expect(pulls).toHaveLength(230)
    expect(pulls.map((p) => p.number)).toEqual(numbers)
    expect(pulls.filter((p) => p.mergedBy).map((p) => [p.number, p.mergedBy])).toEqual([
      [numbers[3], 'jeff'],
      [numbers[200], 'ana'],
    ])
    expect(callsTo(fake, 'GET', `${REPO}/pulls`)).toHaveLength(3) // 250 pull requests
    expect(callsTo(fake, 'GET', /\/pulls\/\d+$/)).toHaveLength(2)
    expect(fake.calls).toHaveLength(5)
    expect(callsTo(fake, 'GET', `${REPO}/pulls`).every((c) => c.query.state === 'all')).toBe(true)
  }, 60_000)
})

async function openRotation(forge: Forge, branch: string, parent: string): Promise<number> {
  await forge.commitToBranch(branch, ROTATION, `rotate ${branch}`, parent)
  const pr = await forge.createPullRequest({
    title: `Rotate ${branch}`,
    body: 'b',
    branch,
    labels: [],
    assignees: [],
  })
  return pr.number
}

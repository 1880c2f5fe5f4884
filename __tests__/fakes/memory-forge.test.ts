import { describe, expect, it } from '@jest/globals'
import { fixedClock } from '../../test/fakes/fixed-clock.js'
import { memoryForge } from '../../test/fakes/memory-forge.js'

/** The in-memory Forge's branches, pull requests and the test controls for what a person does. */

const BRANCH = 'keyward/rotate/k1'
const draft = { title: 'Rotate k1', body: 'b', branch: BRANCH, labels: [], assignees: ['jeff'] }

async function arrange() {
  const memory = memoryForge([], { clock: fixedClock('2026-11-27T12:00:00Z') })
  await memory.forge.commitFiles([{ path: 'keys/k1.yaml', content: 'v1' }], 'audit', undefined)
  const base = (await memory.forge.head()) as string
  return { ...memory, base }
}

describe('memoryForge branches', () => {
  it('commits on a branch, continues on its head, and conflicts on a stale parent', async () => {
    const { forge, state, base } = await arrange()

    const first = await forge.commitToBranch(BRANCH, [{ path: 'k', content: '1' }], 'one', base)
    const head = await forge.branchHead(BRANCH)
    const second = await forge.commitToBranch(BRANCH, [{ path: 'k', content: '2' }], 'two', head!)
    const stale = await forge.commitToBranch(BRANCH, [{ path: 'k', content: '3' }], 'x', base)
    const same = await forge.commitToBranch(
      BRANCH,
      [{ path: 'k', content: '2' }],
      'y',
      second.status === 'committed' ? second.sha : '',
    )

    expect(first).toEqual({ status: 'committed', sha: head })
    expect(stale).toEqual({ status: 'conflict' })
    expect(same).toEqual({ status: 'unchanged' })
    expect((await forge.branchCommits(BRANCH)).map((c) => c.message)).toEqual(['one', 'two'])
    expect(await forge.readFile('k', await forge.branchHead(BRANCH))).toBe('2')
    expect(await forge.readFile('keys/k1.yaml', await forge.branchHead(BRANCH))).toBe('v1')
    expect(state.writes.filter((w) => w.op === 'branch-commit')).toEqual([
      { op: 'branch-commit', branch: BRANCH, paths: ['k'], message: 'one', replaced: false },
      { op: 'branch-commit', branch: BRANCH, paths: ['k'], message: 'two', replaced: false },
    ])
  })

  it("shows a person's commit, and replace restarts the branch from the parent", async () => {
    const { forge, state, pushHumanCommit, base } = await arrange()
    await forge.commitToBranch(BRANCH, [{ path: 'k', content: '1' }], 'keyward', base)

    const human = pushHumanCommit(BRANCH, { notes: 'by hand' }, 'A person')
    const listed = await forge.branchCommits(BRANCH)
    const replaced = await forge.commitToBranch(
      BRANCH,
      [{ path: 'k', content: '1' }],
      'again',
      base,
      {
        replace: true,
      },
    )

    expect(listed.map((c) => [c.sha === human, c.message])).toEqual([
      [false, 'keyward'],
      [true, 'A person'],
    ])
    expect(state.branches.get(BRANCH)?.map((c) => c.by)).toEqual(['keyward'])
    expect(replaced.status).toBe('committed')
    expect(state.writes.at(-1)).toMatchObject({ op: 'branch-commit', replaced: true })
  })
})

describe('memoryForge pull requests', () => {
  it('numbers pull requests with the issues and records creates and updates', async () => {
    const { forge, state, base } = await arrange()
    await forge.createIssue({ title: 'i', body: 'b', labels: [], assignees: [] })
    await forge.commitToBranch(BRANCH, [{ path: 'k', content: '1' }], 'one', base)

    const pr = await forge.createPullRequest(draft)
    await forge.updatePullRequest(pr.number, { body: 'new' })
    await forge.comment(pr.number, 'hello')

    expect(pr).toMatchObject({ number: 2, state: 'open', createdAt: '2026-11-27T12:00:00Z' })
    await expect(forge.createPullRequest(draft)).rejects.toThrow(/already exists/)
    expect((await forge.listPullRequests('keyward/rotate/'))[0]?.body).toBe('new')
    expect(state.pulls.get(2)?.comments).toEqual(['hello'])
    expect(state.writes.map((w) => w.op)).toEqual([
      'commit',
      'create',
      'branch-commit',
      'pr-create',
      'pr-update',
      'comment',
    ])
  })

  it('merges as a person: the audit branch gets the changes, the pull request says who', async () => {
    const { forge, state, mergePull, base } = await arrange()
    await forge.commitToBranch(BRANCH, [{ path: 'keys/k1.yaml', content: 'v2' }], 'one', base)
    const pr = await forge.createPullRequest(draft)
    const writes = state.writes.length

    const head = mergePull(pr.number, 'jeff')

    expect(await forge.head()).toBe(head)
    expect(await forge.readFile('keys/k1.yaml')).toBe('v2')
    expect(await forge.branchCommits(BRANCH)).toEqual([])
    expect(await forge.listPullRequests('keyward/')).toEqual([
      expect.objectContaining({
        state: 'closed',
        mergedBy: 'jeff',
        mergedAt: '2026-11-27T12:00:00Z',
        closedAt: '2026-11-27T12:00:00Z',
      }),
    ])
    expect(state.writes).toHaveLength(writes) // what a person does is not a write
  })

  it('closes as a person without merging', async () => {
    const { forge, closePull, base } = await arrange()
    await forge.commitToBranch(BRANCH, [{ path: 'k', content: '1' }], 'one', base)
    const pr = await forge.createPullRequest(draft)

    closePull(pr.number)

    expect(await forge.listPullRequests('keyward/')).toEqual([
      expect.objectContaining({
        state: 'closed',
        mergedAt: undefined,
        closedAt: expect.any(String),
      }),
    ])
  })
})

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { localForge, OUTBOX } from '../../../src/adapters/forge/local.js'
import type { ForgeFile } from '../../../src/ports/forge.js'

/**
 * The local Forge's side branches and pull requests on a real git repository: branches written
 * with plumbing only (the work tree, the index and HEAD stay as a person left them), pull
 * requests as outbox files, merged only by a person's `git merge`.
 */

const run = promisify(execFile)
const GIT_IDENTITY = ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false']
const BRANCH = 'keyward/rotate/k1'
const ROTATION: ForgeFile[] = [
  { path: 'keys/k1.yaml', content: 'id: k1\nsecret_ref: vault/k1-v2\n' },
  { path: 'vault/k1-v2.enc.yaml', content: 'sops: {}\n' },
]
const draft = (branch = BRANCH) => ({
  title: 'Rotate k1',
  body: '<!-- keyward:rotation k1 -->\nWhy and how.\n',
  branch,
  labels: ['keyward', 'keyward:rotation'],
  assignees: ['jeff'],
})

describe('localForge branches and pull requests', () => {
  let dir: string
  let root: string
  const git = async (...args: string[]) =>
    (await run('git', [...GIT_IDENTITY, ...args], { cwd: dir })).stdout.trim()
  /** git as a person at a fixed time (author and committer date). */
  const gitAt = async (date: string, ...args: string[]) =>
    (
      await run('git', [...GIT_IDENTITY, ...args], {
        cwd: dir,
        env: { ...process.env, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
      })
    ).stdout.trim()

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-branches-'))
    root = dir
    await git('init', '--quiet', '-b', 'main')
    await writeFile(join(dir, 'keyward.yaml'), 'version: 1\n')
    await git('add', '-A')
    await git('commit', '--quiet', '-m', 'inventory')
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('commitToBranch', () => {
    it('writes a branch commit without touching the work tree, the index or HEAD', async () => {
      // Arrange: a person's unstaged and staged changes.
      const forge = localForge(root)
      const parent = (await forge.head()) as string
      await writeFile(join(dir, 'keyward.yaml'), 'version: 1\n# editing\n')
      await writeFile(join(dir, 'staged.txt'), 'staged\n')
      await git('add', 'staged.txt')
      const statusBefore = await git('status', '--porcelain')

      // Act
      const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'keyward: rotate k1', parent)

      // Assert
      const head = await git('rev-parse', `refs/heads/${BRANCH}`)
      expect(outcome).toEqual({ status: 'committed', sha: head })
      expect(await forge.branchHead(BRANCH)).toBe(head)
      expect(await git('rev-parse', `${BRANCH}~1`)).toBe(parent)
      expect(await git('show', `${BRANCH}:keys/k1.yaml`)).toBe('id: k1\nsecret_ref: vault/k1-v2')
      expect(await git('show', `${BRANCH}:keyward.yaml`)).toBe('version: 1')
      expect(await git('log', '-1', '--format=%an <%ae>|%s', BRANCH)).toBe(
        'keyward <keyward@users.noreply.invalid>|keyward: rotate k1',
      )
      expect(await git('symbolic-ref', 'HEAD')).toBe('refs/heads/main')
      expect(await git('rev-parse', 'HEAD')).toBe(parent)
      expect(await git('status', '--porcelain')).toBe(statusBefore)
      expect(await git('diff', '--cached', '--name-only')).toBe('staged.txt')
      expect(await readdir(dir)).not.toContain('keys')
    })

    it('puts a second commit on top of the branch head', async () => {
      const forge = localForge(root)
      const first = await forge.commitToBranch(BRANCH, ROTATION, 'first', (await forge.head())!)
      const firstSha = first.status === 'committed' ? first.sha : ''

      const second = await forge.commitToBranch(
        BRANCH,
        [{ path: 'keys/k1.yaml', content: 'id: k1\nsecret_ref: vault/k1-v3\n' }],
        'second',
        firstSha,
      )

      expect(second.status).toBe('committed')
      expect(await git('rev-parse', `${BRANCH}~1`)).toBe(firstSha)
      expect(await git('show', `${BRANCH}:vault/k1-v2.enc.yaml`)).toBe('sops: {}')
    })

    it('returns conflict when the parent is stale, and unchanged when nothing changes', async () => {
      const forge = localForge(root)
      const base = (await forge.head())!
      const first = await forge.commitToBranch(BRANCH, ROTATION, 'first', base)

      const stale = await forge.commitToBranch(BRANCH, ROTATION, 'again', base)
      const same = await forge.commitToBranch(
        'keyward/rotate/k2',
        [{ path: 'keyward.yaml', content: 'version: 1\n' }],
        'nothing',
        base,
      )

      expect(stale).toEqual({ status: 'conflict' })
      expect(await forge.branchHead(BRANCH)).toBe(first.status === 'committed' && first.sha)
      expect(same).toEqual({ status: 'unchanged' })
      expect(await forge.branchHead('keyward/rotate/k2')).toBeUndefined()
    })

    it('returns conflict, by update-ref compare and swap, when the branch moves during the write', async () => {
      // Arrange: a `git` on PATH that moves the branch just before keyward's commit-tree runs.
      const forge = localForge(root)
      const base = (await forge.head())!
      await forge.commitToBranch(BRANCH, ROTATION, 'first', base)
      const other = await git('commit-tree', '-p', base, '-m', 'a person', `${base}^{tree}`)
      const bin = join(dir, '.bin')
      await mkdir(bin)
      const realGit = (await run('sh', ['-c', 'command -v git'])).stdout.trim()
      await writeFile(
        join(bin, 'git'),
        [
          '#!/bin/sh',
          'for arg in "$@"; do',
          `  if [ "$arg" = commit-tree ]; then "${realGit}" update-ref refs/heads/${BRANCH} ${other}; break; fi`,
          'done',
          `exec "${realGit}" "$@"`,
          '',
        ].join('\n'),
      )
      await chmod(join(bin, 'git'), 0o755)
      const path = process.env.PATH
      process.env.PATH = `${bin}${delimiter}${path ?? ''}`

      // Act
      let outcome
      try {
        outcome = await forge.commitToBranch(BRANCH, ROTATION, 'rebuilt', base, { replace: true })
      } finally {
        process.env.PATH = path
      }

      // Assert
      expect(outcome).toEqual({ status: 'conflict' })
      expect(await forge.branchHead(BRANCH)).toBe(other)
    })

    it('with replace, moves a keyward-only branch onto the new base', async () => {
      const forge = localForge(root)
      await forge.commitToBranch(BRANCH, ROTATION, 'on the old base', (await forge.head())!)
      await writeFile(join(dir, 'other.txt'), 'audit moved on\n')
      await git('add', 'other.txt')
      await git('commit', '--quiet', '-m', 'moved on')
      const newBase = (await forge.head())!

      const outcome = await forge.commitToBranch(BRANCH, ROTATION, 'on the new base', newBase, {
        replace: true,
      })

      expect(outcome).toEqual({ status: 'committed', sha: await forge.branchHead(BRANCH) })
      expect(await git('rev-parse', `${BRANCH}~1`)).toBe(newBase)
      expect(await forge.branchCommits(BRANCH)).toEqual([
        { sha: await forge.branchHead(BRANCH), message: 'on the new base' },
      ])
    })

    it('refuses the checked-out branch and a path outside the repository', async () => {
      const forge = localForge(root)
      const head = (await forge.head())!

      await expect(forge.commitToBranch('main', ROTATION, 'm', head)).rejects.toThrow(
        /checked-out branch/,
      )
      await expect(
        forge.commitToBranch(BRANCH, [{ path: '../escape.txt', content: 'x' }], 'm', head),
      ).rejects.toThrow(/outside the repository/)
      await expect(forge.commitToBranch('bad..name', ROTATION, 'm', head)).rejects.toThrow(
        /not a valid branch name/,
      )
      expect(await git('branch', '--list')).toBe('* main')
    })

    it('writes under the governance folder when it is a subfolder of the repository', async () => {
      root = join(dir, 'governance')
      await mkdir(root)
      const forge = localForge(root)

      await forge.commitToBranch(BRANCH, ROTATION, 'rotate', (await forge.head())!)

      expect(await git('show', '--name-only', '--format=', BRANCH)).toBe(
        'governance/keys/k1.yaml\ngovernance/vault/k1-v2.enc.yaml',
      )
    })
  })

  describe('branchCommits', () => {
    it("lists keyward's commits and a person's, oldest first, with their messages", async () => {
      const forge = localForge(root)
      const outcome = await forge.commitToBranch(
        BRANCH,
        ROTATION,
        'keyward: rotate k1\n\nKeyward-Rotation: k1',
        (await forge.head())!,
      )
      await git('checkout', '--quiet', BRANCH)
      await writeFile(join(dir, 'notes.md'), 'by hand\n')
      await git('add', 'notes.md')
      await git('commit', '--quiet', '-m', 'Fix owner')
      const human = await git('rev-parse', 'HEAD')
      await git('checkout', '--quiet', 'main')

      expect(await forge.branchCommits(BRANCH)).toEqual([
        {
          sha: outcome.status === 'committed' ? outcome.sha : '',
          message: 'keyward: rotate k1\n\nKeyward-Rotation: k1',
        },
        { sha: human, message: 'Fix owner' },
      ])
      expect(await forge.branchCommits('keyward/rotate/none')).toEqual([])
    })
  })

  describe('pull requests in the outbox', () => {
    it('writes the pull request as an outbox file, numbered with the issues', async () => {
      const forge = localForge(root)
      const issue = await forge.createIssue({ title: 'i', body: 'b\n', labels: [], assignees: [] })
      await forge.commitToBranch(BRANCH, ROTATION, 'rotate', (await forge.head())!)

      const pr = await forge.createPullRequest(draft())
      await forge.comment(pr.number, 'A person pushed to this branch.')
      const next = await forge.createIssue({ title: 'j', body: 'c\n', labels: [], assignees: [] })

      expect([issue.number, pr.number, next.number]).toEqual([1, 2, 3])
      expect(pr).toEqual({
        number: 2,
        title: 'Rotate k1',
        body: '<!-- keyward:rotation k1 -->\nWhy and how.\n',
        state: 'open',
        branch: BRANCH,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        mergedAt: undefined,
        mergedBy: undefined,
        closedAt: undefined,
        url: `${OUTBOX}/pulls/0002.md`,
      })
      const text = await readFile(join(dir, OUTBOX, 'pulls', '0002.md'), 'utf8')
      expect(text.split('\n')[0]).toMatch(/^<!-- keyward:outbox \{.*"branch":"keyward\/rotate\/k1"/)
      expect(text.split('\n')[0]).toContain('"labels":["keyward","keyward:rotation"]')
      expect(text.slice(text.indexOf('\n') + 1)).toBe(pr.body)
      expect(await readFile(join(dir, OUTBOX, 'pulls', '0002.comments.txt'), 'utf8')).toContain(
        'A person pushed to this branch.',
      )
      expect(await forge.listPullRequests('keyward/rotate/')).toEqual([pr])
      expect(await forge.listPullRequests('other/')).toEqual([])
    })

    it('updates the body, title and state, and refuses a second open pull request', async () => {
      const forge = localForge(root)
      await forge.commitToBranch(BRANCH, ROTATION, 'rotate', (await forge.head())!)
      const pr = await forge.createPullRequest(draft())

      await forge.updatePullRequest(pr.number, { body: 'new body\n' })
      await expect(forge.createPullRequest(draft())).rejects.toThrow(/already exists/)
      await forge.updatePullRequest(pr.number, { title: 'Rotate k1 (closed)', state: 'closed' })

      const [listed] = await forge.listPullRequests('keyward/rotate/')
      expect(listed).toMatchObject({
        title: 'Rotate k1 (closed)',
        body: 'new body\n',
        state: 'closed',
        mergedAt: undefined,
      })
      expect(listed?.closedAt).toMatch(/Z$/)
    })

    it('refuses a pull request from a missing branch or one with no commits beyond HEAD', async () => {
      const forge = localForge(root)
      await git('branch', 'keyward/rotate/empty')

      await expect(forge.createPullRequest(draft('keyward/rotate/none'))).rejects.toThrow(
        /no branch/,
      )
      await expect(forge.createPullRequest(draft('keyward/rotate/empty'))).rejects.toThrow(
        /no commits between/,
      )
    })

    it('reports a branch a person merged with git merge as merged, dated by the merge commit', async () => {
      // Arrange
      const forge = localForge(root)
      await forge.commitToBranch(BRANCH, ROTATION, 'rotate', (await forge.head())!)
      const pr = await forge.createPullRequest(draft())
      const before = await forge.listPullRequests('keyward/rotate/')

      // Act
      await gitAt('2026-12-01T09:30:00Z', 'merge', '--quiet', '--no-ff', '-m', 'Merge k1', BRANCH)
      const after = await forge.listPullRequests('keyward/rotate/')

      // Assert
      expect(before[0]).toMatchObject({ state: 'open', mergedAt: undefined })
      expect(after).toEqual([
        {
          ...pr,
          state: 'closed',
          mergedAt: '2026-12-01T09:30:00Z',
          mergedBy: undefined,
          closedAt: '2026-12-01T09:30:00Z',
        },
      ])
      expect(await forge.branchCommits(BRANCH)).toEqual([])
    })

    it('still reports a fast-forwarded branch as merged after a person deletes it', async () => {
      // Arrange: the branch commit dated by keyward at a known time.
      const forge = localForge(root)
      const previous = process.env.GIT_COMMITTER_DATE
      process.env.GIT_COMMITTER_DATE = '2026-11-30T08:00:00Z'
      try {
        await forge.commitToBranch(BRANCH, ROTATION, 'rotate', (await forge.head())!)
        await forge.commitToBranch(
          BRANCH,
          [{ path: 'keys/k1.yaml', content: 'id: k1\nv: 3\n' }],
          'rotate again',
          (await forge.branchHead(BRANCH))!,
        )
      } finally {
        if (previous === undefined) delete process.env.GIT_COMMITTER_DATE
        else process.env.GIT_COMMITTER_DATE = previous
      }
      await forge.createPullRequest(draft())

      // Act
      await git('merge', '--quiet', '--ff-only', BRANCH)
      await git('branch', '--quiet', '-D', BRANCH)
      const [listed] = await forge.listPullRequests('keyward/rotate/')

      // Assert
      expect(listed).toMatchObject({ state: 'closed', mergedAt: '2026-11-30T08:00:00Z' })
    })
  })
})

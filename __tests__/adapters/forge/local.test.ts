import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { localForge, OUTBOX } from '../../../src/adapters/forge/local.js'
import { UsageError } from '../../../src/errors.js'

const run = promisify(execFile)
const GIT_IDENTITY = ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false']

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  )

describe('localForge on a real git repository', () => {
  let dir: string
  let root: string
  const git = async (...args: string[]) =>
    (await run('git', [...GIT_IDENTITY, ...args], { cwd: root })).stdout.trim()

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyward-forge-'))
    root = dir
    await git('init', '--quiet', '-b', 'main')
    await writeFile(join(root, 'keyward.yaml'), 'version: 1\n')
    await git('add', '-A')
    await git('commit', '--quiet', '-m', 'inventory')
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  describe('commitFiles', () => {
    it('commits every file in one commit with the bot identity', async () => {
      // Arrange
      const forge = localForge(root)
      const parent = await forge.head()

      // Act
      const outcome = await forge.commitFiles(
        [
          { path: 'audit/snapshots/2026/11/27/120000Z.json', content: '{"a":1}\n' },
          { path: 'audit/ledger.jsonl', content: '{"path":"x"}\n' },
        ],
        'keyward audit 2026-11-27T12:00:00Z',
        parent,
      )

      // Assert
      const head = await git('rev-parse', 'HEAD')
      expect(outcome).toEqual({ status: 'committed', sha: head })
      expect(await git('rev-parse', 'HEAD~1')).toBe(parent)
      expect(await git('log', '-1', '--format=%an <%ae>|%cn <%ce>|%s')).toBe(
        'keyward <keyward@users.noreply.invalid>|keyward <keyward@users.noreply.invalid>|keyward audit 2026-11-27T12:00:00Z',
      )
      expect((await git('show', '--name-only', '--format=', 'HEAD')).split('\n').sort()).toEqual([
        'audit/ledger.jsonl',
        'audit/snapshots/2026/11/27/120000Z.json',
      ])
      expect(await git('status', '--porcelain')).toBe('')
    })

    it('commits into a repository that has no commit yet', async () => {
      // Arrange
      const empty = await mkdtemp(join(tmpdir(), 'keyward-forge-empty-'))
      try {
        await run('git', ['init', '--quiet', '-b', 'main'], { cwd: empty })
        const forge = localForge(empty)

        // Act
        const head = await forge.head()
        const outcome = await forge.commitFiles([{ path: 'a.txt', content: 'a\n' }], 'first', head)

        // Assert
        expect(head).toBeUndefined()
        expect(outcome.status).toBe('committed')
        expect(await forge.head()).toEqual(outcome.status === 'committed' ? outcome.sha : '')
      } finally {
        await rm(empty, { recursive: true, force: true })
      }
    })

    it('returns unchanged and makes no commit when the content is already there', async () => {
      // Arrange
      const forge = localForge(root)
      const files = [{ path: 'audit/state.json', content: '{"version":1}\n' }]
      await forge.commitFiles(files, 'first', await forge.head())
      const head = await forge.head()

      // Act
      const outcome = await forge.commitFiles(files, 'second', head)

      // Assert
      expect(outcome).toEqual({ status: 'unchanged' })
      expect(await forge.head()).toBe(head)
      expect(await git('rev-list', '--count', 'HEAD')).toBe('2')
    })

    it('reports a conflict and writes nothing when the branch moved past the parent', async () => {
      // Arrange
      const forge = localForge(root)
      const stale = await forge.head()
      await writeFile(join(root, 'other.txt'), 'someone else\n')
      await git('add', 'other.txt')
      await git('commit', '--quiet', '-m', 'a person pushed')

      // Act
      const outcome = await forge.commitFiles(
        [{ path: 'audit/x.json', content: '{}\n' }],
        'm',
        stale,
      )

      // Assert
      expect(outcome).toEqual({ status: 'conflict' })
      expect(await exists(join(root, 'audit/x.json'))).toBe(false)
    })

    it('refuses a path outside the repository before writing any file', async () => {
      // Arrange
      const forge = localForge(root)
      const head = await forge.head()

      // Act
      const attempt = forge.commitFiles(
        [
          { path: 'audit/inside.json', content: '{}\n' },
          { path: '../escaped.txt', content: 'outside\n' },
        ],
        'm',
        head,
      )

      // Assert
      await expect(attempt).rejects.toThrow(/outside the repository/)
      expect(await exists(join(dir, '..', 'escaped.txt'))).toBe(false)
      expect(await exists(join(root, 'audit/inside.json'))).toBe(false)
      expect(await forge.head()).toBe(head)
    })

    it('commits only its own files, leaving a person’s staged change staged', async () => {
      // Arrange
      const forge = localForge(root)
      await writeFile(join(root, 'keyward.yaml'), 'version: 1\n# edited\n')
      await git('add', 'keyward.yaml')

      // Act
      await forge.commitFiles([{ path: 'audit/a.json', content: '{}\n' }], 'm', await forge.head())

      // Assert
      expect(await git('show', '--name-only', '--format=', 'HEAD')).toBe('audit/a.json')
      expect(await git('diff', '--cached', '--name-only')).toBe('keyward.yaml')
    })
  })

  describe('readFile and listFiles', () => {
    it('reads a file at a commit, not the work tree', async () => {
      // Arrange
      const forge = localForge(root)
      await forge.commitFiles(
        [{ path: 'audit/state.json', content: 'committed\n' }],
        'm',
        await forge.head(),
      )
      const head = await forge.head()
      await writeFile(join(root, 'audit/state.json'), 'edited in the work tree\n')

      // Act
      const atHead = await forge.readFile('audit/state.json', head)
      const inTree = await forge.readFile('audit/state.json')
      const missing = await forge.readFile('audit/none.json', head)

      // Assert
      expect(atHead).toBe('committed\n')
      expect(inTree).toBe('edited in the work tree\n')
      expect(missing).toBeUndefined()
    })

    it('reads a file at a commit when the governance folder is a subfolder of the repository', async () => {
      // Arrange: keyward.yaml in governance/, the git repository one level up.
      root = join(dir, 'governance')
      await mkdir(root)
      const forge = localForge(root)
      await forge.commitFiles(
        [{ path: 'audit/ledger.jsonl', content: 'line\n' }],
        'm',
        await forge.head(),
      )

      // Act
      const text = await forge.readFile('audit/ledger.jsonl', await forge.head())

      // Assert
      expect(await git('show', '--name-only', '--format=', 'HEAD')).toBe(
        'governance/audit/ledger.jsonl',
      )
      expect(text).toBe('line\n')
    })

    it('lists every file under a folder, relative to the repository', async () => {
      const forge = localForge(root)
      await forge.commitFiles(
        [
          { path: 'audit/snapshots/2026/11/27/120000Z.json', content: '{}\n' },
          { path: 'audit/snapshots/2026/11/26/120000Z.json', content: '{}\n' },
          { path: 'audit/ledger.jsonl', content: '\n' },
        ],
        'm',
        await forge.head(),
      )

      expect(await forge.listFiles('audit/snapshots')).toEqual([
        'audit/snapshots/2026/11/26/120000Z.json',
        'audit/snapshots/2026/11/27/120000Z.json',
      ])
      expect(await forge.listFiles('nothing-here')).toEqual([])
    })
  })

  describe('issues in the outbox', () => {
    const draft = (title: string, body: string) => ({
      title,
      body,
      labels: ['keyward', 'keyward:spend-spike'],
      assignees: ['jeff'],
    })

    it('creates, lists, updates and comments on issues, keeping each body exact', async () => {
      // Arrange
      const forge = localForge(root)
      const body =
        '<!-- keyward:finding 0123456789abcdef -->\n**ERROR** · `spend-spike`\n\n| a | b |\n'

      // Act
      const one = await forge.createIssue(draft('Spend spike on blog', body))
      const two = await forge.createIssue(draft('Another', 'second body\n'))
      await forge.updateIssue(one.number, {
        state: 'closed',
        stateReason: 'not_planned',
        title: 'Spend spike on blog (renamed)',
      })
      await forge.comment(one.number, 'Resolved: gone.')
      const listed = await forge.listIssues()

      // Assert
      expect([one.number, two.number]).toEqual([1, 2])
      expect(listed).toEqual([
        {
          number: 1,
          title: 'Spend spike on blog (renamed)',
          body,
          state: 'closed',
          stateReason: 'not_planned',
          labels: ['keyward', 'keyward:spend-spike'],
          assignees: ['jeff'],
          url: `${OUTBOX}/issues/0001.md`,
        },
        expect.objectContaining({
          number: 2,
          title: 'Another',
          body: 'second body\n',
          state: 'open',
        }),
      ])
      expect((await readdir(join(root, OUTBOX, 'issues'))).sort()).toEqual([
        '0001.comments.txt',
        '0001.md',
        '0002.md',
      ])
      expect(await readFile(join(root, OUTBOX, 'issues', '0001.comments.txt'), 'utf8')).toContain(
        'Resolved: gone.',
      )
    })

    it('reopens an issue and replaces its body and labels', async () => {
      // Arrange
      const forge = localForge(root)
      const { number } = await forge.createIssue(draft('t', 'old\n'))
      await forge.updateIssue(number, { state: 'closed', stateReason: 'completed' })

      // Act
      await forge.updateIssue(number, {
        state: 'open',
        stateReason: 'reopened',
        body: 'new\n',
        labels: ['keyward'],
      })

      // Assert
      expect(await forge.listIssues()).toEqual([
        expect.objectContaining({
          number,
          state: 'open',
          stateReason: 'reopened',
          body: 'new\n',
          labels: ['keyward'],
        }),
      ])
    })

    it('numbers a new issue after the highest existing one', async () => {
      const forge = localForge(root)
      for (const t of ['a', 'b', 'c']) await forge.createIssue(draft(t, `${t}\n`))
      await rm(join(root, OUTBOX, 'issues', '0002.md'))

      const next = await forge.createIssue(draft('d', 'd\n'))

      expect(next.number).toBe(4)
    })

    it('lists no issues before the outbox exists', async () => {
      expect(await localForge(root).listIssues()).toEqual([])
    })

    it('fails to update or comment on an issue that does not exist', async () => {
      const forge = localForge(root)
      await expect(forge.updateIssue(42, { title: 'x' })).rejects.toThrow()
      await expect(forge.comment(42, 'x')).rejects.toThrow()
    })
  })

  describe('outside a git repository', () => {
    it('refuses to work with a UsageError that says to run git init', async () => {
      // Arrange
      const plain = await mkdtemp(join(tmpdir(), 'keyward-not-git-'))
      try {
        const forge = localForge(plain)

        // Act
        const head = forge.head()
        const commit = forge.commitFiles([{ path: 'a.txt', content: 'a\n' }], 'm', undefined)

        // Assert
        await expect(head).rejects.toThrow(UsageError)
        await expect(head).rejects.toThrow(/not a git repository.*git init/)
        await expect(commit).rejects.toThrow(UsageError)
        expect(await exists(join(plain, 'a.txt'))).toBe(false)
      } finally {
        await rm(plain, { recursive: true, force: true })
      }
    })
  })
})

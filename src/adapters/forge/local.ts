import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, posix, relative } from 'node:path'
import { promisify } from 'node:util'
import { UsageError } from '../../errors.js'
import type {
  CommitOutcome,
  Forge,
  ForgeFile,
  ForgeIssue,
  IssueDraft,
  IssueStateReason,
} from '../../ports/forge.js'

const run = promisify(execFile)

/** The audit's own identity for commits, so a person's git config is never needed or used. */
export const BOT_GIT_CONFIG = [
  '-c',
  'user.name=keyward',
  '-c',
  'user.email=keyward@users.noreply.invalid',
  '-c',
  'commit.gpgsign=false',
]

export const OUTBOX = '.keyward/outbox'

interface StoredIssue extends Omit<ForgeIssue, 'url' | 'body'> {
  assignees: string[]
}

/**
 * The Forge over a local git repository: commits with git, and keeps the issues it would open
 * on GitHub as markdown files under `.keyward/outbox/issues/` (a JSON header line, then the
 * body), with the same numbering and reconciliation as GitHub's.
 */
export function localForge(root: string): Forge {
  const git = async (...args: string[]) =>
    (await run('git', [...BOT_GIT_CONFIG, ...args], { cwd: root, maxBuffer: 64 * 1024 * 1024 }))
      .stdout
  const issuesDir = join(root, OUTBOX, 'issues')
  const issueFile = (number: number) => join(issuesDir, `${String(number).padStart(4, '0')}.md`)

  async function ensureRepository(): Promise<void> {
    try {
      await git('rev-parse', '--is-inside-work-tree')
    } catch {
      throw new UsageError(
        `${root} is not a git repository; keyward audit commits its snapshots there (run \`git init\` first)`,
      )
    }
  }

  async function readIssue(file: string): Promise<ForgeIssue> {
    const text = await readFile(join(issuesDir, file), 'utf8')
    const newline = text.indexOf('\n')
    const header = JSON.parse(
      text
        .slice(0, newline)
        .replace(/^<!-- keyward:outbox /, '')
        .replace(/ -->$/, ''),
    ) as StoredIssue
    return { ...header, body: text.slice(newline + 1), url: posix.join(OUTBOX, 'issues', file) }
  }

  async function writeIssue(issue: StoredIssue, body: string): Promise<void> {
    await mkdir(issuesDir, { recursive: true })
    await writeFile(
      issueFile(issue.number),
      `<!-- keyward:outbox ${JSON.stringify(issue)} -->\n${body}`,
    )
  }

  async function stored(number: number): Promise<{ issue: StoredIssue; body: string }> {
    const { url: _url, body, ...rest } = await readIssue(posix.basename(issueFile(number)))
    return { issue: { ...rest, assignees: (rest as Partial<StoredIssue>).assignees ?? [] }, body }
  }

  return {
    async head() {
      await ensureRepository()
      try {
        return (await git('rev-parse', '--verify', '--quiet', 'HEAD')).trim() || undefined
      } catch {
        return undefined // a repository without commits
      }
    },

    async readFile(path, ref) {
      if (ref !== undefined) {
        try {
          // `./` makes the path relative to root, which may be a subfolder of the repository.
          return await git('show', `${ref}:./${path}`)
        } catch {
          return undefined
        }
      }
      try {
        return await readFile(join(root, path), 'utf8')
      } catch {
        return undefined
      }
    },

    async listFiles(folder) {
      const out: string[] = []
      const walk = async (dir: string): Promise<void> => {
        let entries
        try {
          entries = await readdir(join(root, dir), { withFileTypes: true })
        } catch {
          return
        }
        for (const entry of entries) {
          const path = posix.join(dir, entry.name)
          if (entry.isDirectory()) await walk(path)
          else out.push(path)
        }
      }
      await walk(folder)
      return out.sort()
    },

    async commitFiles(
      files: readonly ForgeFile[],
      message: string,
      parent: string | undefined,
    ): Promise<CommitOutcome> {
      await ensureRepository()
      if ((await this.head()) !== parent) return { status: 'conflict' }
      // Check every path before writing any, so a bad one leaves the work tree untouched.
      for (const file of files) {
        const inside = relative(root, join(root, file.path))
        if (inside.startsWith('..') || isAbsolute(inside))
          throw new Error(`refusing to write ${file.path} outside the repository`)
      }
      for (const file of files) {
        const full = join(root, file.path)
        await mkdir(dirname(full), { recursive: true })
        await writeFile(full, file.content)
      }
      await git('add', '--', ...files.map((f) => f.path))
      const staged = await git('diff', '--cached', '--name-only', '--', ...files.map((f) => f.path))
      if (staged.trim() === '') return { status: 'unchanged' }
      await git(
        'commit',
        '--quiet',
        '--no-verify',
        '-m',
        message,
        '--',
        ...files.map((f) => f.path),
      )
      return { status: 'committed', sha: (await git('rev-parse', 'HEAD')).trim() }
    },

    async listIssues() {
      let files: string[]
      try {
        files = (await readdir(issuesDir)).filter((f) => f.endsWith('.md')).sort()
      } catch {
        return []
      }
      return Promise.all(files.map(readIssue))
    },

    async createIssue(draft: IssueDraft) {
      const existing = await this.listIssues()
      const number = existing.reduce((max, i) => Math.max(max, i.number), 0) + 1
      const issue: StoredIssue = {
        number,
        title: draft.title,
        state: 'open',
        stateReason: null,
        labels: draft.labels,
        assignees: draft.assignees,
      }
      await writeIssue(issue, draft.body)
      return {
        ...issue,
        body: draft.body,
        url: posix.join(OUTBOX, 'issues', posix.basename(issueFile(number))),
      }
    },

    async updateIssue(number, patch) {
      const { issue, body } = await stored(number)
      const stateReason: IssueStateReason =
        patch.stateReason !== undefined ? patch.stateReason : issue.stateReason
      await writeIssue(
        {
          ...issue,
          ...(patch.title !== undefined ? { title: patch.title } : {}),
          ...(patch.state ? { state: patch.state } : {}),
          ...(patch.labels ? { labels: patch.labels } : {}),
          stateReason,
        },
        patch.body ?? body,
      )
    },

    async comment(number, text) {
      // Comments live beside the issue, so the body stays what keyward reconciles.
      await stored(number)
      const file = issueFile(number).replace(/\.md$/, '.comments.txt')
      const before = await readFile(file, 'utf8').catch(() => '')
      await writeFile(file, `${before}---\n${text}\n`)
    },
  }
}

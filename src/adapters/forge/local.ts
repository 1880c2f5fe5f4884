import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join, posix, relative } from 'node:path'
import { promisify } from 'node:util'
import { UsageError } from '../../errors.js'
import type {
  BranchCommit,
  CommitOutcome,
  Forge,
  ForgeFile,
  ForgeIssue,
  ForgePullRequest,
  IssueDraft,
  IssueState,
  IssueStateReason,
  PullRequestDraft,
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

/** A pull request's header line: what `ForgePullRequest` holds that git cannot tell. */
interface StoredPull {
  number: number
  title: string
  state: IssueState
  branch: string
  labels: string[]
  assignees: string[]
  createdAt: string
  closedAt?: string
  /** The branch head keyward last wrote: a merged branch a person deleted is still recognised. */
  head: string
}

const MAX_BUFFER = 64 * 1024 * 1024

/** ISO 8601 UTC to the second, as GitHub writes it. */
const isoSeconds = (epochSeconds: number): string =>
  new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')

const outboxName = (number: number) => `${String(number).padStart(4, '0')}.md`

/**
 * The Forge over a local git repository: commits with git, and keeps the issues and pull
 * requests it would open on GitHub as markdown files under `.keyward/outbox/issues/` and
 * `.keyward/outbox/pulls/` (a JSON header line, then the body), numbered from one sequence as
 * GitHub numbers them.
 *
 * The audit's branch is the checked-out one (`HEAD`). Side branches (`keyward/rotate/…`) are
 * written with plumbing only (`hash-object`, a temporary index, `commit-tree`, `update-ref`
 * with the old value), so the work tree, the index and `HEAD` never change. A local pull request
 * is merged only by a person: it counts as merged once its branch head is part of `HEAD`.
 */
export function localForge(root: string): Forge {
  const git = async (...args: string[]) =>
    (await run('git', [...BOT_GIT_CONFIG, ...args], { cwd: root, maxBuffer: MAX_BUFFER })).stdout
  /** git with stdin and extra environment (a temporary index). */
  const gitWith = (args: string[], input: string, env: Record<string, string> = {}) =>
    new Promise<string>((resolve, reject) => {
      const child = execFile(
        'git',
        [...BOT_GIT_CONFIG, ...args],
        { cwd: root, maxBuffer: MAX_BUFFER, env: { ...process.env, ...env } },
        (error, stdout) => (error ? reject(error) : resolve(stdout)),
      )
      // A git that exits without reading stdin closes the pipe: its exit status decides.
      child.stdin?.on('error', () => {})
      child.stdin?.end(input)
    })
  /** A ref or revision to its commit, or undefined. */
  const resolve = async (rev: string): Promise<string | undefined> => {
    try {
      return (await git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`)).trim() || undefined
    } catch {
      return undefined
    }
  }
  const isAncestor = async (ancestor: string, descendant: string): Promise<boolean> => {
    try {
      await git('merge-base', '--is-ancestor', ancestor, descendant)
      return true
    } catch {
      return false
    }
  }
  /** Now, by git's clock: the committer date a commit made at this moment would carry. */
  const gitNow = async (): Promise<string> => {
    const ident = (await git('var', 'GIT_COMMITTER_IDENT')).trim()
    return isoSeconds(Number(/ (\d+) [+-]\d{4}$/.exec(ident)?.[1] ?? Number.NaN))
  }
  const issuesDir = join(root, OUTBOX, 'issues')
  const pullsDir = join(root, OUTBOX, 'pulls')
  const issueFile = (number: number) => join(issuesDir, outboxName(number))
  const pullFile = (number: number) => join(pullsDir, outboxName(number))
  const branchRef = async (branch: string): Promise<string> => {
    const ref = `refs/heads/${branch}`
    try {
      await git('check-ref-format', ref)
    } catch {
      throw new Error(`${JSON.stringify(branch)} is not a valid branch name`)
    }
    return ref
  }

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

  async function readPull(file: string): Promise<{ pull: StoredPull; body: string }> {
    const text = await readFile(join(pullsDir, file), 'utf8')
    const newline = text.indexOf('\n')
    const pull = JSON.parse(
      text
        .slice(0, newline)
        .replace(/^<!-- keyward:outbox /, '')
        .replace(/ -->$/, ''),
    ) as StoredPull
    return { pull, body: text.slice(newline + 1) }
  }

  async function writePull(pull: StoredPull, body: string): Promise<void> {
    await mkdir(pullsDir, { recursive: true })
    await writeFile(
      pullFile(pull.number),
      `<!-- keyward:outbox ${JSON.stringify(pull)} -->\n${body}`,
    )
  }

  async function outboxFiles(dir: string): Promise<string[]> {
    try {
      return (await readdir(dir)).filter((f) => /^\d+\.md$/.test(f)).sort()
    } catch {
      return []
    }
  }

  /** Issues and pull requests share one sequence, as on GitHub. */
  async function nextNumber(): Promise<number> {
    const numbers = [...(await outboxFiles(issuesDir)), ...(await outboxFiles(pullsDir))].map((f) =>
      Number.parseInt(f, 10),
    )
    return Math.max(0, ...numbers) + 1
  }

  /** The issue's or pull request's outbox file; throws when neither exists. */
  async function outboxFile(number: number): Promise<string> {
    for (const file of [issueFile(number), pullFile(number)]) {
      try {
        await readFile(file)
        return file
      } catch {
        // not this one
      }
    }
    throw new Error(`no issue or pull request #${number} in ${OUTBOX}`)
  }

  /**
   * When `tip` reached `HEAD`: the committer date of the oldest commit on `HEAD`'s first-parent
   * line that contains it (the merge commit, or `tip` itself after a fast forward, which git
   * does not date).
   */
  async function mergedAt(tip: string, head: string): Promise<string> {
    const after = (
      await git('rev-list', '--first-parent', '--ancestry-path', '--reverse', `${tip}..${head}`)
    )
      .split('\n')
      .filter(Boolean)
    let commit = tip
    const first = after[0]
    if (first !== undefined && (await resolve(`${first}^1`)) !== tip) commit = first
    return isoSeconds(Number((await git('show', '-s', '--format=%ct', commit)).trim()))
  }

  function toPull(pull: StoredPull, body: string, merged?: string): ForgePullRequest {
    return {
      number: pull.number,
      title: pull.title,
      body,
      state: merged !== undefined ? 'closed' : pull.state,
      branch: pull.branch,
      createdAt: pull.createdAt,
      mergedAt: merged,
      mergedBy: undefined,
      closedAt: merged ?? pull.closedAt,
      url: posix.join(OUTBOX, 'pulls', outboxName(pull.number)),
    }
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
      const number = await nextNumber()
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
      // Comments live beside the issue or pull request, so the body stays what keyward reconciles.
      const file = (await outboxFile(number)).replace(/\.md$/, '.comments.txt')
      const before = await readFile(file, 'utf8').catch(() => '')
      await writeFile(file, `${before}---\n${text}\n`)
    },

    async branchHead(branch) {
      await ensureRepository()
      return resolve(await branchRef(branch))
    },

    async branchCommits(branch): Promise<BranchCommit[]> {
      await ensureRepository()
      const tip = await resolve(await branchRef(branch))
      if (tip === undefined) return []
      const head = await this.head()
      const range = head === undefined ? [tip] : [`${head}..${tip}`]
      const fields = (await git('log', '-z', '--reverse', '--format=%H%x00%B', ...range)).split(
        '\0',
      )
      const commits: BranchCommit[] = []
      for (let i = 0; i + 1 < fields.length; i += 2)
        commits.push({
          sha: fields[i] as string,
          message: (fields[i + 1] as string).replace(/\n+$/, ''),
        })
      return commits
    },

    async commitToBranch(
      branch: string,
      files: readonly ForgeFile[],
      message: string,
      parent: string,
      options: { replace?: boolean } = {},
    ): Promise<CommitOutcome> {
      await ensureRepository()
      const ref = await branchRef(branch)
      const checkedOut = await git('symbolic-ref', '--quiet', 'HEAD').catch(() => '')
      if (checkedOut.trim() === ref)
        throw new Error(`refusing to commit to ${branch}: it is the checked-out branch`)
      const current = await resolve(ref)
      if (current !== undefined && current !== parent && options.replace !== true)
        return { status: 'conflict' }
      const prefix = (await git('rev-parse', '--show-prefix')).trim()
      const paths = files.map((f) => {
        const path = posix.normalize(posix.join(prefix, f.path))
        if (path.startsWith('../') || path === '..' || posix.isAbsolute(path))
          throw new Error(`refusing to write ${f.path} outside the repository`)
        return path
      })
      const parentTree = (await git('rev-parse', `${parent}^{tree}`)).trim()
      const temp = await mkdtemp(join(tmpdir(), 'keyward-index-'))
      let commit: string
      try {
        const env = { GIT_INDEX_FILE: join(temp, 'index') }
        await gitWith(['read-tree', parent], '', env)
        const entries: string[] = []
        for (const [i, file] of files.entries()) {
          const blob = (await gitWith(['hash-object', '-w', '--stdin'], file.content)).trim()
          entries.push(`100644 ${blob}\t${paths[i]}\0`)
        }
        await gitWith(['update-index', '-z', '--index-info'], entries.join(''), env)
        const tree = (await gitWith(['write-tree'], '', env)).trim()
        // Nothing to commit: no commit, and the branch (missing or not) is left as it is.
        if (tree === parentTree) return { status: 'unchanged' }
        commit = (await gitWith(['commit-tree', tree, '-p', parent, '-F', '-'], message)).trim()
      } finally {
        await rm(temp, { recursive: true, force: true })
      }
      // Compare and swap: the ref moves only if it is still what was read ('' = must not exist).
      try {
        await git(
          'update-ref',
          '-m',
          `keyward: ${message.split('\n')[0]}`,
          ref,
          commit,
          current ?? '',
        )
      } catch (error) {
        if ((await resolve(ref)) !== current) return { status: 'conflict' }
        throw error
      }
      for (const file of await outboxFiles(pullsDir)) {
        const { pull, body } = await readPull(file)
        if (pull.branch === branch && pull.state === 'open')
          await writePull({ ...pull, head: commit }, body)
      }
      return { status: 'committed', sha: commit }
    },

    async listPullRequests(prefix) {
      const head = await this.head()
      const pulls: ForgePullRequest[] = []
      for (const file of await outboxFiles(pullsDir)) {
        const { pull, body } = await readPull(file)
        if (!pull.branch.startsWith(prefix)) continue
        let merged: string | undefined
        if (pull.state === 'open' && head !== undefined) {
          const tip = (await resolve(await branchRef(pull.branch))) ?? pull.head
          if (await isAncestor(tip, head)) merged = await mergedAt(tip, head)
        }
        pulls.push(toPull(pull, body, merged))
      }
      return pulls
    },

    async createPullRequest(draft: PullRequestDraft) {
      await ensureRepository()
      const tip = await resolve(await branchRef(draft.branch))
      if (tip === undefined)
        throw new Error(`no branch ${draft.branch} to open a pull request from`)
      const head = await this.head()
      if (head !== undefined && (await isAncestor(tip, head)))
        throw new Error(`no commits between HEAD and ${draft.branch}`)
      for (const file of await outboxFiles(pullsDir)) {
        const { pull } = await readPull(file)
        if (pull.branch === draft.branch && pull.state === 'open')
          throw new Error(`a pull request already exists for ${draft.branch}: #${pull.number}`)
      }
      const pull: StoredPull = {
        number: await nextNumber(),
        title: draft.title,
        state: 'open',
        branch: draft.branch,
        labels: [...draft.labels],
        assignees: [...draft.assignees],
        createdAt: await gitNow(),
        head: tip,
      }
      await writePull(pull, draft.body)
      return toPull(pull, draft.body)
    },

    async updatePullRequest(number, patch) {
      const { pull, body } = await readPull(outboxName(number)).catch((error: unknown) => {
        throw new Error(`no pull request #${number} in ${OUTBOX}`, { cause: error })
      })
      const next: StoredPull = {
        ...pull,
        ...(patch.title !== undefined ? { title: patch.title } : {}),
      }
      if (patch.state !== undefined && patch.state !== pull.state) {
        next.state = patch.state
        if (patch.state === 'closed') next.closedAt = await gitNow()
        else delete next.closedAt
      }
      await writePull(next, patch.body ?? body)
    },
  }
}

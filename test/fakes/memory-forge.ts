import type { Clock } from '../../src/ports/clock.js'
import type {
  BranchCommit,
  CommitOutcome,
  Forge,
  ForgeFile,
  ForgeIssue,
  ForgePullRequest,
  IssueDraft,
  IssueStateReason,
  PullRequestDraft,
} from '../../src/ports/forge.js'
import { fixedClock, FIXTURE_NOW } from './fixed-clock.js'

/** One write the fake received, in order. Reads, and what a test does as a person, are not recorded. */
export type ForgeWrite =
  | { op: 'commit'; paths: string[]; message: string }
  | { op: 'create'; number: number; title: string }
  | { op: 'update'; number: number; patch: Record<string, unknown> }
  | { op: 'comment'; number: number; body: string }
  | {
      op: 'branch-commit'
      branch: string
      paths: string[]
      message: string
      /** The branch was moved off a head that was not the parent (`replace`). */
      replaced: boolean
    }
  | { op: 'pr-create'; number: number; branch: string; title: string }
  | { op: 'pr-update'; number: number; patch: Record<string, unknown> }

/** A commit on a side branch: the whole tree (`files`), as the branch holds it after the commit. */
export interface MemoryBranchCommit {
  sha: string
  parent: string
  message: string
  files: Map<string, string>
  /** `keyward` for `commitToBranch`, `person` for `pushHumanCommit`. */
  by: 'keyward' | 'person'
}

export type MemoryPullRequest = ForgePullRequest & {
  labels: string[]
  assignees: string[]
  comments: string[]
}

export interface MemoryForgeState {
  issues: Map<number, ForgeIssue & { assignees: string[]; comments: string[] }>
  files: Map<string, string>
  commits: { sha: string; files: Map<string, string> }[]
  /** Branch → its commits beyond the audit branch commit it started from, oldest first. */
  branches: Map<string, MemoryBranchCommit[]>
  /** Side-branch commits a merge brought into the audit branch. */
  merged: Set<string>
  pulls: Map<number, MemoryPullRequest>
  writes: ForgeWrite[]
}

/** An issue as a test arranges it; the rest takes GitHub's defaults for a new open issue. */
export type SeedIssue = Pick<ForgeIssue, 'number' | 'body'> & Partial<ForgeIssue>

export interface MemoryForgeOptions {
  /** Stamps pull requests' createdAt, closedAt and mergedAt. Default: stopped at FIXTURE_NOW. */
  clock?: Clock
}

/**
 * An in-memory Forge (GitHub-like numbering and states) that records every write, for unit
 * tests of reconciliation: `state.writes` is the whole story of what a run changed. Side
 * branches and pull requests live beside the audit branch's commits; `mergePull`, `closePull`
 * and `pushHumanCommit` are what a person does, for tests to arrange.
 */
export function memoryForge(seed: readonly SeedIssue[] = [], options: MemoryForgeOptions = {}) {
  const clock = options.clock ?? fixedClock(FIXTURE_NOW)
  const state: MemoryForgeState = {
    issues: new Map(),
    files: new Map(),
    commits: [],
    branches: new Map(),
    merged: new Set(),
    pulls: new Map(),
    writes: [],
  }
  for (const issue of seed)
    state.issues.set(issue.number, {
      title: `issue ${issue.number}`,
      state: 'open',
      stateReason: null,
      labels: ['keyward'],
      url: `memory://issues/${issue.number}`,
      assignees: [],
      comments: [],
      ...issue,
    })

  const get = (number: number) => {
    const issue = state.issues.get(number)
    if (!issue) throw new Error(`memory forge: no issue #${number}`)
    return issue
  }
  const getPull = (number: number) => {
    const pull = state.pulls.get(number)
    if (!pull) throw new Error(`memory forge: no pull request #${number}`)
    return pull
  }
  const view = ({ assignees: _a, comments: _c, ...issue }: ReturnType<typeof get>): ForgeIssue => ({
    ...issue,
    labels: [...issue.labels],
  })
  const viewPull = ({
    labels: _l,
    assignees: _a,
    comments: _c,
    ...pull
  }: MemoryPullRequest): ForgePullRequest => ({ ...pull })
  const head = () => state.commits.at(-1)?.sha
  const now = () =>
    clock
      .now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
  /** Issues and pull requests share one sequence, as on GitHub. */
  const nextNumber = () => Math.max(0, ...state.issues.keys(), ...state.pulls.keys()) + 1
  let branchCommitCount = 0

  const branchCommit = (sha: string): MemoryBranchCommit | undefined => {
    for (const commits of state.branches.values()) {
      const found = commits.find((c) => c.sha === sha)
      if (found) return found
    }
    return undefined
  }
  /** The whole tree at a commit of either kind. */
  const filesAt = (sha: string): Map<string, string> | undefined =>
    state.commits.find((c) => c.sha === sha)?.files ?? branchCommit(sha)?.files

  /**
   * A new commit on `branch` on top of `parent`: appended when `parent` is the branch's head
   * (or one of its commits), else the branch restarts from `parent` (an audit branch commit).
   */
  const addBranchCommit = (
    branch: string,
    parent: string,
    files: Map<string, string>,
    message: string,
    by: MemoryBranchCommit['by'],
  ): string => {
    const sha = `branch-commit${++branchCommitCount}`
    const commit: MemoryBranchCommit = { sha, parent, message, files, by }
    const commits = state.branches.get(branch) ?? []
    const at = commits.findIndex((c) => c.sha === parent)
    state.branches.set(branch, at >= 0 ? [...commits.slice(0, at + 1), commit] : [commit])
    return sha
  }

  const forge = {
    async head() {
      return head()
    },
    async readFile(path: string, ref?: string) {
      if (ref === undefined) return state.files.get(path)
      return filesAt(ref)?.get(path)
    },
    async listFiles(folder: string) {
      const prefix = folder.endsWith('/') ? folder : `${folder}/`
      return [...state.files.keys()].filter((p) => p.startsWith(prefix)).sort()
    },
    async commitFiles(
      files: readonly ForgeFile[],
      message: string,
      parent: string | undefined,
    ): Promise<CommitOutcome> {
      if (head() !== parent) return { status: 'conflict' }
      if (files.every((f) => state.files.get(f.path) === f.content)) return { status: 'unchanged' }
      for (const f of files) state.files.set(f.path, f.content)
      const sha = `commit${state.commits.length + 1}`
      state.commits.push({ sha, files: new Map(state.files) })
      state.writes.push({ op: 'commit', paths: files.map((f) => f.path), message })
      return { status: 'committed', sha }
    },
    async listIssues() {
      return [...state.issues.values()].sort((a, b) => a.number - b.number).map(view)
    },
    async createIssue(draft: IssueDraft) {
      const number = nextNumber()
      const issue = {
        number,
        title: draft.title,
        body: draft.body,
        state: 'open' as const,
        stateReason: null,
        labels: [...draft.labels],
        url: `memory://issues/${number}`,
        assignees: [...draft.assignees],
        comments: [],
      }
      state.issues.set(number, issue)
      state.writes.push({ op: 'create', number, title: draft.title })
      return view(issue)
    },
    async updateIssue(
      number: number,
      patch: Partial<Pick<ForgeIssue, 'title' | 'body' | 'state' | 'labels'>> & {
        stateReason?: IssueStateReason
      },
    ) {
      const issue = get(number)
      state.issues.set(number, {
        ...issue,
        ...patch,
        labels: patch.labels ? [...patch.labels] : issue.labels,
        // GitHub sets the reason with the state; reopening without one clears it.
        stateReason:
          patch.stateReason !== undefined
            ? patch.stateReason
            : patch.state === 'open'
              ? null
              : issue.stateReason,
      })
      state.writes.push({ op: 'update', number, patch: { ...patch } })
    },
    async comment(number: number, body: string) {
      ;(state.pulls.get(number) ?? get(number)).comments.push(body)
      state.writes.push({ op: 'comment', number, body })
    },

    async branchHead(branch: string) {
      return state.branches.get(branch)?.at(-1)?.sha
    },
    async branchCommits(branch: string): Promise<BranchCommit[]> {
      return (state.branches.get(branch) ?? [])
        .filter((c) => !state.merged.has(c.sha))
        .map((c) => ({ sha: c.sha, message: c.message }))
    },
    async commitToBranch(
      branch: string,
      files: readonly ForgeFile[],
      message: string,
      parent: string,
      commitOptions: { replace?: boolean } = {},
    ): Promise<CommitOutcome> {
      const current = state.branches.get(branch)?.at(-1)?.sha
      const replaced = current !== undefined && current !== parent
      if (replaced && commitOptions.replace !== true) return { status: 'conflict' }
      const base = filesAt(parent)
      if (!base) throw new Error(`memory forge: no commit ${parent}`)
      if (files.every((f) => base.get(f.path) === f.content)) return { status: 'unchanged' }
      const next = new Map(base)
      for (const f of files) next.set(f.path, f.content)
      const sha = addBranchCommit(branch, parent, next, message, 'keyward')
      state.writes.push({
        op: 'branch-commit',
        branch,
        paths: files.map((f) => f.path),
        message,
        replaced,
      })
      return { status: 'committed', sha }
    },
    async listPullRequests(prefix: string) {
      return [...state.pulls.values()]
        .filter((p) => p.branch.startsWith(prefix))
        .sort((a, b) => a.number - b.number)
        .map(viewPull)
    },
    async createPullRequest(draft: PullRequestDraft) {
      if (!state.branches.has(draft.branch))
        throw new Error(`memory forge: no branch ${draft.branch}`)
      const open = [...state.pulls.values()].find(
        (p) => p.branch === draft.branch && p.state === 'open',
      )
      if (open) throw new Error(`memory forge: a pull request already exists for ${draft.branch}`)
      const number = nextNumber()
      const pull: MemoryPullRequest = {
        number,
        title: draft.title,
        body: draft.body,
        state: 'open',
        branch: draft.branch,
        createdAt: now(),
        mergedAt: undefined,
        mergedBy: undefined,
        closedAt: undefined,
        url: `memory://pulls/${number}`,
        labels: [...draft.labels],
        assignees: [...draft.assignees],
        comments: [],
      }
      state.pulls.set(number, pull)
      state.writes.push({ op: 'pr-create', number, branch: draft.branch, title: draft.title })
      return viewPull(pull)
    },
    async updatePullRequest(
      number: number,
      patch: Partial<Pick<ForgePullRequest, 'title' | 'body' | 'state'>>,
    ) {
      const pull = getPull(number)
      if (patch.state === 'open' && pull.mergedAt !== undefined)
        throw new Error(`memory forge: pull request #${number} is merged`)
      if (patch.title !== undefined) pull.title = patch.title
      if (patch.body !== undefined) pull.body = patch.body
      if (patch.state !== undefined && patch.state !== pull.state) {
        pull.state = patch.state
        pull.closedAt = patch.state === 'closed' ? now() : undefined
      }
      state.writes.push({ op: 'pr-update', number, patch: { ...patch } })
    },
  } satisfies Forge

  /**
   * A person merges a pull request: the branch's changes land on the audit branch as one new
   * commit, its commits count as part of the audit branch, and the pull request is closed as
   * merged by `by`. Returns the new audit head.
   */
  const mergePull = (number: number, by: string): string => {
    const pull = getPull(number)
    if (pull.state !== 'open') throw new Error(`memory forge: pull request #${number} is closed`)
    const commits = state.branches.get(pull.branch) ?? []
    const tip = commits.at(-1)
    const first = commits[0]
    if (!tip || !first) throw new Error(`memory forge: no branch ${pull.branch}`)
    const before = filesAt(first.parent) ?? new Map<string, string>()
    for (const [path, content] of tip.files)
      if (before.get(path) !== content) state.files.set(path, content)
    const sha = `commit${state.commits.length + 1}`
    state.commits.push({ sha, files: new Map(state.files) })
    for (const c of commits) state.merged.add(c.sha)
    const at = now()
    Object.assign(pull, { state: 'closed', mergedAt: at, mergedBy: by, closedAt: at })
    return sha
  }

  /** A person closes a pull request without merging it. */
  const closePull = (number: number): void => {
    const pull = getPull(number)
    if (pull.state === 'closed') return
    pull.state = 'closed'
    pull.closedAt = now()
  }

  /**
   * A person pushes a commit writing `files` on top of `branch` (created from the audit head
   * when missing). Returns the new branch head.
   */
  const pushHumanCommit = (
    branch: string,
    files: Record<string, string>,
    message: string,
  ): string => {
    const parent = state.branches.get(branch)?.at(-1)?.sha ?? head()
    if (parent === undefined) throw new Error('memory forge: no audit commit to branch from')
    const next = new Map(filesAt(parent))
    for (const [path, content] of Object.entries(files)) next.set(path, content)
    return addBranchCommit(branch, parent, next, message, 'person')
  }

  return { forge, state, mergePull, closePull, pushHumanCommit }
}

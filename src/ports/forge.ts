/**
 * The Forge port (DESIGN.md): where the audit's commit, issues and pull requests go. The
 * GitHub adapter and the local one (a git repository plus `.keyward/outbox/`) implement it;
 * reconciliation (which issue to create, update, reopen or close) lives in the commands.
 */

export interface ForgeFile {
  /** Relative to the governance repository. */
  path: string
  content: string
}

/** `conflict`: the branch moved past `parent` (another run, or a person, pushed): re-plan and retry. */
export type CommitOutcome =
  { status: 'committed'; sha: string } | { status: 'unchanged' } | { status: 'conflict' }

export type IssueState = 'open' | 'closed'
/** GitHub's `state_reason`: a close as `not_planned` is a person's "won't fix". */
export type IssueStateReason = 'completed' | 'not_planned' | 'reopened' | null

export interface ForgeIssue {
  number: number
  title: string
  body: string
  state: IssueState
  stateReason: IssueStateReason
  labels: string[]
  /** Where a person reads it: a URL, or the outbox file. */
  url: string
}

export interface IssueDraft {
  title: string
  body: string
  labels: string[]
  assignees: string[]
}

/** A pull request keyward opened (rotation, SPEC §5 branch `keyward/rotate/<key-id>`). */
export interface ForgePullRequest {
  number: number
  title: string
  body: string
  state: IssueState
  /** The head branch. */
  branch: string
  /** ISO 8601 UTC. */
  createdAt: string
  /** ISO 8601 UTC when merged, else undefined (a closed, unmerged PR has `closedAt` only). */
  mergedAt: string | undefined
  /** Login of whoever merged it, when the forge says. */
  mergedBy: string | undefined
  closedAt: string | undefined
  url: string
}

export interface PullRequestDraft {
  title: string
  body: string
  /** The head branch, already pushed; the base is the audit's branch. */
  branch: string
  labels: string[]
  assignees: string[]
}

/** A commit on a side branch, to tell keyward's own commits from a person's. */
export interface BranchCommit {
  sha: string
  message: string
}

export interface Forge {
  /** The commit the branch the audit commits to points at (undefined: no commit yet). */
  head(): Promise<string | undefined>
  /** A file on that branch (at `ref` when given), or undefined. */
  readFile(path: string, ref?: string): Promise<string | undefined>
  /** Every file under a folder of that branch, relative to the repository. */
  listFiles(folder: string): Promise<string[]>
  /**
   * One commit with all files on top of `parent` (STYLE §4.4: no partial audit commits, no
   * force): `conflict` when the branch is no longer at `parent`.
   */
  commitFiles(
    files: readonly ForgeFile[],
    message: string,
    parent: string | undefined,
  ): Promise<CommitOutcome>
  /** Every issue labelled `keyward`, open and closed, in one listing. */
  listIssues(): Promise<ForgeIssue[]>
  createIssue(draft: IssueDraft): Promise<ForgeIssue>
  updateIssue(
    number: number,
    patch: Partial<Pick<ForgeIssue, 'title' | 'body' | 'state' | 'labels'>> & {
      stateReason?: IssueStateReason
    },
  ): Promise<void>
  comment(number: number, body: string): Promise<void>

  /** The commit `branch` points at, or undefined when there is no such branch. */
  branchHead(branch: string): Promise<string | undefined>
  /** Commits on `branch` that the audit's branch does not have, oldest first. */
  branchCommits(branch: string): Promise<BranchCommit[]>
  /**
   * One commit with `files` on top of `parent`, on `branch`. A missing branch is created at
   * that commit. An existing branch not at `parent` gives `conflict`, unless `replace` is set:
   * then the branch is moved to the new commit (a force update). Callers replace only
   * branches that hold nothing but keyward's own commits: a person's push is never lost.
   */
  commitToBranch(
    branch: string,
    files: readonly ForgeFile[],
    message: string,
    parent: string,
    options?: { replace?: boolean },
  ): Promise<CommitOutcome>
  /** Every pull request (open and closed) whose head branch starts with `prefix`, in one listing. */
  listPullRequests(prefix: string): Promise<ForgePullRequest[]>
  createPullRequest(draft: PullRequestDraft): Promise<ForgePullRequest>
  updatePullRequest(
    number: number,
    patch: Partial<Pick<ForgePullRequest, 'title' | 'body' | 'state'>>,
  ): Promise<void>
}

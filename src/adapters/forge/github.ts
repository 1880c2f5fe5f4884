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
} from '../../ports/forge.js'
import type { Log } from '../../ports/log.js'
import type { GitHubClient } from './octokit.js'

export interface GitHubForgeOptions {
  owner: string
  repo: string
  /** The branch audit commits to (a protected default branch can use another one). */
  branch: string
  /** The governance folder inside the repository ('' for its root): forge paths are relative to it. */
  root?: string
  log: Log
}

/** GitHub's issue body limit; the reconciler keeps bodies below it. */
export const ISSUE_BODY_LIMIT = 65_536

const statusOf = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null && 'status' in error
    ? Number((error as { status: unknown }).status)
    : undefined

/** Branch on status, never on message text (STYLE §4.5), except where GitHub gives nothing else. */
const isNotFound = (error: unknown) => statusOf(error) === 404
const isNonFastForward = (error: unknown) => statusOf(error) === 422

interface RawIssue {
  number: number
  title: string
  body?: string | null
  state: string
  state_reason?: string | null
  labels: (string | { name?: string })[]
  html_url: string
  pull_request?: unknown
}

function toIssue(raw: RawIssue): ForgeIssue {
  const reason = raw.state_reason
  return {
    number: raw.number,
    title: raw.title,
    body: raw.body ?? '',
    state: raw.state === 'closed' ? 'closed' : 'open',
    stateReason:
      reason === 'completed' || reason === 'not_planned' || reason === 'reopened' ? reason : null,
    labels: raw.labels.map((l) => (typeof l === 'string' ? l : (l.name ?? ''))).filter(Boolean),
    url: raw.html_url,
  }
}

interface RawPull {
  number: number
  title: string
  body?: string | null
  state: string
  html_url: string
  created_at: string
  closed_at?: string | null
  merged_at?: string | null
  merged_by?: { login: string } | null
  head: { ref: string; repo?: { full_name: string } | null }
}

function toPull(raw: RawPull): ForgePullRequest {
  return {
    number: raw.number,
    title: raw.title,
    body: raw.body ?? '',
    state: raw.state === 'closed' ? 'closed' : 'open',
    branch: raw.head.ref,
    createdAt: raw.created_at,
    mergedAt: raw.merged_at ?? undefined,
    mergedBy: raw.merged_by?.login ?? undefined,
    closedAt: raw.closed_at ?? undefined,
    url: raw.html_url,
  }
}

/** Commits per page of a comparison: GitHub's maximum. */
const COMPARE_PAGE = 100

/**
 * The Forge over GitHub (STYLE §4.4): commits through the Git Data API with no checkout and no
 * force, one paginated listing of `keyward` issues, labels created when missing. Side branches
 * are written the same way (a force update only for `replace`), and pull requests are listed
 * once per run, `state: 'all'`, with one extra read per merged one for `merged_by`.
 */
export function githubForge(octokit: GitHubClient, options: GitHubForgeOptions): Forge {
  const { owner, repo, branch, log } = options
  const base = (options.root ?? '').replace(/^\.?\/+|\/+$/g, '')
  const inRepo = (path: string) => (base ? `${base}/${path}` : path)
  const ensuredLabels = new Set<string>()

  async function ensureLabels(labels: readonly string[]): Promise<void> {
    for (const name of labels) {
      if (ensuredLabels.has(name)) continue
      try {
        await octokit.rest.issues.getLabel({ owner, repo, name })
      } catch (error) {
        if (!isNotFound(error)) throw error
        const color = name.startsWith('severity:error')
          ? 'b60205'
          : name.startsWith('severity:')
            ? 'fbca04'
            : '5319e7'
        await octokit.rest.issues
          .createLabel({ owner, repo, name, color, description: 'Managed by keyward' })
          .catch((e: unknown) => {
            if (statusOf(e) !== 422) throw e // 422: created meanwhile by another run
          })
      }
      ensuredLabels.add(name)
    }
  }

  async function refHead(name: string): Promise<string | undefined> {
    try {
      const { data } = await octokit.rest.git.getRef({ owner, repo, ref: `heads/${name}` })
      return data.object.sha
    } catch (error) {
      if (isNotFound(error)) return undefined
      throw error
    }
  }

  /**
   * The commit of `files` on top of `parent` (blobs inline in one tree, `base_tree` the
   * parent's), not yet on any branch; undefined when the tree would not change.
   */
  async function writeCommit(
    parent: string,
    files: readonly ForgeFile[],
    message: string,
  ): Promise<string | undefined> {
    const { data: parentCommit } = await octokit.rest.git.getCommit({
      owner,
      repo,
      commit_sha: parent,
    })
    const { data: tree } = await octokit.rest.git.createTree({
      owner,
      repo,
      base_tree: parentCommit.tree.sha,
      tree: files.map((f) => ({
        path: inRepo(f.path),
        mode: '100644' as const,
        type: 'blob' as const,
        content: f.content,
      })),
    })
    if (tree.sha === parentCommit.tree.sha) return undefined
    const { data: commit } = await octokit.rest.git.createCommit({
      owner,
      repo,
      message,
      tree: tree.sha,
      parents: [parent],
    })
    return commit.sha
  }

  /** Moves a branch; a 422 (not a fast forward, or gone meanwhile) is `false`, never retried with force. */
  async function moveRef(name: string, sha: string, force: boolean): Promise<boolean> {
    try {
      await octokit.rest.git.updateRef({ owner, repo, ref: `heads/${name}`, sha, force })
      return true
    } catch (error) {
      if (isNonFastForward(error)) return false
      throw error
    }
  }

  /** A person's login GitHub will not assign (not a collaborator): warn, keep the item. */
  function warnUnassigned(logins: readonly string[], what: string): void {
    log.warning(`could not assign ${logins.join(', ')}; ${what}`)
  }

  return {
    async head() {
      return refHead(branch)
    },

    async readFile(path, ref) {
      try {
        const { data } = await octokit.rest.repos.getContent({
          owner,
          repo,
          path: inRepo(path),
          ref: ref ?? branch,
          mediaType: { format: 'raw' },
        })
        return typeof data === 'string' ? data : undefined
      } catch (error) {
        if (isNotFound(error)) return undefined
        throw error
      }
    },

    async listFiles(folder) {
      const head = await this.head()
      if (!head) return []
      const { data: commit } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: head })
      const { data: tree } = await octokit.rest.git.getTree({
        owner,
        repo,
        tree_sha: commit.tree.sha,
        recursive: 'true',
      })
      if (tree.truncated)
        log.warning(
          `the tree of ${branch} is too large to list in one call; some files under ${folder} may be missed`,
        )
      const prefix = inRepo(folder.endsWith('/') ? folder : `${folder}/`)
      const strip = base ? base.length + 1 : 0
      return tree.tree
        .filter((e) => e.type === 'blob' && e.path?.startsWith(prefix))
        .map((e) => (e.path ?? '').slice(strip))
        .sort()
    },

    async commitFiles(
      files: readonly ForgeFile[],
      message: string,
      parent: string | undefined,
    ): Promise<CommitOutcome> {
      const head = await this.head()
      if (head !== parent) return { status: 'conflict' }
      if (!head)
        throw new Error(`branch ${branch} does not exist in ${owner}/${repo}; create it first`)
      const sha = await writeCommit(head, files, message)
      if (sha === undefined) return { status: 'unchanged' }
      if (!(await moveRef(branch, sha, false))) return { status: 'conflict' }
      return { status: 'committed', sha }
    },

    async listIssues() {
      const raw = await octokit.paginate(octokit.rest.issues.listForRepo, {
        owner,
        repo,
        labels: 'keyward',
        state: 'all',
        per_page: 100,
      })
      return (raw as RawIssue[]).filter((i) => !i.pull_request).map(toIssue)
    },

    async createIssue(draft: IssueDraft) {
      await ensureLabels(draft.labels)
      const { data } = await octokit.rest.issues
        .create({
          owner,
          repo,
          title: draft.title,
          body: draft.body,
          labels: draft.labels,
          assignees: draft.assignees,
        })
        .catch(async (error: unknown) => {
          // An owner who is not a collaborator cannot be assigned: create without, mention instead.
          if (statusOf(error) !== 422 || draft.assignees.length === 0) throw error
          warnUnassigned(draft.assignees, 'creating the issue unassigned')
          return octokit.rest.issues.create({
            owner,
            repo,
            title: draft.title,
            body: draft.body,
            labels: draft.labels,
          })
        })
      return toIssue(data as RawIssue)
    },

    async updateIssue(number, patch) {
      if (patch.labels) await ensureLabels(patch.labels)
      const stateReason: IssueStateReason | undefined = patch.stateReason
      await octokit.rest.issues.update({
        owner,
        repo,
        issue_number: number,
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.body !== undefined ? { body: patch.body } : {}),
        ...(patch.state ? { state: patch.state } : {}),
        ...(patch.labels ? { labels: patch.labels } : {}),
        ...(stateReason ? { state_reason: stateReason } : {}),
      })
    },

    async comment(number, body) {
      await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body })
    },

    async branchHead(name) {
      return refHead(name)
    },

    async branchCommits(name): Promise<BranchCommit[]> {
      const out: BranchCommit[] = []
      // One call for any rotation branch (under 100 commits); pages only past that.
      for (let page = 1; ; page++) {
        let data
        try {
          ;({ data } = await octokit.rest.repos.compareCommitsWithBasehead({
            owner,
            repo,
            basehead: `${branch}...${name}`,
            per_page: COMPARE_PAGE,
            page,
          }))
        } catch (error) {
          if (isNotFound(error)) return [] // no such branch (or no common history)
          throw error
        }
        out.push(...data.commits.map((c) => ({ sha: c.sha, message: c.commit.message })))
        if (data.commits.length < COMPARE_PAGE || out.length >= data.total_commits) return out
      }
    },

    async commitToBranch(
      name: string,
      files: readonly ForgeFile[],
      message: string,
      parent: string,
      commitOptions: { replace?: boolean } = {},
    ): Promise<CommitOutcome> {
      const current = await refHead(name)
      const replace = commitOptions.replace === true
      if (current !== undefined && current !== parent && !replace) return { status: 'conflict' }
      const sha = await writeCommit(parent, files, message)
      // Nothing to commit: no commit, and the branch (missing or not) is left as it is.
      if (sha === undefined) return { status: 'unchanged' }
      if (current === undefined) {
        try {
          await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${name}`, sha })
        } catch (error) {
          if (statusOf(error) === 422) return { status: 'conflict' } // created meanwhile
          throw error
        }
        return { status: 'committed', sha }
      }
      if (current === parent) {
        return (await moveRef(name, sha, false))
          ? { status: 'committed', sha }
          : { status: 'conflict' }
      }
      // A force update: GitHub cannot compare and swap, so check the head once more first; a
      // push between that read and the update is the only window left.
      if ((await refHead(name)) !== current) return { status: 'conflict' }
      return (await moveRef(name, sha, true))
        ? { status: 'committed', sha }
        : { status: 'conflict' }
    },

    async listPullRequests(prefix) {
      const fullName = `${owner}/${repo}`.toLowerCase()
      const raw = (await octokit.paginate(octokit.rest.pulls.list, {
        owner,
        repo,
        state: 'all',
        per_page: 100,
      })) as RawPull[]
      // Only branches of this repository: a fork's branch of the same name is not keyward's.
      const ours = raw.filter(
        (p) =>
          p.head.ref.startsWith(prefix) &&
          (p.head.repo?.full_name ?? '').toLowerCase() === fullName,
      )
      const pulls: ForgePullRequest[] = []
      for (const p of ours) {
        // A listing has no `merged_by`: one read per merged pull request (rotations are few).
        if (p.merged_at) {
          const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: p.number })
          pulls.push(toPull(data as RawPull))
        } else {
          pulls.push(toPull(p))
        }
      }
      return pulls.sort((a, b) => a.number - b.number)
    },

    async createPullRequest(draft: PullRequestDraft) {
      const { data } = await octokit.rest.pulls.create({
        owner,
        repo,
        base: branch,
        head: draft.branch,
        title: draft.title,
        body: draft.body,
      })
      if (draft.labels.length > 0) {
        await ensureLabels(draft.labels)
        await octokit.rest.issues.addLabels({
          owner,
          repo,
          issue_number: data.number,
          labels: draft.labels,
        })
      }
      if (draft.assignees.length > 0) {
        const what = `pull request #${data.number} stays unassigned for them`
        try {
          // GitHub ignores, silently, a login it cannot assign: compare what it kept.
          const { data: issue } = await octokit.rest.issues.addAssignees({
            owner,
            repo,
            issue_number: data.number,
            assignees: draft.assignees,
          })
          const kept = new Set((issue.assignees ?? []).map((a) => a.login.toLowerCase()))
          const refused = draft.assignees.filter((a) => !kept.has(a.toLowerCase()))
          if (refused.length > 0) warnUnassigned(refused, what)
        } catch (error) {
          if (statusOf(error) !== 422) throw error
          warnUnassigned(draft.assignees, what)
        }
      }
      return toPull(data as RawPull)
    },

    async updatePullRequest(number, patch) {
      await octokit.rest.pulls.update({
        owner,
        repo,
        pull_number: number,
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.body !== undefined ? { body: patch.body } : {}),
        ...(patch.state ? { state: patch.state } : {}),
      })
    },
  }
}

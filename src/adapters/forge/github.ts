import type {
  CommitOutcome,
  Forge,
  ForgeFile,
  ForgeIssue,
  IssueDraft,
  IssueStateReason,
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

/**
 * The Forge over GitHub (STYLE §4.4): commits through the Git Data API with no checkout and no
 * force, one paginated listing of `keyward` issues, labels created when missing.
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

  return {
    async head() {
      try {
        const { data } = await octokit.rest.git.getRef({ owner, repo, ref: `heads/${branch}` })
        return data.object.sha
      } catch (error) {
        if (isNotFound(error)) return undefined
        throw error
      }
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
      const { data: headCommit } = await octokit.rest.git.getCommit({
        owner,
        repo,
        commit_sha: head,
      })
      const { data: tree } = await octokit.rest.git.createTree({
        owner,
        repo,
        base_tree: headCommit.tree.sha,
        tree: files.map((f) => ({
          path: inRepo(f.path),
          mode: '100644' as const,
          type: 'blob' as const,
          content: f.content,
        })),
      })
      if (tree.sha === headCommit.tree.sha) return { status: 'unchanged' }
      const { data: commit } = await octokit.rest.git.createCommit({
        owner,
        repo,
        message,
        tree: tree.sha,
        parents: [head],
      })
      try {
        await octokit.rest.git.updateRef({
          owner,
          repo,
          ref: `heads/${branch}`,
          sha: commit.sha,
          force: false,
        })
      } catch (error) {
        if (isNonFastForward(error)) return { status: 'conflict' }
        throw error
      }
      return { status: 'committed', sha: commit.sha }
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
          log.warning(
            `could not assign ${draft.assignees.join(', ')}; creating the issue unassigned`,
          )
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
  }
}

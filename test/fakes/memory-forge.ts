import type {
  CommitOutcome,
  Forge,
  ForgeFile,
  ForgeIssue,
  IssueDraft,
  IssueStateReason,
} from '../../src/ports/forge.js'

/** One write the fake received, in order. Reads are not recorded. */
export type ForgeWrite =
  | { op: 'commit'; paths: string[]; message: string }
  | { op: 'create'; number: number; title: string }
  | { op: 'update'; number: number; patch: Record<string, unknown> }
  | { op: 'comment'; number: number; body: string }

export interface MemoryForgeState {
  issues: Map<number, ForgeIssue & { assignees: string[]; comments: string[] }>
  files: Map<string, string>
  commits: { sha: string; files: Map<string, string> }[]
  writes: ForgeWrite[]
}

/** An issue as a test arranges it; the rest takes GitHub's defaults for a new open issue. */
export type SeedIssue = Pick<ForgeIssue, 'number' | 'body'> & Partial<ForgeIssue>

/**
 * An in-memory Forge (GitHub-like numbering and states) that records every write, for unit
 * tests of reconciliation: `state.writes` is the whole story of what a run changed.
 */
export function memoryForge(seed: readonly SeedIssue[] = []) {
  const state: MemoryForgeState = { issues: new Map(), files: new Map(), commits: [], writes: [] }
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
  const view = ({ assignees: _a, comments: _c, ...issue }: ReturnType<typeof get>): ForgeIssue => ({
    ...issue,
    labels: [...issue.labels],
  })
  const head = () => state.commits.at(-1)?.sha

  const forge = {
    async head() {
      return head()
    },
    async readFile(path: string, ref?: string) {
      if (ref === undefined) return state.files.get(path)
      return state.commits.find((c) => c.sha === ref)?.files.get(path)
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
      const number = Math.max(0, ...state.issues.keys()) + 1
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
      get(number).comments.push(body)
      state.writes.push({ op: 'comment', number, body })
    },
  } satisfies Forge

  return { forge, state }
}

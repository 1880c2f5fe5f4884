/**
 * A loopback fake of the parts of GitHub's REST API that keyward's GitHub forge uses, so the
 * real `@octokit/rest` (with its throttling and retry plugins) runs against it on 127.0.0.1
 * (STYLE §5: "loopback servers … for GitHub"). One repository, `owner/repo`, with a default
 * branch `main` holding one commit.
 *
 * Shapes, status codes and pagination follow GitHub's published REST description (the
 * `@octokit/openapi-types` package generated from github/rest-api-description): `git-ref`,
 * `git-tree`, `git-commit`, `short-blob`, `content-file`, `issue`, `label`, `issue-comment`,
 * `pull-request`, `diff-entry`, `commit-comparison`; errors are `basic-error` (`{ message, documentation_url }`)
 * and `validation-error` (`{ message: 'Validation Failed', errors: [...] }`); lists carry a
 * `Link` header with `rel="next"`/`rel="last"`. Messages the description does not spell out
 * ("Update is not a fast forward", "Reference already exists", "body is too long (maximum is
 * 65536 characters)", "A pull request already exists for owner:branch.") are GitHub's as
 * clients have reported them.
 *
 * Git objects are real: blobs, trees and commits are hashed exactly as git hashes them
 * (`blob <len>\0…`, `tree <len>\0…`, `commit <len>\0…`), so ids match `git hash-object` and
 * `git write-tree`, and an unchanged tree has an unchanged id.
 *
 * Every request is recorded as `{ method, path, query, status }` (never a header or token).
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

// ---------------------------------------------------------------------------------------------
// Public types

export interface GitHubFakeOptions {
  /** The only token accepted (`authorization: token …` or `Bearer …`). Default `test-token`. */
  token?: string
  /** Default `owner`. */
  owner?: string
  /** Default `repo`. */
  repo?: string
  /** Default `main`. */
  defaultBranch?: string
  /** The files of the default branch's initial commit. Default `{ 'README.md': '# repo\n' }`. */
  files?: Record<string, string>
  /** The authenticated user's login. Default `github-actions[bot]` (what `GITHUB_TOKEN` acts as). */
  login?: string
  /** Timestamps of commits, issues and comments. Default: the wall clock. */
  now?: () => Date
  /** `x-ratelimit-limit` for the `core` resource. Default 5000. */
  rateLimit?: number
  /**
   * The logins that can be assigned (collaborators with push access). Default: anyone. Creating
   * an issue with another login is refused with 422; adding one to an existing issue or pull
   * request is silently ignored, as GitHub documents for `POST …/issues/{n}/assignees`.
   */
  assignable?: readonly string[]
}

export interface RecordedCall {
  method: string
  /** Decoded path, without the query: `/repos/owner/repo/git/ref/heads/main`. */
  path: string
  query: Record<string, string>
  status: number
}

/** Which requests a fault hits: any, or those with this method and path (exact, or a RegExp). */
export interface FaultMatch {
  method?: string
  path?: string | RegExp
}

/**
 * A failure served instead of the real response, `times` times (default once), to the first
 * requests that match:
 * - `secondary-rate-limit`: 403 with `retry-after` and GitHub's "secondary rate limit" message;
 * - `primary-rate-limit`: 403 with `x-ratelimit-remaining: 0` and a reset time;
 * - `server-error`: a 500 (default), 502, 503 or 504.
 */
export type GitHubFault =
  | { kind: 'secondary-rate-limit'; retryAfter?: number; match?: FaultMatch; times?: number }
  | { kind: 'primary-rate-limit'; resetInSeconds?: number; match?: FaultMatch; times?: number }
  | { kind: 'server-error'; status?: 500 | 502 | 503 | 504; match?: FaultMatch; times?: number }

export interface GitIdentity {
  name: string
  email: string
  /** ISO 8601, `YYYY-MM-DDTHH:MM:SSZ`. */
  date: string
}

export interface FakeCommit {
  sha: string
  tree: string
  parents: string[]
  message: string
  author: GitIdentity
  committer: GitIdentity
}

export type EntryType = 'blob' | 'tree' | 'commit'

export interface FakeTreeEntry {
  name: string
  /** As the API shows it: `100644`, `100755`, `040000`, `160000`, `120000`. */
  mode: string
  type: EntryType
  sha: string
}

export interface FakePull {
  id: number
  /** Branch names in this repository. */
  head: string
  base: string
  /** The head commit when the branch is gone (GitHub keeps the last one). */
  headSha: string
  draft: boolean
  /** Set by `mergePull`: when, by whom, and the commit it made on the base branch. */
  merged?: { at: string; by: string; commitSha: string }
}

/** An issue, or a pull request (`pull` set): GitHub numbers both from one sequence. */
export interface FakeIssue {
  number: number
  id: number
  title: string
  body: string | null
  state: 'open' | 'closed'
  stateReason: 'completed' | 'not_planned' | 'duplicate' | 'reopened' | null
  /** Label names as the repository spells them. */
  labels: string[]
  assignees: string[]
  user: string
  createdAt: string
  updatedAt: string
  closedAt: string | null
  pull?: FakePull
}

export interface FakeComment {
  id: number
  issueNumber: number
  body: string
  user: string
  createdAt: string
  updatedAt: string
}

export interface FakeLabel {
  id: number
  name: string
  color: string
  description: string | null
  default: boolean
}

export interface GitHubFakeState {
  owner: string
  repo: string
  defaultBranch: string
  blobs: Map<string, Buffer>
  trees: Map<string, FakeTreeEntry[]>
  commits: Map<string, FakeCommit>
  /** Branch name → commit sha. */
  refs: Map<string, string>
  issues: Map<number, FakeIssue>
  comments: FakeComment[]
  /** Lower-cased name → label (GitHub matches label names case-insensitively). */
  labels: Map<string, FakeLabel>
  /** Faults not yet served. */
  faults: GitHubFault[]
}

export interface IssueSeed {
  title: string
  body?: string | null
  labels?: string[]
  state?: 'open' | 'closed'
  stateReason?: FakeIssue['stateReason']
  assignees?: string[]
}

export interface PullSeed {
  /** Created from `base` when it does not exist. */
  head: string
  base?: string
  title: string
  body?: string | null
  labels?: string[]
  state?: 'open' | 'closed'
  draft?: boolean
}

export interface GitHubFake {
  /** `http://127.0.0.1:<port>`: Octokit's `baseUrl`. */
  url: string
  state: GitHubFakeState
  calls: RecordedCall[]
  stop(): Promise<void>
  inject(fault: GitHubFault): void
  /**
   * A concurrent push: a commit on top of `branch` (created from the default branch when
   * missing) writing `files` (`null` deletes a path). Returns the new head.
   */
  advanceHead(branch: string, files: Record<string, string | null>, message?: string): string
  /** A branch at `from`'s head (default: the default branch). Returns its head. */
  createBranch(name: string, from?: string): string
  /** An issue created behind the API's back (no call recorded). Returns its number. */
  seedIssue(seed: IssueSeed): number
  /** A pull request created behind the API's back. Returns its number. */
  seedPullRequest(seed: PullSeed): number
  /**
   * A person pushes a commit on top of `branch` (created from the default branch when missing),
   * writing `files` (`null` deletes a path), as `author`. Returns the new head.
   */
  pushCommit(
    branch: string,
    files: Record<string, string | null>,
    message: string,
    author?: { name: string; email: string },
  ): string
  /**
   * A person merges an open pull request with the merge button: `merge` (default) writes a merge
   * commit on the base branch even when a fast forward would do, as GitHub does; `squash` writes
   * one commit with the head's changes. A three-way merge by file; overlapping changes throw.
   * The pull request is then closed, `merged`, with `merged_at` and `merged_by`. Returns the
   * commit the base branch now points at.
   */
  mergePull(number: number, options: { by: string; method?: 'merge' | 'squash' }): string
  /** A person closes a pull request without merging it. */
  closePull(number: number): void
  /** A file's text on a branch (or at a commit sha), or undefined. */
  fileAt(branch: string, path: string): string | undefined
  /** First-parent history of a branch, newest first. */
  commitsOn(branch: string): FakeCommit[]
  /** Issues (not pull requests), by number. */
  issues(): FakeIssue[]
  /** Pull requests, by number. */
  pulls(): FakeIssue[]
  /** Comments on an issue or pull request, oldest first. */
  comments(issueNumber: number): FakeComment[]
  /** Recorded calls other than GET. */
  writeCalls(): RecordedCall[]
}

// ---------------------------------------------------------------------------------------------
// Constants

/** GitHub's cap on issue, pull request and comment bodies. */
export const MAX_BODY_CHARACTERS = 65536
const DEFAULT_LABEL_COLOR = 'ededed'
const DOCS = 'https://docs.github.com/rest'
const DOC = {
  repo: `${DOCS}/repos/repos#get-a-repository`,
  getRef: `${DOCS}/git/refs#get-a-reference`,
  matchingRefs: `${DOCS}/git/refs#list-matching-references`,
  createRef: `${DOCS}/git/refs#create-a-reference`,
  updateRef: `${DOCS}/git/refs#update-a-reference`,
  deleteRef: `${DOCS}/git/refs#delete-a-reference`,
  getCommit: `${DOCS}/git/commits#get-a-commit-object`,
  createCommit: `${DOCS}/git/commits#create-a-commit`,
  getTree: `${DOCS}/git/trees#get-a-tree`,
  createTree: `${DOCS}/git/trees#create-a-tree`,
  getBlob: `${DOCS}/git/blobs#get-a-blob`,
  createBlob: `${DOCS}/git/blobs#create-a-blob`,
  contents: `${DOCS}/repos/contents#get-repository-content`,
  listIssues: `${DOCS}/issues/issues#list-repository-issues`,
  getIssue: `${DOCS}/issues/issues#get-an-issue`,
  createIssue: `${DOCS}/issues/issues#create-an-issue`,
  updateIssue: `${DOCS}/issues/issues#update-an-issue`,
  listComments: `${DOCS}/issues/comments#list-issue-comments`,
  createComment: `${DOCS}/issues/comments#create-an-issue-comment`,
  listLabels: `${DOCS}/issues/labels#list-labels-for-a-repository`,
  getLabel: `${DOCS}/issues/labels#get-a-label`,
  createLabel: `${DOCS}/issues/labels#create-a-label`,
  listPulls: `${DOCS}/pulls/pulls#list-pull-requests`,
  getPull: `${DOCS}/pulls/pulls#get-a-pull-request`,
  createPull: `${DOCS}/pulls/pulls#create-a-pull-request`,
  updatePull: `${DOCS}/pulls/pulls#update-a-pull-request`,
  pullFiles: `${DOCS}/pulls/pulls#list-pull-requests-files`,
  compare: `${DOCS}/commits/commits#compare-two-commits`,
  addLabels: `${DOCS}/issues/labels#add-labels-to-an-issue`,
  addAssignees: `${DOCS}/issues/assignees#add-assignees-to-an-issue`,
} as const

// ---------------------------------------------------------------------------------------------
// Errors and replies

interface Reply {
  status: number
  body?: unknown
  /** Sent as is instead of JSON (the raw media type of the contents API). */
  raw?: Buffer
  headers?: Record<string, string>
}

class FakeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
    readonly headers: Record<string, string> = {},
  ) {
    super(String(body.message))
  }
}

function fail(status: number, message: string, documentationUrl: string): FakeHttpError {
  return new FakeHttpError(status, {
    message,
    documentation_url: documentationUrl,
    status: String(status),
  })
}

const notFound = (doc: string): FakeHttpError => fail(404, 'Not Found', doc)
const unprocessable = (message: string, doc: string): FakeHttpError => fail(422, message, doc)

interface ValidationErrorItem {
  resource: string
  code: string
  field?: string
  message?: string
}

function validationFailed(doc: string, ...errors: ValidationErrorItem[]): FakeHttpError {
  return new FakeHttpError(422, {
    message: 'Validation Failed',
    errors,
    documentation_url: doc,
    status: '422',
  })
}

/** GitHub's schema check for a missing required parameter. */
function missing(field: string, doc: string): FakeHttpError {
  return unprocessable(`Invalid request.\n\n"${field}" wasn't supplied.`, doc)
}

// ---------------------------------------------------------------------------------------------
// Git objects, hashed as git hashes them

function gitHash(type: 'blob' | 'tree' | 'commit', content: Buffer): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]))
    .digest('hex')
}

/** Git sorts tree entries bytewise by name, a subtree's name compared as if it ended in `/`. */
function gitEntryOrder(a: FakeTreeEntry, b: FakeTreeEntry): number {
  const key = (e: FakeTreeEntry): Buffer => Buffer.from(e.type === 'tree' ? `${e.name}/` : e.name)
  return Buffer.compare(key(a), key(b))
}

function epochSeconds(iso: string): number {
  return Math.floor(new Date(iso).getTime() / 1000)
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

interface FlatEntry {
  mode: string
  type: EntryType
  sha: string
}

class GitStore {
  constructor(private readonly state: GitHubFakeState) {}

  writeBlob(content: Buffer): string {
    const sha = gitHash('blob', content)
    this.state.blobs.set(sha, content)
    return sha
  }

  writeTree(entries: FakeTreeEntry[]): string {
    const sorted = [...entries].sort(gitEntryOrder)
    const body = Buffer.concat(
      sorted.flatMap((e) => [
        Buffer.from(`${e.mode === '040000' ? '40000' : e.mode} ${e.name}\0`),
        Buffer.from(e.sha, 'hex'),
      ]),
    )
    const sha = gitHash('tree', body)
    this.state.trees.set(sha, sorted)
    return sha
  }

  writeCommit(commit: Omit<FakeCommit, 'sha'>): string {
    const person = (p: GitIdentity): string =>
      `${p.name} <${p.email}> ${epochSeconds(p.date)} +0000`
    const text =
      `tree ${commit.tree}\n` +
      commit.parents.map((p) => `parent ${p}\n`).join('') +
      `author ${person(commit.author)}\n` +
      `committer ${person(commit.committer)}\n\n` +
      commit.message
    const sha = gitHash('commit', Buffer.from(text))
    this.state.commits.set(sha, { sha, ...commit })
    return sha
  }

  /** Every non-tree entry under a tree, by full path. */
  flatten(
    treeSha: string,
    prefix = '',
    out = new Map<string, FlatEntry>(),
  ): Map<string, FlatEntry> {
    for (const e of this.state.trees.get(treeSha) ?? []) {
      const path = prefix + e.name
      if (e.type === 'tree') this.flatten(e.sha, `${path}/`, out)
      else out.set(path, { mode: e.mode, type: e.type, sha: e.sha })
    }
    return out
  }

  /** The tree holding exactly these paths (directories implied). */
  buildTree(flat: Map<string, FlatEntry>): string {
    const build = (entries: [string, FlatEntry][]): string => {
      const here: FakeTreeEntry[] = []
      const dirs = new Map<string, [string, FlatEntry][]>()
      for (const [path, entry] of entries) {
        const slash = path.indexOf('/')
        if (slash < 0) {
          here.push({ name: path, ...entry })
        } else {
          const dir = path.slice(0, slash)
          const list = dirs.get(dir) ?? []
          list.push([path.slice(slash + 1), entry])
          dirs.set(dir, list)
        }
      }
      for (const [name, sub] of dirs)
        here.push({ name, mode: '040000', type: 'tree', sha: build(sub) })
      return this.writeTree(here)
    }
    return build([...flat])
  }

  /** Entries in recursive listing order (a subtree, then its contents), with full paths. */
  walk(treeSha: string, recursive: boolean, prefix = ''): (FakeTreeEntry & { path: string })[] {
    const out: (FakeTreeEntry & { path: string })[] = []
    for (const e of this.state.trees.get(treeSha) ?? []) {
      const path = prefix + e.name
      out.push({ ...e, path })
      if (recursive && e.type === 'tree') out.push(...this.walk(e.sha, true, `${path}/`))
    }
    return out
  }

  /** The entry at a path in a tree (`''` is the tree itself). */
  lookup(treeSha: string, path: string): FlatEntry | undefined {
    let current: FlatEntry = { mode: '040000', type: 'tree', sha: treeSha }
    for (const part of path.split('/').filter((p) => p !== '')) {
      if (current.type !== 'tree') return undefined
      const next = this.state.trees.get(current.sha)?.find((e) => e.name === part)
      if (next === undefined) return undefined
      current = next
    }
    return current
  }

  isAncestor(ancestor: string, descendant: string): boolean {
    const seen = new Set<string>()
    const queue = [descendant]
    while (queue.length > 0) {
      const sha = queue.shift() as string
      if (sha === ancestor) return true
      if (seen.has(sha)) continue
      seen.add(sha)
      queue.push(...(this.state.commits.get(sha)?.parents ?? []))
    }
    return false
  }

  mergeBase(a: string, b: string): string | undefined {
    const ofA = new Set<string>()
    const queue = [a]
    while (queue.length > 0) {
      const sha = queue.shift() as string
      if (ofA.has(sha)) continue
      ofA.add(sha)
      queue.push(...(this.state.commits.get(sha)?.parents ?? []))
    }
    const seen = new Set<string>()
    const fromB = [b]
    while (fromB.length > 0) {
      const sha = fromB.shift() as string
      if (ofA.has(sha)) return sha
      if (seen.has(sha)) continue
      seen.add(sha)
      fromB.push(...(this.state.commits.get(sha)?.parents ?? []))
    }
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// Unified diffs for pull request files (git's format, three lines of context)

interface DiffOp {
  kind: ' ' | '-' | '+'
  text: string
  /** The last line of its side, without a trailing newline. */
  noNewline: boolean
}

function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: true }
  const lines = text.split('\n')
  const finalNewline = lines[lines.length - 1] === ''
  if (finalNewline) lines.pop()
  return { lines, finalNewline }
}

function diffOps(before: string, after: string): DiffOp[] {
  const a = splitLines(before)
  const b = splitLines(after)
  const n = a.lines.length
  const m = b.lines.length
  // A last line without its newline differs from the same text with one, as in git.
  const keyA = a.lines.map((l, i) => (i === n - 1 && !a.finalNewline ? `${l}\0` : l))
  const keyB = b.lines.map((l, i) => (i === m - 1 && !b.finalNewline ? `${l}\0` : l))
  const ops: DiffOp[] = []
  const del = (i: number): void => {
    ops.push({ kind: '-', text: a.lines[i] ?? '', noNewline: i === n - 1 && !a.finalNewline })
  }
  const add = (j: number): void => {
    ops.push({ kind: '+', text: b.lines[j] ?? '', noNewline: j === m - 1 && !b.finalNewline })
  }
  if (n * m > 4_000_000) {
    for (let i = 0; i < n; i++) del(i)
    for (let j = 0; j < m; j++) add(j)
    return ops
  }
  // Longest common subsequence, suffix table.
  const width = m + 1
  const lcs = new Uint32Array((n + 1) * width)
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        keyA[i] === keyB[j]
          ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0)
    }
  }
  let i = 0
  let j = 0
  while (i < n && j < m) {
    if (keyA[i] === keyB[j]) {
      ops.push({ kind: ' ', text: a.lines[i] ?? '', noNewline: i === n - 1 && !a.finalNewline })
      i++
      j++
    } else if ((lcs[(i + 1) * width + j] ?? 0) >= (lcs[i * width + j + 1] ?? 0)) {
      del(i++)
    } else {
      add(j++)
    }
  }
  while (i < n) del(i++)
  while (j < m) add(j++)
  return ops
}

/** The `patch` GitHub shows for a file: hunks only, no `---`/`+++` header. */
function unifiedPatch(
  before: string,
  after: string,
): { patch: string; additions: number; deletions: number } {
  const ops = diffOps(before, after)
  const context = 3
  const changed = ops.flatMap((op, index) => (op.kind === ' ' ? [] : [index]))
  const additions = ops.filter((op) => op.kind === '+').length
  const deletions = ops.filter((op) => op.kind === '-').length
  if (changed.length === 0) return { patch: '', additions, deletions }
  // Group changes whose context would touch.
  const groups: [number, number][] = []
  for (const index of changed) {
    const last = groups[groups.length - 1]
    if (last !== undefined && index - last[1] <= 2 * context + 1) last[1] = index
    else groups.push([index, index])
  }
  // Line numbers before each op.
  const oldBefore: number[] = []
  const newBefore: number[] = []
  let oldLine = 0
  let newLine = 0
  for (const op of ops) {
    oldBefore.push(oldLine)
    newBefore.push(newLine)
    if (op.kind !== '+') oldLine++
    if (op.kind !== '-') newLine++
  }
  const range = (start: number, count: number): string =>
    count === 1 ? `${start}` : `${start},${count}`
  // git's default "function" context: the nearest line above the hunk that starts with a
  // letter, `_` or `$`, shown after the range, at most 80 bytes.
  const oldLines = splitLines(before).lines
  const funcname = (firstOldLine: number): string => {
    for (let k = firstOldLine - 2; k >= 0; k--) {
      const line = oldLines[k] ?? ''
      if (/^[A-Za-z_$]/.test(line)) {
        const clipped = Buffer.from(line).subarray(0, 80).toString('utf8').replace(/\s+$/, '')
        return ` ${clipped}`
      }
    }
    return ''
  }
  const out: string[] = []
  for (const [first, last] of groups) {
    const from = Math.max(0, first - context)
    const to = Math.min(ops.length - 1, last + context)
    const slice = ops.slice(from, to + 1)
    const oldCount = slice.filter((op) => op.kind !== '+').length
    const newCount = slice.filter((op) => op.kind !== '-').length
    const oldStart = (oldBefore[from] ?? 0) + (oldCount === 0 ? 0 : 1)
    const newStart = (newBefore[from] ?? 0) + (newCount === 0 ? 0 : 1)
    const header = `@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`
    out.push(header + funcname((oldBefore[from] ?? 0) + 1))
    for (const op of slice) {
      out.push(`${op.kind}${op.text}`)
      if (op.noNewline) out.push('\\ No newline at end of file')
    }
  }
  return { patch: out.join('\n'), additions, deletions }
}

// ---------------------------------------------------------------------------------------------
// Request helpers

type Body = Record<string, unknown>

interface Ctx {
  params: Record<string, string>
  query: URLSearchParams
  body: Body
  /** The request URL as the client sent it, absolute (for `Link`). */
  href: string
  /** The Accept header: `application/vnd.github.raw` asks for a file's bytes. */
  accept: string
}

function optionalString(body: Body, field: string, doc: string): string | undefined {
  const value = body[field]
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    throw unprocessable(
      `Invalid request.\n\nFor '${field}', ${JSON.stringify(value)} is not a string.`,
      doc,
    )
  }
  return value
}

function requiredString(body: Body, field: string, doc: string): string {
  const value = optionalString(body, field, doc)
  if (value === undefined) throw missing(field, doc)
  return value
}

function characters(text: string): number {
  return Array.from(text).length
}

/** A page of `items` and the `Link` header GitHub sends with it (none for a single page). */
function paginate<T>(ctx: Ctx, items: T[]): { page: T[]; headers: Record<string, string> } {
  const perPageRaw = Number.parseInt(ctx.query.get('per_page') ?? '', 10)
  const perPage = Number.isFinite(perPageRaw) && perPageRaw > 0 ? Math.min(perPageRaw, 100) : 30
  const pageRaw = Number.parseInt(ctx.query.get('page') ?? '', 10)
  const page = Number.isFinite(pageRaw) && pageRaw > 0 ? pageRaw : 1
  const lastPage = Math.max(1, Math.ceil(items.length / perPage))
  const slice = items.slice((page - 1) * perPage, page * perPage)
  if (lastPage === 1) return { page: slice, headers: {} }
  const link = (p: number, rel: string): string => {
    const url = new URL(ctx.href)
    url.searchParams.set('page', String(p))
    return `<${url.toString()}>; rel="${rel}"`
  }
  const links: string[] = []
  if (page > 1) links.push(link(Math.min(page - 1, lastPage), 'prev'))
  if (page < lastPage) links.push(link(page + 1, 'next'), link(lastPage, 'last'))
  if (page > 1) links.push(link(1, 'first'))
  return { page: slice, headers: { link: links.join(', ') } }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

function base64Lines(content: Buffer): string {
  const encoded = content.toString('base64')
  return (encoded.match(/.{1,60}/g) ?? []).map((line) => `${line}\n`).join('')
}

// ---------------------------------------------------------------------------------------------
// Routing

type Handler = (ctx: Ctx) => Reply

interface Route {
  method: string
  /** Below `/repos/{owner}/{repo}`: `:name` takes one segment, `*name` the rest. */
  pattern: string[]
  handler: Handler
}

function matchRoute(pattern: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {}
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i] as string
    if (part.startsWith('*')) {
      if (segments.length <= i) return undefined
      params[part.slice(1)] = segments.slice(i).join('/')
      return params
    }
    const segment = segments[i]
    if (segment === undefined) return undefined
    if (part.startsWith(':')) params[part.slice(1)] = segment
    else if (part !== segment) return undefined
  }
  return segments.length === pattern.length ? params : undefined
}

// ---------------------------------------------------------------------------------------------
// The fake

export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const token = options.token ?? 'test-token'
  const login = options.login ?? 'github-actions[bot]'
  const userId = 41898282
  const now = options.now ?? ((): Date => new Date())
  const rateLimit = options.rateLimit ?? 5000
  const rateReset = Math.floor(now().getTime() / 1000) + 3600
  let rateUsed = 0
  let nextId = 1000
  let requestCount = 0
  const htmlBase = 'https://github.com'

  const state: GitHubFakeState = {
    owner: options.owner ?? 'owner',
    repo: options.repo ?? 'repo',
    defaultBranch: options.defaultBranch ?? 'main',
    blobs: new Map(),
    trees: new Map(),
    commits: new Map(),
    refs: new Map(),
    issues: new Map(),
    comments: [],
    labels: new Map(),
    faults: [],
  }
  const calls: RecordedCall[] = []
  const git = new GitStore(state)
  const fullName = `${state.owner}/${state.repo}`
  let api = '' // set once listening
  const repoApi = (): string => `${api}/repos/${fullName}`
  const repoHtml = `${htmlBase}/${fullName}`
  const nodeId = (kind: string, id: number | string): string =>
    `${kind}_${Buffer.from(`${kind}:${id}`).toString('base64url')}`
  const timestamp = (): string => isoSeconds(now())
  const identity = (): GitIdentity => ({
    name: login,
    email: `${userId}+${login}@users.noreply.github.com`,
    date: timestamp(),
  })

  // Initial commit on the default branch.
  {
    const flat = new Map<string, FlatEntry>()
    for (const [path, text] of Object.entries(options.files ?? { 'README.md': '# repo\n' })) {
      flat.set(path, { mode: '100644', type: 'blob', sha: git.writeBlob(Buffer.from(text)) })
    }
    const tree = git.buildTree(flat)
    const who = { name: 'Octo Cat', email: 'octocat@example.com', date: timestamp() }
    const sha = git.writeCommit({
      tree,
      parents: [],
      message: 'Initial commit',
      author: who,
      committer: who,
    })
    state.refs.set(state.defaultBranch, sha)
  }

  // -- JSON renderings ------------------------------------------------------------------------

  const userJson = (name: string): Record<string, unknown> => {
    const id =
      name === login
        ? userId
        : 1 + (Array.from(name).reduce((h, c) => h * 31 + c.charCodeAt(0), 7) % 1e7)
    return {
      login: name,
      id,
      node_id: nodeId('U', id),
      avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
      gravatar_id: '',
      url: `${api}/users/${encodeURIComponent(name)}`,
      html_url: `${htmlBase}/${encodeURIComponent(name)}`,
      // simple-user requires every one of these (validated against @octokit/openapi).
      followers_url: `${api}/users/${encodeURIComponent(name)}/followers`,
      following_url: `${api}/users/${encodeURIComponent(name)}/following{/other_user}`,
      gists_url: `${api}/users/${encodeURIComponent(name)}/gists{/gist_id}`,
      starred_url: `${api}/users/${encodeURIComponent(name)}/starred{/owner}{/repo}`,
      subscriptions_url: `${api}/users/${encodeURIComponent(name)}/subscriptions`,
      organizations_url: `${api}/users/${encodeURIComponent(name)}/orgs`,
      repos_url: `${api}/users/${encodeURIComponent(name)}/repos`,
      events_url: `${api}/users/${encodeURIComponent(name)}/events{/privacy}`,
      received_events_url: `${api}/users/${encodeURIComponent(name)}/received_events`,
      type: name.endsWith('[bot]') ? 'Bot' : 'User',
      site_admin: false,
    }
  }

  const createdAt = timestamp()
  /** `full-repository` (repos/get) and `repository` (a pull request's head and base repo). */
  const repoJson = (): Record<string, unknown> => {
    const r = repoApi()
    const openIssues = [...state.issues.values()].filter((i) => i.state === 'open').length
    return {
      id: 1296269,
      node_id: nodeId('R', 1296269),
      name: state.repo,
      full_name: fullName,
      private: true,
      owner: userJson(state.owner),
      html_url: repoHtml,
      description: null,
      fork: false,
      url: r,
      archive_url: `${r}/{archive_format}{/ref}`,
      assignees_url: `${r}/assignees{/user}`,
      blobs_url: `${r}/git/blobs{/sha}`,
      branches_url: `${r}/branches{/branch}`,
      collaborators_url: `${r}/collaborators{/collaborator}`,
      comments_url: `${r}/comments{/number}`,
      commits_url: `${r}/commits{/sha}`,
      compare_url: `${r}/compare/{base}...{head}`,
      contents_url: `${r}/contents/{+path}`,
      contributors_url: `${r}/contributors`,
      deployments_url: `${r}/deployments`,
      downloads_url: `${r}/downloads`,
      events_url: `${r}/events`,
      forks_url: `${r}/forks`,
      git_commits_url: `${r}/git/commits{/sha}`,
      git_refs_url: `${r}/git/refs{/sha}`,
      git_tags_url: `${r}/git/tags{/sha}`,
      hooks_url: `${r}/hooks`,
      issue_comment_url: `${r}/issues/comments{/number}`,
      issue_events_url: `${r}/issues/events{/number}`,
      issues_url: `${r}/issues{/number}`,
      keys_url: `${r}/keys{/key_id}`,
      labels_url: `${r}/labels{/name}`,
      languages_url: `${r}/languages`,
      merges_url: `${r}/merges`,
      milestones_url: `${r}/milestones{/number}`,
      notifications_url: `${r}/notifications{?since,all,participating}`,
      pulls_url: `${r}/pulls{/number}`,
      releases_url: `${r}/releases{/id}`,
      stargazers_url: `${r}/stargazers`,
      statuses_url: `${r}/statuses/{sha}`,
      subscribers_url: `${r}/subscribers`,
      subscription_url: `${r}/subscription`,
      tags_url: `${r}/tags`,
      teams_url: `${r}/teams`,
      trees_url: `${r}/git/trees{/sha}`,
      clone_url: `${repoHtml}.git`,
      git_url: `git://github.com/${fullName}.git`,
      ssh_url: `git@github.com:${fullName}.git`,
      svn_url: repoHtml,
      mirror_url: null,
      homepage: null,
      language: null,
      license: null,
      size: 0,
      forks: 0,
      forks_count: 0,
      stargazers_count: 0,
      watchers: 0,
      watchers_count: 0,
      network_count: 0,
      subscribers_count: 1,
      open_issues: openIssues,
      open_issues_count: openIssues,
      default_branch: state.defaultBranch,
      visibility: 'private',
      archived: false,
      disabled: false,
      has_issues: true,
      has_projects: false,
      has_wiki: false,
      has_pages: false,
      has_downloads: false,
      has_discussions: false,
      pushed_at: timestamp(),
      created_at: createdAt,
      updated_at: timestamp(),
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    }
  }

  const commitUrl = (sha: string): string => `${repoApi()}/git/commits/${sha}`
  const refJson = (branch: string, sha: string): Record<string, unknown> => ({
    ref: `refs/heads/${branch}`,
    node_id: nodeId('REF', `${branch}`),
    url: `${repoApi()}/git/refs/heads/${branch}`,
    object: { sha, type: 'commit', url: commitUrl(sha) },
  })

  const commitJson = (c: FakeCommit): Record<string, unknown> => ({
    sha: c.sha,
    node_id: nodeId('C', c.sha),
    url: commitUrl(c.sha),
    html_url: `${repoHtml}/commit/${c.sha}`,
    author: c.author,
    committer: c.committer,
    tree: { sha: c.tree, url: `${repoApi()}/git/trees/${c.tree}` },
    message: c.message,
    parents: c.parents.map((p) => ({
      sha: p,
      url: commitUrl(p),
      html_url: `${repoHtml}/commit/${p}`,
    })),
    verification: {
      verified: false,
      reason: 'unsigned',
      signature: null,
      payload: null,
      verified_at: null,
    },
  })

  /** A commit as the commits API shows it (`commit`: compare, repos/getCommit). */
  const repoCommitJson = (c: FakeCommit): Record<string, unknown> => ({
    url: `${repoApi()}/commits/${c.sha}`,
    sha: c.sha,
    node_id: nodeId('C', c.sha),
    html_url: `${repoHtml}/commit/${c.sha}`,
    comments_url: `${repoApi()}/commits/${c.sha}/comments`,
    commit: {
      url: commitUrl(c.sha),
      author: c.author,
      committer: c.committer,
      message: c.message,
      comment_count: 0,
      tree: { sha: c.tree, url: `${repoApi()}/git/trees/${c.tree}` },
      verification: {
        verified: false,
        reason: 'unsigned',
        signature: null,
        payload: null,
        verified_at: null,
      },
    },
    // The GitHub account behind the commit's e-mail address: none that the fake knows of.
    author: null,
    committer: null,
    parents: c.parents.map((p) => ({
      sha: p,
      url: `${repoApi()}/commits/${p}`,
      html_url: `${repoHtml}/commit/${p}`,
    })),
  })

  const treeEntryJson = (e: FakeTreeEntry & { path: string }): Record<string, unknown> => ({
    path: e.path,
    mode: e.mode,
    type: e.type,
    sha: e.sha,
    ...(e.type === 'blob' ? { size: state.blobs.get(e.sha)?.length ?? 0 } : {}),
    ...(e.type === 'commit' ? {} : { url: `${repoApi()}/git/${e.type}s/${e.sha}` }),
  })

  const treeJson = (sha: string, recursive: boolean): Record<string, unknown> => ({
    sha,
    url: `${repoApi()}/git/trees/${sha}`,
    tree: git.walk(sha, recursive).map(treeEntryJson),
    truncated: false,
  })

  const labelJson = (l: FakeLabel): Record<string, unknown> => ({
    id: l.id,
    node_id: nodeId('LA', l.id),
    url: `${repoApi()}/labels/${encodeURIComponent(l.name)}`,
    name: l.name,
    color: l.color,
    default: l.default,
    description: l.description,
  })

  const issueJson = (i: FakeIssue): Record<string, unknown> => {
    const url = `${repoApi()}/issues/${i.number}`
    const kind = i.pull === undefined ? 'issues' : 'pull'
    return {
      id: i.id,
      node_id: nodeId('I', i.id),
      url,
      repository_url: repoApi(),
      labels_url: `${url}/labels{/name}`,
      comments_url: `${url}/comments`,
      events_url: `${url}/events`,
      html_url: `${repoHtml}/${kind}/${i.number}`,
      number: i.number,
      state: i.state,
      state_reason: i.stateReason,
      title: i.title,
      body: i.body,
      user: userJson(i.user),
      labels: i.labels.map((name) => labelJson(labelFor(name))),
      assignee: i.assignees[0] === undefined ? null : userJson(i.assignees[0]),
      assignees: i.assignees.map(userJson),
      milestone: null,
      locked: false,
      active_lock_reason: null,
      comments: state.comments.filter((c) => c.issueNumber === i.number).length,
      ...(i.pull === undefined
        ? {}
        : {
            pull_request: {
              url: `${repoApi()}/pulls/${i.number}`,
              html_url: `${repoHtml}/pull/${i.number}`,
              diff_url: `${repoHtml}/pull/${i.number}.diff`,
              patch_url: `${repoHtml}/pull/${i.number}.patch`,
              merged_at: i.pull.merged?.at ?? null,
            },
            draft: i.pull.draft,
          }),
      closed_at: i.closedAt,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_by: i.state === 'closed' ? userJson(login) : null,
      author_association: 'CONTRIBUTOR',
      timeline_url: `${url}/timeline`,
    }
  }

  const pullHeadSha = (p: FakePull): string => state.refs.get(p.head) ?? p.headSha

  const branchJson = (branch: string, sha: string): Record<string, unknown> => ({
    label: `${state.owner}:${branch}`,
    ref: branch,
    sha,
    user: userJson(state.owner),
    repo: repoJson(),
  })

  const pullJson = (i: FakeIssue, full: boolean): Record<string, unknown> => {
    const p = i.pull as FakePull
    const url = `${repoApi()}/pulls/${i.number}`
    const headSha = pullHeadSha(p)
    const simple: Record<string, unknown> = {
      url,
      id: p.id,
      node_id: nodeId('PR', p.id),
      html_url: `${repoHtml}/pull/${i.number}`,
      diff_url: `${repoHtml}/pull/${i.number}.diff`,
      patch_url: `${repoHtml}/pull/${i.number}.patch`,
      issue_url: `${repoApi()}/issues/${i.number}`,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${repoApi()}/pulls/comments{/number}`,
      comments_url: `${repoApi()}/issues/${i.number}/comments`,
      statuses_url: `${repoApi()}/statuses/${headSha}`,
      number: i.number,
      state: i.state,
      locked: false,
      title: i.title,
      user: userJson(i.user),
      body: i.body,
      labels: i.labels.map((name) => labelJson(labelFor(name))),
      milestone: null,
      active_lock_reason: null,
      created_at: i.createdAt,
      updated_at: i.updatedAt,
      closed_at: i.closedAt,
      merged_at: p.merged?.at ?? null,
      merge_commit_sha: p.merged?.commitSha ?? null,
      assignee: i.assignees[0] === undefined ? null : userJson(i.assignees[0]),
      assignees: i.assignees.map(userJson),
      requested_reviewers: [],
      requested_teams: [],
      head: branchJson(p.head, headSha),
      base: branchJson(p.base, state.refs.get(p.base) ?? ''),
      _links: {
        self: { href: url },
        html: { href: `${repoHtml}/pull/${i.number}` },
        issue: { href: `${repoApi()}/issues/${i.number}` },
        comments: { href: `${repoApi()}/issues/${i.number}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${repoApi()}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${repoApi()}/statuses/${headSha}` },
      },
      author_association: 'CONTRIBUTOR',
      auto_merge: null,
      draft: p.draft,
    }
    if (!full) return simple
    const files = pullFiles(i)
    return {
      ...simple,
      merged: p.merged !== undefined,
      mergeable: p.merged === undefined ? null : false,
      rebaseable: null,
      mergeable_state: 'unknown',
      merged_by: p.merged === undefined ? null : userJson(p.merged.by),
      comments: state.comments.filter((c) => c.issueNumber === i.number).length,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: commitsBetween(state.refs.get(p.base), headSha),
      additions: files.reduce((sum, f) => sum + f.additions, 0),
      deletions: files.reduce((sum, f) => sum + f.deletions, 0),
      changed_files: files.length,
    }
  }

  const commentJson = (c: FakeComment): Record<string, unknown> => ({
    id: c.id,
    node_id: nodeId('IC', c.id),
    url: `${repoApi()}/issues/comments/${c.id}`,
    html_url: `${repoHtml}/issues/${c.issueNumber}#issuecomment-${c.id}`,
    body: c.body,
    user: userJson(c.user),
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    issue_url: `${repoApi()}/issues/${c.issueNumber}`,
    author_association: 'CONTRIBUTOR',
  })

  // -- Model operations -----------------------------------------------------------------------

  function labelFor(name: string): FakeLabel {
    const existing = state.labels.get(name.toLowerCase())
    if (existing !== undefined) return existing
    const label: FakeLabel = {
      id: nextId++,
      name,
      color: DEFAULT_LABEL_COLOR,
      description: null,
      default: false,
    }
    state.labels.set(name.toLowerCase(), label)
    return label
  }

  /** Label names as sent (strings or `{ name }`), created when missing, as GitHub does for pushers. */
  function labelNames(value: unknown, doc: string): string[] {
    if (!Array.isArray(value))
      throw unprocessable("Invalid request.\n\nFor 'labels', the value is not an array.", doc)
    const names: string[] = []
    for (const item of value) {
      const name =
        typeof item === 'string'
          ? item
          : typeof item === 'object' && item !== null && typeof (item as Body).name === 'string'
            ? ((item as Body).name as string)
            : undefined
      if (name === undefined || name.trim() === '') continue
      const label = labelFor(name)
      if (!names.includes(label.name)) names.push(label.name)
    }
    return names
  }

  const canAssign = (name: string): boolean =>
    options.assignable === undefined ||
    options.assignable.some((a) => a.toLowerCase() === name.toLowerCase())

  function assigneeLogins(value: unknown): string[] {
    if (!Array.isArray(value)) return []
    return value.flatMap((item) =>
      typeof item === 'string'
        ? [item]
        : typeof item === 'object' && item !== null && typeof (item as Body).login === 'string'
          ? [(item as Body).login as string]
          : [],
    )
  }

  function checkBody(body: string | null | undefined, doc: string): void {
    if (typeof body === 'string' && characters(body) > MAX_BODY_CHARACTERS) {
      throw validationFailed(doc, {
        resource: 'Issue',
        code: 'custom',
        field: 'body',
        message: `body is too long (maximum is ${MAX_BODY_CHARACTERS} characters)`,
      })
    }
  }

  function newIssue(
    fields: Omit<FakeIssue, 'number' | 'id' | 'createdAt' | 'updatedAt'>,
  ): FakeIssue {
    const number = Math.max(0, ...state.issues.keys()) + 1
    const at = timestamp()
    const issue: FakeIssue = { number, id: nextId++, createdAt: at, updatedAt: at, ...fields }
    state.issues.set(number, issue)
    return issue
  }

  function getIssue(number: string, doc: string): FakeIssue {
    const issue = state.issues.get(Number(number))
    if (issue === undefined || !/^\d+$/.test(number)) throw notFound(doc)
    return issue
  }

  function applyState(issue: FakeIssue, wanted: unknown, reason: unknown, doc: string): void {
    if (wanted === undefined) return
    if (wanted !== 'open' && wanted !== 'closed') {
      throw validationFailed(doc, { resource: 'Issue', code: 'invalid', field: 'state' })
    }
    // "The reason for the state change. Ignored unless `state` is changed." (issues/update)
    if (wanted === issue.state) return
    if (wanted === 'closed') {
      issue.state = 'closed'
      issue.stateReason =
        reason === 'not_planned' || reason === 'duplicate' || reason === 'completed'
          ? reason
          : 'completed'
      issue.closedAt = timestamp()
    } else {
      issue.state = 'open'
      issue.stateReason = 'reopened'
      issue.closedAt = null
    }
  }

  function commitsBetween(base: string | undefined, head: string): number {
    let count = 0
    const seen = new Set<string>()
    const queue = [head]
    while (queue.length > 0) {
      const sha = queue.shift() as string
      if (seen.has(sha) || (base !== undefined && git.isAncestor(sha, base))) continue
      seen.add(sha)
      count++
      queue.push(...(state.commits.get(sha)?.parents ?? []))
    }
    return count
  }

  interface DiffEntry {
    sha: string | null
    filename: string
    status: 'added' | 'removed' | 'modified'
    additions: number
    deletions: number
    changes: number
    blob_url: string
    raw_url: string
    contents_url: string
    patch?: string
  }

  /** What GitHub shows in "Files changed": head against the merge base with base. */
  function pullFiles(issue: FakeIssue): DiffEntry[] {
    const p = issue.pull as FakePull
    const headSha = pullHeadSha(p)
    const baseHead = state.refs.get(p.base)
    return diffEntries(
      baseHead === undefined ? undefined : git.mergeBase(baseHead, headSha),
      headSha,
    )
  }

  /** The files that differ between two commits (`mergeBase` undefined: everything is added). */
  function diffEntries(mergeBase: string | undefined, headSha: string): DiffEntry[] {
    const before =
      mergeBase === undefined
        ? new Map<string, FlatEntry>()
        : git.flatten(state.commits.get(mergeBase)?.tree ?? '')
    const after = git.flatten(state.commits.get(headSha)?.tree ?? '')
    const paths = [...new Set([...before.keys(), ...after.keys()])].sort()
    const entries: DiffEntry[] = []
    for (const path of paths) {
      const a = before.get(path)
      const b = after.get(path)
      if (a?.sha === b?.sha) continue
      const status = a === undefined ? 'added' : b === undefined ? 'removed' : 'modified'
      const oldBlob =
        a === undefined ? Buffer.alloc(0) : (state.blobs.get(a.sha) ?? Buffer.alloc(0))
      const newBlob =
        b === undefined ? Buffer.alloc(0) : (state.blobs.get(b.sha) ?? Buffer.alloc(0))
      const binary = oldBlob.includes(0) || newBlob.includes(0)
      const diff = binary
        ? { patch: undefined, additions: 0, deletions: 0 }
        : unifiedPatch(oldBlob.toString('utf8'), newBlob.toString('utf8'))
      const at = status === 'removed' ? (mergeBase ?? headSha) : headSha
      const encoded = path.split('/').map(encodeURIComponent).join('/')
      entries.push({
        sha: (b ?? a)?.sha ?? null,
        filename: path,
        status,
        additions: diff.additions,
        deletions: diff.deletions,
        changes: diff.additions + diff.deletions,
        blob_url: `${repoHtml}/blob/${at}/${encoded}`,
        raw_url: `${repoHtml}/raw/${at}/${encoded}`,
        contents_url: `${repoApi()}/contents/${encoded}?ref=${at}`,
        ...(diff.patch === undefined ? {} : { patch: diff.patch }),
      })
    }
    return entries
  }

  /** A branch name, or the sha of a known commit, to a commit sha. */
  function resolveCommitish(ref: string): string | undefined {
    const branch = state.refs.get(ref.replace(/^refs\/heads\/|^heads\//, ''))
    if (branch !== undefined) return branch
    if (state.commits.has(ref)) return ref
    return undefined
  }

  function commitOnTop(
    branch: string,
    files: Record<string, string | null>,
    message: string,
    author: { name: string; email: string } = { name: 'A Person', email: 'person@example.com' },
  ): string {
    const parent = state.refs.get(branch) ?? state.refs.get(state.defaultBranch)
    const parentCommit = parent === undefined ? undefined : state.commits.get(parent)
    const flat =
      parentCommit === undefined ? new Map<string, FlatEntry>() : git.flatten(parentCommit.tree)
    for (const [path, text] of Object.entries(files)) {
      if (text === null) flat.delete(path)
      else flat.set(path, { mode: '100644', type: 'blob', sha: git.writeBlob(Buffer.from(text)) })
    }
    const who = { ...author, date: timestamp() }
    const sha = git.writeCommit({
      tree: git.buildTree(flat),
      parents: parent === undefined ? [] : [parent],
      message,
      author: who,
      committer: who,
    })
    state.refs.set(branch, sha)
    return sha
  }

  function openPullFor(head: string, base: string, except?: number): FakeIssue | undefined {
    return [...state.issues.values()].find(
      (i) =>
        i.pull !== undefined &&
        i.state === 'open' &&
        i.pull.head === head &&
        i.pull.base === base &&
        i.number !== except,
    )
  }

  /** The tree of a three-way merge by file of `ours` and `theirs` (commits); overlaps throw. */
  function mergeTrees(ours: string, theirs: string): string {
    const tree = (sha: string | undefined): Map<string, FlatEntry> =>
      sha === undefined ? new Map() : git.flatten(state.commits.get(sha)?.tree ?? '')
    const base = tree(git.mergeBase(ours, theirs))
    const a = tree(ours)
    const b = tree(theirs)
    const merged = new Map<string, FlatEntry>()
    for (const path of new Set([...base.keys(), ...a.keys(), ...b.keys()])) {
      const [o, x, y] = [base.get(path)?.sha, a.get(path), b.get(path)]
      const pick =
        x?.sha === y?.sha ? x : x?.sha === o ? y : y?.sha === o ? x : ('conflict' as const)
      if (pick === 'conflict') throw new Error(`github fake: merge conflict in ${path}`)
      if (pick !== undefined) merged.set(path, pick)
    }
    return git.buildTree(merged)
  }

  /** Commits reachable from `head` and not from `base`, oldest first (parents before children). */
  function commitsAhead(base: string | undefined, head: string): FakeCommit[] {
    const out: FakeCommit[] = []
    const seen = new Set<string>()
    const visit = (sha: string): void => {
      if (seen.has(sha)) return
      seen.add(sha)
      if (base !== undefined && git.isAncestor(sha, base)) return
      const commit = state.commits.get(sha)
      if (commit === undefined) return
      for (const parent of commit.parents) visit(parent)
      out.push(commit)
    }
    visit(head)
    return out
  }

  function mergePull(number: number, by: string, method: 'merge' | 'squash'): string {
    const issue = state.issues.get(number)
    const pull = issue?.pull
    if (issue === undefined || pull === undefined)
      throw new Error(`github fake: no pull request #${number}`)
    if (issue.state !== 'open') throw new Error(`github fake: pull request #${number} is closed`)
    const baseSha = state.refs.get(pull.base)
    if (baseSha === undefined) throw new Error(`github fake: no base branch ${pull.base}`)
    const headSha = pullHeadSha(pull)
    let result = baseSha
    if (!git.isAncestor(headSha, baseSha)) {
      const head = state.commits.get(headSha) as FakeCommit
      const who = { name: by, email: `${by}@users.noreply.github.com`, date: timestamp() }
      result = git.writeCommit({
        tree: mergeTrees(baseSha, headSha),
        parents: method === 'squash' ? [baseSha] : [baseSha, headSha],
        message:
          method === 'squash'
            ? `${issue.title} (#${number})\n\n${head.message}`
            : `Merge pull request #${number} from ${state.owner}/${pull.head}\n\n${issue.title}`,
        author: who,
        committer: { name: 'GitHub', email: 'noreply@github.com', date: who.date },
      })
      state.refs.set(pull.base, result)
    }
    const at = timestamp()
    pull.headSha = headSha
    pull.merged = { at, by, commitSha: result }
    issue.state = 'closed'
    issue.stateReason = null
    issue.closedAt = at
    issue.updatedAt = at
    return result
  }

  // -- Handlers -------------------------------------------------------------------------------

  const handleCreateTree: Handler = ({ body }) => {
    const doc = DOC.createTree
    const entries = body.tree
    if (!Array.isArray(entries)) throw missing('tree', doc)
    const baseTree = optionalString(body, 'base_tree', doc)
    let flat = new Map<string, FlatEntry>()
    if (baseTree !== undefined) {
      if (!state.trees.has(baseTree)) throw unprocessable('base_tree is not a valid tree oid', doc)
      flat = git.flatten(baseTree)
    }
    const removeUnder = (path: string): void => {
      for (const key of [...flat.keys()])
        if (key === path || key.startsWith(`${path}/`)) flat.delete(key)
    }
    for (const raw of entries as unknown[]) {
      if (typeof raw !== 'object' || raw === null) throw unprocessable('Invalid tree info', doc)
      const entry = raw as Body
      const path = entry.path
      if (
        typeof path !== 'string' ||
        path === '' ||
        path.split('/').some((p) => p === '' || p === '.' || p === '..')
      ) {
        throw unprocessable('Invalid tree info', doc)
      }
      const mode = entry.mode ?? '100644'
      if (
        typeof mode !== 'string' ||
        !['100644', '100755', '040000', '160000', '120000'].includes(mode)
      ) {
        throw unprocessable(
          `Invalid request.\n\nFor 'properties/mode', ${JSON.stringify(mode)} is not one of ["100644", "100755", "040000", "160000", "120000"].`,
          doc,
        )
      }
      const type: EntryType =
        entry.type === 'tree' || entry.type === 'commit' || entry.type === 'blob'
          ? entry.type
          : mode === '040000'
            ? 'tree'
            : mode === '160000'
              ? 'commit'
              : 'blob'
      const hasContent = entry.content !== undefined
      const hasSha = 'sha' in entry
      if (hasContent && hasSha) {
        throw unprocessable(
          'Must supply either tree.sha or tree.content. Request will be rejected if both are present.',
          doc,
        )
      }
      // A file replacing a directory, or a directory replacing a file.
      const parts = path.split('/')
      for (let i = 1; i < parts.length; i++) flat.delete(parts.slice(0, i).join('/'))
      if (hasContent) {
        if (typeof entry.content !== 'string') throw unprocessable('Invalid tree info', doc)
        removeUnder(path)
        flat.set(path, { mode, type: 'blob', sha: git.writeBlob(Buffer.from(entry.content)) })
      } else if (entry.sha === null) {
        removeUnder(path)
      } else if (typeof entry.sha === 'string') {
        const sha = entry.sha
        if (type === 'tree') {
          if (!state.trees.has(sha)) throw unprocessable(`tree.sha ${sha} is not a valid tree`, doc)
          removeUnder(path)
          for (const [sub, e] of git.flatten(sha)) flat.set(`${path}/${sub}`, e)
        } else if (type === 'blob') {
          if (!state.blobs.has(sha)) throw unprocessable(`tree.sha ${sha} is not a valid blob`, doc)
          removeUnder(path)
          flat.set(path, { mode, type, sha })
        } else {
          removeUnder(path)
          flat.set(path, { mode, type, sha })
        }
      } else {
        throw unprocessable(
          'Must supply either tree.sha or tree.content. Request will be rejected if both are present.',
          doc,
        )
      }
    }
    const sha = git.buildTree(flat)
    return {
      status: 201,
      body: treeJson(sha, false),
      headers: { location: `${repoApi()}/git/trees/${sha}` },
    }
  }

  const handleCreateCommit: Handler = ({ body }) => {
    const doc = DOC.createCommit
    const message = requiredString(body, 'message', doc)
    const tree = requiredString(body, 'tree', doc)
    const parents = body.parents ?? []
    if (!Array.isArray(parents) || parents.some((p) => typeof p !== 'string')) {
      throw unprocessable(
        "Invalid request.\n\nFor 'parents', the value is not an array of strings.",
        doc,
      )
    }
    if (!state.trees.has(tree)) throw unprocessable('Tree SHA does not exist', doc)
    for (const parent of parents as string[]) {
      if (!state.commits.has(parent))
        throw unprocessable('Parent SHA does not exist or is not a commit object', doc)
    }
    const person = (value: unknown, fallback: GitIdentity): GitIdentity => {
      if (typeof value !== 'object' || value === null) return fallback
      const v = value as Body
      return {
        name: typeof v.name === 'string' ? v.name : fallback.name,
        email: typeof v.email === 'string' ? v.email : fallback.email,
        date: typeof v.date === 'string' ? isoSeconds(new Date(v.date)) : fallback.date,
      }
    }
    // "By default, the author will be the authenticated user and the current date";
    // "By default, committer will use the information set in author".
    const author = person(body.author, identity())
    const committer = person(body.committer, author)
    const sha = git.writeCommit({ tree, parents: parents as string[], message, author, committer })
    return {
      status: 201,
      body: commitJson(state.commits.get(sha) as FakeCommit),
      headers: { location: commitUrl(sha) },
    }
  }

  const handleUpdateRef: Handler = ({ params, body }) => {
    const doc = DOC.updateRef
    const sha = requiredString(body, 'sha', doc)
    const force = body.force === true
    const ref = params.ref ?? ''
    const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined
    const current = branch === undefined ? undefined : state.refs.get(branch)
    if (branch === undefined || current === undefined)
      throw unprocessable('Reference does not exist', doc)
    if (!state.commits.has(sha)) throw unprocessable('Object does not exist', doc)
    if (!force && !git.isAncestor(current, sha))
      throw unprocessable('Update is not a fast forward', doc)
    state.refs.set(branch, sha)
    return { status: 200, body: refJson(branch, sha) }
  }

  const handleCreateRef: Handler = ({ body }) => {
    const doc = DOC.createRef
    const ref = requiredString(body, 'ref', doc)
    const sha = requiredString(body, 'sha', doc)
    if (!ref.startsWith('refs/') || ref.split('/').length < 3)
      throw unprocessable('Reference name is invalid', doc)
    if (!ref.startsWith('refs/heads/')) throw unprocessable('Reference name is invalid', doc)
    const branch = ref.slice('refs/heads/'.length)
    if (state.refs.has(branch)) throw unprocessable('Reference already exists', doc)
    if (!state.commits.has(sha)) throw unprocessable('Object does not exist', doc)
    state.refs.set(branch, sha)
    return {
      status: 201,
      body: refJson(branch, sha),
      headers: { location: `${repoApi()}/git/refs/heads/${branch}` },
    }
  }

  const handleListIssues: Handler = (ctx) => {
    const wantedState = ctx.query.get('state') ?? 'open'
    const wantedLabels = (ctx.query.get('labels') ?? '')
      .split(',')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l !== '')
    const sort = ctx.query.get('sort') ?? 'created'
    const direction = ctx.query.get('direction') ?? 'desc'
    const items = [...state.issues.values()]
      .filter((i) => wantedState === 'all' || i.state === wantedState)
      .filter((i) => wantedLabels.every((w) => i.labels.some((l) => l.toLowerCase() === w)))
      .sort((a, b) => {
        const key = (i: FakeIssue): string => (sort === 'updated' ? i.updatedAt : i.createdAt)
        const order = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.number - b.number
        return direction === 'asc' ? order : -order
      })
    const { page, headers } = paginate(ctx, items)
    return { status: 200, body: page.map(issueJson), headers }
  }

  const handleCreateIssue: Handler = ({ body }) => {
    const doc = DOC.createIssue
    const title = body.title
    if (title === undefined || title === null || String(title).trim() === '') {
      throw validationFailed(doc, { resource: 'Issue', code: 'missing_field', field: 'title' })
    }
    const text = optionalString(body, 'body', doc) ?? null
    checkBody(text, doc)
    const assignees = assigneeLogins(body.assignees)
    if (assignees.some((a) => !canAssign(a))) {
      throw validationFailed(doc, { resource: 'Issue', code: 'invalid', field: 'assignees' })
    }
    const issue = newIssue({
      title: String(title),
      body: text,
      state: 'open',
      stateReason: null,
      labels: body.labels === undefined ? [] : labelNames(body.labels, doc),
      assignees,
      user: login,
      closedAt: null,
    })
    return {
      status: 201,
      body: issueJson(issue),
      headers: { location: `${repoApi()}/issues/${issue.number}` },
    }
  }

  const handleUpdateIssue: Handler = ({ params, body }) => {
    const doc = DOC.updateIssue
    const issue = getIssue(params.number ?? '', doc)
    if (body.title !== undefined && body.title !== null) {
      if (String(body.title).trim() === '') {
        throw validationFailed(doc, { resource: 'Issue', code: 'missing_field', field: 'title' })
      }
    }
    if (body.body !== undefined && body.body !== null && typeof body.body !== 'string') {
      throw unprocessable(
        `Invalid request.\n\nFor 'body', ${JSON.stringify(body.body)} is not a string or null.`,
        doc,
      )
    }
    checkBody(body.body as string | null | undefined, doc)
    const labels = body.labels === undefined ? undefined : labelNames(body.labels, doc)
    if (body.title !== undefined && body.title !== null) issue.title = String(body.title)
    if (body.body !== undefined) issue.body = body.body as string | null
    if (labels !== undefined) issue.labels = labels
    if (body.assignees !== undefined) issue.assignees = assigneeLogins(body.assignees)
    applyState(issue, body.state, body.state_reason, doc)
    issue.updatedAt = timestamp()
    return { status: 200, body: issueJson(issue) }
  }

  const handleCreateComment: Handler = ({ params, body }) => {
    const doc = DOC.createComment
    const issue = getIssue(params.number ?? '', doc)
    const text = requiredString(body, 'body', doc)
    if (characters(text) > MAX_BODY_CHARACTERS) {
      throw validationFailed(doc, {
        resource: 'IssueComment',
        code: 'unprocessable',
        field: 'data',
        message: `Body is too long (maximum is ${MAX_BODY_CHARACTERS} characters)`,
      })
    }
    const at = timestamp()
    const comment: FakeComment = {
      id: nextId++,
      issueNumber: issue.number,
      body: text,
      user: login,
      createdAt: at,
      updatedAt: at,
    }
    state.comments.push(comment)
    issue.updatedAt = at
    return {
      status: 201,
      body: commentJson(comment),
      headers: { location: `${repoApi()}/issues/comments/${comment.id}` },
    }
  }

  const handleCreateLabel: Handler = ({ body }) => {
    const doc = DOC.createLabel
    const name = requiredString(body, 'name', doc)
    const color = optionalString(body, 'color', doc)?.replace(/^#/, '')
    const description = optionalString(body, 'description', doc)
    if (name.trim() === '')
      throw validationFailed(doc, { resource: 'Label', code: 'missing_field', field: 'name' })
    if (color !== undefined && !/^[0-9a-fA-F]{6}$/.test(color)) {
      throw validationFailed(doc, { resource: 'Label', code: 'invalid', field: 'color' })
    }
    if (description !== undefined && characters(description) > 100) {
      throw validationFailed(doc, {
        resource: 'Label',
        code: 'custom',
        field: 'description',
        message: 'description is too long (maximum is 100 characters)',
      })
    }
    if (state.labels.has(name.toLowerCase())) {
      throw validationFailed(doc, { resource: 'Label', code: 'already_exists', field: 'name' })
    }
    const label: FakeLabel = {
      id: nextId++,
      name,
      color: (color ?? DEFAULT_LABEL_COLOR).toLowerCase(),
      description: description ?? null,
      default: false,
    }
    state.labels.set(name.toLowerCase(), label)
    return {
      status: 201,
      body: labelJson(label),
      headers: { location: `${repoApi()}/labels/${encodeURIComponent(name)}` },
    }
  }

  const parseHead = (head: string, doc: string): string => {
    const colon = head.indexOf(':')
    if (colon < 0) return head
    if (head.slice(0, colon) !== state.owner) {
      throw validationFailed(doc, { resource: 'PullRequest', field: 'head', code: 'invalid' })
    }
    return head.slice(colon + 1)
  }

  const handleCreatePull: Handler = ({ body }) => {
    const doc = DOC.createPull
    const head = parseHead(requiredString(body, 'head', doc), doc)
    const base = requiredString(body, 'base', doc)
    const title = optionalString(body, 'title', doc)
    const text = optionalString(body, 'body', doc) ?? null
    if (title === undefined || title.trim() === '') {
      throw validationFailed(doc, {
        resource: 'PullRequest',
        code: 'missing_field',
        field: 'title',
      })
    }
    checkBody(text, doc)
    const baseSha = state.refs.get(base)
    const headSha = state.refs.get(head)
    if (baseSha === undefined)
      throw validationFailed(doc, { resource: 'PullRequest', field: 'base', code: 'invalid' })
    if (headSha === undefined)
      throw validationFailed(doc, { resource: 'PullRequest', field: 'head', code: 'invalid' })
    if (openPullFor(head, base) !== undefined) {
      throw validationFailed(doc, {
        resource: 'PullRequest',
        code: 'custom',
        message: `A pull request already exists for ${state.owner}:${head}.`,
      })
    }
    if (git.isAncestor(headSha, baseSha)) {
      throw validationFailed(doc, {
        resource: 'PullRequest',
        code: 'custom',
        message: `No commits between ${base} and ${head}`,
      })
    }
    const issue = newIssue({
      title,
      body: text,
      state: 'open',
      stateReason: null,
      labels: [],
      assignees: [],
      user: login,
      closedAt: null,
      pull: { id: nextId++, head, base, headSha, draft: body.draft === true },
    })
    return {
      status: 201,
      body: pullJson(issue, true),
      headers: { location: `${repoApi()}/pulls/${issue.number}` },
    }
  }

  const getPull = (number: string, doc: string): FakeIssue => {
    const issue = getIssue(number, doc)
    if (issue.pull === undefined) throw notFound(doc)
    return issue
  }

  const handleUpdatePull: Handler = ({ params, body }) => {
    const doc = DOC.updatePull
    const issue = getPull(params.number ?? '', doc)
    const pull = issue.pull as FakePull
    const title = optionalString(body, 'title', doc)
    const text = optionalString(body, 'body', doc)
    const base = optionalString(body, 'base', doc)
    checkBody(text, doc)
    if (base !== undefined && !state.refs.has(base)) {
      throw validationFailed(doc, { resource: 'PullRequest', field: 'base', code: 'invalid' })
    }
    if (body.state === 'open' && pull.merged !== undefined) {
      throw validationFailed(doc, {
        resource: 'PullRequest',
        code: 'custom',
        field: 'state',
        message: 'state cannot be changed. The pull request has already been merged.',
      })
    }
    if (
      body.state === 'open' &&
      issue.state === 'closed' &&
      openPullFor(pull.head, base ?? pull.base, issue.number)
    ) {
      throw validationFailed(doc, {
        resource: 'PullRequest',
        code: 'custom',
        message: `A pull request already exists for ${state.owner}:${pull.head}.`,
      })
    }
    if (title !== undefined) issue.title = title
    if (text !== undefined) issue.body = text
    if (base !== undefined) pull.base = base
    if (body.state !== undefined) {
      if (body.state !== 'open' && body.state !== 'closed') {
        throw validationFailed(doc, { resource: 'PullRequest', code: 'invalid', field: 'state' })
      }
      if (body.state !== issue.state) {
        issue.state = body.state
        issue.stateReason = null
        issue.closedAt = body.state === 'closed' ? timestamp() : null
      }
    }
    issue.updatedAt = timestamp()
    return { status: 200, body: pullJson(issue, true) }
  }

  const handleListPulls: Handler = (ctx) => {
    const wantedState = ctx.query.get('state') ?? 'open'
    const head = ctx.query.get('head')
    const base = ctx.query.get('base')
    // `head` must be `user:ref-name`; a bare branch name is silently ignored, as on GitHub.
    let headFilter: { owner: string; branch: string } | undefined
    if (head !== null && head.includes(':')) {
      const colon = head.indexOf(':')
      headFilter = { owner: head.slice(0, colon), branch: head.slice(colon + 1) }
    }
    const items = [...state.issues.values()]
      .filter((i) => i.pull !== undefined)
      .filter((i) => wantedState === 'all' || i.state === wantedState)
      .filter(
        (i) =>
          headFilter === undefined ||
          (headFilter.owner === state.owner && i.pull?.head === headFilter.branch),
      )
      .filter((i) => base === null || i.pull?.base === base)
      .sort((a, b) => b.number - a.number)
    const { page, headers } = paginate(ctx, items)
    return { status: 200, body: page.map((i) => pullJson(i, false)), headers }
  }

  /**
   * `GET /compare/{base}...{head}`: the commits `head` has and `base` has not, oldest first
   * (every one, up to 250, unless `per_page`/`page` ask for pages), and the files changed since
   * their merge base.
   */
  const handleCompare: Handler = (ctx) => {
    const doc = DOC.compare
    const spec = ctx.params.basehead ?? ''
    const dots = spec.indexOf('...')
    if (dots < 0) throw notFound(doc)
    const resolve = (name: string): string | undefined =>
      resolveCommitish(
        name.startsWith(`${state.owner}:`) ? name.slice(state.owner.length + 1) : name,
      )
    const baseSha = resolve(spec.slice(0, dots))
    const headSha = resolve(spec.slice(dots + 3))
    if (baseSha === undefined || headSha === undefined) throw notFound(doc)
    const mergeBase = git.mergeBase(baseSha, headSha)
    if (mergeBase === undefined) throw notFound(doc)
    const ahead = commitsAhead(baseSha, headSha)
    const behind = commitsAhead(headSha, baseSha).length
    const status =
      ahead.length > 0 && behind > 0
        ? 'diverged'
        : ahead.length > 0
          ? 'ahead'
          : behind > 0
            ? 'behind'
            : 'identical'
    const paged = ctx.query.has('per_page') || ctx.query.has('page')
    const { page, headers } = paged
      ? paginate(ctx, ahead)
      : { page: ahead.slice(0, 250), headers: {} }
    const short = (sha: string): string => `${state.owner}:${sha.slice(0, 7)}`
    return {
      status: 200,
      headers,
      body: {
        url: `${repoApi()}/compare/${spec}`,
        html_url: `${repoHtml}/compare/${spec}`,
        permalink_url: `${repoHtml}/compare/${short(baseSha)}...${short(headSha)}`,
        diff_url: `${repoHtml}/compare/${spec}.diff`,
        patch_url: `${repoHtml}/compare/${spec}.patch`,
        base_commit: repoCommitJson(state.commits.get(baseSha) as FakeCommit),
        merge_base_commit: repoCommitJson(state.commits.get(mergeBase) as FakeCommit),
        status,
        ahead_by: ahead.length,
        behind_by: behind,
        total_commits: ahead.length,
        commits: page.map(repoCommitJson),
        files: diffEntries(mergeBase, headSha).slice(0, 300),
      },
    }
  }

  const handleAddLabels: Handler = ({ params, body }) => {
    const doc = DOC.addLabels
    const issue = getIssue(params.number ?? '', doc)
    if (body.labels === undefined) throw missing('labels', doc)
    for (const name of labelNames(body.labels, doc))
      if (!issue.labels.includes(name)) issue.labels.push(name)
    issue.updatedAt = timestamp()
    return { status: 200, body: issue.labels.map((name) => labelJson(labelFor(name))) }
  }

  const handleAddAssignees: Handler = ({ params, body }) => {
    const issue = getIssue(params.number ?? '', DOC.addAssignees)
    // "Only users with push access can add assignees to an issue. Assignees are silently ignored otherwise."
    for (const name of assigneeLogins(body.assignees)) {
      const known = issue.assignees.some((a) => a.toLowerCase() === name.toLowerCase())
      if (canAssign(name) && !known) issue.assignees.push(name)
    }
    issue.updatedAt = timestamp()
    return {
      status: 201,
      body: issueJson(issue),
      headers: { location: `${repoApi()}/issues/${issue.number}` },
    }
  }

  const handleGetContent: Handler = ({ params, query, accept }) => {
    const doc = DOC.contents
    const ref = query.get('ref') ?? state.defaultBranch
    const commitSha = resolveCommitish(ref)
    if (commitSha === undefined) throw fail(404, `No commit found for the ref ${ref}`, doc)
    const commit = state.commits.get(commitSha) as FakeCommit
    const path = (params.path ?? '').replace(/^\/+|\/+$/g, '')
    const entry = git.lookup(commit.tree, path)
    if (entry === undefined) throw notFound(doc)
    const item = (p: string, e: FlatEntry): Record<string, unknown> => {
      const encoded = p.split('/').map(encodeURIComponent).join('/')
      const type =
        e.type === 'tree'
          ? 'dir'
          : e.type === 'commit'
            ? 'submodule'
            : e.mode === '120000'
              ? 'symlink'
              : 'file'
      const self = `${repoApi()}/contents/${encoded}?ref=${encodeURIComponent(ref)}`
      const gitUrl = e.type === 'commit' ? null : `${repoApi()}/git/${e.type}s/${e.sha}`
      const html = `${repoHtml}/${e.type === 'tree' ? 'tree' : 'blob'}/${ref}/${encoded}`
      return {
        type,
        size: e.type === 'blob' ? (state.blobs.get(e.sha)?.length ?? 0) : 0,
        name: p.split('/').pop() ?? p,
        path: p,
        sha: e.sha,
        url: self,
        git_url: gitUrl,
        html_url: html,
        download_url:
          type === 'file'
            ? `https://raw.githubusercontent.com/${fullName}/${ref}/${encoded}`
            : null,
        _links: { self, git: gitUrl, html },
      }
    }
    if (entry.type === 'tree') {
      return {
        status: 200,
        body: (state.trees.get(entry.sha) ?? []).map((e) =>
          item(path === '' ? e.name : `${path}/${e.name}`, e),
        ),
      }
    }
    const content = state.blobs.get(entry.sha) ?? Buffer.alloc(0)
    // The raw media type answers with the file's bytes, as GitHub does.
    if (/vnd\.github(\.v3)?\.raw/.test(accept)) {
      return { status: 200, raw: content, headers: { 'content-type': 'text/plain; charset=utf-8' } }
    }
    return {
      status: 200,
      body: { ...item(path, entry), content: base64Lines(content), encoding: 'base64' },
    }
  }

  const routes: Route[] = [
    { method: 'GET', pattern: [], handler: () => ({ status: 200, body: repoJson() }) },
    // Git data
    {
      method: 'GET',
      pattern: ['git', 'ref', '*ref'],
      handler: ({ params }) => {
        const ref = params.ref ?? ''
        const sha = ref.startsWith('heads/')
          ? state.refs.get(ref.slice('heads/'.length))
          : undefined
        if (sha === undefined) throw notFound(DOC.getRef)
        return { status: 200, body: refJson(ref.slice('heads/'.length), sha) }
      },
    },
    {
      method: 'GET',
      pattern: ['git', 'matching-refs', '*ref'],
      handler: ({ params }) => {
        const prefix = params.ref ?? ''
        const body = [...state.refs]
          .filter(([branch]) => `heads/${branch}`.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([branch, sha]) => refJson(branch, sha))
        return { status: 200, body }
      },
    },
    { method: 'POST', pattern: ['git', 'refs'], handler: handleCreateRef },
    { method: 'PATCH', pattern: ['git', 'refs', '*ref'], handler: handleUpdateRef },
    {
      method: 'DELETE',
      pattern: ['git', 'refs', '*ref'],
      handler: ({ params }) => {
        const ref = params.ref ?? ''
        const branch = ref.startsWith('heads/') ? ref.slice('heads/'.length) : undefined
        if (branch === undefined || !state.refs.has(branch))
          throw unprocessable('Reference does not exist', DOC.deleteRef)
        state.refs.delete(branch)
        return { status: 204 }
      },
    },
    {
      method: 'GET',
      pattern: ['git', 'commits', ':sha'],
      handler: ({ params }) => {
        const commit = state.commits.get(params.sha ?? '')
        if (commit === undefined) throw notFound(DOC.getCommit)
        return { status: 200, body: commitJson(commit) }
      },
    },
    { method: 'POST', pattern: ['git', 'commits'], handler: handleCreateCommit },
    {
      method: 'GET',
      pattern: ['git', 'trees', '*sha'],
      handler: ({ params, query }) => {
        const wanted = params.sha ?? ''
        let sha: string | undefined = state.trees.has(wanted) ? wanted : undefined
        if (sha === undefined) {
          const commit = resolveCommitish(wanted)
          sha = commit === undefined ? undefined : state.commits.get(commit)?.tree
        }
        if (sha === undefined) throw notFound(DOC.getTree)
        // "Setting this parameter to any value returns the objects or subtrees referenced".
        return { status: 200, body: treeJson(sha, query.has('recursive')) }
      },
    },
    { method: 'POST', pattern: ['git', 'trees'], handler: handleCreateTree },
    {
      method: 'GET',
      pattern: ['git', 'blobs', ':sha'],
      handler: ({ params }) => {
        const sha = params.sha ?? ''
        const blob = state.blobs.get(sha)
        if (blob === undefined) throw notFound(DOC.getBlob)
        return {
          status: 200,
          body: {
            sha,
            node_id: nodeId('B', sha),
            size: blob.length,
            url: `${repoApi()}/git/blobs/${sha}`,
            content: base64Lines(blob),
            encoding: 'base64',
          },
        }
      },
    },
    {
      method: 'POST',
      pattern: ['git', 'blobs'],
      handler: ({ body }) => {
        const doc = DOC.createBlob
        const content = requiredString(body, 'content', doc)
        const encoding = optionalString(body, 'encoding', doc) ?? 'utf-8'
        if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') {
          throw unprocessable(`encoding must be either "utf-8" or "base64"`, doc)
        }
        const sha = git.writeBlob(Buffer.from(content, encoding === 'base64' ? 'base64' : 'utf8'))
        const url = `${repoApi()}/git/blobs/${sha}`
        return { status: 201, body: { url, sha }, headers: { location: url } }
      },
    },
    { method: 'GET', pattern: ['contents'], handler: handleGetContent },
    { method: 'GET', pattern: ['contents', '*path'], handler: handleGetContent },
    // Issues
    { method: 'GET', pattern: ['issues'], handler: handleListIssues },
    { method: 'POST', pattern: ['issues'], handler: handleCreateIssue },
    {
      method: 'GET',
      pattern: ['issues', ':number'],
      handler: ({ params }) => ({
        status: 200,
        body: issueJson(getIssue(params.number ?? '', DOC.getIssue)),
      }),
    },
    { method: 'PATCH', pattern: ['issues', ':number'], handler: handleUpdateIssue },
    {
      method: 'GET',
      pattern: ['issues', ':number', 'comments'],
      handler: (ctx) => {
        const issue = getIssue(ctx.params.number ?? '', DOC.listComments)
        const { page, headers } = paginate(
          ctx,
          state.comments.filter((c) => c.issueNumber === issue.number),
        )
        return { status: 200, body: page.map(commentJson), headers }
      },
    },
    { method: 'POST', pattern: ['issues', ':number', 'comments'], handler: handleCreateComment },
    { method: 'POST', pattern: ['issues', ':number', 'labels'], handler: handleAddLabels },
    { method: 'POST', pattern: ['issues', ':number', 'assignees'], handler: handleAddAssignees },
    // Commits
    { method: 'GET', pattern: ['compare', '*basehead'], handler: handleCompare },
    // Labels
    {
      method: 'GET',
      pattern: ['labels'],
      handler: (ctx) => {
        const { page, headers } = paginate(ctx, [...state.labels.values()])
        return { status: 200, body: page.map(labelJson), headers }
      },
    },
    { method: 'POST', pattern: ['labels'], handler: handleCreateLabel },
    {
      method: 'GET',
      pattern: ['labels', ':name'],
      handler: ({ params }) => {
        const label = state.labels.get((params.name ?? '').toLowerCase())
        if (label === undefined) throw notFound(DOC.getLabel)
        return { status: 200, body: labelJson(label) }
      },
    },
    // Pulls
    { method: 'GET', pattern: ['pulls'], handler: handleListPulls },
    { method: 'POST', pattern: ['pulls'], handler: handleCreatePull },
    {
      method: 'GET',
      pattern: ['pulls', ':number'],
      handler: ({ params }) => ({
        status: 200,
        body: pullJson(getPull(params.number ?? '', DOC.getPull), true),
      }),
    },
    { method: 'PATCH', pattern: ['pulls', ':number'], handler: handleUpdatePull },
    {
      method: 'GET',
      pattern: ['pulls', ':number', 'files'],
      handler: (ctx) => {
        const issue = getPull(ctx.params.number ?? '', DOC.pullFiles)
        // "Responses include a maximum of 3000 files."
        const { page, headers } = paginate(ctx, pullFiles(issue).slice(0, 3000))
        return { status: 200, body: page, headers }
      },
    },
  ]

  // -- Serving --------------------------------------------------------------------------------

  function takeFault(method: string, path: string): GitHubFault | undefined {
    const index = state.faults.findIndex((f) => {
      const m = f.match
      if (m?.method !== undefined && m.method.toUpperCase() !== method) return false
      if (m?.path !== undefined) {
        if (typeof m.path === 'string' ? m.path !== path : !m.path.test(path)) return false
      }
      return true
    })
    if (index < 0) return undefined
    const fault = state.faults[index] as GitHubFault
    const left = (fault.times ?? 1) - 1
    if (left <= 0) state.faults.splice(index, 1)
    else state.faults[index] = { ...fault, times: left }
    return fault
  }

  function faultReply(fault: GitHubFault, requestId: string): FakeHttpError {
    switch (fault.kind) {
      case 'secondary-rate-limit':
        return new FakeHttpError(
          403,
          {
            message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
            documentation_url:
              'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
            status: '403',
          },
          { 'retry-after': String(fault.retryAfter ?? 60) },
        )
      case 'primary-rate-limit':
        return new FakeHttpError(
          403,
          {
            message: `API rate limit exceeded for user ID ${userId}. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
            status: '403',
          },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': String(rateLimit),
            'x-ratelimit-reset': String(
              Math.floor(now().getTime() / 1000) + (fault.resetInSeconds ?? 60),
            ),
          },
        )
      case 'server-error': {
        const status = fault.status ?? 500
        const message =
          status === 500
            ? 'Server Error'
            : status === 502
              ? 'Bad Gateway'
              : status === 503
                ? 'Service Unavailable'
                : 'Gateway Timeout'
        return new FakeHttpError(status, {
          message,
          documentation_url: DOCS,
          status: String(status),
        })
      }
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase()
    const url = new URL(req.url ?? '/', api)
    const segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => {
        try {
          return decodeURIComponent(s)
        } catch {
          return s
        }
      })
    const path = `/${segments.join('/')}`
    const query = Object.fromEntries(url.searchParams)
    requestCount++
    const requestId = `F4KE:${requestCount.toString(16).toUpperCase().padStart(4, '0')}:0001`
    const raw = await readBody(req)

    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': requestId,
    }
    let reply: Reply
    try {
      const auth = req.headers.authorization
      const credentials =
        auth === undefined ? undefined : /^(?:token|bearer)\s+(.+)$/i.exec(auth)?.[1]
      if (credentials !== token) {
        headers['x-ratelimit-limit'] = '60'
        headers['x-ratelimit-remaining'] = '59'
        headers['x-ratelimit-used'] = '1'
        headers['x-ratelimit-reset'] = String(rateReset)
        headers['x-ratelimit-resource'] = 'core'
        throw auth === undefined
          ? fail(401, 'Requires authentication', DOCS)
          : fail(401, 'Bad credentials', DOCS)
      }
      rateUsed = Math.min(rateLimit, rateUsed + 1)
      headers['x-ratelimit-limit'] = String(rateLimit)
      headers['x-ratelimit-remaining'] = String(rateLimit - rateUsed)
      headers['x-ratelimit-used'] = String(rateUsed)
      headers['x-ratelimit-reset'] = String(rateReset)
      headers['x-ratelimit-resource'] = 'core'

      const fault = takeFault(method, path)
      if (fault !== undefined) throw faultReply(fault, requestId)

      let body: Body = {}
      if (raw.length > 0) {
        let parsed: unknown
        try {
          parsed = JSON.parse(raw.toString('utf8'))
        } catch {
          throw fail(400, 'Problems parsing JSON', DOCS)
        }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
          throw fail(400, 'Body should be a JSON object', DOCS)
        }
        body = parsed as Body
      }

      if (segments[0] !== 'repos' || segments[1] !== state.owner || segments[2] !== state.repo) {
        throw notFound(DOCS)
      }
      const rest = segments.slice(3)
      let found: { route: Route; params: Record<string, string> } | undefined
      for (const route of routes) {
        if (route.method !== method) continue
        const params = matchRoute(route.pattern, rest)
        if (params !== undefined) {
          found = { route, params }
          break
        }
      }
      if (found === undefined) throw notFound(DOCS)
      reply = found.route.handler({
        params: found.params,
        query: url.searchParams,
        body,
        href: url.toString(),
        accept: String(req.headers.accept ?? ''),
      })
    } catch (error) {
      if (!(error instanceof FakeHttpError)) throw error
      reply = { status: error.status, body: error.body, headers: error.headers }
    }

    calls.push({ method, path, query, status: reply.status })
    Object.assign(headers, reply.headers ?? {})
    if (reply.status === 204 || (reply.body === undefined && reply.raw === undefined)) {
      delete headers['content-type']
      res.writeHead(reply.status, headers)
      res.end()
      return
    }
    const payload = reply.raw ?? Buffer.from(JSON.stringify(reply.body))
    headers['content-length'] = String(payload.length)
    res.writeHead(reply.status, headers)
    res.end(payload)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug in the fake: say so loudly rather than hang the client.
      const message = error instanceof Error ? error.message : String(error)
      if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' })
      res.end(`github fake crashed: ${message}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const isPull = (i: FakeIssue): boolean => i.pull !== undefined
  const byNumber = (a: FakeIssue, b: FakeIssue): number => a.number - b.number

  return {
    url: api,
    state,
    calls,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
    inject: (fault) => {
      state.faults.push(fault)
    },
    advanceHead: (branch, files, message = 'Concurrent push') =>
      commitOnTop(branch, files, message),
    pushCommit: (branch, files, message, author) => commitOnTop(branch, files, message, author),
    mergePull: (number, { by, method = 'merge' }) => mergePull(number, by, method),
    closePull: (number) => {
      const issue = state.issues.get(number)
      if (issue?.pull === undefined) throw new Error(`github fake: no pull request #${number}`)
      if (issue.state === 'closed') return
      issue.state = 'closed'
      issue.closedAt = timestamp()
      issue.updatedAt = issue.closedAt
    },
    createBranch: (name, from = state.defaultBranch) => {
      const sha = resolveCommitish(from)
      if (sha === undefined) throw new Error(`github fake: no branch or commit ${from}`)
      state.refs.set(name, sha)
      return sha
    },
    seedIssue: (seed) => {
      const closed = seed.state === 'closed'
      return newIssue({
        title: seed.title,
        body: seed.body ?? null,
        state: closed ? 'closed' : 'open',
        stateReason: seed.stateReason ?? (closed ? 'completed' : null),
        labels: (seed.labels ?? []).map((name) => labelFor(name).name),
        assignees: seed.assignees ?? [],
        user: login,
        closedAt: closed ? timestamp() : null,
      }).number
    },
    seedPullRequest: (seed) => {
      const base = seed.base ?? state.defaultBranch
      if (!state.refs.has(seed.head)) {
        const from = state.refs.get(base)
        if (from === undefined) throw new Error(`github fake: no base branch ${base}`)
        state.refs.set(seed.head, from)
      }
      const closed = seed.state === 'closed'
      return newIssue({
        title: seed.title,
        body: seed.body ?? null,
        state: closed ? 'closed' : 'open',
        stateReason: null,
        labels: (seed.labels ?? []).map((name) => labelFor(name).name),
        assignees: [],
        user: login,
        closedAt: closed ? timestamp() : null,
        pull: {
          id: nextId++,
          head: seed.head,
          base,
          headSha: state.refs.get(seed.head) as string,
          draft: seed.draft ?? false,
        },
      }).number
    },
    fileAt: (branch, path) => {
      const sha = resolveCommitish(branch)
      const commit = sha === undefined ? undefined : state.commits.get(sha)
      const entry = commit === undefined ? undefined : git.lookup(commit.tree, path)
      if (entry === undefined || entry.type !== 'blob') return undefined
      return state.blobs.get(entry.sha)?.toString('utf8')
    },
    commitsOn: (branch) => {
      const out: FakeCommit[] = []
      let sha = resolveCommitish(branch)
      while (sha !== undefined) {
        const commit = state.commits.get(sha)
        if (commit === undefined) break
        out.push(commit)
        sha = commit.parents[0]
      }
      return out
    },
    issues: () => [...state.issues.values()].filter((i) => !isPull(i)).sort(byNumber),
    pulls: () => [...state.issues.values()].filter(isPull).sort(byNumber),
    comments: (issueNumber) => state.comments.filter((c) => c.issueNumber === issueNumber),
    writeCalls: () => calls.filter((c) => c.method !== 'GET' && c.method !== 'HEAD'),
  }
}

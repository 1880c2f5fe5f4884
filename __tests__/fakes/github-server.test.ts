import { execFileSync, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createOctokit, type GitHubClient } from '../../src/adapters/forge/octokit.js'
import { silentLog } from '../../src/ports/log.js'
import { startGitHubFake, type GitHubFake } from '../../test/fakes/github-server.js'

interface HttpFailure {
  status: number
  message: string
  response?: { headers: Record<string, string | undefined>; data: unknown }
}

/** The RequestError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<HttpFailure> {
  try {
    await promise
  } catch (error) {
    return error as HttpFailure
  }
  throw new Error('expected the request to fail')
}

const decode = (content: string): string => Buffer.from(content, 'base64').toString('utf8')

let github: GitHubFake
let octokit: GitHubClient
const repo = { owner: 'owner', repo: 'repo' }

beforeEach(async () => {
  github = await startGitHubFake({ files: { 'README.md': '# repo\n', 'docs/keep.md': 'keep\n' } })
  octokit = createOctokit({
    token: 'test-token',
    baseUrl: github.url,
    log: silentLog,
    throttle: false,
  })
})

afterEach(async () => {
  await github.stop()
})

describe('repository and refs', () => {
  it('reports the default branch and its head', async () => {
    const { data: repository } = await octokit.rest.repos.get(repo)
    const { data: ref } = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' })

    expect(repository.default_branch).toBe('main')
    expect(repository.full_name).toBe('owner/repo')
    expect(ref.ref).toBe('refs/heads/main')
    expect(ref.object.type).toBe('commit')
    expect(ref.object.sha).toBe(github.commitsOn('main')[0]?.sha)
  })

  it('answers 404 for a branch that does not exist', async () => {
    const error = await failure(octokit.rest.git.getRef({ ...repo, ref: 'heads/keyward-state' }))

    expect(error.status).toBe(404)
    expect(error.response?.data).toMatchObject({
      message: 'Not Found',
      documentation_url: expect.stringContaining('docs.github.com'),
    })
  })

  it('creates a branch once and refuses to create it again', async () => {
    const head = github.commitsOn('main')[0]?.sha as string

    const { status } = await octokit.rest.git.createRef({
      ...repo,
      ref: 'refs/heads/keyward/rotate/k1',
      sha: head,
    })
    const again = await failure(
      octokit.rest.git.createRef({ ...repo, ref: 'refs/heads/keyward/rotate/k1', sha: head }),
    )
    const { data: ref } = await octokit.rest.git.getRef({ ...repo, ref: 'heads/keyward/rotate/k1' })

    expect(status).toBe(201)
    expect(again.status).toBe(422)
    expect(again.response?.data).toMatchObject({ message: 'Reference already exists' })
    expect(ref.object.sha).toBe(head)
  })

  it('sends rate-limit headers on every response', async () => {
    const first = await octokit.rest.repos.get(repo)
    const second = await octokit.rest.repos.get(repo)

    expect(first.headers['x-ratelimit-limit']).toBe('5000')
    expect(first.headers['x-ratelimit-resource']).toBe('core')
    expect(Number(first.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000)
    expect(Number(second.headers['x-ratelimit-remaining'])).toBe(
      Number(first.headers['x-ratelimit-remaining']) - 1,
    )
    expect(second.headers['x-ratelimit-used']).toBe('2')
  })
})

describe('commits through the Git Data API', () => {
  async function commitOnMain(files: { path: string; content: string | null }[], message: string) {
    const { data: ref } = await octokit.rest.git.getRef({ ...repo, ref: 'heads/main' })
    const { data: head } = await octokit.rest.git.getCommit({ ...repo, commit_sha: ref.object.sha })
    const { data: tree } = await octokit.rest.git.createTree({
      ...repo,
      base_tree: head.tree.sha,
      tree: files.map((f) =>
        f.content === null
          ? { path: f.path, mode: '100644' as const, type: 'blob' as const, sha: null }
          : { path: f.path, mode: '100644' as const, type: 'blob' as const, content: f.content },
      ),
    })
    const { data: commit } = await octokit.rest.git.createCommit({
      ...repo,
      message,
      tree: tree.sha,
      parents: [head.sha],
    })
    return { head, tree, commit }
  }

  it('writes a commit with base_tree, moves the branch without force and reads it back', async () => {
    const { head, tree, commit } = await commitOnMain(
      [
        { path: '.keyward/state/snapshot.json', content: '{"keys":[]}\n' },
        { path: 'ledger/2026-11.jsonl', content: 'hello\n' },
        { path: 'docs/keep.md', content: null },
      ],
      'keyward: audit 2026-11-27',
    )
    const { data: ref } = await octokit.rest.git.updateRef({
      ...repo,
      ref: 'heads/main',
      sha: commit.sha,
      force: false,
    })
    const { data: file } = await octokit.rest.repos.getContent({
      ...repo,
      path: '.keyward/state/snapshot.json',
      ref: 'main',
    })
    const { data: listing } = await octokit.rest.git.getTree({
      ...repo,
      tree_sha: tree.sha,
      recursive: '1',
    })
    const gone = await failure(
      octokit.rest.repos.getContent({ ...repo, path: 'docs/keep.md', ref: 'main' }),
    )

    expect(ref.object.sha).toBe(commit.sha)
    expect(commit.parents.map((p) => p.sha)).toEqual([head.sha])
    expect(commit.tree.sha).toBe(tree.sha)
    expect(Array.isArray(file) ? undefined : file.type).toBe('file')
    expect(decode((file as { content: string }).content)).toBe('{"keys":[]}\n')
    expect(listing.tree.map((e) => `${e.type} ${e.path}`)).toEqual([
      'tree .keyward',
      'tree .keyward/state',
      'blob .keyward/state/snapshot.json',
      'blob README.md',
      'tree ledger',
      'blob ledger/2026-11.jsonl',
    ])
    // git's own id for the blob "hello\n".
    expect(listing.tree.find((e) => e.path === 'ledger/2026-11.jsonl')?.sha).toBe(
      'ce013625030ba8dba906f756967f9e9ca394464a',
    )
    expect(gone.status).toBe(404)
    expect(github.fileAt('main', 'ledger/2026-11.jsonl')).toBe('hello\n')
    expect(github.commitsOn('main').map((c) => c.message)).toEqual([
      'keyward: audit 2026-11-27',
      'Initial commit',
    ])
    expect(github.writeCalls().map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'POST /repos/owner/repo/git/trees 201',
      'POST /repos/owner/repo/git/commits 201',
      'PATCH /repos/owner/repo/git/refs/heads/main 200',
    ])
  })

  it('returns the base tree id when the new tree changes nothing', async () => {
    const { head, tree } = await commitOnMain([{ path: 'README.md', content: '# repo\n' }], 'noop')

    expect(tree.sha).toBe(head.tree.sha)
  })

  it('hashes trees exactly as git does', async () => {
    const { tree } = await commitOnMain(
      [
        { path: 'a.txt', content: 'a\n' },
        { path: 'a/b.txt', content: 'b\n' },
        { path: 'a-b.txt', content: 'c\n' },
      ],
      'ordering',
    )
    const dir = await mkdtemp(join(tmpdir(), 'keyward-gh-fake-'))
    try {
      const files: Record<string, string> = {
        'README.md': '# repo\n',
        'docs/keep.md': 'keep\n',
        'a.txt': 'a\n',
        'a/b.txt': 'b\n',
        'a-b.txt': 'c\n',
      }
      execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: dir })
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true })
        await writeFile(join(dir, path), text)
      }
      execFileSync('git', ['add', '-A'], { cwd: dir })
      const gitTree = execFileSync('git', ['write-tree'], { cwd: dir }).toString().trim()

      expect(tree.sha).toBe(gitTree)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('rejects a non-fast-forward update after a concurrent push, and accepts it forced', async () => {
    const { commit } = await commitOnMain([{ path: 'ledger/a.jsonl', content: 'ours\n' }], 'ours')
    const theirs = github.advanceHead('main', { 'ledger/a.jsonl': 'theirs\n' }, 'theirs')

    const error = await failure(
      octokit.rest.git.updateRef({ ...repo, ref: 'heads/main', sha: commit.sha, force: false }),
    )
    const afterRejection = github.commitsOn('main')[0]?.sha
    const { data: forced } = await octokit.rest.git.updateRef({
      ...repo,
      ref: 'heads/main',
      sha: commit.sha,
      force: true,
    })

    expect(error.status).toBe(422)
    expect(error.response?.data).toMatchObject({
      message: 'Update is not a fast forward',
      documentation_url: expect.stringContaining('update-a-reference'),
    })
    expect(afterRejection).toBe(theirs)
    expect(forced.object.sha).toBe(commit.sha)
    expect(github.fileAt('main', 'ledger/a.jsonl')).toBe('ours\n')
  })

  it('lets a re-planned commit on the moved head through', async () => {
    github.advanceHead('main', { 'ledger/a.jsonl': 'theirs\n' })

    const { commit } = await commitOnMain([{ path: 'ledger/b.jsonl', content: 'ours\n' }], 'ours')
    const { data: ref } = await octokit.rest.git.updateRef({
      ...repo,
      ref: 'heads/main',
      sha: commit.sha,
    })

    expect(ref.object.sha).toBe(commit.sha)
    expect(github.fileAt('main', 'ledger/a.jsonl')).toBe('theirs\n')
    expect(github.fileAt('main', 'ledger/b.jsonl')).toBe('ours\n')
  })

  it('answers 422 for an unknown parent and 422 for a missing branch', async () => {
    const { data: head } = await octokit.rest.git.getCommit({
      ...repo,
      commit_sha: github.commitsOn('main')[0]?.sha as string,
    })

    const badParent = await failure(
      octokit.rest.git.createCommit({
        ...repo,
        message: 'x',
        tree: head.tree.sha,
        parents: ['0'.repeat(40)],
      }),
    )
    const noBranch = await failure(
      octokit.rest.git.updateRef({ ...repo, ref: 'heads/nope', sha: head.sha }),
    )

    expect(badParent.status).toBe(422)
    expect(noBranch.status).toBe(422)
    expect(noBranch.response?.data).toMatchObject({ message: 'Reference does not exist' })
  })
})

describe('issues', () => {
  it('paginates issues with Link headers and marks pull requests', async () => {
    for (let n = 0; n < 130; n++) github.seedIssue({ title: `finding ${n}`, labels: ['keyward'] })
    for (let n = 0; n < 5; n++)
      github.seedIssue({ title: `closed ${n}`, labels: ['keyward'], state: 'closed' })
    for (let n = 0; n < 10; n++) github.seedIssue({ title: `other ${n}`, labels: ['bug'] })
    github.seedPullRequest({ head: 'keyward/rotate/k1', title: 'Rotate k1', labels: ['keyward'] })

    const first = await octokit.rest.issues.listForRepo({
      ...repo,
      labels: 'keyward',
      state: 'all',
      per_page: 100,
    })
    const all = await octokit.paginate(octokit.rest.issues.listForRepo, {
      ...repo,
      labels: 'keyward',
      state: 'all',
      per_page: 100,
    })
    const openOnly = await octokit.paginate(octokit.rest.issues.listForRepo, {
      ...repo,
      labels: 'keyward',
      per_page: 100,
    })

    expect(first.data).toHaveLength(100)
    expect(first.headers.link).toMatch(/[?&]page=2[^>]*>; rel="next"/)
    expect(first.headers.link).toMatch(/[?&]page=2[^>]*>; rel="last"/)
    expect(all).toHaveLength(136)
    expect(new Set(all.map((i) => i.number)).size).toBe(136)
    expect(all.filter((i) => i.pull_request !== undefined).map((i) => i.title)).toEqual([
      'Rotate k1',
    ])
    expect(all[0]?.title).toBe('Rotate k1') // newest first: sort=created, direction=desc
    expect(openOnly).toHaveLength(131)
    expect(
      github.calls
        .filter((c) => c.path === '/repos/owner/repo/issues')
        .map((c) => c.query.page ?? '1'),
    ).toEqual(['1', '1', '2', '1', '2'])
  })

  it('creates, updates, closes as not planned, reopens and comments', async () => {
    const { data: created } = await octokit.rest.issues.create({
      ...repo,
      title: 'Key k1 is over budget',
      body: 'details\n<!-- keyward:finding abc -->',
      labels: ['keyward'],
      assignees: ['alice'],
    })
    await octokit.rest.issues.update({
      ...repo,
      issue_number: created.number,
      state: 'closed',
      state_reason: 'not_planned',
    })
    const { data: ignoredReason } = await octokit.rest.issues.update({
      ...repo,
      issue_number: created.number,
      state: 'closed',
      state_reason: 'completed',
    })
    const { data: reopened } = await octokit.rest.issues.update({
      ...repo,
      issue_number: created.number,
      state: 'open',
    })
    const { status } = await octokit.rest.issues.createComment({
      ...repo,
      issue_number: created.number,
      body: 'dup',
    })

    expect(created.number).toBe(1)
    expect(created.state).toBe('open')
    expect(created.labels.map((l) => (typeof l === 'string' ? l : l.name))).toEqual(['keyward'])
    expect(created.assignees?.map((a) => a.login)).toEqual(['alice'])
    expect(ignoredReason.state_reason).toBe('not_planned') // ignored unless state changes
    expect(reopened.state_reason).toBe('reopened')
    expect(reopened.closed_at).toBeNull()
    expect(status).toBe(201)
    expect(github.comments(created.number).map((c) => c.body)).toEqual(['dup'])
  })

  it('rejects an issue body over 65,536 characters with 422', async () => {
    const exactly = 'x'.repeat(65536)

    const tooLong = await failure(
      octokit.rest.issues.create({ ...repo, title: 't', body: `${exactly}y` }),
    )
    const { data: fits } = await octokit.rest.issues.create({ ...repo, title: 't', body: exactly })
    const updateTooLong = await failure(
      octokit.rest.issues.update({ ...repo, issue_number: fits.number, body: `${exactly}y` }),
    )

    expect(tooLong.status).toBe(422)
    expect(tooLong.response?.data).toMatchObject({
      message: 'Validation Failed',
      errors: [
        {
          resource: 'Issue',
          code: 'custom',
          field: 'body',
          message: 'body is too long (maximum is 65536 characters)',
        },
      ],
    })
    expect(updateTooLong.status).toBe(422)
    expect(github.issues().map((i) => i.body?.length)).toEqual([65536])
  })

  it('answers 404 for a comment on a missing issue', async () => {
    const error = await failure(
      octokit.rest.issues.createComment({ ...repo, issue_number: 99, body: 'x' }),
    )

    expect(error.status).toBe(404)
  })
})

describe('labels', () => {
  it('answers 404 before creation, 201 on creation and 422 already_exists after', async () => {
    const before = await failure(octokit.rest.issues.getLabel({ ...repo, name: 'keyward' }))
    const { status, data: created } = await octokit.rest.issues.createLabel({
      ...repo,
      name: 'keyward',
      color: 'B60205',
      description: 'Managed by keyward',
    })
    const { data: fetched } = await octokit.rest.issues.getLabel({ ...repo, name: 'KeyWard' })
    const duplicate = await failure(octokit.rest.issues.createLabel({ ...repo, name: 'Keyward' }))
    const listed = await octokit.paginate(octokit.rest.issues.listLabelsForRepo, {
      ...repo,
      per_page: 100,
    })

    expect(before.status).toBe(404)
    expect(status).toBe(201)
    expect(created).toMatchObject({
      name: 'keyward',
      color: 'b60205',
      description: 'Managed by keyward',
    })
    expect(fetched.id).toBe(created.id)
    expect(duplicate.status).toBe(422)
    expect(duplicate.response?.data).toMatchObject({
      errors: [{ resource: 'Label', code: 'already_exists', field: 'name' }],
    })
    expect(listed.map((l) => l.name)).toEqual(['keyward'])
  })
})

describe('pull requests', () => {
  it('opens one pull request per head, lists it by owner:branch and shows its patch', async () => {
    github.createBranch('keyward/rotate/k1')
    github.advanceHead('keyward/rotate/k1', {
      'README.md': '# repo\nrotated\n',
      'keys/k1.yaml': 'id: k1\n',
    })

    const { data: pr } = await octokit.rest.pulls.create({
      ...repo,
      head: 'owner:keyward/rotate/k1',
      base: 'main',
      title: 'Rotate k1',
      body: 'body',
    })
    const duplicate = await failure(
      octokit.rest.pulls.create({
        ...repo,
        head: 'keyward/rotate/k1',
        base: 'main',
        title: 'again',
      }),
    )
    const { data: byHead } = await octokit.rest.pulls.list({
      ...repo,
      head: 'owner:keyward/rotate/k1',
      base: 'main',
      state: 'open',
    })
    const { data: otherHead } = await octokit.rest.pulls.list({
      ...repo,
      head: 'owner:other',
      state: 'open',
    })
    const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
      ...repo,
      pull_number: pr.number,
    })
    const { data: updated } = await octokit.rest.pulls.update({
      ...repo,
      pull_number: pr.number,
      title: 'Rotate k1 (2)',
    })
    const { data: asIssue } = await octokit.rest.issues.get({ ...repo, issue_number: pr.number })

    expect(pr.head.label).toBe('owner:keyward/rotate/k1')
    expect(duplicate.status).toBe(422)
    expect(duplicate.response?.data).toMatchObject({
      errors: [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: 'A pull request already exists for owner:keyward/rotate/k1.',
        },
      ],
    })
    expect(byHead.map((p) => p.number)).toEqual([pr.number])
    expect(otherHead).toEqual([])
    expect(files.map((f) => [f.filename, f.status, f.patch])).toEqual([
      ['README.md', 'modified', '@@ -1 +1,2 @@\n # repo\n+rotated'],
      ['keys/k1.yaml', 'added', '@@ -0,0 +1 @@\n+id: k1'],
    ])
    expect(updated.title).toBe('Rotate k1 (2)')
    expect(asIssue.pull_request?.url).toContain(`/pulls/${pr.number}`)
  })

  it('writes patches the way git diff does', async () => {
    const lines = Array.from({ length: 30 }, (_, n) =>
      n % 10 === 0 ? `section ${n}` : `  line ${n}`,
    )
    const before = `${lines.join('\n')}\n`
    const after = `${lines
      .map((l, n) => (n === 4 ? '  changed 4' : n === 25 ? null : l))
      .filter((l) => l !== null)
      .join('\n')}\nappended without newline`
    github.advanceHead('main', { 'data.txt': before })
    github.createBranch('feature')
    github.advanceHead('feature', { 'data.txt': after })
    const number = github.seedPullRequest({ head: 'feature', title: 'feature' })
    const dir = await mkdtemp(join(tmpdir(), 'keyward-gh-diff-'))
    try {
      await writeFile(join(dir, 'before'), before)
      await writeFile(join(dir, 'after'), after)
      const diff = spawnSync(
        'git',
        ['diff', '--no-index', '--no-color', '-U3', 'before', 'after'],
        {
          cwd: dir,
        },
      ).stdout.toString()
      const expected = diff.slice(diff.indexOf('@@')).replace(/\n$/, '')

      const { data: files } = await octokit.rest.pulls.listFiles({ ...repo, pull_number: number })

      expect(files.map((f) => f.filename)).toEqual(['data.txt'])
      expect(files[0]?.patch).toBe(expected)
      expect(expected).toContain('@@ -2,7 +2,7 @@ section 0')
      expect(files[0]).toMatchObject({ additions: 2, deletions: 2, changes: 4 })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('ignores a head filter without the owner prefix, as GitHub does', async () => {
    github.seedPullRequest({ head: 'a', title: 'A' })
    github.seedPullRequest({ head: 'b', title: 'B' })

    const { data } = await octokit.rest.pulls.list({ ...repo, head: 'a', state: 'open' })

    expect(data.map((p) => p.title).sort()).toEqual(['A', 'B'])
  })

  it('refuses a pull request with no commits between base and head', async () => {
    github.createBranch('keyward/rotate/k2')

    const error = await failure(
      octokit.rest.pulls.create({
        ...repo,
        head: 'owner:keyward/rotate/k2',
        base: 'main',
        title: 'x',
      }),
    )

    expect(error.status).toBe(422)
    expect(error.response?.data).toMatchObject({
      errors: [{ message: 'No commits between main and keyward/rotate/k2' }],
    })
  })
})

describe('auth and faults', () => {
  it('answers 401 Bad credentials to a wrong token, once, and records no token', async () => {
    const stranger = createOctokit({
      token: 'wrong-token',
      baseUrl: github.url,
      log: silentLog,
      throttle: false,
    })

    const error = await failure(stranger.rest.repos.get(repo))

    expect(error.status).toBe(401)
    expect(error.response?.data).toMatchObject({ message: 'Bad credentials' })
    expect(github.calls).toEqual([
      { method: 'GET', path: '/repos/owner/repo', query: {}, status: 401 },
    ])
    expect(JSON.stringify(github.calls)).not.toContain('token')
  })

  it.each([500, 502] as const)(
    'retries a %i through the retry plugin, then succeeds',
    async (status) => {
      github.inject({
        kind: 'server-error',
        status,
        match: { method: 'GET', path: '/repos/owner/repo' },
      })

      const { data } = await octokit.rest.repos.get(repo)

      expect(data.default_branch).toBe('main')
      expect(github.calls.map((c) => c.status)).toEqual([status, 200])
    },
  )

  it('serves a one-shot secondary rate limit as 403 with retry-after, not retried', async () => {
    github.inject({ kind: 'secondary-rate-limit', retryAfter: 30 })

    const error = await failure(octokit.rest.issues.create({ ...repo, title: 't' }))
    const { status } = await octokit.rest.issues.create({ ...repo, title: 't' })

    expect(error.status).toBe(403)
    expect(error.message).toMatch(/secondary rate limit/)
    expect(error.response?.headers['retry-after']).toBe('30')
    expect(status).toBe(201)
    expect(github.writeCalls().map((c) => c.status)).toEqual([403, 201])
  })
})

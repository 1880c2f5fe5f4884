import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createOctokit, type GitHubClient } from '../../src/adapters/forge/octokit.js'
import { silentLog } from '../../src/ports/log.js'
import {
  findOperation,
  toJsonSchema,
  validateGitHubResponse,
  type GitHubResponseValidation,
} from '../../test/fakes/github-openapi.js'
import { startGitHubFake, type GitHubFake } from '../../test/fakes/github-server.js'

/**
 * The GitHub fake against GitHub's published REST description (@octokit/openapi): a realistic
 * sequence of every endpoint keyward uses, sent by the real Octokit (throttling off), and every
 * response it got back (successes and errors alike) validated against the operation's schema.
 */

interface Captured {
  method: string
  /** The route Octokit was given: `/repos/{owner}/{repo}/git/ref/{ref}`. */
  route: string
  /** The concrete path the response came from. */
  path: string
  status: number
  body: unknown
}

const owner = 'owner'
const repo = 'repo'

describe('validateGitHubResponse', () => {
  it('finds operations by concrete path, with slashes inside {ref} and {path}', () => {
    expect(findOperation('GET', '/repos/o/r/git/ref/heads/feature/x')?.template).toBe(
      '/repos/{owner}/{repo}/git/ref/{ref}',
    )
    expect(findOperation('PATCH', '/repos/o/r/git/refs/heads/main')?.template).toBe(
      '/repos/{owner}/{repo}/git/refs/{ref}',
    )
    expect(findOperation('GET', '/repos/o/r/contents/gov/audit/ledger.jsonl')?.template).toBe(
      '/repos/{owner}/{repo}/contents/{path}',
    )
    expect(findOperation('GET', '/repos/o/r/issues/12/comments')?.template).toBe(
      '/repos/{owner}/{repo}/issues/{issue_number}/comments',
    )
    // A literal segment beats a parameter: /issues/comments is not /issues/{issue_number}.
    expect(findOperation('GET', '/repos/o/r/issues/comments')?.template).toBe(
      '/repos/{owner}/{repo}/issues/comments',
    )
    expect(findOperation('GET', '/repos/o/r/labels/keyward%3Aleak')?.template).toBe(
      '/repos/{owner}/{repo}/labels/{name}',
    )
    expect(findOperation('GET', '/nothing/here')).toBeUndefined()
  })

  it('turns nullable into a null type, and drops formats ajv does not check', () => {
    expect(toJsonSchema({ type: 'string', nullable: true, format: 'uri-template' })).toEqual({
      type: ['string', 'null'],
    })
    expect(toJsonSchema({ allOf: [{ type: 'object' }], nullable: true })).toEqual({
      anyOf: [{ type: 'null' }, { allOf: [{ type: 'object' }] }],
    })
    expect(toJsonSchema({ enum: ['a'], type: 'string', nullable: true })).toEqual({
      enum: ['a', null],
      type: ['string', 'null'],
    })
  })

  it('rejects a wrong shape, an undocumented status and an unknown operation', () => {
    const bad = validateGitHubResponse('GET', '/repos/o/r/issues/1', 200, { number: 'one' })
    expect(bad.ok).toBe(false)
    expect(bad.operation).toBe('GET /repos/{owner}/{repo}/issues/{issue_number}')
    expect(bad.errors.join('\n')).toMatch(/must have required property 'title'/)
    expect(bad.errors.join('\n')).toMatch(/\/number must be integer/)
    expect(validateGitHubResponse('GET', '/repos/o/r/git/ref/heads/x', 418, {}).errors[0]).toMatch(
      /status 418 is not documented/,
    )
    expect(validateGitHubResponse('GET', '/nope', 200, {}).ok).toBe(false)
  })
})

describe('the GitHub fake, every response against the published description', () => {
  let github: GitHubFake
  let octokit: GitHubClient
  const captured: Captured[] = []
  /** Errors the sequence expected (404, 422, 403): checked after, not thrown. */
  const expectedErrors: number[] = []

  const expectStatus = async (status: number, call: Promise<unknown>): Promise<void> => {
    const error = (await call.then(
      () => undefined,
      (e: unknown) => e,
    )) as { status?: number } | undefined
    expect(error?.status).toBe(status)
    expectedErrors.push(status)
  }

  beforeAll(async () => {
    github = await startGitHubFake({
      files: {
        'README.md': '# governance\n',
        'gov/keyward.yaml': 'version: 1\n',
        'gov/audit/ledger.jsonl': '{"line":1}\n',
        'gov/audit/state.json': '{"version":1}\n',
      },
    })
    octokit = createOctokit({
      token: 'test-token',
      baseUrl: github.url,
      log: silentLog,
      throttle: false,
    })
    const record = (
      options: { method: string; url: string },
      response: { url: string; status: number; data?: unknown },
    ): void => {
      captured.push({
        method: options.method,
        route: options.url,
        path: new URL(response.url).pathname,
        status: response.status,
        body: response.data,
      })
    }
    octokit.hook.after('request', (response, options) => record(options, response))
    octokit.hook.error('request', (error, options) => {
      const { response } = error as { response?: { url: string; status: number; data?: unknown } }
      if (response) record(options, response)
      throw error
    })

    // Repository and branch.
    await octokit.rest.repos.get({ owner, repo })
    const { data: ref } = await octokit.rest.git.getRef({ owner, repo, ref: 'heads/main' })
    await expectStatus(404, octokit.rest.git.getRef({ owner, repo, ref: 'heads/missing' }))
    await octokit.rest.git.listMatchingRefs({ owner, repo, ref: 'heads/' })

    // Files: JSON (file and directory), raw, missing.
    await octokit.rest.repos.getContent({ owner, repo, path: 'gov/audit/ledger.jsonl' })
    await octokit.rest.repos.getContent({ owner, repo, path: 'gov', ref: 'main' })
    await octokit.rest.repos.getContent({
      owner,
      repo,
      path: 'gov/audit/state.json',
      ref: ref.object.sha,
      mediaType: { format: 'raw' },
    })
    await expectStatus(404, octokit.rest.repos.getContent({ owner, repo, path: 'gov/nope.json' }))

    // Git data: an audit commit.
    const { data: head } = await octokit.rest.git.getCommit({
      owner,
      repo,
      commit_sha: ref.object.sha,
    })
    await octokit.rest.git.getTree({ owner, repo, tree_sha: head.tree.sha, recursive: 'true' })
    await octokit.rest.git.getTree({ owner, repo, tree_sha: head.tree.sha })
    const { data: blob } = await octokit.rest.git.createBlob({
      owner,
      repo,
      content: 'snapshot\n',
      encoding: 'utf-8',
    })
    await octokit.rest.git.getBlob({ owner, repo, file_sha: blob.sha })
    const { data: tree } = await octokit.rest.git.createTree({
      owner,
      repo,
      base_tree: head.tree.sha,
      tree: [
        {
          path: 'gov/audit/snapshots/2026/11/27/120000Z.json',
          mode: '100644',
          type: 'blob',
          sha: blob.sha,
        },
        { path: 'gov/audit/ledger.jsonl', mode: '100644', type: 'blob', content: '{"line":2}\n' },
      ],
    })
    await expectStatus(
      422,
      octokit.rest.git.createTree({
        owner,
        repo,
        base_tree: 'f'.repeat(40),
        tree: [{ path: 'x', mode: '100644', type: 'blob', content: 'x' }],
      }),
    )
    const { data: commit } = await octokit.rest.git.createCommit({
      owner,
      repo,
      message: 'keyward audit',
      tree: tree.sha,
      parents: [ref.object.sha],
    })
    // Someone pushed meanwhile: the update is not a fast forward.
    github.advanceHead('main', { 'gov/notes.md': 'a person\n' })
    await expectStatus(
      422,
      octokit.rest.git.updateRef({ owner, repo, ref: 'heads/main', sha: commit.sha, force: false }),
    )
    const { data: moved } = await octokit.rest.git.getRef({ owner, repo, ref: 'heads/main' })
    const { data: rebuilt } = await octokit.rest.git.createCommit({
      owner,
      repo,
      message: 'keyward audit (rebuilt)',
      tree: tree.sha,
      parents: [moved.object.sha],
      author: { name: 'keyward', email: 'keyward@example.com', date: '2026-11-27T12:00:00Z' },
    })
    await octokit.rest.git.updateRef({ owner, repo, ref: 'heads/main', sha: rebuilt.sha })

    // A rotation branch and its pull request.
    await octokit.rest.git.createRef({
      owner,
      repo,
      ref: 'refs/heads/keyward/rotate/k1',
      sha: ref.object.sha,
    })
    await expectStatus(
      422,
      octokit.rest.git.createRef({
        owner,
        repo,
        ref: 'refs/heads/keyward/rotate/k1',
        sha: ref.object.sha,
      }),
    )
    const { data: branchCommit } = await octokit.rest.git.createCommit({
      owner,
      repo,
      message: 'rotate k1',
      tree: tree.sha,
      parents: [ref.object.sha],
    })
    await octokit.rest.git.updateRef({
      owner,
      repo,
      ref: 'heads/keyward/rotate/k1',
      sha: branchCommit.sha,
      force: true,
    })
    const { data: pull } = await octokit.rest.pulls.create({
      owner,
      repo,
      head: 'keyward/rotate/k1',
      base: 'main',
      title: 'Rotate k1',
      body: 'keyward rotation',
    })
    await expectStatus(
      422,
      octokit.rest.pulls.create({
        owner,
        repo,
        head: 'keyward/rotate/k1',
        base: 'main',
        title: 'again',
      }),
    )
    await octokit.rest.pulls.list({
      owner,
      repo,
      head: `${owner}:keyward/rotate/k1`,
      base: 'main',
      state: 'open',
    })
    await octokit.rest.pulls.get({ owner, repo, pull_number: pull.number })
    await octokit.rest.pulls.update({ owner, repo, pull_number: pull.number, body: 'updated' })
    await octokit.paginate(octokit.rest.pulls.listFiles, {
      owner,
      repo,
      pull_number: pull.number,
      per_page: 1,
    })
    await expectStatus(404, octokit.rest.pulls.get({ owner, repo, pull_number: 999 }))

    // Labels.
    await expectStatus(404, octokit.rest.issues.getLabel({ owner, repo, name: 'keyward' }))
    await octokit.rest.issues.createLabel({
      owner,
      repo,
      name: 'keyward',
      color: '5319e7',
      description: 'Managed by keyward',
    })
    await expectStatus(
      422,
      octokit.rest.issues.createLabel({ owner, repo, name: 'keyward', color: '5319e7' }),
    )
    await octokit.rest.issues.getLabel({ owner, repo, name: 'keyward' })
    await octokit.rest.issues.listLabelsForRepo({ owner, repo })

    // Issues: create (three, to page through), list, update, close, reopen, comment.
    const numbers: number[] = []
    for (const [title, assignees] of [
      ['Key k1 leaked', ['alice']],
      ['Key k2 unused', []],
      ['keyward dashboard', []],
    ] as const) {
      const { data } = await octokit.rest.issues.create({
        owner,
        repo,
        title,
        body: `<!-- keyward:finding ${title} -->`,
        labels: ['keyward', 'severity:error'],
        assignees: [...assignees],
      })
      numbers.push(data.number)
    }
    await expectStatus(422, octokit.rest.issues.create({ owner, repo, title: '' }))
    await expectStatus(
      422,
      octokit.rest.issues.create({ owner, repo, title: 'too long', body: 'x'.repeat(65_537) }),
    )
    github.inject({
      kind: 'secondary-rate-limit',
      retryAfter: 1,
      match: { method: 'POST', path: '/repos/owner/repo/issues' },
    })
    await expectStatus(403, octokit.rest.issues.create({ owner, repo, title: 'rate limited' }))
    github.inject({
      kind: 'server-error',
      status: 503,
      match: { method: 'POST', path: '/repos/owner/repo/issues' },
    })
    await expectStatus(
      503,
      octokit.rest.issues.create({ owner, repo, title: 'unavailable', request: { retries: 0 } }),
    )
    await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner,
      repo,
      labels: 'keyward',
      state: 'all',
      per_page: 2,
    })
    const [first, second] = numbers as [number, number]
    await octokit.rest.issues.get({ owner, repo, issue_number: first })
    await expectStatus(404, octokit.rest.issues.get({ owner, repo, issue_number: 999 }))
    await octokit.rest.issues.update({
      owner,
      repo,
      issue_number: first,
      body: 'new body',
      labels: ['keyward'],
    })
    await octokit.rest.issues.update({
      owner,
      repo,
      issue_number: second,
      state: 'closed',
      state_reason: 'not_planned',
    })
    await octokit.rest.issues.update({ owner, repo, issue_number: second, state: 'open' })
    await expectStatus(
      422,
      octokit.rest.issues.update({ owner, repo, issue_number: first, body: 'x'.repeat(65_537) }),
    )
    await expectStatus(
      404,
      octokit.rest.issues.update({ owner, repo, issue_number: 999, body: 'x' }),
    )
    await octokit.rest.issues.createComment({ owner, repo, issue_number: first, body: 'Resolved.' })
    await expectStatus(
      404,
      octokit.rest.issues.createComment({ owner, repo, issue_number: 999, body: 'nobody' }),
    )
    await octokit.rest.issues.listComments({ owner, repo, issue_number: first })

    // And the branch goes away.
    await octokit.rest.git.deleteRef({ owner, repo, ref: 'heads/keyward/rotate/k1' })
    await expectStatus(
      422,
      octokit.rest.git.deleteRef({ owner, repo, ref: 'heads/keyward/rotate/k1' }),
    )
  }, 60_000)

  afterAll(async () => {
    await github?.stop()
  })

  it('captured a response for every request the fake recorded, errors included', () => {
    expect(captured).toHaveLength(github.calls.length)
    expect(captured.map((c) => c.status)).toEqual(github.calls.map((c) => c.status))
    for (const status of [404, 422, 403, 503]) expect(expectedErrors).toContain(status)
    // Every endpoint keyward uses was exercised.
    // (octokit.paginate asks by URL, so the operation is looked up from the path.)
    const routes = new Set(
      captured.map((c) => `${c.method} ${findOperation(c.method, c.path)?.template}`),
    )
    for (const route of [
      'GET /repos/{owner}/{repo}',
      'GET /repos/{owner}/{repo}/git/ref/{ref}',
      'GET /repos/{owner}/{repo}/git/commits/{commit_sha}',
      'GET /repos/{owner}/{repo}/git/trees/{tree_sha}',
      'POST /repos/{owner}/{repo}/git/blobs',
      'POST /repos/{owner}/{repo}/git/trees',
      'POST /repos/{owner}/{repo}/git/commits',
      'PATCH /repos/{owner}/{repo}/git/refs/{ref}',
      'GET /repos/{owner}/{repo}/contents/{path}',
      'GET /repos/{owner}/{repo}/issues',
      'POST /repos/{owner}/{repo}/issues',
      'PATCH /repos/{owner}/{repo}/issues/{issue_number}',
      'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
      'GET /repos/{owner}/{repo}/labels/{name}',
      'POST /repos/{owner}/{repo}/labels',
      'GET /repos/{owner}/{repo}/pulls',
      'POST /repos/{owner}/{repo}/pulls',
      'GET /repos/{owner}/{repo}/pulls/{pull_number}/files',
    ])
      expect(routes).toContain(route)
  })

  it('finds, for each concrete path, the operation Octokit was asked for', () => {
    // Pages after the first are requested by their `Link` URL, not by route.
    const mismatched = captured
      .filter((c) => c.route.startsWith('/'))
      .map((c) => ({
        route: `${c.method} ${c.route}`,
        found: `${c.method} ${findOperation(c.method, c.path)?.template}`,
      }))
      .filter(({ route, found }) => found !== route)
    expect(mismatched).toEqual([])
  })

  it('answers every request with a response the published description allows', () => {
    const failures: (GitHubResponseValidation & { call: string })[] = captured
      .map((c) => ({
        call: `${c.method} ${c.path} → ${c.status}`,
        ...validateGitHubResponse(c.method, c.path, c.status, c.body),
      }))
      .filter((v) => !v.ok)
    expect(failures).toEqual([])
  })
})

import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { createOctokit, type GitHubClient } from '../../src/adapters/forge/octokit.js'
import { silentLog } from '../../src/ports/log.js'
import { validateGitHubResponse } from '../../test/fakes/github-openapi.js'
import { startGitHubFake, type GitHubFake } from '../../test/fakes/github-server.js'

/**
 * The GitHub fake's comparison, label and assignee endpoints and its test controls for what a
 * person does (push, merge, close), each response checked against GitHub's published REST
 * description.
 */

interface Received {
  method: string
  path: string
  status: number
  body: unknown
}

let github: GitHubFake
let octokit: GitHubClient
let received: Received[]
const repo = { owner: 'owner', repo: 'repo' }
const BRANCH = 'keyward/rotate/k1'

async function status(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return (error as { status?: number }).status
  }
}

beforeEach(async () => {
  github = await startGitHubFake({
    files: { 'README.md': '# repo\n', 'keys/k1.yaml': 'id: k1\n' },
    assignable: ['jeff'],
  })
  octokit = createOctokit({
    token: 'test-token',
    baseUrl: github.url,
    log: silentLog,
    throttle: false,
  })
  received = []
  const record = (
    options: { method: string },
    response: { url: string; status: number; data?: unknown },
  ): void => {
    received.push({
      method: options.method,
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
})

afterEach(async () => {
  await github.stop()
  const failures = received
    .map((r) => ({
      call: `${r.method} ${r.path} → ${r.status}`,
      ...validateGitHubResponse(r.method, r.path, r.status, r.body),
    }))
    .filter((v) => !v.ok)
  expect(failures).toEqual([])
})

describe('compare', () => {
  it('lists the commits the head has and the base has not, oldest first, with a status', async () => {
    const first = github.pushCommit(BRANCH, { 'keys/k1.yaml': 'id: k1\nv: 2\n' }, 'keyward: rotate')
    const second = github.pushCommit(BRANCH, { 'notes.md': 'n\n' }, 'By hand', {
      name: 'Jeff',
      email: 'jeff@example.com',
    })

    const { data: ahead } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `main...${BRANCH}`,
    })
    const { data: behind } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `${BRANCH}...main`,
    })
    github.advanceHead('main', { 'other.md': 'o\n' })
    const { data: diverged } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `main...${BRANCH}`,
    })
    const { data: identical } = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: 'main...main',
    })

    expect(ahead).toMatchObject({ status: 'ahead', ahead_by: 2, behind_by: 0, total_commits: 2 })
    expect(ahead.commits.map((c) => [c.sha, c.commit.message, c.commit.author?.name])).toEqual([
      [first, 'keyward: rotate', 'A Person'],
      [second, 'By hand', 'Jeff'],
    ])
    expect(ahead.files?.map((f) => [f.filename, f.status])).toEqual([
      ['keys/k1.yaml', 'modified'],
      ['notes.md', 'added'],
    ])
    expect(diverged).toMatchObject({ status: 'diverged', ahead_by: 2, behind_by: 1 })
    expect(behind).toMatchObject({ status: 'behind', ahead_by: 0, behind_by: 2, commits: [] })
    expect(identical).toMatchObject({ status: 'identical', total_commits: 0, commits: [] })
    expect(
      await status(
        octokit.rest.repos.compareCommitsWithBasehead({ ...repo, basehead: 'main...nothing' }),
      ),
    ).toBe(404)
  })

  it('pages the commits when asked to, with Link headers', async () => {
    for (let i = 0; i < 5; i++) github.pushCommit(BRANCH, { 'n.txt': `${i}\n` }, `c${i}`)

    const page1 = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `main...${BRANCH}`,
      per_page: 2,
    })
    const page3 = await octokit.rest.repos.compareCommitsWithBasehead({
      ...repo,
      basehead: `main...${BRANCH}`,
      per_page: 2,
      page: 3,
    })

    expect(page1.data.total_commits).toBe(5)
    expect(page1.data.commits.map((c) => c.commit.message)).toEqual(['c0', 'c1'])
    expect(page1.headers.link).toMatch(/rel="next"/)
    expect(page3.data.commits.map((c) => c.commit.message)).toEqual(['c4'])
  })
})

describe('a person merges or closes a pull request', () => {
  it('merges with a merge commit on the base, and says who merged in get and list', async () => {
    github.pushCommit(BRANCH, { 'keys/k1.yaml': 'id: k1\nv: 2\n' }, 'rotate')
    const number = github.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })
    const baseBefore = github.commitsOn('main')[0]?.sha
    const headBefore = github.commitsOn(BRANCH)[0]?.sha

    const merged = github.mergePull(number, { by: 'jeff' })

    const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number: number })
    const { data: list } = await octokit.rest.pulls.list({ ...repo, state: 'all' })
    const { data: asIssue } = await octokit.rest.issues.get({ ...repo, issue_number: number })
    const reopen = await status(
      octokit.rest.pulls.update({ ...repo, pull_number: number, state: 'open' }),
    )
    expect(github.commitsOn('main')[0]).toMatchObject({
      sha: merged,
      parents: [baseBefore, headBefore],
    })
    expect(github.fileAt('main', 'keys/k1.yaml')).toBe('id: k1\nv: 2\n')
    expect(pr).toMatchObject({
      state: 'closed',
      merged: true,
      merge_commit_sha: merged,
      merged_by: { login: 'jeff' },
    })
    expect(pr.merged_at).toBe(pr.closed_at)
    expect(list[0]?.merged_at).toBe(pr.merged_at)
    expect(asIssue.pull_request?.merged_at).toBe(pr.merged_at)
    expect(reopen).toBe(422)
  })

  it('squashes into one commit on the base, merging by file with changes made there', async () => {
    github.pushCommit(BRANCH, { 'keys/k1.yaml': 'id: k1\nv: 2\n' }, 'rotate')
    github.advanceHead('main', { 'README.md': '# repo, edited\n' })
    const number = github.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })
    const base = github.commitsOn('main')[0]?.sha

    const merged = github.mergePull(number, { by: 'jeff', method: 'squash' })

    expect(github.commitsOn('main')[0]).toMatchObject({ sha: merged, parents: [base] })
    expect(github.fileAt('main', 'keys/k1.yaml')).toBe('id: k1\nv: 2\n')
    expect(github.fileAt('main', 'README.md')).toBe('# repo, edited\n')
  })

  it('refuses to merge changes that overlap', () => {
    github.pushCommit(BRANCH, { 'keys/k1.yaml': 'branch\n' }, 'rotate')
    github.advanceHead('main', { 'keys/k1.yaml': 'main\n' })
    const number = github.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })

    expect(() => github.mergePull(number, { by: 'jeff' })).toThrow(/merge conflict in keys\/k1/)
  })

  it('closes without merging', async () => {
    const number = github.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })

    github.closePull(number)

    const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number: number })
    expect(pr).toMatchObject({ state: 'closed', merged: false, merged_at: null, merged_by: null })
    expect(pr.closed_at).toMatch(/Z$/)
  })
})

describe('labels and assignees on an existing issue or pull request', () => {
  it('adds labels, and assignees GitHub can assign, ignoring the others silently', async () => {
    github.pushCommit(BRANCH, { 'a.md': 'a\n' }, 'a')
    const number = github.seedPullRequest({ head: BRANCH, title: 'Rotate k1' })

    const { data: labels } = await octokit.rest.issues.addLabels({
      ...repo,
      issue_number: number,
      labels: ['keyward', 'keyward:rotation'],
    })
    const { data: issue } = await octokit.rest.issues.addAssignees({
      ...repo,
      issue_number: number,
      assignees: ['jeff', 'outsider'],
    })
    const { data: pr } = await octokit.rest.pulls.get({ ...repo, pull_number: number })

    expect(labels.map((l) => l.name)).toEqual(['keyward', 'keyward:rotation'])
    expect(issue.assignees?.map((a) => a.login)).toEqual(['jeff'])
    expect(pr.labels.map((l) => l.name)).toEqual(['keyward', 'keyward:rotation'])
    expect(pr.assignees?.map((a) => a.login)).toEqual(['jeff'])
  })

  it('refuses to create an issue assigned to someone it cannot assign', async () => {
    expect(
      await status(octokit.rest.issues.create({ ...repo, title: 't', assignees: ['outsider'] })),
    ).toBe(422)
    expect(github.issues()).toEqual([])
  })
})

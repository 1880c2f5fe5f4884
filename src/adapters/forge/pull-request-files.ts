import type { GitHubClient } from './octokit.js'

/**
 * The files a pull request changes, with their patches (`GET /repos/{owner}/{repo}/pulls/{n}/files`,
 * every page). GitHub omits `patch` for binary and very large diffs; those files are still
 * scanned whole by the tracked-file scan.
 */
export async function pullRequestFiles(
  octokit: GitHubClient,
  pr: { owner: string; repo: string; number: number },
): Promise<{ filename: string; patch: string }[]> {
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
    owner: pr.owner,
    repo: pr.repo,
    pull_number: pr.number,
    per_page: 100,
  })
  return files
    .filter((f) => typeof f.patch === 'string' && f.status !== 'removed')
    .map((f) => ({ filename: f.filename, patch: f.patch ?? '' }))
}

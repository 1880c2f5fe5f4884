import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { ChangeLog, ConfigCommit } from '../../ports/change-log.js'

const run = promisify(execFile)

const RECORD = '\x1e'
const FIELD = '\x1f'
const FORMAT = `${RECORD}%H${FIELD}%P${FIELD}%an${FIELD}%ae${FIELD}%aI${FIELD}%cI${FIELD}%s`

/** Parses `git log --format=FORMAT --name-only` output. */
function parseGitLog(stdout: string): ConfigCommit[] {
  const commits: ConfigCommit[] = []
  for (const chunk of stdout.split(RECORD)) {
    if (chunk.trim() === '') continue
    const [header = '', ...rest] = chunk.split('\n')
    const [
      sha = '',
      parents = '',
      author = '',
      email = '',
      authoredAt = '',
      committedAt = '',
      subject = '',
    ] = header.split(FIELD)
    const files = rest.map((line) => line.trim()).filter((line) => line !== '')
    // Merge commits list no files without -m: their changes show in the commits they merge.
    if (!sha || files.length === 0) continue
    commits.push({
      sha,
      parents: parents.split(' ').filter(Boolean),
      author,
      email,
      authoredAt: new Date(authoredAt).toISOString(),
      committedAt: new Date(committedAt).toISOString(),
      subject,
      files,
    })
  }
  return commits
}

/**
 * The ChangeLog over `git log` in the governance folder (`root` may be a subfolder of the
 * repository: paths are given and returned relative to it). Needs full history: in Actions,
 * `actions/checkout` with `fetch-depth: 0`.
 */
export function gitChangeLog(root: string): ChangeLog {
  const git = async (...args: string[]) =>
    (
      await run('git', ['-c', 'core.quotepath=false', ...args], {
        cwd: root,
        maxBuffer: 64 * 1024 * 1024,
      })
    ).stdout
  return {
    async commits(paths, since, until) {
      const out = await git(
        'log',
        `--format=${FORMAT}`,
        '--name-only',
        '--relative',
        '--',
        ...paths,
      )
      // Filtered here rather than with --since: git stops walking at the first commits older
      // than --since, and commit dates are not monotonic (rebases, clock skew, merged branches).
      return parseGitLog(out).filter((c) => {
        const at = Date.parse(c.committedAt)
        return at >= since.getTime() && at < until.getTime()
      })
    },
    async readAt(path, sha) {
      try {
        return await git('show', `${sha}:./${path}`)
      } catch {
        return undefined
      }
    },
  }
}

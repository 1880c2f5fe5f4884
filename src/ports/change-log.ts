/**
 * The history of the governance files (`keyward.yaml`, `keys/`): who changed what, and when.
 * The weekly review reads it; the git adapter answers from `git log`.
 */

/** One commit that touched a watched path. */
export interface ConfigCommit {
  sha: string
  /** Parent commits, first parent first (none for a root commit). */
  parents: string[]
  author: string
  email: string
  /** ISO 8601 author date: when the person made the change. */
  authoredAt: string
  /** ISO 8601 committer date: when it landed on the branch. */
  committedAt: string
  subject: string
  /** The watched files it changed, relative to the governance repository. */
  files: string[]
}

export interface ChangeLog {
  /** Commits committed in [since, until) that touched any of `paths`, newest first. */
  commits(paths: readonly string[], since: Date, until: Date): Promise<ConfigCommit[]>
  /** A file's text at a commit, or undefined when it did not exist there. */
  readAt(path: string, sha: string): Promise<string | undefined>
}

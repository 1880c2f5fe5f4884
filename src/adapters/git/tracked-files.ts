import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { lstat, readdir, readFile } from 'node:fs/promises'
import { join, posix, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { errorMessage } from '../../errors.js'
import { createPathMatcher } from '../../scan/glob.js'
import { decodeText } from '../../scan/is-binary.js'
import { allowSet, scanText, type LeakHit } from '../../scan/scan-text.js'

const execFileAsync = promisify(execFile)

/** Files larger than this are not read: keys live in config and source, not in 5 MiB blobs. */
export const MAX_SCANNED_BYTES = 5 * 1024 * 1024
const READ_CONCURRENCY = 16
// Folders never worth walking when the root is not a git repository.
const WALK_SKIPPED = new Set(['.git', 'node_modules'])

export type SkipReason =
  | 'ignored' // matches scan.ignore_paths
  | 'binary' // NUL byte in the first 8 KiB, or not UTF-8
  | 'too-large' // over MAX_SCANNED_BYTES
  | 'not-a-file' // a symlink (git stores its target, not content) or a submodule folder
  | 'unreadable' // tracked but gone from the work tree, or no permission

export interface FileList {
  /** Paths relative to the root, `/`-separated, sorted. */
  files: string[]
  /** `git`: the index of the repository at root. `walk`: root is not in a git repository. */
  source: 'git' | 'walk'
}

export interface ScanRepositoryOptions {
  /** `scan.ignore_paths`: globs relative to the keyward.yaml folder. */
  ignorePaths: readonly string[]
  /** `scan.allow`: `"sha256:<hex>"` entries. */
  allow: readonly string[]
  /** The keyward.yaml folder relative to root (default: root itself). */
  baseDir?: string
}

export interface RepositoryScan {
  /** Paths relative to root; ordered by file, line, column. */
  hits: LeakHit[]
  scannedFiles: number
  skipped: { file: string; reason: SkipReason }[]
  source: FileList['source']
}

/**
 * The files git tracks under root (its index: committed or staged), via `git ls-files -z`.
 * When root is not inside a git work tree, or git is not installed, every file under root is
 * listed instead, skipping `.git` and `node_modules`. Any other git failure (such as "dubious
 * ownership") is thrown with git's message rather than silently scanning something else.
 */
export async function listTrackedFiles(root: string): Promise<FileList> {
  let output: string
  try {
    const result = await execFileAsync('git', ['ls-files', '-z'], {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    })
    output = result.stdout
  } catch (error: unknown) {
    if (isNotARepository(error)) return { files: await walk(root), source: 'walk' }
    throw new Error(`cannot list the files git tracks in ${root}: ${gitMessage(error)}`, {
      cause: error,
    })
  }
  // ls-files lists paths relative to cwd, so a root below the top level works too. With -z,
  // names are neither quoted nor escaped. A path in a merge conflict is listed once per stage.
  const files = new Set(output.split('\0').filter((file) => file !== ''))
  return { files: [...files].sort(compare), source: 'git' }
}

/**
 * Scans every git-tracked file under root for plaintext LLM keys (rule `exposed-key`).
 *
 * Untracked files are not scanned, even when they hold a key: SPEC §3 scopes the rule to tracked
 * files, and an untracked `.env` is exactly where a key belongs. Staged files are tracked, so a
 * pre-commit run sees them. The content read is the work tree's (in CI, the checked-out commit).
 */
export async function scanRepository(
  root: string,
  options: ScanRepositoryOptions,
): Promise<RepositoryScan> {
  const { files, source } = await listTrackedFiles(root)
  const baseDir = normalizeBaseDir(options.baseDir)
  const isIgnored = createPathMatcher(options.ignorePaths)
  const scanOptions = { allow: allowSet(options.allow), sha256 }

  const hits: LeakHit[] = []
  const skipped: RepositoryScan['skipped'] = []
  let scannedFiles = 0

  const scanFile = async (file: string): Promise<void> => {
    // Globs are relative to keyward.yaml's folder; a file outside it gets a `../` path.
    if (isIgnored(posix.relative(baseDir, file))) {
      skipped.push({ file, reason: 'ignored' })
      return
    }
    const absolute = join(root, file)
    let bytes: Buffer
    try {
      const stats = await lstat(absolute)
      if (!stats.isFile()) {
        skipped.push({ file, reason: 'not-a-file' })
        return
      }
      if (stats.size > MAX_SCANNED_BYTES) {
        skipped.push({ file, reason: 'too-large' })
        return
      }
      bytes = await readFile(absolute)
    } catch {
      skipped.push({ file, reason: 'unreadable' })
      return
    }
    const text = decodeText(bytes)
    if (text === undefined) {
      skipped.push({ file, reason: 'binary' })
      return
    }
    scannedFiles += 1
    hits.push(...scanText(file, text, scanOptions))
  }

  await forEachLimited(files, READ_CONCURRENCY, scanFile)

  hits.sort((a, b) => compare(a.file, b.file) || a.line - b.line || a.column - b.column)
  skipped.sort((a, b) => compare(a.file, b.file))
  return { hits, scannedFiles, skipped, source }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

function normalizeBaseDir(baseDir: string | undefined): string {
  const normalized = posix.normalize((baseDir ?? '').replaceAll('\\', '/'))
  return normalized === '.' || normalized === './' ? '' : normalized.replace(/\/+$/, '')
}

/** Runs `task` over `items` with at most `limit` running at once. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T
      await task(item)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** Every regular file under root, skipping WALK_SKIPPED folders and never following symlinks. */
async function walk(root: string): Promise<string[]> {
  const files: string[] = []
  const visit = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true })
    for (const entry of entries) {
      const path = join(folder, entry.name)
      if (entry.isDirectory()) {
        if (!WALK_SKIPPED.has(entry.name)) await visit(path)
      } else if (entry.isFile()) {
        files.push(relative(root, path).split(sep).join('/'))
      }
    }
  }
  await visit(root)
  return files.sort(compare)
}

/** Code-unit order, independent of the locale: stable output everywhere. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function isNotARepository(error: unknown): boolean {
  // git missing from PATH: nothing can be tracked, so walking is the honest fallback.
  if (property(error, 'code') === 'ENOENT') return true
  return /not a git repository/i.test(gitMessage(error))
}

function gitMessage(error: unknown): string {
  const stderr = property(error, 'stderr')
  if (typeof stderr === 'string' && stderr.trim() !== '') return stderr.trim()
  return errorMessage(error)
}

// Duck-typed rather than `instanceof Error`: errors from node:child_process may come from
// another realm (as under jest's VM modules), where `instanceof` fails.
function property(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? Reflect.get(value, name) : undefined
}

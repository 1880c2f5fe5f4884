import { readFile } from 'node:fs/promises'
import { isAbsolute, relative, resolve } from 'node:path'
import { UsageError } from '../../errors.js'

/**
 * Reads files of the governance repository by their path relative to its root. Missing files
 * are `undefined` (a finding, not a crash); paths that climb out of the root are refused.
 */
export function repoFileReader(root: string): (path: string) => Promise<Uint8Array | undefined> {
  return async (path) => {
    const full = resolve(root, path)
    const inside = relative(root, full)
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new UsageError(
        `${path} is outside the governance repository (${root}); paths in keyward.yaml are relative to its folder`,
      )
    }
    try {
      return await readFile(full)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined
      if (code === 'EISDIR') throw new UsageError(`${path} is a folder; expected a file`)
      if (code === 'EACCES' || code === 'EPERM')
        throw new UsageError(`cannot read ${path}: permission denied`)
      throw error
    }
  }
}

import { createHash } from 'node:crypto'
import type { LeakScanner, LeakScanSettings } from '../../ports/leak-scanner.js'
import type { Log } from '../../ports/log.js'
import { addedLines } from '../../scan/diff.js'
import { leakFindings } from '../../scan/leak-findings.js'
import { allowSet, scanLines, type LeakHit } from '../../scan/scan-text.js'
import { scanRepository } from './tracked-files.js'

/** One file of a pull request's diff, with its unified-diff patch (GitHub's `patch` field). */
export interface ChangedFile {
  /** Relative to the governance repository (may start with `../` when outside it). */
  file: string
  patch: string
}

export interface LeakScannerOptions {
  log: Log
  /** The lines a pull request adds, when validate runs on one. */
  changedFiles?: () => Promise<ChangedFile[]>
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

/**
 * The LeakScanner port over the git-tracked files of the governance repository, plus the
 * lines a pull request adds (a key added in one commit and removed in the next is still in the
 * PR's history, and only its diff shows it).
 */
export function gitLeakScanner(root: string, options: LeakScannerOptions): LeakScanner {
  return {
    async scan(settings: LeakScanSettings) {
      const scan = await scanRepository(root, settings)
      for (const skipped of scan.skipped.filter((s) => s.reason !== 'ignored')) {
        options.log.debug(`not scanned: ${skipped.file} (${skipped.reason})`)
      }
      const hits: LeakHit[] = [...scan.hits]
      if (options.changedFiles) {
        const seen = new Set(hits.map((h) => `${h.file}:${h.line}:${h.sha256}`))
        const allow = allowSet(settings.allow)
        for (const changed of await options.changedFiles()) {
          for (const hit of scanLines(changed.file, addedLines(changed.patch), { allow, sha256 })) {
            const id = `${hit.file}:${hit.line}:${hit.sha256}`
            if (!seen.has(id)) hits.push(hit)
            seen.add(id)
          }
        }
      }
      return { findings: leakFindings(hits), scannedFiles: scan.scannedFiles }
    },
  }
}

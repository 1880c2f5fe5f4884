import type { Finding } from '../analysis/findings.js'

export interface LeakScanSettings {
  /** Globs relative to the folder of keyward.yaml (SPEC §1 `scan.ignore_paths`). */
  ignorePaths: string[]
  /** `sha256:<hex>` of known test keys (SPEC §1 `scan.allow`). */
  allow: string[]
}

export interface LeakScanResult {
  /** `exposed-key` findings; they carry masked keys only. */
  findings: Finding[]
  scannedFiles: number
}

/** Looks for plaintext LLM keys in the governance repository's tracked files (and a PR's diff). */
export interface LeakScanner {
  scan(settings: LeakScanSettings): Promise<LeakScanResult>
}

import type { AuditFinding } from '../audit-findings.js'
import { detectBudgets } from './budget.js'
import type { DetectorContext } from './context.js'
import {
  detectIdleKeys,
  detectOrphanedKeys,
  detectSharedKeys,
  detectUnmanagedKeys,
} from './key-inventory.js'
import { detectOffHours } from './off-hours.js'
import { detectExposedKeys, detectIngestionFailures, detectTamperedVault } from './run-health.js'
import { detectSpendSpikes } from './spend-spike.js'
import { detectUnfamiliarIps } from './unfamiliar-ip.js'
import { detectCanaryUse, detectUnexpectedModels } from './usage-rules.js'

/** Every detector of SPEC §4 but the rotation ones (a later issue), in issue order. */
export const DETECTORS: readonly ((ctx: DetectorContext) => AuditFinding[])[] = [
  detectCanaryUse,
  detectExposedKeys,
  detectTamperedVault,
  detectSpendSpikes,
  detectBudgets,
  detectUnfamiliarIps,
  detectOffHours,
  detectUnexpectedModels,
  detectSharedKeys,
  detectUnmanagedKeys,
  detectOrphanedKeys,
  detectIdleKeys,
  detectIngestionFailures,
]

/** Runs every detector; one failing detector must not hide the others' findings. */
export function runDetectors(ctx: DetectorContext): { findings: AuditFinding[]; errors: string[] } {
  const findings: AuditFinding[] = []
  const errors: string[] = []
  for (const detect of DETECTORS) {
    try {
      findings.push(...detect(ctx))
    } catch (error) {
      errors.push(`${detect.name}: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  return { findings, errors }
}

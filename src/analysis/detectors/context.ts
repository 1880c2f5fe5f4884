import type { Finding } from '../findings.js'
import type { Inventory, KeyEntry, Workflow } from '../../inventory/types.js'
import type { AuditEvent, ProviderKey, UsageRecord } from '../../records.js'

/** Everything the detectors see: values only (DESIGN.md: every step after providers is pure). */
export interface DetectorContext {
  inventory: Inventory
  now: Date
  /** Provider keys listed this run, per provider id; absent where the listing failed. */
  providerKeys: ReadonlyMap<string, readonly ProviderKey[]>
  /** Inventory key id → the provider key it was matched to. */
  matches: ReadonlyMap<string, ProviderKey>
  /** Provider key ids that belong to admin keys (never "unmanaged"). */
  adminProviderKeyIds: ReadonlySet<string>
  /** Usage history and this run's, deduplicated, in time order. */
  usage: readonly UsageRecord[]
  /** Audit events, history and this run's, deduplicated. */
  events: readonly AuditEvent[]
  /** Start of this run's new data: events before it form the baseline. */
  windowStart: Date
  /** Consecutive runs (this one included) in which each provider could not be read. */
  failedRuns: ReadonlyMap<string, number>
  /** SHA-256 of each decrypted inventory key, to spot one secret behind two entries. */
  secretFingerprints: ReadonlyMap<string, string>
  /** Secret files that failed their MAC this run. */
  tampered: readonly { keyId: string; file: string; message: string }[]
  /** `exposed-key` findings of the leak scanner. */
  leaks: readonly Finding[]
}

export interface KeyView {
  id: string
  entry: KeyEntry
  workflow: Workflow | undefined
  /** The provider key id usage is attributed to, once matched. */
  providerKeyId: string | undefined
}

/**
 * Inventory keys with their workflow and matched provider key id. Canary keys are left out
 * unless asked for: any use of one is `canary-used`, and nothing else should speak for it.
 */
export function keyViews(ctx: DetectorContext, options: { canaries?: boolean } = {}): KeyView[] {
  return Object.entries(ctx.inventory.keys)
    .filter(([, entry]) => options.canaries === true || entry.canary !== true)
    .map(([id, entry]) => ({
      id,
      entry,
      workflow: ctx.inventory.workflows[entry.workflow],
      providerKeyId: ctx.matches.get(id)?.providerKeyId,
    }))
}

const usageIndex = new WeakMap<DetectorContext, Map<string, UsageRecord[]>>()

/** Usage records of one key, from an index built once per context (detectors run per key). */
export function usageOf(ctx: DetectorContext, key: KeyView): readonly UsageRecord[] {
  if (key.providerKeyId === undefined) return []
  let index = usageIndex.get(ctx)
  if (!index) {
    index = new Map()
    for (const u of ctx.usage) {
      if (u.providerKeyId === undefined) continue
      const slot = `${u.provider}\u0000${u.providerKeyId}`
      const list = index.get(slot)
      if (list) list.push(u)
      else index.set(slot, [u])
    }
    usageIndex.set(ctx, index)
  }
  return index.get(`${key.entry.provider}\u0000${key.providerKeyId}`) ?? []
}

/** Spend of a record: its cost in USD, else nothing. */
export const costOf = (u: UsageRecord): number => u.costUsd ?? 0

/** Who to mention in an issue. */
export function ownerFields(key: KeyView): { workflow?: string; owner?: string; provider: string } {
  return {
    workflow: key.entry.workflow,
    provider: key.entry.provider,
    ...(key.workflow?.owner ? { owner: key.workflow.owner } : {}),
  }
}

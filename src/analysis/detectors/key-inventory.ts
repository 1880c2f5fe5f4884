import { parseDuration } from '../../inventory/duration.js'
import { finding, type AuditFinding } from '../audit-findings.js'
import { DAY_MS } from '../time.js'
import { keyViews, ownerFields, seriesOf, type DetectorContext } from './context.js'

/**
 * The detectors that compare the inventory with what the providers list: `unmanaged-key`,
 * `orphaned-key`, `idle-key` and `shared-key`. All are conditions: their issues close when
 * the inventory and the provider agree again.
 */

/** `unmanaged-key`: an active key at a provider that no inventory entry (nor admin key) claims. */
export function detectUnmanagedKeys(ctx: DetectorContext): AuditFinding[] {
  const claimed = new Set(
    [...ctx.matches.values()].map((k) => `${k.provider}\u0000${k.providerKeyId}`),
  )
  const out: AuditFinding[] = []
  for (const [provider, keys] of ctx.providerKeys) {
    for (const key of keys) {
      if (
        key.status !== 'active' ||
        claimed.has(`${provider}\u0000${key.providerKeyId}`) ||
        ctx.rotatingProviderKeys?.has(`${provider}\u0000${key.providerKeyId}`) ||
        ctx.adminProviderKeyIds.has(key.providerKeyId)
      )
        continue
      const name = key.name ? `"${key.name}"` : key.providerKeyId
      out.push(
        finding({
          rule: 'unmanaged-key',
          severity: 'warning',
          kind: 'condition',
          subject: `${provider}:${key.providerKeyId}`,
          period: '-',
          title: `Unmanaged ${provider} key ${name}`,
          message: `${provider} has an active key ${name} (${key.hint ?? 'no hint'}, created ${key.created ?? 'at an unknown time'}${key.owner ? ` by ${key.owner}` : ''}) that keyward.yaml does not list. Add it to the inventory with provider_key_id: ${key.providerKeyId}, or revoke it if nobody needs it.`,
          provider,
          numbers: {
            provider,
            provider_key_id: key.providerKeyId,
            ...(key.hint ? { hint: key.hint } : {}),
            ...(key.created ? { created: key.created } : {}),
          },
        }),
      )
    }
  }
  return out
}

/** `orphaned-key`: an inventory key its provider no longer lists as active. */
export function detectOrphanedKeys(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  for (const key of keyViews(ctx, { canaries: true })) {
    if (!ctx.providerKeys.has(key.entry.provider)) continue // listing failed: a gap, not an orphan
    const match = ctx.matches.get(key.id)
    if (match && match.status === 'active') continue
    const state = match ? `is ${match.status}` : 'is not in its key list'
    out.push(
      finding({
        rule: 'orphaned-key',
        severity: 'warning',
        kind: 'condition',
        key: key.id,
        subject: key.id,
        period: '-',
        title: `Orphaned key ${key.id} (${key.entry.label})`,
        message: `${key.entry.label} ${state} at ${key.entry.provider}${key.entry.provider_key_id ? ` (provider_key_id ${key.entry.provider_key_id})` : ''}. Tools that still use it will fail. Rotate it (a new key and \`keyward vault add ${key.id}\`), or remove it from keyward.yaml.`,
        numbers: { provider: key.entry.provider, status: match?.status ?? 'missing' },
        ...ownerFields(key),
      }),
    )
  }
  return out
}

/** `idle-key`: a matched key not used for longer than idle_after (and older than that). */
export function detectIdleKeys(ctx: DetectorContext): AuditFinding[] {
  const idleAfter = parseDuration(ctx.inventory.defaults?.idle_after ?? '30d') ?? 30 * DAY_MS
  const out: AuditFinding[] = []
  for (const key of keyViews(ctx)) {
    const match = ctx.matches.get(key.id)
    if (!match || match.status !== 'active' || key.entry.canary) continue
    const created = Date.parse(`${key.entry.created}T00:00:00Z`)
    if (ctx.now.getTime() - created < idleAfter) continue
    // Math.max folds in any order (a NaN anywhere stays NaN): the series holds the usage's part.
    const lastUsed = Math.max(
      match.lastUsed ? Date.parse(match.lastUsed) : Number.NEGATIVE_INFINITY,
      seriesOf(ctx, key).lastUsedEnd,
    )
    if (ctx.now.getTime() - lastUsed < idleAfter) continue
    const since = Number.isFinite(lastUsed)
      ? `since ${new Date(lastUsed).toISOString().slice(0, 10)}`
      : 'in the data keyward has'
    out.push(
      finding({
        rule: 'idle-key',
        severity: 'note',
        kind: 'condition',
        key: key.id,
        subject: key.id,
        period: '-',
        title: `Idle key ${key.id} (${key.entry.label})`,
        message: `${key.entry.label} has not been used ${since}, longer than idle_after (${ctx.inventory.defaults?.idle_after ?? '30d'}). An unused key is risk without benefit: revoke it at ${key.entry.provider} and remove it from keyward.yaml, or mark what still needs it in used_in.`,
        numbers: {
          last_used: Number.isFinite(lastUsed) ? new Date(lastUsed).toISOString() : 'never',
        },
        ...ownerFields(key),
      }),
    )
  }
  return out
}

/** `shared-key`: one secret, or one provider key, behind two inventory entries. */
export function detectSharedKeys(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  const group = (pairs: [string, string][]) => {
    const by = new Map<string, string[]>()
    for (const [id, value] of pairs) by.set(value, [...(by.get(value) ?? []), id])
    return [...by.values()].filter((ids) => ids.length > 1)
  }
  // One finding per group of entries, whatever the reasons: one fingerprint, one issue.
  const reasons = new Map<string, { ids: string[]; what: string[] }>()
  const add = (ids: string[], what: string) => {
    const slot = ids.join('+')
    const entry = reasons.get(slot) ?? { ids, what: [] }
    entry.what.push(what)
    reasons.set(slot, entry)
  }
  for (const ids of group([...ctx.secretFingerprints])) add(ids, 'the same secret')
  for (const ids of group(
    [...ctx.matches].map(([id, k]) => [id, `${k.provider}\u0000${k.providerKeyId}`]),
  ))
    add(ids, 'matched to the same provider key')
  for (const { ids, what } of reasons.values()) {
    out.push(
      finding({
        rule: 'shared-key',
        severity: 'error',
        kind: 'condition',
        key: ids[0] ?? '',
        subject: ids.join('+'),
        period: '-',
        title: `One key behind ${ids.length} entries: ${ids.join(', ')}`,
        message: `${ids.map((id) => `"${id}"`).join(' and ')} are ${what.join(' and ')}. Usage cannot be told apart and one leak exposes every workflow that uses it: give each entry its own key.`,
        numbers: { keys: ids.join(', ') },
      }),
    )
  }
  return out
}

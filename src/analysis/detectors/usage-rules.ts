import { finding, type AuditFinding } from '../audit-findings.js'
import { utcMonth } from '../time.js'
import type { UsageRecord } from '../../records.js'
import { firstIndexFrom, keyViews, ownerFields, seriesOf, type DetectorContext } from './context.js'

const used = (u: { requests: number | undefined; inputTokens: number; outputTokens: number }) =>
  (u.requests ?? 0) + u.inputTokens + u.outputTokens > 0

/** `canary-used`: any use at all of a decoy key. One incident per key and month. */
export function detectCanaryUse(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  for (const key of keyViews(ctx, { canaries: true })) {
    if (!key.entry.canary) continue
    const series = seriesOf(ctx, key)
    const usedAt = series.firstUsedStart
    // A provider's last-used time after `now` comes from a clock we do not judge by: ignore it.
    const reported = ctx.matches.get(key.id)?.lastUsed
    const lastUsed = reported && Date.parse(reported) <= ctx.now.getTime() ? reported : undefined
    if (!Number.isFinite(usedAt) && !lastUsed) continue
    const first = Number.isFinite(usedAt) ? new Date(usedAt).toISOString() : (lastUsed ?? '')
    // Records that are not use carry no tokens, so the days' token sums are the used records'.
    let tokens = 0
    for (const day of series.carried?.days ?? []) tokens += day?.[1] ?? 0
    for (const day of series.days.values()) tokens += day.tokens
    out.push(
      finding({
        rule: 'canary-used',
        severity: 'error',
        kind: 'event',
        key: key.id,
        subject: key.id,
        // The month of the use, not of the run: a run on the 1st must not re-report last month's.
        period: first ? first.slice(0, 7) : utcMonth(ctx.now),
        title: `Canary key ${key.id} was used`,
        message: `The decoy key ${key.entry.label} was used (first ${first}, ${tokens.toLocaleString('en-US')} tokens). Nobody legitimate has it: it was taken from ${key.entry.used_in?.join(', ') ?? 'where it was planted'}. Revoke it, and treat what else was stored there as exposed.`,
        numbers: { first, tokens, planted_in: key.entry.used_in?.join(', ') ?? '' },
        ...ownerFields(key),
      }),
    )
  }
  return out
}

/**
 * Whether a model id is one of the allowed names. Providers report dated snapshots
 * (`claude-sonnet-4-5-20250929`, `gpt-4o-mini-2024-07-18`) of the names people write.
 */
export function modelAllowed(model: string, allowed: readonly string[]): boolean {
  return allowed.some(
    (name) =>
      model === name ||
      new RegExp(
        `^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d{8}|\\d{4}-\\d{2}-\\d{2})$`,
      ).test(model),
  )
}

/** `unexpected-model`: a model outside the workflow's allowed_models. Per key, model and month. */
export function detectUnexpectedModels(ctx: DetectorContext): AuditFinding[] {
  const out: AuditFinding[] = []
  const windowStart = ctx.windowStart.getTime()
  for (const key of keyViews(ctx)) {
    const allowed = key.workflow?.allowed_models
    if (!allowed) continue
    const seen = new Map<string, { tokens: number; first: string }>()
    // modelAllowed compiles a RegExp per allowed name: decide each distinct model once.
    const verdicts = new Map<string, boolean>()
    const series = seriesOf(ctx, key)
    const { records, startMs } = series
    for (let i = firstIndexFrom(series, windowStart); i < records.length; i++) {
      const u = records[i] as UsageRecord
      if (!u.model || (startMs[i] as number) < windowStart || !used(u)) continue
      let allowedModel = verdicts.get(u.model)
      if (allowedModel === undefined) {
        allowedModel = modelAllowed(u.model, allowed)
        verdicts.set(u.model, allowedModel)
      }
      if (allowedModel) continue
      const s = seen.get(u.model) ?? { tokens: 0, first: u.start }
      s.tokens += u.inputTokens + u.outputTokens
      if (u.start < s.first) s.first = u.start
      seen.set(u.model, s)
    }
    for (const [model, s] of seen) {
      out.push(
        finding({
          rule: 'unexpected-model',
          severity: 'warning',
          kind: 'event',
          key: key.id,
          subject: key.id,
          period: s.first.slice(0, 7) || utcMonth(ctx.now),
          variant: model,
          title: `${key.id} used model ${model}, which ${key.entry.workflow} does not allow`,
          message: `${key.entry.label} used ${model} (${s.tokens.toLocaleString('en-US')} tokens, first ${s.first}); workflow ${key.entry.workflow} allows ${allowed.join(', ')}. Someone else may be using the key, or the workflow changed: update allowed_models if it is expected.`,
          numbers: { model, tokens: s.tokens, first: s.first, allowed_models: allowed.join(', ') },
          ...ownerFields(key),
        }),
      )
    }
  }
  return out
}

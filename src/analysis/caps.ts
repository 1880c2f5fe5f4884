import type { Inventory } from '../inventory/types.js'
import type { LimitControl, ProviderLimit } from '../ports/provider.js'
import type { ProviderKey } from '../records.js'
import { finding, type AuditFinding } from './audit-findings.js'

/**
 * Spending caps (SPEC §1 `cap_usd_month`, §4 `cap-drift`): compare what each provider enforces
 * with what the inventory asks for, and plan the writes that would close the gap. Pure: the
 * reads and writes are the audit's (src/commands/enforce-caps.ts).
 */

/** Dollars compare to the cent: providers store cents or round credits. */
const CENT = 0.005

/** What one provider told this run about its limits. */
export interface ProviderLimits {
  control: LimitControl
  /** undefined: the provider can enforce limits but they could not be read this run (a gap). */
  limits: readonly ProviderLimit[] | undefined
}

/** One provider limit that should hold `wanted` and does not. */
export interface CapWrite {
  provider: string
  scope: ProviderLimit['scope']
  target: string
  /** Inventory keys whose caps make up `wanted` (one for a key limit; a project's capped keys). */
  keys: string[]
  current: number | null
  currentReset: ProviderLimit['reset']
  wanted: number
  why: 'missing' | 'differs' | 'reset'
}

/** Where one capped key's cap stands, for the dashboard, the review and the snapshot. */
export interface CapStatus {
  key: string
  provider: string
  cap: number | undefined
  budget: number | undefined
  /** `provider`: the provider enforces a limit equal to the cap; `keyward`: only watched. */
  enforcedBy: 'provider' | 'keyward'
  /** The provider's limit as read this run (null: none set; undefined: not readable). */
  limit: number | null | undefined
  /** Why it is only watched, in words, when it is. */
  note?: string
}

export interface CapPlan {
  writes: CapWrite[]
  /** Keys whose cap is below their own budget: the cap would cut them off before a warning. */
  belowBudget: { key: string; cap: number; budget: number }[]
  status: CapStatus[]
}

/**
 * The writes that make provider limits equal the inventory's caps. A key limit (OpenRouter) is
 * the key's cap, reset monthly; a project limit (OpenAI) is the sum of the caps of the project's
 * capped keys, since one project limit stops all of them.
 */
export function planCaps(
  inventory: Inventory,
  matches: ReadonlyMap<string, ProviderKey>,
  providers: ReadonlyMap<string, ProviderLimits>,
): CapPlan {
  const writes: CapWrite[] = []
  const belowBudget: CapPlan['belowBudget'] = []
  const status: CapStatus[] = []
  const projectCaps = new Map<string, { provider: string; project: string; keys: string[] }>()
  for (const [id, key] of Object.entries(inventory.keys)) {
    const cap = key.cap_usd_month
    const budget = key.budget_usd_month
    if (cap !== undefined && budget !== undefined && cap < budget)
      belowBudget.push({ key: id, cap, budget })
    if (cap === undefined) continue
    const read = providers.get(key.provider)
    const matched = matches.get(id)
    const base = { key: id, provider: key.provider, cap, budget }
    if (!read || read.control.scope === 'none') {
      status.push({
        ...base,
        enforcedBy: 'keyward',
        limit: undefined,
        note: read?.control.note ?? `${key.provider} was not read this run`,
      })
      continue
    }
    if (!matched) {
      status.push({
        ...base,
        enforcedBy: 'keyward',
        limit: undefined,
        note: `key "${id}" is not matched to a ${key.provider} key, so its limit cannot be read`,
      })
      continue
    }
    if (read.control.scope === 'key') {
      const limit = read.limits?.find(
        (l) => l.scope === 'key' && l.target === matched.providerKeyId,
      )
      if (!limit) {
        status.push({ ...base, enforcedBy: 'keyward', limit: undefined, note: 'limit not read' })
        continue
      }
      const why = driftOf(limit, cap)
      if (why) writes.push(writeOf(key.provider, limit, [id], cap, why))
      status.push({ ...base, enforcedBy: why ? 'keyward' : 'provider', limit: limit.usd })
      continue
    }
    // Project limits: gather the project's capped keys first.
    if (matched.project === undefined) {
      status.push({ ...base, enforcedBy: 'keyward', limit: undefined, note: 'no project' })
      continue
    }
    const groupId = `${key.provider}\u0000${matched.project}`
    const group = projectCaps.get(groupId) ?? {
      provider: key.provider,
      project: matched.project,
      keys: [],
    }
    group.keys.push(id)
    projectCaps.set(groupId, group)
  }
  for (const group of projectCaps.values()) {
    const read = providers.get(group.provider)
    const wanted = round(
      group.keys.reduce((t, id) => t + (inventory.keys[id]?.cap_usd_month ?? 0), 0),
    )
    const limit = read?.limits?.find((l) => l.scope === 'project' && l.target === group.project)
    const why = limit ? driftOf(limit, wanted) : undefined
    if (limit && why) writes.push(writeOf(group.provider, limit, group.keys, wanted, why))
    for (const id of group.keys) {
      const key = inventory.keys[id]
      status.push({
        key: id,
        provider: group.provider,
        cap: key?.cap_usd_month,
        budget: key?.budget_usd_month,
        enforcedBy: limit && !why ? 'provider' : 'keyward',
        limit: limit?.usd,
        ...(limit
          ? group.keys.length > 1
            ? { note: `project ${group.project} limit covers ${group.keys.join(', ')}` }
            : {}
          : { note: read?.limits ? 'this organization has no spend-limit API' : 'limit not read' }),
      })
    }
  }
  return { writes, belowBudget, status: status.sort((a, b) => a.key.localeCompare(b.key)) }
}

function driftOf(limit: ProviderLimit, wanted: number): CapWrite['why'] | undefined {
  if (limit.usd === null) return 'missing'
  if (Math.abs(limit.usd - wanted) > CENT) return 'differs'
  // A limit that resets daily or never is not a monthly cap, even at the same number.
  if (limit.reset !== 'monthly') return 'reset'
  return undefined
}

function writeOf(
  provider: string,
  limit: ProviderLimit,
  keys: string[],
  wanted: number,
  why: CapWrite['why'],
): CapWrite {
  return {
    provider,
    scope: limit.scope,
    target: limit.target,
    keys,
    current: limit.usd,
    currentReset: limit.reset,
    wanted,
    why,
  }
}

const round = (n: number) => Math.round(n * 100) / 100
const usd = (n: number | null) => (n === null ? 'no limit' : `$${n.toFixed(2)}`)

/** What became of a planned write in this run. */
export type CapOutcome =
  | { status: 'planned' } // caps: report, or a dry run
  | { status: 'written'; readBack: number | null }
  | { status: 'refused'; reason: string; permission?: string }

/**
 * `cap-drift` findings: one per limit that differs and was not fixed this run, and one per key
 * whose cap is below its budget. A limit fixed this run has no finding: the snapshot records it.
 */
export function capFindings(
  inventory: Inventory,
  plan: CapPlan,
  outcomes: ReadonlyMap<CapWrite, CapOutcome>,
  mode: 'report' | 'enforce',
): AuditFinding[] {
  const findings: AuditFinding[] = []
  for (const write of plan.writes) {
    const outcome = outcomes.get(write) ?? { status: 'planned' }
    if (outcome.status === 'written' && outcome.readBack !== null) {
      if (Math.abs(outcome.readBack - write.wanted) <= CENT) continue
    }
    const first = write.keys[0] ?? ''
    const key = inventory.keys[first]
    const workflow = key ? inventory.workflows[key.workflow] : undefined
    const where =
      write.scope === 'key'
        ? `the ${write.provider} limit on key "${first}"`
        : `the ${write.provider} spend limit of project ${write.target} (keys ${write.keys.join(', ')})`
    const now =
      write.why === 'missing'
        ? 'is not set'
        : write.why === 'reset'
          ? `is ${usd(write.current)} but resets ${write.currentReset ?? 'never'}, not monthly`
          : `is ${usd(write.current)}`
    const next =
      outcome.status === 'refused'
        ? `keyward tried to set it to ${usd(write.wanted)} and ${write.provider} refused: ${outcome.reason}.${outcome.permission ? ` Setting limits needs ${outcome.permission}.` : ''}`
        : outcome.status === 'written'
          ? `keyward set it to ${usd(write.wanted)} but ${write.provider} now reports ${usd(outcome.readBack)}.`
          : mode === 'enforce'
            ? `keyward would set it to ${usd(write.wanted)} (dry run: nothing was written).`
            : `keyward would set it to ${usd(write.wanted)} with \`defaults.caps: enforce\`; it is in \`report\` mode, so nothing was written. Set the limit in the provider's dashboard, or let keyward do it.`
    findings.push(
      finding({
        rule: 'cap-drift',
        severity: outcome.status === 'refused' ? 'error' : 'warning',
        kind: 'condition',
        ...(write.keys.length === 1 ? { key: first } : {}),
        subject: `${write.provider}:${write.scope}:${write.target}`,
        period: '-',
        title: `Spending cap out of step: ${write.keys.length === 1 ? `${first} (${key?.label ?? first})` : `${write.provider} project ${write.target}`}`,
        message: `The inventory caps this at ${usd(write.wanted)} a month, but ${where} ${now}. ${next}`,
        numbers: {
          provider: write.provider,
          scope: write.scope,
          target: write.target,
          cap_usd_month: write.wanted,
          provider_limit_usd: write.current === null ? 'none' : write.current,
          provider_limit_reset: write.currentReset ?? 'none',
          ...(outcome.status === 'refused' ? { refused: outcome.reason } : {}),
        },
        ...(workflow ? { workflow: key?.workflow, owner: workflow.owner } : {}),
        provider: write.provider,
      }),
    )
  }
  for (const below of plan.belowBudget) {
    const key = inventory.keys[below.key]
    const workflow = key ? inventory.workflows[key.workflow] : undefined
    findings.push(
      finding({
        rule: 'cap-drift',
        severity: 'warning',
        kind: 'condition',
        key: below.key,
        subject: below.key,
        period: '-',
        variant: 'below-budget',
        title: `Cap below budget: ${below.key} (${key?.label ?? below.key})`,
        message: `Key "${below.key}" has cap_usd_month ${usd(below.cap)}, below its budget_usd_month ${usd(below.budget)}: the provider would cut the workflow off before the budget alert warns anyone. Raise the cap or lower the budget in keyward.yaml.`,
        numbers: { cap_usd_month: below.cap, budget_usd_month: below.budget },
        ...(workflow ? { workflow: key?.workflow, owner: workflow.owner } : {}),
      }),
    )
  }
  return findings
}

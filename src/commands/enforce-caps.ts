import type { CapOutcome, CapPlan, CapWrite } from '../analysis/caps.js'
import type { Log } from '../ports/log.js'
import type { Provider } from '../ports/provider.js'

/** One limit keyward changed at a provider, for the snapshot (issue #10: old, new, who asked). */
export interface CapChange {
  provider: string
  scope: CapWrite['scope']
  target: string
  keys: string[]
  old_usd: number | null
  old_reset: CapWrite['currentReset']
  new_usd: number | null
  /** The inventory commit that asked for it, and its author, when known. */
  requested_by: string
}

export interface CapEnforcement {
  outcomes: Map<CapWrite, CapOutcome>
  changes: CapChange[]
  requests: number
}

/**
 * `defaults.caps: enforce`: writes each planned limit and reads it back. `report` mode and dry
 * runs write nothing and log the plan. A refused write is an outcome, never the end of the run.
 */
export async function enforceCaps(
  plan: CapPlan,
  providers: ReadonlyMap<string, Provider>,
  options: { mode: 'report' | 'enforce'; dryRun: boolean; requestedBy: string },
  log: Log,
): Promise<CapEnforcement> {
  const outcomes = new Map<CapWrite, CapOutcome>()
  const changes: CapChange[] = []
  let requests = 0
  const money = (n: number | null) => (n === null ? 'none' : `$${n.toFixed(2)}`)
  for (const write of plan.writes) {
    const what = `${write.provider} ${write.scope} ${write.target}: ${money(write.current)} → ${money(write.wanted)} monthly`
    const provider = providers.get(write.provider)
    if (options.mode === 'enforce' && !options.dryRun && !provider?.setLimit) {
      outcomes.set(write, {
        status: 'refused',
        reason: `keyward has no way to set ${write.provider} limits by API`,
      })
      continue
    }
    if (options.mode === 'report' || options.dryRun || !provider?.setLimit) {
      outcomes.set(write, { status: 'planned' })
      log.info(
        `${options.dryRun && options.mode === 'enforce' ? 'dry run: would set' : 'cap differs'} ${what}`,
      )
      continue
    }
    const result = await provider.setLimit(
      { scope: write.scope, target: write.target },
      write.wanted,
    )
    requests += result.requests
    if (!result.ok) {
      outcomes.set(write, {
        status: 'refused',
        reason: result.reason,
        ...(result.permission ? { permission: result.permission } : {}),
      })
      // The adapter has already warned with the provider's answer.
      continue
    }
    outcomes.set(write, { status: 'written', readBack: result.value.usd })
    changes.push({
      provider: write.provider,
      scope: write.scope,
      target: write.target,
      keys: write.keys,
      old_usd: write.current,
      old_reset: write.currentReset,
      new_usd: result.value.usd,
      requested_by: options.requestedBy,
    })
    const readBack = result.value.usd
    const holds = readBack !== null && Math.abs(readBack - write.wanted) <= 0.005
    for (const status of plan.status)
      if (write.keys.includes(status.key)) {
        status.enforcedBy = holds ? 'provider' : 'keyward'
        status.limit = readBack
      }
    log.info(`set ${what} (read back ${money(result.value.usd)})`)
  }
  return { outcomes, changes, requests }
}

import type { UsageDaysJson } from '../analysis/usage-days.js'

/**
 * audit/state.json, the one file under audit/ that changes (SPEC §7): each provider's watermark
 * and, when a run could carry them, the history's earlier days as daily sums
 * (analysis/usage-days.ts) with the ledger sha256 of the snapshot that holds their digest.
 *
 * The carried days are written last, as `"usage_days": <text>`, and their digest is the SHA-256
 * of exactly that text (audit-history.ts): a run checks the bytes it reads instead of making
 * canonical JSON of every key's 40 days again, which cost an hourly run more than the hashing.
 * A state file laid out differently (reformatted, edited by hand) still gives its watermarks;
 * its carried days are then not used, and the run reads the snapshots instead.
 */

export const STATE_FILE = 'audit/state.json'

export interface ProviderState {
  /** End of the last window whose usage was read without a gap. */
  watermark?: string
  /** Consecutive runs with at least one gap. */
  failed_runs?: number
}

/** The carried days as state.json holds them: their text, and the snapshot holding its digest. */
export interface CarriedText {
  text: string
  /** The ledger sha256 of that snapshot (`usage_days_snapshot`); anything, as read. */
  snapshot: unknown
}

export interface AuditState {
  version: 1
  providers: Record<string, ProviderState>
  /** The history's earlier days as daily sums; checked before any use (audit-history.ts). */
  usage_days?: CarriedText
}

/** How formatState starts the carried days, and how it ends the file. */
const DAYS_MEMBER = ',\n  "usage_days": '
const END = '\n}\n'

/** The state in state.json's text; a missing or broken file only costs a backfill. */
export function readState(text: string | undefined): AuditState {
  if (text === undefined) return { version: 1, providers: {} }
  // The carried days' text, split off where formatState put it (the first line indented by two
  // spaces that starts them: theirs are indented further); the rest is parsed on its own.
  const at = text.endsWith(END) ? text.indexOf(DAYS_MEMBER) : -1
  if (at >= 0) {
    const head = parseState(`${text.slice(0, at)}${END}`)
    if (head) {
      const days = {
        text: text.slice(at + DAYS_MEMBER.length, -END.length),
        snapshot: head.snapshot,
      }
      return { ...head.state, usage_days: days }
    }
  }
  return parseState(text)?.state ?? { version: 1, providers: {} }
}

function parseState(text: string): { state: AuditState; snapshot: unknown } | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null) return undefined
    const { providers, usage_days_snapshot: snapshot } = value as Record<string, unknown>
    if (typeof providers !== 'object' || providers === null || Array.isArray(providers))
      return undefined
    return {
      state: { version: 1, providers: providers as Record<string, ProviderState> },
      snapshot,
    }
  } catch {
    return undefined
  }
}

/**
 * state.json as written: indented, with the carried days last, as their own text (kept byte
 * for byte from the state that held them, or made by formatUsageDays).
 */
export function formatState(state: AuditState): string {
  const { usage_days: days, ...rest } = state
  const head = JSON.stringify(
    days === undefined ? rest : { ...rest, usage_days_snapshot: days.snapshot },
    null,
    2,
  )
  if (days === undefined) return `${head}\n`
  // The head without its closing "\n}", then the carried days as the last member.
  return `${head.slice(0, -2)}${DAYS_MEMBER}${days.text}${END}`
}

/**
 * The carried days' text: indented, except that each provider key's days take one line
 * (indenting them would spread one number per line, for every key and day).
 */
export function formatUsageDays(days: UsageDaysJson): string {
  const line = (value: unknown) => JSON.stringify(value)
  const { keys, ...meta } = days
  const parts = Object.entries(meta).map(([name, value]) => `    ${line(name)}: ${line(value)}`)
  const providers = Object.entries(keys).map(([provider, byKey]) => {
    const entries = Object.entries(byKey).map(
      ([keyId, value]) => `        ${line(keyId)}: ${line(value)}`,
    )
    return entries.length === 0
      ? `      ${line(provider)}: {}`
      : `      ${line(provider)}: {\n${entries.join(',\n')}\n      }`
  })
  parts.push(
    providers.length === 0 ? '    "keys": {}' : `    "keys": {\n${providers.join(',\n')}\n    }`,
  )
  return `{\n${parts.join(',\n')}\n  }`
}

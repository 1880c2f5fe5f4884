import { createHash } from 'node:crypto'
import { DAY_MS, utcDay } from '../analysis/time.js'
import {
  dayStartMs,
  emptyUsageDays,
  fromUsageDaysJson,
  type SnapshotHistory,
  type UsageDays,
} from '../analysis/usage-days.js'
import { canonicalJson } from '../ledger/canonical-json.js'
import type { LedgerEntry } from '../ledger/chain.js'
import type { Forge } from '../ports/forge.js'
import type { CarriedText } from './audit-state.js'
import type { FreshBuckets } from '../analysis/fetch-window.js'
import type { Log } from '../ports/log.js'
import type { AuditEvent, UsageRecord } from '../records.js'
import { isRecord } from '../is-record.js'

/**
 * The history an audit run analyses, read back from the ledger's snapshots (issue 5): either
 * all of its last HISTORY_DAYS, or — when `audit/state.json` carries the earlier days as daily
 * sums (analysis/usage-days.ts) — only the snapshots after those days.
 *
 * The carried days are trusted only as far as the snapshots are: the run that writes them
 * writes their SHA-256 into its own snapshot (USAGE_DAYS_DIGEST_FIELD), which the hash chain
 * covers. A copy in state.json that is changed, or points at a snapshot the ledger does not
 * list, fails that check on the next run, which then reads the snapshots again and rebuilds
 * it: editing state.json can cost a run its shortcut, never hide usage. Nothing under `audit/`
 * but state.json changes (SPEC §7).
 */

/** How far back the history reaches, in days before the run (from that day's UTC midnight). */
export const HISTORY_DAYS = 40

/** The snapshot field holding the SHA-256 of the `usage_days` its run wrote to state.json. */
export const USAGE_DAYS_DIGEST_FIELD = 'usage_days_sha256'

/**
 * `sha256:` + hex of the carried days' text in UTF-8, exactly as audit/state.json holds it
 * (audit-state.ts): what a run checks is the bytes it then parses. Text that is all ASCII (the
 * usual case: numbers, dates, ids) is hashed as Latin-1, the same bytes without the UTF-8
 * encoder, which took ten times as long as the hashing on a megabyte.
 */
export function usageDaysDigest(text: string): string {
  const encoding = NOT_ASCII.test(text) ? 'utf8' : 'latin1'
  return `sha256:${createHash('sha256').update(text, encoding).digest('hex')}`
}

const NOT_ASCII = /[\u0080-\uffff]/

/** The first UTC day of the history for a run at `now`. */
export const historyFrom = (now: Date): string =>
  utcDay(new Date(now.getTime() - HISTORY_DAYS * DAY_MS))

export interface HistoryRead {
  /** The carried days (as state.json holds them), or nothing carried from the history's start. */
  base: UsageDays
  /** Usage of the snapshots read, oldest first, from `base.through` on; not the buckets of `fresh`. */
  usage: UsageRecord[]
  /** The snapshots read, oldest first. */
  snapshots: SnapshotHistory[]
  /** How many snapshots were read. */
  read: number
  /** Whether `base` came from state.json. */
  carried: boolean
  /** The `pending` findings of the latest snapshot read (analysis/pending-findings.ts). */
  pending: unknown
  /** The latest key listing per provider and the latest matches the snapshots read hold. */
  latest: LatestListings
}

/** A value a snapshot holds, with the snapshot's time. */
export interface Written {
  atMs: number
  value: unknown
}

export interface LatestListings {
  keys: Map<string, Written>
  matches: Written | undefined
}

export interface HistoryOptions {
  now: Date
  /** Where the detectors' window starts: carried days must end by its UTC day (detectors/window.ts). */
  windowStart: Date
  /** The earliest start of this run's fresh usage, if any: it must not fall in a carried day. */
  freshFirstStart: string | undefined
  /** `usage_days` of state.json, as read (anything; checked here). */
  carried: CarriedText | undefined
  /**
   * This run's fresh records: stored records of the same buckets are met there (which notes
   * whether the fresh one changed) and left out of `usage`, since the merge replaces them.
   */
  fresh?: FreshBuckets
}

type ReadLocal = (path: string) => Promise<Uint8Array | undefined>

/**
 * A file's UTF-8 text, without a byte-order mark (as TextDecoder would drop it): Buffer's
 * decoder, which is several times faster on the megabytes of snapshots an hourly run reads.
 */
function utf8Text(bytes: Uint8Array): string {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0
  return Buffer.from(bytes.buffer, bytes.byteOffset + bom, bytes.byteLength - bom).toString('utf8')
}

interface SnapshotData {
  providers?: Record<string, { usage?: UsageRecord[]; events?: AuditEvent[]; keys?: unknown }>
  matches?: unknown
  rotation?: { recorded?: { pull_request: number }[] }
  pending?: unknown
  [USAGE_DAYS_DIGEST_FIELD]?: string
}

/**
 * The history for this run: from the carried days when they check out, else every snapshot of
 * the last HISTORY_DAYS. Either way the detectors get the same series (usage-days.ts).
 */
export async function readHistory(
  forge: Forge,
  readLocal: ReadLocal,
  entries: readonly LedgerEntry[],
  options: HistoryOptions,
  log: Log,
): Promise<HistoryRead> {
  const from = historyFrom(options.now)
  if (options.carried !== undefined) {
    const checked = checkCarried(options.carried, entries, from, options)
    const read =
      typeof checked === 'string'
        ? { why: checked, tampered: false }
        : await readSnapshots(forge, readLocal, entries, checked.first, log, checked, options.fresh)
    if (!('why' in read)) return { ...read, base: (checked as Carried).base }
    const message = `the usage_days of audit/state.json were not used (${read.why}); reading ${HISTORY_DAYS} days of snapshots instead`
    if (read.tampered) log.warning(message)
    else log.info(message)
  }
  const full = await readSnapshots(
    forge,
    readLocal,
    entries,
    dayStartMs(from),
    log,
    undefined,
    options.fresh,
  )
  if ('why' in full) throw new Error(full.why) // only a carried read gives up
  return { ...full, base: emptyUsageDays(from) }
}

interface Carried {
  base: UsageDays
  /** Their text, which the digest covers. */
  text: string
  /** Index in the ledger of the snapshot holding the digest. */
  holder: number
  /** Snapshots after this time (ms) are read. */
  first: number
}

/** The carried days if they can serve this run, else why not. */
function checkCarried(
  value: CarriedText,
  entries: readonly LedgerEntry[],
  from: string,
  options: HistoryOptions,
): Carried | string {
  let parsed: unknown
  try {
    parsed = JSON.parse(value.text)
  } catch {
    return 'not valid JSON'
  }
  const base = fromUsageDaysJson(parsed)
  const snapshot = value.snapshot
  if (!base || typeof snapshot !== 'string') return 'not in the expected form'
  if (base.from > from) return `they start on ${base.from}, after the history's ${from}`
  if (base.through <= from) return `they end before the history's start, ${from}`
  if (base.through > utcDay(options.windowStart))
    return `this run looks back to ${options.windowStart.toISOString()}, before their end ${base.through}`
  if (options.freshFirstStart !== undefined && options.freshFirstStart < base.through)
    return `this run read usage from ${options.freshFirstStart}, before their end ${base.through}`
  const holder = entries.findIndex((e) => e.sha256 === snapshot)
  if (holder < 0) return `their snapshot ${snapshot} is not in the ledger`
  const first = dayStartMs(base.through)
  const holderAt = Date.parse((entries[holder] as LedgerEntry).at)
  if (!(holderAt > first)) return `their snapshot was written before ${base.through}`
  return { base, text: value.text, holder, first }
}

/**
 * Usage, events and rotations of the snapshots written after `after` (ms): all of them from
 * the history's start, or those after the carried days, checking that the snapshot holding
 * the carried days' digest matches them and that no later one adds usage to a carried day.
 */
async function readSnapshots(
  forge: Forge,
  readLocal: ReadLocal,
  entries: readonly LedgerEntry[],
  after: number,
  log: Log,
  carried: Carried | undefined,
  fresh: FreshBuckets | undefined,
): Promise<Omit<HistoryRead, 'base'> | { why: string; tampered: boolean }> {
  // A read that gave up may have met some of the fresh buckets: this one meets them again.
  fresh?.forget()
  const usage: UsageRecord[] = []
  const snapshots: SnapshotHistory[] = []
  const through = carried?.base.through
  let read = 0
  let digestChecked = false
  let pending: unknown
  const latest: LatestListings = { keys: new Map(), matches: undefined }
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as LedgerEntry
    const atMs = Date.parse(entry.at)
    // Carried: snapshots after the carried days' midnight; full: from the history's midnight.
    if (carried ? !(atMs > after) : atMs < after) continue
    // Snapshots never change once written, so the checkout's copy is as good as the branch's and
    // costs no API call; only one written after the checkout is fetched from the forge.
    const local = await readLocal(entry.path).catch(() => undefined)
    const text = local !== undefined ? utf8Text(local) : await forge.readFile(entry.path)
    read++
    let data: SnapshotData | undefined
    if (text === undefined) {
      log.warning(
        `${entry.path} is listed in the ledger but missing; run \`keyward ledger verify\``,
      )
    } else {
      try {
        data = JSON.parse(text) as SnapshotData
      } catch {
        log.warning(`${entry.path} is not valid JSON; its data is left out of the baselines`)
      }
    }
    if (carried && i === carried.holder) {
      if (data?.[USAGE_DAYS_DIGEST_FIELD] !== usageDaysDigest(carried.text))
        return { why: `they do not match the digest in ${entry.path}`, tampered: true }
      digestChecked = true
    }
    if (!data) continue
    pending = data.pending
    if (isRecord(data.matches)) latest.matches = { atMs, value: data.matches }
    const events: AuditEvent[] = []
    for (const [provider, p] of Object.entries(data.providers ?? {})) {
      if (Array.isArray(p.keys)) latest.keys.set(provider, { atMs, value: p.keys })
      for (const r of p.usage ?? []) {
        if (through !== undefined && r.start < through) {
          // Already summed into the carried days, unless written after them.
          if (carried && i > carried.holder)
            return {
              why: `${entry.path} holds usage of ${r.start.slice(0, 10)}, a day they summed`,
              tampered: false,
            }
          continue
        }
        if (fresh?.meet(r)) continue
        usage.push(r)
      }
      for (const e of p.events ?? []) events.push(e)
    }
    snapshots.push({
      atMs,
      events,
      rotations: (data.rotation?.recorded ?? []).map((r) => r.pull_request),
    })
  }
  if (carried && !digestChecked)
    return { why: 'the snapshot holding their digest was not read', tampered: false }
  return { usage, snapshots, read, carried: carried !== undefined, pending, latest }
}

/** What a snapshot holds in place of a key listing or matches the latest one already holds. */
export const UNCHANGED = 'unchanged'

/**
 * `value`, or UNCHANGED when the latest snapshot holding one holds the same (canonical JSON)
 * and was written on the same UTC day. An hourly snapshot would otherwise repeat every key of
 * every provider, three quarters of its bytes, each hour; written at least once a day, a
 * listing is still found in any day's snapshots.
 */
export function unlessRepeated<T>(
  value: T,
  latest: Written | undefined,
  now: Date,
): T | typeof UNCHANGED {
  if (!latest || utcDay(new Date(latest.atMs)) !== utcDay(now)) return value
  return canonicalJson(latest.value) === canonicalJson(value) ? UNCHANGED : value
}

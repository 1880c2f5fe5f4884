import { createHash } from 'node:crypto'
import { mapLimited } from '../map-limited.js'
import type { AuditFinding } from '../analysis/audit-findings.js'
import type { DetectorContext } from '../analysis/detectors/context.js'
import { runDetectors } from '../analysis/detectors/index.js'
import { changedUsage, fetchWindow, mergeEvents, mergeUsage } from '../analysis/fetch-window.js'
import { matchKeys, type KeyMatch } from '../analysis/key-matching.js'
import { DAY_MS } from '../analysis/time.js'
import { UsageError, VaultError, errorMessage } from '../errors.js'
import { checkInventory } from '../inventory/check.js'
import type { Inventory, ProviderSettings } from '../inventory/types.js'
import { canonicalJson } from '../ledger/canonical-json.js'
import {
  LEDGER_FILE,
  ledgerLine,
  nextSnapshot,
  parseLedger,
  type LedgerEntry,
} from '../ledger/chain.js'
import type { Clock } from '../ports/clock.js'
import type { Forge, ForgeFile, ForgeIssue } from '../ports/forge.js'
import type { LeakScanner } from '../ports/leak-scanner.js'
import type { Log } from '../ports/log.js'
import type { Provider } from '../ports/provider.js'
import type { Vault } from '../ports/vault.js'
import type { AuditEvent, Gap, ProviderKey, UsageRecord, VaultAccess } from '../records.js'
import {
  type DashboardEntry,
  DASHBOARD_MARKER,
  DASHBOARD_TITLE,
  renderDashboard,
  type DashboardInput,
} from '../report/dashboard.js'
import { dailyChart, markerOf, renderIssueBody } from '../report/issue-body.js'
import { reconcileIssues, type IssuePlanItem, type ReconcileResult } from './reconcile-issues.js'
import { SECRET_FIELD } from './vault.js'

export const STATE_FILE = 'audit/state.json'
/** How far back event detectors look on every run. */
const EVENT_LOOKBACK_DAYS = 7
/** Commits re-planned after the branch moved, before the run gives up (the next run retries). */
const COMMIT_ATTEMPTS = 3
/** History read back from snapshots for baselines. */
const HISTORY_DAYS = 40

export interface OpenedProvider {
  provider: Provider
  close(): Promise<void>
}

export interface AuditDeps {
  readFile(path: string): Promise<Uint8Array | undefined>
  vault: Vault
  forge: Forge
  scanner: LeakScanner
  clock: Clock
  log: Log
  /** Builds a provider from its inventory entry and decrypted admin key (registry, or demo fakes). */
  openProvider(id: string, settings: ProviderSettings, adminKey: string): OpenedProvider | undefined
}

export interface AuditInput {
  configFile: string
  dryRun: boolean
  maxIssuesPerRun: number
  backfillDays?: number
}

export interface AuditReport {
  snapshot: string | undefined
  ledgerHead: string | null
  committed: boolean
  gaps: Gap[]
  findings: AuditFinding[]
  issues: ReconcileResult
  /** The dashboard issue's number, and what this run did to it. */
  dashboard: { number: number | undefined; action: 'created' | 'updated' | 'unchanged' }
  requests: number
  providers: { id: string; keys: number; usage: number; events: number; gaps: number }[]
  notes: string[]
}

interface ProviderState {
  /** End of the last window whose usage was read without a gap. */
  watermark?: string
  /** Consecutive runs with at least one gap. */
  failed_runs?: number
}

interface AuditState {
  version: 1
  providers: Record<string, ProviderState>
}

function readState(text: string | undefined): AuditState {
  try {
    const value = JSON.parse(text ?? '') as Partial<AuditState>
    if (
      value &&
      typeof value === 'object' &&
      value.providers &&
      typeof value.providers === 'object'
    )
      return { version: 1, providers: value.providers }
  } catch {
    // A missing or broken state file only costs a backfill.
  }
  return { version: 1, providers: {} }
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

interface SnapshotData {
  providers?: Record<string, { usage?: UsageRecord[]; events?: AuditEvent[] }>
}

/** Usage and events of the snapshots of the last HISTORY_DAYS, oldest first. */
async function readHistory(
  forge: Forge,
  readLocal: AuditDeps['readFile'],
  entries: readonly LedgerEntry[],
  now: Date,
  log: Log,
): Promise<{ usage: UsageRecord[]; events: AuditEvent[] }> {
  const cutoff = now.getTime() - HISTORY_DAYS * DAY_MS
  const usage: UsageRecord[] = []
  const events: AuditEvent[] = []
  for (const entry of entries) {
    if (Date.parse(entry.at) < cutoff) continue
    // Snapshots never change once written, so the checkout's copy is as good as the branch's and
    // costs no API call; only one written after the checkout is fetched from the forge.
    const local = await readLocal(entry.path).catch(() => undefined)
    const text =
      local !== undefined ? new TextDecoder().decode(local) : await forge.readFile(entry.path)
    if (text === undefined) {
      log.warning(
        `${entry.path} is listed in the ledger but missing; run \`keyward ledger verify\``,
      )
      continue
    }
    try {
      const data = JSON.parse(text) as SnapshotData
      for (const p of Object.values(data.providers ?? {})) {
        usage.push(...(p.usage ?? []))
        events.push(...(p.events ?? []))
      }
    } catch {
      log.warning(`${entry.path} is not valid JSON; its data is left out of the baselines`)
    }
  }
  return { usage, events }
}

interface ProviderRead {
  id: string
  keys: ProviderKey[] | undefined
  usage: UsageRecord[]
  events: AuditEvent[]
  gaps: Gap[]
  notes: string[]
  requests: number
  window: { since: string; until: string }
  usageComplete: boolean
}

/**
 * `keyward audit` (DESIGN.md data flow): read the providers since their watermarks, write one
 * snapshot chained to the ledger in one commit, run the detectors on the committed history
 * plus the new data, and reconcile one issue per finding. Providers that fail leave gaps.
 */
export async function audit(input: AuditInput, deps: AuditDeps): Promise<AuditReport> {
  const { log, forge, vault } = deps
  const now = deps.clock.now()
  const notes: string[] = []

  // 1. Inventory: audit runs only on an inventory that validates.
  const inventory = await log.group('Inventory', async () => {
    const bytes = await deps.readFile(input.configFile)
    if (bytes === undefined) throw new UsageError(`cannot read ${input.configFile}: no such file`)
    const { parsed, findings } = checkInventory(input.configFile, bytes, { now })
    const errors = findings.filter((f) => f.severity === 'error')
    if (!parsed || errors.length > 0) {
      const first = errors[0]
      throw new UsageError(
        `${input.configFile} has ${errors.length} error(s), first ${first ? `${first.file}:${first.line}:${first.column}: ${first.message}` : ''}; run \`keyward validate\` and fix them before auditing`,
      )
    }
    return parsed.value as Inventory
  })

  // 2. Ledger, state and history from the branch.
  const firstHead = await forge.head()
  const [ledgerText, stateText] = await Promise.all([
    forge.readFile(LEDGER_FILE, firstHead),
    forge.readFile(STATE_FILE, firstHead),
  ])
  const ledger = parseLedger(ledgerText ?? '')
  const state = readState(stateText)
  const prev = ledger.entries.at(-1)?.sha256 ?? null
  const history = await readHistory(forge, deps.readFile, ledger.entries, now, log)

  // 3. Vault: admin keys open providers; key secrets give fingerprints and hint matching.
  const access: VaultAccess[] = []
  const tampered: { keyId: string; file: string; message: string }[] = []
  const gaps: Gap[] = []
  const decrypt = async (file: string, keyId: string): Promise<string | undefined> => {
    try {
      const { values, access: record } = await vault.decrypt(file, 'audit', keyId)
      access.push(record)
      const value = values[SECRET_FIELD]
      return typeof value === 'string' ? value : undefined
    } catch (error) {
      if (error instanceof VaultError && error.code === 'no-identity') throw error
      if (error instanceof VaultError && error.tampered)
        tampered.push({ keyId, file, message: error.message })
      else notes.push(`${file}: ${errorMessage(error)}`)
      return undefined
    }
  }
  const secrets = new Map<string, string>()
  const opened: { id: string; opened: OpenedProvider }[] = []
  await log.group('Vault', async () => {
    for (const [id, settings] of Object.entries(inventory.providers)) {
      const adminKey = await decrypt(settings.admin_key, `admin:${id}`)
      if (adminKey === undefined) {
        gaps.push({
          provider: id,
          endpoint: 'admin key',
          reason: `the admin key ${settings.admin_key} could not be decrypted`,
        })
        continue
      }
      const provider = deps.openProvider(id, settings, adminKey)
      if (provider) opened.push({ id, opened: provider })
      else
        gaps.push({
          provider: id,
          endpoint: 'adapter',
          reason: `no adapter for provider type "${settings.type ?? id}"`,
        })
    }
    for (const [id, key] of Object.entries(inventory.keys)) {
      const secret = await decrypt(key.secret, id)
      if (secret !== undefined) secrets.set(id, secret)
    }
    log.info(`Decrypted ${access.length} secret file(s)`)
  })

  // 4. Providers, a few at a time; each failure is a gap, never the end of the run.
  // The window starts an overlap before the watermark (providers finalise buckets late);
  // re-read buckets replace what history holds (mergeUsage), so nothing counts twice.
  const until = fetchWindow(undefined, now).until
  let reads: ProviderRead[]
  try {
    reads = await mapLimited(opened, 3, ({ id, opened: { provider } }) =>
      log.group(`Provider ${id}`, async (): Promise<ProviderRead> => {
        const { since } = fetchWindow(
          state.providers[id]?.watermark,
          now,
          input.backfillDays !== undefined ? { backfillDays: input.backfillDays } : {},
        )
        const read: ProviderRead = {
          id,
          keys: undefined,
          usage: [],
          events: [],
          gaps: [],
          notes: [],
          requests: 0,
          window: { since: since.toISOString(), until: until.toISOString() },
          usageComplete: false,
        }
        const collect = <T>(result: {
          data: T
          gaps: Gap[]
          notes: string[]
          requests: number
        }): T => {
          read.gaps.push(...result.gaps)
          read.notes.push(...result.notes)
          read.requests += result.requests
          return result.data
        }
        const listed = await provider.listKeys()
        const keys = collect(listed)
        if (listed.gaps.length === 0) read.keys = keys
        const usage = await provider.usage(since, until)
        read.usage = collect(usage)
        read.usageComplete = usage.gaps.length === 0
        read.events = collect(await provider.auditEvents(since, until))
        log.info(
          `${id}: ${keys.length} keys, ${read.usage.length} usage records, ${read.events.length} events, ${read.gaps.length} gap(s), ${read.requests} requests`,
        )
        return read
      }),
    )
  } finally {
    await Promise.all(opened.map(({ opened: o }) => o.close()))
  }
  for (const read of reads) gaps.push(...read.gaps)
  for (const note of reads.flatMap((r) => r.notes)) if (!notes.includes(note)) notes.push(note)

  // 5. Match inventory keys to provider keys; plaintext leaves memory after this.
  const listedKeys = reads.flatMap((r) => r.keys ?? [])
  const report = matchKeys(
    Object.entries(inventory.keys).map(([keyId, key]) => ({
      keyId,
      provider: key.provider,
      ...(key.provider_key_id ? { providerKeyId: key.provider_key_id } : {}),
      ...(secrets.has(keyId) ? { secret: secrets.get(keyId) } : {}),
    })),
    listedKeys,
  )
  const secretFingerprints = new Map(
    [...secrets].map(([id, secret]) => [id, `sha256:${sha256Hex(secret)}`]),
  )
  secrets.clear()
  const matches = new Map<string, ProviderKey>()
  for (const m of report.matches) {
    if (m.status !== 'matched') continue
    const key = listedKeys.find(
      (k) =>
        k.provider === inventory.keys[m.keyId]?.provider && k.providerKeyId === m.providerKeyId,
    )
    if (key) matches.set(m.keyId, key)
  }
  for (const m of report.matches.filter(
    (x): x is Extract<KeyMatch, { status: 'ambiguous' }> => x.status === 'ambiguous',
  )) {
    notes.push(
      `key "${m.keyId}" matches several provider keys (${m.candidates.join(', ')}); set provider_key_id to say which`,
    )
  }

  // 6. Leaks in the repository.
  const leaks = await log.group(
    'Leak scan',
    async () =>
      (
        await deps.scanner.scan({
          ignorePaths: inventory.scan?.ignore_paths ?? [],
          allow: inventory.scan?.allow ?? [],
        })
      ).findings,
  )

  // 7. Detectors over history plus this run.
  const failedRuns = new Map<string, number>()
  const providerIds = Object.keys(inventory.providers)
  const readIds = new Set(reads.map((r) => r.id))
  for (const id of providerIds) {
    const hadGap = !readIds.has(id) || gaps.some((g) => g.provider === id)
    failedRuns.set(id, hadGap ? (state.providers[id]?.failed_runs ?? 0) + 1 : 0)
  }
  const newUsage = reads.flatMap((r) => r.usage)
  const newEvents = reads.flatMap((r) => r.events)
  // Event detectors look back at least a week: a finding whose issue waited for a write budget
  // (max-issues-per-run) is found again, with the same fingerprint, on the next runs.
  const windowStart = new Date(
    Math.min(
      ...reads.map((r) => Date.parse(r.window.since)),
      until.getTime() - EVENT_LOOKBACK_DAYS * DAY_MS,
    ),
  )
  const ctx: DetectorContext = {
    inventory,
    now,
    providerKeys: new Map(
      reads.filter((r) => r.keys !== undefined).map((r) => [r.id, r.keys ?? []]),
    ),
    matches,
    adminProviderKeyIds: new Set(),
    usage: mergeUsage(history.usage, newUsage).sort((a, b) => a.start.localeCompare(b.start)),
    events: mergeEvents(history.events, newEvents),
    windowStart,
    failedRuns,
    secretFingerprints,
    tampered,
    leaks,
  }
  const detected = runDetectors(ctx)
  for (const error of detected.errors) log.warning(`a detector failed: ${error}`)
  const findings = detected.findings

  // 8. The snapshot, the ledger line and the state, in one commit.
  // A snapshot holds what is new or changed since history: the re-read overlap is not stored twice.
  const knownEvents = new Set(history.events.map((e) => `${e.provider}\u0000${e.eventId}`))
  const snapshotBody = {
    version: 1,
    at: now.toISOString(),
    providers: Object.fromEntries(
      reads.map((r) => [
        r.id,
        {
          window: r.window,
          keys: r.keys ?? null,
          usage: changedUsage(history.usage, r.usage),
          events: r.events.filter((e) => !knownEvents.has(`${e.provider}\u0000${e.eventId}`)),
          requests: r.requests,
          notes: r.notes,
        },
      ]),
    ),
    gaps,
    matches: Object.fromEntries(
      report.matches.map((m) => [
        m.keyId,
        m.status === 'matched'
          ? { provider_key_id: m.providerKeyId, by: m.by }
          : { status: m.status },
      ]),
    ),
    secret_sha256: Object.fromEntries(secretFingerprints),
    vault_access: access,
    findings: findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      key: f.key ?? null,
      subject: f.subject,
      period: f.period,
      fingerprint: f.fingerprint,
      numbers: f.numbers,
    })),
  }
  /** Snapshot, ledger and state built on what the branch holds at `head`. */
  const planCommit = async (head: string | undefined) => {
    const [ledgerNow, stateNow] =
      head === firstHead
        ? [ledgerText, stateText]
        : await Promise.all([forge.readFile(LEDGER_FILE, head), forge.readFile(STATE_FILE, head)])
    const previous = readState(stateNow).providers
    const entries = parseLedger(ledgerNow ?? '').entries
    // Ledger times never go back: a run re-planned after a later-clocked run's commit stamps
    // its entry one second after that one (its data window is unchanged).
    const last = entries.at(-1)
    const stamp = new Date(
      Math.max(
        Math.floor(now.getTime() / 1000) * 1000,
        last ? Math.floor(Date.parse(last.at) / 1000) * 1000 + 1000 : 0,
      ),
    )
    const snapshot = nextSnapshot(
      snapshotBody,
      last?.sha256 ?? null,
      stamp,
      (bytes) => `sha256:${sha256Hex(bytes)}`,
      canonicalJson,
    )
    const nextState: AuditState = {
      version: 1,
      providers: Object.fromEntries(
        providerIds.map((id) => {
          const read = reads.find((r) => r.id === id)
          // Another run may have moved a watermark further meanwhile: never move it back.
          const candidates = [
            read?.usageComplete ? read.window.until : undefined,
            previous[id]?.watermark,
          ]
            .filter((w): w is string => w !== undefined)
            .sort()
          const watermark = candidates.at(-1)
          return [id, { ...(watermark ? { watermark } : {}), failed_runs: failedRuns.get(id) ?? 0 }]
        }),
      ),
    }
    const files: ForgeFile[] = [
      { path: snapshot.path, content: new TextDecoder().decode(snapshot.bytes) },
      {
        path: LEDGER_FILE,
        content:
          (ledgerNow ?? '') +
          (ledgerNow && !ledgerNow.endsWith('\n') ? '\n' : '') +
          ledgerLine(snapshot.entry),
      },
      { path: STATE_FILE, content: JSON.stringify(nextState, null, 2) + '\n' },
    ]
    // SPEC §7 paths have whole seconds: a second run within the same second must not overwrite.
    const taken = entries.some((e) => e.path === snapshot.path)
    return { snapshot, files, taken }
  }
  let planned = await planCommit(firstHead)
  let committed = false
  await log.group('Snapshot', async () => {
    if (input.dryRun) {
      log.info(`dry run: would commit ${planned.snapshot.path}`)
      return
    }
    let head = firstHead
    for (let attempt = 1; ; attempt++) {
      if (planned.taken) {
        log.warning(
          `${planned.snapshot.path} already exists (another run in the same second); nothing committed, the next run continues`,
        )
        return
      }
      const message = `keyward audit ${now.toISOString()}\n\nSnapshot ${planned.snapshot.path}\nLedger head ${planned.snapshot.entry.sha256}\n${findings.length} finding(s), ${gaps.length} gap(s)`
      const outcome = await forge.commitFiles(planned.files, message, head)
      if (outcome.status !== 'conflict') {
        committed = outcome.status === 'committed'
        log.info(committed ? `committed ${planned.snapshot.path}` : 'nothing to commit')
        return
      }
      // Someone pushed meanwhile: snapshots are new files, so rebuilding on the new head loses nothing.
      if (attempt >= COMMIT_ATTEMPTS)
        throw new Error(
          `the branch kept moving during ${COMMIT_ATTEMPTS} commit attempts; nothing was committed, the next run will retry`,
        )
      head = await forge.head()
      log.info(
        `the branch moved; rebuilding the ledger and state on ${head?.slice(0, 7) ?? 'the new head'} (attempt ${attempt + 1})`,
      )
      planned = await planCommit(head)
    }
  })
  const { snapshot } = planned

  // 9. Issues.
  const usageFor = (keyId: string) => {
    const providerKeyId = matches.get(keyId)?.providerKeyId
    const key = inventory.keys[keyId]
    return providerKeyId && key
      ? ctx.usage.filter((u) => u.provider === key.provider && u.providerKeyId === providerKeyId)
      : []
  }
  const plan: IssuePlanItem[] = findings.map((finding) => {
    const key = finding.key ? inventory.keys[finding.key] : undefined
    const chart = finding.key ? chartFor(usageFor(finding.key), now, finding.key) : ''
    const owner =
      finding.owner && !finding.owner.includes('/') ? [finding.owner.replace(/^@/, '')] : []
    return {
      finding,
      draft: {
        title: finding.title,
        body: renderIssueBody(finding, {
          ...(key ? { label: key.label } : {}),
          ...(key?.used_in ? { usedIn: key.used_in } : {}),
          chart,
        }),
        labels: ['keyward', `keyward:${finding.rule}`, `severity:${finding.severity}`],
        assignees: owner,
      },
    }
  })
  // One listing of keyward issues serves the findings and the dashboard.
  const existing = await forge.listIssues()
  const issues = await log.group('Issues', () =>
    reconcileIssues(
      forge,
      plan,
      {
        maxWrites: input.maxIssuesPerRun,
        dryRun: input.dryRun,
        unreadProviders: new Set(providerIds.filter((id) => (failedRuns.get(id) ?? 0) > 0)),
        existing,
      },
      log,
    ),
  )
  const ledgerHead = input.dryRun ? prev : snapshot.entry.sha256
  const dashboard = await log.group('Dashboard', () =>
    ensureDashboardSafely(
      forge,
      existing,
      {
        inventory,
        now,
        open: openEntries(existing, plan, issues),
        gaps,
        ledgerHead,
        snapshot: input.dryRun ? undefined : snapshot.path,
        // Past GitHub's body limit the list is cut; every finding is in the committed snapshot.
        overflowLink: `the \`findings\` of \`${snapshot.path}\``,
      },
      input.dryRun,
      log,
    ),
  )

  return {
    snapshot: input.dryRun ? undefined : snapshot.path,
    ledgerHead,
    dashboard,
    committed,
    gaps,
    findings,
    issues,
    requests: reads.reduce((n, r) => n + r.requests, 0),
    providers: reads.map((r) => ({
      id: r.id,
      keys: r.keys?.length ?? 0,
      usage: r.usage.length,
      events: r.events.length,
      gaps: r.gaps.length,
    })),
    notes,
  }
}

/** Daily spend (or tokens) of the last 30 days, as a chart for the issue. */
function chartFor(records: readonly UsageRecord[], now: Date, keyId: string): string {
  const useCost = records.some((u) => u.costUsd !== undefined)
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const perDay = new Map<string, number>()
  for (const u of records)
    perDay.set(
      u.start.slice(0, 10),
      (perDay.get(u.start.slice(0, 10)) ?? 0) +
        (useCost ? (u.costUsd ?? 0) : u.inputTokens + u.outputTokens),
    )
  const days = Array.from({ length: 30 }, (_, i) => {
    const day = new Date(today - (29 - i) * DAY_MS).toISOString().slice(0, 10)
    return { day, value: perDay.get(day) ?? 0 }
  })
  if (days.every((d) => d.value === 0)) return ''
  return dailyChart(
    `${keyId}: daily ${useCost ? 'spend' : 'tokens'}, last 30 days`,
    days,
    useCost ? 'USD' : 'tokens',
  )
}

/** The one dashboard issue (SPEC §5): found by its marker, created once, updated on change. */
async function ensureDashboard(
  forge: Forge,
  existing: readonly ForgeIssue[],
  input: DashboardInput,
  dryRun: boolean,
): Promise<AuditReport['dashboard']> {
  const body = renderDashboard(input)
  const boards = (issues: readonly ForgeIssue[]) =>
    issues.filter((i) => i.body.includes(DASHBOARD_MARKER)).sort((a, b) => a.number - b.number)
  /** One dashboard: the lowest number wins, so runs that raced agree which copy stays. */
  const closeCopies = async (all: readonly ForgeIssue[], keep: number) => {
    for (const copy of all.filter((i) => i.number !== keep && i.state === 'open')) {
      await forge.comment(copy.number, `Duplicate of #${keep}: keyward keeps one dashboard.`)
      await forge.updateIssue(copy.number, { state: 'closed', stateReason: 'not_planned' })
    }
  }
  const [found] = boards(existing)
  if (found && found.body === body && found.state === 'open')
    return { number: found.number, action: 'unchanged' }
  if (dryRun) return { number: found?.number, action: found ? 'updated' : 'created' }
  if (found) {
    await forge.updateIssue(found.number, { body, title: DASHBOARD_TITLE, state: 'open' })
    await closeCopies(boards(existing), found.number)
    return { number: found.number, action: 'updated' }
  }
  const created = await forge.createIssue({
    title: DASHBOARD_TITLE,
    body,
    labels: ['keyward', 'keyward:dashboard'],
    assignees: [],
  })
  // Another run may have created one at the same time.
  const now = boards(await forge.listIssues())
  const keep = now[0]?.number ?? created.number
  await closeCopies(now, keep)
  return { number: keep, action: keep === created.number ? 'created' : 'updated' }
}

/**
 * What the dashboard lists: every finding issue still open after this run (earlier runs'
 * too, by their labels), and this run's findings that wait for the write budget.
 */
function openEntries(
  existing: readonly ForgeIssue[],
  plan: readonly IssuePlanItem[],
  issues: ReconcileResult,
): DashboardEntry[] {
  const entries = new Map<number, DashboardEntry>()
  const label = (labels: readonly string[], prefix: string) =>
    labels.find((l) => l.startsWith(prefix))?.slice(prefix.length)
  for (const issue of existing) {
    if (issue.state !== 'open' || !markerOf(issue.body) || issues.closed.includes(issue.number))
      continue
    const severity = label(issue.labels, 'severity:')
    entries.set(issue.number, {
      issue: issue.number,
      title: issue.title,
      severity: severity === 'error' || severity === 'warning' ? severity : 'note',
      rule: label(issue.labels, 'keyward:') ?? 'finding',
    })
  }
  const waiting: DashboardEntry[] = []
  const stillOpen = new Set([...entries.keys(), ...issues.created, ...issues.updated])
  for (const { finding, draft } of plan) {
    const number = issues.issueOf.get(finding.fingerprint)
    const entry = {
      issue: number,
      title: draft.title,
      severity: finding.severity,
      rule: finding.rule,
    }
    if (number === undefined) {
      if (issues.deferred.includes(finding.fingerprint)) waiting.push(entry)
    } else if (stillOpen.has(number)) entries.set(number, entry)
  }
  return [...[...entries.values()].sort((a, b) => (a.issue ?? 0) - (b.issue ?? 0)), ...waiting]
}

/** The dashboard is one more write: a rejection is a warning, not the end of the run. */
async function ensureDashboardSafely(
  forge: Forge,
  existing: readonly ForgeIssue[],
  input: DashboardInput,
  dryRun: boolean,
  log: Log,
): Promise<AuditReport['dashboard']> {
  try {
    return await ensureDashboard(forge, existing, input, dryRun)
  } catch (error) {
    log.warning(
      `the dashboard issue could not be written, the next run retries: ${errorMessage(error)}`,
    )
    return { number: undefined, action: 'unchanged' }
  }
}

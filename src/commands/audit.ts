import { createHash } from 'node:crypto'
import { mapLimited } from '../map-limited.js'
import type { AuditFinding } from '../analysis/audit-findings.js'
import {
  keyViews,
  seriesOf,
  costOn,
  tokensOn,
  type DetectorContext,
  type UsageSeries,
} from '../analysis/detectors/context.js'
import { keyMonthSpend } from '../analysis/detectors/budget.js'
import { runDetectors } from '../analysis/detectors/index.js'
import { offHoursRules } from '../analysis/detectors/off-hours.js'
import { carryPending, pendingJson, pendingOf, readPending } from '../analysis/pending-findings.js'
import { fetchWindow, FreshBuckets } from '../analysis/fetch-window.js'
import { matchKeys, type KeyMatch } from '../analysis/key-matching.js'
import { DAY_MS, utcDay } from '../analysis/time.js'
import {
  carryForward,
  toUsageDaysJson,
  type CarryOutput,
  type UsageDays,
} from '../analysis/usage-days.js'
import { UsageError, VaultError, errorMessage } from '../errors.js'
import { checkInventory } from '../inventory/check.js'
import type { Inventory, ProviderSettings } from '../inventory/types.js'
import { canonicalJson } from '../ledger/canonical-json.js'
import {
  formatState,
  formatUsageDays,
  readState,
  STATE_FILE,
  type AuditState,
  type CarriedText,
} from './audit-state.js'
import { LEDGER_FILE, ledgerLine, nextSnapshot, parseLedger } from '../ledger/chain.js'
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
  type SpendRow,
} from '../report/dashboard.js'
import { dailyChart, markerOf, renderIssueBody } from '../report/issue-body.js'
import { reconcileIssues, type IssuePlanItem, type ReconcileResult } from './reconcile-issues.js'
import { SECRET_FIELD } from './vault.js'
import { capFindings, planCaps, type CapStatus, type ProviderLimits } from '../analysis/caps.js'
import { resolvedDefaults } from '../inventory/types.js'
import type { ChangeLog } from '../ports/change-log.js'
import { enforceCaps, type CapChange } from './enforce-caps.js'
import {
  listRotationPulls,
  rotate,
  rotatingProviderKeyIds,
  rotationDueFindings,
  type RotationResult,
} from './rotate.js'
import {
  historyFrom,
  readHistory,
  unlessRepeated,
  USAGE_DAYS_DIGEST_FIELD,
  usageDaysDigest,
} from './audit-history.js'

export { STATE_FILE }
/** Commits re-planned after the branch moved, before the run gives up (the next run retries). */
const COMMIT_ATTEMPTS = 3

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
  /** Hides a secret minted during the run from logs (the action's `core.setSecret`). */
  mask?: (secret: string) => void
  /** Who last changed the inventory, for the record of a cap keyward enforced. */
  changeLog?: ChangeLog
}

export interface AuditInput {
  configFile: string
  dryRun: boolean
  maxIssuesPerRun: number
  /** New rotation pull requests per run (SPEC §6 `max-prs-per-run`); default 5. */
  maxPullRequestsPerRun?: number
  backfillDays?: number
}

export interface AuditReport {
  snapshot: string | undefined
  ledgerHead: string | null
  committed: boolean
  gaps: Gap[]
  findings: AuditFinding[]
  issues: ReconcileResult
  /** Rotation pull requests; `deferred` names the keys waiting for max-prs-per-run. */
  pullRequests: { opened: number[]; updated: number[]; deferred: string[] }
  /** Provider limits keyward changed (caps: enforce). */
  capChanges: CapChange[]
  /** Rotations merged since the last run, as recorded in the snapshot. */
  rotations: RotationResult['recorded']
  /** The dashboard issue's number, and what this run did to it. */
  dashboard: { number: number | undefined; action: 'created' | 'updated' | 'unchanged' }
  requests: number
  providers: { id: string; keys: number; usage: number; events: number; gaps: number }[]
  notes: string[]
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

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
  // Providers stay open until rotation and caps have written what they must.
  const closers: (() => Promise<void>)[] = []
  try {
    return await runAudit(input, deps, closers)
  } finally {
    await Promise.all(closers.map((close) => close().catch(() => undefined)))
  }
}

async function runAudit(
  input: AuditInput,
  deps: AuditDeps,
  closers: (() => Promise<void>)[],
): Promise<AuditReport> {
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
      if (provider) {
        opened.push({ id, opened: provider })
        closers.push(() => provider.close())
      } else
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
  const reads: ProviderRead[] = await mapLimited(opened, 3, ({ id, opened: { provider } }) =>
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

  // A leaked plaintext that is one of the inventory's keys names that key: its rotation starts now.
  const keyOfSecret = new Map([...secretFingerprints].map(([id, sha]) => [sha, id]))
  const leaksWithKeys = leaks.map((leak) => {
    const sha = /"(sha256:[0-9a-f]{64})"/.exec(leak.message)?.[1]
    const keyId = sha ? keyOfSecret.get(sha) : undefined
    return keyId && leak.key === undefined ? { ...leak, key: keyId } : leak
  })

  // Rotations in progress: their keys are keyward's own, not unmanaged (one listing serves both).
  const rotationPulls = await listRotationPulls(forge)

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
  // Event detectors judge the new data only (detectors/window.ts): from the earliest start of
  // this run's reads. What an earlier run found but could not write yet comes from its snapshot.
  const windowStart = new Date(
    Math.min(...reads.map((r) => Date.parse(r.window.since)), until.getTime()),
  )
  // The history: the days state.json carries plus the snapshots after them, or, failing that,
  // every snapshot of the last HISTORY_DAYS. The days before the window's are (re)summed for
  // the next run; the detectors read the same series either way.
  let freshFirstStart: string | undefined
  for (const u of newUsage)
    if (freshFirstStart === undefined || u.start < freshFirstStart) freshFirstStart = u.start
  // Stored records of the buckets read again are met as the history is read, not kept: the
  // snapshot then holds only what is new or changed (the re-read overlap is not stored twice).
  const freshBuckets = new FreshBuckets(newUsage)
  const history = await readHistory(
    forge,
    deps.readFile,
    ledger.entries,
    { now, windowStart, freshFirstStart, carried: state.usage_days, fresh: freshBuckets },
    log,
  )
  const from = historyFrom(now)
  const windowDay = utcDay(windowStart)
  const carried = carryForward({
    base: history.base,
    history: history.usage,
    fresh: newUsage,
    snapshots: history.snapshots,
    freshEvents: newEvents,
    from,
    through: [windowDay, from, history.base.through].sort().at(-1) ?? windowDay,
    offHours: offHoursRules(inventory, matches),
  })
  log.info(
    `history: ${history.read} snapshot(s) read${history.carried ? `, days before ${history.base.through} carried in ${STATE_FILE}` : ''}`,
  )
  const ctx: DetectorContext = {
    inventory,
    now,
    providerKeys: new Map(
      reads.filter((r) => r.keys !== undefined).map((r) => [r.id, r.keys ?? []]),
    ),
    matches,
    adminProviderKeyIds: new Set(),
    rotatingProviderKeys: rotatingProviderKeyIds(rotationPulls),
    usage: carried.usage,
    earlier: carried.earlier,
    events: carried.events,
    windowStart,
    failedRuns,
    secretFingerprints,
    tampered,
    leaks: leaksWithKeys,
  }
  const detected = runDetectors(ctx)
  for (const error of detected.errors) log.warning(`a detector failed: ${error}`)
  const findings = detected.findings
  // One listing of keyward issues serves the waiting findings, the issues and the dashboard.
  const existing = await forge.listIssues()
  const withIssue = new Set(existing.map((issue) => markerOf(issue.body) ?? ''))
  const waiting = readPending(history.pending, now)
  const foundBefore = findings.length
  const firstFound = carryPending(findings, waiting, withIssue)
  if (findings.length > foundBefore)
    log.info(`${findings.length - foundBefore} finding(s) of earlier runs still wait for an issue`)
  const providersById = new Map(opened.map(({ id, opened: o }) => [id, o.provider]))
  const defaults = resolvedDefaults(inventory)

  // 7b. Spending caps: what each provider enforces against cap_usd_month; fixed in enforce mode.
  const caps = await log.group('Caps', async () => {
    const limits = new Map<string, ProviderLimits>()
    let requests = 0
    for (const { id, opened: o } of opened) {
      const control = o.provider.limitControl()
      const read = reads.find((r) => r.id === id)
      const mine = [...matches.values()].filter((k) => k.provider === id)
      const capped = Object.values(inventory.keys).some(
        (k) => k.provider === id && k.cap_usd_month !== undefined,
      )
      if (control.scope === 'none' || !capped || !o.provider.readLimits || !read?.keys) {
        limits.set(id, { control, limits: control.scope === 'none' ? [] : undefined })
        continue
      }
      const result = await o.provider.readLimits(mine)
      requests += result.requests
      gaps.push(...result.gaps)
      for (const note of result.notes) if (!notes.includes(note)) notes.push(note)
      limits.set(id, { control, limits: result.gaps.length ? undefined : result.data })
    }
    const plan = planCaps(inventory, matches, limits)
    const enforcement = await enforceCaps(
      plan,
      providersById,
      {
        mode: defaults.caps,
        dryRun: input.dryRun,
        requestedBy: await requestedBy(deps.changeLog, input.configFile, now),
      },
      log,
    )
    return { plan, enforcement, requests: requests + enforcement.requests }
  })
  findings.push(...capFindings(inventory, caps.plan, caps.enforcement.outcomes, defaults.caps))

  // 7c. Rotation: pull requests for aged or exposed keys, merged rotations, old keys retired.
  const configBytes = await deps.readFile(input.configFile)
  const rotation = await log.group('Rotation', () =>
    rotate(
      {
        inventory,
        configPath: input.configFile,
        configText: new TextDecoder().decode(configBytes),
        now,
        head: firstHead,
        matches,
        listed: new Map(reads.filter((r) => r.keys !== undefined).map((r) => [r.id, r.keys ?? []])),
        findings,
        secretFingerprints,
        recorded: carried.rotations,
        usage: [...lastUseRecords(carried.earlier), ...ctx.usage],
        dryRun: input.dryRun,
        maxPullRequests: input.maxPullRequestsPerRun ?? 5,
        pulls: rotationPulls,
      },
      {
        forge,
        vault,
        log,
        providers: providersById,
        ...(deps.mask ? { mask: deps.mask } : {}),
      },
    ),
  )
  findings.push(...rotation.findings)
  for (const note of rotation.notes) if (!notes.includes(note)) notes.push(note)
  findings.push(...rotationDueFindings(inventory, now))

  const spend = spendRows(inventory, keyMonthSpend(ctx), caps.plan.status)

  // 8. The snapshot, the ledger line and the state, in one commit.
  // A snapshot holds what is new or changed since history: the re-read overlap is not stored twice.
  const knownEvents = new Set(
    history.snapshots.flatMap((h) => h.events.map((e) => `${e.provider}\u0000${e.eventId}`)),
  )
  // The carried days for the next run: unchanged ones stay as state.json has them; new ones
  // are written with their digest in this snapshot (audit-history.ts).
  const usageDays = nextUsageDays(history.carried ? history.base : undefined, carried, state)
  const pending = pendingOf(findings, withIssue, firstFound, now)
  const snapshotBody = {
    version: 1,
    at: now.toISOString(),
    providers: Object.fromEntries(
      reads.map((r) => [
        r.id,
        {
          window: r.window,
          keys: r.keys ? unlessRepeated(r.keys, history.latest.keys.get(r.id), now) : null,
          usage: freshBuckets.changed(r.usage),
          events: r.events.filter((e) => !knownEvents.has(`${e.provider}\u0000${e.eventId}`)),
          requests: r.requests,
          notes: r.notes,
        },
      ]),
    ),
    gaps,
    matches: unlessRepeated(
      Object.fromEntries(
        report.matches.map((m) => [
          m.keyId,
          m.status === 'matched'
            ? { provider_key_id: m.providerKeyId, by: m.by }
            : { status: m.status },
        ]),
      ),
      history.latest.matches,
      now,
    ),
    secret_sha256: Object.fromEntries(secretFingerprints),
    vault_access: access,
    caps: {
      mode: defaults.caps,
      keys: caps.plan.status,
      changes: caps.enforcement.changes,
      // What the dashboard and the weekly review show per key, as of this run.
      spend: spend.map((r) => ({
        key: r.key,
        budget_usd_month: r.budget ?? null,
        cap_usd_month: r.cap ?? null,
        month_to_date_usd: Math.round(r.monthToDate * 100) / 100,
        forecast_usd: Math.round(r.forecast * 100) / 100,
        enforced_by: r.enforcedBy ?? null,
      })),
    },
    rotation: {
      opened: rotation.opened,
      minted: rotation.minted,
      recorded: rotation.recorded,
      deactivated: rotation.deactivated,
    },
    findings: findings.map((f) => ({
      rule: f.rule,
      severity: f.severity,
      key: f.key ?? null,
      subject: f.subject,
      period: f.period,
      fingerprint: f.fingerprint,
      numbers: f.numbers,
    })),
    ...(usageDays && 'digest' in usageDays ? { [USAGE_DAYS_DIGEST_FIELD]: usageDays.digest } : {}),
    // Event findings without an issue yet: the next run plans them again (pending-findings.ts).
    ...(pending.length > 0 ? { pending: pendingJson(pending) } : {}),
  }
  /** Snapshot, ledger and state built on what the branch holds at `head`. */
  const planCommit = async (head: string | undefined) => {
    const [ledgerNow, stateNow] =
      head === firstHead
        ? [ledgerText, stateText]
        : await Promise.all([forge.readFile(LEDGER_FILE, head), forge.readFile(STATE_FILE, head)])
    const stateThen = readState(stateNow)
    const previous = stateThen.providers
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
    // Carried days are ours only on the head we read: on a moved branch another run's snapshots
    // may hold usage ours never saw, so the branch's own carried days stay.
    const days: CarriedText | undefined =
      head === firstHead
        ? usageDays &&
          ('digest' in usageDays
            ? { text: usageDays.text, snapshot: snapshot.entry.sha256 }
            : usageDays.keep)
        : stateThen.usage_days
    if (days !== undefined) nextState.usage_days = days
    const files: ForgeFile[] = [
      { path: snapshot.path, content: new TextDecoder().decode(snapshot.bytes) },
      {
        path: LEDGER_FILE,
        content:
          (ledgerNow ?? '') +
          (ledgerNow && !ledgerNow.endsWith('\n') ? '\n' : '') +
          ledgerLine(snapshot.entry),
      },
      { path: STATE_FILE, content: formatState(nextState) },
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
  const views = new Map(keyViews(ctx, { canaries: true }).map((view) => [view.id, view]))
  const chartOf = (keyId: string) => {
    const view = views.get(keyId)
    return view ? chartFor(seriesOf(ctx, view), now, keyId) : ''
  }
  const plan: IssuePlanItem[] = findings
    .filter((f) => f.rule !== 'rotation-due')
    .map((finding) => {
      const key = finding.key ? inventory.keys[finding.key] : undefined
      const chart = finding.key ? chartOf(finding.key) : ''
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
        spend,
        capNotes: [
          ...new Set(
            opened
              .map(({ opened: o }) => o.provider.limitControl())
              .filter((c) => c.scope === 'none')
              .map((c) => c.note),
          ),
        ],
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
    pullRequests: {
      opened: rotation.opened,
      updated: rotation.updated,
      deferred: rotation.deferred,
    },
    capChanges: caps.enforcement.changes,
    rotations: rotation.recorded,
    requests: reads.reduce((n, r) => n + r.requests, 0) + caps.requests + rotation.requests,
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

/** The dashboard's budgets-and-caps rows: every key with a budget or a cap. */
function spendRows(
  inventory: Inventory,
  spend: ReadonlyMap<string, { monthToDate: number; forecast: number }>,
  caps: readonly CapStatus[],
): SpendRow[] {
  return Object.entries(inventory.keys)
    .filter(([, k]) => k.budget_usd_month !== undefined || k.cap_usd_month !== undefined)
    .map(([id, k]) => ({
      key: id,
      budget: k.budget_usd_month,
      cap: k.cap_usd_month,
      monthToDate: spend.get(id)?.monthToDate ?? 0,
      forecast: spend.get(id)?.forecast ?? 0,
      enforcedBy: caps.find((c) => c.key === id)?.enforcedBy,
    }))
}

/** "who asked for it in git": the last commit that changed the inventory, when the history is at hand. */
async function requestedBy(
  changeLog: ChangeLog | undefined,
  configFile: string,
  now: Date,
): Promise<string> {
  if (!changeLog) return configFile
  try {
    const [last] = await changeLog.commits([configFile], new Date(0), new Date(now.getTime() + 1))
    return last
      ? `${configFile} at ${last.sha.slice(0, 12)} by ${last.author} <${last.email}>`
      : configFile
  } catch {
    return configFile
  }
}

/** Daily spend (or tokens) of the last 30 days, as a chart for the issue. */
function chartFor(series: UsageSeries, now: Date, keyId: string): string {
  const useCost = series.anyCost
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const days = Array.from({ length: 30 }, (_, i) => {
    const day = new Date(today - (29 - i) * DAY_MS).toISOString().slice(0, 10)
    return { day, value: useCost ? costOn(series, day) : tokensOn(series, day) }
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

/**
 * The carried days for the next run: none when this run's could not be carried; the ones
 * state.json holds, unchanged, when they cover the same days (no digest needed); else new ones,
 * with the digest this run's snapshot records.
 */
function nextUsageDays(
  base: UsageDays | undefined,
  carried: CarryOutput,
  state: AuditState,
): { text: string; digest: string } | { keep: CarriedText | undefined } | undefined {
  const carry = carried.carry
  if (!carry) return undefined
  if (base && carry.from === base.from && carry.through === base.through)
    return { keep: state.usage_days }
  const text = formatUsageDays(toUsageDaysJson(carry))
  return { text, digest: usageDaysDigest(text) }
}

/**
 * Each provider key's last use in the carried days, as one record (latest start, latest end),
 * so that rotation's "is the old key still used after the switch" check sees the whole history:
 * rotate() only reads the provider, the key, the times and whether it was use.
 */
function lastUseRecords(earlier: UsageDays): UsageRecord[] {
  const out: UsageRecord[] = []
  for (const [provider, byKey] of earlier.keys)
    for (const [providerKeyId, key] of byKey) {
      if (!key.lastUsed) continue
      out.push({
        provider,
        providerKeyId,
        start: new Date(key.lastUsed.start).toISOString(),
        end: new Date(key.lastUsed.end).toISOString(),
        model: undefined,
        operation: 'carried',
        requests: 1,
        inputTokens: 0,
        outputTokens: 0,
        cachedTokens: 0,
        costUsd: undefined,
        costSource: 'none',
      })
    }
  return out
}

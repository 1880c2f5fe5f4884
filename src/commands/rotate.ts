import { finding, type AuditFinding } from '../analysis/audit-findings.js'
import { utcDay, utcMonth } from '../analysis/time.js'
import { errorMessage } from '../errors.js'
import { parseDuration, rotationDueAt } from '../inventory/duration.js'
import {
  providerType,
  resolvedDefaults,
  type Inventory,
  type KeyEntry,
} from '../inventory/types.js'
import type { Forge, ForgeFile, ForgePullRequest } from '../ports/forge.js'
import type { Log } from '../ports/log.js'
import type { Provider } from '../ports/provider.js'
import type { Vault } from '../ports/vault.js'
import type { ProviderKey, UsageRecord } from '../records.js'
import { editKeyEntry } from '../rotation/inventory-edit.js'
import { renderPlaceholder } from '../rotation/placeholder.js'
import {
  isKeywardCommit,
  parseRotationMarker,
  renderRotationBody,
  rotationBranch,
  rotationTitle,
  ROTATION_BRANCH_PREFIX,
  ROTATION_TRAILER,
  type RotationMarker,
  type RotationReason,
} from '../rotation/pull-request.js'
import { SECRET_FIELD } from './vault.js'

/**
 * Rotation (issue #7): pull requests for keys that aged out or were exposed, the merged ones
 * recorded in the ledger, and the old keys deactivated once the grace period has passed.
 * Everything it writes goes through the ports; a minted key's plaintext lives only between
 * the provider's answer and `vault.seal`.
 */

const DAY_MS = 86_400_000
/** Merged rotations older than this are settled: the snapshots read back cover 40 days. */
const SETTLE_DAYS = 30

export interface RotationDeps {
  forge: Forge
  vault: Vault
  log: Log
  /** Open providers by inventory id, for minting and deactivating. */
  providers: ReadonlyMap<string, Provider>
  /** Hides a secret from logs the moment it exists (the action's `core.setSecret`). */
  mask?: (secret: string) => void
}

export interface RotationInput {
  inventory: Inventory
  /** `keyward.yaml` relative to the governance root, and its text on the audit branch. */
  configPath: string
  configText: string
  now: Date
  /** The audit branch's head, which a new rotation branch starts from. */
  head: string | undefined
  matches: ReadonlyMap<string, ProviderKey>
  /** Provider keys listed this run, per provider (absent where the listing failed). */
  listed: ReadonlyMap<string, readonly ProviderKey[]>
  /** This run's findings: `exposed-key` and `canary-used` rotate at once, whatever the age. */
  findings: readonly AuditFinding[]
  secretFingerprints: ReadonlyMap<string, string>
  /** Pull requests whose rotation the ledger already records. */
  recorded: ReadonlySet<number>
  usage: readonly UsageRecord[]
  dryRun: boolean
  maxPullRequests: number
  /** The rotation pull requests, when the caller already listed them (`listRotationPulls`). */
  pulls?: readonly RotationPull[]
}

export interface RotationPull {
  pr: ForgePullRequest
  marker: RotationMarker
}

/** Every pull request keyward opened for a rotation, open and closed, in one listing. */
export async function listRotationPulls(forge: Forge): Promise<RotationPull[]> {
  return (await forge.listPullRequests(ROTATION_BRANCH_PREFIX))
    .map((pr) => ({ pr, marker: parseRotationMarker(pr.body) }))
    .filter((p): p is RotationPull => p.marker !== undefined)
}

/**
 * Provider keys a rotation in progress accounts for, so they are not `unmanaged-key`: the
 * minted key of an open or closed pull request, and the old key of a merged one until it is
 * retired.
 */
export function rotatingProviderKeyIds(pulls: readonly RotationPull[]): Set<string> {
  const ids = new Set<string>()
  for (const { pr, marker } of pulls) {
    if (marker.new && pr.mergedAt === undefined) ids.add(`${marker.provider}\u0000${marker.new}`)
    if (marker.old && pr.mergedAt !== undefined) ids.add(`${marker.provider}\u0000${marker.old}`)
  }
  return ids
}

/** A merged rotation, as the ledger records it (issue #7 §4). */
export interface RotationEvent {
  key: string
  provider: string
  old_provider_key_id: string | null
  new_provider_key_id: string | null
  pull_request: number
  merged_by: string | null
  merged_at: string
}

export interface RotationResult {
  opened: number[]
  updated: number[]
  /** Keys that wait for the per-run pull request budget. */
  deferred: string[]
  recorded: RotationEvent[]
  minted: { key: string; provider: string; provider_key_id: string; pull_request: number | null }[]
  deactivated: { key: string; provider: string; provider_key_id: string; at: string }[]
  findings: AuditFinding[]
  requests: number
  notes: string[]
}

interface Candidate {
  keyId: string
  key: KeyEntry
  reason: RotationReason
  why: string
}

/** Keys past `rotate_after` (counted from `created`); canaries never age out. */
function dueByAge(
  inventory: Inventory,
  now: Date,
): { keyId: string; key: KeyEntry; why: string }[] {
  const defaults = resolvedDefaults(inventory)
  const out: { keyId: string; key: KeyEntry; why: string }[] = []
  for (const [id, key] of Object.entries(inventory.keys)) {
    if (key.canary) continue
    const rotateAfter = key.rotate_after ?? defaults.rotate_after
    const dueAt = rotationDueAt(key.created, rotateAfter)
    if (dueAt === undefined || now.getTime() < dueAt) continue
    const due = utcDay(new Date(dueAt))
    out.push({
      keyId: id,
      key,
      why: `key "${id}" was created on ${key.created} and rotate_after is ${rotateAfter}, so it was due on ${due}.`,
    })
  }
  return out
}

/**
 * `rotation-due` (SPEC §4): one finding per key past its rotation age. It is answered by a
 * pull request, not an issue, and stays a finding so the JSON output and snapshot carry it.
 */
export function rotationDueFindings(inventory: Inventory, now: Date): AuditFinding[] {
  const defaults = resolvedDefaults(inventory)
  return dueByAge(inventory, now).map(({ keyId, key, why }) =>
    finding({
      rule: 'rotation-due',
      severity: 'warning',
      kind: 'condition',
      key: keyId,
      subject: keyId,
      period: key.created,
      title: `Rotation due: ${keyId} (${key.label})`,
      message: why,
      numbers: { created: key.created, rotate_after: key.rotate_after ?? defaults.rotate_after },
      workflow: key.workflow,
      provider: key.provider,
      ...(inventory.workflows[key.workflow]
        ? { owner: inventory.workflows[key.workflow]?.owner }
        : {}),
    }),
  )
}

/** Keys to rotate this run, exposure first (it cannot wait for the budget behind age). */
export function rotationCandidates(
  inventory: Inventory,
  findings: readonly AuditFinding[],
  now: Date,
): Candidate[] {
  const out = new Map<string, Candidate>()
  const add = (keyId: string, reason: RotationReason, why: string) => {
    const key = inventory.keys[keyId]
    if (key && !out.has(keyId)) out.set(keyId, { keyId, key, reason, why })
  }
  for (const f of findings) {
    if (!f.key) continue
    if (f.rule === 'exposed-key')
      add(f.key, 'exposed-key', `the key was found in plain text (${f.title}).`)
    if (f.rule === 'canary-used') {
      const canary = inventory.keys[f.key]
      add(f.key, 'canary-used', `the canary key "${f.key}" was used: whatever held it leaked.`)
      for (const [id, key] of Object.entries(inventory.keys))
        if (canary && key.workflow === canary.workflow && id !== f.key)
          add(
            id,
            'canary-used',
            `the canary "${f.key}" of workflow "${key.workflow}" was used, so the keys stored beside it may have leaked too.`,
          )
    }
  }
  for (const due of dueByAge(inventory, now)) add(due.keyId, 'rotation-due', due.why)
  return [...out.values()]
}

export async function rotate(input: RotationInput, deps: RotationDeps): Promise<RotationResult> {
  const { forge, log } = deps
  const { inventory, now } = input
  const defaults = resolvedDefaults(inventory)
  const graceMs = parseDuration(defaults.rotation_grace) ?? DAY_MS
  const period = utcMonth(now)
  const result: RotationResult = {
    opened: [],
    updated: [],
    deferred: [],
    recorded: [],
    minted: [],
    deactivated: [],
    findings: [],
    requests: 0,
    notes: [],
  }
  const pulls = input.pulls ?? (await listRotationPulls(forge))
  const byKey = (keyId: string) =>
    pulls.filter((p) => p.marker.key === keyId).sort((a, b) => b.pr.number - a.pr.number)

  // 1. Merged rotations: record them once, then retire the old key after the grace period
  // (for as long as it stays active: a problem with it does not expire).
  for (const { pr, marker } of pulls) {
    if (pr.mergedAt === undefined) {
      if (pr.state === 'closed') await retireUnusedMint(input, deps, result, { pr, marker })
      continue
    }
    const mergedMs = Date.parse(pr.mergedAt)
    // Older merges are in snapshots beyond the history read back: never recorded twice.
    const recent = now.getTime() - mergedMs <= SETTLE_DAYS * DAY_MS
    if (recent && !input.recorded.has(pr.number)) {
      result.recorded.push({
        key: marker.key,
        provider: marker.provider,
        old_provider_key_id: marker.old ?? null,
        new_provider_key_id: input.matches.get(marker.key)?.providerKeyId ?? marker.new ?? null,
        pull_request: pr.number,
        merged_by: pr.mergedBy ?? null,
        merged_at: pr.mergedAt,
      })
    }
    await retireOldKey(input, deps, result, { pr, marker, mergedMs, graceMs })
  }

  // 2. Open pull requests past their grace.
  for (const { pr, marker } of pulls) {
    if (pr.state !== 'open') continue
    const openMs = now.getTime() - Date.parse(pr.createdAt)
    if (openMs <= graceMs) continue
    const key = inventory.keys[marker.key]
    result.findings.push(
      overdue(input, marker, 'unmerged', {
        title: `Rotation overdue: ${marker.key}${key ? ` (${key.label})` : ''}`,
        message: `The rotation pull request ${pr.url} for key "${marker.key}" has been open for ${Math.floor(openMs / DAY_MS)} day(s), past rotation_grace (${defaults.rotation_grace}). Until it is merged the old key stays in use.`,
        numbers: { pull_request: pr.number, opened_at: pr.createdAt },
      }),
    )
  }

  // 3. Keys that need a rotation pull request.
  let budget = input.maxPullRequests
  for (const candidate of rotationCandidates(inventory, input.findings, now)) {
    const existing = byKey(candidate.keyId)
    const open = existing.find((p) => p.pr.state === 'open')
    if (open) {
      await refreshPullRequest(input, deps, result, candidate, open)
      continue
    }
    // A person closed a pull request unmerged this month: snoozed until next month. One merged
    // this month means the rotation happened (an old leak finding may linger a while).
    if (
      existing.some(
        (p) => p.pr.state === 'closed' && (p.pr.mergedAt ?? p.pr.closedAt)?.slice(0, 7) === period,
      ) ||
      existing.some((p) => p.pr.state === 'closed' && !p.pr.closedAt && p.marker.period === period)
    )
      continue
    if (budget <= 0) {
      result.deferred.push(candidate.keyId)
      continue
    }
    budget--
    await openPullRequest(input, deps, result, candidate, period)
  }
  for (const n of result.notes) log.info(n)
  if (result.deferred.length > 0) {
    const note = `${result.deferred.length} rotation pull request(s) wait for the next run (max-prs-per-run): ${result.deferred.join(', ')}`
    result.notes.push(note)
    log.warning(note)
  }
  return result
}

async function openPullRequest(
  input: RotationInput,
  deps: RotationDeps,
  result: RotationResult,
  candidate: Candidate,
  period: string,
): Promise<void> {
  const { forge, log } = deps
  const { keyId, key } = candidate
  const matched = input.matches.get(keyId)
  const provider = deps.providers.get(key.provider)
  const settings = input.inventory.providers[key.provider]
  const type = settings ? providerType(key.provider, settings) : key.provider
  const branch = rotationBranch(keyId)
  const canMint =
    key.auto_rotate === true &&
    matched !== undefined &&
    provider?.mintKey !== undefined &&
    (provider.canMint?.(matched) ?? false)
  if (key.auto_rotate === true && !canMint)
    result.notes.push(
      `key "${keyId}" has auto_rotate, but ${key.provider} cannot mint it by API${matched ? '' : ' (it is not matched to a provider key)'}: opening a checklist rotation instead`,
    )
  if (input.dryRun || input.head === undefined) {
    log.info(
      `${input.dryRun ? 'dry run: would open' : 'cannot open (the branch has no commit yet)'} a ${canMint ? 'minted' : 'checklist'} rotation pull request for "${keyId}" (${candidate.reason})`,
    )
    return
  }
  // A branch left over from an earlier, closed rotation: reuse it only if keyward alone wrote it.
  const replace = (await forge.branchHead(branch)) !== undefined
  if (replace) {
    const commits = await forge.branchCommits(branch)
    const human = commits.filter((c) => !isKeywardCommit(c.message))
    if (human.length > 0) {
      const last = byLatest(await forge.listPullRequests(branch))
      const note = `keyward needs a new rotation pull request for \`${keyId}\` (${candidate.why}) but branch \`${branch}\` has ${human.length} commit(s) pushed by a person, which keyward never overwrites. Delete the branch (or merge it) and the next run opens the pull request.`
      if (last) await forge.comment(last.number, note)
      result.notes.push(note.replace(/`/g, ''))
      return
    }
  }

  const files: ForgeFile[] = []
  const marker: RotationMarker = {
    key: keyId,
    provider: key.provider,
    old: matched?.providerKeyId,
    new: undefined,
    mode: canMint ? 'minted' : 'checklist',
    reason: candidate.reason,
    period,
  }
  let minted: ProviderKey | undefined
  if (canMint && matched && provider?.mintKey) {
    const outcome = await provider.mintKey(
      matched,
      key.label,
      key.cap_usd_month ?? matched.limitUsd ?? null,
    )
    result.requests += outcome.requests
    if (!outcome.ok) {
      result.findings.push(
        overdue(input, marker, 'mint-refused', {
          title: `Rotation blocked: ${keyId} (${key.label})`,
          message: `keyward could not create the replacement for "${keyId}" at ${key.provider}: ${outcome.reason}.${outcome.permission ? ` Minting needs ${outcome.permission}.` : ''} Rotate it by hand, or fix the admin key and the next run tries again.`,
          numbers: { provider: key.provider, refused: outcome.reason },
        }),
      )
      return
    }
    deps.mask?.(outcome.value.secret)
    minted = outcome.value.key
    marker.new = minted.providerKeyId
    try {
      files.push({
        path: key.secret,
        content: await deps.vault.seal(key.secret, { [SECRET_FIELD]: outcome.value.secret }),
      })
    } catch (error) {
      await rollback(
        deps,
        result,
        key.provider,
        minted,
        `the new key could not be encrypted: ${errorMessage(error)}`,
      )
      return
    }
  } else {
    files.push({
      path: key.secret,
      content: renderPlaceholder({
        key: keyId,
        oldSecretSha256: input.secretFingerprints.get(keyId),
      }),
    })
  }
  files.push({
    path: input.configPath,
    content: editKeyEntry(input.configText, keyId, {
      created: utcDay(input.now),
      provider_key_id: minted ? minted.providerKeyId : null,
    }),
  })
  const message = `Rotate ${keyId} (${key.label})\n\n${candidate.why}\n\n${ROTATION_TRAILER} ${keyId}`
  let pr: ForgePullRequest
  try {
    const outcome = await forge.commitToBranch(branch, files, message, input.head, { replace })
    if (outcome.status === 'conflict')
      throw new Error(`branch ${branch} moved while keyward wrote it`)
    pr = await forge.createPullRequest({
      title: rotationTitle(keyId, key.label),
      body: renderRotationBody({
        marker,
        keyId,
        key,
        workflow: input.inventory.workflows[key.workflow],
        providerType: type,
        why: candidate.why,
        secretPath: key.secret,
        configPath: input.configPath,
        grace: resolvedDefaults(input.inventory).rotation_grace,
        canDeactivate: provider?.deactivateKey !== undefined,
      }),
      branch,
      labels: ['keyward', 'keyward:rotation'],
      assignees: ownerLogin(input.inventory.workflows[key.workflow]?.owner),
    })
  } catch (error) {
    if (minted) await rollback(deps, result, key.provider, minted, errorMessage(error))
    else
      result.notes.push(
        `the rotation pull request for "${keyId}" could not be opened: ${errorMessage(error)}`,
      )
    return
  }
  result.opened.push(pr.number)
  if (minted)
    result.minted.push({
      key: keyId,
      provider: key.provider,
      provider_key_id: minted.providerKeyId,
      pull_request: pr.number,
    })
  log.info(`opened ${pr.url}: ${marker.mode} rotation of "${keyId}" (${candidate.reason})`)
}

/** A minted key that did not make it into a pull request is switched off again, never left live. */
async function rollback(
  deps: RotationDeps,
  result: RotationResult,
  providerId: string,
  minted: ProviderKey,
  why: string,
): Promise<void> {
  const provider = deps.providers.get(providerId)
  const off = provider?.deactivateKey ? await provider.deactivateKey(minted) : undefined
  if (off) result.requests += off.requests
  result.notes.push(
    `the rotation of a ${providerId} key stopped (${why}); the key minted for it (${minted.providerKeyId}) was ${off?.ok ? 'deactivated again' : `NOT deactivated${off && !off.ok ? ` (${off.reason})` : ''}: revoke it at the provider`}`,
  )
  deps.log.warning(result.notes.at(-1) ?? '')
}

/** An open rotation pull request: its body follows the inventory; its branch is never pushed to. */
async function refreshPullRequest(
  input: RotationInput,
  deps: RotationDeps,
  result: RotationResult,
  candidate: Candidate,
  open: { pr: ForgePullRequest; marker: RotationMarker },
): Promise<void> {
  const { key, keyId } = candidate
  const settings = input.inventory.providers[key.provider]
  // An incident upgrades the reason; the rest of the marker (old, new, mode, period) stays.
  const reason = open.marker.reason === 'rotation-due' ? candidate.reason : open.marker.reason
  const why = reason === candidate.reason ? candidate.why : undefined
  if (why === undefined) return
  const body = renderRotationBody({
    marker: { ...open.marker, reason },
    keyId,
    key,
    workflow: input.inventory.workflows[key.workflow],
    providerType: settings ? providerType(key.provider, settings) : key.provider,
    why,
    secretPath: key.secret,
    configPath: input.configPath,
    grace: resolvedDefaults(input.inventory).rotation_grace,
    canDeactivate: deps.providers.get(key.provider)?.deactivateKey !== undefined,
  })
  const title = rotationTitle(keyId, key.label)
  if (body === open.pr.body && title === open.pr.title) return
  if (input.dryRun) {
    deps.log.info(`dry run: would update ${open.pr.url}`)
    return
  }
  await deps.forge.updatePullRequest(open.pr.number, { body, title })
  result.updated.push(open.pr.number)
}

/**
 * A minted key whose pull request was closed unmerged was never handed to anyone: it is
 * switched off, so it cannot linger as a live, unclaimed key.
 */
async function retireUnusedMint(
  input: RotationInput,
  deps: RotationDeps,
  result: RotationResult,
  closed: RotationPull,
): Promise<void> {
  const { marker } = closed
  if (marker.mode !== 'minted' || !marker.new) return
  const minted = input.listed
    .get(marker.provider)
    ?.find((k) => k.providerKeyId === marker.new && k.status === 'active')
  const provider = deps.providers.get(marker.provider)
  if (!minted || !provider?.deactivateKey) return
  if (input.dryRun) {
    deps.log.info(`dry run: would deactivate the unused minted key ${marker.new}`)
    return
  }
  const outcome = await provider.deactivateKey(minted)
  result.requests += outcome.requests
  if (outcome.ok)
    result.deactivated.push({
      key: marker.key,
      provider: marker.provider,
      provider_key_id: marker.new,
      at: input.now.toISOString(),
    })
  else
    result.notes.push(
      `the key minted for the closed pull request ${closed.pr.url} (${marker.new}) could not be deactivated: ${outcome.reason}; revoke it at ${marker.provider}`,
    )
}

/** After a merge: deactivate the old key once the grace period is over and nothing uses it. */
async function retireOldKey(
  input: RotationInput,
  deps: RotationDeps,
  result: RotationResult,
  merged: { pr: ForgePullRequest; marker: RotationMarker; mergedMs: number; graceMs: number },
): Promise<void> {
  const { marker, pr } = merged
  if (!marker.old) return
  const listed = input.listed.get(marker.provider)
  const old = listed?.find((k) => k.providerKeyId === marker.old)
  // Not listed (deleted) or no longer active: the old key is gone already.
  if (!listed || !old || old.status !== 'active') return
  const switchMs = merged.mergedMs + merged.graceMs
  if (input.now.getTime() < switchMs) return
  const key = input.inventory.keys[marker.key]
  const label = key ? ` (${key.label})` : ''
  const lastUse = input.usage
    .filter(
      (u) =>
        u.provider === marker.provider &&
        u.providerKeyId === marker.old &&
        Date.parse(u.start) >= switchMs &&
        (u.requests ?? 0) + u.inputTokens + u.outputTokens > 0,
    )
    .map((u) => u.end)
    .sort()
    .at(-1)
  if (lastUse) {
    result.findings.push(
      overdue(input, marker, 'still-used', {
        title: `Old key still in use after rotation: ${marker.key}${label}`,
        message: `The key that pull request ${pr.url} replaced (${marker.old}) was still used after the grace period, last at ${lastUse}. Something was not switched to the new key: check every place in used_in. keyward leaves the old key active while it is used, so nothing breaks unannounced; revoke it at the provider once you have found the caller.`,
        numbers: { old_provider_key_id: marker.old, last_used: lastUse },
      }),
    )
    return
  }
  const provider = deps.providers.get(marker.provider)
  if (!provider?.deactivateKey) {
    result.findings.push(
      overdue(input, marker, 'manual', {
        title: `Deactivate the old key: ${marker.key}${label}`,
        message: `Pull request ${pr.url} was merged, and the old key ${marker.old} is still active at ${marker.provider}. keyward cannot deactivate it by API: revoke it in the provider's console.`,
        numbers: { old_provider_key_id: marker.old },
      }),
    )
    return
  }
  if (input.dryRun) {
    deps.log.info(`dry run: would deactivate ${marker.provider} key ${marker.old}`)
    return
  }
  const outcome = await provider.deactivateKey(old)
  result.requests += outcome.requests
  if (outcome.ok) {
    result.deactivated.push({
      key: marker.key,
      provider: marker.provider,
      provider_key_id: marker.old,
      at: input.now.toISOString(),
    })
    deps.log.info(`deactivated the old ${marker.provider} key ${marker.old} of "${marker.key}"`)
    return
  }
  result.findings.push(
    overdue(input, marker, 'deactivate-refused', {
      title: `Deactivate the old key: ${marker.key}${label}`,
      message: `keyward tried to deactivate the old key ${marker.old} after the rotation in ${pr.url} and ${marker.provider} refused: ${outcome.reason}.${outcome.permission ? ` It needs ${outcome.permission}.` : ''} Revoke it in the provider's console.`,
      numbers: { old_provider_key_id: marker.old, refused: outcome.reason },
    }),
  )
}

function overdue(
  input: RotationInput,
  marker: RotationMarker,
  variant: string,
  text: { title: string; message: string; numbers: Record<string, number | string> },
): AuditFinding {
  const key = input.inventory.keys[marker.key]
  const workflow = key ? input.inventory.workflows[key.workflow] : undefined
  return finding({
    rule: 'rotation-overdue',
    severity: variant === 'unmerged' ? 'warning' : 'error',
    kind: 'condition',
    ...(key ? { key: marker.key } : {}),
    subject: marker.key,
    period: marker.period || '-',
    variant,
    title: text.title,
    message: text.message,
    numbers: text.numbers,
    ...(key ? { workflow: key.workflow, provider: key.provider } : {}),
    ...(workflow ? { owner: workflow.owner } : {}),
  })
}

/** GitHub assigns users, not teams (`@org/team`). */
function ownerLogin(owner: string | undefined): string[] {
  return owner && !owner.includes('/') ? [owner.replace(/^@/, '')] : []
}

function byLatest(prs: readonly ForgePullRequest[]): ForgePullRequest | undefined {
  return [...prs].sort((a, b) => b.number - a.number)[0]
}

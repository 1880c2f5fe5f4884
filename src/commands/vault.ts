/**
 * `keyward vault add|show|check|rekey` (SPEC §2) as use cases over the Vault port:
 * plain inputs in, result values out. They never print and never read argv or stdin;
 * the CLI reads the key from stdin and passes it here.
 */
import { createHash } from 'node:crypto'
import { UsageError, VaultError, type VaultErrorCode } from '../errors.js'
import type { Vault, VaultPurpose } from '../ports/vault.js'
import type { VaultAccess } from '../records.js'
import { maskSecret } from '../report/mask.js'

/** The field of a key file that holds the key (SPEC §1). */
export const SECRET_FIELD = 'api_key'

/** One inventory entry's secret file: a key (`keyId`) or a provider's admin key (`admin:<id>`). */
export interface VaultTarget {
  keyId: string
  secretPath: string
}

/** The command that writes a target's file: `vault add <id>` or `vault add --admin <provider>`. */
/** `key "x"` or `the admin key of provider "y"`, for messages. */
export function describeTarget(keyId: string): string {
  return keyId.startsWith('admin:')
    ? `the admin key of provider "${keyId.slice('admin:'.length)}"`
    : `key "${keyId}"`
}

export function addCommand(keyId: string): string {
  return keyId.startsWith('admin:')
    ? `keyward vault add --admin ${keyId.slice('admin:'.length)}`
    : `keyward vault add ${keyId}`
}

// ---------------------------------------------------------------- add

export interface VaultAddInput {
  /** The inventory key id, or the provider id with `admin`. */
  id: string
  admin?: boolean
  /** The file the inventory names; undefined when the inventory has no such entry yet. */
  secretPath: string | undefined
  /** The key exactly as read from stdin. */
  key: string
}

export type VaultAddResult =
  | { kind: 'written'; keyId: string; file: string; replaced: boolean }
  /** Nothing written: the inventory must name the file first. */
  | { kind: 'needs-inventory-entry'; keyId: string; suggestedPath: string; entry: string }

/**
 * The key as typed or piped, with the one line ending that `echo` or a terminal adds
 * removed; refuses anything else that is not part of a key. Messages never quote it.
 */
export function acceptKeyInput(raw: string): string {
  const key = raw.replace(/\r?\n$/, '')
  if (key === '') {
    throw new UsageError(
      'the key is empty: pipe it on stdin, e.g. `keyward vault add <key-id> < key.txt`',
    )
  }
  if (/[\r\n]/.test(key)) {
    throw new UsageError('the key spans several lines: pass exactly one key on stdin')
  }
  if (/^\s|\s$/.test(key)) {
    throw new UsageError(
      'the key has leading or trailing whitespace, which no provider issues: remove it and try again',
    )
  }
  return key
}

export async function vaultAdd(vault: Vault, input: VaultAddInput): Promise<VaultAddResult> {
  const key = acceptKeyInput(input.key)
  const keyId = input.admin ? `admin:${input.id}` : input.id
  if (input.secretPath === undefined) {
    const suggestedPath = input.admin
      ? `keys/admin/${input.id}.sops.yaml`
      : `keys/${input.id}.sops.yaml`
    const entry = input.admin
      ? `providers:\n  ${input.id}:\n    admin_key: ${suggestedPath}\n`
      : `keys:\n  ${input.id}:\n    secret: ${suggestedPath}\n`
    return { kind: 'needs-inventory-entry', keyId, suggestedPath, entry }
  }
  const seen = await vault.inspect(input.secretPath)
  // A rotation waits for a new key: putting the old one back would rotate nothing.
  if (seen.kind === 'pending-rotation' && seen.oldSecretSha256 === secretSha256(key))
    throw new UsageError(
      `this is the key being rotated out of ${input.secretPath}; create a new key at the provider and add that one`,
    )
  const replaced = seen.kind !== 'missing'
  await vault.encrypt(input.secretPath, { [SECRET_FIELD]: key })
  return { kind: 'written', keyId, file: input.secretPath, replaced }
}

// ---------------------------------------------------------------- show

export interface VaultShowResult {
  keyId: string
  file: string
  /** Masked (prefix + … + last 4) unless revealed. */
  value: string
  revealed: boolean
  access: VaultAccess
}

export async function vaultShow(
  vault: Vault,
  input: VaultTarget & { reveal?: boolean },
): Promise<VaultShowResult> {
  const { values, access } = await vault.decrypt(input.secretPath, 'show', input.keyId)
  const secret = values[SECRET_FIELD]
  if (typeof secret !== 'string' || secret === '') {
    throw new UsageError(
      `${input.secretPath} has no ${SECRET_FIELD} value; write the key with \`${addCommand(input.keyId)}\``,
    )
  }
  const revealed = input.reveal === true
  return {
    keyId: input.keyId,
    file: input.secretPath,
    value: revealed ? secret : maskSecret(secret),
    revealed,
    access,
  }
}

// ---------------------------------------------------------------- check

export type VaultCheckStatus =
  | 'ok'
  | 'vault-tampered'
  | 'recipients-drift'
  | 'missing'
  /** A rotation pull request's placeholder: the new key is not stored yet. */
  | 'pending-rotation'
  | 'plaintext'
  /** Could not be verified: wrong identity, malformed or unsupported file. */
  | 'unreadable'

export interface RecipientsDrift {
  actual: string[]
  /** What `.sops.yaml` asks for; undefined when no creation rule matches the file. */
  expected: string[] | undefined
  /** Expected but absent from the file. */
  missing: string[]
  /** In the file but no longer expected: people who can still read it. */
  extra: string[]
}

export interface VaultCheckResult {
  keyId: string
  file: string
  status: VaultCheckStatus
  message: string
  code?: VaultErrorCode
  drift?: RecipientsDrift
  access?: VaultAccess
}

export interface VaultCheckReport {
  ok: boolean
  results: VaultCheckResult[]
}

function compareRecipients(
  actual: string[],
  expected: string[] | undefined,
): RecipientsDrift | undefined {
  const missing = (expected ?? []).filter((r) => !actual.includes(r))
  const extra = expected === undefined ? [] : actual.filter((r) => !expected.includes(r))
  if (expected !== undefined && missing.length === 0 && extra.length === 0) return undefined
  return { actual, expected, missing, extra }
}

function driftMessage(target: VaultTarget, drift: RecipientsDrift): string {
  const file = target.secretPath
  if (drift.expected === undefined) {
    return `${file}: no creation rule in .sops.yaml matches it, so its recipients cannot be checked; add a rule`
  }
  const parts = [
    drift.extra.length
      ? `still readable by ${drift.extra.join(', ')}, which .sops.yaml no longer lists`
      : '',
    drift.missing.length
      ? `not readable by ${drift.missing.join(', ')}, which .sops.yaml asks for`
      : '',
  ].filter(Boolean)
  const rekey = target.keyId.startsWith('admin:')
    ? 'keyward vault rekey'
    : `keyward vault rekey ${target.keyId}`
  const rotate = drift.extra.length
    ? ', and rotate the key if a removed recipient should lose access'
    : ''
  return `${file} is ${parts.join(' and ')}; run \`${rekey}\` to re-encrypt it to the recipients in .sops.yaml${rotate}`
}

/** Rethrows what stops the whole command (no identity, bugs); returns per-file failures. */
function fileFailure(error: unknown): VaultError | UsageError {
  if (error instanceof VaultError && error.code !== 'no-identity') return error
  if (error instanceof UsageError) return error
  throw error
}

/**
 * One file's hygiene: present, encrypted, recipients as `.sops.yaml` asks, and (with
 * `verifyMac`) MAC intact. `validate` passes `verifyMac: false` when no identity is at hand.
 */
export async function checkSecretFile(
  vault: Vault,
  target: VaultTarget,
  options: { verifyMac: boolean; purpose?: VaultPurpose } = { verifyMac: true },
): Promise<VaultCheckResult> {
  const { keyId, secretPath: file } = target
  const seen = await vault.inspect(file)
  if (seen.kind === 'missing') {
    return {
      keyId,
      file,
      status: 'missing',
      message: `${file} does not exist; write it with \`${addCommand(keyId)}\``,
    }
  }
  if (seen.kind === 'pending-rotation') {
    return {
      keyId,
      file,
      status: 'pending-rotation',
      message: `${file} waits for the new key of a rotation: create the key at the provider, then run \`${addCommand(keyId)}\` on this branch and push`,
    }
  }
  if (seen.kind === 'plaintext') {
    return {
      keyId,
      file,
      status: 'plaintext',
      message: `${file} (${describeTarget(keyId)}) is not a SOPS file encrypted with age: ${seen.reason}. Anyone who can read the repository may read this key: rotate it at the provider, then store the new one with \`${addCommand(keyId)}\``,
    }
  }
  const drift = compareRecipients(seen.recipients, await vault.expectedRecipients(file))
  if (!options.verifyMac) {
    return drift
      ? { keyId, file, status: 'recipients-drift', message: driftMessage(target, drift), drift }
      : {
          keyId,
          file,
          status: 'ok',
          message: `${file}: recipients match .sops.yaml (MAC not verified)`,
        }
  }
  let access: VaultAccess
  try {
    access = (await vault.decrypt(file, options.purpose ?? 'check', keyId)).access
  } catch (error) {
    const failure = fileFailure(error)
    const code = failure instanceof VaultError ? failure.code : undefined
    const tampered = failure instanceof VaultError && failure.tampered
    return {
      keyId,
      file,
      status: tampered ? 'vault-tampered' : 'unreadable',
      message: failure.message,
      ...(code ? { code } : {}),
      ...(drift ? { drift } : {}),
    }
  }
  if (drift)
    return {
      keyId,
      file,
      status: 'recipients-drift',
      message: driftMessage(target, drift),
      drift,
      access,
    }
  return {
    keyId,
    file,
    status: 'ok',
    message: `${file}: MAC verified, recipients match .sops.yaml`,
    access,
  }
}

/** MAC and recipients of every file the inventory names; one result per target, in order. */
export async function vaultCheck(
  vault: Vault,
  targets: readonly VaultTarget[],
): Promise<VaultCheckReport> {
  const results: VaultCheckResult[] = []
  for (const target of targets) results.push(await checkSecretFile(vault, target))
  return { ok: results.every((r) => r.status === 'ok'), results }
}

// ---------------------------------------------------------------- rekey

export type VaultRekeyStatus = 'rekeyed' | 'missing' | 'plaintext' | 'failed'

export interface VaultRekeyResult {
  keyId: string
  file: string
  status: VaultRekeyStatus
  message: string
  code?: VaultErrorCode
  recipientsBefore?: string[]
  recipientsAfter?: string[]
  access?: VaultAccess
}

export interface VaultRekeyReport {
  ok: boolean
  results: VaultRekeyResult[]
}

async function rekeyOne(vault: Vault, target: VaultTarget): Promise<VaultRekeyResult> {
  const { keyId, secretPath: file } = target
  const seen = await vault.inspect(file)
  if (seen.kind === 'missing')
    return { keyId, file, status: 'missing', message: `${file} does not exist` }
  if (seen.kind === 'pending-rotation')
    return {
      keyId,
      file,
      status: 'missing',
      message: `${file} waits for the new key of a rotation`,
    }
  if (seen.kind === 'plaintext') {
    return {
      keyId,
      file,
      status: 'plaintext',
      message: `${file} is not encrypted (${seen.reason}); nothing to rekey`,
    }
  }
  try {
    const outcome = await vault.rekey(file, keyId)
    const added = outcome.recipientsAfter.filter((r) => !outcome.recipientsBefore.includes(r))
    const removed = outcome.recipientsBefore.filter((r) => !outcome.recipientsAfter.includes(r))
    const change = [
      added.length ? `added ${added.join(', ')}` : '',
      removed.length ? `removed ${removed.join(', ')}` : '',
    ].filter(Boolean)
    return {
      keyId,
      file,
      status: 'rekeyed',
      message: `${file}: new data key${change.length ? `; ${change.join('; ')}` : '; same recipients'}`,
      recipientsBefore: outcome.recipientsBefore,
      recipientsAfter: outcome.recipientsAfter,
      access: outcome.access,
    }
  } catch (error) {
    const failure = fileFailure(error)
    return {
      keyId,
      file,
      status: 'failed',
      message: failure.message,
      ...(failure instanceof VaultError ? { code: failure.code } : {}),
    }
  }
}

/** Recipients from `.sops.yaml` and a new data key for each file; one failure does not stop the rest. */
export async function vaultRekey(
  vault: Vault,
  targets: readonly VaultTarget[],
): Promise<VaultRekeyReport> {
  const results: VaultRekeyResult[] = []
  for (const target of targets) results.push(await rekeyOne(vault, target))
  return { ok: results.every((r) => r.status === 'rekeyed'), results }
}

/** `sha256:<hex>` of a key, as snapshots and rotation placeholders store it. */
export const secretSha256 = (secret: string) =>
  `sha256:${createHash('sha256').update(secret).digest('hex')}`

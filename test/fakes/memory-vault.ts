import { createHash } from 'node:crypto'
import { VaultError } from '../../src/errors.js'
import type {
  DecryptedSecret,
  RekeyOutcome,
  SecretInspection,
  Vault,
} from '../../src/ports/vault.js'
import type { VaultAccess } from '../../src/records.js'

/** One secret file as the fake vault holds it. */
export type FakeSecretFile =
  | {
      kind: 'sops'
      /** age recipients the file is encrypted to (any strings; nothing is encrypted). */
      recipients: string[]
      /** The decrypted document. */
      values: Record<string, unknown>
      /** The MAC does not verify: decrypt throws VaultError('mac-mismatch'). */
      tampered?: boolean
    }
  | { kind: 'plaintext'; reason?: string }

/** A SOPS file in the fake vault. */
export type FakeSopsFile = Extract<FakeSecretFile, { kind: 'sops' }>

/** What a test arranges, and what the fake records; shared by every vault built from it. */
export interface MemoryVaultState {
  /** path (relative to the repository) → file; an absent path is a missing file. */
  files: Map<string, FakeSecretFile>
  /** path → the recipients `.sops.yaml` asks for; absent means no creation rule matches. */
  expected: Map<string, string[]>
  /** No age identity available: decrypt throws VaultError('no-identity'). */
  noIdentity: boolean
  /** Every successful decryption, in order. */
  accesses: VaultAccess[]
}

export function memoryVaultState(init: Partial<MemoryVaultState> = {}): MemoryVaultState {
  return {
    files: init.files ?? new Map(),
    expected: init.expected ?? new Map(),
    noIdentity: init.noIdentity ?? false,
    accesses: init.accesses ?? [],
  }
}

export interface MemoryVaultOptions {
  /** Called with every decrypted string value, as the real vault does. */
  mask?: (value: string) => void
  now?: () => Date
  actor?: string
}

function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn)
  return []
}

/** An in-memory Vault over `state`: no files, no crypto, the port's errors and records. */
export function memoryVault(state: MemoryVaultState, options: MemoryVaultOptions = {}) {
  const now = options.now ?? (() => new Date(0))
  const actor = options.actor ?? 'test'

  const access = (file: string, purpose: string, keyId: string | undefined): VaultAccess => {
    const record = { file, keyId, at: now().toISOString(), actor, purpose }
    state.accesses.push(record)
    return record
  }

  const open = (path: string) => {
    const file = state.files.get(path)
    if (file === undefined) throw new VaultError('missing', path, `${path} does not exist`)
    if (file.kind === 'plaintext')
      throw new VaultError('not-sops', path, `${path} is not a SOPS document`)
    if (state.noIdentity)
      throw new VaultError(
        'no-identity',
        path,
        'no age identity: set SOPS_AGE_KEY or SOPS_AGE_KEY_FILE',
      )
    if (file.tampered)
      throw new VaultError('mac-mismatch', path, `${path}: the MAC does not match the values`)
    return file
  }

  return {
    async inspect(path: string): Promise<SecretInspection> {
      const file = state.files.get(path)
      if (file === undefined) return { kind: 'missing' }
      if (file.kind === 'plaintext')
        return { kind: 'plaintext', reason: file.reason ?? 'it has no sops metadata' }
      return { kind: 'sops', recipients: [...file.recipients], lastModified: undefined }
    },

    async expectedRecipients(path: string): Promise<string[] | undefined> {
      const expected = state.expected.get(path)
      return expected === undefined ? undefined : [...expected]
    },

    async decrypt(path, purpose, keyId): Promise<DecryptedSecret> {
      const file = open(path)
      for (const value of stringsIn(file.values)) options.mask?.(value)
      return { values: structuredClone(file.values), access: access(path, purpose, keyId) }
    },

    async encrypt(path: string, values: Record<string, string>): Promise<void> {
      state.files.set(path, {
        kind: 'sops',
        recipients: [...(state.expected.get(path) ?? [])],
        values: { ...values },
      })
    },

    // Stands in for ciphertext: names the recipients and a digest, never the value.
    async seal(path: string, values: Record<string, string>): Promise<string> {
      const digest = createHash('sha256').update(JSON.stringify(values)).digest('hex')
      return `# memory vault, sealed for ${(state.expected.get(path) ?? []).join(', ')}\nsealed: ${digest}\n`
    },

    async rekey(path: string, keyId?: string): Promise<RekeyOutcome> {
      const file = open(path)
      const recipientsBefore = [...file.recipients]
      const recipientsAfter = [...(state.expected.get(path) ?? file.recipients)]
      state.files.set(path, { ...file, recipients: recipientsAfter })
      return { recipientsBefore, recipientsAfter, access: access(path, 'rekey', keyId) }
    },
  } satisfies Vault
}

import type { VaultAccess } from '../records.js'

/** What a SOPS file looks like from the outside, without decrypting any value. */
export type SecretInspection =
  | { kind: 'missing' }
  /** A checklist rotation's stand-in (src/rotation/placeholder.ts): the new key is not there yet. */
  | { kind: 'pending-rotation'; key: string; oldSecretSha256: string | undefined }
  /** The file exists but is not a SOPS document with age recipients (e.g. a plaintext key). */
  | { kind: 'plaintext'; reason: string }
  | {
      kind: 'sops'
      /** age recipients (age1…) named in the file's `sops.age` stanzas, in file order. */
      recipients: string[]
      /** `sops.lastmodified`, as written. */
      lastModified: string | undefined
    }

/** Why a decryption is happening; recorded in the VaultAccess record. */
export type VaultPurpose = 'validate' | 'audit' | 'show' | 'rekey' | 'check' | 'rotate'

export interface DecryptedSecret {
  /** The decrypted document; plaintext lives here in memory only. */
  values: Record<string, unknown>
  access: VaultAccess
}

/** What a rekey changed: the recipients before and after, and the decryption it took. */
export interface RekeyOutcome {
  recipientsBefore: string[]
  recipientsAfter: string[]
  access: VaultAccess
}

/**
 * The vault port (DESIGN.md): SOPS+age files on disk. Paths are relative to the
 * governance repository root.
 */
export interface Vault {
  inspect(path: string): Promise<SecretInspection>
  /** Recipients `.sops.yaml` asks for a path, or undefined when no creation rule matches. */
  expectedRecipients(path: string): Promise<string[] | undefined>
  /** Decrypts and verifies the MAC; throws VaultError (src/errors.ts) on any failure. */
  decrypt(path: string, purpose: VaultPurpose, keyId?: string): Promise<DecryptedSecret>
  /** Writes `values` to `path`, encrypted to the `.sops.yaml` recipients for it. */
  encrypt(path: string, values: Record<string, string>): Promise<void>
  /** The text `encrypt` would write to `path`, without touching the disk (rotation PRs commit it). */
  seal(path: string, values: Record<string, string>): Promise<string>
  /**
   * Re-encrypts `path` to the `.sops.yaml` recipients under a new data key, keeping
   * every value (and the file's encryption rule); verifies the MAC first.
   */
  rekey(path: string, keyId?: string): Promise<RekeyOutcome>
}

import { types } from 'node:util'

/** A problem with how keyward was invoked or configured: the command cannot run (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** A readable message from anything thrown, without a stack trace. */
export function errorMessage(error: unknown): string {
  // isNativeError also recognises errors from another realm (node: built-ins under jest's VM).
  if (error instanceof Error || types.isNativeError(error)) return error.message
  if (typeof error === 'string') return error
  return String(error)
}

/** Why a secret file could not be read. `tampered` ones map to the `vault-tampered` rule. */
export type VaultErrorCode =
  | 'no-identity' // no age identity found (exit 2)
  | 'missing' // the file does not exist
  | 'wrong-identity' // none of our identities opens any age stanza
  | 'not-sops' // not a SOPS document (no `sops` metadata, no age stanza)
  | 'malformed' // unparsable file or ENC[] value, truncated file
  | 'mac-missing' // the `sops.mac` field is absent
  | 'mac-mismatch' // values were edited, added, removed, or reordered
  | 'decrypt-failed' // an ENC[] value fails authentication (flipped byte)
  | 'unsupported' // e.g. several key_groups, a non-age master key only

/** A failure reading or writing a SOPS file. The message names the file and never holds plaintext. */
export class VaultError extends Error {
  override readonly name = 'VaultError'
  constructor(
    readonly code: VaultErrorCode,
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }

  /** MAC and ciphertext failures are evidence of tampering (rule `vault-tampered`). */
  get tampered(): boolean {
    return (
      this.code === 'mac-missing' || this.code === 'mac-mismatch' || this.code === 'decrypt-failed'
    )
  }
}

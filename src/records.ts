/** Provider-neutral records (DESIGN.md "Normalized records"). No plaintext key ever lives here. */

/** One decryption of a secret file, for the audit snapshot. */
export interface VaultAccess {
  /** The SOPS file, relative to the governance repository. */
  file: string
  /** The inventory key id, or `admin:<provider>` for an admin key. */
  keyId: string | undefined
  /** ISO 8601 UTC time of the decryption. */
  at: string
  /** Who or what decrypted: the GitHub run, or the local user. */
  actor: string
  purpose: string
}

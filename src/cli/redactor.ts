/**
 * Remembers every secret decrypted in this process and blanks it out of anything the CLI
 * prints: the CLI's counterpart of `core.setSecret` in the action.
 */
export class Redactor {
  private readonly secrets = new Set<string>()

  add(secret: string): void {
    // Very short values would blank out ordinary words; no real key is this short.
    if (secret.length >= 8) this.secrets.add(secret)
  }

  redact(text: string): string {
    let out = text
    // Longest first: a secret that contains another must not be left half-blanked.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length))
      out = out.split(secret).join('***')
    return out
  }
}

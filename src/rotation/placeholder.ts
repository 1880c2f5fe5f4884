import { parse } from 'yaml'

/**
 * The stand-in a checklist rotation commits in place of a key file (issue #7): plain YAML that
 * says what to do, and the SHA-256 of the key being replaced so `vault add` can refuse to put
 * the same key back. `validate` fails while it is there. It holds no secret.
 */
export interface RotationPlaceholder {
  key: string
  /** `sha256:<hex>` of the old key, when the audit could decrypt it; the same digest the snapshots hold. */
  oldSecretSha256: string | undefined
}

const FIELD = 'keyward_rotation_pending'

export function renderPlaceholder(placeholder: RotationPlaceholder): string {
  return [
    `# keyward: this file waits for the new key of "${placeholder.key}". It is not a key.`,
    '# Create the new key at the provider, then on this branch run:',
    `#   keyward vault add ${placeholder.key} < new-key.txt`,
    '# and push. `keyward validate` fails until then.',
    `${FIELD}:`,
    // Quoted: ids such as 2024 or true are strings to keyward, not to YAML.
    `  key: ${JSON.stringify(placeholder.key)}`,
    ...(placeholder.oldSecretSha256
      ? [`  old_secret_sha256: "${placeholder.oldSecretSha256}"`]
      : []),
    '',
  ].join('\n')
}

/** The placeholder in `text`, or undefined when `text` is anything else. Never throws. */
export function parsePlaceholder(text: string): RotationPlaceholder | undefined {
  if (!text.includes(FIELD)) return undefined
  try {
    const value = parse(text) as Record<string, unknown> | null
    const body = value?.[FIELD] as Record<string, unknown> | undefined
    if (!body || typeof body.key !== 'string') return undefined
    const sha = body.old_secret_sha256
    return {
      key: body.key,
      oldSecretSha256:
        typeof sha === 'string' && /^sha256:[0-9a-f]{64}$/.test(sha) ? sha : undefined,
    }
  } catch {
    return undefined
  }
}

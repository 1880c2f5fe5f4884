/**
 * age identities, found where sops looks for them (sops-format.md §3.1): the
 * `SOPS_AGE_KEY` text, the `SOPS_AGE_KEY_FILE` path, sops' default keys file, and
 * the key text keyward was handed explicitly (the action input `age-key`).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { VaultError } from '../../errors.js'
import type { X25519Identity } from './age-unwrap.js'
import { bech32Decode, bech32Encode } from './bech32.js'

export interface AgeIdentity extends X25519Identity {
  /** The matching recipient, `age1…`: public, safe to show. */
  recipient: string
  /** Where it came from, e.g. `SOPS_AGE_KEY line 3`; never the key itself. */
  source: string
}

export interface IdentitySources {
  /** Environment to read `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, `XDG_CONFIG_HOME` and `HOME` from. */
  env: Readonly<Record<string, string | undefined>>
  /** Key text handed over explicitly, e.g. the action input `age-key`. */
  ageKey?: string
  /** Name of the explicit source in messages; defaults to the action input. */
  ageKeyLabel?: string
  /** Whether to read sops' default keys file (default true, as sops does). */
  defaultKeysFile?: boolean
}

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const IDENTITY_HRP = 'age-secret-key-'

/** Builds an identity from an `AGE-SECRET-KEY-1…` string; throws an Error naming no key material. */
export function x25519Identity(text: string, source: string): AgeIdentity {
  const { hrp, bytes } = bech32Decode(text)
  if (hrp !== IDENTITY_HRP || bytes.length !== 32) throw new Error('not an X25519 age identity')
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, bytes]),
    format: 'der',
    type: 'pkcs8',
  })
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = Uint8Array.from(spki.subarray(spki.length - 32))
  return { privateKey, publicKey, recipient: bech32Encode('age', publicKey), source }
}

/** The 32-byte X25519 public key of an `age1…` recipient; throws when it is not one. */
export function parseX25519Recipient(recipient: string): Uint8Array {
  const { hrp, bytes } = bech32Decode(recipient)
  if (hrp !== 'age' || bytes.length !== 32) throw new Error('not an X25519 age recipient')
  return bytes
}

/**
 * Parses identity text as sops does: one or more keys per line, separated by
 * whitespace; blank lines and `#` comments ignored. Post-quantum and plugin
 * identities are counted in `skipped` (keyward opens X25519 stanzas only).
 */
export function parseAgeIdentities(
  text: string,
  source: string,
): { identities: AgeIdentity[]; skipped: number } {
  if (
    text.includes('-----BEGIN AGE ENCRYPTED FILE-----') ||
    text.startsWith('age-encryption.org/')
  ) {
    throw new VaultError(
      'unsupported',
      '',
      `${source} holds a passphrase-encrypted age file; keyward needs the plain identity (AGE-SECRET-KEY-1…)`,
    )
  }
  const identities: AgeIdentity[] = []
  let skipped = 0
  for (const [index, rawLine] of text.split(/\r?\n/).entries()) {
    const line = rawLine.trim()
    if (line === '' || line.startsWith('#')) continue
    for (const word of line.split(/\s+/)) {
      const upper = word.toUpperCase()
      if (upper.startsWith('AGE-SECRET-KEY-PQ-1') || upper.startsWith('AGE-PLUGIN-')) {
        skipped++
        continue
      }
      const where = `${source} line ${index + 1}`
      try {
        identities.push(x25519Identity(word, where))
      } catch (error) {
        const reason = error instanceof Error ? error.message : 'invalid'
        throw new VaultError(
          'no-identity',
          '',
          `${where} is not a valid age identity (${reason}); expected AGE-SECRET-KEY-1… or a # comment`,
        )
      }
    }
  }
  return { identities, skipped }
}

/** sops' default keys file on Linux: $XDG_CONFIG_HOME/sops/age/keys.txt or ~/.config/sops/age/keys.txt. */
export function defaultKeysFile(env: IdentitySources['env']): string | undefined {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'sops', 'age', 'keys.txt')
  if (env.HOME) return join(env.HOME, '.config', 'sops', 'age', 'keys.txt')
  return undefined
}

async function readKeysFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Loads every identity from every source, as sops does (there is no priority
 * order). Throws VaultError('no-identity') naming the places it looked when it
 * finds none.
 */
export async function loadAgeIdentities(sources: IdentitySources): Promise<AgeIdentity[]> {
  const { env } = sources
  const found: AgeIdentity[] = []
  let skipped = 0
  const add = (text: string, source: string): void => {
    const parsed = parseAgeIdentities(text, source)
    found.push(...parsed.identities)
    skipped += parsed.skipped
  }
  const looked: string[] = []

  // The explicit source exists only where a caller has one (the action's age-key input).
  if (sources.ageKey !== undefined) {
    const label = sources.ageKeyLabel ?? 'the action input age-key'
    looked.push(label)
    if (sources.ageKey.trim()) add(sources.ageKey, label)
  }

  looked.push('SOPS_AGE_KEY')
  if (env.SOPS_AGE_KEY?.trim()) add(env.SOPS_AGE_KEY, 'SOPS_AGE_KEY')

  looked.push('SOPS_AGE_KEY_FILE')
  if (env.SOPS_AGE_KEY_FILE) {
    const path = env.SOPS_AGE_KEY_FILE
    let text: string | undefined
    try {
      text = await readFile(path, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      throw new VaultError(
        'no-identity',
        '',
        `SOPS_AGE_KEY_FILE names ${path}, which cannot be read (${code})`,
        { cause: error },
      )
    }
    add(text, `SOPS_AGE_KEY_FILE (${path})`)
  }

  const defaultFile = sources.defaultKeysFile === false ? undefined : defaultKeysFile(env)
  if (defaultFile !== undefined) {
    looked.push(defaultFile)
    const text = await readKeysFile(defaultFile)
    if (text !== undefined) add(text, defaultFile)
  }

  const unique = [...new Map(found.map((id) => [id.recipient, id])).values()]
  if (unique.length === 0) {
    const note =
      skipped > 0
        ? ` (${skipped} post-quantum or plugin identit${skipped === 1 ? 'y was' : 'ies were'} skipped: keyward supports X25519 AGE-SECRET-KEY-1… identities only)`
        : ''
    throw new VaultError(
      'no-identity',
      '',
      `no age identity found${note}; looked in ${looked.join(', ')}. ` +
        'Set SOPS_AGE_KEY to the key text or SOPS_AGE_KEY_FILE to a keys file' +
        ' (in the action: the age-key input).',
    )
  }
  return unique
}

/** A loader that reads the sources once, on first use (encrypting needs no identity). */
export function createIdentityLoader(sources: IdentitySources): () => Promise<AgeIdentity[]> {
  let loaded: Promise<AgeIdentity[]> | undefined
  return () => (loaded ??= loadAgeIdentities(sources))
}

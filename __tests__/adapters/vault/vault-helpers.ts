/** Shared set-up for the vault tests: temp repositories, run-time identities, fake keys. */
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, identityToRecipient } from 'age-encryption'
import { parseAgeIdentities, type AgeIdentity } from '../../../src/adapters/vault/identities.js'
import {
  SopsAgeVault,
  type SopsAgeVaultOptions,
} from '../../../src/adapters/vault/sops-age-vault.js'

export const FIXTURES = new URL('../../../__fixtures__/sops/', import.meta.url).pathname

export const FIXED_NOW = new Date('2026-11-27T12:34:56.789Z')

export interface TestIdentity {
  secret: string
  recipient: string
}

export async function newIdentity(): Promise<TestIdentity> {
  const secret = await generateIdentity()
  return { secret, recipient: await identityToRecipient(secret) }
}

export function identitiesOf(...secrets: string[]): AgeIdentity[] {
  return parseAgeIdentities(secrets.join('\n'), 'test').identities
}

/** A provider-like key built at run time, so no source file holds one. */
export function fakeKey(prefix = ['sk', 'proj'].join('-') + '-'): string {
  return prefix + randomBytes(36).toString('base64url')
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'keyward-vault-'))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

export async function writeSopsConfig(root: string, recipients: readonly string[]): Promise<void> {
  await writeFile(
    join(root, '.sops.yaml'),
    `creation_rules:\n  - path_regex: \\.sops\\.(ya?ml|json|env)$\n    age: ${recipients.join(',')}\n`,
  )
}

export function makeVault(
  root: string,
  identities: readonly AgeIdentity[],
  extra: Partial<SopsAgeVaultOptions> = {},
): SopsAgeVault {
  return new SopsAgeVault({
    root,
    identities: () => Promise.resolve(identities),
    now: () => FIXED_NOW,
    actor: 'test',
    ...extra,
  })
}

export async function readText(root: string, path: string): Promise<string> {
  return readFile(join(root, path), 'utf8')
}

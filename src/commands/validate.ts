import { sortFindings, type Finding, type ValidateRule } from '../analysis/findings.js'
import { checkInventory } from '../inventory/check.js'
import { looksLikeSecret } from '../inventory/describe.js'
import { locate, type Path } from '../inventory/locate.js'
import type { ParsedYaml } from '../inventory/parse.js'
import type { Clock } from '../ports/clock.js'
import type { LeakScanner } from '../ports/leak-scanner.js'
import type { Log } from '../ports/log.js'
import type { Vault } from '../ports/vault.js'
import { UsageError, VaultError } from '../errors.js'
import {
  addCommand,
  checkSecretFile,
  describeTarget,
  type VaultCheckResult,
  type VaultTarget,
} from './vault.js'

export interface ValidateDeps {
  /** Reads a file relative to the governance repository; undefined when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>
  vault: Vault
  scanner: LeakScanner
  clock: Clock
  log: Log
}

export interface ValidateInput {
  /** The inventory, relative to the governance repository (normally `keyward.yaml`). */
  configFile: string
  /** The config path as the user gave it, for messages about the file itself. */
  configLabel?: string
}

export interface ValidateResult {
  findings: Finding[]
  /** Counts for the summary. */
  stats: { keys: number; secretFiles: number; macVerified: number; scannedFiles: number }
  /** Things the user should know that are not problems (e.g. MACs not verified). */
  notes: string[]
}

interface SecretRef {
  /** The vault target: key id, or `admin:<provider>` for an admin key. */
  target: VaultTarget
  /** Where the inventory names the file, for findings about the reference itself. */
  path: Path
}

/** Every secret file the inventory names: provider admin keys, then key secrets. */
function secretRefs(value: unknown): SecretRef[] {
  const root = (value ?? {}) as Record<
    string,
    Record<string, Record<string, unknown> | null> | undefined
  >
  const refs: SecretRef[] = []
  const add = (keyId: string, file: unknown, path: Path) => {
    // A pasted key instead of a path is policy's exposed-key finding, never a file name.
    if (typeof file === 'string' && file !== '' && !looksLikeSecret(file))
      refs.push({ target: { keyId, secretPath: file }, path })
  }
  const entries = (section: unknown) =>
    section !== null && typeof section === 'object'
      ? Object.entries(section as Record<string, Record<string, unknown> | null>)
      : []
  for (const [id, provider] of entries(root.providers))
    add(`admin:${id}`, provider?.admin_key, ['providers', id, 'admin_key'])
  for (const [id, key] of entries(root.keys)) add(id, key?.secret, ['keys', id, 'secret'])
  return refs
}

async function checkSecrets(
  parsed: ParsedYaml,
  deps: ValidateDeps,
  result: ValidateResult,
): Promise<void> {
  const seen = new Set<string>()
  let verifyMac = true
  for (const { target, path } of secretRefs(parsed.value)) {
    if (seen.has(target.secretPath)) continue // shared-key already reports the second reference
    seen.add(target.secretPath)
    result.stats.secretFiles++
    let check: VaultCheckResult
    try {
      check = await checkSecretFile(deps.vault, target, { verifyMac, purpose: 'validate' })
    } catch (error) {
      if (!(error instanceof VaultError && error.code === 'no-identity')) throw error
      // Without an identity everything but the MAC can still be checked.
      verifyMac = false
      result.notes.push(`MACs were not verified: ${error.message}`)
      check = await checkSecretFile(deps.vault, target, { verifyMac, purpose: 'validate' })
    }
    const key = target.keyId.startsWith('admin:') ? {} : { key: target.keyId }
    const inFile = (rule: ValidateRule): Finding => ({
      rule,
      severity: 'error',
      file: target.secretPath,
      line: 1,
      column: 1,
      ...key,
      message: check.message,
    })
    switch (check.status) {
      case 'ok':
        if (verifyMac) result.stats.macVerified++
        break
      case 'missing':
        result.findings.push({
          rule: 'missing-secret',
          severity: 'error',
          file: parsed.file,
          ...locate(parsed, path),
          ...key,
          message: `${describeTarget(target.keyId)} names the secret file ${target.secretPath}, which does not exist; create it with \`${addCommand(target.keyId)}\` (it reads the key from stdin)`,
        })
        break
      case 'pending-rotation':
        result.findings.push(inFile('missing-secret'))
        break
      case 'plaintext':
        result.findings.push(inFile('plaintext-secret'))
        break
      case 'recipients-drift':
        result.findings.push(inFile('recipients-drift'))
        break
      case 'vault-tampered':
        result.findings.push(inFile('vault-tampered'))
        break
      case 'unreadable':
        result.notes.push(check.message)
        break
    }
  }
}

/**
 * `keyward validate` (SPEC §2–3): the inventory's syntax, schema and policy, the vault's
 * hygiene and the plaintext-key scan, every problem in one run.
 */
export async function validate(input: ValidateInput, deps: ValidateDeps): Promise<ValidateResult> {
  const result: ValidateResult = {
    findings: [],
    stats: { keys: 0, secretFiles: 0, macVerified: 0, scannedFiles: 0 },
    notes: [],
  }
  const bytes = await deps.log.group('Inventory', async () => {
    deps.log.info(`Reading ${input.configFile}`)
    return deps.readFile(input.configFile)
  })
  if (bytes === undefined) {
    throw new UsageError(
      `cannot read ${input.configLabel ?? input.configFile}: no such file. Run keyward in the governance repository, pass --config <path>, or create one with \`keyward init\``,
    )
  }

  const { parsed, findings } = checkInventory(input.configFile, bytes, { now: deps.clock.now() })
  result.findings.push(...findings)
  if (parsed) {
    const keys = (parsed.value as { keys?: unknown } | null)?.keys
    result.stats.keys = keys !== null && typeof keys === 'object' ? Object.keys(keys).length : 0
    await deps.log.group('Vault', () => checkSecrets(parsed, deps, result))

    const scan = (parsed.value as { scan?: { ignore_paths?: unknown; allow?: unknown } } | null)
      ?.scan
    const strings = (value: unknown) =>
      Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
    await deps.log.group('Leak scan', async () => {
      const leaks = await deps.scanner.scan({
        ignorePaths: strings(scan?.ignore_paths),
        allow: strings(scan?.allow),
      })
      result.findings.push(...leaks.findings)
      result.stats.scannedFiles = leaks.scannedFiles
      deps.log.info(
        `Scanned ${leaks.scannedFiles} file${leaks.scannedFiles === 1 ? '' : 's'} for plaintext keys: ${leaks.findings.length} found`,
      )
    })
  }
  result.findings = sortFindings(result.findings)
  return result
}

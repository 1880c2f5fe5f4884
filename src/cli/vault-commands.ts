import { dirname, relative, resolve } from 'node:path'
import { readFile } from 'node:fs/promises'
import type { Finding, ValidateRule } from '../analysis/findings.js'
import { EXIT, type ExitCode } from '../commands/exit-code.js'
import {
  addCommand,
  vaultAdd,
  vaultCheck,
  vaultRekey,
  vaultShow,
  type VaultCheckStatus,
  type VaultTarget,
} from '../commands/vault.js'
import { UsageError } from '../errors.js'
import { parseYamlFile } from '../inventory/parse.js'
import type { Vault } from '../ports/vault.js'
import type { CliCommand } from './args.js'
import type { CliDeps } from './main.js'

export interface VaultContext {
  deps: CliDeps
  vault(root: string): Vault
  /** Prints through the redactor. */
  print(text: string): void
  /** Prints as is: only `vault show --reveal` uses it. */
  printRaw(text: string): void
  note(text: string): void
  renderFindings(
    findings: Finding[],
    format: 'text' | 'json' | 'github' | 'sarif',
    ok: boolean,
    root: string,
  ): string
}

interface InventoryView {
  root: string
  /** key id → secret file; `admin:<provider>` → admin key file. */
  targets: Map<string, string>
  keyIds: string[]
}

/** Reads just enough of keyward.yaml to find secret files; `validate` reports everything else. */
async function readInventory(deps: CliDeps, config: string): Promise<InventoryView> {
  const path = resolve(deps.cwd, config)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch {
    throw new UsageError(
      `cannot read ${config}: no such file. Run keyward in the governance repository or pass --config <path>`,
    )
  }
  const parsed = parseYamlFile(relative(deps.cwd, path) || config, bytes)
  if (!parsed.ok) {
    const first = parsed.findings[0]
    throw new UsageError(
      `${config}:${first?.line ?? 1}:${first?.column ?? 1}: ${first?.message ?? 'cannot be parsed'}; run \`keyward validate\``,
    )
  }
  const value = (parsed.parsed.value ?? {}) as {
    keys?: Record<string, { secret?: unknown }>
    providers?: Record<string, { admin_key?: unknown }>
  }
  const targets = new Map<string, string>()
  const keyIds: string[] = []
  for (const [id, key] of Object.entries(value.keys ?? {})) {
    if (typeof key?.secret === 'string') targets.set(id, key.secret)
    keyIds.push(id)
  }
  for (const [id, provider] of Object.entries(value.providers ?? {})) {
    if (typeof provider?.admin_key === 'string') targets.set(`admin:${id}`, provider.admin_key)
  }
  return { root: dirname(path), targets, keyIds }
}

function targetsFor(view: InventoryView, ids: string[]): VaultTarget[] {
  const wanted = ids.length > 0 ? ids : [...view.targets.keys()]
  return wanted.map((keyId) => {
    const secretPath = view.targets.get(keyId)
    if (secretPath === undefined) {
      throw new UsageError(
        `key "${keyId}" is not in the inventory (or has no secret file); keys: ${view.keyIds.join(', ') || 'none'}`,
      )
    }
    return { keyId, secretPath }
  })
}

const CHECK_RULE: Record<Exclude<VaultCheckStatus, 'ok' | 'unreadable'>, ValidateRule> = {
  'vault-tampered': 'vault-tampered',
  'recipients-drift': 'recipients-drift',
  missing: 'missing-secret',
  'pending-rotation': 'missing-secret',
  plaintext: 'plaintext-secret',
}

export async function runVaultCommand(
  command: Extract<CliCommand, { command: `vault-${string}` }>,
  ctx: VaultContext,
): Promise<ExitCode> {
  const view = await readInventory(ctx.deps, command.config)
  const vault = ctx.vault(view.root)
  switch (command.command) {
    case 'vault-add': {
      const id = command.admin ?? command.keyId ?? ''
      const keyId = command.admin !== undefined ? `admin:${id}` : id
      const secretPath = view.targets.get(keyId)
      const key = await ctx.deps.readSecret(
        `Key for ${command.admin !== undefined ? `the ${id} admin key` : `"${id}"`} (input hidden): `,
      )
      const result = await vaultAdd(vault, {
        id,
        admin: command.admin !== undefined,
        secretPath,
        key,
      })
      if (result.kind === 'needs-inventory-entry') {
        ctx.note(
          `"${id}" is not in ${command.config}, so nothing was written. Add this entry, then run \`${addCommand(keyId)}\` again:`,
        )
        ctx.print(result.entry)
        return EXIT.problems
      }
      ctx.print(
        `${result.replaced ? 'Replaced' : 'Wrote'} ${result.file}, encrypted to the recipients in .sops.yaml.\n`,
      )
      if (command.providerKeyId !== undefined)
        ctx.note(
          `Set provider_key_id: ${command.providerKeyId} on key "${id}" in ${command.config} so keyward matches it without the key itself.`,
        )
      return EXIT.ok
    }
    case 'vault-show': {
      const [target] = targetsFor(view, [command.keyId])
      if (!target) return EXIT.cannotRun
      const shown = await vaultShow(vault, { ...target, reveal: command.reveal })
      if (shown.revealed) ctx.printRaw(shown.value + '\n')
      else ctx.print(`${shown.keyId}: ${shown.value} (${shown.file}; --reveal prints the key)\n`)
      return EXIT.ok
    }
    case 'vault-check': {
      const report = await vaultCheck(vault, targetsFor(view, []))
      const findings: Finding[] = []
      for (const result of report.results) {
        if (result.status === 'ok') continue
        if (result.status === 'unreadable') {
          ctx.note(result.message)
          continue
        }
        findings.push({
          rule: CHECK_RULE[result.status],
          severity: 'error',
          file: result.file,
          line: 1,
          column: 1,
          message: result.message,
          ...(result.keyId.startsWith('admin:') ? {} : { key: result.keyId }),
        })
      }
      const unreadable = report.results.some((r) => r.status === 'unreadable')
      ctx.print(ctx.renderFindings(findings, command.format, report.ok, view.root))
      if (command.format === 'text' && findings.length === 0 && !unreadable)
        ctx.note(
          `${report.results.length} secret files: MACs verified, recipients match .sops.yaml`,
        )
      return report.ok ? EXIT.ok : EXIT.problems
    }
    case 'vault-rekey': {
      const report = await vaultRekey(vault, targetsFor(view, command.keyIds))
      for (const result of report.results)
        ctx.print(`${result.status === 'rekeyed' ? 'ok' : result.status}: ${result.message}\n`)
      return report.ok ? EXIT.ok : EXIT.problems
    }
  }
}

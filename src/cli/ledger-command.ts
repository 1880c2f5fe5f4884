import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, posix, resolve } from 'node:path'
import { EXIT, type ExitCode } from '../commands/exit-code.js'
import { LEDGER_FILE, SNAPSHOT_DIR, verifyChain } from '../ledger/chain.js'
import type { CliCommand } from './args.js'
import type { CliDeps } from './main.js'

async function walk(root: string, folder: string): Promise<string[]> {
  const out: string[] = []
  let entries
  try {
    entries = await readdir(join(root, folder), { withFileTypes: true })
  } catch {
    return out
  }
  for (const entry of entries) {
    const path = posix.join(folder, entry.name)
    if (entry.isDirectory()) out.push(...(await walk(root, path)))
    else out.push(path)
  }
  return out
}

/** `keyward ledger verify [--anchor sha256:…]`: exit 1 naming the first broken link. */
export async function runLedgerVerify(
  command: Extract<CliCommand, { command: 'ledger-verify' }>,
  ctx: { deps: CliDeps; print(text: string): void },
): Promise<ExitCode> {
  const root = dirname(resolve(ctx.deps.cwd, command.config))
  const ledgerText = await readFile(join(root, LEDGER_FILE), 'utf8').catch(() => undefined)
  const snapshotFiles = await walk(root, SNAPSHOT_DIR)
  const snapshots = new Map(
    await Promise.all(snapshotFiles.map(async (f) => [f, await readFile(join(root, f))] as const)),
  )
  const report = verifyChain(
    {
      ledgerText,
      snapshotFiles,
      readSnapshot: (path) => snapshots.get(path),
      sha256: (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    },
    command.anchor,
  )
  if (report.ok) {
    ctx.print(
      `ledger ok: ${report.snapshots} snapshot(s), head ${report.head ?? 'none'}${report.note ? ` (${report.note})` : ''}\n`,
    )
    return EXIT.ok
  }
  const broken = report.broken
  ctx.print(
    `${broken?.file}:${broken?.line}:1: error [ledger] ${broken?.message}\nledger broken after ${report.snapshots} intact snapshot(s)\n`,
  )
  return EXIT.problems
}

import { execFile } from 'node:child_process'
import { cp, mkdtemp, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { BOT_GIT_CONFIG, localForge, OUTBOX } from '../adapters/forge/local.js'
import { repoFileReader } from '../adapters/fs/repo-files.js'
import { gitChangeLog } from '../adapters/git/change-log.js'
import { gitLeakScanner } from '../adapters/git/leak-scanner.js'
import { buildProvider } from '../adapters/providers/registry.js'
import { audit, type AuditReport, type OpenedProvider } from '../commands/audit.js'
import { EXIT, type ExitCode } from '../commands/exit-code.js'
import { buildDemoDataset } from '../demo/dataset.js'
import { startDemoProviders, type DemoProviders, readDemoSecrets } from '../demo/demo-providers.js'
import { UsageError } from '../errors.js'
import { providerType, type ProviderSettings } from '../inventory/types.js'
import type { Log } from '../ports/log.js'
import type { Vault } from '../ports/vault.js'
import type { CliCommand } from './args.js'
import type { CliDeps } from './main.js'

const run = promisify(execFile)

export interface AuditContext {
  deps: CliDeps
  log: Log
  vault(root: string, env: NodeJS.ProcessEnv): Vault
  print(text: string): void
  note(text: string): void
}

/** The embedded demo: examples/demo next to the package (dist/ or src/cli/ alike). */
async function findDemo(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'examples', 'demo')
    if (
      await stat(join(candidate, 'keyward.yaml')).then(
        () => true,
        () => false,
      )
    )
      return candidate
    dir = dirname(dir)
  }
  throw new UsageError(
    'cannot find examples/demo next to keyward; pass --config <path> to audit a governance repository',
  )
}

/** A fresh copy of the demo in a temporary git repository, as `audit --demo` promises. */
async function copyDemo(): Promise<string> {
  const source = await findDemo()
  const target = await mkdtemp(join(tmpdir(), 'keyward-demo-'))
  await cp(source, target, { recursive: true })
  const git = (...args: string[]) => run('git', [...BOT_GIT_CONFIG, ...args], { cwd: target })
  await git('init', '--quiet', '-b', 'main')
  await git('add', '-A')
  await git('commit', '--quiet', '--no-verify', '-m', 'keyward demo governance repository')
  return target
}

/** Serves the demo dataset on loopback, with the hints and admin keys of the demo's own vault. */
async function startDemo(
  vault: Vault,
  inventory: Parameters<typeof readDemoSecrets>[1],
  now: Date,
): Promise<DemoProviders> {
  const { keys, admin } = await readDemoSecrets(vault, inventory)
  return startDemoProviders(buildDemoDataset({ now, secrets: keys }), admin)
}

const pad = (text: string, width: number) =>
  text.length >= width ? text : text + ' '.repeat(width - text.length)

const usd = (n: number | null) => (n === null ? 'none' : `$${n.toFixed(2)}`)

/** The readable summary: what was read, what was written, what was found. */
export function renderAuditText(
  report: AuditReport,
  where: { root: string; demo: boolean; forge: 'local' },
): string {
  const lines: string[] = []
  lines.push(`keyward audit${where.demo ? ' (demo)' : ''} in ${where.root}`)
  for (const p of report.providers)
    lines.push(
      `  ${pad(p.id, 11)} ${p.keys} keys, ${p.usage} usage records, ${p.events} events${p.gaps ? `, ${p.gaps} gap(s)` : ''}`,
    )
  for (const gap of report.gaps) lines.push(`  gap: ${gap.provider} ${gap.endpoint}: ${gap.reason}`)
  lines.push(
    report.snapshot
      ? `  snapshot    ${report.snapshot}${report.committed ? ' (committed)' : ''}`
      : '  snapshot    none (dry run)',
  )
  lines.push(`  ledger head ${report.ledgerHead ?? 'none'}`)
  lines.push('')
  if (report.findings.length === 0) lines.push('No findings.')
  else {
    lines.push(`${report.findings.length} finding(s):`)
    for (const f of report.findings)
      lines.push(`  ${pad(f.severity, 8)}${pad(f.rule, 17)}${f.title}`)
  }
  const { created, updated, closed, deferred } = report.issues
  lines.push('')
  lines.push(
    `Issues: ${created.length} created, ${updated.length} updated, ${closed.length} closed${deferred.length ? `, ${deferred.length} deferred to the next run` : ''} → ${join(where.root, OUTBOX, 'issues')}`,
  )
  const prs = report.pullRequests
  if (prs.opened.length + prs.updated.length > 0)
    lines.push(
      `Rotation pull requests: ${prs.opened.length} opened, ${prs.updated.length} updated → ${join(where.root, OUTBOX, 'pulls')}`,
    )
  for (const r of report.rotations)
    lines.push(`Rotation of ${r.key} merged (#${r.pull_request}): recorded in the snapshot`)
  for (const c of report.capChanges)
    lines.push(
      `Cap set: ${c.provider} ${c.scope} ${c.target} ${usd(c.old_usd)} → ${usd(c.new_usd)} monthly (${c.keys.join(', ')})`,
    )
  return lines.join('\n') + '\n'
}

/** SPEC §4 JSON. */
export function renderAuditJson(report: AuditReport): string {
  return (
    JSON.stringify(
      {
        snapshot: report.snapshot ?? null,
        ledger_head: report.ledgerHead,
        gaps: report.gaps.map((g) => ({
          provider: g.provider,
          reason: `${g.endpoint}: ${g.reason}`,
        })),
        findings: report.findings.map((f) => ({
          rule: f.rule,
          key: f.key ?? f.subject,
          severity: f.severity,
          fingerprint: f.fingerprint,
          message: f.message,
        })),
        issues: {
          created: report.issues.created,
          updated: report.issues.updated,
          closed: report.issues.closed,
        },
        pull_requests: {
          opened: report.pullRequests.opened,
          updated: report.pullRequests.updated,
        },
      },
      null,
      2,
    ) + '\n'
  )
}

export async function runAuditCommand(
  command: Extract<CliCommand, { command: 'audit' }>,
  ctx: AuditContext,
): Promise<ExitCode> {
  const { deps } = ctx
  const configPath =
    command.config !== undefined
      ? resolve(deps.cwd, command.config)
      : command.demo
        ? join(await copyDemo(), 'keyward.yaml')
        : resolve(deps.cwd, 'keyward.yaml')
  const root = dirname(configPath)
  // The demo opens with its own public identity unless the user has one set.
  const env =
    command.demo && !deps.env.SOPS_AGE_KEY && !deps.env.SOPS_AGE_KEY_FILE
      ? { ...deps.env, SOPS_AGE_KEY_FILE: join(root, 'demo-age-key.txt') }
      : deps.env
  const vault = ctx.vault(root, env)
  const readFile = repoFileReader(root)
  const configFile = relative(root, configPath)

  let demo: DemoProviders | undefined
  if (command.demo) {
    const bytes = await readFile(configFile)
    if (!bytes) throw new UsageError(`cannot read ${configPath}: no such file`)
    const { parse } = await import('yaml')
    demo = await startDemo(vault, parse(new TextDecoder().decode(bytes)), deps.clock.now())
  }
  try {
    const urls = demo?.baseUrls
    const openProvider = (
      id: string,
      settings: ProviderSettings,
      adminKey: string,
    ): OpenedProvider | undefined => {
      const type = providerType(id, settings) as keyof NonNullable<typeof urls>
      const effective = urls?.[type] ? { ...settings, base_url: urls[type] } : settings
      const built = buildProvider(id, effective, adminKey, { log: ctx.log, clock: deps.clock })
      return built && { provider: built.provider, close: () => built.http.close() }
    }
    const report = await audit(
      { configFile, dryRun: command.dryRun, maxIssuesPerRun: 20 },
      {
        readFile,
        vault,
        forge: localForge(root),
        scanner: gitLeakScanner(root, { log: ctx.log }),
        clock: deps.clock,
        log: ctx.log,
        openProvider,
        changeLog: gitChangeLog(root),
      },
    )
    for (const note of report.notes) ctx.log.info(note)
    ctx.print(
      command.json
        ? renderAuditJson(report)
        : renderAuditText(report, { root, demo: command.demo, forge: 'local' }),
    )
    if (command.failOnFindings && report.findings.some((f) => f.severity === 'error'))
      return EXIT.problems
    return EXIT.ok
  } finally {
    await demo?.stop()
  }
}

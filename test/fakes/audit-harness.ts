import { execFile } from 'node:child_process'
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { localForge } from '../../src/adapters/forge/local.js'
import { repoFileReader } from '../../src/adapters/fs/repo-files.js'
import { gitChangeLog } from '../../src/adapters/git/change-log.js'
import { gitLeakScanner } from '../../src/adapters/git/leak-scanner.js'
import { buildProvider } from '../../src/adapters/providers/registry.js'
import { createIdentityLoader } from '../../src/adapters/vault/identities.js'
import { SopsAgeVault } from '../../src/adapters/vault/sops-age-vault.js'
import { audit, type AuditReport, type OpenedProvider } from '../../src/commands/audit.js'
import { buildDemoDataset, type DemoDataset } from '../../src/demo/dataset.js'
import {
  startDemoProviders,
  type DemoProviders,
  readDemoSecrets,
} from '../../src/demo/demo-providers.js'
import type { Fault } from '../../src/demo/fake-server.js'
import { providerType, type ProviderSettings } from '../../src/inventory/types.js'
import type { Log } from '../../src/ports/log.js'
import { fixedClock } from './fixed-clock.js'

/**
 * The demo governance repository as an integration rig for `audit()`: a temporary git copy of
 * examples/demo, the loopback provider fakes serving the demo dataset, and the real vault,
 * local forge and leak scanner. Wired as src/cli/audit-command.ts wires `audit --demo`, with
 * retries that never wait and a log that keeps every line.
 */

const run = promisify(execFile)
export const DEMO_SOURCE = join(import.meta.dirname, '../../examples/demo')
export const CONFIG_FILE = 'keyward.yaml'

export type DemoProviderType = keyof DemoProviders['servers']

export interface LogLine {
  level: 'info' | 'warning' | 'debug' | 'group'
  message: string
}

export interface RunAuditOptions {
  /** The run's clock (ISO 8601). */
  now: string
  dryRun?: boolean
  maxIssuesPerRun?: number
  /** Faults for this run only, per fake; every fake's faults are cleared first. */
  faults?: Partial<Record<DemoProviderType, Fault[]>>
  /** Told of every file the run reads: from the checkout, or from the forge (the branch). */
  onRead?: (path: string, via: 'checkout' | 'forge') => void
}

export interface AuditHarness {
  /** The governance repository (a git work tree). */
  root: string
  dataset: DemoDataset
  providers: DemoProviders
  /** Every line any run logged, in order. */
  lines: LogLine[]
  runAudit(options: RunAuditOptions): Promise<AuditReport>
  /** The plaintext of every secret file the demo inventory names (keys and admin keys). */
  plaintextSecrets(): Promise<string[]>
  /** `git` in the repository, stdout only. */
  git(...args: string[]): Promise<string>
  stop(): Promise<void>
}

interface DemoInventory {
  providers: Record<string, ProviderSettings>
  keys: Record<string, { secret: string }>
}

const GIT_IDENTITY = ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'commit.gpgsign=false']

function demoVault(root: string, now: string): SopsAgeVault {
  return new SopsAgeVault({
    root,
    identities: createIdentityLoader({
      env: { SOPS_AGE_KEY_FILE: join(root, 'demo-age-key.txt') },
      defaultKeysFile: false,
    }),
    now: () => new Date(now),
    actor: 'test',
  })
}

export function captureLog(lines: LogLine[]): Log {
  return {
    info: (message) => void lines.push({ level: 'info', message }),
    warning: (message) => void lines.push({ level: 'warning', message }),
    debug: (message) => void lines.push({ level: 'debug', message }),
    group: async (name, work) => {
      lines.push({ level: 'group', message: name })
      return work()
    },
  }
}

/** Copies the demo into a fresh git repository and serves the dataset built for `now`. */
export async function startAuditHarness(options: { now: string }): Promise<AuditHarness> {
  const root = await mkdtemp(join(tmpdir(), 'keyward-audit-'))
  const git = async (...args: string[]) =>
    (await run('git', [...GIT_IDENTITY, ...args], { cwd: root })).stdout
  await cp(DEMO_SOURCE, root, { recursive: true })
  await git('init', '--quiet', '-b', 'main')
  await git('add', '-A')
  await git('commit', '--quiet', '--no-verify', '-m', 'demo governance repository')

  const inventory = parse(await readFile(join(root, CONFIG_FILE), 'utf8')) as DemoInventory
  const setupVault = demoVault(root, options.now)
  const { keys: secrets, admin } = await readDemoSecrets(setupVault, inventory)
  const dataset = buildDemoDataset({ now: new Date(options.now), secrets })
  let providers: DemoProviders
  try {
    providers = await startDemoProviders(dataset, admin)
  } catch (error) {
    await rm(root, { recursive: true, force: true })
    throw error
  }

  const lines: LogLine[] = []
  const log = captureLog(lines)

  return {
    root,
    dataset,
    providers,
    lines,
    git,
    async plaintextSecrets() {
      return [...Object.values(secrets), ...Object.values(admin)]
    },
    async runAudit(runOptions) {
      for (const [type, server] of Object.entries(providers.servers)) {
        server.clearFaults()
        for (const fault of runOptions.faults?.[type as DemoProviderType] ?? [])
          server.inject(fault)
      }
      const clock = fixedClock(runOptions.now)
      const urls = providers.baseUrls
      const openProvider = (
        id: string,
        settings: ProviderSettings,
        adminKey: string,
      ): OpenedProvider | undefined => {
        const type = providerType(id, settings) as DemoProviderType
        const built = buildProvider(
          id,
          urls[type] ? { ...settings, base_url: urls[type] } : settings,
          adminKey,
          { log, clock, http: { sleep: async () => {}, random: () => 0 } },
        )
        return built && { provider: built.provider, close: () => built.http.close() }
      }
      const onRead = runOptions.onRead
      const checkout = repoFileReader(root)
      const forge = localForge(root)
      return audit(
        {
          configFile: CONFIG_FILE,
          dryRun: runOptions.dryRun ?? false,
          maxIssuesPerRun: runOptions.maxIssuesPerRun ?? 100,
        },
        {
          readFile: onRead
            ? (path) => {
                onRead(path, 'checkout')
                return checkout(path)
              }
            : checkout,
          vault: demoVault(root, runOptions.now),
          forge: onRead
            ? {
                ...forge,
                readFile: (path, ref) => {
                  onRead(path, 'forge')
                  return forge.readFile(path, ref)
                },
              }
            : forge,
          scanner: gitLeakScanner(root, { log }),
          clock,
          log,
          openProvider,
          changeLog: gitChangeLog(root),
        },
      )
    },
    async stop() {
      await providers.stop()
      await rm(root, { recursive: true, force: true })
    },
  }
}

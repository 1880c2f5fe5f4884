import * as core from '@actions/core'
import { readFile } from 'node:fs/promises'
import { dirname, posix, relative, resolve, sep } from 'node:path'
import { systemClock } from '../adapters/clock/system-clock.js'
import { createOctokit } from '../adapters/forge/octokit.js'
import { pullRequestFiles } from '../adapters/forge/pull-request-files.js'
import { repoFileReader } from '../adapters/fs/repo-files.js'
import { gitLeakScanner, type ChangedFile } from '../adapters/git/leak-scanner.js'
import { createIdentityLoader } from '../adapters/vault/identities.js'
import { SopsAgeVault } from '../adapters/vault/sops-age-vault.js'
import type { Finding } from '../analysis/findings.js'
import { EXIT, exitCodeForFindings } from '../commands/exit-code.js'
import { validate } from '../commands/validate.js'
import { UsageError, errorMessage } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import { coreLog } from './core-log.js'
import { getInputs, type ActionInputs } from './inputs.js'
import { auditSummary, validateSummary } from './summary.js'
import { audit } from '../commands/audit.js'
import { githubForge } from '../adapters/forge/github.js'
import { buildProvider, type BuildProviderDeps } from '../adapters/providers/registry.js'
import { gitChangeLog } from '../adapters/git/change-log.js'
import { report } from '../commands/report.js'

/** What the action needs from its environment; tests pass loopback servers and temp folders. */
export interface ActionDeps {
  inputs: () => ActionInputs
  env: NodeJS.ProcessEnv
  clock: Clock
  /** Tests turn Octokit's write spacing off (STYLE §6.5). */
  throttle?: boolean
  /** Tests make provider retries instant. */
  providerHttp?: BuildProviderDeps['http']
}

const toPosix = (path: string) => (sep === '/' ? path : path.split(sep).join('/'))

interface PullRequestRef {
  owner: string
  repo: string
  number: number
}

/** The pull request this run is for, from the event payload GitHub writes to GITHUB_EVENT_PATH. */
async function pullRequestOf(env: NodeJS.ProcessEnv): Promise<PullRequestRef | undefined> {
  if (
    !['pull_request', 'pull_request_target'].includes(env.GITHUB_EVENT_NAME ?? '') ||
    !env.GITHUB_EVENT_PATH
  )
    return undefined
  const event = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as {
    pull_request?: { number?: unknown }
  }
  const number = event.pull_request?.number
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/')
  if (typeof number !== 'number' || !owner || !repo) return undefined
  return { owner, repo, number }
}

const ANNOTATE = { error: core.error, warning: core.warning, note: core.notice } as const

async function runValidate(inputs: ActionInputs, deps: ActionDeps): Promise<void> {
  const workspace = deps.env.GITHUB_WORKSPACE ?? process.cwd()
  const configPath = resolve(workspace, inputs.config)
  const root = dirname(configPath)
  // Findings name files relative to the governance folder; annotations need the repository's paths.
  const displayPath = (file: string) => toPosix(relative(workspace, resolve(root, file)))

  const pr = await pullRequestOf(deps.env)
  const changedFiles = pr
    ? async (): Promise<ChangedFile[]> => {
        const files = await pullRequestFiles(octokitFor(inputs, deps), pr)
        coreLog.info(`Pull request #${pr.number} changes ${files.length} files with a text diff`)
        return files.map((f) => ({
          file: posix.normalize(toPosix(relative(root, resolve(workspace, f.filename)))),
          patch: f.patch,
        }))
      }
    : undefined

  const vault = vaultFor(root, inputs, deps)
  const result = await validate(
    { configFile: toPosix(relative(root, configPath)), configLabel: inputs.config },
    {
      readFile: repoFileReader(root),
      vault,
      scanner: gitLeakScanner(root, { log: coreLog, ...(changedFiles ? { changedFiles } : {}) }),
      clock: deps.clock,
      log: coreLog,
    },
  )

  for (const note of result.notes) core.info(note)
  for (const f of result.findings) {
    ANNOTATE[f.severity](f.message, {
      title: `keyward ${f.rule}`,
      file: displayPath(f.file),
      startLine: f.line,
      startColumn: f.column,
    })
  }
  const shaped = result.findings.map((f): Finding => ({ ...f, file: displayPath(f.file) }))
  core.setOutput('findings', JSON.stringify(shaped))
  for (const name of ['issues-created', 'issues-updated', 'issues-closed', 'pull-requests-opened'])
    core.setOutput(name, '[]')

  const summary = validateSummary(result, displayPath)
  core.summary.addHeading(summary.heading, 2)
  for (const line of summary.lines) core.summary.addRaw(line, true)
  if (summary.table) core.summary.addTable(summary.table)
  try {
    await core.summary.write()
  } catch (error) {
    // No GITHUB_STEP_SUMMARY (e.g. a local runner): the annotations and outputs still stand.
    core.warning(`could not write the job summary: ${errorMessage(error)}`)
  }

  if (exitCodeForFindings(result.findings, false) !== EXIT.ok) {
    const errors = result.findings.filter((f) => f.severity === 'error').length
    core.setFailed(
      `keyward validate found ${errors} error${errors === 1 ? '' : 's'}; see the annotations and the job summary`,
    )
  }
}

function octokitFor(inputs: ActionInputs, deps: ActionDeps) {
  return createOctokit({
    token: inputs.githubToken,
    log: coreLog,
    ...(deps.env.GITHUB_API_URL ? { baseUrl: deps.env.GITHUB_API_URL } : {}),
    ...(deps.throttle === false ? { throttle: false } : {}),
  })
}

/** The vault of the governance folder; every decrypted value is masked the moment it exists. */
function vaultFor(root: string, inputs: ActionInputs, deps: ActionDeps): SopsAgeVault {
  return new SopsAgeVault({
    root,
    identities: createIdentityLoader({ env: deps.env, ageKey: inputs.ageKey }),
    mask: (value) => core.setSecret(value),
    now: () => deps.clock.now(),
    actor: `${deps.env.GITHUB_ACTOR ?? 'github-actions'} (run ${deps.env.GITHUB_RUN_ID ?? '?'})`,
  })
}

/** What audit and report share on GitHub: the governance folder, the branch, the forge. */
async function onGitHub(inputs: ActionInputs, deps: ActionDeps, command: string) {
  const workspace = deps.env.GITHUB_WORKSPACE ?? process.cwd()
  const configPath = resolve(workspace, inputs.config)
  const root = dirname(configPath)
  const [owner, repo] = (deps.env.GITHUB_REPOSITORY ?? '').split('/')
  if (!owner || !repo)
    throw new UsageError(
      `GITHUB_REPOSITORY is not set (expected owner/repo); run the ${command} inside GitHub Actions`,
    )
  const octokit = octokitFor(inputs, deps)
  const calls = { count: 0 }
  octokit.hook.before('request', () => void calls.count++)
  // KEYWARD_BRANCH lets a protected default branch keep its rules: keyward commits elsewhere.
  const branch =
    deps.env.KEYWARD_BRANCH || (await octokit.rest.repos.get({ owner, repo })).data.default_branch
  const base = toPosix(relative(workspace, root))
  const forge = githubForge(octokit, { owner, repo, branch, root: base, log: coreLog })
  return {
    root,
    configFile: toPosix(relative(root, configPath)),
    owner,
    repo,
    branch,
    base,
    forge,
    calls,
  }
}

async function runAudit(inputs: ActionInputs, deps: ActionDeps): Promise<void> {
  const { root, configFile, branch, forge, calls } = await onGitHub(inputs, deps, 'audit')
  const report = await audit(
    {
      configFile,
      dryRun: inputs.dryRun,
      maxIssuesPerRun: inputs.maxIssuesPerRun,
      maxPullRequestsPerRun: inputs.maxPrsPerRun,
    },
    {
      readFile: repoFileReader(root),
      vault: vaultFor(root, inputs, deps),
      forge,
      scanner: gitLeakScanner(root, { log: coreLog }),
      clock: deps.clock,
      log: coreLog,
      mask: (secret) => core.setSecret(secret),
      changeLog: gitChangeLog(root),
      openProvider: (id, settings, adminKey) => {
        const built = buildProvider(id, settings, adminKey, {
          log: coreLog,
          clock: deps.clock,
          ...(deps.providerHttp ? { http: deps.providerHttp } : {}),
        })
        return built && { provider: built.provider, close: () => built.http.close() }
      },
    },
  )
  for (const note of report.notes) core.info(note)
  core.setOutput(
    'findings',
    JSON.stringify(
      report.findings.map((f) => ({
        rule: f.rule,
        key: f.key ?? f.subject,
        severity: f.severity,
        fingerprint: f.fingerprint,
        message: f.message,
      })),
    ),
  )
  core.setOutput('issues-created', JSON.stringify(report.issues.created))
  core.setOutput('issues-updated', JSON.stringify(report.issues.updated))
  core.setOutput('issues-closed', JSON.stringify(report.issues.closed))
  core.setOutput('pull-requests-opened', JSON.stringify(report.pullRequests.opened))
  core.setOutput('snapshot', report.snapshot ?? '')
  core.setOutput('ledger-head', report.ledgerHead ?? '')

  const summary = auditSummary(report, { dryRun: inputs.dryRun, githubCalls: calls.count, branch })
  core.summary.addHeading(summary.heading, 2)
  for (const line of summary.lines) core.summary.addRaw(line, true)
  if (summary.table) core.summary.addTable(summary.table)
  try {
    await core.summary.write()
  } catch (error) {
    core.warning(`could not write the job summary: ${errorMessage(error)}`)
  }
}

/** `command: report`: the weekly review from the ledger on the branch; the issue on GitHub. */
async function runReport(inputs: ActionInputs, deps: ActionDeps): Promise<void> {
  const { root, configFile, owner, repo, branch, base, forge } = await onGitHub(
    inputs,
    deps,
    'report',
  )
  const server = deps.env.GITHUB_SERVER_URL || 'https://github.com'
  const result = await report(
    {
      configFile,
      since: '7d',
      dryRun: inputs.dryRun,
      fileUrl: (path, sha) =>
        `${server}/${owner}/${repo}/blob/${sha ?? branch}/${base ? `${base}/` : ''}${path}`,
    },
    {
      readFile: repoFileReader(root),
      forge,
      changeLog: gitChangeLog(root),
      clock: deps.clock,
      log: coreLog,
    },
  )
  for (const note of result.notes) core.warning(note)
  const number = result.issue.number
  core.setOutput('findings', '[]')
  core.setOutput(
    'issues-created',
    JSON.stringify(result.issue.action === 'created' && number ? [number] : []),
  )
  core.setOutput(
    'issues-updated',
    JSON.stringify(result.issue.action === 'updated' && number ? [number] : []),
  )
  core.setOutput(
    'issues-closed',
    JSON.stringify(result.previous?.closed ? [result.previous.number] : []),
  )
  core.setOutput('pull-requests-opened', '[]')
  core.setOutput('snapshot', '')
  core.setOutput('ledger-head', result.review.ledger.head ?? '')
  core.summary.addRaw(result.body, true)
  try {
    await core.summary.write()
  } catch (error) {
    core.warning(`could not write the job summary: ${errorMessage(error)}`)
  }
}

/** The action's entry (STYLE §4.2): inputs → adapters → command → outputs; one setFailed. */
export async function run(overrides: Partial<ActionDeps> = {}): Promise<void> {
  const deps: ActionDeps = { inputs: getInputs, env: process.env, clock: systemClock, ...overrides }
  try {
    const inputs = deps.inputs()
    switch (inputs.command) {
      case 'validate':
        await runValidate(inputs, deps)
        return
      case 'audit':
        await runAudit(inputs, deps)
        return
      case 'report':
        await runReport(inputs, deps)
        return
      default:
        throw new UsageError(
          `command "${inputs.command}" is not available in this version of keyward yet; use command: validate`,
        )
    }
  } catch (error) {
    core.setFailed(`keyward: ${errorMessage(error)}`)
  }
}

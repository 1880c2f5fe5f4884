import { dirname, relative, resolve, sep } from 'node:path'
import { validate } from '../commands/validate.js'
import { EXIT, exitCodeForFindings, type ExitCode } from '../commands/exit-code.js'
import { UsageError, VaultError, errorMessage } from '../errors.js'
import type { Clock } from '../ports/clock.js'
import type { LeakScanner } from '../ports/leak-scanner.js'
import type { Log } from '../ports/log.js'
import type { Vault } from '../ports/vault.js'
import { renderGithub } from '../report/findings-github.js'
import { renderSarif } from '../report/findings-sarif.js'
import { renderJson, renderText } from '../report/findings-text.js'
import { repoFileReader } from '../adapters/fs/repo-files.js'
import { parseCommandLine, USAGE, type CliCommand, type Format } from './args.js'
import { Redactor } from './redactor.js'
import { stderrLog, type TextSink } from './stderr-log.js'
import type { Finding } from '../analysis/findings.js'
import { VERSION } from '../version.js'
import { runVaultCommand } from './vault-commands.js'
import { runAuditCommand } from './audit-command.js'
import { runLedgerVerify } from './ledger-command.js'
import { runInitCommand } from './init-command.js'
import { runReportCommand } from './report-command.js'

/** What the CLI needs from the outside world; tests pass their own. */
export interface CliDeps {
  stdout: TextSink
  stderr: TextSink
  /** Reads all of stdin (for `vault add`); `prompt` asks on a terminal without echo. */
  readSecret(prompt: string): Promise<string>
  env: NodeJS.ProcessEnv
  cwd: string
  /** Whether stderr is a terminal (progress output). */
  interactive: boolean
  clock: Clock
  createVault(
    root: string,
    options: { mask: (value: string) => void; env: NodeJS.ProcessEnv; clock: Clock; actor: string },
  ): Vault
  createScanner(root: string, log: Log): LeakScanner
}

interface Context {
  deps: CliDeps
  redactor: Redactor
  log: Log
  print(text: string): void
}

/** Paths as the user typed them: relative to the current folder. */
function displayPathFor(deps: CliDeps, root: string): (file: string) => string {
  return (file) => {
    const shown = relative(deps.cwd, resolve(root, file))
    return sep === '/' ? shown : shown.split(sep).join('/')
  }
}

function renderFindings(
  findings: Finding[],
  format: Format,
  ok: boolean,
  displayPath: (f: string) => string,
): string {
  switch (format) {
    case 'json':
      return renderJson(findings, ok, displayPath)
    case 'github':
      return renderGithub(findings, displayPath)
    case 'sarif':
      return renderSarif(findings, VERSION, displayPath)
    case 'text':
      return renderText(findings, displayPath)
  }
}

function createVault(ctx: Context, root: string): Vault {
  return ctx.deps.createVault(root, {
    mask: (value) => ctx.redactor.add(value),
    env: ctx.deps.env,
    clock: ctx.deps.clock,
    actor: ctx.deps.env.USER ?? 'local',
  })
}

async function runValidate(
  command: Extract<CliCommand, { command: 'validate' }>,
  ctx: Context,
): Promise<ExitCode> {
  const { deps } = ctx
  const configPath = resolve(deps.cwd, command.config)
  const root = dirname(configPath)
  const vault = createVault(ctx, root)
  const result = await validate(
    { configFile: relative(root, configPath), configLabel: command.config },
    {
      readFile: repoFileReader(root),
      vault,
      scanner: deps.createScanner(root, ctx.log),
      clock: deps.clock,
      log: ctx.log,
    },
  )
  for (const note of result.notes) ctx.log.warning(note)
  const code = exitCodeForFindings(result.findings, command.strict)
  // Redact before rendering: JSON or SARIF escaping could otherwise change a secret's spelling.
  const findings = result.findings.map((f) => ({ ...f, message: ctx.redactor.redact(f.message) }))
  ctx.print(renderFindings(findings, command.format, code === EXIT.ok, displayPathFor(deps, root)))
  return code
}

/**
 * The CLI: argv → command → stdout/stderr → exit code (SPEC §2). Never calls process.exit,
 * which can cut off piped output.
 */
export async function main(argv: readonly string[], deps: CliDeps): Promise<ExitCode> {
  const redactor = new Redactor()
  const ctx: Context = {
    deps,
    redactor,
    log: stderrLog(deps.stderr, {
      progress: deps.interactive,
      verbose: deps.env.KEYWARD_DEBUG === '1',
      redact: (s) => redactor.redact(s),
    }),
    print: (text) => deps.stdout.write(redactor.redact(text)),
  }
  try {
    const command = parseCommandLine(argv)
    switch (command.command) {
      case 'help':
        deps.stdout.write(USAGE)
        return EXIT.ok
      case 'version':
        deps.stdout.write(`keyward ${VERSION}\n`)
        return EXIT.ok
      case 'validate':
        return await runValidate(command, ctx)
      case 'vault-add':
      case 'vault-show':
      case 'vault-check':
      case 'vault-rekey':
        return await runVaultCommand(command, {
          deps,
          vault: (root) => createVault(ctx, root),
          print: ctx.print,
          printRaw: (text) => deps.stdout.write(text),
          note: (text) => deps.stderr.write(redactor.redact(text) + '\n'),
          renderFindings: (findings, format, ok, root) =>
            renderFindings(findings, format, ok, displayPathFor(deps, root)),
        })
      case 'audit':
        return await runAuditCommand(command, {
          deps,
          log: ctx.log,
          vault: (root, env) => createVault({ ...ctx, deps: { ...deps, env } }, root),
          print: ctx.print,
          note: (text) => deps.stderr.write(redactor.redact(text) + '\n'),
        })
      case 'init':
        return await runInitCommand(command, {
          deps,
          print: ctx.print,
          note: (text) => deps.stderr.write(redactor.redact(text) + '\n'),
        })
      case 'ledger-verify':
        return await runLedgerVerify(command, ctx)
      case 'report':
        return await runReportCommand(command, {
          deps,
          log: ctx.log,
          print: ctx.print,
          note: (text) => deps.stderr.write(redactor.redact(text) + '\n'),
        })
      default: {
        const unhandled: never = command
        throw new Error(`unhandled command ${JSON.stringify(unhandled)}`)
      }
    }
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error instanceof VaultError && error.code === 'no-identity')
    ) {
      deps.stderr.write(`keyward: ${redactor.redact(error.message)}\n`)
      return EXIT.cannotRun
    }
    // Anything else is a bug or an environment failure: one clear line, no stack trace.
    deps.stderr.write(`keyward: ${redactor.redact(errorMessage(error))}\n`)
    if (deps.env.KEYWARD_DEBUG === '1' && error instanceof Error && error.stack)
      deps.stderr.write(redactor.redact(error.stack) + '\n')
    return EXIT.cannotRun
  }
}
